"""Interrupt lines: a level-sensitive wire from a device to an interrupt controller input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable


class IrqLine:
    """One level-sensitive line. The sink is called on every level change."""

    def __init__(self, name: str, sink: Callable[[bool], None] | None = None) -> None:
        self.name = name
        self.level = False
        self._sink = sink

    def connect(self, sink: Callable[[bool], None]) -> None:
        self._sink = sink
        if self.level:
            sink(True)

    def set(self, level: bool) -> None:
        level = bool(level)
        if level != self.level:
            self.level = level
            if self._sink is not None:
                self._sink(level)

    def raise_(self) -> None:
        self.set(True)

    def lower(self) -> None:
        self.set(False)


@runtime_checkable
class InterruptController(Protocol):
    """What the machine needs of an intc: inputs from devices, an output to the CPU, and the
    source to vector (x86 takes vector 0x20 + the lowest pending source)."""

    output: IrqLine

    def set_input(self, n: int, level: bool) -> None: ...

    def pending_source(self) -> int | None: ...
