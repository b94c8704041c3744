"""i386 user-space entry: the GDT, start_thread through `iret`, the `int $0x80` system-call
ABI, set_thread_area, and user faults (arch/x86/kernel/process_32.c, entry_32.S, tls.c).

System call number in eax, arguments in ebx, ecx, edx, esi, edi, ebp, result in eax. User
mode (CPL 3) is entered as the kernel does, with an `iret` from a ring-0 frame; exceptions
from user mode are intercepted before the CPU's own delivery, so no TSS stack switch is
needed. The GDT follows Linux's i386 layout for what user space sees: user code 0x73, user
data 0x7b, TLS entries 6–8 (selectors 0x33, 0x3b, 0x43).

Deviation: the GDT page is mapped user-readable (not writable), because Unicorn's TLB-fill
hook does not say whether an access is an implicit supervisor one (a descriptor load).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, cast

from unicorn import x86_const as X

from emulator.kernel import syscalls
from emulator.kernel.arch.x86.syscall_table import SYSCALL_TABLE
from emulator.kernel.signal import (
    FPE_INTDIV,
    ILL_ILLOPN,
    SI_KERNEL,
    SIGFPE,
    SIGILL,
    SIGTRAP,
    TRAP_BRKPT,
    exit_to_user_mode,
)
from emulator.mmu import MemType

if TYPE_CHECKING:
    from emulator.cpu.base import Fault
    from emulator.cpu.x86 import X86Cpu
    from emulator.kernel.core import Kernel
    from emulator.kernel.process import Task
    from emulator.kernel.signal import KSigaction

PLATFORM = "i686"
UTS_MACHINE = "i686"
OLD_MMAP_STRUCT = True
HWCAP = 0x0781_ABFD  # CPUID.1:EDX of a P6-class CPU with SSE2
HWCAP2 = 0

KERNEL_CS, KERNEL_DS = 0x60, 0x68  # GDT entries 12, 13 (Linux: __KERNEL_CS / __KERNEL_DS)
USER_CS, USER_DS = 0x73, 0x7B  # entries 14, 15 with RPL 3
GDT_ENTRY_TLS_MIN, GDT_ENTRY_TLS_ENTRIES = 6, 3
GDT_ENTRIES = 32
GDT_VA = 0xFFFF_E000  # a fixmap-top page (below FIXADDR_TOP)
IRET_STUB_VA = GDT_VA + 0x800
#: mov $KERNEL_DS, %ax; mov %ax, %ss (a 32-bit kernel stack for the iret frame);
#: mov $USER_DS, %ax; mov %ax, %ds; mov %ax, %es; xor %eax, %eax; mov %ax, %fs;
#: mov %ax, %gs; iret — segment loads run as guest code: Unicorn cannot load a segment
#: register from a paged GDT through reg_write.
RET_TO_USER = bytes.fromhex("66b868008ed066b87b008ed88ec031c08ee08ee8cf")
RET_TO_USER_INSNS = 9

RETURN_REG, SP_REG = X.UC_X86_REG_EAX, X.UC_X86_REG_ESP
ELF_ET_DYN_BASE = 0x0040_0000  # mmap_is_ia32() (asm/elf.h)

SYSCALL_NAMES = SYSCALL_TABLE | {  # the full table, and the names our entry code relies on
    1: "exit",
    2: "fork",
    407: "clock_nanosleep_time64",
    422: "futex_time64",
    42: "pipe",
    331: "pipe2",
    7: "waitpid",
    11: "execve",
    114: "wait4",
    120: "clone",
    190: "vfork",
    12: "chdir",
    330: "dup3",
    3: "read",
    4: "write",
    5: "open",
    6: "close",
    13: "time",
    19: "lseek",
    20: "getpid",
    33: "access",
    41: "dup",
    45: "brk",
    54: "ioctl",
    63: "dup2",
    64: "getppid",
    78: "gettimeofday",
    85: "readlink",
    90: "mmap",
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
    219: "madvise",
    220: "getdents64",
    221: "fcntl64",
    224: "gettid",
    240: "futex",
    243: "set_thread_area",
    252: "exit_group",
    258: "set_tid_address",
    265: "clock_gettime",
    295: "openat",
    300: "fstatat64",
    305: "readlinkat",
    307: "faccessat",
    311: "set_robust_list",
    340: "prlimit64",
    355: "getrandom",
    383: "statx",
    386: "rseq",
    403: "clock_gettime64",
}


def _descriptor(base: int, limit: int, access: int, flags: int = 0xC) -> int:
    return (
        (limit & 0xFFFF)
        | (base & 0xFFFFFF) << 16
        | access << 40
        | ((limit >> 16) & 0xF) << 48
        | flags << 52
        | (base >> 24) << 56
    )


def _gdt_page(k: Kernel) -> int:
    """The GDT: kernel and user flat segments, empty TLS slots; mapped at GDT_VA."""
    state = k.subsystems.get("x86_gdt")
    if state is not None:
        return int(state)
    from emulator.kernel.mm.page_alloc import alloc_page, page_to_phys

    page = alloc_page(0xCC0)  # GFP_KERNEL
    assert page is not None
    pa = int(page_to_phys(page))
    gdt = [0] * GDT_ENTRIES
    # accessed bits pre-set: the CPU would otherwise write them into the read-only page
    gdt[KERNEL_CS >> 3] = _descriptor(0, 0xFFFFF, 0x9B)
    gdt[KERNEL_DS >> 3] = _descriptor(0, 0xFFFFF, 0x93)
    gdt[USER_CS >> 3] = _descriptor(0, 0xFFFFF, 0xFB)
    gdt[USER_DS >> 3] = _descriptor(0, 0xFFFFF, 0xF3)
    k.phys_write(
        pa, struct.pack(f"<{GDT_ENTRIES}Q", *gdt) + bytes(0x800 - 8 * GDT_ENTRIES) + RET_TO_USER
    )
    k.pgtable.map_kernel_page(
        GDT_VA, pa, MemType.WRITE_BACK, writable=False, executable=True, user=True
    )
    k.subsystems["x86_gdt"] = pa
    return pa


_GENERAL_REGS = (
    X.UC_X86_REG_EAX,
    X.UC_X86_REG_EBX,
    X.UC_X86_REG_ECX,
    X.UC_X86_REG_EDX,
    X.UC_X86_REG_ESI,
    X.UC_X86_REG_EDI,
    X.UC_X86_REG_EBP,
)


def start_thread(k: Kernel, entry: int, sp: int) -> None:
    """Load the GDT, then `iret` to CPL 3 at entry with the user stack (one instruction)."""
    cpu = cast("X86Cpu", k.cpu)
    uc = cpu.uc
    for r in _GENERAL_REGS:
        uc.reg_write(r, 0)
    if cpu.is_user():  # execve: already at CPL 3 with user segments, so a plain jump
        uc.reg_write(X.UC_X86_REG_ESP, sp)
        uc.reg_write(X.UC_X86_REG_EFLAGS, 0x202)
        cpu.pc = entry
        return
    _gdt_page(k)
    uc.reg_write(X.UC_X86_REG_GDTR, (0, GDT_VA, 8 * GDT_ENTRIES - 1, 0))
    frame_sp = k.layout.PAGE_OFFSET + (k.layout.reserved[-1][0] - k.layout.PHYS_OFFSET) + 0x1000
    frame = struct.pack("<5I", entry, USER_CS, 0x202, sp, USER_DS)
    k.mem_write(frame_sp, frame)
    uc.reg_write(X.UC_X86_REG_ESP, frame_sp)
    insns = cpu.counter.insns  # the stub is the kernel's, not the program's
    uc.emu_start(IRET_STUB_VA, 0, count=RET_TO_USER_INSNS)
    cpu.counter.insns = insns


def _set_thread_area(k: Kernel, u_info: int) -> int:
    from emulator.kernel.syscalls import EFAULT, EINVAL, Efault, copy_from_user, copy_to_user

    try:
        entry, base, limit, flags = struct.unpack("<iIII", copy_from_user(k, u_info, 16))
    except Efault:
        return -EFAULT
    if entry == -1:
        entry = GDT_ENTRY_TLS_MIN
    if not GDT_ENTRY_TLS_MIN <= entry < GDT_ENTRY_TLS_MIN + GDT_ENTRY_TLS_ENTRIES:
        return -EINVAL
    gdt = _gdt_page(k)
    seg_32 = flags & 1
    limit_in_pages = (flags >> 4) & 1
    present = not (flags >> 5) & 1
    access = 0xF3 if present else 0x73
    desc = _descriptor(base, limit, access, (seg_32 << 2) | (limit_in_pages << 3))
    k.phys_write(gdt + 8 * entry, struct.pack("<Q", desc))
    k.cpu.flush_tlb()
    try:
        copy_to_user(k, u_info, struct.pack("<i", entry))
    except Efault:
        return -EFAULT
    return 0


#: eax (the call number), then the arguments ebx, ecx, edx, esi, edi, ebp: one batch per call
_SYSCALL_REGS = _GENERAL_REGS


#: the vector of `int $0x80` (IA32_SYSCALL_VECTOR)
SYSCALL_TRAP = 0x80


def is_syscall(fault: Fault) -> bool:
    return fault.kind == "int" and fault.intno == SYSCALL_TRAP


def handle_syscall(k: Kernel) -> None:
    """entry_INT80_32: run the call, the result goes to eax. Runs inside Unicorn's interrupt
    hook (Machine._kernel_trap), so it must not assume the CPU stopped: a change of EIP here
    takes effect as the guest resumes.

    The return to user space is this function's end: work to do on the way out (pending
    signals) goes there, after the result is set."""
    cpu = cast("X86Cpu", k.cpu)
    nr, *args = cpu.reg_batch(_SYSCALL_REGS)
    if nr == 243:
        result = _set_thread_area(k, args[0])
    else:
        result = syscalls.dispatch(k, SYSCALL_NAMES.get(nr), nr, args)
    if result is syscalls.RESTART:  # blocked: run `int $0x80` again when woken
        cpu.pc = cpu.pc - 2
    else:
        cpu.reg_write_fast(X.UC_X86_REG_EAX, result & 0xFFFF_FFFF)
    exit_to_user_mode(k, result is syscalls.RESTART)


def handle_fault(k: Kernel, fault: Fault) -> None:
    from emulator.kernel.process import SIGSEGV, deliver_fault_signal, processes

    if is_syscall(fault):
        handle_syscall(k)
        return
    if fault.kind == "int" and fault.intno == 14:
        status = fault.status or 0
        sig = processes(k).handle_user_fault(fault.addr, bool(status & 2), bool(status & 16))
        if not sig:
            return
        if not deliver_fault_signal(k, sig, fault.addr):
            kill(k, sig, fault.addr, status | 4)
        return
    if fault.kind in ("data", "prefetch"):
        if not deliver_fault_signal(k, 7, fault.addr, 2):  # SIGBUS BUS_ADRERR
            kill(k, 7, fault.addr, 0)
        return
    # do_trap()/do_error_trap(): #DE SIGFPE FPE_INTDIV, #UD SIGILL ILL_ILLOPN and int3
    # SIGTRAP at the instruction; #GP (a privileged instruction) SIGSEGV SI_KERNEL at 0
    intno = 6 if fault.kind == "undef" else fault.intno
    signal, code, addr = {
        0: (SIGFPE, FPE_INTDIV, fault.pc),
        3: (SIGTRAP, TRAP_BRKPT, fault.pc),
        6: (SIGILL, ILL_ILLOPN, fault.pc),
    }.get(intno, (SIGSEGV, SI_KERNEL, 0))
    if not deliver_fault_signal(k, signal, addr, code):
        kill(k, signal, fault.pc, 0)


def kill(k: Kernel, signal: int, addr: int, error: int) -> None:
    from emulator.kernel.process import fatal_signal

    cpu = cast("X86Cpu", k.cpu)
    fatal_signal(k, signal, addr, cpu.pc, cpu.reg(X.UC_X86_REG_ESP), error)


# -- signal frames (arch/x86/kernel/signal.c, i386 rt_sigframe) ----------------------------------

UC_OFFSET = 16 + 128  # pretcode, sig, pinfo, puc, then siginfo
RT_SIGFRAME_SIZE = UC_OFFSET + 116 + 8
# struct sigframe (no SA_SIGINFO): pretcode, sig, sigcontext, the unused 624-byte
# _fpstate_32, extramask[1] (the mask's high word), retcode[8]
SC_OFFSET, EXTRAMASK_OFFSET, SIGFRAME_SIZE = 8, 8 + 88 + 624, 8 + 88 + 624 + 4 + 8
#: popl %eax; movl $__NR_sigreturn, %eax; int $0x80 (only for old debuggers: SA_RESTORER)
SIGFRAME_RETCODE = bytes.fromhex("58b877000000cd80")
_SIGCONTEXT_REGS = (
    X.UC_X86_REG_EDI,
    X.UC_X86_REG_ESI,
    X.UC_X86_REG_EBP,
    X.UC_X86_REG_ESP,
    X.UC_X86_REG_EBX,
    X.UC_X86_REG_EDX,
    X.UC_X86_REG_ECX,
    X.UC_X86_REG_EAX,
)


def syscall_insn_size(k: Kernel) -> int:
    """The `int $0x80` an interrupted system call's PC is on (restart) or after (-EINTR)."""
    return 2


