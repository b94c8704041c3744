"""ARM EABI user-space entry: start_thread, the `svc #0` system-call ABI, user faults
(arch/arm/kernel/entry-common.S, process.h, traps.c, mm/fault.c).

System call number in r7, arguments in r0–r6, result in r0. The ARM-private calls live at
0x0f0000 + n (`cacheflush` 0x0f0002, `set_tls` 0x0f0005). User mode runs with VFP enabled
(CPACR cp10/cp11 full access, FPEXC.EN), as the kernel's VFP support does for every task.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, cast

from unicorn import arm_const as A

from emulator.cpu.arm import CPSR_T, EXCP_SWI, MODE_USR
from emulator.kernel import syscalls
from emulator.kernel.arch.arm.syscall_table import SYSCALL_TABLE
from emulator.kernel.signal import exit_to_user_mode

if TYPE_CHECKING:
    from emulator.cpu.arm import ArmCpu
    from emulator.cpu.base import Fault
    from emulator.kernel.core import Kernel
    from emulator.kernel.process import Task
    from emulator.kernel.signal import KSigaction

PLATFORM = "v7l"
UTS_MACHINE = "armv7l"
OLD_MMAP_STRUCT = False
# HWCAP_SWP|HALF|THUMB|FAST_MULT|VFP|EDSP|NEON|VFPv3|TLS|VFPD32 (a Cortex-A9)
HWCAP = 1 | 2 | 4 | 16 | 64 | 128 | 4096 | 8192 | 32768 | (1 << 19)
HWCAP2 = 0

RETURN_REG, SP_REG = A.UC_ARM_REG_R0, A.UC_ARM_REG_SP
ELF_ET_DYN_BASE = (0xBF00_0000 // 3 * 2) & ~0xFFF  # TASK_SIZE / 3 * 2 (asm/elf.h)

SYSCALL_NAMES = SYSCALL_TABLE | {  # the full table, and the names our entry code relies on
    1: "exit",
    2: "fork",
    407: "clock_nanosleep_time64",
    422: "futex_time64",
    42: "pipe",
    359: "pipe2",
    11: "execve",
    114: "wait4",
    120: "clone",
    190: "vfork",
    12: "chdir",
    85: "readlink",
    358: "dup3",
    3: "read",
    4: "write",
    5: "open",
    6: "close",
    19: "lseek",
    20: "getpid",
    33: "access",
    41: "dup",
    45: "brk",
    54: "ioctl",
    63: "dup2",
    64: "getppid",
    78: "gettimeofday",
    91: "munmap",
    122: "uname",
    125: "mprotect",
    163: "mremap",
    140: "_llseek",
    145: "readv",
    146: "writev",
    158: "sched_yield",
    162: "nanosleep",
    173: "rt_sigreturn",
    174: "rt_sigaction",
    175: "rt_sigprocmask",
    183: "getcwd",
    186: "sigaltstack",
    191: "ugetrlimit",
    192: "mmap2",
    195: "stat64",
    196: "lstat64",
    197: "fstat64",
    199: "getuid32",
    200: "getgid32",
    201: "geteuid32",
    202: "getegid32",
    217: "getdents64",
    220: "madvise",
    221: "fcntl64",
    224: "gettid",
    240: "futex",
    248: "exit_group",
    256: "set_tid_address",
    263: "clock_gettime",
    322: "openat",
    327: "fstatat64",
    332: "readlinkat",
    334: "faccessat",
    338: "set_robust_list",
    369: "prlimit64",
    384: "getrandom",
    397: "statx",
    398: "rseq",
    403: "clock_gettime64",
    0xF0002: "cacheflush",
    0xF0005: "set_tls",
}

CPACR_CP10_CP11_FULL = 0xF << 20
FPEXC_EN = 1 << 30


def start_thread(k: Kernel, entry: int, sp: int) -> None:
    cpu = cast("ArmCpu", k.cpu)
    uc = cpu.uc
    uc.reg_write(A.UC_ARM_REG_C1_C0_2, CPACR_CP10_CP11_FULL)
    uc.reg_write(A.UC_ARM_REG_FPEXC, FPEXC_EN)
    for i in range(13):
        uc.reg_write(A.UC_ARM_REG_R0 + i, 0)
    uc.reg_write(A.UC_ARM_REG_CPSR, MODE_USR | (CPSR_T if entry & 1 else 0))
    uc.reg_write(A.UC_ARM_REG_SP, sp)
    uc.reg_write(A.UC_ARM_REG_LR, 0)
    uc.reg_write(A.UC_ARM_REG_PC, entry)


#: r7 (the call number), then the arguments r0–r6: read in one batch per call
_SYSCALL_REGS = (A.UC_ARM_REG_R7, *(A.UC_ARM_REG_R0 + i for i in range(7)))


#: the CPU exception number of `svc` as Unicorn reports it (QEMU's EXCP_SWI)
SYSCALL_TRAP = EXCP_SWI


def is_syscall(fault: Fault) -> bool:
    return fault.kind == "svc"


def handle_syscall(k: Kernel) -> None:
    """vector_swi: run the call, then ret_fast_syscall puts the result in r0. Runs inside
    Unicorn's interrupt hook (Machine._kernel_trap), so it must not assume the CPU stopped:
    a change of PC here takes effect as the guest resumes.

    The return to user space is this function's end: work to do on the way out (pending
    signals) goes there, after the result is set."""
    cpu = cast("ArmCpu", k.cpu)
    nr, *args = cpu.reg_batch(_SYSCALL_REGS)
    if nr == 0xF0005:  # set_tls: TPIDRURO, read by user space with mrc p15,0,rX,c13,c0,3
        cpu.uc.reg_write(A.UC_ARM_REG_CP_REG, (15, 0, 0, 13, 0, 0, 3, args[0]))
        result = 0
    elif nr == 0xF0002:  # cacheflush(start, end, flags): clean D, invalidate I
        from emulator.kernel.arch.arm.kuser import do_cache_op

        result = do_cache_op(k, args[0], args[1], args[2])
    else:
        result = syscalls.dispatch(k, SYSCALL_NAMES.get(nr), nr, args)
    if result is syscalls.RESTART:  # blocked: run the svc again when woken
        cpu.pc = cpu.pc - (2 if cpu.thumb() else 4)
    else:
        cpu.reg_write_fast(A.UC_ARM_REG_R0, result & 0xFFFF_FFFF)
    exit_to_user_mode(k, result is syscalls.RESTART)


def handle_fault(k: Kernel, fault: Fault) -> None:
    """An exception taken from user mode: a system call, a page fault, or a signal."""
    from emulator.kernel.process import SIGSEGV, deliver_fault_signal, processes
    from emulator.kernel.signal import ILL_ILLOPC, TRAP_BRKPT

    if is_syscall(fault):
        handle_syscall(k)
        return
    pm = processes(k)
    if fault.kind in ("data", "prefetch"):
        fetch = fault.kind == "prefetch"
        sig = SIGSEGV
        if fault.status is not None:
            sig = pm.handle_user_fault(fault.addr, fault.is_write, fetch)
            if not sig:
                return  # fixed: the faulting instruction runs again
        if not deliver_fault_signal(k, sig, fault.addr):
            kill(k, sig, fault.addr, 0x817 if fault.is_write else 0x17)
        return
    # do_undefinstr(): an undefined instruction, or a privileged one (mcr/mrc, cps to a
    # privileged mode ...) in user mode, is SIGILL ILL_ILLOPC at the instruction
    signal, code = {"undef": (4, ILL_ILLOPC), "bkpt": (5, TRAP_BRKPT)}.get(fault.kind, (SIGSEGV, 0))
    if not deliver_fault_signal(k, signal, fault.pc, code):
        kill(k, signal, fault.pc, 0)


def kill(k: Kernel, signal: int, addr: int, error: int) -> None:
    from emulator.kernel.process import fatal_signal

    cpu = cast("ArmCpu", k.cpu)
    fatal_signal(k, signal, addr, cpu.pc, cpu.reg_fast(A.UC_ARM_REG_SP), error)


# -- signal frames (arch/arm/kernel/signal.c) -------------------------------------------------

UC_MCONTEXT = 128 + 20  # siginfo, then ucontext's uc_flags, uc_link, uc_stack
UC_SIGMASK = 128 + 104
RT_SIGFRAME_SIZE = 128 + 744
SIGFRAME_SIZE = 744  # struct sigframe: the ucontext and retcode
_GPRS = [A.UC_ARM_REG_R0 + i for i in range(13)]  # r0..r10, fp (r11), ip (r12)


def syscall_insn_size(k: Kernel) -> int:
    """The `svc` an interrupted system call's PC is on (restart) or after (-EINTR)."""
    return 2 if cast("ArmCpu", k.cpu).thumb() else 4


