"""The driver-facing user-access API (emulator/kernel/uaccess.py) on both boards, against a
process's real address space: Linux's return conventions, demand faults, and -EFAULT for
kernel, unmapped and read-only addresses."""

from __future__ import annotations

import pytest

from emulator.kernel.errno import EFAULT
from emulator.kernel.process import PROT_WRITE, processes
from emulator.kernel.uaccess import (
    access_ok,
    clear_user,
    copy_from_user,
    copy_to_user,
    get_user,
    put_user,
    strncpy_from_user,
)
from emulator.loader import load_image
from firmware.build import build_linux


@pytest.fixture
def task(kernel):
    arch = kernel.machine.board.arch
    image = load_image(build_linux("hello_linux", arch), arch)
    return processes(kernel).exec(image, ["/bin/hello"], [], "/bin/hello")


def _writable_end(task) -> int:
    """The end of a writable mapping with nothing mapped right after it."""
    for v in task.mm.vmas:
        if v.prot & PROT_WRITE and task.mm.find_vma(v.end) is None and v.name != "[stack]":
            return v.end
    raise AssertionError("no writable mapping with a hole after it")


def test_values_and_strings_round_trip_through_user_memory(kernel, task):
    end = _writable_end(task)
    ptr = end - 64
    assert put_user(0x1234_5678, ptr) == 0
    assert get_user(ptr) == (0, 0x1234_5678)
    assert get_user(ptr, 2) == (0, 0x5678)
    assert put_user(-1, ptr + 8, 1) == 0 and get_user(ptr + 8, 1) == (0, 0xFF)
    assert copy_to_user(ptr + 16, b"soclab\0tail") == 0
    assert strncpy_from_user(ptr + 16, 64) == b"soclab"
    assert strncpy_from_user(ptr + 16, 3) == b"soc"  # count reached: unterminated
    assert clear_user(ptr + 16, 6) == 0 and copy_from_user(ptr + 16, 7) == (bytes(7), 0)


def test_a_copy_stops_at_the_first_unmapped_page_and_says_how_much_is_left(kernel, task):
    end = _writable_end(task)
    assert copy_to_user(end - 4, b"12345678") == 4  # the 4 bytes past the mapping
    data, left = copy_from_user(end - 4, 8)
    assert (data, left) == (b"1234" + bytes(4), 4)  # the rest zero-filled
    assert strncpy_from_user(end - 4, 64) == -EFAULT  # no NUL before the hole
    assert clear_user(end - 2, 4) == 2


def test_kernel_and_wild_pointers_are_refused(kernel, task):
    page_offset = kernel.layout.PAGE_OFFSET
    assert not access_ok(page_offset, 4) and not access_ok(0xFFFF_FFF0, 0x20)
    assert access_ok(0x1000, 16)
    assert get_user(page_offset) == (-EFAULT, 0)
    assert put_user(1, page_offset + 0x100) == -EFAULT
    assert copy_from_user(page_offset, 4) == (bytes(4), 4)
    assert get_user(0) == (-EFAULT, 0)  # nothing is mapped at NULL
    text = task.mm.vmas[0]  # the program's text: mapped, not writable
    assert not text.prot & PROT_WRITE
    assert get_user(text.start)[0] == 0 and put_user(0, text.start) == -EFAULT
    with pytest.raises(ValueError):
        get_user(text.start, 3)
