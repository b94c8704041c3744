"""ARMv7-A (Cortex-A9) CPU: exception entry, IRQ entry, wfi, instruction counting.

Exception entry follows the ARM ARM (B1.8 "Exception handling"): the new mode's SPSR takes the
old CPSR, LR takes the preferred return address plus the architectural offset (IRQ +4, prefetch
abort +4, data abort +8, undef next instruction, svc next instruction), CPSR.I is set (and A for
aborts and IRQ), T follows SCTLR.TE, and the PC goes to the vector base — VBAR, or 0xFFFF0000
when SCTLR.V is set (high vectors) — plus the vector's offset. Unicorn does the register banking
when CPSR's mode changes. Fault status and address registers are set from what faulted: a bus
error (an access no memory or register block answers, or a bad register access) is a
synchronous external abort, FS = 0b01000.

Not modelled: FIQ (no FIQ source on the SoC), monitor/hyp modes, asynchronous aborts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import capstone
import unicorn
from unicorn import arm_const as A

from emulator.bus import BusFault
from emulator.cpu.base import Cpu, Fault, GuestStop
from emulator.mmu import AccessType, MemType, Translation, WalkFault
from emulator.mmu.arm import ArmMmuState, TableWalkAbort, walk_memtype
from emulator.mmu.arm import dump as arm_dump
from emulator.mmu.arm import mappings as arm_mappings
from emulator.mmu.arm import walk as arm_walk

if TYPE_CHECKING:
    from emulator.machine import Machine

MODE_USR, MODE_FIQ, MODE_IRQ, MODE_SVC = 0x10, 0x11, 0x12, 0x13
MODE_ABT, MODE_UND, MODE_SYS = 0x17, 0x1B, 0x1F
CPSR_T, CPSR_F, CPSR_I, CPSR_A = 1 << 5, 1 << 6, 1 << 7, 1 << 8
CPSR_IT = 0x0600_FC00
SCTLR_M, SCTLR_V, SCTLR_EE, SCTLR_TE = 1 << 0, 1 << 13, 1 << 25, 1 << 30
PROT_ALL = 7

VEC_UNDEF, VEC_SVC, VEC_PABT, VEC_DABT, VEC_IRQ = 0x04, 0x08, 0x0C, 0x10, 0x18
FSR_EXTERNAL_ABORT = 0b01000
FSR_DEBUG = 0b00010
FSR_WNR = 1 << 11

# QEMU's EXCP_* numbers as Unicorn's UC_HOOK_INTR reports them (target/arm/cpu.h)
EXCP_UDEF, EXCP_SWI, EXCP_PREFETCH_ABORT, EXCP_DATA_ABORT = 1, 2, 3, 4
EXCP_BKPT = 7

# CP15 registers as (cp, is64, sec, crn, crm, opc1, opc2)
CP15 = {
    "SCTLR": (15, 0, 0, 1, 0, 0, 0),
    "TTBR0": (15, 0, 0, 2, 0, 0, 0),
    "TTBR1": (15, 0, 0, 2, 0, 0, 1),
    "TTBCR": (15, 0, 0, 2, 0, 0, 2),
    "DACR": (15, 0, 0, 3, 0, 0, 0),
    "PRRR": (15, 0, 0, 10, 2, 0, 0),
    "NMRR": (15, 0, 0, 10, 2, 0, 1),
    "DFSR": (15, 0, 0, 5, 0, 0, 0),
    "IFSR": (15, 0, 0, 5, 0, 0, 1),
    "DFAR": (15, 0, 0, 6, 0, 0, 0),
    "IFAR": (15, 0, 0, 6, 0, 0, 2),
    "VBAR": (15, 0, 0, 12, 0, 0, 0),
}

MODE_NAMES = {
    MODE_USR: "usr",
    MODE_FIQ: "fiq",
    MODE_IRQ: "irq",
    MODE_SVC: "svc",
    MODE_ABT: "abt",
    MODE_UND: "und",
    MODE_SYS: "sys",
}


class ArmCpu(Cpu):
    arch = "armv7"
    pc_reg = A.UC_ARM_REG_PC
    line_size = 32

    def __init__(self, machine: Machine) -> None:
        uc = unicorn.Uc(unicorn.UC_ARCH_ARM, unicorn.UC_MODE_ARM)
        uc.ctl_set_cpu_model(A.UC_CPU_ARM_CORTEX_A9)
        uc.ctl_set_page_size(4096)
        self._cs_arm = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_ARM)
        self._cs_thumb = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB)
        self._cs_arm_detail = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_ARM)
        self._cs_thumb_detail = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB)
        self._cs_arm_detail.detail = self._cs_thumb_detail.detail = True
        self._mmu_state: ArmMmuState | None = None
        self._walk_cached = False
        super().__init__(machine, uc)

    # -- state --------------------------------------------------------------------------

    def cp15(self, name: str) -> int:
        return int(self.uc.reg_read(A.UC_ARM_REG_CP_REG, CP15[name]))

    def set_cp15(self, name: str, value: int) -> None:
        """Write a CP15 register from Python; translation registers drop the TLB, whose
        entries bake in domains, permissions and memory types."""
        self.uc.reg_write(A.UC_ARM_REG_CP_REG, (*CP15[name], value & 0xFFFF_FFFF))
        if name in ("SCTLR", "TTBR0", "TTBR1", "TTBCR", "DACR", "PRRR", "NMRR"):
            self._mmu_state = None
            self.flush_tlb()

    # -- translation ---------------------------------------------------------------------

    def mmu_state(self) -> ArmMmuState:
        """The translation registers, re-read only after a write to one of them (the scanner
        hooks every `mcr p15` to c1, c2, c3 and c10; Python writes go through set_cp15)."""
        if self._mmu_state is None:
            self._mmu_state = ArmMmuState.from_cpu(self.cp15)
        return self._mmu_state

    def is_user(self) -> bool:
        return self.cpsr & 0x1F == MODE_USR

    def walk(self, vaddr: int, access: AccessType, user: bool) -> Translation | WalkFault:
        state = self.mmu_state()
        if not state.sctlr & SCTLR_M:
            # MMU off: flat, and data accesses are strongly-ordered (ARM ARM B3.2.1)
            return Translation(vaddr, vaddr, 4096, PROT_ALL, MemType.STRONGLY_ORDERED)
        self._walk_cached = walk_memtype(state, vaddr).cacheable
        return arm_walk(state, vaddr, access, user, self._walk_read)

    def _walk_read(self, paddr: int, size: int) -> int:
        """Table walks follow the selected TTBR's inner cacheability (IRGN, and SCTLR.C): a
        non-cacheable walk reads memory, so tables written through a cacheable mapping need
        a clean first (ARM ARM B3.3.2). A table in memory nothing answers is an external
        abort on the walk."""
        try:
            if self._walk_cached and self.cache is not None:
                data = self.cache.cpu_read(paddr, size, MemType.WRITE_BACK, paddr)
            else:
                data = self.bus.read(paddr, size)
        except (BusFault, KeyError):
            raise TableWalkAbort(f"no memory at table address {paddr:#x}") from None
        return int.from_bytes(data, "little")

    def mappings(self, user: bool = False) -> Iterator[Translation]:
        """Every valid mapping of the current address space (nothing with the MMU off)."""
        self._walk_cached = walk_memtype(self.mmu_state(), 0).cacheable
        return arm_mappings(self.mmu_state(), self._walk_read, user)

    def dump_page_tables(self, markers: Sequence[tuple[int, str]] = ()) -> str:
        """The current tables in the style of Linux's kernel page-table dump."""
        self._walk_cached = walk_memtype(self.mmu_state(), 0).cacheable
        return arm_dump(self.mmu_state(), self._walk_read, markers)

    def fault_from_walk(self, wf: WalkFault, pc: int) -> Fault:
        kind = "prefetch" if wf.access is AccessType.FETCH else "data"
        return Fault(
            kind,
            pc,
            wf.vaddr,
            wf.access is AccessType.WRITE,
            message=f"{wf.kind} fault",
            status=wf.status,
            access=wf.access.value,
        )

    def data_address(self, pc: int) -> int | None:
        """Effective address of the load/store at `pc`, with its registers as they were
        before it ran (Unicorn restores them on a fault)."""
        cs = self._cs_thumb_detail if self.thumb() else self._cs_arm_detail
        insn = next(cs.disasm(self.read_virt(pc, 4), pc, 1), None)
        if insn is None:
            return None
        for op in insn.operands:
            if op.type == capstone.arm.ARM_OP_MEM:
                mem = op.mem
                base = self._cs_reg(cs, mem.base, pc)
                if insn.post_index:
                    return int(base) & 0xFFFF_FFFF  # [rn], #off: the access uses rn as it was
                ea = base + mem.disp
                if mem.index:
                    index = self._cs_reg(cs, mem.index, pc)
                    if op.shift.type == capstone.arm.ARM_SFT_LSL:
                        index <<= op.shift.value
                    elif op.shift.type in (capstone.arm.ARM_SFT_LSR, capstone.arm.ARM_SFT_ASR):
                        index >>= op.shift.value
                    ea += -index if op.subtracted else index
                return int(ea) & 0xFFFF_FFFF
        name = insn.mnemonic.split(".")[0]
        regs = [op.reg for op in insn.operands if op.type == capstone.arm.ARM_OP_REG]
        if name in ("push", "vpush"):
            return (self._cs_reg(cs, capstone.arm.ARM_REG_SP, pc) - 4 * len(regs)) & 0xFFFF_FFFF
        if name in ("pop", "vpop"):
            return self._cs_reg(cs, capstone.arm.ARM_REG_SP, pc)
        if name[:3] in ("ldm", "stm") and regs:
            base = self._cs_reg(cs, regs[0], pc)
            n = len(regs) - 1
            mode = name[3:5]
            if mode in ("db", "fd") and name.startswith("stm") or mode == "db":
                return (base - 4 * n) & 0xFFFF_FFFF
            if mode == "ib":
                return (base + 4) & 0xFFFF_FFFF
            if mode == "da":
                return (base - 4 * n + 4) & 0xFFFF_FFFF
            return base
        return None

    def _cs_reg(self, cs: capstone.Cs, reg: int, pc: int) -> int:
        name = cs.reg_name(reg)
        if name == "pc":  # reads as the instruction's address + 8 (ARM) / + 4 aligned (Thumb)
            return (pc + 4) & ~3 if self.thumb() else pc + 8
        uc_reg = {
            "sb": A.UC_ARM_REG_R9,
            "sl": A.UC_ARM_REG_R10,
            "fp": A.UC_ARM_REG_R11,
            "ip": A.UC_ARM_REG_R12,
            "sp": A.UC_ARM_REG_SP,
            "lr": A.UC_ARM_REG_LR,
        }.get(name)
        if uc_reg is None:
            uc_reg = A.UC_ARM_REG_R0 + int(name[1:])
        return self.reg_fast(uc_reg)

    @property
    def cpsr(self) -> int:
        return self.reg_fast(A.UC_ARM_REG_CPSR)

    def thumb(self) -> bool:
        return bool(self.cpsr & CPSR_T)

    @property
    def pc(self) -> int:
        return self.reg_fast(A.UC_ARM_REG_PC)

    @pc.setter
    def pc(self, value: int) -> None:
        # Unicorn takes bit 0 of a PC write as the Thumb state: keep CPSR.T as it is.
        self.uc.reg_write(A.UC_ARM_REG_PC, (value & ~1) | (1 if self.thumb() else 0))

    def start_address(self) -> int:
        return self.pc | (1 if self.thumb() else 0)

    def irq_masked(self) -> bool:
        return bool(self.cpsr & CPSR_I)

    def vector_base(self) -> int:
        return 0xFFFF_0000 if self.cp15("SCTLR") & SCTLR_V else self.cp15("VBAR") & ~0x1F

    def registers(self) -> dict[str, int]:
        regs = {f"r{i}": int(self.uc.reg_read(A.UC_ARM_REG_R0 + i)) for i in range(13)}
        regs.update(
            sp=int(self.uc.reg_read(A.UC_ARM_REG_SP)),
            lr=int(self.uc.reg_read(A.UC_ARM_REG_LR)),
            pc=self.pc,
            cpsr=self.cpsr,
        )
        return regs

    def mode_name(self) -> str:
        return MODE_NAMES.get(self.cpsr & 0x1F, "?")

    # -- boot ----------------------------------------------------------------------------

    def boot(self, entry: int, dtb_addr: int, scratch: int = 0) -> None:
        """Datasheet §5 / Linux's ARM boot convention: SVC mode, IRQ/FIQ masked,
        r0 = 0, r1 = 0xFFFFFFFF (no machine type: use the DTB), r2 = DTB address."""
        self.uc.reg_write(A.UC_ARM_REG_CPSR, MODE_SVC | CPSR_I | CPSR_F | CPSR_A)
        self.uc.reg_write(A.UC_ARM_REG_R0, 0)
        self.uc.reg_write(A.UC_ARM_REG_R1, 0xFFFF_FFFF)
        self.uc.reg_write(A.UC_ARM_REG_R2, dtb_addr)
        self.uc.reg_write(A.UC_ARM_REG_PC, entry)  # bit 0 set: a Thumb entry point

    # -- instruction counting and special instructions ------------------------------------

    def count_block(self, addr: int, size: int) -> int:
        if not self.thumb():
            return size // 4
        code = self.read_virt(addr, size)
        n = 0
        i = 0
        while i < len(code) - 1:
            hw = code[i] | code[i + 1] << 8
            i += 4 if (hw >> 11) in (0b11101, 0b11110, 0b11111) else 2
            n += 1
        return max(n, 1)

    def find_special(self, code: bytes) -> list[tuple[int, Callable[[int], bool]]]:
        """wfi, `mcr p15` to the cache/translation registers, and dsb/dmb — ARM and Thumb-2
        encodings (unconditional forms, which is what compilers and Linux emit)."""
        found: list[tuple[int, Callable[[int], bool]]] = []
        for pattern, step in ((b"\x03\xf0\x20\xe3", 4), (b"\x30\xbf", 2), (b"\xaf\xf3\x03\x80", 2)):
            for i in _find_all(code, pattern):
                if i % step == 0:
                    found.append((i, self._on_wfi))
        for i in _find_all(code, b"\xee"):  # MCR: ARM ...ee at +3, Thumb ee.. at +1
            if i % 4 == 3 and code[i - 1] & 0xF0 == 0 and _is_cp15_write(code[i - 3 : i + 1]):
                found.append((i - 3, self._on_cp15))
            if i % 2 == 1 and i + 3 <= len(code) and code[i - 1] & 0x10 == 0:
                hw2 = code[i + 1 : i + 3]
                if len(hw2) == 2 and hw2[1] & 0x0F == 0x0F and hw2[0] & 0x10:
                    found.append((i - 1, self._on_cp15))
        for i in _find_all(code, b"\xf0\x7f\xf5"):  # ARM dsb/dmb: f57ff04x / f57ff05x
            if i % 4 == 1 and code[i - 1] & 0xE0 == 0x40:
                found.append((i - 1, self._on_barrier))
        for i in _find_all(code, b"\xbf\xf3"):  # Thumb dsb/dmb: f3bf 8f4x / 8f5x
            if (
                i % 2 == 0
                and i + 4 <= len(code)
                and code[i + 3] == 0x8F
                and code[i + 2] & 0xE0 == 0x40
            ):
                found.append((i, self._on_barrier))
        return found

    def _insn_at(self, addr: int) -> int | None:
        """The 32-bit instruction at addr as an A32 word (Thumb-2: hw1 << 16 | hw2)."""
        try:
            raw = self.read_virt(addr, 4)
        except Exception:  # noqa: BLE001 - unreadable: not ours to handle
            return None
        if self.thumb():
            return (int.from_bytes(raw[:2], "little") << 16) | int.from_bytes(raw[2:], "little")
        return int.from_bytes(raw, "little")

    def _on_cp15(self, addr: int) -> bool:
        insn = self._insn_at(addr)
        if insn is None or insn & 0x0F10_0F10 != 0x0E00_0F10:  # not an MCR p15
            return False
        crn, opc1 = (insn >> 16) & 0xF, (insn >> 21) & 7
        crm, opc2, rt = insn & 0xF, (insn >> 5) & 7, (insn >> 12) & 0xF
        if crn in (1, 2, 3, 8, 10):
            if crn != 8:
                self._mmu_state = None  # re-read at the next fill, after this write
            self._utlb.clear()  # the regime or the TLB changed: drop uaccess entries
            if self.cache is not None:
                self.cache.mappings_changed()
            return False
        if crn != 7 or opc1 != 0 or self.cache is None:  # c13 (ASID, TLS) and others
            return False
        value = int(self.uc.reg_read(A.UC_ARM_REG_R0 + rt)) if rt < 13 else 0
        op = CACHE_OPS.get((crm, opc2))
        if op is None:
            return False
        cache = self.cache
        if op == "barrier":
            cache.apply_set_way(addr)
            cache.drain()
        elif op.endswith("-sw"):
            if (value >> 1) & 7:
                return False  # an outer cache level: not modelled
            sets_shift = 5 if self.line_size == 32 else 6
            cache.set_way(op[:-3], (value >> sets_shift) & (cache.sets - 1), value >> 30)
        else:
            try:
                pa = self.translate(value & ~(self.line_size - 1)).paddr
            except Exception:  # noqa: BLE001 - unmapped VA: report, as a guest error
                self.bus.guest_error(
                    "cpu",
                    addr,
                    "cmo",
                    f"cache maintenance by MVA of unmapped VA {value:#x} at "
                    f"pc={addr:#010x} (ignored)",
                )
                return False
            getattr(cache, op)(pa, 1, addr)
        return False

    def _on_barrier(self, addr: int) -> bool:
        if self.cache is not None:
            self.cache.apply_set_way(addr)
            self.cache.drain()
        return False

    def _on_wfi(self, addr: int) -> bool:
        """WFI: the CPU sleeps until an interrupt is pending (even a masked one)."""
        if self.thumb():
            hw = self.read_virt(addr, 2)
            if hw == b"\x30\xbf":
                size = 2
            elif self.read_virt(addr, 4) == b"\xaf\xf3\x03\x80":
                size = 4
            else:
                return False
        elif self.read_virt(addr, 4) == b"\x03\xf0\x20\xe3":
            size = 4
        else:
            return False
        self.pc = addr + size
        self.halted = True
        return True

    def resumed_at_wfi(self) -> bool:
        """Unicorn may stop on a WFI by itself, PC on it; treat it as executed."""
        pc = self.pc
        if self.thumb():
            return self.read_virt(pc, 2) == b"\x30\xbf" and self._on_wfi(pc)
        return self.read_virt(pc, 4) == b"\x03\xf0\x20\xe3" and self._on_wfi(pc)

    # -- exceptions ----------------------------------------------------------------------

    def describe_intr(self, intno: int) -> Fault:
        pc = self.pc
        if intno == EXCP_SWI:
            return Fault("svc", pc, intno=intno)
        if intno == EXCP_UDEF:
            return Fault("undef", pc, intno=intno, message="undefined instruction")
        if intno == EXCP_BKPT:
            return Fault("bkpt", pc, intno=intno, message="breakpoint")
        if intno == EXCP_PREFETCH_ABORT:
            return Fault("prefetch", pc, pc, intno=intno, message="prefetch abort")
        if intno == EXCP_DATA_ABORT:
            return Fault("data", pc, intno=intno, message="data abort")
        return Fault("unknown", pc, intno=intno, message=f"CPU exception {intno}")

    def _enter(self, mode: int, offset: int, lr: int, mask_async: bool) -> None:
        cpsr = self.cpsr
        sctlr = self.cp15("SCTLR")
        new = (cpsr & ~(0x1F | CPSR_T | CPSR_IT | (1 << 9))) | mode | CPSR_I
        if mask_async:
            new |= CPSR_A
        if sctlr & SCTLR_TE:
            new |= CPSR_T
        if sctlr & SCTLR_EE:
            new |= 1 << 9
        self.uc.reg_write(A.UC_ARM_REG_CPSR, new)
        self.uc.reg_write(A.UC_ARM_REG_SPSR, cpsr)
        self.uc.reg_write(A.UC_ARM_REG_LR, lr & 0xFFFF_FFFF)
        self.pc = (self.vector_base() + offset) & 0xFFFF_FFFF

    def take_irq(self) -> None:
        self._enter(MODE_IRQ, VEC_IRQ, self.pc + 4, mask_async=True)

    def insn_size(self, addr: int) -> int:
        if not self.thumb():
            return 4
        hw = int.from_bytes(self.read_virt(addr, 2), "little")
        return 4 if (hw >> 11) in (0b11101, 0b11110, 0b11111) else 2

    def deliver(self, fault: Fault) -> None:
        vbase = self.vector_base()
        if fault.kind in ("prefetch", "data") and vbase <= fault.pc < vbase + 0x20:
            raise GuestStop(
                f"{fault.message} at pc={fault.pc:#010x} while entering the exception vectors at "
                f"{vbase:#010x}: no vector table there (set VBAR or SCTLR.V)",
                139,
            )
        if fault.kind == "svc":
            self._enter(MODE_SVC, VEC_SVC, fault.pc, mask_async=False)
        elif fault.kind == "undef":
            self._enter(MODE_UND, VEC_UNDEF, fault.pc + self.insn_size(fault.pc), False)
        elif fault.kind in ("prefetch", "bkpt"):
            fs = FSR_DEBUG if fault.kind == "bkpt" else fault_status(fault)
            self.set_cp15("IFSR", fs)
            if fault.kind == "prefetch":
                self.set_cp15("IFAR", fault.addr)
            self._enter(MODE_ABT, VEC_PABT, fault.pc + 4, mask_async=True)
        elif fault.kind == "data":
            fs = fault_status(fault) | (FSR_WNR if fault.is_write else 0)
            if fault.status is not None:
                fs = fault.status  # the walker's FSR, WnR included
            self.set_cp15("DFSR", fs)
            self.set_cp15("DFAR", fault.addr)
            self._enter(MODE_ABT, VEC_DABT, fault.pc + 8, mask_async=True)
        else:
            raise GuestStop(f"{fault.message} at pc={fault.pc:#010x}", 134)


