"""The I/O memory resource tree: kernel/resource.c, include/linux/ioport.h, /proc/iomem.

`struct resource` is a tree of physical address ranges, rooted at `iomem_resource`
(0x00000000-0xffffffff, "PCI mem"). At boot it holds what Linux's setup code puts there:
"System RAM" for DRAM (busy, so drivers cannot claim RAM) with the kernel's reserved ranges
("Kernel code", and the x86 BIOS megabyte) as children, and one non-busy resource per
device register block and for the display's VRAM aperture, as the devicetree platform code
inserts them. Those are named after the device, `<unit address>.<node name>` as
of_device_make_bus_id() names the device ("10001000.serial").

Drivers claim ranges with request_mem_region(): the new resource is busy, and nests under any
non-busy resource that fully contains it (the device's own entry); a busy conflict, or a
partial overlap, fails with None. request_resource()/insert_resource() add non-busy ranges and
return -EBUSY on conflict (insert_resource adopts existing children that fit inside the new
one). `iomem()` renders the tree as /proc/iomem does for root:

    10001000-10001fff : 10001000.serial
      10001000-10001fff : 10001000.serial

Deviations: Linux names a devicetree device's *resources* after the node ("serial@10001000")
and only the device after the bus id; soclab uses the bus id for both, so that a device's
entry and a driver's claim inside it read alike. Not modelled: I/O ports (x86 `ioport_resource`),
IORESOURCE_MUXED waiting, memory hotplug, the CAP_SYS_ADMIN check (addresses are always shown).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from emulator.device import DeviceNode
from emulator.kernel.core import KERN_WARNING, Kernel, current_kernel, mm_init_hook

IORESOURCE_TYPE_BITS = 0x0000_1F00
IORESOURCE_IO = 0x0000_0100
IORESOURCE_MEM = 0x0000_0200
IORESOURCE_SYSRAM = 0x0100_0000
IORESOURCE_SYSTEM_RAM = IORESOURCE_MEM | IORESOURCE_SYSRAM
IORESOURCE_EXCLUSIVE = 0x0800_0000
IORESOURCE_BUSY = 0x8000_0000

EBUSY, EINVAL = 16, 22
MAX_IORES_LEVEL = 5


@dataclass(eq=False)
class Resource:
    """struct resource: [start, end] (end inclusive); children sorted by start."""

    start: int
    end: int
    name: str | None
    flags: int = IORESOURCE_MEM
    parent: Resource | None = field(default=None, repr=False)
    children: list[Resource] = field(default_factory=list, repr=False)

    def __str__(self) -> str:
        return f"{self.name} {format_resource(self)}"


def resource_size(res: Resource) -> int:
    return res.end - res.start + 1


def resource_type(res: Resource) -> int:
    return res.flags & IORESOURCE_TYPE_BITS


def format_resource(res: Resource) -> str:
    """printk's %pR: "[mem 0x10001000-0x10001fff]"."""
    kind = "io" if resource_type(res) == IORESOURCE_IO else "mem"
    return f"[{kind} 0x{res.start:08x}-0x{res.end:08x}]"


@dataclass
class IomemState:
    root: Resource
    #: the resources inserted at boot for each devicetree node (platform_device.resource)
    of_resources: dict[str, list[Resource]] = field(default_factory=dict)


def of_device_make_bus_id(node: DeviceNode) -> str:
    """drivers/of/platform.c: a devicetree device's name, "<address>.<node name>"."""
    unit = node.path.rstrip("/").rsplit("/", 1)[-1].split("@", 1)[0]
    return f"{node.reg[0][0]:x}.{unit}" if node.reg else unit


@mm_init_hook
def iomem_init(kernel: Kernel) -> None:
    """The boot-time tree: request_standard_resources() / e820 and the platform devices."""
    root = Resource(0, 0xFFFF_FFFF, "PCI mem", IORESOURCE_MEM)
    st = IomemState(root)
    kernel.subsystems["iomem"] = st
    board = kernel.machine.board
    ram = Resource(
        board.ram_base,
        board.ram_base + board.ram_size - 1,
        "System RAM",
        IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY,
    )
    request_resource(root, ram)
    for pa, size, name in kernel.layout.reserved:
        request_resource(ram, Resource(pa, pa + size - 1, name, ram.flags))
    for node in board.devices:
        name = of_device_make_bus_id(node)
        st.of_resources[node.path] = []
        for base, size in node.reg:
            res = Resource(base, base + size - 1, name, IORESOURCE_MEM)
            if insert_resource(root, res) == 0:
                st.of_resources[node.path].append(res)


def _state(k: Kernel | None = None) -> IomemState:
    k = k or current_kernel()
    st = k.subsystems.get("iomem")
    if st is None:
        iomem_init(k)
        st = k.subsystems["iomem"]
    assert isinstance(st, IomemState)
    return st


def iomem_resource() -> Resource:
    """The root of the I/O memory tree (Linux's global `iomem_resource`)."""
    return _state().root


def of_iomem_resources(node: DeviceNode) -> list[Resource]:
    """The resources inserted at boot for a devicetree node, in `reg` order."""
    return list(_state().of_resources.get(node.path, []))


# -- the tree --------------------------------------------------------------------------------


def __request_resource(root: Resource, new: Resource) -> Resource | None:
    """Link `new` among root's children; the conflicting resource if it overlaps one (or root
    itself if `new` does not fit inside root)."""
    if new.end < new.start or new.start < root.start or new.end > root.end:
        return root
    for i, tmp in enumerate(root.children):
        if tmp.start > new.end:
            root.children.insert(i, new)
            new.parent = root
            return None
        if tmp.end < new.start:
            continue
        return tmp
    root.children.append(new)
    new.parent = root
    return None


