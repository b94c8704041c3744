"""Register blocks declared as data, in the style of QEMU's registerfields and amaranth-soc.

A device declares its register map once, in offset order, as a `RegisterBlock` subclass:

    class TimerRegs(RegisterBlock, size=0x1000):
        COUNT_LO = reg32(0x000, access=Access.RO)
        CTRL     = reg32(0x010, Field("ENABLE", 0, 1), Field("PERIODIC", 1, 1))
        STATUS   = reg32(0x018, Field("MATCH", 0, 1, Access.W1C))

The framework owns the access rules (datasheet §1): RO bits ignore writes, WO bits read as 0,
W1C/W1S bits clear/set where a 1 is written, RC registers clear when read, reserved bits (no
field) read 0 and ignore writes. It rejects overlapping registers and fields at class creation
with exact messages, resets every register to its declared value, and renders the map as a
Markdown table for the docs. Devices attach behaviour with `@on_read` / `@on_write` on methods;
hooks see values after the access rules were applied.

Only aligned accesses of a register's declared widths reach a register (32-bit by default);
anything else is a *bus error*, which the bus turns into the architectural abort. Offsets that no
register occupies read as zero and ignore writes; the bus reports them once as guest errors.
`window()` declares a memory-like range inside a block (regbank's device SRAM) that accepts
8-, 16- and 32-bit accesses.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar


class Access(enum.Enum):
    RO = "RO"
    RW = "RW"
    WO = "WO"
    W1C = "W1C"
    W1S = "W1S"
    RC = "RC"


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    lsb: int
    width: int
    access: Access = Access.RW
    reset: int = 0

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.lsb

    def get(self, value: int) -> int:
        return (value >> self.lsb) & ((1 << self.width) - 1)


@dataclass(frozen=True, slots=True)
class Register:
    offset: int
    fields: tuple[Field, ...]
    widths: tuple[int, ...] = (4,)
    name: str = ""

    @property
    def size(self) -> int:
        return max(self.widths)

    @property
    def reset(self) -> int:
        return sum((f.reset << f.lsb) & f.mask for f in self.fields)

    def mask_of(self, *kinds: Access) -> int:
        return sum(f.mask for f in self.fields if f.access in kinds)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name}")


@dataclass(frozen=True, slots=True)
class Window:
    """A memory-like range inside a register block (device SRAM, FIFO windows)."""

    offset: int
    size: int
    widths: tuple[int, ...] = (1, 2, 4)
    name: str = ""


def reg32(
    offset: int,
    *fields: Field,
    access: Access = Access.RW,
    reset: int = 0,
) -> Register:
    """A 32-bit register: either the given fields, or one 32-bit field of `access`/`reset`."""
    if not fields:
        fields = (Field("VALUE", 0, 32, access, reset),)
    elif access is not Access.RW or reset:
        raise TypeError("reg32: give either fields or access/reset, not both")
    return Register(offset, tuple(fields))


def window(offset: int, size: int, widths: tuple[int, ...] = (1, 2, 4)) -> Window:
    return Window(offset, size, widths)


class BusError(Exception):
    """An access the hardware answers with an error response (bad width or alignment)."""

    def __init__(self, device: str, offset: int, size: int, is_write: bool) -> None:
        kind = "write" if is_write else "read"
        super().__init__(f"{device}: bad {size * 8}-bit {kind} at offset {offset:#05x}")
        self.device = device
        self.offset = offset
        self.size = size
        self.is_write = is_write


ReadHook = Callable[[Any], int]
WriteHook = Callable[[Any, int, int], None]


def on_read(reg: Register) -> Callable[[ReadHook], ReadHook]:
    """Mark a device method as the value source of `reg` (called before each read)."""

    def mark(fn: ReadHook) -> ReadHook:
        fn._regs_on_read = (*getattr(fn, "_regs_on_read", ()), reg)  # type: ignore[attr-defined]
        return fn

    return mark


def on_write(reg: Register) -> Callable[[WriteHook], WriteHook]:
    """Mark a device method to run after a write to `reg`: fn(self, old, new).
    Stack the decorator to share one method between registers."""

    def mark(fn: WriteHook) -> WriteHook:
        fn._regs_on_write = (*getattr(fn, "_regs_on_write", ()), reg)  # type: ignore[attr-defined]
        return fn

    return mark


class RegisterBlock:
    """The state of one register block; the class body is its register map."""

    SIZE: ClassVar[int]
    REGISTERS: ClassVar[tuple[Register, ...]]
    WINDOWS: ClassVar[tuple[Window, ...]]
    _BY_OFFSET: ClassVar[dict[int, Register]]

    def __init_subclass__(cls, size: int = 0x1000, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        regs: list[Register] = []
        wins: list[Window] = []
        declared: dict[str, object] = {}
        for klass in reversed(cls.__mro__):  # a variant block keeps its parent's registers
            declared.update(vars(klass))
        for attr, value in declared.items():
            if isinstance(value, Register):
                value = Register(value.offset, value.fields, value.widths, attr)
                setattr(cls, attr, value)
                regs.append(value)
            elif isinstance(value, Window):
                value = Window(value.offset, value.size, value.widths, attr)
                setattr(cls, attr, value)
                wins.append(value)
        cls.SIZE = size
        cls.REGISTERS = tuple(sorted(regs, key=lambda r: r.offset))
        cls.WINDOWS = tuple(sorted(wins, key=lambda w: w.offset))
        _check_layout(cls.__name__, size, cls.REGISTERS, cls.WINDOWS)
        cls._BY_OFFSET = {r.offset: r for r in cls.REGISTERS}

    def __init__(self) -> None:
        self.values: dict[int, int] = {}
        self.window_bytes = {w.offset: bytearray(w.size) for w in self.WINDOWS}
        self.reset()

    def reset(self) -> None:
        self.values = {r.offset: r.reset for r in self.REGISTERS}
        for buf in self.window_bytes.values():
            buf[:] = bytes(len(buf))

    def __getitem__(self, reg: Register) -> int:
        return self.values[reg.offset]

    def __setitem__(self, reg: Register, value: int) -> None:
        """Set a register's stored value as the hardware does (no access rules)."""
        self.values[reg.offset] = value & 0xFFFF_FFFF

    def get(self, reg: Register, field_name: str) -> int:
        return reg.field(field_name).get(self.values[reg.offset])

    def set_bits(self, reg: Register, mask: int) -> None:
        self.values[reg.offset] |= mask

    def clear_bits(self, reg: Register, mask: int) -> None:
        self.values[reg.offset] &= ~mask

    @classmethod
    def lookup(cls, offset: int) -> Register | Window | None:
        reg = cls._BY_OFFSET.get(offset & ~3)
        if reg is not None:
            return reg
        for w in cls.WINDOWS:
            if w.offset <= offset < w.offset + w.size:
                return w
        return None

    @classmethod
    def table(cls) -> str:
        """The register map as a Markdown table, for the docs."""
        rows = ["| offset | name | field | bits | access | reset |", "|---|---|---|---|---|---|"]
        for r in cls.REGISTERS:
            for f in r.fields:
                bits = f"{f.lsb}" if f.width == 1 else f"{f.lsb + f.width - 1}:{f.lsb}"
                rows.append(
                    f"| {r.offset:#05x} | {r.name} | {f.name} | {bits} | "
                    f"{f.access.value} | {f.reset:#x} |"
                )
        for w in cls.WINDOWS:
            rows.append(
                f"| {w.offset:#05x} | {w.name} | {w.size} bytes | — | "
                f"{'/'.join(str(n * 8) for n in w.widths)}-bit | 0 |"
            )
        return "\n".join(rows)


