"""ARM PrimeCell Vectored Interrupt Controller PL190, the subset of datasheet §4 "intc"
(compatible ``arm,pl190-vic``).

Reference: ARM PrimeCell Vectored Interrupt Controller (PL190) Technical Reference Manual,
ARM DDI 0181E, chapter 3 (register map, VICPeriphID0-3 and VICPCellID0-3).

32 level-sensitive sources. RAWINTR is the source lines ORed with the software-raised bits
(SOFTINT); IRQSTATUS is RAWINTR & INTENABLE, and the output line to the CPU is high while
IRQSTATUS ≠ 0. The machine drives the inputs with ``set_input(n, level)``, connects ``output``
to the CPU, and on x86 asks ``pending_source()`` for the lowest pending source (vector 0x20 + n).

Not modelled: FIQ (FIQSTATUS, INTSELECT — every source is an IRQ), the vectored interface
(VECTADDR, DEFVECTADDR, VECTADDRn, VECTCNTLn and their priority logic), PROTECTION, and the
test registers. Their offsets are unimplemented: they read 0 and are reported once.

Choices the datasheet leaves open:
- PeriphID3 is 0x00 and the PrimeCell ID words 0x0D, 0xF0, 0x05, 0xB1 are present at
  0xFF0-0xFFC, as on the real PL190.
- ``reset()`` clears the registers but not the source levels: those are wires driven by the
  other devices, which keep their level across the controller's reset.
"""

from __future__ import annotations

from emulator.device import DeviceContext, DeviceNode, SysBusDevice
from emulator.irq import IrqLine
from emulator.regs import Access, RegisterBlock, on_write, reg32

NR_SOURCES = 32


class Pl190Regs(RegisterBlock, size=0x1000):
    IRQSTATUS = reg32(0x000, access=Access.RO)
    RAWINTR = reg32(0x008, access=Access.RO)
    INTENABLE = reg32(0x010, access=Access.W1S)
    INTENCLEAR = reg32(0x014, access=Access.WO)
    SOFTINT = reg32(0x018, access=Access.W1S)
    SOFTINTCLEAR = reg32(0x01C, access=Access.WO)
    # Identification: part 0x190, designer 0x41 (ARM), revision 0; PrimeCell B105F00D.
    PERIPH_ID0 = reg32(0xFE0, access=Access.RO, reset=0x90)
    PERIPH_ID1 = reg32(0xFE4, access=Access.RO, reset=0x11)
    PERIPH_ID2 = reg32(0xFE8, access=Access.RO, reset=0x04)
    PERIPH_ID3 = reg32(0xFEC, access=Access.RO, reset=0x00)
    PCELL_ID0 = reg32(0xFF0, access=Access.RO, reset=0x0D)
    PCELL_ID1 = reg32(0xFF4, access=Access.RO, reset=0xF0)
    PCELL_ID2 = reg32(0xFF8, access=Access.RO, reset=0x05)
    PCELL_ID3 = reg32(0xFFC, access=Access.RO, reset=0xB1)


R = Pl190Regs


class ArmPl190Vic(SysBusDevice):
    compatible = ("arm,pl190-vic",)
    Regs = Pl190Regs

    def __init__(self, ctx: DeviceContext, node: DeviceNode) -> None:
        super().__init__(ctx, node)
        self.lines = 0  # source levels, bit n = input n
        self.output = IrqLine(f"{node.name}.irq")

    def reset(self) -> None:
        super().reset()
        self._update_irq()

    def set_input(self, n: int, level: bool) -> None:
        if not 0 <= n < NR_SOURCES:
            raise ValueError(f"{self.name}: no interrupt source {n}")
        if level:
            self.lines |= 1 << n
        else:
            self.lines &= ~(1 << n)
        self._update_irq()

    def pending_source(self) -> int | None:
        """The lowest-numbered enabled source that is raised, or None."""
        status = self.regs[R.IRQSTATUS]
        return (status & -status).bit_length() - 1 if status else None

    @on_write(R.INTENABLE)
    def _write_intenable(self, old: int, new: int) -> None:
        self._update_irq()

    @on_write(R.INTENCLEAR)
    def _write_intenclear(self, old: int, new: int) -> None:
        self.regs.clear_bits(R.INTENABLE, new)
        self._update_irq()

    @on_write(R.SOFTINT)
    def _write_softint(self, old: int, new: int) -> None:
        self._update_irq()

    @on_write(R.SOFTINTCLEAR)
    def _write_softintclear(self, old: int, new: int) -> None:
        self.regs.clear_bits(R.SOFTINT, new)
        self._update_irq()

    def _update_irq(self) -> None:
        raw = self.lines | self.regs[R.SOFTINT]
        status = raw & self.regs[R.INTENABLE]
        self.regs[R.RAWINTR] = raw
        self.regs[R.IRQSTATUS] = status
        self.output.set(status != 0)
