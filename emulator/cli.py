"""The `soclab` command line.

    soclab run [--board armv7|x86|PATH.dts] [--bare-metal] [--ram SIZE] [--max-insns N]
               [--trace FILE] [--stats] [IMAGE [ARGS...]]

The exit status is the guest's (syscon EXIT). 124 means the run was stopped: --max-insns was
reached or the guest can never make progress. 2 is a usage or input error (bad board, bad
image), with a one-line message. A guest the machine has to stop (a triple fault, an abort with
no vector table) exits with 128 + the matching signal number (SIGBUS 135, SIGSEGV 139). Console
output goes to stdout, everything soclab says itself to stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, TextIO

from emulator import __version__

if TYPE_CHECKING:
    from emulator.loader import Image
    from emulator.machine import Machine, RunResult

EXIT_USAGE = 2
EXIT_INTERNAL = 70


class CliError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="soclab", description=__doc__.split("\n\n")[0])
    p.add_argument("--version", action="version", version=f"soclab {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run a guest image (or the built-in demo)")
    r.add_argument("--board", default="armv7", help="armv7, x86, or a path to a .dts file")
    r.add_argument(
        "--bare-metal",
        action="store_true",
        help="boot IMAGE as firmware (datasheet §5): MMU and caches off",
    )
    r.add_argument("--ram", help="DRAM size, 64M..2G (default: the board's)")
    r.add_argument("--max-insns", type=_count, help="stop (status 124) after N instructions")
    r.add_argument("--trace", metavar="FILE", help="write executed blocks, disassembled")
    r.add_argument("--stats", action="store_true", help="print run statistics at exit")
    r.add_argument("--load-addr", type=_address, help="load address of a raw (non-ELF) image")
    r.add_argument(
        "--root",
        metavar="DIR",
        help="a host directory as the read-only root of a Linux program's files",
    )
    r.add_argument(
        "--cache",
        default="worst-case",
        metavar="POLICY[,size=..,ways=..]",
        help="data-cache policy: worst-case (default), lru[,size=32K,ways=4], off",
    )
    r.add_argument(
        "--stop-on-hazard",
        action="store_true",
        help="end the run (status 125) at the first coherence hazard",
    )
    r.add_argument(
        "--ns-per-insn",
        type=_count,
        default=10,
        help="virtual nanoseconds per instruction (default 10)",
    )
    r.add_argument("image", nargs="?", help="guest image (default: the built-in demo)")
    r.add_argument("args", nargs=argparse.REMAINDER, help="arguments for a Linux program")
    return p


def _count(text: str) -> int:
    try:
        n = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def _address(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an address: {text!r}") from None


class _Stdout:
    """Console bytes to stdout, flushed at each newline and at exit: no output is lost."""

    def __init__(self, stream: TextIO) -> None:
        self.buf = stream.buffer if hasattr(stream, "buffer") else None
        self.stream = stream

    def __call__(self, data: bytes) -> None:
        if self.buf is not None:
            self.buf.write(data)
            if b"\n" in data:
                self.buf.flush()
        else:
            self.stream.write(data.decode("latin-1"))

    def flush(self) -> None:
        (self.buf or self.stream).flush()


def _stdin_reader() -> object:
    """Host input for uart0: a pipe or file is read as the guest needs it; a terminal is
    polled without blocking (interactive input is, by nature, not reproducible)."""
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    if os.isatty(fd):
        import select

        def poll() -> bytes | None:
            ready, _, _ = select.select([fd], [], [], 0)
            if not ready:
                return b""
            data = os.read(fd, 4096)
            return data if data else None

        return poll

    def read() -> bytes | None:
        data = os.read(fd, 4096)
        return data if data else None

    return read


def cmd_run(a: argparse.Namespace) -> int:
    from emulator.board import BoardError, load_board, parse_size
    from emulator.cache import CacheConfig
    from emulator.device import HostConsole
    from emulator.loader import LoadError, load_image
    from emulator.machine import Machine

    try:
        board = load_board(a.board, parse_size(a.ram) if a.ram else None)
        cache = CacheConfig.parse(a.cache)
    except BoardError as e:
        raise CliError(str(e)) from None
    if a.image is None:
        from firmware.build import build

        image_path = str(build("demo", board.arch))
        bare_metal = True
    else:
        image_path = a.image
        bare_metal = a.bare_metal
    out = _Stdout(sys.stdout)
    console = HostConsole(write=out)
    console.reader = _stdin_reader()  # type: ignore[assignment]
    machine = Machine(
        board,
        console=console,
        ns_per_insn=a.ns_per_insn,
        cache=cache,
        stop_on_hazard=a.stop_on_hazard,
    )
    try:
        image = load_image(image_path, board.arch, a.load_addr)
        if bare_metal:
            machine.boot_bare_metal(image)
        else:
            _exec_linux(machine, image, image_path, a.args, a.root)
    except (LoadError, OSError, ValueError) as e:
        raise CliError(str(e)) from None
    tracer = None
    trace_file = None
    if a.trace:
        from emulator.trace import Tracer

        try:
            trace_file = open(a.trace, "w")  # noqa: SIM115 - closed below
        except OSError as e:
            raise CliError(f"--trace: {e}") from None
        tracer = Tracer(machine, trace_file)
    try:
        result = machine.run(a.max_insns)
    finally:
        out.flush()
        if tracer is not None:
            tracer.close()
        if trace_file is not None:
            trace_file.close()
    if result.reason != "exit":
        print(f"soclab: {result.message}", file=sys.stderr)
    if a.stats:
        _print_stats(machine, result)
    return result.status


def _exec_linux(
    machine: Machine, image: Image, path: str, args: list[str], root: str | None
) -> None:
    """Boot the kernel model and run the program as pid 1 (datasheet §5)."""
    from emulator.kernel.core import Kernel
    from emulator.kernel.process import processes

    if image.kind != "elf" or image.elf_type not in ("ET_EXEC", "ET_DYN") or image.interp:
        raise CliError(
            f"{path}: not a static ELF executable (ET_EXEC or static-PIE); dynamically "
            "linked executables are not supported yet"
        )
    from emulator.kernel.fs.namei import mount_host_root
    from emulator.kernel.fs.vfs import initramfs_add_file

    kernel = Kernel(machine).boot()
    if root:
        mount_host_root(root)
    name = "/bin/" + path.rsplit("/", 1)[-1]
    with open(path, "rb") as f:
        initramfs_add_file(name, f.read())
    env = ["HOME=/", "PATH=/bin:/usr/bin", "TERM=linux"]
    processes(kernel).exec(image, [name, *args], env, name)
    machine.image = image


def _print_stats(machine: Machine, r: RunResult) -> None:
    mips = r.insns / r.host_seconds / 1e6 if r.host_seconds > 0 else 0.0
    lines = [
        f"instructions retired: {r.insns}",
        f"virtual time: {r.time_ns} ns ({r.time_ns / 1e6:.3f} ms)",
        f"host time: {r.host_seconds:.3f} s ({mips:.1f} MIPS)",
        f"TLB fills: {machine.cpu.tlb_fills}",
        f"guest errors: {machine.bus.guest_errors}",
    ]
    c = machine.cache
    s = c.stats
    lines.append(
        f"cache ({c.config.policy.value}): {s.fills} page fills, {s.dirty_lines(c)} dirty lines, "
        f"{s.cleans} cleans, {s.invalidates} invalidates, {s.evictions} evictions, "
        f"{s.drains} drained, {s.maintenance_ops} maintenance ops"
    )
    kinds: dict[str, int] = {}
    for h in c.hazards:
        kinds[h.kind.value] = kinds.get(h.kind.value, 0) + 1
    lines.append(f"hazards: {len(c.hazards)}")
    lines += [f"  {n} x {k}" for k, n in kinds.items()]
    for line in lines:
        print(f"soclab: {line}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args)
    except CliError as e:
        print(f"soclab: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("soclab: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - one line, not a traceback, unless debugging
        if os.environ.get("SOCLAB_DEBUG"):
            raise
        name = type(e).__name__
        if name in ("FirmwareBuildError", "NativeBuildError"):
            print(f"soclab: {e}", file=sys.stderr)
            return EXIT_USAGE
        print(
            f"soclab: internal error: {name}: {e} (set SOCLAB_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