def setup_rt_frame(
    k: Kernel, task: Task, act: KSigaction, sig: int, info: bytes, saved_mask: int
) -> None:
    """Push an i386 rt_sigframe (on the alternate stack for SA_ONSTACK) and enter the
    handler (args on the stack and in regs); without SA_SIGINFO the frame is the old
    sigframe that sigreturn reads (setup_frame)."""
    from emulator.kernel.signal import SA_SIGINFO, save_altstack, sigsp
    from emulator.kernel.syscalls import copy_to_user

    cpu = cast("X86Cpu", k.cpu)
    sp = cpu.reg(X.UC_X86_REG_ESP)
    rt = bool(act.flags & SA_SIGINFO)
    frame = ((sigsp(task, act, sp) - (RT_SIGFRAME_SIZE if rt else SIGFRAME_SIZE)) & ~15) - 4
    segs = [
        cpu.reg(r) for r in (X.UC_X86_REG_GS, X.UC_X86_REG_FS, X.UC_X86_REG_ES, X.UC_X86_REG_DS)
    ]
    code, addr = struct.unpack_from("<iI", info, 8)
    trapno, err = {11: (14, 6 if code == 2 else 4), 8: (0, 0), 4: (6, 0), 5: (3, 0)}.get(
        sig, (0, 0)
    )
    sigcontext = struct.pack(
        "<22I",
        *segs,
        *(cpu.reg(r) for r in _SIGCONTEXT_REGS),
        trapno,
        err,
        cpu.pc,
        cpu.reg(X.UC_X86_REG_CS),
        cpu.reg(X.UC_X86_REG_EFLAGS),
        sp,
        cpu.reg(X.UC_X86_REG_SS),
        0,
        saved_mask & 0xFFFF_FFFF,
        addr if sig == 11 else 0,
    )
    if rt:
        uc = struct.pack("<II", 0, 0) + save_altstack(task, sp) + sigcontext
        uc += struct.pack("<Q", saved_mask)
        head = struct.pack("<IiII", act.restorer, sig, frame + 16, frame + UC_OFFSET)
        copy_to_user(k, frame, head + info + uc)
    else:
        tail = struct.pack("<I", saved_mask >> 32) + SIGFRAME_RETCODE
        head = struct.pack("<Ii", act.restorer, sig) + sigcontext
        copy_to_user(k, frame, head + bytes(624) + tail)
    cpu.uc.reg_write(X.UC_X86_REG_ESP, frame)
    cpu.uc.reg_write(X.UC_X86_REG_EAX, sig)
    cpu.uc.reg_write(X.UC_X86_REG_EDX, frame + 16 if rt else 0)
    cpu.uc.reg_write(X.UC_X86_REG_ECX, frame + UC_OFFSET if rt else 0)
    cpu.uc.reg_write(X.UC_X86_REG_EFLAGS, cpu.reg(X.UC_X86_REG_EFLAGS) & ~0x100)
    cpu.pc = act.handler


