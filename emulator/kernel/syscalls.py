"""System calls, by name (kernel/sys.c, mm/mmap.c, fs/read_write.c ...): the generic half.

The architecture's entry code (arch/*/entry.py) maps its numbers to these names, reads the
arguments from the registers and writes the result back. Each implementation takes the
kernel, the current task and the raw argument words, and returns the value user space sees:
a result, or a negative errno. Unknown calls return -ENOSYS and are reported once.

User memory is reached with `copy_from_user`/`copy_to_user`, which walk the process's tables
as user mode would: a bad pointer gives -EFAULT, never an emulator error.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from emulator.cpu.base import TranslationFault
from emulator.kernel.core import PAGE_SIZE
from emulator.kernel.process import (
    PROT_READ,
    PROT_WRITE,
    VM_MAY_ALL,
    Task,
    Vma,
    page_align,
    processes,
)
from emulator.mmu import AccessType

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel

EPERM, ENOENT, ESRCH, EINTR, EBADF, ENOMEM, EFAULT, EINVAL, ENOTTY, ENOSYS = (
    1,
    2,
    3,
    4,
    9,
    12,
    14,
    22,
    25,
    38,
)
MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS = 0x01, 0x02, 0x10, 0x20
MAP_FIXED_NOREPLACE = 0x100000

Syscall = Callable[["Kernel", Task, list[int]], Any]
SYSCALLS: dict[str, Syscall] = {}


F = TypeVar("F", bound=Syscall)


def syscall(name: str) -> Callable[[F], F]:
    def register(fn: F) -> F:
        SYSCALLS[name] = fn
        return fn

    return register


class Efault(Exception):
    pass


def copy_from_user(k: Kernel, addr: int, size: int) -> bytes:
    """Read user memory as user mode would; a bad pointer raises Efault."""
    if 0 < size <= PAGE_SIZE - (addr & (PAGE_SIZE - 1)):  # one page, mapped: the common case
        try:
            return k.phys_read(k.cpu.user_paddr(addr, AccessType.READ), size)
        except TranslationFault:
            pass  # not mapped yet, or a bad pointer: below
    out = bytearray()
    pm = processes(k)
    while size > 0:
        n = min(size, PAGE_SIZE - (addr & (PAGE_SIZE - 1)))
        try:
            pa = k.cpu.user_paddr(addr, AccessType.READ)
        except TranslationFault:
            task = pm.current
            if task is None or pm.handle_user_fault(addr, False, False):
                raise Efault from None
            pa = k.cpu.user_paddr(addr, AccessType.READ)
        out += k.phys_read(pa, n)
        addr += n
        size -= n
    return bytes(out)


def copy_to_user(k: Kernel, addr: int, data: bytes) -> None:
    pm = processes(k)
    view = memoryview(data)
    while view:
        n = min(len(view), PAGE_SIZE - (addr & (PAGE_SIZE - 1)))
        try:
            pa = k.cpu.user_paddr(addr, AccessType.WRITE)
        except TranslationFault:
            if pm.current is None or pm.handle_user_fault(addr, True, False):
                raise Efault from None
            pa = k.cpu.user_paddr(addr, AccessType.WRITE)
        k.phys_write(pa, bytes(view[:n]))
        addr += n
        view = view[n:]


def strncpy_from_user(k: Kernel, addr: int, limit: int = 4096) -> bytes:
    out = bytearray()
    while len(out) < limit:
        chunk = copy_from_user(k, addr, min(64, PAGE_SIZE - (addr & (PAGE_SIZE - 1))))
        nul = chunk.find(b"\0")
        if nul >= 0:
            return bytes(out + chunk[:nul])
        out += chunk
        addr += len(chunk)
    return bytes(out)


# -- process lifetime -------------------------------------------------------------------------


@syscall("exit")
@syscall("exit_group")
def sys_exit_group(k: Kernel, task: Task, a: list[int]) -> int:
    processes(k).do_exit(task, a[0] & 0xFF)
    return 0


RESTART = object()  # a blocked call: the task re-executes it when it runs again


@syscall("fork")
@syscall("vfork")
def sys_fork(k: Kernel, task: Task, a: list[int]) -> int:
    """fork, and vfork as a fork (the parent does not wait for the child's exec/exit)."""
    return processes(k).fork(task, k.arch_entry.RETURN_REG).pid


@syscall("clone")
def sys_clone(k: Kernel, task: Task, a: list[int]) -> int:
    """clone in its fork-like uses (SIGCHLD, CLONE_VFORK|CLONE_VM as vfork); threads later."""
    flags = a[0]
    CLONE_VM, CLONE_VFORK, CLONE_THREAD = 0x100, 0x4000, 0x10000  # noqa: N806
    if flags & CLONE_THREAD or (flags & CLONE_VM and not flags & CLONE_VFORK):
        return -ENOSYS
    child = processes(k).fork(task, k.arch_entry.RETURN_REG)
    if a[1]:  # a new stack for the child (vfork-style helpers pass one)
        ctx = child.context
        ctx.reg_write(k.arch_entry.SP_REG, a[1])  # type: ignore[attr-defined]
    return child.pid


@syscall("execve")
def sys_execve(k: Kernel, task: Task, a: list[int]) -> int:
    """do_execve() of a static ELF from the VFS: argv/envp are copied in first, so a bad
    pointer or a missing file fails without touching the running program."""
    from emulator.kernel.fs.vfs import kernel_read_file_from_path
    from emulator.loader import LoadError, load_elf_bytes

    path = strncpy_from_user(k, a[0]).decode(errors="surrogateescape")

    def strings(ptr: int) -> list[str]:
        out: list[str] = []
        while ptr and len(out) < 4096:
            (p,) = struct.unpack("<I", copy_from_user(k, ptr + 4 * len(out), 4))
            if not p:
                break
            out.append(strncpy_from_user(k, p).decode(errors="surrogateescape"))
        return out

    argv, envp = strings(a[1]), strings(a[2])
    data = kernel_read_file_from_path(path, getattr(task, "cwd", None))
    if isinstance(data, int):
        return data
    if data[:4] != b"\x7fELF":
        return -8  # ENOEXEC
    try:
        image = load_elf_bytes(data, path, k.machine.board.arch)
    except LoadError:
        return -8
    if image.elf_type not in ("ET_EXEC", "ET_DYN") or image.interp:  # no ld.so to load
        return -8
    processes(k).exec(image, argv, envp, path, task=task)
    return 0


@syscall("waitpid")
@syscall("wait4")
def sys_wait4(k: Kernel, task: Task, a: list[int]) -> int | object:
    pid = a[0] - (1 << 32) if a[0] & 0x8000_0000 else a[0]
    pm = processes(k)
    found = pm.reap(task, pid)
    if isinstance(found, int):
        return found
    if found is None:
        if a[2] & 1:  # WNOHANG
            return 0
        pm.block(task)
        return RESTART
    if a[1]:
        status = found.term_signal if found.term_signal else ((found.exit_code or 0) & 0xFF) << 8
        copy_to_user(k, a[1], struct.pack("<i", status))
    return found.pid


@syscall("getpid")
@syscall("gettid")
def sys_getpid(k: Kernel, task: Task, a: list[int]) -> int:
    return task.pid


@syscall("getppid")
def sys_getppid(k: Kernel, task: Task, a: list[int]) -> int:
    return task.parent.pid if task.parent is not None else 0


@syscall("getuid32")
@syscall("geteuid32")
@syscall("getgid32")
@syscall("getegid32")
@syscall("getuid")
@syscall("geteuid")
@syscall("getgid")
@syscall("getegid")
def sys_getuid(k: Kernel, task: Task, a: list[int]) -> int:
    return 0


@syscall("getgroups32")
@syscall("getgroups")
def sys_getgroups(k: Kernel, task: Task, a: list[int]) -> int:
    """kernel/groups.c: root with no supplementary groups."""
    return 0 if a[0] < 0x8000_0000 else -EINVAL


@syscall("setgroups32")
@syscall("setgroups")
def sys_setgroups(k: Kernel, task: Task, a: list[int]) -> int:
    return 0 if a[0] <= 65536 else -EINVAL


@syscall("sched_getaffinity")
def sys_sched_getaffinity(k: Kernel, task: Task, a: list[int]) -> int:
    """kernel/sched/core.c: one CPU. Returns the bytes written (a 32-bit cpumask, as for
    NR_CPUS <= 32), -EINVAL when the buffer is smaller than that or not a multiple of a long."""
    pid, size, mask = a[0], a[1], a[2]
    if size < 4 or size & 3:
        return -EINVAL
    if pid not in (0, task.pid) and processes(k).tasks.get(pid) is None:
        return -ESRCH
    copy_to_user(k, mask, struct.pack("<I", 1))
    return 4


def _prio_targets(k: Kernel, task: Task, which: int, who: int) -> list[Task] | int:
    pm = processes(k)
    live = [t for t in pm.tasks.values() if t.state != "zombie"]
    if which == 0:  # PRIO_PROCESS
        t = task if who == 0 else pm.tasks.get(who)
        return [t] if t is not None and t.state != "zombie" else []
    if which == 1:  # PRIO_PGRP
        pgrp = getattr(task, "pgrp", task.pid) if who == 0 else who
        return [t for t in live if getattr(t, "pgrp", t.pid) == pgrp]
    if which == 2:  # PRIO_USER: everyone is root
        return live if who == 0 else []
    return -EINVAL


@syscall("getpriority")
def sys_getpriority(k: Kernel, task: Task, a: list[int]) -> int:
    """kernel/sys.c: the best (lowest) nice value of the targets, returned as 20 - nice so
    that it is never negative (the C library turns it back)."""
    targets = _prio_targets(k, task, a[0], a[1])
    if isinstance(targets, int):
        return targets
    if not targets:
        return -ESRCH
    return 20 - min(getattr(t, "nice", 0) for t in targets)


@syscall("setpriority")
def sys_setpriority(k: Kernel, task: Task, a: list[int]) -> int:
    """Nice values are kept (clamped to -20..19, as for root) but do not change scheduling:
    the scheduler is first come, first served."""
    targets = _prio_targets(k, task, a[0], a[1])
    if isinstance(targets, int):
        return targets
    if not targets:
        return -ESRCH
    nice = min(19, max(-20, a[2] - (1 << 32) if a[2] & 0x8000_0000 else a[2]))
    for t in targets:
        t.nice = nice  # type: ignore[attr-defined]
    return 0


@syscall("sched_setaffinity")
def sys_sched_setaffinity(k: Kernel, task: Task, a: list[int]) -> int:
    mask = copy_from_user(k, a[2], min(a[1], 4)) if a[1] else b""
    return 0 if int.from_bytes(mask, "little") & 1 else -EINVAL


@syscall("rseq")
def sys_rseq(k: Kernel, task: Task, a: list[int]) -> int:
    """Restartable sequences are not modelled: -ENOSYS, as a kernel without CONFIG_RSEQ
    answers (the C libraries expect it, so it is not reported)."""
    return -ENOSYS


@syscall("set_tid_address")
def sys_set_tid_address(k: Kernel, task: Task, a: list[int]) -> int:
    task.clear_child_tid = a[0]
    return task.pid


@syscall("set_robust_list")
def sys_accept(k: Kernel, task: Task, a: list[int]) -> int:
    """Calls whose effect the model does not need yet: succeed (documented)."""
    return 0


@syscall("sched_yield")
def sys_sched_yield(k: Kernel, task: Task, a: list[int]) -> int:
    """The caller goes to the back of the run queue behind every runnable task."""
    processes(k).yield_task(task)
    return 0


@syscall("uname")
def sys_uname(k: Kernel, task: Task, a: list[int]) -> int:
    fields = (
        "Linux",
        "soclab",
        "6.1.0-soclab",
        "#1 SMP PREEMPT soclab",
        k.arch_entry.UTS_MACHINE,
        "(none)",
    )
    data = b"".join(f.encode().ljust(65, b"\0") for f in fields)
    copy_to_user(k, a[0], data)
    return 0


# -- memory ------------------------------------------------------------------------------------


@syscall("brk")
def sys_brk(k: Kernel, task: Task, a: list[int]) -> int:
    """brk(): grow or shrink the heap VMA (mm/mmap.c); a refused move returns the old break."""
    from emulator.kernel.mm.mmap import do_munmap, vma_merge

    mm = task.mm
    new = a[0]
    if new < mm.start_brk:
        return mm.brk
    old_end, new_end = page_align(mm.brk), page_align(new)
    if new_end > old_end:
        if mm.overlaps(old_end, new_end) or new_end > k.layout.TASK_SIZE:
            return mm.brk
        heap = next((v for v in mm.vmas if v.name == "[heap]"), None)
        if heap is None or heap.end != old_end:
            heap = Vma(old_end, old_end, PROT_READ | PROT_WRITE, VM_MAY_ALL, "[heap]")
            mm.insert_vma(heap)
        heap.end = new_end
        vma_merge(mm, heap.start, heap.end)
    elif new_end < old_end:
        do_munmap(k, mm, new_end, old_end - new_end)
    mm.brk = new
    return mm.brk


@syscall("mmap2")
def sys_mmap2(k: Kernel, task: Task, a: list[int]) -> int:
    return _mmap(k, task, a[0], a[1], a[2], a[3], a[4], a[5] * PAGE_SIZE)


@syscall("mmap")
def sys_mmap(k: Kernel, task: Task, a: list[int]) -> int:
    if k.arch_entry.OLD_MMAP_STRUCT:  # i386 old_mmap: one pointer to six words
        try:
            args = struct.unpack("<6I", copy_from_user(k, a[0], 24))
        except Efault:
            return -EFAULT
        return _mmap(k, task, *args)
    return _mmap(k, task, a[0], a[1], a[2], a[3], a[4], a[5])


def _mmap(
    k: Kernel, task: Task, addr: int, length: int, prot: int, flags: int, fd: int, offset: int
) -> int:
    """ksys_mmap_pgoff(): the file (unless MAP_ANONYMOUS), then do_mmap (mm/mmap.py)."""
    from emulator.kernel.mm.mmap import do_mmap

    fd = fd - (1 << 32) if fd & 0x8000_0000 else fd
    file = None
    if not flags & MAP_ANONYMOUS:
        table = getattr(task, "files", None)
        file = table.fget(fd) if table is not None else None
        if file is None:
            return -EBADF
        if file.f_op.mmap is None:
            return -19  # ENODEV
    return do_mmap(k, task.mm, addr, length, prot, flags, file, offset)


@syscall("munmap")
def sys_munmap(k: Kernel, task: Task, a: list[int]) -> int:
    from emulator.kernel.mm.mmap import do_munmap

    return do_munmap(k, task.mm, a[0], a[1])


@syscall("mprotect")
def sys_mprotect(k: Kernel, task: Task, a: list[int]) -> int:
    from emulator.kernel.mm.mmap import do_mprotect

    return do_mprotect(k, task.mm, a[0], a[1], a[2])


@syscall("madvise")
def sys_madvise(k: Kernel, task: Task, a: list[int]) -> int:
    from emulator.kernel.mm.mmap import do_madvise

    return do_madvise(k, task.mm, a[0], a[1], a[2])


@syscall("mremap")
def sys_mremap(k: Kernel, task: Task, a: list[int]) -> int:
    from emulator.kernel.mm.mmap import do_mremap

    return do_mremap(k, task.mm, a[0], a[1], a[2], a[3], a[4])


# -- time ----------------------------------------------------------------------------------


@syscall("clock_gettime")
def sys_clock_gettime(k: Kernel, task: Task, a: list[int]) -> int:
    ns = k.machine.clock.now()
    try:
        copy_to_user(k, a[1], struct.pack("<II", ns // 1_000_000_000, ns % 1_000_000_000))
    except Efault:
        return -EFAULT
    return 0


@syscall("clock_gettime64")
def sys_clock_gettime64(k: Kernel, task: Task, a: list[int]) -> int:
    ns = k.machine.clock.now()
    try:
        copy_to_user(k, a[1], struct.pack("<qq", ns // 1_000_000_000, ns % 1_000_000_000))
    except Efault:
        return -EFAULT
    return 0


@syscall("gettimeofday")
def sys_gettimeofday(k: Kernel, task: Task, a: list[int]) -> int:
    ns = k.machine.clock.now()
    if a[0]:
        try:
            copy_to_user(k, a[0], struct.pack("<II", ns // 1_000_000_000, ns // 1000 % 1_000_000))
        except Efault:
            return -EFAULT
    return 0


def _sleep_ns(k: Kernel, task: Task, ns: int, rmtp: int = 0, ts_fmt: str = "<II") -> int | object:
    """hrtimer_nanosleep(): the task sleeps until its deadline on virtual time (other tasks
    run meanwhile; with none, virtual time jumps ahead). The deadline is kept across the
    call's restarts (kernel/wait.py). A signal ends the sleep with -EINTR and the time left
    in *rmtp; a handler never restarts it (-ERESTART_RESTARTBLOCK)."""
    from emulator.kernel.wait import finish_wait, schedule_timeout, task_deadline

    deadline = task_deadline(task, max(0, ns), k)
    assert deadline is not None
    left = deadline - k.machine.clock.now()
    if left <= 0:
        finish_wait(task, k)
        return 0
    if task.pending & ~task.blocked:
        finish_wait(task, k)
        if rmtp:
            copy_to_user(k, rmtp, struct.pack(ts_fmt, left // 1_000_000_000, left % 1_000_000_000))
        return -EINTR
    schedule_timeout(task, deadline, k)
    return RESTART


@syscall("nanosleep")
def sys_nanosleep(k: Kernel, task: Task, a: list[int]) -> int | object:
    sec, nsec = struct.unpack("<II", copy_from_user(k, a[0], 8))
    if nsec >= 1_000_000_000:
        return -EINVAL
    return _sleep_ns(k, task, sec * 1_000_000_000 + nsec, a[1], "<II")


@syscall("clock_nanosleep_time64")
def sys_clock_nanosleep_time64(k: Kernel, task: Task, a: list[int]) -> int | object:
    return _clock_nanosleep(k, task, a, "<qq")


@syscall("clock_nanosleep")
def sys_clock_nanosleep(k: Kernel, task: Task, a: list[int]) -> int | object:
    """The 32-bit form (old_timespec32), which glibc's sleep() uses."""
    return _clock_nanosleep(k, task, a, "<ii")


def _clock_nanosleep(k: Kernel, task: Task, a: list[int], fmt: str) -> int | object:
    if a[0] not in (0, 1, 7):  # CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME
        return -EINVAL
    sec, nsec = struct.unpack(fmt, copy_from_user(k, a[2], struct.calcsize(fmt)))
    if sec < 0 or not 0 <= nsec < 1_000_000_000:
        return -EINVAL
    ns = sec * 1_000_000_000 + nsec
    if a[1] & 1:  # TIMER_ABSTIME: no time left is reported
        return _sleep_ns(k, task, ns - k.machine.clock.now())
    return _sleep_ns(k, task, ns, a[3], fmt)


@syscall("time")
def sys_time(k: Kernel, task: Task, a: list[int]) -> int:
    seconds = k.machine.clock.now() // 1_000_000_000
    if a[0]:
        copy_to_user(k, a[0], struct.pack("<I", seconds))
    return seconds


@syscall("prlimit64")
def sys_prlimit64(k: Kernel, task: Task, a: list[int]) -> int:
    """Limits are not enforced; report what Linux's defaults are (RLIMIT_STACK 8 MiB,
    RLIMIT_CORE 0 — no core dumps, so WCOREDUMP stays clear —, RLIMIT_NOFILE 1024, the rest
    unlimited)."""
    if a[3]:
        resource = a[1]
        limit = {3: (8 << 20, (1 << 64) - 1), 4: (0, (1 << 64) - 1), 7: (1024, 4096)}.get(
            resource, ((1 << 64) - 1, (1 << 64) - 1)
        )
        copy_to_user(k, a[3], struct.pack("<QQ", *limit))
    return 0


@syscall("ugetrlimit")
def sys_ugetrlimit(k: Kernel, task: Task, a: list[int]) -> int:
    limit = {3: (8 << 20, 0xFFFF_FFFF), 4: (0, 0xFFFF_FFFF), 7: (1024, 4096)}.get(
        a[0], (0xFFFF_FFFF, 0xFFFF_FFFF)
    )
    copy_to_user(k, a[1], struct.pack("<II", *limit))
    return 0


@syscall("futex")
@syscall("futex_time64")
def sys_futex(k: Kernel, task: Task, a: list[int]) -> int:
    """One thread per process: WAKE wakes nobody; WAIT on a matching value would sleep
    forever, so it returns -ETIMEDOUT as if its timeout ran out (documented)."""
    op = a[1] & 0x7F
    if op in (1, 10):  # FUTEX_WAKE, FUTEX_WAKE_BITSET
        return 0
    if op in (0, 9):  # FUTEX_WAIT, FUTEX_WAIT_BITSET
        (value,) = struct.unpack("<I", copy_from_user(k, a[0], 4))
        return -11 if value != a[2] else -110  # EAGAIN, ETIMEDOUT
    return -ENOSYS


@syscall("getrandom")
def sys_getrandom(k: Kernel, task: Task, a: list[int]) -> int:
    n = min(a[1], 256)
    try:
        copy_to_user(k, a[0], bytes((i * 131 + 7) & 0xFF for i in range(n)))
    except Efault:
        return -EFAULT
    return n


def dispatch(k: Kernel, name: str | None, nr: int, args: list[int]) -> Any:
    task = processes(k).current
    assert task is not None
    fn = SYSCALLS.get(name or "")
    if fn is None:
        reported: set[int] = k.subsystems.setdefault("enosys_reported", set())
        if nr not in reported:
            reported.add(nr)
            k.printk(
                "<4>",
                f"{task.comm}[{task.pid}]: unknown system call {nr:#x}"
                f"{f' ({name})' if name else ''}: -ENOSYS",
            )
        return -ENOSYS
    try:
        return fn(k, task, args)
    except Efault:
        return -EFAULT
