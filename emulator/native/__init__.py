"""The native helpers of the run loop, compiled once per machine with the pip-installed zig.

`BlockCounter` wraps blockcount.c: a C `UC_HOOK_BLOCK` callback that counts guest instructions
and stops the CPU at a deadline (ARCHITECTURE.md §4). The shared library is built on first use
into the soclab cache directory, keyed by a hash of the source and the compiler version, and
written atomically so parallel test workers can share it.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import unicorn
from unicorn.unicorn_py3 import unicorn as _ucpy


def cache_dir() -> Path:
    """The soclab cache: $SOCLAB_CACHE_DIR, else $XDG_CACHE_HOME/soclab, else ~/.cache/soclab."""
    env = os.environ.get("SOCLAB_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "soclab"


class NativeBuildError(RuntimeError):
    pass


def _zig_version() -> str:
    try:
        from importlib.metadata import version

        return version("ziglang")
    except Exception:  # noqa: BLE001 - any failure means "not installed"
        return "missing"


def build_library(name: str) -> Path:
    src = resources.files(__name__).joinpath(f"{name}.c").read_bytes()
    key = hashlib.sha256(src + _zig_version().encode() + sys.platform.encode()).hexdigest()[:16]
    out = cache_dir() / "native" / f"{name}-{key}.so"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        c_file = Path(tmp) / f"{name}.c"
        c_file.write_bytes(src)
        so = Path(tmp) / f"{name}.so"
        cmd = [
            sys.executable,
            "-m",
            "ziglang",
            "cc",
            "-O2",
            "-shared",
            "-fPIC",
            "-o",
            str(so),
            str(c_file),
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise NativeBuildError(f"cannot run the zig compiler: {e}") from None
        if proc.returncode != 0:
            raise NativeBuildError(
                f"building {name}.c failed (is the 'ziglang' package installed?): "
                + " ".join(proc.stderr.split())[:2000]
            )
        os.replace(so, out)
    return out


class _Entry(ctypes.Structure):
    _fields_ = [
        ("addr", ctypes.c_uint64),
        ("size", ctypes.c_uint32),
        ("n", ctypes.c_uint32),
        ("tag", ctypes.c_uint32),
        ("pad", ctypes.c_uint32),
    ]


class _State(ctypes.Structure):
    _fields_ = [
        ("insns", ctypes.c_uint64),
        ("deadline", ctypes.c_uint64),
        ("last_addr", ctypes.c_uint64),
        ("last_n", ctypes.c_uint32),
        ("stopped", ctypes.c_uint32),
        ("stop", ctypes.c_void_p),
        ("miss", ctypes.c_void_p),
        ("table", ctypes.c_void_p),
        ("mask", ctypes.c_uint32),
        ("misses", ctypes.c_uint32),
        ("tag", ctypes.c_uint32),
        ("pad", ctypes.c_uint32),
    ]


_MISS = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_uint64, ctypes.c_uint32)
_lib: ctypes.CDLL | None = None

NO_DEADLINE = (1 << 64) - 1
TABLE_ENTRIES = 1 << 16


def _library() -> ctypes.CDLL:
    global _lib
    if _lib is None:
        _lib = ctypes.CDLL(str(build_library("blockcount")))
        _lib.blockcount_flush.argtypes = [ctypes.c_void_p]
    return _lib


class BlockCounter:
    """Counts guest instructions per block in C and stops the CPU at `deadline`.

    `count_block(addr, size)` returns the number of instructions in a new block; it runs once
    per block (and again after `flush()`), never per execution.
    """

    def __init__(self, uc: unicorn.Uc, count_block: Callable[[int, int], int]) -> None:
        lib = _library()
        self._count_block = count_block
        self._miss = _MISS(self._on_miss)
        self._table = (_Entry * TABLE_ENTRIES)()
        self.state = _State()
        self.state.deadline = NO_DEADLINE
        self.state.stop = ctypes.cast(_ucpy.uclib.uc_emu_stop, ctypes.c_void_p)
        self.state.miss = ctypes.cast(self._miss, ctypes.c_void_p)
        self.state.table = ctypes.addressof(self._table)
        self.state.mask = TABLE_ENTRIES - 1
        handle = _ucpy.uc_hook_h()
        err = _ucpy.uclib.uc_hook_add(
            uc._uch,
            ctypes.byref(handle),
            unicorn.UC_HOOK_BLOCK,
            ctypes.cast(lib.blockcount_hook, ctypes.c_void_p),
            ctypes.cast(ctypes.pointer(self.state), ctypes.c_void_p),
            ctypes.c_uint64(1),
            ctypes.c_uint64(0),
        )
        if err != unicorn.UC_ERR_OK:
            raise unicorn.UcError(err)
        self.handle = handle
        self._uc = uc  # keep the engine alive as long as the hook

    def _on_miss(self, addr: int, size: int) -> int:
        try:
            return max(1, int(self._count_block(addr, size)))
        except Exception as e:  # noqa: BLE001 - must never unwind through C
            print(f"soclab: internal error counting block at {addr:#x}: {e}", file=sys.stderr)
            return max(1, size // 4)

    @property
    def insns(self) -> int:
        return int(self.state.insns)

    @insns.setter
    def insns(self, value: int) -> None:
        self.state.insns = value

    @property
    def deadline(self) -> int:
        return int(self.state.deadline)

    @deadline.setter
    def deadline(self, value: int) -> None:
        self.state.deadline = min(max(0, value), NO_DEADLINE)

    def take_stopped(self) -> bool:
        """True (once) if the last stop was this counter's deadline."""
        hit = bool(self.state.stopped)
        self.state.stopped = 0
        return hit

    @property
    def tag(self) -> int:
        """The code image now running: block sizes are cached per tag (0 for bare metal
        and the kernel; the kernel model gives each exec'd program its own)."""
        return int(self.state.tag)

    @tag.setter
    def tag(self, value: int) -> None:
        self.state.tag = value & 0xFFFF_FFFF

    def flush(self) -> None:
        """Forget cached block sizes (code changed, or another address space)."""
        _library().blockcount_flush(ctypes.addressof(self.state))
