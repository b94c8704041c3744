"""Boards from devicetree source: parse a .dts, describe the machine, and build its DTB.

The two shipped boards live in `emulator/boards/*.dts`; a user may pass their own .dts. The
root `compatible` (or the first cpu's) selects the architecture; `memory` nodes become DRAM;
every other node with a `compatible` and a `reg` becomes a device bound by compatible
(`devices.MODELS`); `interrupts` name intc inputs; `dma-coherent` and `soclab,dma-bits` are
kept on the node for bus masters. The display's second `reg` entry is the VRAM aperture.

Parsing uses Zephyr's dtlib (full DTS syntax: labels, phandles, /include/, expressions); the
DTB handed to firmware is written with libfdt's sequential-write API, so it is what dtc would
produce. Only #address-cells = <1> and #size-cells = <1> at the root are supported: the
emulated SoC has 32-bit physical addresses (x86 PAE RAM above 4 GiB is not modelled).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from emulator.device import DeviceNode

BOARD_NAMES = {"armv7": "soclab-armv7", "x86": "soclab-x86"}
ARCHES = ("armv7", "x86")
RAM_MIN = 64 << 20
RAM_MAX = 2 << 30


class BoardError(Exception):
    """A devicetree the machine cannot be built from; the message is one line."""


@dataclass
class Board:
    name: str
    model: str
    arch: str
    ram_base: int
    ram_size: int
    devices: list[DeviceNode] = field(default_factory=list)
    vram: tuple[int, int] | None = None
    source: str = ""
    _tree: object = field(default=None, repr=False)

    @property
    def board_id(self) -> int:
        return 1 if self.arch == "armv7" else 2

    def dtb(self) -> bytes:
        return _write_dtb(self._tree, self.ram_base, self.ram_size)


def parse_size(text: str) -> int:
    """'512M', '1G', '64MiB', '0x4000000' → bytes."""
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(t[-1:], 1)
    if mult != 1:
        t = t[:-1]
    try:
        return int(t, 0) * mult
    except ValueError:
        raise BoardError(f"bad size {text!r} (use e.g. 256M or 1G)") from None


def board_source(spec: str) -> tuple[str, str]:
    """(name, dts text) for 'armv7', 'x86', a shipped board name, or a path to a .dts."""
    name = BOARD_NAMES.get(spec, spec)
    if name in BOARD_NAMES.values():
        text = resources.files("emulator.boards").joinpath(f"{name}.dts").read_text()
        return name, text
    path = Path(spec)
    if not path.is_file():
        raise BoardError(f"unknown board {spec!r}: use armv7, x86 or a path to a .dts file")
    try:
        return path.stem, path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise BoardError(f"{spec}: cannot read devicetree: {e}") from None


def load_board(spec: str = "armv7", ram_size: int | None = None) -> Board:
    name, text = board_source(spec)
    include_dir = str(Path(spec).parent) if spec.endswith(".dts") else "."
    return parse_board(text, name, ram_size, include_dir)


def parse_board(
    text: str, name: str = "board", ram_size: int | None = None, include_dir: str = "."
) -> Board:
    from devicetree import dtlib

    fd, tmp = tempfile.mkstemp(suffix=".dts")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    try:
        tree = dtlib.DT(tmp, include_path=[include_dir])
    except dtlib.DTError as e:
        raise BoardError(f"{name}: malformed devicetree: {_one_line(e)}") from None
    finally:
        os.unlink(tmp)
    root = tree.root
    try:
        for cells in ("#address-cells", "#size-cells"):
            if cells in root.props and root.props[cells].to_num() != 1:
                raise BoardError(f"{name}: only {cells} = <1> is supported at the root")
        arch = _arch_of(tree, name)
        memory = [n for n in tree.node_iter() if _prop_str(n, "device_type") == "memory"]
        if not memory:
            raise BoardError(f"{name}: no memory node")
        if len(memory) > 1:
            raise BoardError(f"{name}: more than one memory node is not supported")
        ram_base, dt_ram_size = _regs(memory[0])[0]
        size = ram_size if ram_size is not None else dt_ram_size
        if not RAM_MIN <= size <= RAM_MAX:
            raise BoardError(f"{name}: RAM size {size:#x} outside 64 MiB..2 GiB")
        if ram_base + size > 1 << 32:
            raise BoardError(f"{name}: RAM {ram_base:#x}+{size:#x} beyond 4 GiB")
        devices: list[DeviceNode] = []
        vram = None
        for node in tree.node_iter():
            if node is root or "compatible" not in node.props or "reg" not in node.props:
                continue
            if _prop_str(node, "device_type") in ("memory", "cpu"):
                continue
            dev = _device_node(node)
            if "soclab,display" in dev.compatible and len(dev.reg) > 1:
                vram = dev.reg[1]
            devices.append(dev)
    except BoardError:
        raise
    except (dtlib.DTError, ValueError, IndexError, KeyError) as e:
        raise BoardError(f"{name}: bad devicetree: {_one_line(e)}") from None
    model = _prop_str(root, "model") or name
    return Board(name, model, arch, ram_base, size, devices, vram, text, tree)


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())


def _prop_str(node: Any, name: str) -> str | None:
    p = node.props.get(name)
    if p is None:
        return None
    return bytes(p.value).split(b"\0")[0].decode(errors="replace")


def _strings(node: Any, name: str) -> tuple[str, ...]:
    p = node.props.get(name)
    if p is None:
        return ()
    return tuple(s.decode(errors="replace") for s in bytes(p.value).split(b"\0") if s)


def _arch_of(tree: Any, name: str) -> str:
    compat = _strings(tree.root, "compatible")
    if "soclab,armv7" in compat:
        return "armv7"
    if "soclab,x86" in compat:
        return "x86"
    for node in tree.node_iter():
        if _prop_str(node, "device_type") == "cpu":
            cpu = _strings(node, "compatible")
            if any(c.startswith("arm,cortex-a") for c in cpu):
                return "armv7"
            if any(c.startswith("intel,") for c in cpu):
                return "x86"
    raise BoardError(
        f"{name}: unknown board: root compatible {', '.join(compat) or '(none)'} names neither "
        "soclab,armv7 nor soclab,x86, and no cpu node names an arm,cortex-a* or intel,* CPU"
    )


def _regs(node: Any) -> list[tuple[int, int]]:
    cells = node.props["reg"].to_nums()
    if not cells or len(cells) % 2:
        raise BoardError(f"{node.path}: reg must be <address size> pairs")
    return [(cells[i], cells[i + 1]) for i in range(0, len(cells), 2)]


def _device_node(node: Any) -> DeviceNode:
    props = node.props
    irqs = props["interrupts"].to_nums() if "interrupts" in props else []
    for n in irqs:
        if not 0 <= n < 32:
            raise BoardError(f"{node.path}: interrupt {n} outside 0..31")
    dev = DeviceNode(
        name=(node.labels or [node.name.split("@")[0]])[0],
        path=node.path,
        compatible=_strings(node, "compatible"),
        reg=_regs(node),
        interrupts=list(irqs),
        dma_coherent="dma-coherent" in props,
        props={k: bytes(p.value) for k, p in props.items()},
    )
    dev.dma_bits = dev.prop_u32("soclab,dma-bits", 32)
    if not 1 <= dev.dma_bits <= 32:
        raise BoardError(f"{dev.path}: soclab,dma-bits must be 1..32")
    return dev


def _write_dtb(tree: Any, ram_base: int, ram_size: int) -> bytes:
    import libfdt

    sw = libfdt.FdtSw()
    sw.finish_reservemap()

    def emit(node: Any, is_root: bool) -> None:
        sw.begin_node("" if is_root else node.name)
        for pname, prop in node.props.items():
            value = bytes(prop.value)
            if pname == "reg" and _prop_str(node, "device_type") == "memory":
                value = ram_base.to_bytes(4, "big") + ram_size.to_bytes(4, "big")
            sw.property(pname, value)
        for child in node.nodes.values():
            emit(child, False)
        sw.end_node()

    emit(tree.root, True)
    fdt = sw.as_fdt()
    fdt.pack()
    return bytes(fdt.as_bytearray())
