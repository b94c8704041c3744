"""Processes and their address spaces: task_struct, mm_struct, VMAs, exec of static ELF
binaries (fs/binfmt_elf.c), and the user page-fault handler (mm/memory.c).

A process has its own first-level table (`KernelPageTables.new_pgd`) whose kernel half is
swapper's, so the kernel stays reachable only from kernel mode. User memory is a sorted list
of VMAs; pages are allocated on first touch (demand paging: anonymous memory, the stack, the
heap and the ELF's bss), file-backed ELF segments are copied in at exec. A fault outside every
VMA, or against a VMA's protection, is SIGSEGV; the process then ends with Linux's
`show_signal_msg` line and the status 128 + signal, as a shell would report it.

Signals (handlers, pending and blocked sets, sigaltstack) live in emulator/kernel/signal.py;
a task's fields for them, its process group and session are here, as are exit (SIGCHLD to
the parent, orphans re-parented to pid 1) and wait. Not modelled: swapping, threads.
"""

from __future__ import annotations

import bisect
import struct
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from emulator.kernel.core import PAGE_SIZE, current_kernel
from emulator.mmu import MemType

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel
    from emulator.kernel.mm.memory import VmOperationsStruct
    from emulator.kernel.signal import KSigaction
    from emulator.loader import Image

PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
# include/linux/mm.h vm_flags (VM_READ/WRITE/EXEC equal PROT_*, kept in Vma.prot)
VM_READ, VM_WRITE, VM_EXEC, VM_SHARED = 0x1, 0x2, 0x4, 0x8
VM_MAYREAD, VM_MAYWRITE, VM_MAYEXEC, VM_MAYSHARE = 0x10, 0x20, 0x40, 0x80
VM_GROWSDOWN, VM_PFNMAP, VM_IO, VM_DONTEXPAND = 0x100, 0x400, 0x4000, 0x40000
VM_MAY_ALL = VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC
STACK_SIZE = 8 << 20  # RLIMIT_STACK default
SIGSEGV, SIGBUS = 11, 7
BUS_ADRERR = 2

# auxv tags (include/uapi/linux/auxvec.h)
AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY = (
    0,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
)
AT_UID, AT_EUID, AT_GID, AT_EGID, AT_PLATFORM, AT_HWCAP, AT_CLKTCK = 11, 12, 13, 14, 15, 16, 17
AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN = 23, 25, 26, 31


