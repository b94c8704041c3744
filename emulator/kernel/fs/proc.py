"""/proc renderers for memory management (fs/proc/meminfo.c, mm/vmstat.c, mm/slab_common.c,
mm/vmalloc.c, kernel/resource.c), in Linux's exact formats so existing tools parse them.

`read_proc(name)` returns the text of "meminfo", "buddyinfo", "slabinfo", "vmallocinfo" or
"iomem" for the current kernel; the user-space layer serves them as files.

/proc/meminfo prints every field a 32-bit Linux 6.x kernel without swap, memcg or hugepages
prints, in its order and format (`show_val_kb`: the name padded to 16 columns, the value right-
aligned in 8, " kB"). Fields the model has no counterpart for (page cache, swap, writeback)
are 0, as on a system that has none.
"""

from __future__ import annotations

from collections.abc import Callable

from emulator.kernel.core import PAGE_SIZE, current_kernel


def _kb(pages: int) -> int:
    return pages * (PAGE_SIZE // 1024)


def meminfo() -> str:
    from emulator.kernel.mm.mmzone import meminfo_fields
    from emulator.kernel.mm.slab import slab_state
    from emulator.kernel.mm.vmalloc import _state as vmalloc_state

    k = current_kernel()
    f = meminfo_fields()
    slab_pages = sum(len(s.slabs) << s.order for s in slab_state(k).slab_caches)
    vm = vmalloc_state(k)
    vmalloc_used = sum(len(a.pages) for a in vm.areas)
    lay = k.layout
    page_tables = (k.pgtable._early_next - k.pgtable.pgd) // PAGE_SIZE
    committed = _kb(vmalloc_used + slab_pages)
    total_kb = f["MemTotal"]
    values = [
        ("MemTotal", total_kb),
        ("MemFree", f["MemFree"]),
        ("MemAvailable", f["MemAvailable"]),
        ("Buffers", 0),
        ("Cached", 0),
        ("SwapCached", 0),
        ("Active", 0),
        ("Inactive", 0),
        ("Active(anon)", 0),
        ("Inactive(anon)", 0),
        ("Active(file)", 0),
        ("Inactive(file)", 0),
        ("Unevictable", 0),
        ("Mlocked", 0),
        ("HighTotal", f["HighTotal"]),
        ("HighFree", f["HighFree"]),
        ("LowTotal", f["LowTotal"]),
        ("LowFree", f["LowFree"]),
        ("SwapTotal", 0),
        ("SwapFree", 0),
        ("Dirty", 0),
        ("Writeback", 0),
        ("AnonPages", 0),
        ("Mapped", 0),
        ("Shmem", 0),
        ("KReclaimable", 0),
        ("Slab", _kb(slab_pages)),
        ("SReclaimable", 0),
        ("SUnreclaim", _kb(slab_pages)),
        ("KernelStack", 0),
        ("PageTables", _kb(page_tables)),
        ("SecPageTables", 0),
        ("NFS_Unstable", 0),
        ("Bounce", 0),
        ("WritebackTmp", 0),
        ("CommitLimit", total_kb // 2),
        ("Committed_AS", committed),
        ("VmallocTotal", (lay.VMALLOC_END - lay.VMALLOC_START) // 1024),
        ("VmallocUsed", _kb(vmalloc_used)),
        ("VmallocChunk", 0),
        ("Percpu", 0),
        ("CmaTotal", 0),
        ("CmaFree", 0),
    ]
    return "".join(f"{name + ':':<16}{value:8d} kB\n" for name, value in values)


def buddyinfo() -> str:
    from emulator.kernel.mm.mmzone import buddyinfo as render

    return render()


def slabinfo() -> str:
    from emulator.kernel.mm.slab import slabinfo as render

    return render()


def vmallocinfo() -> str:
    from emulator.kernel.mm.vmalloc import vmallocinfo as render

    return render()


def iomem() -> str:
    from emulator.kernel.resource import iomem as render

    return render()


PROC_FILES: dict[str, Callable[[], str]] = {
    "meminfo": meminfo,
    "buddyinfo": buddyinfo,
    "slabinfo": slabinfo,
    "vmallocinfo": vmallocinfo,
    "iomem": iomem,
}


def read_proc(name: str) -> str:
    """The text of /proc/<name> for the current kernel."""
    try:
        return PROC_FILES[name]()
    except KeyError:
        raise FileNotFoundError(f"/proc/{name}") from None
