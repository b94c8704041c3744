"""/proc/<pid>/ files (fs/proc/array.c, fs/proc/task_mmu.c): maps, stat, status, cmdline.

Formats follow Linux: maps' `%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu` with the name padded
to column 49 on 32-bit (show_vma_header_prefix + seq_pad), stat's 52 fields with minflt and
majflt in fields 10 and 12, status's `Name:\\t...` lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulator.kernel.core import PAGE_SIZE
from emulator.kernel.fs.proc_fs import proc_create_single, proc_mkdir, remove_proc_subtree

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel
    from emulator.kernel.process import Task

PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4


def show_maps(k: Kernel, task: Task) -> str:
    lines = []
    vmas = sorted(task.mm.vmas, key=lambda v: v.start)
    for v in vmas:
        if v.start == v.end:
            continue
        perms = (
            ("r" if v.prot & PROT_READ else "-")
            + ("w" if v.prot & PROT_WRITE else "-")
            + ("x" if v.prot & PROT_EXEC else "-")
            + ("s" if v.flags & 0x80 else "p")  # VM_MAYSHARE
        )
        name = v.name if v.name else ""
        offset = v.pgoff * PAGE_SIZE if v.vm_file is not None else 0
        head = f"{v.start:08x}-{v.end:08x} {perms} {offset:08x} 00:00 0"
        lines.append(f"{head:<48} {name}" if name else head)
    if k.machine.board.arch == "armv7":
        lines.append(
            f"{0xFFFF0000:08x}-{0xFFFF1000:08x} r-xp 00000000 00:00 0".ljust(48) + " [vectors]"
        )
    return "\n".join(lines) + "\n"


def show_stat(k: Kernel, task: Task) -> str:
    mm = task.mm
    vsize = sum(v.end - v.start for v in mm.vmas)
    rss = len(mm.pages)
    state = "R" if task.exit_code is None else "Z"
    ticks = k.machine.clock.now() // 10_000_000  # USER_HZ 100
    fields = [
        str(task.pid),
        f"({task.comm})",
        state,
        str(task.parent.pid if task.parent is not None else 0),
        str(task.pgrp),
        str(task.session),
        "0",
        "-1",
        "4194560",
        str(task.minflt),
        "0",
        str(task.majflt),
        "0",
        str(ticks),
        "0",
        "0",
        "0",
        "20",
        "0",
        "1",
        "0",
        "0",
        str(vsize),
        str(rss),
        "4294967295",
        str(min((v.start for v in mm.vmas if v.prot & PROT_EXEC), default=0)),
        str(max((v.end for v in mm.vmas if v.prot & PROT_EXEC), default=0)),
        str(mm.start_stack),
        "0",
        "0",
        "0",
        "0",
        "0",
        "0",
        "0",
        "0",
        "0",
        "17",  # exit_signal, then processor, rt_priority, policy, delayacct, guest times
        "0",
        "0",
        "0",
        "0",
        "0",
        "0",
        str(mm.start_brk),
        str(mm.start_brk),
        str(mm.brk),
        "0",
        "0",
        "0",
        "0",
        "0",
    ]
    return " ".join(fields) + "\n"


def show_status(k: Kernel, task: Task) -> str:
    mm = task.mm
    kb = PAGE_SIZE // 1024
    vsize = sum(v.end - v.start for v in mm.vmas) // 1024
    ppid = task.parent.pid if task.parent is not None else 0
    # task_sig(): one set of pending signals per process (shown as shared), the handlers
    ignored = sum(1 << (s - 1) for s, act in task.sighand.items() if act.handler == 1)
    caught = sum(1 << (s - 1) for s, act in task.sighand.items() if act.handler > 1)
    return (
        f"Name:\t{task.comm}\nUmask:\t0022\nState:\tR (running)\nTgid:\t{task.pid}\n"
        f"Ngid:\t0\nPid:\t{task.pid}\nPPid:\t{ppid}\nTracerPid:\t0\nUid:\t0\t0\t0\t0\n"
        f"Gid:\t0\t0\t0\t0\nFDSize:\t64\nGroups:\t\nVmPeak:\t{vsize:8d} kB\n"
        f"VmSize:\t{vsize:8d} kB\nVmRSS:\t{len(mm.pages) * kb:8d} kB\n"
        f"VmData:\t{(mm.brk - mm.start_brk) // 1024:8d} kB\nThreads:\t1\n"
        f"SigPnd:\t{0:016x}\n"
        f"ShdPnd:\t{task.pending:016x}\nSigBlk:\t{task.blocked:016x}\n"
        f"SigIgn:\t{ignored:016x}\nSigCgt:\t{caught:016x}\n"
    )


def proc_pid_create(k: Kernel, task: Task) -> None:
    """proc_pid_lookup's files for a new process."""
    pid = str(task.pid)
    remove_proc_subtree(pid, kernel=k)
    proc_mkdir(pid, kernel=k)
    proc_create_single(f"{pid}/maps", lambda: show_maps(k, task), kernel=k)
    proc_create_single(f"{pid}/stat", lambda: show_stat(k, task), kernel=k)
    proc_create_single(f"{pid}/status", lambda: show_status(k, task), kernel=k)
    proc_create_single(f"{pid}/cmdline", lambda: task.cmdline, kernel=k)  # type: ignore[attr-defined]
