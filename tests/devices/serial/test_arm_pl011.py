"""uart0 as firmware sees it (datasheet §4 "uart0", ARM PL011 subset)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Bench, Mapped

DR, FR, IBRD, FBRD, LCR_H, CR = 0x000, 0x018, 0x024, 0x028, 0x02C, 0x030
IMSC, RIS, MIS, ICR = 0x038, 0x03C, 0x040, 0x044
RXFE, TXFF, TXFE = 1 << 4, 1 << 5, 1 << 7
RX, TX = 1 << 4, 1 << 5  # bits of IMSC, RIS, MIS and ICR
MS = 1_000_000  # ns


def interactive(bench: Bench) -> None:
    """The host console stays open with nothing typed yet (a terminal, not a file)."""
    bench.console.reader = lambda: b""


def test_identification_words_match_the_real_pl011_r1p5(uart: Mapped) -> None:
    ids = [uart.read(off) for off in range(0xFE0, 0x1000, 4)]
    assert ids == [0x11, 0x10, 0x34, 0x00, 0x0D, 0xF0, 0x05, 0xB1]


def test_registers_reset_as_on_the_real_pl011(uart: Mapped) -> None:
    assert uart.read(FR) == RXFE | TXFE
    assert uart.read(CR) == 0x300  # TXE | RXE
    assert [uart.read(off) for off in (IBRD, FBRD, LCR_H, IMSC, MIS, ICR)] == [0] * 6
    assert uart.read(RIS) == TX


def test_dr_write_sends_the_low_byte_to_the_console(bench: Bench, uart: Mapped) -> None:
    for b in b"ok\n":
        uart.write(DR, 0x700 | b)
    assert bytes(bench.console.output) == b"ok\n"


def test_transmitter_is_always_ready(uart: Mapped) -> None:
    for _ in range(100):
        uart.write(DR, ord("x"))
    assert uart.read(FR) & (TXFE | TXFF) == TXFE


def test_received_bytes_are_read_from_dr_until_rxfe(bench: Bench, uart: Mapped) -> None:
    bench.console.feed(b"hi")
    assert uart.read(FR) & RXFE == 0
    assert [uart.read(DR), uart.read(DR)] == [ord("h"), ord("i")]
    assert uart.read(FR) & RXFE
    assert uart.read(DR) == 0


def test_bytes_beyond_the_fifo_are_not_lost(bench: Bench, uart: Mapped) -> None:
    data = bytes(range(100))
    bench.console.feed(data)
    assert bytes(uart.read(DR) for _ in range(100)) == data
    assert uart.read(FR) & RXFE


def test_flag_register_ignores_writes(uart: Mapped) -> None:
    uart.write(FR, 0xFFFF_FFFF)
    assert uart.read(FR) == RXFE | TXFE


def test_configuration_registers_keep_only_their_bits(uart: Mapped) -> None:
    for off in (IBRD, FBRD, LCR_H, CR, IMSC):
        uart.write(off, 0xFFFF_FFFF)
    assert [uart.read(off) for off in (IBRD, FBRD, LCR_H, CR, IMSC)] == [
        0xFFFF,
        0x3F,
        0xFF,
        0xFF87,
        RX | TX,
    ]


def test_rx_interrupt_needs_rxim_and_waiting_data(bench: Bench, uart: Mapped) -> None:
    bench.console.feed(b"a")
    uart.read(FR)
    assert uart.read(RIS) == RX | TX
    assert uart.read(MIS) == 0 and not uart.irq.level
    uart.write(IMSC, RX)
    assert uart.read(MIS) == RX and uart.irq.level
    uart.read(DR)
    assert uart.read(MIS) == 0 and not uart.irq.level


def test_icr_clears_the_rx_interrupt_until_new_data_arrives(bench: Bench, uart: Mapped) -> None:
    interactive(bench)
    bench.console.feed(b"a")
    uart.write(IMSC, RX)
    uart.read(FR)
    uart.write(ICR, TX)
    assert uart.irq.level
    uart.write(ICR, RX)
    assert uart.read(RIS) & RX == 0 and not uart.irq.level
    assert uart.read(FR) & RXFE == 0  # the byte is still there
    bench.console.feed(b"b")
    bench.advance(1 * MS)
    assert uart.read(MIS) == RX and uart.irq.level


def test_icr_is_write_only(uart: Mapped) -> None:
    uart.write(ICR, RX | TX)
    assert uart.read(ICR) == 0


def test_tx_interrupt_stays_pending_while_txim_is_set(uart: Mapped) -> None:
    uart.write(IMSC, TX)
    assert uart.read(MIS) == TX and uart.irq.level
    uart.write(ICR, TX)
    assert uart.read(MIS) == TX and uart.irq.level
    uart.write(IMSC, 0)
    assert not uart.irq.level


def test_rx_poll_picks_up_bytes_typed_later(bench: Bench, uart: Mapped) -> None:
    interactive(bench)
    uart.write(IMSC, RX)
    bench.advance(MS // 2)
    bench.console.feed(b"k")
    assert not uart.irq.level
    bench.advance(MS // 2)
    assert uart.irq.level
    assert uart.read(DR) == ord("k")


def test_no_poll_event_without_rxim(bench: Bench, uart: Mapped) -> None:
    interactive(bench)
    assert bench.clock.next_deadline() is None
    bench.console.feed(b"k")
    bench.advance(10 * MS)
    assert uart.read(RIS) & RX == 0
    assert uart.read(FR) & RXFE == 0  # reading FR receives the byte


def test_clearing_rxim_cancels_the_poll(bench: Bench, uart: Mapped) -> None:
    interactive(bench)
    uart.write(IMSC, RX)
    assert bench.clock.next_deadline() == 1 * MS
    uart.write(IMSC, TX)
    assert bench.clock.next_deadline() is None


def test_no_poll_once_input_has_ended(bench: Bench, uart: Mapped) -> None:
    bench.console.feed(b"z")
    uart.write(IMSC, RX)
    bench.advance(1 * MS)
    assert uart.read(DR) == ord("z")
    assert bench.clock.next_deadline() is None


def test_poll_pauses_while_the_fifo_is_full(bench: Bench, uart: Mapped) -> None:
    interactive(bench)
    bench.console.feed(bytes(33))
    uart.write(IMSC, RX)
    uart.read(FR)  # 32 bytes in the FIFO, 1 waiting behind them
    assert bench.clock.next_deadline() is None
    uart.read(DR)  # the waiting byte moves in: full again
    assert bench.clock.next_deadline() is None
    uart.read(DR)
    assert bench.clock.next_deadline() == bench.clock.now() + 1 * MS


def test_reset_empties_the_fifo_and_restores_registers(bench: Bench, uart: Mapped) -> None:
    bench.console.feed(b"abc")
    uart.write(IMSC, RX)
    uart.write(LCR_H, 0x70)
    uart.read(FR)
    uart.device.reset()
    assert [uart.read(off) for off in (IMSC, LCR_H, RIS, CR)] == [0, 0, TX, 0x300]
    assert not uart.irq.level
    assert uart.read(FR) & RXFE and uart.read(DR) == 0


def test_unimplemented_pl011_registers_read_zero_and_are_reported_once(
    bench: Bench, uart: Mapped
) -> None:
    rsr, ifls = 0x004, 0x034
    uart.write(ifls, 0x12)
    assert [uart.read(rsr), uart.read(ifls), uart.read(rsr)] == [0, 0, 0]
    assert bench.bus.guest_errors == 4
    assert len(bench.log) == 3


def test_byte_access_to_dr_is_a_bus_error(bench: Bench, uart: Mapped) -> None:
    uart.write(DR, ord("A"), size=1)
    assert [(e.addr, e.size, e.is_write) for e in bench.bus_errors] == [(0x1000_1000, 1, True)]
    assert bench.console.output == b""