#: (CRm, opc2) of `mcr p15, 0, Rt, c7, CRm, opc2` -> the cache model's operation
CACHE_OPS = {
    (6, 1): "invalidate",  # DCIMVAC
    (10, 1): "clean",  # DCCMVAC
    (11, 1): "clean",  # DCCMVAU: to the point of unification, which is memory here
    (14, 1): "flush",  # DCCIMVAC
    (6, 2): "invalidate-sw",  # DCISW
    (10, 2): "clean-sw",  # DCCSW
    (14, 2): "flush-sw",  # DCCISW
    (10, 4): "barrier",  # CP15DSB
    (10, 5): "barrier",  # CP15DMB
}


def _find_all(code: bytes, pattern: bytes) -> list[int]:
    out = []
    i = code.find(pattern)
    while i >= 0:
        out.append(i)
        i = code.find(pattern, i + 1)
    return out


def _is_cp15_write(word: bytes) -> bool:
    """An unconditional-or-AL `mcr p15, ...` (cond 1110 1110, L=0, coproc 15, bit4 = 1)."""
    w = int.from_bytes(word, "little")
    return w & 0xFF10_0F10 == 0xEE00_0F10


def fault_status(fault: Fault) -> int:
    """The FSR value: the walker's, or a synchronous external abort (FS = 0b01000)."""
    if fault.status is not None:
        return fault.status & ~FSR_WNR
    return FSR_EXTERNAL_ABORT
