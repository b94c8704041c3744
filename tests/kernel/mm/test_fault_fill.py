"""The demand-fault path inside the TLB-fill hook (a ctypes callback registered directly)."""

from __future__ import annotations

import pytest

from emulator.board import load_board
from emulator.device import HostConsole
from emulator.kernel.core import Kernel
from emulator.kernel.process import ProcessManager, processes
from emulator.loader import load_image
from emulator.machine import Machine
from firmware.build import build_linux
from tests.conftest import ARCHES


def _boot(arch: str, name: str, *args: str) -> tuple[Machine, Kernel]:
    machine = Machine(load_board(arch), console=HostConsole(), log=lambda m: None)
    kernel = Kernel(machine, echo=False).boot()
    processes(kernel).exec(
        load_image(build_linux(name, arch), arch), ["/bin/b", *args], [], "/bin/b"
    )
    return machine, kernel


@pytest.mark.parametrize("arch", ARCHES)
def test_a_python_error_in_the_fill_hook_stops_the_run_and_surfaces(arch, monkeypatch):
    """A kernel-model bug raised while the fill hook fixes a fault must not unwind through
    Unicorn's C frames: the run stops and the error is raised from it, unchanged."""

    def broken(self: ProcessManager, addr: int, write: bool, fetch: bool) -> bool:
        raise RuntimeError(f"model bug at {addr:#x}")

    monkeypatch.setattr(ProcessManager, "fault_in_fill", broken)
    machine, _ = _boot(arch, "bench_fault_linux", "4")
    with pytest.raises(RuntimeError, match="model bug at 0x"):
        machine.run()


@pytest.mark.parametrize("arch", ARCHES)
def test_demand_faults_fixed_in_the_fill_count_as_minor_faults_and_free_every_page(arch):
    """N touched pages: N minor faults fixed without leaving Unicorn, and every page they
    took back on the free lists at exit."""
    from emulator.kernel.mm.page_alloc import nr_free_pages

    counts = {}
    for n in (1, 65):
        machine, kernel = _boot(arch, "bench_fault_linux", str(n))
        free_before = nr_free_pages()
        task = processes(kernel).current
        assert task is not None
        assert machine.run().status == 0
        counts[n] = task.minflt
        assert nr_free_pages() >= free_before  # the process's pages all came back
    assert counts[65] - counts[1] == 64
