"""x86-32 CPU: protected-mode boot state, IDT delivery, hlt, instruction counting.

Interrupt and exception delivery follows the Intel SDM vol. 3 §6.12 for a same-privilege
transfer through a 32-bit interrupt or trap gate: the gate is read from the IDT (IDTR base +
8 × vector, within IDTR limit, present, type 0xE or 0xF), EFLAGS, CS and EIP are pushed (and an
error code for vectors 8, 10–14 and 17), TF/NT/RF are cleared, IF is cleared for interrupt
gates, and CS:EIP is loaded from the gate. A vector with no usable gate escalates as on real
hardware to a triple fault, which stops the run.

Not modelled (later issues): privilege changes through the TSS, task gates, PAE/paging faults
here (the walker is the MMU issue), NMI. Unicorn does not expose QEMU's pending error code, so
faults other than page faults push an error code of 0.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import capstone
import unicorn
from unicorn import x86_const as X

from emulator.cpu.base import Cpu, Fault, GuestStop
from emulator.mmu import AccessType, MemType, Translation, WalkFault
from emulator.mmu.x86 import X86MmuState
from emulator.mmu.x86 import dump as x86_dump
from emulator.mmu.x86 import mappings as x86_mappings
from emulator.mmu.x86 import walk as x86_walk

if TYPE_CHECKING:
    from emulator.machine import Machine

EFLAGS_TF, EFLAGS_IF, EFLAGS_NT, EFLAGS_RF = 1 << 8, 1 << 9, 1 << 14, 1 << 16
VEC_UD, VEC_PF = 6, 14
CR0_PG = 1 << 31
MSR_EFER, MSR_PAT = 0xC000_0080, 0x277
ERROR_CODE_VECTORS = frozenset({8, 10, 11, 12, 13, 14, 17})
VECTOR_NAMES = {
    0: "#DE",
    1: "#DB",
    3: "#BP",
    4: "#OF",
    5: "#BR",
    6: "#UD",
    7: "#NM",
    8: "#DF",
    10: "#TS",
    11: "#NP",
    12: "#SS",
    13: "#GP",
    14: "#PF",
    16: "#MF",
    17: "#AC",
    18: "#MC",
    19: "#XM",
}

BOOT_CS, BOOT_DS = 0x08, 0x10
_CS_REGS = {
    getattr(capstone.x86, f"X86_REG_{n.upper()}"): getattr(X, f"UC_X86_REG_{n.upper()}")
    for n in ("eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp")
}
#: The boot GDT: null, flat 4 GiB ring-0 code (0x08) and data (0x10), as multiboot loaders set up.
BOOT_GDT = struct.pack("<QQQ", 0, 0x00CF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF)


class X86Cpu(Cpu):
    arch = "x86"
    pc_reg = X.UC_X86_REG_EIP
    line_size = 64

    def __init__(self, machine: Machine) -> None:
        uc = unicorn.Uc(unicorn.UC_ARCH_X86, unicorn.UC_MODE_32)
        self._cs = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_32)
        self._cs_detail = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_32)
        self._cs_detail.detail = True
        self._decoded: dict[int, capstone.CsInsn | None] = {}
        self._mmu_state: X86MmuState | None = None
        super().__init__(machine, uc)

    def reg(self, r: int) -> int:
        return self.reg_fast(r)

    def irq_masked(self) -> bool:
        return not self.reg(X.UC_X86_REG_EFLAGS) & EFLAGS_IF

    def registers(self) -> dict[str, int]:
        names = ("eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp", "eip", "eflags")
        return {n: self.reg(getattr(X, f"UC_X86_REG_{n.upper()}")) for n in names}

    # -- boot ----------------------------------------------------------------------------

    def boot(self, entry: int, dtb_addr: int, scratch: int = 0) -> None:
        """Datasheet §5: 32-bit protected mode, flat 4 GiB code/data segments, paging and
        interrupts off, EBX = DTB address. The flat segments come from a boot GDT at
        `scratch` (the firmware should load its own, as with multiboot)."""
        gdt_addr = scratch
        self.write_virt(gdt_addr, BOOT_GDT)
        uc = self.uc
        uc.reg_write(X.UC_X86_REG_GDTR, (0, gdt_addr, len(BOOT_GDT) - 1, 0))
        uc.reg_write(X.UC_X86_REG_CS, BOOT_CS)
        for seg in (
            X.UC_X86_REG_DS,
            X.UC_X86_REG_ES,
            X.UC_X86_REG_SS,
            X.UC_X86_REG_FS,
            X.UC_X86_REG_GS,
        ):
            uc.reg_write(seg, BOOT_DS)
        uc.reg_write(X.UC_X86_REG_EFLAGS, 0x2)
        for r in (
            X.UC_X86_REG_EAX,
            X.UC_X86_REG_ECX,
            X.UC_X86_REG_EDX,
            X.UC_X86_REG_ESI,
            X.UC_X86_REG_EDI,
            X.UC_X86_REG_EBP,
            X.UC_X86_REG_ESP,
        ):
            uc.reg_write(r, 0)
        uc.reg_write(X.UC_X86_REG_EBX, dtb_addr)
        self.pc = entry

    # -- instruction counting and hlt ----------------------------------------------------

    def count_block(self, addr: int, size: int) -> int:
        code = self.read_virt(addr, size)
        n = 0
        used = 0
        for _addr, isize, _m, _o in self._cs.disasm_lite(code, addr):
            n += 1
            used += isize
        return max(1, n + (1 if used < size else 0))

    # -- translation ---------------------------------------------------------------------

    def mmu_state(self) -> X86MmuState:
        """CR0/CR3/CR4/EFER/PAT, re-read only after the guest wrote one of them (the scanner
        hooks `mov crN, r` and `wrmsr`) or Python did (`set_control`)."""
        if self._mmu_state is None:
            self._mmu_state = X86MmuState.from_cpu(self._read_control)
        return self._mmu_state

    def _read_control(self, name: str) -> int:
        if name == "EFER":
            return int(self.uc.reg_read(X.UC_X86_REG_MSR, MSR_EFER))
        if name == "PAT":
            return int(self.uc.reg_read(X.UC_X86_REG_MSR, MSR_PAT))
        return self.reg(getattr(X, f"UC_X86_REG_{name}"))

    def reg_control(self, name: str) -> int:
        """CR0/CR3/CR4/EFER/PAT as the walker reads them."""
        return self._read_control(name)

    def set_control(self, name: str, value: int) -> None:
        if name in ("EFER", "PAT"):
            msr = MSR_EFER if name == "EFER" else MSR_PAT
            self.uc.reg_write(X.UC_X86_REG_MSR, (msr, value))
        else:
            self.uc.reg_write(getattr(X, f"UC_X86_REG_{name}"), value)
        self._mmu_state = None
        self.flush_tlb()

    def is_user(self) -> bool:
        return self.reg(X.UC_X86_REG_CS) & 3 == 3

    def walk(self, vaddr: int, access: AccessType, user: bool) -> Translation | WalkFault:
        state = self.mmu_state()
        if not state.cr0 & CR0_PG:
            # paging off: flat, write-back (datasheet §3)
            return Translation(vaddr, vaddr, 4096, 7, MemType.WRITE_BACK)
        return x86_walk(state, vaddr, access, user, self._walk_read, self._walk_write)

    def _walk_read(self, paddr: int, size: int) -> int:
        """x86 table walks are coherent with the data cache (SDM vol. 3 §11.3)."""
        if self.cache is not None:
            data = self.cache.cpu_read(paddr, size, MemType.WRITE_BACK, paddr)
        else:
            data = self.bus.read(paddr, size)
        return int.from_bytes(data, "little")

    def _walk_write(self, paddr: int, size: int, value: int) -> None:
        data = value.to_bytes(size, "little")
        if self.cache is not None:
            self.cache.cpu_write(paddr, data, MemType.WRITE_BACK, paddr)
        else:
            self.bus.write(paddr, data)

    def mappings(self, user: bool = False) -> Iterator[Translation]:
        """Every valid mapping of the current address space (nothing with the MMU off)."""
        return x86_mappings(self.mmu_state(), self._walk_read, user)

    def dump_page_tables(self, markers: Sequence[tuple[int, str]] = ()) -> str:
        """The current tables in the style of Linux's kernel page-table dump."""
        return x86_dump(self.mmu_state(), self._walk_read, markers)

    def fault_from_walk(self, wf: WalkFault, pc: int) -> Fault:
        return Fault(
            "int",
            pc,
            wf.vaddr,
            wf.access is AccessType.WRITE,
            intno=VEC_PF,
            message=f"#PF ({wf.kind})",
            status=wf.status,
            access=wf.access.value,
        )

    def data_address(self, pc: int) -> int | None:
        """Linear address of the first data access of the instruction at `pc` (registers as
        before it ran: Unicorn restores them on a fault)."""
        insn = next(self._cs_detail.disasm(self.read_virt(pc, 15), pc, 1), None)
        if insn is None:
            return None
        for op in insn.operands:
            if op.type == capstone.x86.X86_OP_MEM:
                if insn.mnemonic == "lea":
                    return None
                ea = self._effective_address(insn, op)
                seg = op.mem.segment
                if seg == capstone.x86.X86_REG_FS:
                    ea += self.segment_base(X.UC_X86_REG_FS)
                elif seg == capstone.x86.X86_REG_GS:
                    ea += self.segment_base(X.UC_X86_REG_GS)
                return ea & 0xFFFF_FFFF
        name = insn.mnemonic
        esp = self.reg(X.UC_X86_REG_ESP)
        if name.startswith(("push", "call")):
            return (esp - 4) & 0xFFFF_FFFF
        if name.startswith(("pop", "ret", "iret", "leave")):
            return esp if name != "leave" else self.reg(X.UC_X86_REG_EBP)
        if name.startswith(("stos", "scas", "ins")) or "movs" in name and "movsx" not in name:
            return (
                self.reg(X.UC_X86_REG_EDI)
                if name.startswith(("stos", "scas", "ins"))
                else self.reg(X.UC_X86_REG_ESI)
            )
        if name.startswith(("lods", "outs", "cmps")):
            return self.reg(X.UC_X86_REG_ESI)
        return None

    def segment_base(self, seg_reg: int) -> int:
        """A segment register's base, from the descriptor its selector names (GDT or LDT).

        Unicorn has no 32-bit read of the hidden base: FS_BASE/GS_BASE (ids 250/251) are
        64-bit-mode registers, and reading them here only prints a deprecation warning."""
        sel = self.reg(seg_reg)
        if not sel & ~3:
            return 0  # the null selector
        table = X.UC_X86_REG_LDTR if sel & 4 else X.UC_X86_REG_GDTR
        _sel, base, limit, _flags = self.uc.reg_read(table)
        if (sel & ~7) + 7 > limit:
            return 0
        desc = int.from_bytes(self.read_virt(base + (sel & ~7), 8), "little")
        return ((desc >> 16) & 0xFF_FFFF) | ((desc >> 56) & 0xFF) << 24

    # -- cache and control instructions --------------------------------------------------

    def find_special(self, code: bytes) -> list[tuple[int, Callable[[int], bool]]]:
        """clflush, clflushopt, wbinvd, mfence, sfence, mov to CRn, wrmsr: candidates by
        opcode bytes; each is decoded again when (if ever) it executes."""
        found: list[tuple[int, Callable[[int], bool]]] = []
        i = code.find(b"\x0f")
        while i >= 0:
            op = code[i + 1 : i + 3]
            if op[:1] == b"\xae" and len(op) == 2:
                reg = (op[1] >> 3) & 7
                if op[1] >> 6 != 3 and reg == 7:  # clflush m8
                    found.append((i, self._on_cache_insn))
                    if i > 0 and code[i - 1] == 0x66:  # clflushopt
                        found.append((i - 1, self._on_cache_insn))
                elif op[1] in (0xF0, 0xF8):  # mfence, sfence
                    found.append((i, self._on_cache_insn))
            elif op[:1] in (b"\x09", b"\x22", b"\x30"):  # wbinvd, mov crN, wrmsr
                found.append((i, self._on_cache_insn))
            elif op[:1] == b"\x01" and len(op) == 2 and (op[1] >> 3) & 7 == 7 and op[1] >> 6 != 3:
                found.append((i, self._on_cache_insn))  # invlpg
            i = code.find(b"\x0f", i + 1)
        return found

    def _on_cache_insn(self, addr: int) -> bool:
        insn = self._decoded.get(addr)
        if insn is None:
            try:
                insn = next(self._cs_detail.disasm(self.read_virt(addr, 15), addr, 1), None)
            except Exception:  # noqa: BLE001 - unreadable: nothing to do
                insn = None
            self._decoded[addr] = insn
        if insn is None:
            return False
        name = insn.mnemonic
        if name == "mov" and insn.op_str.startswith("cr") or name in ("wrmsr", "invlpg"):
            self._mmu_state = None
            self._utlb.clear()
            if self.cache is not None:
                self.cache.mappings_changed()
            return False
        cache = self.cache
        if cache is None:
            return False
        if name in ("mfence", "sfence"):
            cache.drain()
        elif name == "wbinvd":
            cache.flush_all(addr)
        elif name in ("clflush", "clflushopt"):
            la = self._effective_address(insn)
            try:
                pa = self.translate(la).paddr
            except Exception:  # noqa: BLE001 - #PF on clflush is not modelled: report it
                self.bus.guest_error(
                    "cpu", addr, "cmo", f"{name} of unmapped address {la:#x} at eip={addr:#010x}"
                )
                return False
            cache.flush(pa, 1, addr)
        return False

    def _effective_address(
        self, insn: capstone.CsInsn, op: capstone.x86.X86Op | None = None
    ) -> int:
        mem = (op if op is not None else insn.operands[0]).mem
        ea = int(mem.disp)
        if mem.base:
            ea += self.reg(_CS_REGS[mem.base])
        if mem.index:
            ea += self.reg(_CS_REGS[mem.index]) * mem.scale
        return ea & 0xFFFF_FFFF

    def resumed_at_wfi(self) -> bool:
        """Unicorn stops by itself after `hlt` (EIP past it); no other stop is unexplained."""
        pc = self.pc
        if pc and self.read_virt(pc - 1, 1) == b"\xf4":
            self.halted = True
            return True
        return False

    # -- interrupts and exceptions -------------------------------------------------------

    def describe_intr(self, intno: int) -> Fault:
        name = VECTOR_NAMES.get(intno, f"int {intno:#x}")
        return Fault("int", self.pc, intno=intno, message=name)

    def _gate(self, vector: int) -> tuple[int, int, int]:
        """(selector, offset, type) of the IDT gate for `vector`, or a triple fault."""
        _sel, base, limit, _flags = self.uc.reg_read(X.UC_X86_REG_IDTR)
        if vector * 8 + 7 > limit:
            raise GuestStop(
                f"triple fault: vector {vector:#x} ({VECTOR_NAMES.get(vector, 'interrupt')}) "
                f"is beyond the IDT limit {limit:#x} at eip={self.pc:#010x}",
                139,
            )
        lo, hi = struct.unpack("<II", self.read_virt(base + vector * 8, 8))
        gate_type = (hi >> 8) & 0xF
        if not hi & (1 << 15) or gate_type not in (0xE, 0xF):
            raise GuestStop(
                f"triple fault: IDT gate for vector {vector:#x} "
                f"({VECTOR_NAMES.get(vector, 'interrupt')}) is not a present interrupt or trap "
                f"gate at eip={self.pc:#010x}",
                139,
            )
        return lo >> 16, (hi & 0xFFFF_0000) | (lo & 0xFFFF), gate_type

    def _push(self, value: int) -> None:
        esp = (self.reg(X.UC_X86_REG_ESP) - 4) & 0xFFFF_FFFF
        self.write_virt(esp, struct.pack("<I", value & 0xFFFF_FFFF))
        self.uc.reg_write(X.UC_X86_REG_ESP, esp)

    def _enter(self, vector: int, return_eip: int, error_code: int | None) -> None:
        selector, offset, gate_type = self._gate(vector)
        cs = self.reg(X.UC_X86_REG_CS)
        if cs & 3:
            raise GuestStop(
                "interrupt from ring 3: privilege change through the TSS is not "
                "modelled for bare-metal guests",
                134,
            )
        eflags = self.reg(X.UC_X86_REG_EFLAGS)
        self._push(eflags)
        self._push(cs)
        self._push(return_eip)
        if error_code is not None:
            self._push(error_code)
        eflags &= ~(EFLAGS_TF | EFLAGS_NT | EFLAGS_RF)
        if gate_type == 0xE:
            eflags &= ~EFLAGS_IF
        self.uc.reg_write(X.UC_X86_REG_EFLAGS, eflags)
        if selector != cs:
            self.uc.reg_write(X.UC_X86_REG_CS, selector)
        self.pc = offset

    def take_irq(self) -> None:
        source = self.machine.intc_pending_source()
        if source is None:
            return
        self._enter(0x20 + source, self.pc, None)

    def deliver(self, fault: Fault) -> None:
        if fault.kind in ("data", "prefetch"):
            raise GuestStop(
                f"{fault.message} at address {fault.addr:#010x} (eip={fault.pc:#010x})", 135
            )
        vector = VEC_UD if fault.kind == "undef" else fault.intno
        if vector == VEC_PF:
            self.uc.reg_write(X.UC_X86_REG_CR2, fault.addr)
        code = (fault.status or 0) if vector in ERROR_CODE_VECTORS else None
        self._enter(vector, fault.pc, code)
