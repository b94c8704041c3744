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
        "file: file contents, after EOF 0, major faults 1",
        "read beyond EOF: signal 7 code 2 at +4100",  # SIGBUS, BUS_ADRERR
        "file perms r--p",
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


def test_arm_kuser_helpers_and_cacheflush_work_through_function_pointers(capsys):
    status = main(["run", "--board", "armv7", str(build_linux("kuser_linux", "armv7"))])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert out.splitlines() == [
        "version 5",
        "get_tls matches TPIDRURO: yes",
        "cmpxchg: 0 then fails, value 7",
        "cmpxchg64: 0 then fails, value 300000004",
        "cacheflush 0, generated code returns 42",
    ]


def test_the_vector_page_holds_linux_kuser_helpers(arm_kernel: Kernel):
    from emulator.kernel.arch.arm.kuser import KUSER_GET_TLS, KUSER_HELPER_VERSION

    assert arm_kernel.mem_read(KUSER_HELPER_VERSION, 4) == (5).to_bytes(4, "little")
    # mrc p15, 0, r0, c13, c0, 3; bx lr
    assert arm_kernel.mem_read(KUSER_GET_TLS, 8) == bytes.fromhex("700f1dee1eff2fe1")


@pytest.mark.parametrize("arch, base", [("armv7", "7f555000"), ("x86", "00400000")])
def test_a_static_pie_loads_at_elf_et_dyn_base_and_relocates_itself(capsys, arch, base):
    elf = build_linux("procself_linux", arch, pie=True)
    image = load_image(elf, arch)
    assert image.elf_type == "ET_DYN" and not image.interp
    status = main(["run", "--board", arch, str(elf)])
    out, err = capsys.readouterr()
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"{base}-") and lines[0].endswith(elf.name)
    assert lines[1].split()[1] == "r-xp"  # the text, at its offset from the base
    assert lines[-1] == f"/bin/{elf.name}"