def request_resource_conflict(root: Resource, new: Resource) -> Resource | None:
    return __request_resource(root, new)


def request_resource(root: Resource, new: Resource) -> int:
    """request_resource(): 0, or -EBUSY if `new` overlaps a child of root or exceeds it."""
    return -EBUSY if __request_resource(root, new) is not None else 0


def __insert_resource(parent: Resource, new: Resource) -> Resource | None:
    while True:
        first = __request_resource(parent, new)
        if first is None or first is parent:
            return first
        if first is new:
            current_kernel().warn(f"insert_resource: {new} inserted twice")
            return first
        if first.start > new.start or first.end < new.end:
            break
        if first.start == new.start and first.end == new.end:
            break
        parent = first
    kids = parent.children
    i = j = kids.index(first)
    while j < len(kids) and kids[j].start <= new.end:
        if kids[j].start < new.start or kids[j].end > new.end:
            return kids[j]  # partial overlap: bad, and unfixable
        j += 1
    new.parent = parent
    new.children = kids[i:j]
    for child in new.children:
        child.parent = new
    kids[i:j] = [new]
    return None


def insert_resource(parent: Resource, new: Resource) -> int:
    """insert_resource(): like request_resource, but nests inside a resource that contains
    `new` and adopts the children that `new` contains; -EBUSY on a partial overlap."""
    return -EBUSY if __insert_resource(parent, new) is not None else 0


def release_resource(old: Resource) -> int:
    """release_resource(): unlink `old` (and its subtree); -EINVAL if it is not in a tree."""
    parent = old.parent
    if parent is None or old not in parent.children:
        return -EINVAL
    parent.children.remove(old)
    old.parent = None
    return 0


def lookup_resource(root: Resource, start: int) -> Resource | None:
    """lookup_resource(): the child of root that starts at `start`."""
    return next((r for r in root.children if r.start == start), None)


# -- regions: request_mem_region and friends -------------------------------------------------


def __request_region(
    parent: Resource, start: int, n: int, name: str, flags: int = 0
) -> Resource | None:
    """__request_region(): a busy resource [start, start + n), nested under the innermost
    non-busy resource that contains it; None on a conflict."""
    res = Resource(start, start + n - 1, name)
    while True:
        res.flags = resource_type(parent) | IORESOURCE_BUSY | flags
        conflict = __request_resource(parent, res)
        if conflict is None:
            return res
        if conflict is not parent and not conflict.flags & IORESOURCE_BUSY:
            parent = conflict
            continue
        return None


def __release_region(parent: Resource, start: int, n: int) -> None:
    """__release_region(): remove the busy region [start, start + n) exactly."""
    end = start + n - 1
    kids = parent.children
    i = 0
    while i < len(kids):
        res = kids[i]
        if res.start <= start and res.end >= end:
            if not res.flags & IORESOURCE_BUSY:
                kids, i = res.children, 0
                continue
            if res.start != start or res.end != end:
                break
            kids.pop(i)
            res.parent = None
            return
        i += 1
    current_kernel().printk(
        KERN_WARNING, f"Trying to free nonexistent resource <0x{start:08x}-0x{end:08x}>"
    )


def request_mem_region(start: int, n: int, name: str) -> Resource | None:
    """request_mem_region(): claim [start, start + n) of I/O memory for a driver."""
    return __request_region(_state().root, start, n, name)


def request_mem_region_exclusive(start: int, n: int, name: str) -> Resource | None:
    """request_mem_region_exclusive(): also closes the range to /dev/mem."""
    return __request_region(_state().root, start, n, name, IORESOURCE_EXCLUSIVE)


def release_mem_region(start: int, n: int) -> None:
    """release_mem_region(): give back a request_mem_region() claim."""
    __release_region(_state().root, start, n)


def _walk(res: Resource) -> list[tuple[int, Resource]]:
    out: list[tuple[int, Resource]] = []

    def visit(r: Resource, depth: int) -> None:
        for child in r.children:
            out.append((depth, child))
            visit(child, depth + 1)

    visit(res, 0)
    return out


def page_is_ram(pfn: int) -> bool:
    """page_is_ram(): is the page frame inside a "System RAM" resource?"""
    pa = pfn << 12
    return any(
        (r.flags & IORESOURCE_SYSTEM_RAM) == IORESOURCE_SYSTEM_RAM and r.start <= pa <= r.end
        for _, r in _walk(_state().root)
    )


def iomem_is_exclusive(addr: int) -> bool:
    """iomem_is_exclusive(): does a busy, exclusive resource cover `addr`?"""
    return any(
        r.start <= addr <= r.end and r.flags & IORESOURCE_BUSY and r.flags & IORESOURCE_EXCLUSIVE
        for _, r in _walk(_state().root)
    )


def iomem() -> str:
    """/proc/iomem as root reads it (kernel/resource.c r_show)."""
    root = _state().root
    width = 4 if root.end < 0x10000 else 8
    lines = []
    for depth, r in _walk(root):
        indent = " " * (2 * min(depth, MAX_IORES_LEVEL))
        name = r.name if r.name is not None else "<BAD>"
        lines.append(f"{indent}{r.start:0{width}x}-{r.end:0{width}x} : {name}\n")
    return "".join(lines)
