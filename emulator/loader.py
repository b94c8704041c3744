"""Guest images: ELF executables (via pyelftools) and raw binaries.

A bare-metal ELF is checked against the board (32-bit class, little-endian, EM_ARM for
soclab-armv7, EM_386 for soclab-x86), and its PT_LOAD segments are placed at their *physical*
addresses (p_paddr), with the bytes past p_filesz zeroed. Symbols are kept for traces. A raw
image is loaded at a given address and entered there. Every problem — truncated file, wrong
architecture, overlapping segments, a segment outside memory — is a `LoadError` with one line.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from emulator.bus import PhysBus

EM_386, EM_ARM = 3, 40
MACHINES = {"armv7": (EM_ARM, "ARM"), "x86": (EM_386, "i386")}
PT_LOAD = "PT_LOAD"
PF_X = 1


class LoadError(Exception):
    """An image that cannot be loaded; the message is one line."""


@dataclass
class Segment:
    paddr: int
    vaddr: int
    data: bytes
    memsz: int
    flags: int


@dataclass
class Image:
    path: str
    kind: str  # "elf" or "raw"
    entry: int
    segments: list[Segment]
    symbols: list[tuple[int, int, str]] = field(default_factory=list)  # sorted (addr, size, name)
    elf_type: str = "ET_EXEC"
    phdr_vaddr: int = 0  # where the program headers are in memory (AT_PHDR)
    phentsize: int = 0
    phnum: int = 0
    interp: bool = False  # has a PT_INTERP (a dynamically linked program)

    def symbolize(self, addr: int) -> str | None:
        """'name+0xoff' for an address inside (or just after) a known symbol."""
        i = bisect.bisect_right(self.symbols, (addr, 1 << 64, "")) - 1
        if i < 0:
            return None
        start, size, name = self.symbols[i]
        if size and addr >= start + size:
            return None
        return name if addr == start else f"{name}+{addr - start:#x}"


def is_elf(path: str | Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


def load_image(path: str | Path, arch: str, raw_address: int | None = None) -> Image:
    p = Path(path)
    if not p.is_file():
        raise LoadError(f"{path}: no such file")
    if is_elf(p):
        return load_elf(p, arch)
    if raw_address is None:
        raise LoadError(f"{path}: not an ELF file (for a raw image give --load-addr)")
    return load_raw(p, raw_address)


def load_raw(path: Path, address: int) -> Image:
    data = path.read_bytes()
    if not data:
        raise LoadError(f"{path}: empty image")
    return Image(str(path), "raw", address, [Segment(address, address, data, len(data), 7)])


def load_elf_bytes(data: bytes, name: str, arch: str) -> Image:
    """An ELF image from bytes (a program the kernel model read from its VFS)."""
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".elf") as f:
        f.write(data)
        f.flush()
        image = load_elf(Path(f.name), arch)
    image.path = name
    return image


def load_elf(path: Path, arch: str) -> Image:
    want_machine, want_name = MACHINES[arch]
    size = path.stat().st_size
    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            if elf.elfclass != 32:
                raise LoadError(f"{path}: {elf.elfclass}-bit ELF; soclab-{arch} runs 32-bit code")
            if not elf.little_endian:
                raise LoadError(f"{path}: big-endian ELF; soclab-{arch} is little-endian")
            machine = elf.header["e_machine"]
            machine_num = {"EM_ARM": EM_ARM, "EM_386": EM_386}.get(machine, machine)
            if machine_num != want_machine:
                raise LoadError(f"{path}: ELF for {machine}, but the board's CPU is {want_name}")
            segments: list[Segment] = []
            for seg in elf.iter_segments():
                if seg.header.p_type != PT_LOAD or seg.header.p_memsz == 0:
                    continue
                h = seg.header
                if h.p_offset + h.p_filesz > size:
                    raise LoadError(
                        f"{path}: truncated: segment at offset {h.p_offset:#x} "
                        f"needs {h.p_filesz:#x} bytes, the file has {size:#x}"
                    )
                if h.p_filesz > h.p_memsz:
                    raise LoadError(f"{path}: segment at {h.p_paddr:#x} has filesz > memsz")
                segments.append(Segment(h.p_paddr, h.p_vaddr, seg.data(), h.p_memsz, h.p_flags))
            if not segments:
                raise LoadError(f"{path}: no loadable segments")
            _check_overlap(path, segments)
            symbols = _symbols(elf)
            entry = elf.header["e_entry"]
            etype = elf.header["e_type"]
            phoff = elf.header["e_phoff"]
            phdr_vaddr = 0
            for seg in elf.iter_segments():
                h = seg.header
                if h.p_type == "PT_PHDR":
                    phdr_vaddr = h.p_vaddr
                    break
                if h.p_type == PT_LOAD and h.p_offset <= phoff < h.p_offset + h.p_filesz:
                    phdr_vaddr = h.p_vaddr + phoff - h.p_offset
            phentsize, phnum = elf.header["e_phentsize"], elf.header["e_phnum"]
            interp = any(s.header.p_type == "PT_INTERP" for s in elf.iter_segments())
    except (ELFError, ValueError, OSError, KeyError, AttributeError) as e:
        raise LoadError(f"{path}: malformed ELF: {' '.join(str(e).split())}") from None
    except Exception as e:  # pyelftools raises struct errors on truncated headers
        if e.__class__.__module__.startswith(("construct", "struct", "elftools")):
            raise LoadError(f"{path}: truncated or malformed ELF") from None
        raise
    return Image(
        str(path), "elf", entry, segments, symbols, etype, phdr_vaddr, phentsize, phnum, interp
    )


def _check_overlap(path: Path, segments: list[Segment]) -> None:
    spans = sorted((s.paddr, s.paddr + s.memsz) for s in segments)
    for (a0, a1), (b0, b1) in zip(spans, spans[1:], strict=False):
        if b0 < a1:
            raise LoadError(
                f"{path}: segments {a0:#x}..{a1 - 1:#x} and {b0:#x}..{b1 - 1:#x} overlap"
            )


def _symbols(elf: ELFFile) -> list[tuple[int, int, str]]:
    """Code and data symbols, one per address: global functions win over locals and labels."""
    symtab = elf.get_section_by_name(".symtab")
    if not isinstance(symtab, SymbolTableSection):
        return []
    best: dict[int, tuple[int, int, str]] = {}
    for sym in symtab.iter_symbols():
        kind = sym["st_info"]["type"]
        if kind not in ("STT_FUNC", "STT_NOTYPE", "STT_OBJECT") or not sym.name:
            continue
        if sym.name.startswith("$") or sym["st_shndx"] in ("SHN_UNDEF", "SHN_ABS"):
            continue  # ARM mapping symbols ($a, $t, $d) and constants
        addr = sym["st_value"] & ~1 if kind == "STT_FUNC" else sym["st_value"]
        rank = (kind == "STT_FUNC") + 2 * (sym["st_info"]["bind"] == "STB_GLOBAL")
        if addr not in best or rank > best[addr][0]:
            best[addr] = (rank, sym["st_size"], sym.name)
    return sorted((addr, size, name) for addr, (_rank, size, name) in best.items())


def place(image: Image, bus: PhysBus, reserved: list[tuple[int, int, str]] = ()) -> None:  # type: ignore[assignment]
    """Copy the image's segments into memory; each must lie inside one memory region."""
    for s in image.segments:
        region = bus.find_memory(s.paddr, s.memsz)
        if region is None:
            raise LoadError(
                f"{image.path}: segment {s.paddr:#x}..{s.paddr + s.memsz - 1:#x} lies outside "
                "the board's memory"
            )
        for start, length, what in reserved:
            if s.paddr < start + length and start < s.paddr + s.memsz:
                raise LoadError(
                    f"{image.path}: segment at {s.paddr:#x} overlaps the {what} at {start:#x}"
                )
        bus.write(s.paddr, s.data + bytes(s.memsz - len(s.data)))
