"""Execution traces: every executed block, symbolised, disassembled with capstone.

Like QEMU's `-d in_asm,exec`: a line per executed block (instruction count at entry, address,
symbol+offset from the ELF), and the block's disassembly the first time it runs. Tracing adds a
Python block hook, so a traced run is much slower; it is only on when asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

import capstone
import unicorn

if TYPE_CHECKING:
    from emulator.machine import Machine


class Tracer:
    def __init__(self, machine: Machine, out: TextIO) -> None:
        self.machine = machine
        self.out = out
        self.seen: dict[tuple[int, int], int] = {}  # block -> its instruction count
        cpu = machine.cpu
        if cpu.arch == "armv7":
            self._cs = {
                False: capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_ARM),
                True: capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB),
            }
        else:
            cs = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_32)
            self._cs = {False: cs, True: cs}
        self.handle = cpu.uc.hook_add(unicorn.UC_HOOK_BLOCK, self._on_block)
        image = machine.image
        name = image.path if image is not None else "?"
        out.write(f"# soclab trace: board {machine.board.name}, image {name}\n")

    def _on_block(self, uc: unicorn.Uc, addr: int, size: int, _: object) -> None:
        m = self.machine
        sym = m.image.symbolize(addr) if m.image is not None else None
        where = f" <{sym}>" if sym else ""
        n = self.seen.get((addr, size))
        first = n is None
        if n is None:
            n = self.seen[(addr, size)] = m.cpu.count_block(addr, size)
        # the native counter has already added this block: show the count before it
        self.out.write(f"[{m.cpu.counter.state.insns - n:012d}] {addr:#010x}{where}\n")
        if not first:
            return
        thumb = m.cpu.arch == "armv7" and m.cpu.thumb()  # type: ignore[attr-defined]
        try:
            code = m.cpu.read_virt(addr, size)
        except Exception as e:  # noqa: BLE001 - a trace must not stop the run
            self.out.write(f"    (code not readable: {e})\n")
            return
        for a, _size, mnemonic, ops in self._cs[thumb].disasm_lite(code, addr):
            s = m.image.symbolize(a) if m.image is not None else None
            label = f"  <{s}>" if s and "+" not in s else ""
            self.out.write(f"    {a:#010x}: {mnemonic} {ops}{label}\n")

    def close(self) -> None:
        self.machine.cpu.uc.hook_del(self.handle)
        self.out.flush()