def setup_rt_frame(
    k: Kernel, task: Task, act: KSigaction, sig: int, info: bytes, saved_mask: int
) -> None:
    """Push an rt_sigframe (siginfo, ucontext with uc_stack, sigcontext and the mask to
    restore) below the user stack, or on the alternate stack, and enter the handler; for a
    handler without SA_SIGINFO the frame is a sigframe (no siginfo, and r0 is all it gets)."""
    from emulator.kernel.signal import SA_SIGINFO, save_altstack, sigsp
    from emulator.kernel.syscalls import copy_to_user

    cpu = cast("ArmCpu", k.cpu)
    sp = cpu.reg_fast(A.UC_ARM_REG_SP)
    rt = bool(act.flags & SA_SIGINFO)
    frame = (sigsp(task, act, sp) - (RT_SIGFRAME_SIZE if rt else SIGFRAME_SIZE)) & ~7
    regs = [cpu.reg_fast(r) for r in _GPRS]
    code, addr = struct.unpack_from("<iI", info, 8)
    fault = sig in (4, 5, 7, 8, 11)
    mcontext = struct.pack(
        "<21I",
        14 if fault else 0,
        0x800 if fault and code == 2 else 0,
        saved_mask & 0xFFFF_FFFF,
        *regs,
        sp,
        cpu.reg_fast(A.UC_ARM_REG_LR),
        cpu.pc,
        cpu.cpsr,
        addr if fault else 0,
    )
    uc = struct.pack("<II", 0, 0) + save_altstack(task, sp) + mcontext
    uc += struct.pack("<Q", saved_mask)
    copy_to_user(k, frame, (info if rt else b"") + uc.ljust(SIGFRAME_SIZE, b"\0"))
    handler = act.handler
    cpu.uc.reg_write(A.UC_ARM_REG_R0, sig)
    if rt:
        cpu.uc.reg_write(A.UC_ARM_REG_R1, frame)
        cpu.uc.reg_write(A.UC_ARM_REG_R2, frame + 128)
    cpu.uc.reg_write(A.UC_ARM_REG_SP, frame)
    cpu.uc.reg_write(A.UC_ARM_REG_LR, act.restorer)
    cpsr = cpu.cpsr & ~(CPSR_T | 0x0600_FC00)
    cpu.uc.reg_write(A.UC_ARM_REG_CPSR, cpsr | (CPSR_T if handler & 1 else 0))
    cpu.uc.reg_write(A.UC_ARM_REG_PC, handler)


