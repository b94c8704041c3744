"""The exact fault address of a load through the thread pointer (si_addr): on i386 the %gs
segment base comes from the selector's GDT descriptor, not Unicorn's 64-bit-only GS_BASE."""

from __future__ import annotations

import pytest

from emulator.cli import main
from firmware.build import build_linux


@pytest.mark.parametrize("arch", ["armv7", "x86"])
def test_a_fault_through_the_thread_pointer_reports_the_exact_address(capfd, arch):
    status = main(["run", "--board", arch, str(build_linux("tlsfault_linux", arch))])
    out, err = capfd.readouterr()
    assert status == 0, err
    assert out == "signal 11 at thread pointer + 0x30000123\n"
    assert "deprecated" not in out + err  # Unicorn's warning for register id 251 (GS_BASE)
