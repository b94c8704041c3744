"""Kernel-model costs: boot of a 1 GiB board, a kmalloc+kfree pair, a 4 KiB vmalloc+vfree.

    python benchmarks/bench_kernel.py [--arch armv7|x86|both]

Targets (issue 4): boot under 0.5 s for 1 GiB. The allocation numbers are per pair, medians of
repeated batches; each includes the guest-memory work the model really does (page-table
updates through the walker and cache model for vmalloc, poison-free kmalloc bookkeeping).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emulator.board import load_board  # noqa: E402
from emulator.kernel.core import Kernel  # noqa: E402
from emulator.kernel.gfp import GFP_KERNEL  # noqa: E402
from emulator.kernel.mm.slab import kfree, kmalloc  # noqa: E402
from emulator.kernel.mm.vmalloc import vfree, vmalloc  # noqa: E402
from emulator.machine import Machine  # noqa: E402


def per_op(fn, batch: int = 500, batches: int = 7) -> float:
    times = []
    for _ in range(batches):
        t = time.perf_counter()
        for _ in range(batch):
            fn()
        times.append((time.perf_counter() - t) / batch)
    return statistics.median(times)


def bench(arch: str) -> None:
    boots = []
    for _ in range(5):
        machine = Machine(load_board(arch), log=lambda m: None)
        t = time.perf_counter()
        kernel = Kernel(machine, echo=False).boot()
        boots.append(time.perf_counter() - t)
    assert kernel.booted

    def kmalloc_pair() -> None:
        kfree(kmalloc(128, GFP_KERNEL))

    def vmalloc_pair() -> None:
        vfree(vmalloc(4096))

    print(
        f"{arch:6} boot (1 GiB) {statistics.median(boots) * 1e3:6.1f} ms | "
        f"kmalloc(128)+kfree {per_op(kmalloc_pair) * 1e6:6.1f} us | "
        f"vmalloc(4K)+vfree {per_op(vmalloc_pair, batch=100) * 1e6:6.1f} us"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", default="both", choices=["armv7", "x86", "both"])
    a = ap.parse_args()
    for arch in ("armv7", "x86") if a.arch == "both" else (a.arch,):
        bench(arch)


if __name__ == "__main__":
    main()