def rt_sigreturn(k: Kernel, task: Task) -> int:
    """Restore what setup_rt_frame saved (sp points at the frame); the result is r0."""
    return _restore_sigframe(k, task, 128)


def sigreturn(k: Kernel, task: Task) -> int:
    """sys_sigreturn: the same for a sigframe (sp points at its ucontext)."""
    return _restore_sigframe(k, task, 0)


def _restore_sigframe(k: Kernel, task: Task, uc_offset: int) -> int:
    """restore_sigframe(); a frame that is not 8-byte aligned is bad (-EFAULT: SIGSEGV)."""
    from emulator.kernel.syscalls import Efault, copy_from_user

    cpu = cast("ArmCpu", k.cpu)
    frame = cpu.reg_fast(A.UC_ARM_REG_SP) + uc_offset - 128
    if frame & 7:
        raise Efault
    words = struct.unpack("<21I", copy_from_user(k, frame + UC_MCONTEXT, 84))
    (mask,) = struct.unpack("<Q", copy_from_user(k, frame + UC_SIGMASK, 8))
    task.blocked = mask
    regs = words[3:16]
    for reg, value in zip(_GPRS, regs, strict=True):
        cpu.uc.reg_write(reg, value)
    sp, lr, pc, cpsr = words[16:20]
    cpu.uc.reg_write(A.UC_ARM_REG_SP, sp)
    cpu.uc.reg_write(A.UC_ARM_REG_LR, lr)
    user_cpsr = (cpsr & 0xF800_0000) | (cpsr & CPSR_T) | MODE_USR
    cpu.uc.reg_write(A.UC_ARM_REG_CPSR, user_cpsr)
    cpu.uc.reg_write(A.UC_ARM_REG_PC, pc | (1 if cpsr & CPSR_T else 0))
    if uc_offset:  # rt_sigreturn: the frame's uc_stack is the alternate stack again
        from emulator.kernel.signal import restore_altstack

        restore_altstack(task, copy_from_user(k, frame + 128 + 8, 12), sp)
    return int(regs[0])
