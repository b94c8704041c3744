"""User address spaces (mm/memory.c, mm/mmap.c, mm/mremap.c, mm/madvise.c, mm/mprotect.c):
copy-on-write fork, VMA split/merge, MAP_FIXED, shared anonymous memory, madvise, mremap and
the signals of bad accesses, on both boards."""

from __future__ import annotations

import pytest

from emulator.cli import main
from emulator.kernel.core import Kernel
from emulator.kernel.mm.memory import page_count
from emulator.kernel.process import processes
from emulator.loader import load_image
from firmware.build import build_linux

ARCHES = ("armv7", "x86")


@pytest.mark.parametrize("arch", ARCHES)
def test_vma_operations_behave_as_on_linux(capsys, arch):
    status = main(["run", "--board", arch, str(build_linux("mm_linux", arch))])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert out.splitlines() == [
        "shared perms rw-s",
        "child reads parent",
        "child wrote child, minor faults for the copy: yes",
        "parent still has parent; shared now child",
        "parent writes again",
        "fixed at +4096: 0 a a; vmas 1",  # replaced by a zero page, merged back into one VMA
        "noreplace: EEXIST",
        "mprotect middle: vmas 3",
        "write read-only: signal 11 code 2 at +4104",  # SEGV_ACCERR with the exact si_addr
        "read read-only: ok",
        "mprotect back: vmas 1 rw-p",
        "munmap middle: vmas 2",
        "read hole: signal 11 code 1 at +4112",  # SEGV_MAPERR
        "read below hole: ok",
        "madvise 0: 0",
        "grow in place: same m",
        "shrink: same; vmas 1",
        "blocked: ENOMEM",
        "maymove: moved m; old 0",
        "fixed: at target m",
        "fixed without maymove: EINVAL",
    ]


def test_fork_shares_pages_read_only_until_a_write_copies_them(kernel: Kernel):
    arch = kernel.machine.board.arch
    pm = processes(kernel)
    parent = pm.exec(load_image(build_linux("hello_linux", arch), arch), ["h"], [], "/bin/h")
    mm = parent.mm
    stack_page = max(mm.pages)
    child = pm.fork(parent, kernel.arch_entry.RETURN_REG)
    shared = mm.pages[stack_page]
    assert child.mm.pages[stack_page] == shared and page_count(shared) == 2
    pm.handle_user_fault(stack_page, write=True, fetch=False)  # the parent writes: a copy
    assert mm.pages[stack_page] != shared and page_count(shared) == 1
    assert parent.minflt == 1
    pm.current = child
    kernel.pgtable.switch_mm(child.mm.pgd)
    pm.handle_user_fault(stack_page, write=True, fetch=False)  # sole owner now: reused
    assert child.mm.pages[stack_page] == shared and page_count(shared) == 1
