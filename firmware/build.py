"""Build soclab guest firmware into cached, static ELF images.

`build(name, arch)` compiles `firmware/programs/<name>.c` (or `.S`) with the
architecture's runtime -- `firmware/<arch dir>/crt0.S` and `trap.c` plus the
shared `firmware/lib/*.c` -- and links it with `firmware/<arch dir>/link.ld`.
The compiler is the Zig toolchain from the `ziglang` wheel (`python -m ziglang
cc`), so any pip install of soclab can build the built-in demo.

Single-arch programs: a program whose name ends in `_arm` or `_x86` is built
only for that architecture. If it is an assembly (`.S`) file it is also a bare
program, written against the datasheet alone: assembled without the runtime,
with its own `_start`. Every other program is portable C built for both.

Images are cached under `$SOCLAB_CACHE_DIR` (default `$XDG_CACHE_HOME/soclab`,
else `~/.cache/soclab`) as `firmware/<arch>/<name>-<hash>.elf`. The hash covers
every source, header and linker script used, the compiler flags and the
ziglang version; an image is rebuilt only when it changes and is written to a
temporary file and renamed, so parallel builders never see a partial file.
Zig's own object cache goes to `<cache>/zig` unless ZIG_GLOBAL_CACHE_DIR or
ZIG_LOCAL_CACHE_DIR are set.

Command line: `python -m firmware.build [--arch armv7|x86] [NAME...]` builds
the named programs (default: all) and prints one image path per line.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ARCHES", "FirmwareBuildError", "build", "cache_dir", "program_arches", "programs"]

FIRMWARE_DIR = Path(__file__).resolve().parent
PROGRAMS_DIR = FIRMWARE_DIR / "programs"
LIB_DIR = FIRMWARE_DIR / "lib"
LINUX_DIR = FIRMWARE_DIR / "linux"

PROGRAM_SUFFIXES = (".c", ".S")
COMPILE_TIMEOUT_S = 600

COMMON_FLAGS = (
    "-O2",
    "-ffreestanding",
    "-nostdlib",
    "-fno-builtin",
    "-fno-unwind-tables",
    "-fno-asynchronous-unwind-tables",
    "-g",
    "-static",
    "-Wall",
    "-Wl,--fatal-warnings",  # e.g. a missing _start would give an empty image
    "-Wl,-z,max-page-size=4096",
)


@dataclass(frozen=True, slots=True)
class Arch:
    """One target: runtime directory, single-arch name suffix, compiler flags."""

    name: str
    runtime_dir: str
    suffix: str
    target_flags: tuple[str, ...]


_ARCHES = {
    arch.name: arch
    for arch in (
        Arch(
            name="armv7",
            runtime_dir="arm",
            suffix="_arm",
            # With the MMU off all data accesses are strongly-ordered, where an
            # unaligned access faults: keep the compiler from emitting any.
            target_flags=(
                "-target",
                "arm-freestanding-eabi",
                "-mcpu=cortex_a9",
                "-marm",
                "-mno-unaligned-access",
            ),
        ),
        Arch(
            name="x86",
            runtime_dir="x86",
            suffix="_x86",
            target_flags=("-target", "x86-freestanding", "-mcpu=i686"),
        ),
    )
}

ARCHES: tuple[str, ...] = tuple(_ARCHES)


class FirmwareBuildError(RuntimeError):
    """The compiler failed or is missing; `stderr` holds its full output."""

    def __init__(self, message: str, stderr: str = "", command: list[str] | None = None):
        super().__init__(message)
        self.stderr = stderr
        self.command = command or []
        if stderr:
            self.add_note(stderr.rstrip())


def cache_dir() -> Path:
    """The soclab cache root: $SOCLAB_CACHE_DIR, $XDG_CACHE_HOME/soclab or ~/.cache/soclab."""
    root = os.environ.get("SOCLAB_CACHE_DIR")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "soclab"


def _suffix_arch(name: str) -> str | None:
    for arch in _ARCHES.values():
        if name.endswith(arch.suffix):
            return arch.name
    return None


def _is_bare(name: str) -> bool:
    return _suffix_arch(name) is not None and _program_source(name).suffix == ".S"


def programs(arch: str | None = None) -> list[str]:
    """Names of the programs in firmware/programs, or those buildable for `arch`."""
    names = sorted(
        p.stem for p in PROGRAMS_DIR.iterdir() if p.is_file() and p.suffix in PROGRAM_SUFFIXES
    )
    if arch is None:
        return names
    _arch(arch)
    return [n for n in names if arch in program_arches(n)]


def program_arches(name: str) -> tuple[str, ...]:
    """The architectures `name` can be built for: both, or the one its name ends with."""
    _program_source(name)
    only = _suffix_arch(name)
    return (only,) if only else ARCHES


def _arch(arch: str) -> Arch:
    try:
        return _ARCHES[arch]
    except KeyError:
        raise ValueError(f"unknown firmware arch {arch!r}; expected one of {ARCHES}") from None


def _program_source(name: str) -> Path:
    if re.fullmatch(r"[A-Za-z0-9_]+", name):
        found = [PROGRAMS_DIR / f"{name}{s}" for s in PROGRAM_SUFFIXES]
        found = [p for p in found if p.is_file()]
        if len(found) == 1:
            return found[0]
        if found:
            raise ValueError(f"firmware program {name!r} is ambiguous: {found}")
    raise ValueError(f"unknown firmware program {name!r}; available: {', '.join(programs())}")


def _sources(name: str, arch: Arch) -> tuple[list[Path], list[Path], Path]:
    """(files to compile, headers they may include, linker script) for `name`."""
    program = _program_source(name)
    runtime_dir = FIRMWARE_DIR / arch.runtime_dir
    linker_script = runtime_dir / "link.ld"
    if _is_bare(name):
        return [program], [], linker_script
    runtime = sorted(runtime_dir.glob("*.S")) + sorted(runtime_dir.glob("*.c"))
    library = sorted(LIB_DIR.glob("*.c"))
    headers = sorted(LIB_DIR.glob("*.h"))
    return [*runtime, *library, program], headers, linker_script


def _ziglang_version() -> str:
    if importlib.util.find_spec("ziglang") is None:
        raise FirmwareBuildError(
            "cannot build soclab firmware: the 'ziglang' package is not installed "
            "(pip install ziglang)"
        )
    return importlib.metadata.version("ziglang")


def _digest(files: list[Path], flags: list[str], zig_version: str) -> str:
    h = hashlib.sha256()
    h.update(f"ziglang {zig_version}\0".encode())
    # Paths inside the flags are hashed relative to the package, so checkouts share a cache.
    h.update("\0".join(flags).replace(str(FIRMWARE_DIR), "<firmware>").encode() + b"\0")
    for path in sorted(set(files)):
        h.update(str(path.relative_to(FIRMWARE_DIR)).encode() + b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _compiler_env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    zig_cache = str(root / "zig")
    env.setdefault("ZIG_GLOBAL_CACHE_DIR", zig_cache)
    env.setdefault("ZIG_LOCAL_CACHE_DIR", zig_cache)
    return env


def _first_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if "error" in line.lower():
            return line
    return lines[0] if lines else "no diagnostic"


def build(name: str, arch: str) -> Path:
    """Compile program `name` for `arch` ("armv7" or "x86"); return the cached ELF's path."""
    target = _arch(arch)
    allowed = program_arches(name)
    if arch not in allowed:
        raise ValueError(
            f"firmware program {name!r} is for {allowed[0]} only; it cannot be built for {arch}"
        )
    zig_version = _ziglang_version()
    sources, headers, linker_script = _sources(name, target)
    flags = [
        *target.target_flags,
        *COMMON_FLAGS,
        f"-I{LIB_DIR}",
        "-T",
        str(linker_script),
    ]
    digest = _digest([*sources, *headers, linker_script], flags, zig_version)
    return _compile(name, arch, "firmware", [*flags, *(str(src) for src in sources)], digest)


