"""ARM PrimeCell UART PL011 r1p5, the subset of datasheet §4 "uart0" (compatible ``arm,pl011``).

Reference: ARM PrimeCell UART (PL011) Technical Reference Manual r1p5, ARM DDI 0183G,
chapter 3 (register map, reset values, UARTPeriphID0-3 and UARTPCellID0-3).

Transmission is instantaneous: a byte written to DR reaches the host console at once, so the
transmitter always reads as idle (FR.TXFE = 1, FR.TXFF = 0) and TX-ready is always raised.
Reception goes through a 32-byte RX FIFO (the r1p5 depth) filled from the host console
(``ctx.console.read_input()``) whenever the guest reads FR or DR with the FIFO empty, and —
while IMSC.RXIM is set and the console has not reached end of input — by a poll every 1 ms
of virtual time, so interrupt-driven reception works. The poll event exists only while it
can be useful (RXIM set, input not at its end, room in the FIFO). Bytes the host delivered
beyond the FIFO wait in a host-side backlog and enter the FIFO as the guest reads DR:
nothing is lost and there is no overrun.

Not modelled: baud rate and line format (IBRD, FBRD, LCR_H, CR are stored with no effect),
line errors (DR bits 11:8, RSR/ECR), modem lines, IrDA, DMA (DMACR), FIFO trigger levels
(IFLS) and the receive-timeout, modem and error interrupts. Registers outside the datasheet
subset (RSR, ILPR, IFLS, DMACR, test registers) are unimplemented offsets: they read 0 and
are reported once as guest errors.

Deviations from the real part, as the datasheet asks:
- RXRIS means "RX data waiting" (FIFO not empty) instead of "FIFO at the trigger level or
  receive timeout"; writing ICR.RXIC clears it until new data arrives in the FIFO.
- TXRIS is always 1 (the TX FIFO drains instantly); ICR.TXIC has no lasting effect. A guest
  using TXIM masks it when it has nothing to send, as Linux's amba-pl011 does.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from emulator.clock import Event
from emulator.device import DeviceContext, DeviceNode, SysBusDevice
from emulator.regs import Access, Field, RegisterBlock, on_read, on_write, reg32

RX_FIFO_DEPTH = 32  # PL011 r1p5; earlier revisions have 16
RX_POLL_NS = 1_000_000  # 1 ms of virtual time


class Pl011Regs(RegisterBlock, size=0x1000):
    DR = reg32(0x000, Field("DATA", 0, 8))
    FR = reg32(
        0x018,
        Field("RXFE", 4, 1, Access.RO, reset=1),
        Field("TXFF", 5, 1, Access.RO),
        Field("TXFE", 7, 1, Access.RO, reset=1),
    )
    IBRD = reg32(0x024, Field("BAUD_DIVINT", 0, 16))
    FBRD = reg32(0x028, Field("BAUD_DIVFRAC", 0, 6))
    LCR_H = reg32(
        0x02C,
        Field("BRK", 0, 1),
        Field("PEN", 1, 1),
        Field("EPS", 2, 1),
        Field("STP2", 3, 1),
        Field("FEN", 4, 1),
        Field("WLEN", 5, 2),
        Field("SPS", 7, 1),
    )
    CR = reg32(
        0x030,
        Field("UARTEN", 0, 1),
        Field("SIREN", 1, 1),
        Field("SIRLP", 2, 1),
        Field("LBE", 7, 1),
        Field("TXE", 8, 1, reset=1),
        Field("RXE", 9, 1, reset=1),
        Field("DTR", 10, 1),
        Field("RTS", 11, 1),
        Field("OUT1", 12, 1),
        Field("OUT2", 13, 1),
        Field("RTSEN", 14, 1),
        Field("CTSEN", 15, 1),
    )
    IMSC = reg32(0x038, Field("RXIM", 4, 1), Field("TXIM", 5, 1))
    RIS = reg32(0x03C, Field("RXRIS", 4, 1, Access.RO), Field("TXRIS", 5, 1, Access.RO, reset=1))
    MIS = reg32(0x040, Field("RXMIS", 4, 1, Access.RO), Field("TXMIS", 5, 1, Access.RO))
    ICR = reg32(0x044, Field("RXIC", 4, 1, Access.WO), Field("TXIC", 5, 1, Access.WO))
    # Identification: part 0x011, designer 0x41 (ARM), revision 3 (r1p5); PrimeCell B105F00D.
    PERIPH_ID0 = reg32(0xFE0, access=Access.RO, reset=0x11)
    PERIPH_ID1 = reg32(0xFE4, access=Access.RO, reset=0x10)
    PERIPH_ID2 = reg32(0xFE8, access=Access.RO, reset=0x34)
    PERIPH_ID3 = reg32(0xFEC, access=Access.RO, reset=0x00)
    PCELL_ID0 = reg32(0xFF0, access=Access.RO, reset=0x0D)
    PCELL_ID1 = reg32(0xFF4, access=Access.RO, reset=0xF0)
    PCELL_ID2 = reg32(0xFF8, access=Access.RO, reset=0x05)
    PCELL_ID3 = reg32(0xFFC, access=Access.RO, reset=0xB1)


R = Pl011Regs
INT_RX = R.IMSC.field("RXIM").mask  # bit 4 in IMSC, RIS, MIS and ICR alike
INT_TX = R.IMSC.field("TXIM").mask  # bit 5
FR_RXFE = R.FR.field("RXFE").mask
FR_TXFE = R.FR.field("TXFE").mask


@dataclass
class Pl011State:
    rx_fifo: deque[int] = field(default_factory=deque)
    rx_acked: bool = False  # ICR.RXIC written: RXRIS stays low until new data arrives


class ArmPl011(SysBusDevice):
    compatible = ("arm,pl011",)
    Regs = Pl011Regs

    def __init__(self, ctx: DeviceContext, node: DeviceNode) -> None:
        super().__init__(ctx, node)
        self.state = Pl011State()
        self._rx_backlog = bytearray()  # delivered by the host, not yet in the FIFO
        self._rx_poll: Event | None = None

    def reset(self) -> None:
        super().reset()
        self.state = Pl011State()
        self._update_irq()
        self._update_rx_poll()

    # -- transmit -------------------------------------------------------------------------

    @on_write(R.DR)
    def _write_dr(self, old: int, new: int) -> None:
        self.ctx.console.write(bytes([new & 0xFF]))

    # -- receive --------------------------------------------------------------------------

    @on_read(R.DR)
    def _read_dr(self) -> int:
        fifo = self.state.rx_fifo
        if not fifo:
            self._receive(ask_host=True)
        data = fifo.popleft() if fifo else 0
        self._receive(ask_host=False)
        self._update_irq()
        self._update_rx_poll()
        return data

    @on_read(R.FR)
    def _read_fr(self) -> int:
        if not self.state.rx_fifo:
            self._receive(ask_host=True)
            self._update_irq()
            self._update_rx_poll()
        return FR_TXFE | (0 if self.state.rx_fifo else FR_RXFE)

    def _receive(self, ask_host: bool) -> None:
        """Move received bytes into the RX FIFO, asking the host for more if none wait."""
        fifo = self.state.rx_fifo
        if ask_host and not self._rx_backlog and len(fifo) < RX_FIFO_DEPTH:
            self._rx_backlog += self.ctx.console.read_input() or b""
        room = min(RX_FIFO_DEPTH - len(fifo), len(self._rx_backlog))
        if room:
            fifo.extend(self._rx_backlog[:room])
            del self._rx_backlog[:room]
            self.state.rx_acked = False

    def _update_rx_poll(self) -> None:
        """Keep the 1 ms host poll scheduled exactly while it can raise an RX interrupt."""
        wanted = (
            bool(self.regs[R.IMSC] & INT_RX)
            and not self.ctx.console.at_eof
            and len(self.state.rx_fifo) < RX_FIFO_DEPTH
        )
        if wanted and self._rx_poll is None:
            self._rx_poll = self.ctx.clock.schedule(RX_POLL_NS, self._poll_host)
        elif not wanted and self._rx_poll is not None:
            self._rx_poll.cancel()
            self._rx_poll = None

    def _poll_host(self) -> None:
        self._rx_poll = None
        self._receive(ask_host=True)
        self._update_irq()
        self._update_rx_poll()

    # -- interrupts -----------------------------------------------------------------------

    @on_write(R.IMSC)
    def _write_imsc(self, old: int, new: int) -> None:
        self._update_irq()
        self._update_rx_poll()

    @on_write(R.ICR)
    def _write_icr(self, old: int, new: int) -> None:
        if new & INT_RX and self.state.rx_fifo:
            self.state.rx_acked = True
        # HW quirk: TXIC cannot clear TXRIS here, the transmitter is always ready.
        self._update_irq()

    def _update_irq(self) -> None:
        ris = INT_TX
        if self.state.rx_fifo and not self.state.rx_acked:
            ris |= INT_RX
        mis = ris & self.regs[R.IMSC]
        self.regs[R.RIS] = ris
        self.regs[R.MIS] = mis
        self.irq.set(mis != 0)
