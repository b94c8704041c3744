"""Kernel-model fixtures: a kernel booted on each board (1 GiB of RAM unless asked otherwise).

`kernel` runs a test once per board; `arm_kernel` / `x86_kernel` pick one; `boot_kernel(arch,
ram_size, strict)` boots more (the smallest board, 64 << 20, keeps property tests fast). The kernel
booted last is the one Linux-named functions act on (`current_kernel()`).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import emulator.kernel.mm.page_alloc  # noqa: F401 - registers the page allocator's boot hook
from emulator.board import load_board
from emulator.kernel.core import Kernel
from emulator.machine import Machine

ARCHES = ("armv7", "x86")


def _boot(arch: str, ram_size: int | None = None, strict: bool = False) -> Kernel:
    machine = Machine(load_board(arch, ram_size), log=lambda msg: None)
    return Kernel(machine, strict=strict, echo=False).boot()


@pytest.fixture(params=ARCHES)
def kernel(request: pytest.FixtureRequest) -> Kernel:
    return _boot(request.param)


@pytest.fixture
def arm_kernel() -> Kernel:
    return _boot("armv7")


@pytest.fixture
def x86_kernel() -> Kernel:
    return _boot("x86")


@pytest.fixture
def boot_kernel() -> Callable[..., Kernel]:
    return _boot