def build_linux(name: str, arch: str, pie: bool = False) -> Path:
    """Compile `firmware/linux/<name>.c` as a static Linux executable against musl (the
    zig toolchain's libc): arm-linux-musleabihf for armv7, x86-linux-musl for x86; `pie`:
    a static-PIE (ET_DYN, no PT_INTERP) that relocates itself."""
    _arch(arch)
    source = LINUX_DIR / f"{name}.c"
    if not source.is_file():
        raise ValueError(f"no Linux test program {name!r} in {LINUX_DIR}")
    target = {"armv7": "arm-linux-musleabihf", "x86": "x86-linux-musl"}[arch]
    flags = ["-target", target, "-static", "-O2", "-g", "-Wall"]
    if pie:
        flags = ["-target", target, "-static-pie", "-fPIE", "-O2", "-g", "-Wall"]
    digest = _digest([source], flags, _ziglang_version())
    return _compile(name + ("-pie" if pie else ""), arch, "linux", [*flags, str(source)], digest)


def linux_programs() -> list[str]:
    return sorted(p.stem for p in LINUX_DIR.glob("*.c"))


def _compile(name: str, arch: str, kind: str, args: list[str], digest: str) -> Path:
    """Run zig cc once per content digest; the result is cached and written atomically."""
    root = cache_dir()
    out = root / kind / arch / f"{name}-{digest}.elf"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{name}-", suffix=".tmp.elf")
    os.close(fd)
    tmp = Path(tmp_name)
    command = [
        sys.executable,
        "-m",
        "ziglang",
        "cc",
        *args,
        "-o",
        str(tmp),
    ]
    try:
        try:
            result = subprocess.run(
                command,
                env=_compiler_env(root),
                capture_output=True,
                text=True,
                timeout=COMPILE_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise FirmwareBuildError(
                f"building firmware {name!r} for {arch} timed out after {COMPILE_TIMEOUT_S} s",
                stderr=str(exc.stderr or ""),
                command=command,
            ) from None
        if result.returncode != 0:
            raise FirmwareBuildError(
                f"building firmware {name!r} for {arch} failed "
                f"(zig cc exit {result.returncode}): {_first_error(result.stderr)}",
                stderr=result.stderr,
                command=command,
            )
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m firmware.build",
        description="Build soclab guest firmware and print the ELF paths.",
    )
    parser.add_argument("--arch", choices=ARCHES, help="build for this arch only (default: all)")
    parser.add_argument("names", nargs="*", metavar="NAME", help="programs (default: all)")
    args = parser.parse_args(argv)

    try:
        jobs = []
        for name in args.names or programs():
            arches = program_arches(name)
            if args.arch:
                # an explicitly named program for the wrong arch is an error
                if args.arch in arches or args.names:
                    jobs.append((name, args.arch))
            else:
                jobs.extend((name, arch) for arch in arches)
        for name, arch in jobs:
            print(build(name, arch), flush=True)
    except (FirmwareBuildError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        if isinstance(exc, FirmwareBuildError) and exc.stderr:
            print(exc.stderr.rstrip(), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