def _check_layout(
    name: str, size: int, regs: tuple[Register, ...], wins: tuple[Window, ...]
) -> None:
    spans: list[tuple[int, int, str]] = [(r.offset, r.size, r.name) for r in regs]
    spans += [(w.offset, w.size, w.name) for w in wins]
    spans.sort()
    for off, sz, nm in spans:
        if off % 4 and sz >= 4:
            raise ValueError(f"{name}: register {nm} at {off:#05x} is not 32-bit aligned")
        if off + sz > size:
            raise ValueError(
                f"{name}: {nm} ({off:#05x}..{off + sz - 1:#05x}) lies outside the "
                f"{size:#x}-byte block"
            )
    for (a_off, a_sz, a_nm), (b_off, b_sz, b_nm) in zip(spans, spans[1:], strict=False):
        if b_off < a_off + a_sz:
            raise ValueError(
                f"{name}: registers {a_nm} ({a_off:#05x}..{a_off + a_sz - 1:#05x}) and "
                f"{b_nm} ({b_off:#05x}..{b_off + b_sz - 1:#05x}) overlap"
            )
    for r in regs:
        seen = 0
        for f in r.fields:
            if f.width < 1 or f.lsb < 0 or f.lsb + f.width > r.size * 8:
                raise ValueError(f"{name}.{r.name}: field {f.name} bits out of range")
            if f.reset >> f.width:
                raise ValueError(
                    f"{name}.{r.name}: reset {f.reset:#x} does not fit field "
                    f"{f.name} ({f.width} bits)"
                )
            if seen & f.mask:
                clash = next(g.name for g in r.fields if g is not f and g.mask & f.mask)
                raise ValueError(f"{name}.{r.name}: fields {clash} and {f.name} overlap")
            seen |= f.mask


