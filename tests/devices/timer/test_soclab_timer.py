"""timer0 as firmware sees it (datasheet §4 "timer0": 1 MHz, one comparator)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Bench, Mapped

COUNT_LO, COUNT_HI, COMPARE_LO, COMPARE_HI = 0x000, 0x004, 0x008, 0x00C
CTRL, PERIOD, STATUS = 0x010, 0x014, 0x018
ENABLE, PERIODIC = 1 << 0, 1 << 1
MATCH = 1 << 0
US = 1000  # ns per tick


def start(timer: Mapped, compare: int, ctrl: int = ENABLE, period: int = 0) -> None:
    timer.write(COMPARE_LO, compare & 0xFFFF_FFFF)
    timer.write(COMPARE_HI, compare >> 32)
    timer.write(PERIOD, period)
    timer.write(CTRL, ctrl)


def test_every_register_resets_to_zero(timer: Mapped) -> None:
    assert [timer.read(off) for off in range(0, 0x1C, 4)] == [0] * 7


def test_count_ticks_once_per_virtual_microsecond(bench: Bench, timer: Mapped) -> None:
    bench.run_until(5 * US - 10)
    assert timer.read(COUNT_LO) == 4
    bench.run_until(5 * US)
    assert timer.read(COUNT_LO) == 5


def test_count_lo_read_latches_count_hi(bench: Bench, timer: Mapped) -> None:
    bench.run_until(((1 << 32) + 7) * US)
    assert timer.read(COUNT_HI) == 0
    assert timer.read(COUNT_LO) == 7
    assert timer.read(COUNT_HI) == 1


def test_count_ignores_writes(bench: Bench, timer: Mapped) -> None:
    bench.run_until(3 * US)
    timer.write(COUNT_LO, 1000)
    timer.write(COUNT_HI, 1000)
    assert (timer.read(COUNT_LO), timer.read(COUNT_HI)) == (3, 0)


def test_ctrl_keeps_only_enable_and_periodic(timer: Mapped) -> None:
    timer.write(CTRL, 0xFFFF_FFFC)
    assert timer.read(CTRL) == 0
    timer.write(CTRL, 0xFFFF_FFFF)
    assert timer.read(CTRL) == ENABLE | PERIODIC


def test_one_shot_match_happens_at_the_exact_compare_time(bench: Bench, timer: Mapped) -> None:
    start(timer, compare=100)
    assert bench.clock.next_deadline() == 100 * US
    bench.run_until(100 * US - 10)
    assert timer.read(STATUS) == 0 and not timer.irq.level
    bench.run_until(100 * US)
    assert timer.read(STATUS) == MATCH and timer.irq.level


def test_one_shot_matches_only_once(bench: Bench, timer: Mapped) -> None:
    start(timer, compare=100)
    bench.run_until(100 * US)
    timer.write(STATUS, MATCH)
    bench.advance(1_000 * US)
    assert timer.read(STATUS) == 0
    assert bench.clock.next_deadline() is None


def test_status_match_is_write_one_to_clear(bench: Bench, timer: Mapped) -> None:
    start(timer, compare=1)
    bench.run_until(1 * US)
    timer.write(STATUS, 0xFFFF_FFFE)
    assert timer.read(STATUS) == MATCH and timer.irq.level
    timer.write(STATUS, MATCH)
    assert timer.read(STATUS) == 0 and not timer.irq.level


def test_periodic_match_adds_period_to_compare(bench: Bench, timer: Mapped) -> None:
    start(timer, compare=100, ctrl=ENABLE | PERIODIC, period=50)
    bench.run_until(100 * US)
    assert timer.read(STATUS) == MATCH
    assert timer.read(COMPARE_LO) == 150
    timer.write(STATUS, MATCH)
    bench.run_until(150 * US - 10)
    assert timer.read(STATUS) == 0
    bench.run_until(150 * US)
    assert timer.read(STATUS) == MATCH and timer.read(COMPARE_LO) == 200


def test_periodic_compare_carries_into_compare_hi(bench: Bench, timer: Mapped) -> None:
    start(timer, compare=0xFFFF_FFF0, ctrl=ENABLE | PERIODIC, period=0x20)
    bench.run_until(0xFFFF_FFF0 * US)
    assert (timer.read(COMPARE_HI), timer.read(COMPARE_LO)) == (1, 0x10)
    assert bench.clock.next_deadline() == 0x1_0000_0010 * US


def test_missed_periods_collapse_into_one_match(bench: Bench, timer: Mapped) -> None:
    start(timer, compare=100, ctrl=ENABLE | PERIODIC, period=50)
    bench.run_until(1_000 * US + 10)
    assert timer.read(STATUS) == MATCH
    assert timer.read(COMPARE_LO) == 1_050
    assert bench.clock.next_deadline() == 1_050 * US


def test_compare_already_reached_matches_as_soon_as_enabled(bench: Bench, timer: Mapped) -> None:
    bench.run_until(10 * US)
    start(timer, compare=5)
    assert timer.read(STATUS) == MATCH and timer.irq.level


def test_disabled_timer_never_matches(bench: Bench, timer: Mapped) -> None:
    start(timer, compare=100, ctrl=0)
    bench.run_until(200 * US)
    assert timer.read(STATUS) == 0
    assert bench.clock.next_deadline() is None


def test_disabling_cancels_the_pending_match(bench: Bench, timer: Mapped) -> None:
    start(timer, compare=100)
    timer.write(CTRL, 0)
    bench.run_until(200 * US)
    assert timer.read(STATUS) == 0
    assert bench.clock.next_deadline() is None


def test_rewriting_compare_moves_the_single_pending_match(bench: Bench, timer: Mapped) -> None:
    start(timer, compare=100)
    timer.write(COMPARE_LO, 200)
    assert bench.clock.next_deadline() == 200 * US
    bench.run_until(100 * US)
    assert timer.read(STATUS) == 0
    bench.run_until(200 * US)
    assert timer.read(STATUS) == MATCH


def test_periodic_with_zero_period_acts_as_one_shot_and_is_reported(
    bench: Bench, timer: Mapped
) -> None:
    start(timer, compare=10, ctrl=ENABLE | PERIODIC, period=0)
    bench.run_until(10 * US)
    assert timer.read(STATUS) == MATCH
    assert bench.clock.next_deadline() is None
    assert bench.bus.guest_errors == 1
    assert bench.log == [
        "soclab: guest error: timer0: periodic match with PERIOD = 0 (acting as one-shot)"
    ]


def test_irq_line_follows_status_match(bench: Bench, timer: Mapped) -> None:
    levels = []
    timer.irq.connect(levels.append)
    start(timer, compare=10, ctrl=ENABLE | PERIODIC, period=10)
    bench.run_until(10 * US)
    timer.write(STATUS, MATCH)
    bench.run_until(20 * US)
    assert levels == [True, False, True]


def test_reset_clears_registers_and_cancels_the_match(bench: Bench, timer: Mapped) -> None:
    start(timer, compare=1)
    bench.run_until(1 * US)
    timer.write(COMPARE_LO, 100)
    timer.device.reset()
    assert [timer.read(off) for off in (COMPARE_LO, CTRL, PERIOD, STATUS)] == [0, 0, 0, 0]
    assert not timer.irq.level
    assert bench.clock.next_deadline() is None


def test_unimplemented_offset_reads_zero_and_is_reported_once(bench: Bench, timer: Mapped) -> None:
    assert timer.read(0x01C) == 0
    assert timer.read(0x01C) == 0
    assert bench.bus.guest_errors == 2
    assert len(bench.log) == 1


def test_halfword_access_is_a_bus_error(bench: Bench, timer: Mapped) -> None:
    timer.write(CTRL, ENABLE, size=2)
    assert [(e.addr, e.size, e.is_write) for e in bench.bus_errors] == [(0x1000_2010, 2, True)]
    assert timer.read(CTRL) == 0
