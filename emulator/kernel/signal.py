"""Signals (kernel/signal.c, kernel/entry/common.c): sigaction, the blocked mask, pending
signals per task, sending (kill, tkill, tgkill, the kernel's own SIGCHLD/SIGPIPE), and delivery
on return to user space: a handler through the architecture's real frame (rt_sigframe for
SA_SIGINFO, the old sigframe and sigreturn otherwise; SA_RESTART, SA_NODEFER, SA_RESETHAND,
SA_ONSTACK with sigaltstack), or the default action. Fault signals (force_sig_fault) run their
handler at once, or kill if it is missing, blocked or ignored.

Design. A task has a pending bit set and a siginfo per pending signal (standard signals
coalesce; real-time signals are not queued more than once either — a deviation). Sending sets
the bit and wakes a task asleep in a system call. Sleeping here is "re-run the system call
when woken" (syscalls.RESTART), so an interruptible sleep is: `ProcessManager.block()` refuses
to sleep when a signal is pending, the call comes back as RESTART, and the system-call exit
(`exit_to_user_mode`) decides, as Linux's handle_signal/restart logic does, whether the call
returns -EINTR (a handler runs, no SA_RESTART; always for pause/sigsuspend), or is restarted
(SA_RESTART, or no handler ran). nanosleep reports -EINTR itself, with the time left. A task
resumed by the scheduler outside a system call (a new child, one that yielded) gets its
signals when it resumes. Not modelled: rt_sigqueueinfo, signalfd, itimers/alarm.

Default actions follow Linux's sig_kernel_* sets: SIGCHLD, SIGWINCH, SIGURG and SIGCONT are
ignored (and never queued while ignored); the others terminate with wait status = signal and
the process's exit status 128 + signal as a shell reports it. No core is dumped (RLIMIT_CORE's
default is 0, so WCOREDUMP stays clear). Deviations: job-control stop (SIGSTOP, SIGTSTP,
SIGTTIN, SIGTTOU) is not modelled — their default action does nothing, as if SIGCONT followed
at once; pid 1 is the user's program, not an init, so it can be killed by a signal.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from emulator.kernel.errno import EAGAIN, EINTR, EINVAL, ENOMEM, EPERM, ESRCH
from emulator.kernel.process import processes
from emulator.kernel.syscalls import RESTART, Efault, copy_from_user, copy_to_user, syscall

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel
    from emulator.kernel.process import Task

SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE = 1, 2, 3, 4, 5, 6, 7, 8
SIGKILL, SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM = 9, 10, 11, 12, 13, 14, 15
SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG = 17, 18, 19, 20, 21, 22, 23
SIGWINCH, SIGSYS = 28, 31
_NSIG = 64

SIG_DFL, SIG_IGN = 0, 1
SA_SIGINFO, SA_RESTORER, SA_ONSTACK, SA_RESTART, SA_NODEFER, SA_RESETHAND = (
    0x4,
    0x0400_0000,
    0x0800_0000,
    0x1000_0000,
    0x4000_0000,
    0x8000_0000,
)
SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
SS_ONSTACK, SS_DISABLE = 1, 2
MINSIGSTKSZ = 2048

# si_code values (include/uapi/asm-generic/siginfo.h)
SI_USER, SI_KERNEL, SI_TKILL = 0, 0x80, -6
SEGV_MAPERR, SEGV_ACCERR = 1, 2
ILL_ILLOPC, ILL_ILLOPN = 1, 2
FPE_INTDIV = 1
TRAP_BRKPT = 1
BUS_ADRERR = 2
CLD_EXITED, CLD_KILLED = 1, 2
SIGINFO_SIZE = 128

# The restart kinds a sleeping system call leaves behind (include/linux/errno.h).
ERESTARTSYS, ERESTARTNOHAND = 512, 514


def sigmask(sig: int) -> int:
    return 1 << (sig - 1)


SIG_KERNEL_ONLY_MASK = sigmask(SIGKILL) | sigmask(SIGSTOP)
SIG_KERNEL_IGNORE_MASK = sigmask(SIGCONT) | sigmask(SIGCHLD) | sigmask(SIGWINCH) | sigmask(SIGURG)
SIG_KERNEL_STOP_MASK = sigmask(SIGSTOP) | sigmask(SIGTSTP) | sigmask(SIGTTIN) | sigmask(SIGTTOU)
SYNCHRONOUS_MASK = (
    sigmask(SIGSEGV) | sigmask(SIGBUS) | sigmask(SIGILL) | sigmask(SIGTRAP) | sigmask(SIGFPE)
) | sigmask(SIGSYS)
_ALL = (1 << _NSIG) - 1


@dataclass
class KSigaction:
    """struct k_sigaction as the kernel keeps it (the user layout is 20 bytes)."""

    handler: int = SIG_DFL
    flags: int = 0
    restorer: int = 0
    mask: int = 0


def siginfo(sig: int, code: int, addr: int) -> bytes:
    """siginfo_t for a fault: si_signo, si_errno, si_code, then si_addr."""
    return struct.pack("<iiiI", sig, 0, code, addr).ljust(SIGINFO_SIZE, b"\0")


def siginfo_kill(sig: int, code: int, pid: int, uid: int = 0, status: int | None = None) -> bytes:
    """siginfo_t from kill() (si_pid, si_uid) or SIGCHLD (… si_status, si_utime, si_stime)."""
    info = struct.pack("<iiiiI", sig, 0, code, pid, uid)
    if status is not None:
        info += struct.pack("<iii", status, 0, 0)
    return info.ljust(SIGINFO_SIZE, b"\0")


# -- sending ------------------------------------------------------------------------------------


def sig_ignored(task: Task, sig: int) -> bool:
    """kernel/signal.c sig_ignored(): blocked signals are never ignored (the handler may
    change before they are unblocked)."""
    if task.blocked & sigmask(sig):
        return False
    act = task.sighand.get(sig)
    handler = act.handler if act is not None else SIG_DFL
    if handler == SIG_DFL:
        return bool(SIG_KERNEL_IGNORE_MASK & sigmask(sig))
    return handler == SIG_IGN


def send_signal(k: Kernel, sig: int, task: Task, info: bytes) -> None:
    """__send_signal() + complete_signal(): queue `sig` on `task` and wake it if it sleeps."""
    if task.state == "zombie" or sig_ignored(task, sig):
        return
    bit = sigmask(sig)
    if not task.pending & bit:  # a standard signal already pending is not queued twice
        task.pending |= bit
        task.pending_info[sig] = info
    if bit & (~task.blocked | task.sigwait) or sig == SIGKILL:
        signal_wake_up(k, task)


def signal_wake_up(k: Kernel, task: Task) -> None:
    """A sleeping task wakes (off every wait queue) to re-run its call, which then sees the
    signal: it ends -EINTR or restarts (exit_to_user_mode)."""
    from emulator.kernel.wait import wake_up_process

    wake_up_process(task, k)


def kill_pid_info(k: Kernel, sig: int, task: Task, sender: Task, code: int = SI_USER) -> None:
    if sig:
        send_signal(k, sig, task, siginfo_kill(sig, code, sender.pid))


def do_notify_parent(k: Kernel, task: Task) -> None:
    """A child died: SIGCHLD to its parent (si_code CLD_EXITED or CLD_KILLED, si_status)."""
    parent = task.parent
    if parent is None or parent.state == "zombie":
        return
    if task.term_signal:
        code, status = CLD_KILLED, task.term_signal
    else:
        code, status = CLD_EXITED, (task.exit_code or 0) & 0xFF
    send_signal(k, SIGCHLD, parent, siginfo_kill(SIGCHLD, code, task.pid, 0, status))


def autoreap(task: Task) -> bool:
    """A parent whose SIGCHLD is explicitly SIG_IGN does not keep zombies (POSIX.1-2001)."""
    parent = task.parent
    if parent is None:
        return False
    act = parent.sighand.get(SIGCHLD)
    return act is not None and act.handler == SIG_IGN


def send_sig_current(sig: int) -> None:
    """send_sig(sig, current, 0): a signal the kernel raises for the running task (SIGPIPE)."""
    from emulator.kernel.core import current_kernel

    k = current_kernel()
    task = processes(k).current
    if task is not None:
        send_signal(k, sig, task, siginfo_kill(sig, SI_KERNEL, 0))


# -- delivery -----------------------------------------------------------------------------------


def dequeue_signal(task: Task, mask: int) -> tuple[int, bytes] | None:
    """The next pending signal in `mask`: synchronous (fault) signals first, then lowest."""
    ready = task.pending & mask
    if not ready:
        return None
    sync = ready & SYNCHRONOUS_MASK
    bits = sync or ready
    sig = (bits & -bits).bit_length()
    task.pending &= ~sigmask(sig)
    return sig, task.pending_info.pop(sig, siginfo_kill(sig, SI_KERNEL, 0))


def exit_to_user_mode(k: Kernel, restarting: bool = False) -> None:
    """The system-call exit: deliver pending signals to the current task (arch_do_signal_or_
    restart). `restarting`: the call slept or would have (syscalls.RESTART; the PC is back on
    the trapping instruction)."""
    task = k.subsystems["process"].current
    if task is None or not task.pending & ~task.blocked or task.state != "running":
        return  # (the fast path: one test per system call)
    kind, task.restart_kind = task.restart_kind, ERESTARTSYS
    do_signal(k, task, kind if restarting else None)


def do_signal(k: Kernel, task: Task, restart: int | None = None) -> None:
    """get_signal() + handle_signal() for every deliverable signal; `restart` is the restart
    kind of a system call that was interrupted, else None."""
    pm = processes(k)
    delivered = False
    while task.state == "running":
        got = dequeue_signal(task, ~task.blocked & _ALL)
        if got is None:
            break
        sig, info = got
        act = task.sighand.get(sig) or KSigaction()
        if act.handler == SIG_IGN:
            continue
        if act.handler == SIG_DFL:
            if sigmask(sig) & (SIG_KERNEL_IGNORE_MASK | SIG_KERNEL_STOP_MASK):
                continue
            pm.do_exit(task, 128 + sig, sig)  # do_group_exit(sig)
            return
        if restart is not None:
            if restart == ERESTARTSYS and act.flags & SA_RESTART:
                pass  # the PC is on the system call: it runs again after the handler
            else:
                from emulator.kernel.wait import finish_wait

                finish_wait(task, k)  # the interrupted call is over: its deadline goes
                k.cpu.uc.reg_write(k.arch_entry.RETURN_REG, -EINTR & 0xFFFF_FFFF)
                k.cpu.pc = k.cpu.pc + k.arch_entry.syscall_insn_size(k)
            restart = None
        if not handle_signal(k, task, sig, info, act):
            pm.do_exit(task, 128 + SIGSEGV, SIGSEGV)  # force_sigsegv(): no room for a frame
            return
        delivered = True
    if not delivered and task.saved_sigmask is not None and task.state == "running":
        if restart is None:
            task.blocked, task.saved_sigmask = task.saved_sigmask, None


def handle_signal(k: Kernel, task: Task, sig: int, info: bytes, act: KSigaction) -> bool:
    """Build the frame (saving the mask to restore, sigsuspend's if set), then block
    sa_mask and the signal itself unless SA_NODEFER; SA_RESETHAND resets the action.
    False if the frame could not be written (the stack is bad: the caller kills)."""
    saved = task.saved_sigmask if task.saved_sigmask is not None else task.blocked
    try:
        k.arch_entry.setup_rt_frame(k, task, act, sig, info, saved)
    except Efault:
        return False
    task.saved_sigmask = None
    blocked = saved | act.mask
    if not act.flags & SA_NODEFER:
        blocked |= sigmask(sig)
    task.blocked = blocked & ~SIG_KERNEL_ONLY_MASK & _ALL
    if act.flags & SA_RESETHAND:
        task.sighand[sig] = KSigaction()
    return True


def force_sig_fault(k: Kernel, task: Task, sig: int, code: int, addr: int) -> bool:
    """force_sig_fault(): run the task's handler for a fault's signal now; False when the
    signal is fatal (no handler, or blocked or ignored: Linux then resets it to SIG_DFL)."""
    act = task.sighand.get(sig)
    if act is None or act.handler in (SIG_DFL, SIG_IGN) or task.blocked & sigmask(sig):
        task.sighand[sig] = KSigaction()
        return False
    return handle_signal(k, task, sig, siginfo(sig, code, addr), act)


# -- the alternate signal stack (sigaltstack) ------------------------------------------------


def on_sig_stack(task: Task, sp: int) -> bool:
    return task.sas_ss_size != 0 and 0 <= (sp - 1 - task.sas_ss_sp) & 0xFFFF_FFFF < task.sas_ss_size


def sas_ss_flags(task: Task, sp: int) -> int:
    if not task.sas_ss_size:
        return SS_DISABLE
    return SS_ONSTACK if on_sig_stack(task, sp) else 0


def sigsp(task: Task, act: KSigaction, sp: int) -> int:
    """Where the frame goes: the top of the alternate stack for an SA_ONSTACK handler that is
    not already on it, else below the interrupted stack pointer."""
    if act.flags & SA_ONSTACK and task.sas_ss_size and not on_sig_stack(task, sp):
        return task.sas_ss_sp + task.sas_ss_size
    return sp


def save_altstack(task: Task, sp: int) -> bytes:
    """__save_altstack(): the stack_t a frame's uc_stack holds."""
    return struct.pack("<IiI", task.sas_ss_sp, sas_ss_flags(task, sp), task.sas_ss_size)


def do_sigaltstack(task: Task, ss: bytes, sp: int) -> int:
    """Install the stack_t `ss` for a task whose stack pointer is `sp` (0 or -errno)."""
    ss_sp, flags, size = struct.unpack("<IiI", ss)
    if on_sig_stack(task, sp):
        return -EPERM
    if flags not in (0, SS_ONSTACK, SS_DISABLE):
        return -EINVAL
    if flags == SS_DISABLE:
        ss_sp = size = 0
    elif size < MINSIGSTKSZ:
        return -ENOMEM
    task.sas_ss_sp, task.sas_ss_size = ss_sp, size
    return 0


def restore_altstack(task: Task, ss: bytes, sp: int) -> None:
    """rt_sigreturn: the frame's uc_stack becomes the alternate stack again (errors other
    than -EFAULT are squashed, as in Linux)."""
    do_sigaltstack(task, ss, sp)


@syscall("sigaltstack")
def sys_sigaltstack(k: Kernel, task: Task, a: list[int]) -> int:
    """do_sigaltstack(): -EPERM while running on the stack, SS_DISABLE or a size of at least
    MINSIGSTKSZ (-ENOMEM), other flags -EINVAL."""
    sp = k.cpu.reg_fast(k.arch_entry.SP_REG)
    uss, uoss = a[0], a[1]
    old = save_altstack(task, sp)
    if uss:
        err = do_sigaltstack(task, copy_from_user(k, uss, 12), sp)
        if err:
            return err
    if uoss:
        copy_to_user(k, uoss, old)
    return 0


# -- system calls -------------------------------------------------------------------------------


@syscall("rt_sigaction")
def sys_rt_sigaction(k: Kernel, task: Task, a: list[int]) -> int:
    """do_sigaction(): the new action is read first (-EFAULT changes nothing), the old one
    written last; SIG_IGN, or a default that ignores, discards a pending signal."""
    sig, act, oact = a[0], a[1], a[2]
    if a[3] != 8 or not 1 <= sig <= _NSIG or (act and sigmask(sig) & SIG_KERNEL_ONLY_MASK):
        return -EINVAL
    old = task.sighand.get(sig, KSigaction())
    if act:
        handler, flags, restorer, mask = struct.unpack("<IIIQ", copy_from_user(k, act, 20))
        task.sighand[sig] = KSigaction(handler, flags, restorer, mask & ~SIG_KERNEL_ONLY_MASK)
        if handler == SIG_IGN or (handler == SIG_DFL and sigmask(sig) & SIG_KERNEL_IGNORE_MASK):
            task.pending &= ~sigmask(sig)
            task.pending_info.pop(sig, None)
    if oact:
        copy_to_user(k, oact, struct.pack("<IIIQ", old.handler, old.flags, old.restorer, old.mask))
    return 0


@syscall("rt_sigprocmask")
def sys_rt_sigprocmask(k: Kernel, task: Task, a: list[int]) -> int:
    how, nset, oset = a[0], a[1], a[2]
    if a[3] != 8:
        return -EINVAL
    old = task.blocked
    if nset:
        (new,) = struct.unpack("<Q", copy_from_user(k, nset, 8))
        if how == SIG_BLOCK:
            blocked = old | new
        elif how == SIG_UNBLOCK:
            blocked = old & ~new
        elif how == SIG_SETMASK:
            blocked = new
        else:
            return -EINVAL
        task.blocked = blocked & ~SIG_KERNEL_ONLY_MASK
    if oset:
        copy_to_user(k, oset, struct.pack("<Q", old))
    return 0


@syscall("rt_sigpending")
def sys_rt_sigpending(k: Kernel, task: Task, a: list[int]) -> int:
    if a[1] > 8:
        return -EINVAL
    copy_to_user(k, a[0], struct.pack("<Q", task.pending & task.blocked)[: a[1]])
    return 0


@syscall("rt_sigreturn")
def sys_rt_sigreturn(k: Kernel, task: Task, a: list[int]) -> int:
    """Restore the registers and mask a handler's frame saved (the arch reads the frame)."""
    return _sigreturn(k, task, k.arch_entry.rt_sigreturn)


@syscall("sigreturn")
def sys_sigreturn(k: Kernel, task: Task, a: list[int]) -> int:
    """The same for a handler without SA_SIGINFO (its frame has no siginfo)."""
    return _sigreturn(k, task, k.arch_entry.sigreturn)


def _sigreturn(k: Kernel, task: Task, restore: Callable[[Kernel, Task], int]) -> int:
    """A frame that cannot be read is `badframe`: force_sig(SIGSEGV)."""
    try:
        ret = int(restore(k, task))
    except Efault:
        processes(k).do_exit(task, 128 + SIGSEGV, SIGSEGV)
        return 0
    task.blocked &= ~SIG_KERNEL_ONLY_MASK
    return ret


@syscall("pause")
def sys_pause(k: Kernel, task: Task, a: list[int]) -> object:
    """Sleep until a signal: the handler runs and pause returns -EINTR."""
    task.restart_kind = ERESTARTNOHAND
    processes(k).block(task)
    return RESTART


@syscall("rt_sigsuspend")
def sys_rt_sigsuspend(k: Kernel, task: Task, a: list[int]) -> object:
    """Replace the mask until a signal arrives; the handler's frame saves the old mask, so
    the old mask is back when the handler returns."""
    if a[1] != 8:
        return -EINVAL
    (new,) = struct.unpack("<Q", copy_from_user(k, a[0], 8))
    if task.saved_sigmask is None:
        task.saved_sigmask = task.blocked
    task.blocked = new & ~SIG_KERNEL_ONLY_MASK
    task.restart_kind = ERESTARTNOHAND
    processes(k).block(task)
    return RESTART


def _sigtimedwait(k: Kernel, task: Task, a: list[int], ts_fmt: str) -> int | object:
    """rt_sigtimedwait: take one of the signals in the set; sleep for one unless the timeout
    is zero (-EAGAIN). A non-zero timeout with nothing else to run is the same -EAGAIN after
    virtual time moves on by it."""
    if a[3] != 8:
        return -EINVAL
    (these,) = struct.unpack("<Q", copy_from_user(k, a[0], 8))
    these &= ~SIG_KERNEL_ONLY_MASK
    got = dequeue_signal(task, these)
    if got is not None:
        task.sigwait = 0
        sig, info = got
        if a[1]:
            copy_to_user(k, a[1], info)
        return sig
    if a[2]:
        size = struct.calcsize(ts_fmt)
        sec, nsec = struct.unpack(ts_fmt, copy_from_user(k, a[2], size))
        pm = processes(k)
        if (sec == 0 and nsec == 0) or not pm.runqueue:
            clock = k.machine.clock
            clock.skip_to(clock.now() + sec * 1_000_000_000 + nsec)
            task.sigwait = 0
            return -EAGAIN
    task.sigwait = these
    processes(k).block(task)
    return RESTART


@syscall("rt_sigtimedwait")
def sys_rt_sigtimedwait(k: Kernel, task: Task, a: list[int]) -> int | object:
    return _sigtimedwait(k, task, a, "<ii")


@syscall("rt_sigtimedwait_time64")
def sys_rt_sigtimedwait_time64(k: Kernel, task: Task, a: list[int]) -> int | object:
    return _sigtimedwait(k, task, a, "<qq")


def _as_pid(v: int) -> int:
    return v - (1 << 32) if v & 0x8000_0000 else v


@syscall("kill")
def sys_kill(k: Kernel, task: Task, a: list[int]) -> int:
    """kill_something_info(): pid > 0 that process; 0 the caller's process group; -1 every
    process but init and the caller; < -1 the process group -pid."""
    pid, sig = _as_pid(a[0]), a[1]
    if not 0 <= sig <= _NSIG:
        return -EINVAL
    tasks = list(processes(k).tasks.values())
    if pid > 0:
        targets = [t for t in tasks if t.pid == pid]
    elif pid == -1:
        targets = [t for t in tasks if t.pid > 1 and t is not task]
    else:
        pgrp = task.pgrp if pid == 0 else -pid
        targets = [t for t in tasks if t.pgrp == pgrp]
    if not targets:
        return -ESRCH
    for t in targets:
        kill_pid_info(k, sig, t, task)
    return 0


@syscall("tkill")
def sys_tkill(k: Kernel, task: Task, a: list[int]) -> int:
    return sys_tgkill(k, task, [a[0], a[0], a[1]])


@syscall("tgkill")
def sys_tgkill(k: Kernel, task: Task, a: list[int]) -> int:
    """One thread per process: the thread id is the process id (si_code SI_TKILL)."""
    tgid, tid, sig = _as_pid(a[0]), _as_pid(a[1]), a[2]
    if tgid <= 0 or tid <= 0 or not 0 <= sig <= _NSIG:
        return -EINVAL
    target = processes(k).tasks.get(tid)
    if target is None or target.pid != tgid:
        return -ESRCH
    kill_pid_info(k, sig, target, task, SI_TKILL)
    return 0


# -- fork and exec --------------------------------------------------------------------------------


def copy_sighand(parent: Task, child: Task) -> None:
    """copy_sighand()/copy_signal(): handlers, mask and altstack inherited, nothing pending."""
    child.sighand = {
        s: KSigaction(a.handler, a.flags, a.restorer, a.mask) for s, a in parent.sighand.items()
    }
    child.blocked = parent.blocked
    child.sas_ss_sp, child.sas_ss_size = parent.sas_ss_sp, parent.sas_ss_size
    child.pgrp, child.session = parent.pgrp, parent.session


def flush_signal_handlers(task: Task) -> None:
    """exec: caught signals go back to SIG_DFL (ignored ones stay ignored), no altstack."""
    task.sighand = {s: KSigaction(SIG_IGN) for s, a in task.sighand.items() if a.handler == SIG_IGN}
    task.sas_ss_sp = task.sas_ss_size = 0
