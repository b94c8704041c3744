"""Devices on the system bus (QEMU's SysBusDevice): a register block plus a little behaviour.

A device model is built from its devicetree node (`DeviceNode`) and a `DeviceContext` — the only
things of the machine it may touch: the virtual clock, its interrupt lines, a bus-master address
space, host I/O and a few board facts. It never sees Unicorn or the CPU.

Subclasses set `compatible` and `Regs` (a `RegisterBlock` subclass), attach behaviour with
`@on_read`/`@on_write`, compute their IRQ level in one `_update_irq()`, and take time only from
`ctx.clock.schedule(delay_ns, callback)`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from emulator.bus import DmaAddressSpace, PhysBus
from emulator.clock import Clock
from emulator.irq import IrqLine
from emulator.regs import RegisterBlock, RegisterFile


@dataclass
class DeviceNode:
    """What the devicetree says about one device."""

    name: str
    path: str
    compatible: tuple[str, ...]
    reg: list[tuple[int, int]]
    interrupts: list[int] = field(default_factory=list)
    dma_coherent: bool = False
    dma_bits: int = 32
    props: dict[str, bytes] = field(default_factory=dict)

    def prop_u32(self, name: str, default: int) -> int:
        raw = self.props.get(name)
        if raw is None:
            return default
        if len(raw) != 4:
            raise ValueError(f"{self.path}: property {name} must be one 32-bit cell")
        return int.from_bytes(raw, "big")


@dataclass
class BoardInfo:
    board_id: int  # syscon BOARD: 1 = soclab-armv7, 2 = soclab-x86
    ram_base: int
    ram_size: int


class HostConsole:
    """Host side of the serial console: output sink and input source.

    `write` receives transmitted bytes. `read_input` returns received bytes that are available
    now (b"" if none yet, None at end of input). Tests pass bytes; the CLI uses stdin.
    """

    def __init__(
        self,
        write: Callable[[bytes], None] | None = None,
        input_bytes: bytes | None = None,
    ) -> None:
        self.output = bytearray()
        self._write = write
        self._input = bytearray(input_bytes or b"")
        self.reader: Callable[[], bytes | None] | None = None
        # an interactive host: wait up to `seconds` for input (None for pipes, files, tests)
        self.wait_input: Callable[[float], None] | None = None

    def write(self, data: bytes) -> None:
        self.output += data
        if self._write is not None:
            self._write(data)

    def read_input(self) -> bytes | None:
        if not self._input and self.reader is not None:
            chunk = self.reader()
            if chunk is None:
                self.reader = None
            else:
                self._input += chunk
        if self._input:
            data = bytes(self._input)
            self._input.clear()
            return data
        return None if self.reader is None else b""

    @property
    def at_eof(self) -> bool:
        return not self._input and self.reader is None

    def feed(self, data: bytes) -> None:
        self._input += data


@dataclass
class DeviceContext:
    clock: Clock
    bus: PhysBus
    board: BoardInfo
    console: HostConsole
    irq_lines: dict[int, IrqLine] = field(default_factory=dict)
    request_exit: Callable[[int], None] = lambda code: None
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr)

    def irq(self, n: int) -> IrqLine:
        line = self.irq_lines.get(n)
        if line is None:
            line = self.irq_lines[n] = IrqLine(f"irq{n}")
        return line

    def dma(self, node: DeviceNode) -> DmaAddressSpace:
        return DmaAddressSpace(self.bus, node.dma_coherent, node.dma_bits, node.name)


class SysBusDevice:
    compatible: ClassVar[tuple[str, ...]] = ()
    Regs: ClassVar[type[RegisterBlock]]

    def __init__(self, ctx: DeviceContext, node: DeviceNode) -> None:
        self.ctx = ctx
        self.node = node
        self.name = node.name
        self.regs = self.Regs()
        self.regfile = RegisterFile(self, self.regs, node.name)
        self.irqs = [ctx.irq(n) for n in node.interrupts]

    @property
    def irq(self) -> IrqLine:
        if not self.irqs:
            raise RuntimeError(f"{self.name}: no interrupt in the devicetree")
        return self.irqs[0]

    def reset(self) -> None:
        self.regs.reset()

    def mmio_read(self, offset: int, size: int) -> int | None:
        return self.regfile.read(offset, size)

    def mmio_write(self, offset: int, size: int, value: int) -> bool:
        return self.regfile.write(offset, size, value)


class UnimplementedDevice:
    """A register block the devicetree names but no model implements yet (QEMU's
    hw/misc/unimp.c): reads as 0, ignores writes, and reports each offset once."""

    def __init__(self, ctx: DeviceContext, node: DeviceNode) -> None:
        self.ctx = ctx
        self.node = node
        self.name = node.name

    def reset(self) -> None:
        pass

    def mmio_read(self, offset: int, size: int) -> int | None:
        self.ctx.bus.guest_error(
            self.name,
            offset,
            "r",
            f"{self.name} ({', '.join(self.node.compatible)}): device not modelled, read of "
            f"offset {offset:#05x} returns 0",
        )
        return 0

    def mmio_write(self, offset: int, size: int, value: int) -> bool:
        self.ctx.bus.guest_error(
            self.name,
            offset,
            "w",
            f"{self.name} ({', '.join(self.node.compatible)}): device not modelled, write of "
            f"{value:#x} to offset {offset:#05x} ignored",
        )
        return True
