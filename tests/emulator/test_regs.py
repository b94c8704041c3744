"""The register-block framework: layout checks, access rules, hooks, reset, windows, docs table."""

from __future__ import annotations

import pytest

from emulator.regs import (
    Access,
    BusError,
    Field,
    RegisterBlock,
    RegisterFile,
    on_read,
    on_write,
    reg32,
    window,
)


class DemoRegs(RegisterBlock, size=0x200):
    ID = reg32(0x000, access=Access.RO, reset=0x5245_4742)
    SCRATCH = reg32(0x004, reset=0xFFFF_FFFF)
    CTRL = reg32(
        0x008,
        Field("ENABLE", 0, 1),
        Field("READY", 1, 1, Access.RO, reset=1),
        Field("KICK", 2, 1, Access.WO),
        Field("LED", 4, 4, reset=0xA),
    )
    INT_STATUS = reg32(0x00C, Field("DONE", 0, 1, Access.W1C), Field("OVERFLOW", 1, 1, Access.W1C))
    FLAGS = reg32(0x010, access=Access.W1S)
    DOORBELL = reg32(0x014, access=Access.WO)
    EVENTS = reg32(0x018, access=Access.RC)
    ERRORS = reg32(0x01C, access=Access.RC)
    WINDOW = window(0x100, 0x100)


R = DemoRegs


class Demo:
    """A minimal device: hooks on EVENTS (read) and DOORBELL (write)."""

    def __init__(self) -> None:
        self.regs = DemoRegs()
        self.file = RegisterFile(self, self.regs, "demo")
        self.doorbells: list[tuple[int, int]] = []
        self.pending_events = 0

    @on_read(R.EVENTS)
    def _read_events(self) -> int:
        return self.pending_events

    @on_write(R.DOORBELL)
    def _write_doorbell(self, old: int, new: int) -> None:
        self.doorbells.append((old, new))


@pytest.fixture
def demo() -> Demo:
    return Demo()


def read(demo: Demo, offset: int, size: int = 4) -> int:
    value = demo.file.read(offset, size)
    assert value is not None
    return value


def write(demo: Demo, offset: int, value: int, size: int = 4) -> None:
    assert demo.file.write(offset, size, value)


# -- layout --------------------------------------------------------------------------------


def test_registers_are_named_after_their_attributes_in_offset_order() -> None:
    assert [r.name for r in R.REGISTERS][:3] == ["ID", "SCRATCH", "CTRL"]
    assert [r.offset for r in R.REGISTERS] == sorted(r.offset for r in R.REGISTERS)


def test_registers_at_the_same_offset_are_rejected() -> None:
    with pytest.raises(ValueError) as e:

        class Bad(RegisterBlock):
            A = reg32(0x004)
            B = reg32(0x004)

    assert str(e.value) == "Bad: registers A (0x004..0x007) and B (0x004..0x007) overlap"


def test_a_register_inside_a_window_is_rejected() -> None:
    with pytest.raises(ValueError) as e:

        class Bad(RegisterBlock):
            SRAM = window(0x100, 0x10)
            STATUS = reg32(0x108)

    assert str(e.value) == "Bad: registers SRAM (0x100..0x10f) and STATUS (0x108..0x10b) overlap"


def test_a_misaligned_register_is_rejected() -> None:
    with pytest.raises(ValueError) as e:

        class Bad(RegisterBlock):
            A = reg32(0x006)

    assert str(e.value) == "Bad: register A at 0x006 is not 32-bit aligned"


def test_a_register_past_the_end_of_the_block_is_rejected() -> None:
    with pytest.raises(ValueError) as e:

        class Bad(RegisterBlock, size=0x100):
            A = reg32(0x100)

    assert str(e.value) == "Bad: A (0x100..0x103) lies outside the 0x100-byte block"


def test_overlapping_fields_are_rejected() -> None:
    with pytest.raises(ValueError) as e:

        class Bad(RegisterBlock):
            CTRL = reg32(0x000, Field("MODE", 0, 4), Field("ENABLE", 8, 1), Field("IRQ", 3, 2))

    assert str(e.value) == "Bad.CTRL: fields MODE and IRQ overlap"


def test_a_field_beyond_bit_31_is_rejected() -> None:
    with pytest.raises(ValueError) as e:

        class Bad(RegisterBlock):
            CTRL = reg32(0x000, Field("WIDE", 30, 4))

    assert str(e.value) == "Bad.CTRL: field WIDE bits out of range"


def test_reg32_takes_fields_or_a_whole_register_access_not_both() -> None:
    with pytest.raises(TypeError):
        reg32(0x000, Field("A", 0, 1), access=Access.RO)


# -- reset ---------------------------------------------------------------------------------


def test_every_register_starts_at_its_declared_reset_value(demo: Demo) -> None:
    assert demo.regs[R.ID] == 0x5245_4742
    assert demo.regs[R.SCRATCH] == 0xFFFF_FFFF
    assert demo.regs[R.CTRL] == 0xA2
    assert demo.regs[R.INT_STATUS] == 0


def test_reset_restores_declared_values_and_clears_windows(demo: Demo) -> None:
    write(demo, 0x004, 0)
    write(demo, 0x008, 0x0F)
    demo.regs.set_bits(R.INT_STATUS, 3)
    write(demo, 0x180, 0xAB, size=1)
    demo.regs.reset()
    assert [read(demo, off) for off in (0x004, 0x008, 0x00C, 0x180)] == [0xFFFF_FFFF, 0xA2, 0, 0]


