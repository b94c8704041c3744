"""The user-access API for drivers (include/linux/uaccess.h, arch/*/include/asm/uaccess.h):
access_ok, copy_to_user, copy_from_user, get_user, put_user, clear_user,
strncpy_from_user — with Linux's return conventions, on the current task's address space.

Each access goes through the MMU walker as a user-mode access would, so a page not yet
touched is demand-faulted in and a pointer into the kernel, into no mapping, or against a
mapping's protection fails with -EFAULT (or, for the copies, a count of bytes not copied) —
never an emulator error. `copy_from_user` zero-fills what it could not read, as Linux's
does, so a driver never sees stale kernel data.

The system-call layer uses the exception-raising forms in emulator/kernel/syscalls.py
(`Efault`); these are the ones a Python driver's read/write/ioctl is written against:

    def my_read(file, count, pos):
        err = put_user(42, user_ptr)           # 0 or -EFAULT
        left = copy_to_user(user_buf, data)    # bytes NOT copied, 0 on success
"""

from __future__ import annotations

import struct

from emulator.kernel.core import PAGE_SIZE, current_kernel
from emulator.kernel.errno import EFAULT
from emulator.kernel.syscalls import Efault
from emulator.kernel.syscalls import copy_from_user as _read_user
from emulator.kernel.syscalls import copy_to_user as _write_user

_FORMATS = {1: "<B", 2: "<H", 4: "<I", 8: "<Q"}


def access_ok(addr: int, size: int) -> bool:
    """Whether [addr, addr + size) lies wholly below TASK_SIZE (no wrap-around). Like Linux's,
    it says nothing about whether the range is mapped."""
    task_size = current_kernel().layout.TASK_SIZE
    return size >= 0 and 0 <= addr and addr + size <= task_size


def _chunks(addr: int, size: int) -> list[tuple[int, int]]:
    out = []
    while size > 0:
        n = min(size, PAGE_SIZE - (addr & (PAGE_SIZE - 1)))
        out.append((addr, n))
        addr += n
        size -= n
    return out


def copy_to_user(to: int, data: bytes) -> int:
    """Copy kernel bytes to user memory; the number of bytes that could NOT be copied (0 on
    success). Copying stops at the first page that cannot be written."""
    if not access_ok(to, len(data)):
        return len(data)
    k, done = current_kernel(), 0
    for addr, n in _chunks(to, len(data)):
        try:
            _write_user(k, addr, data[done : done + n])
        except Efault:
            break
        done += n
    return len(data) - done


def copy_from_user(frm: int, n: int) -> tuple[bytes, int]:
    """(the n bytes read, the number NOT read): what could not be read is zero-filled."""
    if not access_ok(frm, n):
        return bytes(n), n
    k, out = current_kernel(), bytearray()
    for addr, size in _chunks(frm, n):
        try:
            out += _read_user(k, addr, size)
        except Efault:
            break
    left = n - len(out)
    return bytes(out) + bytes(left), left


def get_user(ptr: int, size: int = 4) -> tuple[int, int]:
    """(0, value) or (-EFAULT, 0): one naturally sized value (1, 2, 4 or 8 bytes)."""
    fmt = _FORMATS.get(size)
    if fmt is None:
        raise ValueError(f"get_user: bad size {size}")  # a compile-time error in Linux
    data, left = copy_from_user(ptr, size)
    if left:
        return -EFAULT, 0
    return 0, struct.unpack(fmt, data)[0]


def put_user(value: int, ptr: int, size: int = 4) -> int:
    """0 or -EFAULT: store one naturally sized value (truncated to its size, as C would)."""
    fmt = _FORMATS.get(size)
    if fmt is None:
        raise ValueError(f"put_user: bad size {size}")
    data = struct.pack(fmt, value & ((1 << (8 * size)) - 1))
    return -EFAULT if copy_to_user(ptr, data) else 0


def clear_user(to: int, n: int) -> int:
    """Zero n bytes of user memory; the number of bytes that could NOT be cleared."""
    return copy_to_user(to, bytes(n))


def strncpy_from_user(src: int, count: int) -> bytes | int:
    """The user string at src, up to its NUL or `count` bytes (then unterminated, as
    Linux's returns count), or -EFAULT."""
    if count < 0:
        return -EFAULT
    out = bytearray()
    addr = src
    while len(out) < count:
        n = min(count - len(out), PAGE_SIZE - (addr & (PAGE_SIZE - 1)))
        chunk, left = copy_from_user(addr, n)
        chunk = chunk[: n - left]
        nul = chunk.find(b"\0")
        if nul >= 0:
            return bytes(out + chunk[:nul])
        out += chunk
        if left:
            return -EFAULT
        addr += n
    return bytes(out)
