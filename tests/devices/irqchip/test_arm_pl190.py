"""intc as firmware and the machine see it (datasheet §4 "intc", ARM PL190 subset)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from devices.irqchip.arm_pl190 import ArmPl190Vic

if TYPE_CHECKING:
    from conftest import Bench, Mapped

IRQSTATUS, RAWINTR, INTENABLE, INTENCLEAR = 0x000, 0x008, 0x010, 0x014
SOFTINT, SOFTINTCLEAR = 0x018, 0x01C
UART0, TIMER0, REGBANK = 1, 2, 3


@pytest.fixture
def vic(intc: Mapped) -> ArmPl190Vic:
    """The machine's side of the controller: source inputs, output line, pending source."""
    assert isinstance(intc.device, ArmPl190Vic)
    return intc.device


def test_identification_words_match_the_real_pl190(intc: Mapped) -> None:
    ids = [intc.read(off) for off in range(0xFE0, 0x1000, 4)]
    assert ids == [0x90, 0x11, 0x04, 0x00, 0x0D, 0xF0, 0x05, 0xB1]


def test_every_register_resets_to_zero(intc: Mapped, vic: ArmPl190Vic) -> None:
    regs = (IRQSTATUS, RAWINTR, INTENABLE, INTENCLEAR, SOFTINT, SOFTINTCLEAR)
    assert [intc.read(off) for off in regs] == [0] * 6
    assert not vic.output.level


def test_raised_source_is_raw_until_enabled(intc: Mapped, vic: ArmPl190Vic) -> None:
    vic.set_input(TIMER0, True)
    assert (intc.read(RAWINTR), intc.read(IRQSTATUS)) == (1 << TIMER0, 0)
    assert not vic.output.level
    intc.write(INTENABLE, 1 << TIMER0)
    assert intc.read(IRQSTATUS) == 1 << TIMER0
    assert vic.output.level


def test_intenable_write_sets_only_the_written_bits(intc: Mapped) -> None:
    intc.write(INTENABLE, 1 << UART0)
    intc.write(INTENABLE, 1 << TIMER0)
    intc.write(INTENABLE, 0)
    assert intc.read(INTENABLE) == (1 << UART0) | (1 << TIMER0)


def test_intenclear_clears_only_the_written_bits_and_reads_zero(intc: Mapped) -> None:
    intc.write(INTENABLE, 0b1110)
    intc.write(INTENCLEAR, 1 << TIMER0)
    assert intc.read(INTENABLE) == 0b1010
    assert intc.read(INTENCLEAR) == 0


def test_softint_raises_a_source_and_softintclear_lowers_it(intc: Mapped) -> None:
    intc.write(INTENABLE, 0xFFFF_FFFF)
    intc.write(SOFTINT, 1 << 31)
    intc.write(SOFTINT, 1 << 7)
    assert intc.read(SOFTINT) == (1 << 31) | (1 << 7)
    assert intc.read(RAWINTR) == intc.read(IRQSTATUS) == (1 << 31) | (1 << 7)
    intc.write(SOFTINTCLEAR, 1 << 31)
    assert intc.read(SOFTINT) == 1 << 7
    assert intc.read(SOFTINTCLEAR) == 0


def test_softintclear_does_not_lower_a_source_line(intc: Mapped, vic: ArmPl190Vic) -> None:
    vic.set_input(UART0, True)
    intc.write(SOFTINT, 1 << UART0)
    intc.write(SOFTINTCLEAR, 1 << UART0)
    assert intc.read(RAWINTR) == 1 << UART0


def test_status_registers_ignore_writes(intc: Mapped) -> None:
    intc.write(IRQSTATUS, 0xFFFF_FFFF)
    intc.write(RAWINTR, 0xFFFF_FFFF)
    assert (intc.read(IRQSTATUS), intc.read(RAWINTR)) == (0, 0)


def test_output_follows_irqstatus(intc: Mapped, vic: ArmPl190Vic) -> None:
    levels: list[bool] = []
    vic.output.connect(levels.append)
    intc.write(INTENABLE, 1 << TIMER0)
    vic.set_input(TIMER0, True)
    vic.set_input(UART0, True)  # not enabled: no change
    vic.set_input(TIMER0, False)
    intc.write(SOFTINT, 1 << TIMER0)
    intc.write(INTENCLEAR, 1 << TIMER0)
    assert levels == [True, False, True, False]


def test_pending_source_is_the_lowest_enabled_raised_source(intc: Mapped, vic: ArmPl190Vic) -> None:
    for n in (REGBANK, 5, 17):
        vic.set_input(n, True)
    assert vic.pending_source() is None
    intc.write(INTENABLE, (1 << 5) | (1 << 17))
    assert vic.pending_source() == 5
    intc.write(INTENABLE, 1 << REGBANK)
    assert vic.pending_source() == REGBANK
    vic.set_input(REGBANK, False)
    assert vic.pending_source() == 5


def test_a_source_beyond_31_is_an_emulator_bug(intc: Mapped, vic: ArmPl190Vic) -> None:
    with pytest.raises(ValueError, match="intc: no interrupt source 32"):
        vic.set_input(32, True)


def test_reset_clears_the_registers_but_not_the_source_levels(
    intc: Mapped, vic: ArmPl190Vic
) -> None:
    vic.set_input(UART0, True)
    intc.write(INTENABLE, 1 << UART0)
    intc.write(SOFTINT, 1 << 9)
    vic.reset()
    assert (intc.read(RAWINTR), intc.read(INTENABLE), intc.read(SOFTINT)) == (1 << UART0, 0, 0)
    assert not vic.output.level


def test_unimplemented_pl190_registers_read_zero_and_are_reported_once(
    bench: Bench, intc: Mapped
) -> None:
    fiqstatus, intselect, vectaddr = 0x004, 0x00C, 0x030
    assert [intc.read(off) for off in (fiqstatus, intselect, vectaddr, fiqstatus)] == [0] * 4
    assert bench.bus.guest_errors == 4
    assert len(bench.log) == 3


def test_byte_access_is_a_bus_error(bench: Bench, intc: Mapped) -> None:
    intc.write(INTENABLE, 0xFF, size=1)
    intc.read(0xFE0, size=1)
    assert [(e.addr, e.size, e.is_write) for e in bench.bus_errors] == [
        (0x1000_3010, 1, True),
        (0x1000_3FE0, 1, False),
    ]
    assert intc.read(INTENABLE) == 0
