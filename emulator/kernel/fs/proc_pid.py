"""/proc/<pid>/ files (fs/proc/array.c, fs/proc/task_mmu.c, fs/proc/base.c, fs/proc/fd.c):
maps, stat, status, cmdline, and the magic links exe, cwd and fd/<n>.

exe, cwd and fd/<n> are magic links: path lookup jumps to the very dentry (the program
exec loaded, the working directory, the open file), so open("/proc/self/exe") and
execve("/proc/self/exe", ...) reach the running program even under another name, and
readlink shows its path ("pipe:[ino]" for a pipe). fd/ lists the descriptors open now.

Formats follow Linux: maps' `%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu` with the name padded
to column 49 on 32-bit (show_vma_header_prefix + seq_pad), stat's 52 fields with minflt and
majflt in fields 10 and 12, status's `Name:\\t...` lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulator.kernel.core import PAGE_SIZE
from emulator.kernel.fs.inode import FMODE_READ, FMODE_WRITE, S_IFLNK, Dentry, File, Inode
from emulator.kernel.fs.proc_fs import (
    proc_create_single,
    proc_dynamic_dir,
    proc_magic_link,
    proc_mkdir,
    remove_proc_subtree,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from emulator.kernel.core import Kernel
    from emulator.kernel.fs.file_table import FdTable
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


def task_state(task: Task) -> str:
    """fs/proc/array.c get_task_state(): R (running) for the running and the runnable, S
    (sleeping) for a task asleep in a system call, Z (zombie) after exit."""
    if task.state == "zombie" or task.exit_code is not None:
        return "Z (zombie)"
    return "S (sleeping)" if task.state == "waiting" else "R (running)"


def show_stat(k: Kernel, task: Task) -> str:
    mm = task.mm
    vsize = sum(v.end - v.start for v in mm.vmas)
    rss = len(mm.pages)
    state = task_state(task)[0]
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
        f"Name:\t{task.comm}\nUmask:\t{getattr(task, 'umask', 0o022):04o}\n"
        f"State:\t{task_state(task)}\nTgid:\t{task.pid}\n"
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
    proc_magic_link(f"{pid}/exe", lambda: getattr(task, "exe_dentry", None), kernel=k)
    proc_magic_link(f"{pid}/cwd", lambda: _cwd(k, task), kernel=k)
    proc_dynamic_dir(f"{pid}/fd", lambda: _fd_links(k, task), kernel=k)


def _cwd(k: Kernel, task: Task) -> Dentry:
    from emulator.kernel.fs.namei import vfs_state

    cwd: Dentry | None = getattr(task, "cwd", None)
    return cwd if cwd is not None else vfs_state(k).root_dentry()


def _fd_links(k: Kernel, task: Task) -> dict[str, Inode]:
    """proc_readfd(): one magic link per open descriptor (numbered on first sight of the
    descriptor's File, so a listing is stable while nothing changes)."""
    from emulator.kernel.fs.namei import vfs_state
    from emulator.kernel.fs.syscalls import files

    if task.state == "zombie":
        return {}
    table = files(task)  # (created on first use, with the console on 0, 1 and 2)
    cache: dict[tuple[int, int], Inode] = task.__dict__.get("_proc_fd_inodes", {})
    fresh: dict[tuple[int, int], Inode] = {}
    out: dict[str, Inode] = {}
    for fd in sorted(table.fd):
        file: File = table.fd[fd]
        key = (fd, id(file))
        inode = cache.get(key)
        if inode is None:
            # proc_fd_link's mode: r and w as the file was opened, x always (lr-x------ ...)
            perm = 0o100 | (0o400 if file.f_mode & FMODE_READ else 0)
            perm |= 0o200 if file.f_mode & FMODE_WRITE else 0
            inode = Inode(vfs_state(k).inos.get_next_ino(), S_IFLNK | perm, i_sb="proc")
            inode.i_get_link = _file_link(table, fd, file)
        fresh[key] = out[str(fd)] = inode
    task.__dict__["_proc_fd_inodes"] = fresh
    return out


def _file_link(table: FdTable, fd: int, file: File) -> Callable[[], Dentry | None]:
    def get_link() -> Dentry | None:
        return file.f_path if table.fd.get(fd) is file else None

    return get_link
