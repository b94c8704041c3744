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


def test_random_mm_calls_keep_vmas_sorted_disjoint_and_pages_inside_them(kernel: Kernel):
    """Bad and random arguments to the mm calls give errnos, never exceptions, and leave an
    address space whose VMAs are sorted and disjoint and whose pages all lie in a VMA."""
    import random

    from emulator.kernel.mm import mmap as M

    arch = kernel.machine.board.arch
    pm = processes(kernel)
    task = pm.exec(load_image(build_linux("hello_linux", arch), arch), ["h"], [], "/bin/h")
    mm, rng = task.mm, random.Random(5)
    area = 0x4000_0000

    def addr() -> int:
        near = area + rng.randrange(64) * 4096
        return rng.choice([near, near, near, rng.getrandbits(32), 0])

    def length() -> int:
        small = rng.randrange(1, 16) * 4096
        return rng.choice([small, small, small, rng.getrandbits(32), 0, 100])

    for _ in range(300):
        op = rng.randrange(6)
        if op == 0:
            flags = rng.choice([0x22, 0x32, 0x21, 0x100022, 0x0]) | rng.choice([0, 0x10])
            M.do_mmap(kernel, mm, addr(), length(), rng.randrange(8), flags, None, 0)
        elif op == 1:
            M.do_munmap(kernel, mm, addr(), length())
        elif op == 2:
            M.do_mprotect(kernel, mm, addr(), length(), rng.randrange(8))
        elif op == 3:
            M.do_madvise(kernel, mm, addr(), length(), rng.choice([0, 4, 8, 99]))
        elif op == 4:
            flags = rng.choice([0, 1, 3, 3, rng.randrange(8)])
            old = rng.choice([addr(), rng.choice(mm.vmas).start])
            M.do_mremap(kernel, mm, old, rng.choice([4096, length()]), length(), flags, addr())
        else:
            v = mm.find_vma(addr())
            if v is not None and v.prot & 2:
                pm.handle_user_fault(v.start, write=True, fetch=False)
        spans = [(v.start, v.end) for v in mm.vmas if v.start < v.end]
        assert spans == sorted(spans)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
        assert all(mm.find_vma(va) is not None for va in mm.pages)
    pm.exit_mmap(mm)
    assert not mm.pages