def rt_sigreturn(k: Kernel, task: Task) -> int:
    """The restorer's `ret` popped pretcode: the frame starts 4 bytes below esp."""
    from emulator.kernel.syscalls import copy_from_user

    cpu = cast("X86Cpu", k.cpu)
    frame = cpu.reg(X.UC_X86_REG_ESP) - 4
    words = struct.unpack("<22I", copy_from_user(k, frame + UC_OFFSET + 20, 88))
    (mask,) = struct.unpack("<Q", copy_from_user(k, frame + UC_OFFSET + 108, 8))
    stack = copy_from_user(k, frame + UC_OFFSET + 8, 12)
    ret = _restore_sigcontext(k, task, words, mask)
    from emulator.kernel.signal import restore_altstack

    restore_altstack(task, stack, words[7])  # uc_stack, checked against the restored esp
    return ret


def sigreturn(k: Kernel, task: Task) -> int:
    """sys_sigreturn: the restorer popped pretcode and sig, so the sigframe is 8 below esp;
    the mask is sigcontext's oldmask and extramask."""
    from emulator.kernel.syscalls import copy_from_user

    cpu = cast("X86Cpu", k.cpu)
    frame = cpu.reg(X.UC_X86_REG_ESP) - 8
    words = struct.unpack("<22I", copy_from_user(k, frame + SC_OFFSET, 88))
    (high,) = struct.unpack("<I", copy_from_user(k, frame + EXTRAMASK_OFFSET, 4))
    return _restore_sigcontext(k, task, words, words[20] | high << 32)


def _restore_sigcontext(k: Kernel, task: Task, words: tuple[int, ...], mask: int) -> int:
    """restore_sigcontext(): the general registers, the user-changeable flags, eip."""
    cpu = cast("X86Cpu", k.cpu)
    task.blocked = mask
    for reg, value in zip(_SIGCONTEXT_REGS, words[4:12], strict=True):
        cpu.uc.reg_write(reg, value)
    eflags = (cpu.reg(X.UC_X86_REG_EFLAGS) & ~0x40DD5) | (words[16] & 0x40DD5)
    cpu.uc.reg_write(X.UC_X86_REG_EFLAGS, eflags)
    cpu.pc = words[14]
    return int(words[11])  # eax
