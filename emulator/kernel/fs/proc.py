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
from dataclasses import dataclass

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


# -- /proc/version, cpuinfo, uptime, interrupts (fs/proc/version.c, arch/*/kernel/*cpuinfo*,
# fs/proc/uptime.c, kernel/irq/proc.c) ---------------------------------------------------------

LINUX_BANNER = (
    "Linux version 6.1.0-soclab (soclab@soclab) (Python) #1 SMP PREEMPT "
    "Thu Jan  1 00:00:00 UTC 1970\n"
)


@dataclass
class ProcState:
    """Hooks other layers fill: the /proc/self target (the process layer) and the rows of
    /proc/interrupts (the IRQ layer)."""

    self_resolver: Callable[[], str | None] | None = None
    interrupts_renderer: Callable[[], str] | None = None


def proc_state() -> ProcState:
    k = current_kernel()
    state = k.subsystems.setdefault("proc", ProcState())
    assert isinstance(state, ProcState)
    return state


def proc_set_interrupts_renderer(fn: Callable[[], str] | None) -> None:
    """Let the IRQ layer supply the per-IRQ rows of /proc/interrupts."""
    proc_state().interrupts_renderer = fn


def version() -> str:
    return LINUX_BANNER


def _bogomips() -> str:
    ns = current_kernel().machine.clock.ns_per_insn
    return f"{1000 / ns:.2f}"


def cpuinfo() -> str:
    """A Cortex-A9 (ARMv7) or an i686 (x86), in the architecture's /proc/cpuinfo format."""
    k = current_kernel()
    if k.machine.board.arch == "armv7":
        return (
            "processor\t: 0\n"
            "model name\t: ARMv7 Processor rev 0 (v7l)\n"
            f"BogoMIPS\t: {_bogomips()}\n"
            "Features\t: half thumb fastmult vfp edsp neon vfpv3 tls vfpd32 \n"
            "CPU implementer\t: 0x41\n"
            "CPU architecture: 7\n"
            "CPU variant\t: 0x0\n"
            "CPU part\t: 0xc09\n"
            "CPU revision\t: 0\n\n"
            "Hardware\t: Generic DT based system\n"
            "Revision\t: 0000\n"
            "Serial\t\t: 0000000000000000\n"
        )
    mhz = 1000 / k.machine.clock.ns_per_insn
    return (
        "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 6\n"
        "model name\t: QEMU Virtual CPU version 2.5+\nstepping\t: 3\n"
        f"cpu MHz\t\t: {mhz:.3f}\n"
        "physical id\t: 0\nsiblings\t: 1\ncore id\t\t: 0\ncpu cores\t: 1\napicid\t\t: 0\n"
        "initial apicid\t: 0\nfdiv_bug\t: no\nf00f_bug\t: no\ncoma_bug\t: no\nfpu\t\t: yes\n"
        "fpu_exception\t: yes\ncpuid level\t: 13\nwp\t\t: yes\n"
        "flags\t\t: fpu de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 "
        "clflush mmx fxsr sse sse2\n"
        "bugs\t\t:\n"
        f"bogomips\t: {2 * mhz:.2f}\n"
        "clflush size\t: 64\ncache_alignment\t: 64\n"
        "address sizes\t: 36 bits physical, 32 bits virtual\npower management:\n\n"
    )


def uptime() -> str:
    """Seconds since boot and seconds idle, from the virtual clock ("%lu.%02lu %lu.%02lu")."""
    clock = current_kernel().machine.clock
    up, idle = clock.now(), clock.idle_ns
    return f"{up // 10**9}.{up // 10**7 % 100:02d} {idle // 10**9}.{idle // 10**7 % 100:02d}\n"


def stat() -> str:
    """fs/proc/stat.c: CPU time in USER_HZ (100) ticks from the virtual clock — busy time is
    all user time (the kernel model's own work takes no virtual time), idle time is the time
    the CPU waited in wfi/hlt or with every task asleep — and the process counters (context
    switches and interrupts are not counted: 0)."""
    k = current_kernel()
    clock = k.machine.clock
    idle = clock.idle_ns // 10**7
    user = max(0, clock.now() // 10**7 - idle)
    pm = k.subsystems.get("process")
    tasks = list(pm.tasks.values()) if pm is not None else []
    forks = pm.next_pid - 1 if pm is not None else 0
    running = sum(1 for t in tasks if t.state in ("running", "runnable")) or 1
    cpu = f"{user} 0 0 {idle} 0 0 0 0 0 0"
    return (
        f"cpu  {cpu}\ncpu0 {cpu}\nintr 0\nctxt 0\nbtime 0\nprocesses {forks}\n"
        f"procs_running {running}\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n"
    )


def loadavg() -> str:
    """fs/proc/loadavg.c: the load averages (not computed: 0.00) and runnable/total tasks,
    and the last pid handed out."""
    pm = current_kernel().subsystems.get("process")
    tasks = list(pm.tasks.values()) if pm is not None else []
    running = sum(1 for t in tasks if t.state in ("running", "runnable")) or 1
    last = pm.next_pid - 1 if pm is not None else 0
    return f"0.00 0.00 0.00 {running}/{len(tasks)} {last}\n"


MOUNTS = (
    ("rootfs", "/", "rootfs", "rw"),
    ("devtmpfs", "/dev", "devtmpfs", "rw,relatime,mode=755"),
    ("tmpfs", "/tmp", "tmpfs", "rw,relatime"),
    ("proc", "/proc", "proc", "rw,nosuid,nodev,noexec,relatime"),
    ("sysfs", "/sys", "sysfs", "rw,nosuid,nodev,noexec,relatime"),
)


def mounts() -> str:
    """fs/proc_namespace.c show_vfsmnt(): "device mountpoint type options 0 0" per mount
    (the model's fixed mounts; a --root host directory is part of rootfs)."""
    return "".join(f"{dev} {mnt} {fs} {opts} 0 0\n" for dev, mnt, fs, opts in MOUNTS)


def interrupts() -> str:
    """kernel/irq/proc.c show_interrupts(): the CPU header ("%*s" + "CPU%-8d", prec 3), the
    rows the IRQ layer renders (none until it registers), then arch_show_interrupts()'s error
    count ("%*s: %10lu": ARM's "Err", x86's "ERR"; no IPI/APIC rows on this one-CPU model)."""
    rows = proc_state().interrupts_renderer
    err = "Err" if current_kernel().machine.board.arch == "armv7" else "ERR"
    return (
        " " * 11
        + "CPU0".ljust(11)
        + "\n"
        + (rows() if rows is not None else "")
        + f"{err:>3}: {0:10d}\n"
    )
