"""soclab system controller (datasheet §4 "syscon", compatible ``soclab,syscon``).

Identifies the SoC and the board, tells firmware where DRAM is, reads virtual time in
nanoseconds and ends the run. There is no real part behind it; it plays the role of QEMU's
test/exit devices (``sifive_test``, ``isa-debug-exit``) plus a board-ID register.

Not modelled: nothing beyond the datasheet table; the block has no interrupt.

Choices the datasheet leaves open:
- BOARD, RAM_BASE and RAM_SIZE are strap inputs: their declared reset value is 0 and the
  board's values are latched at every reset, as straps are on real SoCs.
- TIME_HI reads 0 until the first TIME_LO read latches it.
- Every EXIT write requests the exit, whatever the value (0 is a successful run); the machine
  stops the run loop, the model only calls ``ctx.request_exit``.
"""

from __future__ import annotations

from emulator.device import DeviceContext, DeviceNode, SysBusDevice
from emulator.regs import Access, RegisterBlock, on_read, on_write, reg32

SYSCON_ID = 0x534F_434C  # "SOCL"


class SysconRegs(RegisterBlock, size=0x1000):
    ID = reg32(0x000, access=Access.RO, reset=SYSCON_ID)
    BOARD = reg32(0x004, access=Access.RO)
    RAM_BASE = reg32(0x008, access=Access.RO)
    RAM_SIZE = reg32(0x00C, access=Access.RO)
    EXIT = reg32(0x010, access=Access.WO)
    TIME_LO = reg32(0x018, access=Access.RO)
    TIME_HI = reg32(0x01C, access=Access.RO)


R = SysconRegs


class SoclabSyscon(SysBusDevice):
    compatible = ("soclab,syscon",)
    Regs = SysconRegs

    def __init__(self, ctx: DeviceContext, node: DeviceNode) -> None:
        super().__init__(ctx, node)
        self.reset()

    def reset(self) -> None:
        super().reset()
        board = self.ctx.board
        self.regs[R.BOARD] = board.board_id
        self.regs[R.RAM_BASE] = board.ram_base
        self.regs[R.RAM_SIZE] = board.ram_size

    @on_write(R.EXIT)
    def _write_exit(self, old: int, new: int) -> None:
        self.ctx.request_exit(new & 0xFF)

    @on_read(R.TIME_LO)
    def _read_time_lo(self) -> int:
        now = self.ctx.clock.now()
        self.regs[R.TIME_HI] = now >> 32
        return now & 0xFFFF_FFFF
