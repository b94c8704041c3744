"""Compute-bound firmware on raw Unicorn (no hooks at all) and on soclab: the speed ratio.

    python benchmarks/bench_compute.py [--arch armv7|x86|both] [--repeat N]

Two workloads, each the same ELF on both sides:
- `compute`: MMU and caches off. Targets: soclab ≥ 0.9× raw Unicorn (issue 2).
- `compute_mmu_<arch>`: the firmware builds identity page tables and turns the MMU on. Raw
  Unicorn translates with its own walker (UC_TLB_CPU); soclab with its Python walker in
  UC_TLB_VIRTUAL mode and the worst-case data-cache model. Target: ≥ 0.85× (issue 3). The
  median cost of a soclab TLB fill (walk + cache-model bookkeeping + Unicorn's hook call) is
  reported too (target ≤ 20 µs).

Raw Unicorn gets DRAM and the two register blocks the programs touch (uart0, syscon) as MMIO
callbacks, nothing else. The best of N runs is compared.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import unicorn  # noqa: E402
from unicorn import arm_const  # noqa: E402

from emulator.board import load_board  # noqa: E402
from emulator.device import HostConsole  # noqa: E402
from emulator.loader import load_image  # noqa: E402
from emulator.machine import Machine  # noqa: E402
from firmware.build import build  # noqa: E402


def run_raw(arch: str, elf: Path) -> tuple[float, bytes]:
    board = load_board(arch)
    image = load_image(elf, arch)
    if arch == "armv7":
        uc = unicorn.Uc(unicorn.UC_ARCH_ARM, unicorn.UC_MODE_ARM)
        uc.ctl_set_cpu_model(arm_const.UC_CPU_ARM_CORTEX_A9)
        uc.ctl_set_page_size(4096)
    else:
        uc = unicorn.Uc(unicorn.UC_ARCH_X86, unicorn.UC_MODE_32)
    uc.mem_map(board.ram_base, board.ram_size)
    for s in image.segments:
        uc.mem_write(s.paddr, s.data + bytes(s.memsz - len(s.data)))
    out = bytearray()
    regs = {d.name: d.reg[0][0] for d in board.devices}

    def uart_write(uc: unicorn.Uc, off: int, size: int, value: int, _: object) -> None:
        if off == 0:
            out.append(value & 0xFF)

    def syscon_write(uc: unicorn.Uc, off: int, size: int, value: int, _: object) -> None:
        if off == 0x10:
            uc.emu_stop()

    uc.mmio_map(regs["uart0"], 0x1000, lambda *a: 0, None, uart_write, None)
    uc.mmio_map(regs["syscon"], 0x1000, lambda *a: 0, None, syscon_write, None)
    if arch == "armv7":
        uc.reg_write(arm_const.UC_ARM_REG_CPSR, 0x1D3)
    t = time.perf_counter()
    uc.emu_start(image.entry, 0xFFFF_FFFF_FFFF_FFF0)
    return time.perf_counter() - t, bytes(out)


def run_soclab(arch: str, elf: Path) -> tuple[float, bytes, int, list[float]]:
    console = HostConsole()
    m = Machine(load_board(arch), console=console)
    m.boot_bare_metal(load_image(elf, arch))
    m.cpu.fill_times = []
    r = m.run()
    if r.status != 0:
        raise SystemExit(f"soclab run failed: {r.message}")
    return r.host_seconds, bytes(console.output), r.insns, m.cpu.fill_times


def compare(arch: str, name: str, repeat: int) -> None:
    elf = build(name, arch)
    raw = min(run_raw(arch, elf) for _ in range(repeat))
    runs = [run_soclab(arch, elf) for _ in range(repeat)]
    ours = min(runs, key=lambda r: r[0])
    if raw[1] != ours[1]:
        raise SystemExit(f"{arch}: outputs differ: raw {raw[1]!r} vs soclab {ours[1]!r}")
    insns = ours[2]
    fills = [t for r in runs for t in r[3]]
    print(
        f"{arch:6} {name:16} {insns / 1e6:6.1f} M insns | raw Unicorn {raw[0]:.3f} s "
        f"({insns / raw[0] / 1e6:.0f} MIPS) | soclab {ours[0]:.3f} s "
        f"({insns / ours[0] / 1e6:.0f} MIPS) | ratio {raw[0] / ours[0]:.2f}x raw | "
        f"TLB fill median {statistics.median(fills) * 1e6:.1f} us over {len(fills)}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", default="both", choices=["armv7", "x86", "both"])
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    for arch in ("armv7", "x86") if a.arch == "both" else (a.arch,):
        compare(arch, "compute", a.repeat)
        compare(arch, "compute_mmu_arm" if arch == "armv7" else "compute_mmu_x86", a.repeat)


if __name__ == "__main__":
    main()
