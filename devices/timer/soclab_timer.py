"""soclab compare timer (datasheet §4 "timer0", compatible ``soclab,timer``).

A 64-bit up-counter at 1 MHz of virtual time with one 64-bit comparator, one-shot or periodic,
and a sticky MATCH status that drives the interrupt line while set. The counter is not stored:
COUNT is ``clock.now() // 1000``. The comparator costs one clock event, scheduled at the exact
nanosecond at which COUNT reaches COMPARE and rescheduled whenever COMPARE, CTRL or PERIOD is
written.

Not modelled: prescalers, counter writes, any drift between COUNT and the syscon's TIME.

Choices the datasheet leaves open:
- "Ticks since reset" counts from power-on: the virtual clock starts at 0 with the machine.
  A later ``reset()`` clears the registers but does not rewind COUNT.
- Every write to COMPARE_LO, COMPARE_HI, CTRL or PERIOD re-evaluates the comparator: while
  ENABLE is set and COMPARE ≤ COUNT, MATCH is set at once. A guest that changes a 64-bit
  COMPARE in two writes should do so with ENABLE clear (the halves are not latched together).
- A match is an event, not a level: after the guest clears MATCH, it stays clear until the
  next match (periodic) or the next re-evaluation, even though COUNT ≥ COMPARE still holds.
- PERIODIC with PERIOD = 0 acts as one-shot and is reported as a guest error. If matches
  were missed (time jumped past several periods), COMPARE advances past COUNT in one step;
  MATCH being sticky, the guest sees what it would have seen had each match fired.
"""

from __future__ import annotations

from emulator.clock import Event
from emulator.device import DeviceContext, DeviceNode, SysBusDevice
from emulator.regs import Access, Field, RegisterBlock, on_read, on_write, reg32

TICK_NS = 1000  # 1 MHz
COMPARE_MASK = (1 << 64) - 1


class TimerRegs(RegisterBlock, size=0x1000):
    COUNT_LO = reg32(0x000, access=Access.RO)
    COUNT_HI = reg32(0x004, access=Access.RO)
    COMPARE_LO = reg32(0x008)
    COMPARE_HI = reg32(0x00C)
    CTRL = reg32(0x010, Field("ENABLE", 0, 1), Field("PERIODIC", 1, 1))
    PERIOD = reg32(0x014)
    STATUS = reg32(0x018, Field("MATCH", 0, 1, Access.W1C))


R = TimerRegs
STATUS_MATCH = R.STATUS.field("MATCH").mask


class SoclabTimer(SysBusDevice):
    compatible = ("soclab,timer",)
    Regs = TimerRegs

    def __init__(self, ctx: DeviceContext, node: DeviceNode) -> None:
        super().__init__(ctx, node)
        self._match_event: Event | None = None

    def reset(self) -> None:
        self._cancel_match()
        super().reset()
        self._update_irq()

    # -- counter --------------------------------------------------------------------------

    def _count(self) -> int:
        return self.ctx.clock.now() // TICK_NS

    @on_read(R.COUNT_LO)
    def _read_count_lo(self) -> int:
        count = self._count()
        self.regs[R.COUNT_HI] = count >> 32
        return count & 0xFFFF_FFFF

    # -- comparator -----------------------------------------------------------------------

    @property
    def _compare(self) -> int:
        return self.regs[R.COMPARE_HI] << 32 | self.regs[R.COMPARE_LO]

    @_compare.setter
    def _compare(self, value: int) -> None:
        value &= COMPARE_MASK
        self.regs[R.COMPARE_LO] = value
        self.regs[R.COMPARE_HI] = value >> 32

    @on_write(R.COMPARE_LO)
    def _write_compare_lo(self, old: int, new: int) -> None:
        self._rearm()

    @on_write(R.COMPARE_HI)
    def _write_compare_hi(self, old: int, new: int) -> None:
        self._rearm()

    @on_write(R.CTRL)
    def _write_ctrl(self, old: int, new: int) -> None:
        self._rearm()

    @on_write(R.PERIOD)
    def _write_period(self, old: int, new: int) -> None:
        self._rearm()

    def _rearm(self) -> None:
        self._cancel_match()
        if self.regs.get(R.CTRL, "ENABLE"):
            self._schedule_match()
        self._update_irq()

    def _cancel_match(self) -> None:
        if self._match_event is not None:
            self._match_event.cancel()
            self._match_event = None

    def _schedule_match(self) -> None:
        delay_ns = self._compare * TICK_NS - self.ctx.clock.now()
        if delay_ns <= 0:
            self._match()
        else:
            self._match_event = self.ctx.clock.schedule(delay_ns, self._on_match_event)

    def _on_match_event(self) -> None:
        self._match_event = None
        self._match()
        self._update_irq()

    def _match(self) -> None:
        self.regs.set_bits(R.STATUS, STATUS_MATCH)
        if not self.regs.get(R.CTRL, "PERIODIC"):
            return
        period = self.regs[R.PERIOD]
        if period == 0:
            self.ctx.bus.guest_error(
                self.name,
                R.PERIOD.offset,
                "zero-period",
                f"{self.name}: periodic match with PERIOD = 0 (acting as one-shot)",
            )
            return
        missed = (self._count() - self._compare) // period
        self._compare += (missed + 1) * period
        self._schedule_match()

    @on_write(R.STATUS)
    def _write_status(self, old: int, new: int) -> None:
        self._update_irq()

    def _update_irq(self) -> None:
        self.irq.set(bool(self.regs[R.STATUS] & STATUS_MATCH))
