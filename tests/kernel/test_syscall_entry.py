"""The system-call path's cost and its equivalence: a call is finished inside Unicorn's
interrupt hook (no slice end), the native block counter keeps its block sizes across calls,
and none of it changes what a program does, how many instructions it runs, or when."""

from __future__ import annotations

import pytest

from emulator.board import load_board
from emulator.device import HostConsole
from emulator.kernel.core import Kernel
from emulator.kernel.process import processes
from emulator.loader import load_image
from emulator.machine import Machine, RunResult
from firmware.build import build_linux

ARCHES = ("armv7", "x86")


def boot(arch: str, name: str, *args: str) -> tuple[Machine, HostConsole]:
    console = HostConsole()
    machine = Machine(load_board(arch), console=console, log=lambda msg: None)
    kernel = Kernel(machine, echo=False).boot()
    image = load_image(build_linux(name, arch), arch)
    processes(kernel).exec(image, [f"/bin/{name}", *args], [], f"/bin/{name}")
    return machine, console


def run(arch: str, name: str, *args: str, in_hook: bool = True) -> tuple[RunResult, bytes, int]:
    """(result, console output, slices run); in_hook=False ends a slice at every call."""
    machine, console = boot(arch, name, *args)
    if not in_hook:
        machine.cpu.trap_handler = None
    slices = 0
    run_slice = machine.cpu.run_slice

    def counting():  # type: ignore[no-untyped-def]
        nonlocal slices
        slices += 1
        return run_slice()

    machine.cpu.run_slice = counting  # type: ignore[method-assign]
    return machine.run(), bytes(console.output), slices


@pytest.mark.parametrize("arch", ARCHES)
def test_system_calls_run_without_ending_the_slice(arch):
    few, _, few_slices = run(arch, "bench_getpid_linux", "10")
    many, _, many_slices = run(arch, "bench_getpid_linux", "1010")
    assert few.status == many.status == 0
    assert many_slices - few_slices < 5  # 1000 more calls, not 1000 more slices
    _, _, old_slices = run(arch, "bench_getpid_linux", "1010", in_hook=False)
    assert old_slices - few_slices >= 1000


@pytest.mark.parametrize("arch", ARCHES)
def test_the_block_counter_does_not_miss_once_per_system_call(arch):
    # musl's i386 syscall path is `call *%gs:0x10` -> `int $0x80` (2 bytes), `ret` (1 byte),
    # right before syscall(): three tiny neighbouring blocks that must not evict each other.
    misses = []
    for count in ("10", "1010"):
        machine, _ = boot(arch, "bench_getpid_linux", count)
        assert machine.run().status == 0
        misses.append(machine.cpu.counter.state.misses)
    assert misses[1] - misses[0] < 10


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize(
    "name", ["fork_linux", "exec_linux", "pipe_linux", "sleep_linux", "sigsegv_linux"]
)
def test_calls_in_the_hook_behave_exactly_as_calls_that_end_the_slice(arch, name):
    # blocking (wait4, pipes), exec, fork, nanosleep and sigreturn all change the PC, the
    # task or the clock from inside the hook: same output, instruction count and time
    fast, fast_out, fast_slices = run(arch, name)
    slow, slow_out, slow_slices = run(arch, name, in_hook=False)
    assert fast.status == 0, fast.message
    assert (fast_out, fast.status, fast.insns, fast.time_ns) == (
        slow_out,
        slow.status,
        slow.insns,
        slow.time_ns,
    )
    assert fast_slices < slow_slices


@pytest.mark.parametrize("arch", ARCHES)
def test_user_accesses_follow_munmap_mprotect_and_remapping_at_once(arch):
    # copy_from_user/copy_to_user cache translations: a mapping change must drop them
    result, out, _ = run(arch, "uaccess_linux")
    assert result.status == 0, result.message
    assert out.decode().splitlines() == [
        "write mapped: 3",
        "write unmapped: -1 errno=14",  # EFAULT, not the freed page
        "remapped reads: new",
        "read into read-only: -1 errno=14",  # a read translation is not a write one
        "write from read-only: 3",
        "write unmapped again: -1 errno=14",
    ]


@pytest.mark.parametrize("arch", ARCHES)
def test_an_exception_in_a_system_call_surfaces_from_the_run_and_stops_the_guest(arch, monkeypatch):
    from emulator.kernel import syscalls

    calls = []

    def broken(k, task, a):  # type: ignore[no-untyped-def]
        calls.append(a[0])
        raise RuntimeError("bug in a system call")

    monkeypatch.setitem(syscalls.SYSCALLS, "getpid", broken)
    machine, _ = boot(arch, "bench_getpid_linux", "100")
    with pytest.raises(RuntimeError, match="bug in a system call"):
        machine.run()
    assert len(calls) == 1  # raised from inside Unicorn's hook, and nothing ran after it
