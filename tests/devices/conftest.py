"""A bench for device models: a bus, a virtual clock driven by an instruction counter, a console.

Tests reach a device only as a guest would — 32-bit (or deliberately bad) accesses through
`PhysBus.mmio_read`/`mmio_write` — and move time only by retiring instructions and firing the
clock's due events, as the run loop does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pytest

from devices.irqchip.arm_pl190 import ArmPl190Vic
from devices.misc.soclab_syscon import SoclabSyscon
from devices.serial.arm_pl011 import ArmPl011
from devices.timer.soclab_timer import SoclabTimer
from emulator.bus import MmioRegion, PhysBus
from emulator.clock import Clock
from emulator.device import BoardInfo, DeviceContext, DeviceNode, HostConsole, SysBusDevice
from emulator.irq import IrqLine

NS_PER_INSN = 10
ARMV7_BOARD = BoardInfo(board_id=1, ram_base=0x6000_0000, ram_size=0x4000_0000)
X86_BOARD = BoardInfo(board_id=2, ram_base=0x0000_0000, ram_size=0x8000_0000)
# soclab-armv7 memory map (datasheet §2)
BASES = {"syscon": 0x1000_0000, "uart0": 0x1000_1000, "timer0": 0x1000_2000, "intc": 0x1000_3000}


@dataclass(frozen=True)
class BusErrorReport:
    addr: int
    size: int
    is_write: bool
    message: str


@dataclass
class Mapped:
    """One device as the CPU sees it: a 4 KiB register block on the bus."""

    bus: PhysBus
    region: MmioRegion
    device: SysBusDevice

    def read(self, offset: int, size: int = 4) -> int:
        return self.bus.mmio_read(self.region, offset, size)

    def write(self, offset: int, value: int, size: int = 4) -> None:
        self.bus.mmio_write(self.region, offset, size, value)

    @property
    def irq(self) -> IrqLine:
        return self.device.irq


class Bench:
    def __init__(self, board: BoardInfo = ARMV7_BOARD) -> None:
        self.insns = 0
        self.clock = Clock(NS_PER_INSN)
        self.clock.insns = lambda: self.insns
        self.log: list[str] = []
        self.bus = PhysBus(log=self.log.append)
        self.bus_errors: list[BusErrorReport] = []
        self.bus.on_cpu_bus_error = lambda addr, size, is_write, message: self.bus_errors.append(
            BusErrorReport(addr, size, is_write, message)
        )
        self.console = HostConsole()
        self.exits: list[int] = []
        self.ctx = DeviceContext(
            clock=self.clock,
            bus=self.bus,
            board=board,
            console=self.console,
            request_exit=self.exits.append,
            log=self.log.append,
        )

    def attach(
        self, model: type[SysBusDevice], name: str, interrupts: Iterable[int] = ()
    ) -> Mapped:
        base = BASES[name]
        node = DeviceNode(
            name=name,
            path=f"/soc/{name}@{base:x}",
            compatible=model.compatible,
            reg=[(base, 0x1000)],
            interrupts=list(interrupts),
        )
        device = model(self.ctx, node)
        region = self.bus.add_mmio(name, base, 0x1000, device)
        return Mapped(self.bus, region, device)

    def run_until(self, when_ns: int) -> None:
        """Retire instructions until virtual time is `when_ns`, then fire the due events."""
        assert when_ns % NS_PER_INSN == 0 and when_ns >= self.clock.now()
        self.insns = when_ns // NS_PER_INSN
        self.clock.run_due()

    def advance(self, ns: int) -> None:
        self.run_until(self.clock.now() + ns)


@pytest.fixture
def bench() -> Bench:
    return Bench()


@pytest.fixture
def x86_bench() -> Bench:
    return Bench(X86_BOARD)


@pytest.fixture
def syscon(bench: Bench) -> Mapped:
    return bench.attach(SoclabSyscon, "syscon")


@pytest.fixture
def uart(bench: Bench) -> Mapped:
    return bench.attach(ArmPl011, "uart0", interrupts=[1])


@pytest.fixture
def timer(bench: Bench) -> Mapped:
    return bench.attach(SoclabTimer, "timer0", interrupts=[2])


@pytest.fixture
def intc(bench: Bench) -> Mapped:
    return bench.attach(ArmPl190Vic, "intc")