def page_align(x: int) -> int:
    return (x + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


@dataclass
class Vma:
    """struct vm_area_struct."""

    start: int
    end: int
    prot: int
    flags: int = 0
    name: str = ""  # "[heap]", "[stack]", a path, or "" for anonymous
    pgoff: int = 0  # file offset in pages (file mappings)
    pfnmap: int | None = None  # remap_pfn_range: the physical base this VMA maps
    memtype: MemType | None = None  # the mapping's memory type when not ordinary write-back
    vm_ops: VmOperationsStruct | None = None
    vm_file: object = None  # the mapped file (or a MAP_SHARED anonymous object)

    def __contains__(self, addr: int) -> bool:
        return self.start <= addr < self.end

    @property
    def vm_flags(self) -> int:
        return self.prot | self.flags

    def copy(self, start: int | None = None, end: int | None = None) -> Vma:
        """vm_area_dup(): the same mapping over [start, end) (its file offset adjusted)."""
        s = self.start if start is None else start
        e = self.end if end is None else end
        pfn = None if self.pfnmap is None else self.pfnmap + (s - self.start)
        v = Vma(s, e, self.prot, self.flags, self.name, self.pgoff + (s - self.start) // PAGE_SIZE)
        v.pfnmap, v.memtype, v.vm_ops, v.vm_file = pfn, self.memtype, self.vm_ops, self.vm_file
        return v


def _vma_start(vma: Vma) -> int:
    return vma.start


@dataclass
class MmStruct:
    pgd: int
    vmas: list[Vma] = field(default_factory=list)
    start_brk: int = 0
    brk: int = 0
    mmap_base: int = 0
    start_stack: int = 0
    pages: dict[int, int] = field(default_factory=dict)  # user VA page -> physical page
    code_tag: int = 0  # the exec'd image, for the block counter's cache (fork inherits it)

    def find_vma(self, addr: int) -> Vma | None:
        i = bisect.bisect_right(self.vmas, addr, key=_vma_start) - 1
        if i >= 0 and addr in self.vmas[i]:
            return self.vmas[i]
        return None

    def insert_vma(self, vma: Vma) -> None:
        bisect.insort(self.vmas, vma, key=lambda v: v.start)

    def overlaps(self, start: int, end: int) -> bool:
        return any(v.start < end and start < v.end for v in self.vmas)


@dataclass
class Task:
    """struct task_struct (one thread per process for now)."""

    pid: int
    comm: str
    mm: MmStruct
    exe: str = ""
    tls: int = 0
    clear_child_tid: int = 0
    exit_code: int | None = None
    minflt: int = 0
    majflt: int = 0
    parent: Task | None = None
    state: str = "running"  # running, runnable, waiting, zombie
    context: object = None  # the saved CPU context while not running
    term_signal: int = 0  # the signal that killed it (wait status), else 0
    # signals (emulator/kernel/signal.py): sighand, blocked, pending, sigaltstack
    sighand: dict[int, KSigaction] = field(default_factory=dict)
    blocked: int = 0
    pending: int = 0
    pending_info: dict[int, bytes] = field(default_factory=dict)  # siginfo per pending signal
    saved_sigmask: int | None = None  # rt_sigsuspend's mask to restore
    sigwait: int = 0  # rt_sigtimedwait's set: these wake the task even while blocked
    restart_kind: int = 512  # how a sleeping system call restarts (ERESTARTSYS)
    sas_ss_sp: int = 0
    sas_ss_size: int = 0
    # process group and session (kernel/sys.c); pid 1 leads both, as an init does
    pgrp: int = 1
    session: int = 1
    did_exec: bool = False  # setpgid on a child that has exec'd is -EACCES
    in_syscall: bool = False  # asleep in a system call that re-runs when it resumes
    sleep_until: int | None = None  # nanosleep's end on the virtual clock


class ProcessManager:
    """The processes and a deterministic scheduler: a task runs until it blocks (wait4) or
    exits, then the next runnable one in FIFO order runs. Switching saves and restores the
    CPU context and the address space (TTBR0 / CR3)."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.tasks: dict[int, Task] = {}
        self.current: Task | None = None
        self.next_pid = 1
        self.runqueue: list[Task] = []
        self.need_resched = False
        self._code_tags = 0
        kernel.cpu.fault_fixup = self.fault_in_fill

    # -- memory --------------------------------------------------------------------------

    def new_mm(self) -> MmStruct:
        return MmStruct(pgd=self.kernel.pgtable.new_pgd())

    def populate(self, mm: MmStruct, va: int) -> int:
        """Fault in the page for `va` of a VMA as a write would (the kernel filling user
        memory at exec): the physical page."""
        from emulator.kernel.mm.memory import VM_FAULT_ERROR, handle_mm_fault

        vma = mm.find_vma(va)
        assert vma is not None
        ret = handle_mm_fault(self.kernel, mm, vma, va, write=True)
        if ret & VM_FAULT_ERROR:
            raise MemoryError(f"populate {va:#x}: fault {ret:#x}")
        pa = mm.pages.get(va & ~(PAGE_SIZE - 1))
        return pa if pa is not None else vma.pfnmap + (va & ~(PAGE_SIZE - 1)) - vma.start  # type: ignore[operator]

    def unmap_range(self, mm: MmStruct, start: int, end: int) -> None:
        """Unmap [start, end): drop the PTEs and the references on their pages."""
        from emulator.kernel.mm.memory import zap_page_range

        zap_page_range(self.kernel, mm, start, end)

    def exit_mmap(self, mm: MmStruct) -> None:
        """exit_mmap(): every page and every VMA goes (vm_ops->close for each)."""
        self.unmap_range(mm, 0, self.kernel.layout.TASK_SIZE)
        for vma in mm.vmas:
            if vma.vm_ops is not None and vma.vm_ops.close is not None:
                vma.vm_ops.close(vma)
        mm.vmas = []

    def user_write(self, mm: MmStruct, va: int, data: bytes) -> None:
        """Copy into user memory as the kernel does at exec (pages populated on the way)."""
        view = memoryview(data)
        while view:
            n = min(len(view), PAGE_SIZE - (va & (PAGE_SIZE - 1)))
            pa = mm.pages.get(va & ~(PAGE_SIZE - 1))
            if pa is None:
                pa = self.populate(mm, va)
            else:
                vma = mm.find_vma(va)
                if vma is not None and vma.prot & PROT_WRITE:  # break copy-on-write
                    self.handle_mm_fault_write(mm, vma, va)
                    pa = mm.pages[va & ~(PAGE_SIZE - 1)]
            self.kernel.phys_write(pa + (va & (PAGE_SIZE - 1)), bytes(view[:n]))
            va += n
            view = view[n:]

    # -- exec ------------------------------------------------------------------------------

    def exec(
        self,
        image: Image,
        argv: list[str],
        envp: list[str],
        path: str,
        task: Task | None = None,
    ) -> Task:
        """Load a static ELF into a new address space; a new process (pid 1 at boot), or
        `task` replacing its program (execve: same pid, descriptors kept but close-on-exec)."""
        k = self.kernel
        from emulator.kernel.fs.namei import d_path, path_lookup

        found = path_lookup(path, cwd=getattr(task, "cwd", None), kernel=k)
        exe = None if isinstance(found, int) else found  # the file, even via /proc/self/exe
        vma_name = d_path(exe) if exe is not None else path
        if task is not None:
            self.exit_mmap(task.mm)
        mm = self.new_mm()
        top = 0
        bias = self._load_bias(image)
        for seg in image.segments:
            vaddr = seg.vaddr + bias
            start = vaddr & ~(PAGE_SIZE - 1)
            end = page_align(vaddr + seg.memsz)
            prot = (
                (PROT_READ if seg.flags & 4 else 0)
                | (PROT_WRITE if seg.flags & 2 else 0)
                | (PROT_EXEC if seg.flags & 1 else 0)
            )
            if end > k.layout.TASK_SIZE:
                raise ValueError(f"{path}: segment at {seg.vaddr:#x} is in kernel space")
            mm.insert_vma(Vma(start, end, prot, VM_MAY_ALL, vma_name))
            self.user_write(mm, vaddr, seg.data)
            top = max(top, end)
        mm.start_brk = mm.brk = top
        mm.insert_vma(Vma(top, top, PROT_READ | PROT_WRITE, VM_MAY_ALL, "[heap]"))
        stack_top = k.layout.TASK_SIZE
        mm.insert_vma(
            Vma(
                stack_top - STACK_SIZE,
                stack_top,
                PROT_READ | PROT_WRITE,
                VM_GROWSDOWN | VM_MAY_ALL,
                "[stack]",
            )
        )
        mm.mmap_base = (k.layout.TASK_SIZE // 3) & ~0xFFFFFF  # TASK_UNMAPPED_BASE
        comm = path.rsplit("/", 1)[-1][:15]
        if task is None:
            task = Task(self.next_pid, comm, mm, exe=path)
            self.next_pid += 1
        else:
            task.mm, task.comm, task.exe = mm, comm, path
            task.did_exec = True
            from emulator.kernel.signal import flush_signal_handlers

            flush_signal_handlers(task)
            files = getattr(task, "files", None)
            if files is not None:
                files.do_close_on_exec()
        from emulator.kernel.fs.proc_fs import proc_set_self_resolver

        proc_set_self_resolver(lambda: str(self.current.pid) if self.current else None)
        from emulator.kernel.fs.proc_pid import proc_pid_create

        task.cmdline = b"".join(a.encode() + b"\0" for a in argv)  # type: ignore[attr-defined]
        task.exe_dentry = exe  # type: ignore[attr-defined]
        proc_pid_create(k, task)
        self.tasks[task.pid] = task
        self.current = task
        self._code_tags += 1
        mm.code_tag = self._code_tags
        self._switch_mm(mm)
        sp = self._setup_stack(task, image, argv, envp, path, stack_top, bias)
        mm.start_stack = sp
        k.arch_entry.start_thread(k, image.entry + bias, sp)
        return task

    def _load_bias(self, image: Image) -> int:
        """Where an ET_DYN (static-PIE) program goes: its first segment at ELF_ET_DYN_BASE
        (load_elf_binary's load_bias); an ET_EXEC loads where it says."""
        if image.elf_type != "ET_DYN":
            return 0
        first = min(seg.vaddr for seg in image.segments) & ~(PAGE_SIZE - 1)
        return int(self.kernel.arch_entry.ELF_ET_DYN_BASE) - first

    def _setup_stack(
        self,
        task: Task,
        image: Image,
        argv: list[str],
        envp: list[str],
        path: str,
        top: int,
        bias: int = 0,
    ) -> int:
        """create_elf_tables(): strings, AT_RANDOM bytes, then argc/argv/envp/auxv."""
        k = self.kernel
        mm = task.mm
        sp = top

        def push(data: bytes) -> int:
            nonlocal sp
            sp -= len(data)
            self.user_write(mm, sp, data)
            return sp

        execfn = push(path.encode() + b"\0")
        strings = [push(s.encode() + b"\0") for s in reversed(argv + envp)][::-1]
        platform = push(k.arch_entry.PLATFORM.encode() + b"\0")
        sp &= ~15
        random = push(bytes((i * 37 + 11) & 0xFF for i in range(16)))  # deterministic
        phdr = image.phdr_vaddr + bias
        auxv = [
            (AT_HWCAP, k.arch_entry.HWCAP),
            (AT_PAGESZ, PAGE_SIZE),
            (AT_CLKTCK, 100),
            (AT_PHDR, phdr),
            (AT_PHENT, image.phentsize),
            (AT_PHNUM, image.phnum),
            (AT_BASE, 0),
            (AT_FLAGS, 0),
            (AT_ENTRY, image.entry + bias),
            (AT_UID, 0),
            (AT_EUID, 0),
            (AT_GID, 0),
            (AT_EGID, 0),
            (AT_SECURE, 0),
            (AT_RANDOM, random),
            (AT_HWCAP2, k.arch_entry.HWCAP2),
            (AT_EXECFN, execfn),
            (AT_PLATFORM, platform),
            (AT_NULL, 0),
        ]
        words = [len(argv), *strings[: len(argv)], 0, *strings[len(argv) :], 0]
        for key, value in auxv:
            words += [key, value]
        sp -= 4 * len(words)
        sp &= ~15
        self.user_write(mm, sp, struct.pack(f"<{len(words)}I", *words))
        return sp

    # -- fork, exit, scheduling ------------------------------------------------------------

    def fork(self, parent: Task, child_return_reg: int) -> Task:
        """copy_process(): the address space copied as dup_mmap does (the VMAs, vm_ops->open
        for each, and the pages shared copy-on-write), the descriptors shared as fork does,
        and the CPU context with the system call's return register set to 0 in the child."""
        from emulator.kernel.mm.memory import copy_page_range

        k = self.kernel
        mm = self.new_mm()
        pm = parent.mm
        mm.vmas = [v.copy() for v in pm.vmas]
        mm.code_tag = pm.code_tag
        for v in mm.vmas:
            if v.vm_ops is not None and v.vm_ops.open is not None:
                v.vm_ops.open(v)
        mm.start_brk, mm.brk, mm.mmap_base, mm.start_stack = (
            pm.start_brk,
            pm.brk,
            pm.mmap_base,
            pm.start_stack,
        )
        copy_page_range(k, mm, pm)
        child = Task(
            self.next_pid, parent.comm, mm, exe=parent.exe, parent=parent, state="runnable"
        )
        self.next_pid += 1
        files = getattr(parent, "files", None)
        if files is not None:
            child.files = files.dup_fd()  # type: ignore[attr-defined]
        from emulator.kernel.fs.open import copy_fs_struct

        copy_fs_struct(parent, child)
        child.cmdline = getattr(parent, "cmdline", b"")  # type: ignore[attr-defined]
        from emulator.kernel.signal import copy_sighand

        copy_sighand(parent, child)
        ctx = k.cpu.uc.context_save()
        ctx.reg_write(child_return_reg, 0)
        child.context = ctx
        self.tasks[child.pid] = child
        self.runqueue.append(child)
        from emulator.kernel.fs.proc_pid import proc_pid_create

        proc_pid_create(k, child)
        return child

    def do_exit(self, task: Task, code: int, signal: int = 0) -> None:
        """The task becomes a zombie for its parent to reap; init's exit ends the machine."""
        task.exit_code = code
        task.term_signal = signal
        task.state = "zombie"
        self.exit_mmap(task.mm)
        files = getattr(task, "files", None)
        if files is not None:
            from emulator.kernel.fs.syscalls import close_files_on_exit

            close_files_on_exit(self.kernel, files)
        if task.pid == 1:
            self.kernel.machine.exit_status = code if not signal else 128 + signal
            return
        from emulator.kernel.signal import autoreap, do_notify_parent

        self.runqueue = [t for t in self.runqueue if t is not task]
        self.forget_original_parent(task)
        parent = task.parent
        if parent is not None and parent.state == "waiting":
            parent.state = "runnable"
            self.runqueue.append(parent)
        do_notify_parent(self.kernel, task)
        if autoreap(task):
            self.release_task(task)
        self.need_resched = True

    def forget_original_parent(self, task: Task) -> None:
        """kernel/exit.c: the children of an exiting task are re-parented to init (pid 1),
        which is told of those already dead."""
        from emulator.kernel.signal import autoreap, do_notify_parent

        init = self.tasks.get(1)
        for child in [t for t in self.tasks.values() if t.parent is task]:
            child.parent = init
            if child.state == "zombie" and init is not None:
                if init.state == "waiting":
                    init.state = "runnable"
                    self.runqueue.append(init)
                do_notify_parent(self.kernel, child)
                if autoreap(child):
                    self.release_task(child)

    def block(self, task: Task) -> None:
        """An interruptible sleep: not entered while a signal is pending (the system call
        then ends -EINTR or restarts, see signal.py)."""
        if task.pending & (~task.blocked | task.sigwait):
            return
        task.state = "waiting"
        task.in_syscall = True
        self.need_resched = True

    def yield_task(self, task: Task) -> None:
        """sched_yield(): let the runnable tasks run first."""
        if self.runqueue:
            task.state = "runnable"
            self.runqueue.append(task)
            self.need_resched = True

    def schedule(self) -> None:
        """Switch to the next runnable task, if the current one cannot go on."""
        self.need_resched = False
        cur = self.current
        if cur is not None and cur.state == "running":
            return
        if not self.runqueue and cur is not None and cur.state in ("waiting", "zombie"):
            from emulator.kernel.wait import idle_until_wakeup

            while not self.runqueue and idle_until_wakeup(self.kernel):
                pass
        if not self.runqueue:
            if cur is not None and cur.state == "waiting":
                from emulator.kernel.core import KERN_ERR

                self.kernel.printk(
                    KERN_ERR, f"{cur.comm}[{cur.pid}]: waits forever: no other task can run"
                )
                self.kernel.machine.exit_status = 124
            return
        nxt = self.runqueue.pop(0)
        uc = self.kernel.cpu.uc
        if cur is not None and cur.state != "zombie":
            cur.context = uc.context_save()
        slept, nxt.in_syscall = nxt.in_syscall, False
        nxt.state = "running"
        self.current = nxt
        uc.context_restore(nxt.context)  # (the saved state includes a TTBR0 / CR3 ...)
        nxt.context = None
        self._switch_mm(nxt.mm)  # (... so the address space comes after)
        if not slept and nxt.pending & ~nxt.blocked:
            # back to user space outside a system call (a new child): signals first; one
            # that slept re-runs its call, whose exit delivers them
            from emulator.kernel.signal import do_signal

            do_signal(self.kernel, nxt)
            if nxt.state != "running":
                self.schedule()

    def _switch_mm(self, mm: MmStruct) -> None:
        """switch_mm(), and the block counter's cache tag of the image that runs next."""
        self.kernel.pgtable.switch_mm(mm.pgd)
        self.kernel.cpu.counter.tag = mm.code_tag

    def reap(self, parent: Task, pid: int) -> Task | None | int:
        """A zombie child matching `pid` (-1: any, 0: in the caller's group, < -1: in the
        group -pid); None if children live on; -ECHILD."""
        children = [t for t in self.tasks.values() if t.parent is parent]
        if pid > 0:
            children = [t for t in children if t.pid == pid]
        elif pid != -1:  # 0: the caller's process group; < -1: the group -pid
            pgrp = parent.pgrp if pid == 0 else -pid
            children = [t for t in children if t.pgrp == pgrp]
        if not children:
            return -10  # ECHILD
        for t in children:
            if t.state == "zombie":
                self.release_task(t)
                return t
        return None

    def release_task(self, t: Task) -> None:
        """A zombie is gone: its pid and /proc/<pid> with it."""
        del self.tasks[t.pid]
        from emulator.kernel.fs.proc_fs import remove_proc_subtree

        remove_proc_subtree(str(t.pid), kernel=self.kernel)

    # -- faults ----------------------------------------------------------------------------

    def handle_user_fault(self, addr: int, write: bool, fetch: bool) -> int:
        """do_page_fault() for user mode: 0 if fixed (the access is retried), else the signal:
        SIGSEGV for an address in no VMA or one its protection forbids, SIGBUS when the
        mapping has no page there (a file mapping beyond the end of its file)."""
        from emulator.kernel.mm.memory import (
            VM_FAULT_MAJOR,
            VM_FAULT_OOM,
            VM_FAULT_SIGBUS,
            VM_FAULT_SIGSEGV,
            handle_mm_fault,
        )

        task = self.current
        if task is None:
            return SIGSEGV
        vma = self._access_ok_vma(task.mm, addr, write, fetch)
        if vma is None:
            return SIGSEGV
        ret = handle_mm_fault(self.kernel, task.mm, vma, addr, write)
        if ret & VM_FAULT_SIGBUS:
            return SIGBUS
        if ret & (VM_FAULT_SIGSEGV | VM_FAULT_OOM):
            return SIGSEGV
        if ret & VM_FAULT_MAJOR:
            task.majflt += 1
        else:
            task.minflt += 1
        return 0

    def handle_mm_fault_write(self, mm: MmStruct, vma: Vma, va: int) -> None:
        from emulator.kernel.mm.memory import handle_mm_fault

        handle_mm_fault(self.kernel, mm, vma, va, write=True)

    @staticmethod
    def _access_ok_vma(mm: MmStruct, addr: int, write: bool, fetch: bool) -> Vma | None:
        vma = mm.find_vma(addr)
        if vma is None:
            return None
        need = PROT_WRITE if write else PROT_EXEC if fetch else PROT_READ
        return vma if vma.prot & need else None

    def fault_in_fill(self, addr: int, write: bool, fetch: bool) -> bool:
        """The TLB-fill hook's first try at a user fault: demand-zero and copy-on-write
        pages are fixed at once (True: the fill walks again and completes)."""
        from emulator.kernel.mm.memory import handle_mm_fault

        task = self.current
        if task is None:
            return False
        vma = self._access_ok_vma(task.mm, addr, write, fetch)
        if vma is None or handle_mm_fault(self.kernel, task.mm, vma, addr, write, atomic=True):
            return False
        task.minflt += 1
        return True


def processes(kernel: Kernel | None = None) -> ProcessManager:
    k = kernel or current_kernel()
    pm = k.subsystems.get("process")
    if pm is None:
        pm = k.subsystems["process"] = ProcessManager(k)
    return pm


_SIGNAL_WORDS = {
    11: "segfault",
    4: "illegal instruction",
    5: "trap",
    7: "bus error",
    8: "divide error",
}


def fatal_signal(k: Kernel, signal: int, addr: int, ip: int, sp: int, error: int) -> None:
    """An unhandled fatal signal (no handlers yet): the kernel's show_signal_msg line on the
    log and stderr, and the process ends with status 128 + signal, as a shell reports it."""
    task = processes(k).current
    name = f"{task.comm}[{task.pid}]" if task else "?"
    what = _SIGNAL_WORDS.get(signal, f"signal {signal}")
    line = f"{name}: {what} at {addr:x} ip {ip:08x} sp {sp:08x} error {error:x}"
    k.printk("<6>", line)
    print(line, file=sys.stderr)
    if task is not None:
        processes(k).do_exit(task, 128 + signal, signal)
    else:
        k.machine.exit_status = 128 + signal


def deliver_fault_signal(k: Kernel, signal: int, addr: int, code: int | None = None) -> bool:
    """force_sig_fault(): run the task's handler for a fault's signal, if it has one (for
    SIGSEGV with si_code SEGV_MAPERR for an address in no VMA, SEGV_ACCERR for one the VMA
    forbids, unless `code` says otherwise)."""
    from emulator.kernel.signal import SEGV_ACCERR, SEGV_MAPERR, force_sig_fault

    task = processes(k).current
    if task is None:
        return False
    if code is None:
        if signal == SIGBUS:
            code = BUS_ADRERR
        else:
            code = SEGV_ACCERR if task.mm.find_vma(addr) is not None else SEGV_MAPERR
    return force_sig_fault(k, task, signal, code, addr)
