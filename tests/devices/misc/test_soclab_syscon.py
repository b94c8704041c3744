"""syscon as firmware sees it (datasheet §4 "syscon")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devices.misc.soclab_syscon import SoclabSyscon

if TYPE_CHECKING:
    from conftest import Bench, Mapped

ID, BOARD, RAM_BASE, RAM_SIZE, EXIT, TIME_LO, TIME_HI = (
    0x000,
    0x004,
    0x008,
    0x00C,
    0x010,
    0x018,
    0x01C,
)
SYSCON_BASE = 0x1000_0000


def test_id_reads_socl(syscon: Mapped) -> None:
    assert syscon.read(ID) == 0x534F_434C


def test_board_and_ram_describe_the_armv7_board(syscon: Mapped) -> None:
    assert (syscon.read(BOARD), syscon.read(RAM_BASE), syscon.read(RAM_SIZE)) == (
        1,
        0x6000_0000,
        0x4000_0000,
    )


def test_board_and_ram_describe_the_x86_board(x86_bench: Bench) -> None:
    syscon = x86_bench.attach(SoclabSyscon, "syscon")
    assert (syscon.read(BOARD), syscon.read(RAM_BASE), syscon.read(RAM_SIZE)) == (
        2,
        0,
        0x8000_0000,
    )


def test_read_only_registers_ignore_writes(syscon: Mapped) -> None:
    for offset in (ID, BOARD, RAM_BASE, RAM_SIZE, TIME_HI):
        before = syscon.read(offset)
        syscon.write(offset, 0xDEAD_BEEF)
        assert syscon.read(offset) == before


def test_board_straps_survive_reset(syscon: Mapped) -> None:
    syscon.device.reset()
    assert (syscon.read(BOARD), syscon.read(RAM_SIZE)) == (1, 0x4000_0000)


def test_exit_requests_the_exit_with_the_low_byte(bench: Bench, syscon: Mapped) -> None:
    syscon.write(EXIT, 0x1234)
    syscon.write(EXIT, 0)
    assert bench.exits == [0x34, 0]


def test_exit_is_write_only_and_reads_zero(syscon: Mapped) -> None:
    syscon.write(EXIT, 0x7F)
    assert syscon.read(EXIT) == 0


def test_time_lo_reads_virtual_nanoseconds(bench: Bench, syscon: Mapped) -> None:
    bench.run_until(123_450)
    assert syscon.read(TIME_LO) == 123_450


def test_time_hi_reads_zero_until_time_lo_latches_it(bench: Bench, syscon: Mapped) -> None:
    bench.run_until(5 << 32)
    assert syscon.read(TIME_HI) == 0
    syscon.read(TIME_LO)
    assert syscon.read(TIME_HI) == 5


def test_time_hi_keeps_the_latched_word_until_the_next_time_lo_read(
    bench: Bench, syscon: Mapped
) -> None:
    bench.run_until((5 << 32) + 1230)
    assert syscon.read(TIME_LO) == 1230
    bench.advance(10_000_000_000)  # over two more carries into the high word
    assert syscon.read(TIME_HI) == 5
    now = bench.clock.now()
    assert syscon.read(TIME_LO) == now & 0xFFFF_FFFF
    assert syscon.read(TIME_HI) == now >> 32 == 7


def test_unimplemented_offset_reads_zero_and_is_reported_once(bench: Bench, syscon: Mapped) -> None:
    assert syscon.read(0x014) == 0
    assert syscon.read(0x014) == 0
    syscon.write(0x800, 0xFF)
    assert bench.bus.guest_errors == 3
    assert bench.log == [
        "soclab: guest error: syscon: read of unimplemented offset 0x014 (reads as 0)",
        "soclab: guest error: syscon: write of 0xff to unimplemented offset 0x800 (ignored)",
    ]


def test_byte_and_halfword_accesses_are_bus_errors(bench: Bench, syscon: Mapped) -> None:
    assert syscon.read(ID, size=1) == 0
    syscon.read(BOARD, size=2)
    syscon.write(EXIT, 0, size=1)
    assert [(e.addr, e.size, e.is_write) for e in bench.bus_errors] == [
        (SYSCON_BASE + ID, 1, False),
        (SYSCON_BASE + BOARD, 2, False),
        (SYSCON_BASE + EXIT, 1, True),
    ]
    assert bench.exits == []


def test_unaligned_word_access_is_a_bus_error(bench: Bench, syscon: Mapped) -> None:
    syscon.read(ID + 2)
    assert bench.bus_errors[0].message == "bus error: syscon: bad 32-bit read at offset 0x002"
