"""sysinfo(2) and prctl(2) (kernel/sys.c).

struct sysinfo on 32-bit ARM and i386 is 64 bytes: long uptime, unsigned long loads[3],
totalram, freeram, sharedram, bufferram, totalswap, freeswap, u16 procs, u16 pad,
unsigned long totalhigh, freehigh, u32 mem_unit, 8 bytes of padding. As do_sysinfo() does,
memory is counted in pages (mem_unit = PAGE_SIZE) and then, when every byte total fits in an
unsigned long, rescaled to bytes with mem_unit 1. Load averages are 0 (no load tracking);
uptime is virtual time, rounded up to whole seconds.

prctl: PR_SET_NAME / PR_GET_NAME read and set the task's comm (16 bytes with the NUL, as
/proc/<pid>/status and stat show it); every other option is -EINVAL.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from emulator.kernel.core import PAGE_SIZE
from emulator.kernel.errno import EINVAL
from emulator.kernel.process import processes
from emulator.kernel.syscalls import copy_to_user, strncpy_from_user, syscall

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel
    from emulator.kernel.process import Task

PR_SET_NAME, PR_GET_NAME = 15, 16
TASK_COMM_LEN = 16
ULONG_MAX = 0xFFFF_FFFF


def si_meminfo(k: Kernel) -> tuple[int, int, int, int]:
    """(totalram, freeram, totalhigh, freehigh) in pages."""
    from emulator.kernel.mm.mmzone import meminfo_fields

    f = meminfo_fields()
    pages = PAGE_SIZE // 1024
    return (
        f["MemTotal"] // pages,
        f["MemFree"] // pages,
        f["HighTotal"] // pages,
        f["HighFree"] // pages,
    )


def do_sysinfo(k: Kernel) -> bytes:
    ns = k.machine.clock.now()
    uptime = ns // 1_000_000_000 + (1 if ns % 1_000_000_000 else 0)
    totalram, freeram, totalhigh, freehigh = si_meminfo(k)
    mem = [totalram, freeram, 0, 0, 0, 0, totalhigh, freehigh]  # ram, shared, buffer, swap
    mem_unit = PAGE_SIZE
    if totalram * PAGE_SIZE <= ULONG_MAX:  # bytes fit: report them with mem_unit 1
        mem = [v * PAGE_SIZE for v in mem]
        mem_unit = 1
    procs = min(len(processes(k).tasks), 0xFFFF)
    return struct.pack(
        "<i3I6IHH2II8x",
        uptime,
        0,
        0,
        0,
        *mem[:6],
        procs,
        0,
        mem[6],
        mem[7],
        mem_unit,
    )


@syscall("sysinfo")
def sys_sysinfo(k: Kernel, task: Task, a: list[int]) -> int:
    copy_to_user(k, a[0], do_sysinfo(k))
    return 0


@syscall("prctl")
def sys_prctl(k: Kernel, task: Task, a: list[int]) -> int:
    option = a[0]
    if option == PR_SET_NAME:
        name = strncpy_from_user(k, a[1], TASK_COMM_LEN)[: TASK_COMM_LEN - 1]
        task.comm = name.decode("utf-8", "surrogateescape")
        return 0
    if option == PR_GET_NAME:
        raw = task.comm.encode("utf-8", "surrogateescape")[: TASK_COMM_LEN - 1]
        copy_to_user(k, a[1], raw.ljust(TASK_COMM_LEN, b"\0"))
        return 0
    return -EINVAL