# -- access rules --------------------------------------------------------------------------


def test_read_only_register_ignores_writes(demo: Demo) -> None:
    write(demo, 0x000, 0)
    assert read(demo, 0x000) == 0x5245_4742


def test_write_only_field_reads_zero_but_reaches_the_hooks(demo: Demo) -> None:
    write(demo, 0x014, 0x42)
    write(demo, 0x014, 0x43)
    assert read(demo, 0x014) == 0
    assert demo.doorbells == [(0, 0x42), (0x42, 0x43)]


def test_mixed_register_applies_each_fields_rule(demo: Demo) -> None:
    write(demo, 0x008, 0xFFFF_FFFF)
    # ENABLE=1 stored, READY (RO) stays 1, KICK (WO) reads 0, LED=0xF, reserved bits read 0
    assert read(demo, 0x008) == 0xF3


def test_w1c_clears_only_the_written_bits(demo: Demo) -> None:
    demo.regs.set_bits(R.INT_STATUS, 0b11)
    write(demo, 0x00C, 0b10)
    assert read(demo, 0x00C) == 0b01
    write(demo, 0x00C, 0)
    assert read(demo, 0x00C) == 0b01


def test_w1s_sets_only_the_written_bits(demo: Demo) -> None:
    write(demo, 0x010, 0b0100)
    write(demo, 0x010, 0b0001)
    write(demo, 0x010, 0)
    assert read(demo, 0x010) == 0b0101


def test_read_clear_register_returns_its_value_once(demo: Demo) -> None:
    demo.regs[R.ERRORS] = 7
    assert read(demo, 0x01C) == 7
    assert read(demo, 0x01C) == 0


def test_read_hook_supplies_the_value_before_read_clear(demo: Demo) -> None:
    demo.pending_events = 3
    assert read(demo, 0x018) == 3
    assert demo.regs[R.EVENTS] == 0
    demo.pending_events = 0
    assert read(demo, 0x018) == 0


def test_unimplemented_offsets_are_reported_to_the_caller(demo: Demo) -> None:
    assert demo.file.read(0x020, 4) is None
    assert demo.file.write(0x020, 4, 1) is False


def test_byte_read_of_a_register_is_a_bus_error(demo: Demo) -> None:
    with pytest.raises(BusError) as e:
        demo.file.read(0x004, 1)
    assert str(e.value) == "demo: bad 8-bit read at offset 0x004"
    assert (e.value.offset, e.value.size, e.value.is_write) == (0x004, 1, False)


def test_unaligned_word_write_is_a_bus_error_and_changes_nothing(demo: Demo) -> None:
    with pytest.raises(BusError, match="demo: bad 32-bit write at offset 0x006"):
        demo.file.write(0x006, 4, 0)
    assert demo.regs[R.SCRATCH] == 0xFFFF_FFFF


def test_byte_access_to_a_hole_is_a_bus_error(demo: Demo) -> None:
    with pytest.raises(BusError):
        demo.file.read(0x021, 1)


# -- windows -------------------------------------------------------------------------------


def test_window_takes_8_16_and_32_bit_accesses_little_endian(demo: Demo) -> None:
    write(demo, 0x100, 0x1122_3344)
    write(demo, 0x104, 0xBEEF, size=2)
    write(demo, 0x106, 0x7F, size=1)
    assert read(demo, 0x100, 1) == 0x44
    assert read(demo, 0x102, 2) == 0x1122
    assert read(demo, 0x104) == 0x7FBEEF
    assert read(demo, 0x1FF, 1) == 0


def test_window_write_truncates_the_value_to_the_access_width(demo: Demo) -> None:
    write(demo, 0x110, 0x1234_5678, size=2)
    assert read(demo, 0x110) == 0x5678


def test_unaligned_window_access_is_a_bus_error(demo: Demo) -> None:
    with pytest.raises(BusError, match="demo: bad 16-bit read at offset 0x101"):
        demo.file.read(0x101, 2)
    with pytest.raises(BusError, match="demo: bad 64-bit write at offset 0x108"):
        demo.file.write(0x108, 8, 0)


def test_an_access_running_past_a_window_is_a_bus_error_and_never_grows_it(demo: Demo) -> None:
    class Odd(RegisterBlock, size=0x100):
        SRAM = window(0x000, 6)

    odd = Odd()
    with pytest.raises(BusError):
        RegisterFile(object(), odd, "odd").write(0x004, 4, 0xFFFF_FFFF)
    assert len(odd.window_bytes[0x000]) == 6


# -- docs ------------------------------------------------------------------------------------


def test_table_renders_the_map_as_markdown() -> None:
    class TableRegs(RegisterBlock, size=0x200):
        ID = reg32(0x000, access=Access.RO, reset=0x5245_4742)
        CTRL = reg32(0x010, Field("ENABLE", 0, 1), Field("LED", 4, 4, reset=0xA))
        WINDOW = window(0x100, 0x100)

    assert TableRegs.table().splitlines() == [
        "| offset | name | field | bits | access | reset |",
        "|---|---|---|---|---|---|",
        "| 0x000 | ID | VALUE | 31:0 | RO | 0x52454742 |",
        "| 0x010 | CTRL | ENABLE | 0 | RW | 0x0 |",
        "| 0x010 | CTRL | LED | 7:4 | RW | 0xa |",
        "| 0x100 | WINDOW | 256 bytes | — | 8/16/32-bit | 0 |",
    ]
