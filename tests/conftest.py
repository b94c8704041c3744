"""Shared fixtures: firmware built from firmware/ (cached), and machines running it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from emulator.board import load_board
from emulator.device import HostConsole
from emulator.loader import load_image
from emulator.machine import Machine, RunResult
from firmware.build import build

ARCHES = ("armv7", "x86")


@dataclass
class Run:
    result: RunResult
    output: str
    machine: Machine
    log: list[str]


def run_image(
    path: Path | str,
    arch: str,
    max_insns: int | None = 50_000_000,
    ram_size: int | None = None,
    input_bytes: bytes | None = None,
    patch: dict[str, int] | None = None,
    **machine_kw: object,
) -> Run:
    """Boot an image bare-metal and run it. `patch` sets 32-bit globals by symbol first
    (e.g. the compute benchmark's `iterations`, to keep tests fast)."""
    log: list[str] = []
    console = HostConsole(input_bytes=input_bytes)
    machine = Machine(load_board(arch, ram_size), console=console, log=log.append, **machine_kw)  # type: ignore[arg-type]
    image = load_image(path, arch)
    machine.boot_bare_metal(image)
    for name, value in (patch or {}).items():
        addr = next(a for a, _size, n in image.symbols if n == name)
        machine.bus.write(addr, value.to_bytes(4, "little"))
    result = machine.run(max_insns)
    return Run(result, console.output.decode(errors="replace"), machine, log)


@pytest.fixture
def firmware() -> Callable[[str, str], Path]:
    return build


@pytest.fixture
def run_firmware() -> Callable[..., Run]:
    def run(name: str, arch: str, **kw: object) -> Run:
        return run_image(build(name, arch), arch, **kw)  # type: ignore[arg-type]

    return run