@dataclass
class _Hooks:
    reads: dict[int, Callable[[], int]] = field(default_factory=dict)
    writes: dict[int, Callable[[int, int], None]] = field(default_factory=dict)


class RegisterFile:
    """Applies the access rules of a block and dispatches to the device's hooks."""

    def __init__(self, owner: object, block: RegisterBlock, name: str) -> None:
        self.block = block
        self.name = name
        self.hooks = _Hooks()
        for attr in dir(type(owner)):
            fn = getattr(type(owner), attr, None)
            for reg in getattr(fn, "_regs_on_read", ()):
                self.hooks.reads[reg.offset] = getattr(owner, attr)
            for reg in getattr(fn, "_regs_on_write", ()):
                self.hooks.writes[reg.offset] = getattr(owner, attr)

    def _target(self, offset: int, size: int, is_write: bool) -> Register | Window | None:
        """What an access reaches, after the bus rules: only aligned accesses of a declared
        width; anything else is a bus error, even where no register is (datasheet §1)."""
        target = self.block.lookup(offset)
        if isinstance(target, Window):
            start = offset - target.offset
            if size not in target.widths or offset % size or start + size > target.size:
                raise BusError(self.name, offset, size, is_write)
            return target
        widths = target.widths if target is not None else (4,)
        if size not in widths or offset % size:
            raise BusError(self.name, offset, size, is_write)
        if target is not None and offset != target.offset:
            raise BusError(self.name, offset, size, is_write)
        return target

    def read(self, offset: int, size: int) -> int | None:
        """Value of an access, or None if no register is there (a guest error)."""
        target = self._target(offset, size, False)
        if target is None:
            return None
        if isinstance(target, Window):
            start = offset - target.offset
            buf = self.block.window_bytes[target.offset]
            return int.from_bytes(buf[start : start + size], "little")
        reg = target
        hook = self.hooks.reads.get(reg.offset)
        if hook is not None:
            self.block[reg] = hook()
        value = self.block.values[reg.offset]
        clear = reg.mask_of(Access.RC)
        if clear:
            self.block.values[reg.offset] = value & ~clear
        return value & ~reg.mask_of(Access.WO) & sum(f.mask for f in reg.fields)

    def write(self, offset: int, size: int, value: int) -> bool:
        """Perform a write; False if no register is there (a guest error)."""
        target = self._target(offset, size, True)
        if target is None:
            return False
        if isinstance(target, Window):
            start = offset - target.offset
            buf = self.block.window_bytes[target.offset]
            buf[start : start + size] = (value & ((1 << (size * 8)) - 1)).to_bytes(size, "little")
            return True
        reg = target
        old = self.block.values[reg.offset]
        stored = reg.mask_of(Access.RW, Access.WO)
        new = (old & ~stored) | (value & stored)
        new &= ~(value & reg.mask_of(Access.W1C))
        new |= value & reg.mask_of(Access.W1S)
        self.block.values[reg.offset] = new
        hook = self.hooks.writes.get(reg.offset)
        if hook is not None:
            hook(old, new)
        return True

    def registers(self) -> Iterator[tuple[Register, int]]:
        for r in self.block.REGISTERS:
            yield r, self.block.values[r.offset]
