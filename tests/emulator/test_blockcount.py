"""The native block counter's cache of block sizes: per code image (tag), so two programs with
a block at the same address and size never share an instruction count."""

from __future__ import annotations

import unicorn
from unicorn import x86_const as X

from emulator.native import BlockCounter


def _run(uc: unicorn.Uc, code: bytes) -> None:
    uc.mem_write(0x1000, code)
    uc.reg_write(X.UC_X86_REG_EIP, 0x1000)
    uc.emu_start(0x1000, 0x1000 + len(code))


def test_a_block_is_counted_once_per_tag_and_counts_stay_apart():
    uc = unicorn.Uc(unicorn.UC_ARCH_X86, unicorn.UC_MODE_32)
    uc.mem_map(0, 0x10000)
    seen: list[tuple[int, int]] = []
    two_nops, one_insn = b"\x90\x90", b"\x66\x90"  # 2 bytes each: 2 instructions, then 1
    counts = {two_nops: 2, one_insn: 1}

    def count_block(addr: int, size: int) -> int:
        seen.append((addr, size))
        return counts[bytes(uc.mem_read(addr, size))]

    counter = BlockCounter(uc, count_block)
    counter.tag = 1
    _run(uc, two_nops)
    _run(uc, two_nops)
    assert (seen, counter.insns) == ([(0x1000, 2)], 4)  # the second run hit the cache

    counter.tag = 2  # another program: same address and size, different code
    _run(uc, one_insn)
    assert (len(seen), counter.insns) == (2, 5)

    counter.tag = 1  # back to the first: its count is still cached
    _run(uc, two_nops)
    assert (len(seen), counter.insns) == (2, 7)
