"""SLUB debugging and /proc/slabinfo: the CONFIG_SLUB_DEBUG half of mm/slub.c.

What slub_debug=FZPU does, on objects that live in guest RAM:

- P, poisoning: a free object is 0x6b bytes ending in 0xa5 (POISON_FREE, POISON_END), and a
  new slab is first filled with 0x5a (POISON_INUSE), which stays in the padding. A freed
  object whose poison is disturbed was written after free.
- Z, red zones: bytes around each object (and, for kmalloc, between the requested size and
  the object size) hold 0xbb while the object is free and 0xcc while it is allocated.
- U, owner tracking: the last allocation and free of each object (the Python caller).
- F, consistency checks: red zones, poison and padding are checked when an object is
  allocated (use after free shows here) and freed (overruns show here).
- validate_slab_cache() checks every object of a cache, whatever its flags.

Reports keep SLUB's format (slab_bug(), print_trailer(), print_hex_dump() sections, the FIX
lines, "Not tainted" then "Tainted: G    B"), with INFO: prefixes as until Linux 5.13 and
the 6.x checks ("kmalloc Redzone", "Restoring <what> ..."). Each report goes to the kernel
log at KERN_ERR and ends with the Python caller in place of dump_stack(); on a strict kernel
it then raises KernelBug, once the allocator is consistent again.

Because the patterns are in guest memory, corruption by guest code, by a device's DMA or by
a Python driver storing through `kernel.mem_write` is caught the same way. The checks read
memory as the CPU does (through the cache view), so they see a CPU's stores at once and a
device's writes once the lines are invalidated, as on real hardware.

Deviations: the free pointer and the tracks are kept in Python (their bytes in the slot are
left as they were, 0x5a with poisoning), so "Freepointer corrupt" cannot happen; "Slab 0x..."
prints the slab's address where SLUB prints its struct page; %p prints raw 8-digit
addresses; age is in jiffies of HZ=100 from the emulator's virtual clock; cpu and pid are 0.
"""

from __future__ import annotations

from emulator.kernel.core import (
    KERN_EMERG,
    KERN_ERR,
    KERN_INFO,
    KERN_WARNING,
    PAGE_SIZE,
    Kernel,
    KernelBug,
    current_kernel,
    python_caller,
    virt_addr_valid,
)
from emulator.kernel.gfp import __GFP_NOWARN, format_gfp, gfp_t
from emulator.kernel.mm.slab import (
    DEBUG_DEFAULT_FLAGS,
    GFP_SLAB_BUG_MASK,
    OBJECT_POISON,
    SLAB_CONSISTENCY_CHECKS,
    SLAB_POISON,
    SLAB_RED_ZONE,
    SLAB_STORE_USER,
    SLAB_TRACE,
    WORD,
    KmemCache,
    Slab,
    SlabFlags,
    SlabState,
    Track,
    flush_slab,
    slab_state,
    slub_debug_orig_size,
)

POISON_INUSE = 0x5A  # new slab memory, and padding
POISON_FREE = 0x6B  # a free object
POISON_END = 0xA5  # the last byte of a free object
SLUB_RED_INACTIVE = 0xBB  # red zones of a free object
SLUB_RED_ACTIVE = 0xCC  # red zones of an allocated object
TRACK_SIZE = 20  # sizeof(struct track) on 32-bit with a stack depot handle
HZ = 100


def jiffies(k: Kernel) -> int:
    return k.machine.clock.now() * HZ // 1_000_000_000


def setup_slub_debug(st: SlabState, option: object) -> None:
    """The slub_debug boot option: True or "" for FZPU, letters ("ZP"), "-" for none,
    optionally followed by ",<cache name prefix>" to debug only those caches."""
    if option is False or option is None:
        return
    letters, _, st.slub_debug_slabs = ("" if option is True else str(option)).partition(",")
    st.slub_debug = DEBUG_DEFAULT_FLAGS if not letters else SlabFlags(0)
    known = {"f": SLAB_CONSISTENCY_CHECKS, "z": SLAB_RED_ZONE, "p": SLAB_POISON}
    known |= {"u": SLAB_STORE_USER, "t": SLAB_TRACE}
    for ch in letters.lower():
        if ch in known:
            st.slub_debug |= known[ch]
        elif ch != "-":
            st.kernel.printk(KERN_ERR, f"slub_debug option '{ch}' unknown. skipped")


# -- the slot layout ----------------------------------------------------------------------------


def get_info_end(s: KmemCache) -> int:
    """End of object + red zone + free pointer (when it lives outside the object)."""
    return s.inuse + WORD if s.offset >= s.inuse else s.inuse


def _metadata_end(s: KmemCache) -> int:
    off = get_info_end(s)
    if s.flags & SLAB_STORE_USER:
        off += 2 * TRACK_SIZE
    return off + (4 if slub_debug_orig_size(s) else 0)


def size_from_object(s: KmemCache) -> int:
    return s.size - s.red_left_pad if s.flags & SLAB_RED_ZONE else s.size


def init_object(
    s: KmemCache,
    obj: int,
    val: int,
    orig_size: int = 0,
    image: bytearray | None = None,
    image_base: int = 0,
) -> None:
    """Write an object's red zones (`val`) and, for a poisoned cache, its poison. A kmalloc
    object being allocated is red-zoned from its requested size on."""
    poison_size = s.object_size
    if s.flags & SLAB_RED_ZONE and slub_debug_orig_size(s) and val == SLUB_RED_ACTIVE:
        poison_size = orig_size or s.object_size
    parts: list[tuple[int, bytes]] = []
    if s.flags & SLAB_RED_ZONE:
        parts.append((obj - s.red_left_pad, bytes([val]) * s.red_left_pad))
    if s.flags & OBJECT_POISON:
        parts.append((obj, bytes([POISON_FREE]) * (poison_size - 1) + bytes([POISON_END])))
    if s.flags & SLAB_RED_ZONE:
        parts.append((obj + poison_size, bytes([val]) * (s.inuse - poison_size)))
    k = current_kernel()
    for va, data in parts:
        if image is not None:
            image[va - image_base : va - image_base + len(data)] = data
        elif data:
            k.mem_write(va, data)


def setup_slab_debug(s: KmemCache, slab: Slab) -> None:
    """new_slab(): fill with POISON_INUSE, then give every object its free-state pattern,
    written as one store of the whole slab."""
    k = current_kernel()
    length = PAGE_SIZE << slab.order
    if s.flags & SLAB_POISON:
        image = bytearray([POISON_INUSE]) * length
    else:
        image = bytearray(k.mem_read(slab.base, length))
    if s.flags & (SLAB_STORE_USER | SLAB_RED_ZONE | OBJECT_POISON):
        for i in range(slab.objects):
            init_object(s, slab.obj(i), SLUB_RED_INACTIVE, image=image, image_base=slab.base)
    k.mem_write(slab.base, bytes(image))


# -- reports ------------------------------------------------------------------------------------


def _pr_err(text: str, level: str = KERN_ERR) -> None:
    current_kernel().printk(level, text)


def _dump_stack() -> None:
    _pr_err(f"  caller: {python_caller()}")


def print_tainted(st: SlabState) -> str:
    # P(G) F S R M B U D A W C I O E L K X T: only TAINT_BAD_PAGE is ever set here
    return "Tainted: G    B            " if st.tainted else "Not tainted"


def slab_bug(s: KmemCache, what: str) -> None:
    st = slab_state()
    _pr_err("=" * 77)
    _pr_err(f"BUG {s.name} ({print_tainted(st)}): {what}")
    _pr_err("-" * 77)
    _pr_err("")
    st.tainted = True
    st.errors += 1
    st.pending_bug = st.pending_bug or f"{s.name}: {what}"


def slab_fix(s: KmemCache, what: str) -> None:
    _pr_err(f"FIX {s.name}: {what}")


def raise_if_strict(st: SlabState) -> None:
    """At the end of an operation that reported: BUG() semantics on a strict kernel."""
    title, st.pending_bug = st.pending_bug, None
    if title is not None and st.kernel.strict:
        raise KernelBug(title)


def print_section(text: str, addr: int, length: int, level: str = KERN_ERR) -> None:
    """print_hex_dump(level, text, DUMP_PREFIX_ADDRESS, 16, 1, addr, length, true)."""
    data = current_kernel().mem_read(addr, length) if length > 0 else b""
    for i in range(0, len(data), 16):
        row = data[i : i + 16]
        hexpart = " ".join(f"{b:02x}" for b in row)
        ascii_ = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in row)
        _pr_err(f"{text}{addr + i:08x}: {hexpart:<49}{ascii_}", level)


def print_track(what: str, t: Track | None) -> None:
    if t is not None:
        age = jiffies(current_kernel()) - t.when
        _pr_err(f"INFO: {what} in {t.addr} age={age} cpu={t.cpu} pid={t.pid}")


def print_tracking(s: KmemCache, slab: Slab, obj: int) -> None:
    if s.flags & SLAB_STORE_USER:
        index = slab.index(obj)
        print_track("Allocated", slab.alloc_track.get(index))
        print_track("Freed", slab.free_track.get(index))


def _fp(slab: Slab) -> int:
    return slab.obj(slab.freelist[-1]) if slab.freelist else 0


def print_page_info(slab: Slab) -> None:
    _pr_err(
        f"INFO: Slab 0x{slab.base:08x} objects={slab.objects} used={slab.inuse} "
        f"fp=0x{_fp(slab):08x} flags=0x{int(slab.page.flags):04x}"
    )


def print_trailer(s: KmemCache, slab: Slab, obj: int) -> None:
    print_tracking(s, slab, obj)
    print_page_info(slab)
    index = slab.index(obj)
    fp = 0
    if index in slab.free:  # the next object on the freelist after this one
        pos = slab.freelist.index(index)
        fp = slab.obj(slab.freelist[pos - 1]) if pos > 0 else 0
    _pr_err(f"INFO: Object 0x{obj:08x} @offset={obj - slab.base} fp=0x{fp:08x}")
    _pr_err("")
    if s.flags & SLAB_RED_ZONE:
        print_section("Redzone  ", obj - s.red_left_pad, s.red_left_pad)
    elif obj > slab.base + 16:
        print_section("Bytes b4 ", obj - 16, 16)
    print_section("Object   ", obj, min(s.object_size, PAGE_SIZE))
    if s.flags & SLAB_RED_ZONE:
        print_section("Redzone  ", obj + s.object_size, s.inuse - s.object_size)
    off = _metadata_end(s)
    if off != size_from_object(s):
        print_section("Padding  ", obj + off, size_from_object(s) - off)
    _dump_stack()


def object_err(s: KmemCache, slab: Slab, obj: int, reason: str) -> None:
    slab_bug(s, reason)
    print_trailer(s, slab, obj)


def slab_err(s: KmemCache, slab: Slab, text: str) -> None:
    slab_bug(s, text)
    print_page_info(slab)
    _dump_stack()


def restore_bytes(s: KmemCache, what: str, value: int, start: int, end: int) -> None:
    slab_fix(s, f"Restoring {what} 0x{start:08x}-0x{end - 1:08x}=0x{value:x}")
    current_kernel().mem_write(start, bytes([value]) * (end - start))


# -- checks -------------------------------------------------------------------------------------


def check_bytes_and_report(
    s: KmemCache,
    slab: Slab,
    obj: int,
    what: str,
    start: int,
    value: int,
    length: int,
    buf: bytearray,
    buf_base: int,
) -> bool:
    """Is [start, start + length) all `value`? If not: report, restore, return False.
    `buf` holds memory from `buf_base` on and is restored along with it."""
    lo = start - buf_base
    region = buf[lo : lo + length]
    fault = next((i for i, b in enumerate(region) if b != value), None)
    if fault is None:
        return True
    end = length
    while end > fault and region[end - 1] == value:
        end -= 1
    slab_bug(s, f"{what} overwritten")
    _pr_err(
        f"INFO: 0x{start + fault:08x}-0x{start + end - 1:08x} @offset={start + fault - slab.base}."
        f" First byte 0x{region[fault]:x} instead of 0x{value:x}"
    )
    print_trailer(s, slab, obj)
    restore_bytes(s, what, value, start + fault, start + end)
    buf[lo + fault : lo + end] = bytes([value]) * (end - fault)
    return False


def check_object(s: KmemCache, slab: Slab, obj: int, val: int) -> bool:
    """Red zones for state `val`, poison if free, padding: True if all are intact."""
    base = obj - s.red_left_pad
    buf = bytearray(current_kernel().mem_read(base, s.size))

    def check(what: str, start: int, value: int, length: int) -> bool:
        return check_bytes_and_report(s, slab, obj, what, start, value, length, buf, base)

    end_object = obj + s.object_size
    if s.flags & SLAB_RED_ZONE:
        if not check("Left Redzone", base, val, s.red_left_pad):
            return False
        if not check("Right Redzone", end_object, val, s.inuse - s.object_size):
            return False
        if slub_debug_orig_size(s) and val == SLUB_RED_ACTIVE:
            orig = slab.orig_size.get(slab.index(obj), s.object_size)
            if orig < s.object_size and not check(
                "kmalloc Redzone", obj + orig, val, s.object_size - orig
            ):
                return False
    elif s.flags & SLAB_POISON and s.object_size < s.inuse:
        check("Alignment padding", end_object, POISON_INUSE, s.inuse - s.object_size)
    if s.flags & SLAB_POISON:
        if val != SLUB_RED_ACTIVE and s.flags & OBJECT_POISON:
            if not check("Poison", obj, POISON_FREE, s.object_size - 1):
                return False
            if not check("End Poison", end_object - 1, POISON_END, 1):
                return False
        off = _metadata_end(s)
        check("Object padding", obj + off, POISON_INUSE, size_from_object(s) - off)
    return True


def slab_pad_check(s: KmemCache, slab: Slab) -> bool:
    """The bytes after the last object of a poisoned slab must still be POISON_INUSE."""
    if not s.flags & SLAB_POISON:
        return True
    length = PAGE_SIZE << slab.order
    remainder = length % s.size
    if not remainder:
        return True
    pad = slab.base + length - remainder
    data = current_kernel().mem_read(pad, remainder)
    fault = next((i for i, b in enumerate(data) if b != POISON_INUSE), None)
    if fault is None:
        return True
    end = remainder
    while end > fault and data[end - 1] == POISON_INUSE:
        end -= 1
    slab_err(
        s,
        slab,
        f"Padding overwritten. 0x{pad + fault:08x}-0x{pad + end - 1:08x}"
        f" @offset={pad + fault - slab.base}",
    )
    print_section("Padding ", pad, remainder)
    restore_bytes(s, "slab padding", POISON_INUSE, pad + fault, pad + end)
    return False


def check_valid_pointer(s: KmemCache, slab: Slab, obj: int) -> bool:
    off = obj - s.red_left_pad - slab.base
    return 0 <= off < slab.objects * s.size and off % s.size == 0


def alloc_debug_processing(s: KmemCache, slab: Slab, obj: int, orig_size: int) -> bool:
    """Check an object about to be handed out. On a failure SLUB gives up on the whole slab
    ("Marking all objects used") and the caller takes another."""
    if s.flags & SLAB_CONSISTENCY_CHECKS and not check_object(s, slab, obj, SLUB_RED_INACTIVE):
        slab_fix(s, "Marking all objects used")
        slab.freelist.clear()
        slab.free.clear()
        if slab in s.partial:
            s.partial.remove(slab)
        return False
    init_object(s, obj, SLUB_RED_ACTIVE, orig_size)
    return True


def free_debug_processing(s: KmemCache, slab: Slab, obj: int, caller: str) -> bool:
    """Check an object being freed; False (after a report) leaves it allocated."""
    index = slab.index(obj)
    if not check_valid_pointer(s, slab, obj):
        slab_err(s, slab, f"Invalid object pointer 0x{obj:08x}")
    elif index in slab.free:
        object_err(s, slab, obj, "Object already free")
    elif not s.flags & SLAB_CONSISTENCY_CHECKS or check_object(s, slab, obj, SLUB_RED_ACTIVE):
        if s.flags & SLAB_STORE_USER:
            slab.free_track[index] = Track(caller, jiffies(current_kernel()))
        if s.flags & (SLAB_STORE_USER | SLAB_RED_ZONE | OBJECT_POISON):
            init_object(s, obj, SLUB_RED_INACTIVE)
        slab.orig_size.pop(index, None)
        return True
    slab_fix(s, f"Object at 0x{obj:08x} not freed")
    return False


def trace(s: KmemCache, slab: Slab, obj: int, alloc: bool) -> None:
    """SLAB_TRACE (slub_debug=T): log each alloc and free."""
    if s.flags & SLAB_TRACE:
        _pr_err(
            f"TRACE {s.name} {'alloc' if alloc else 'free'} 0x{obj:08x} inuse={slab.inuse} "
            f"fp=0x{_fp(slab):08x}",
            KERN_INFO,
        )
        if not alloc:
            print_section("Object ", obj, s.object_size, KERN_INFO)


def check_slab_before_free(s: KmemCache, slab: Slab) -> None:
    """__free_slab() with consistency checks: padding, and every (free) object."""
    slab_pad_check(s, slab)
    for i in range(slab.objects):
        check_object(s, slab, slab.obj(i), SLUB_RED_INACTIVE)


def validate_slab(s: KmemCache, slab: Slab) -> None:
    slab_pad_check(s, slab)
    for i in range(slab.objects):
        val = SLUB_RED_INACTIVE if i in slab.free else SLUB_RED_ACTIVE
        if not check_object(s, slab, slab.obj(i), val):
            break


def validate_slab_cache(s: KmemCache) -> int:
    """Check every slab of a cache (after flushing the CPU slab, as flush_all() does).
    Returns the number of reports."""
    st = slab_state()
    before = st.errors
    flush_slab(s)
    for slab in list(s.slabs):
        validate_slab(s, slab)
    errors = st.errors - before
    raise_if_strict(st)
    return errors


def list_slab_objects(s: KmemCache, slab: Slab, text: str) -> None:
    """__kmem_cache_shutdown() found objects: name them with their owners."""
    if slab.inuse == 0:
        return
    slab_err(s, slab, text)
    for i in range(slab.objects):
        if i not in slab.free:
            obj = slab.obj(i)
            _pr_err(f"INFO: Object 0x{obj:08x} @offset={obj - slab.base}")
            print_tracking(s, slab, obj)


# -- reports outside SLUB's object checks ------------------------------------------------------


def slab_out_of_memory(s: KmemCache, gfp: gfp_t) -> None:
    """The report of a failed slab allocation (unless __GFP_NOWARN)."""
    if gfp & __GFP_NOWARN:
        return
    objs = sum(sl.objects for sl in s.slabs)
    free = sum(len(sl.freelist) for sl in s.slabs)
    _pr_err(
        f"SLUB: Unable to allocate memory on node -1, gfp={gfp:#x}({format_gfp(gfp)})\n"
        f"  cache: {s.name}, object size: {s.object_size}, buffer size: {s.size}, "
        f"default order: {s.order}, min order: {s.min_order}\n"
        f"  node 0: slabs: {len(s.slabs)}, objs: {objs}, free: {free}\n"
        f"  caller: {python_caller()}",
        KERN_WARNING,
    )


def kmalloc_fix_flags(flags: gfp_t) -> gfp_t:
    """Slab memory is lowmem: strip __GFP_HIGHMEM and __GFP_DMA32, and say so."""
    invalid, fixed = flags & GFP_SLAB_BUG_MASK, flags & ~GFP_SLAB_BUG_MASK
    _pr_err(
        f"Unexpected gfp: {invalid:#x} ({format_gfp(invalid)}). Fixing up to gfp: {fixed:#x} "
        f"({format_gfp(fixed)}). Fix your code!\n  caller: {python_caller()}",
        KERN_WARNING,
    )
    return fixed


def kmem_cache_create_failed(name: str, panic: int, err: int) -> None:
    if panic:
        msg = f"kmem_cache_create: Failed to create slab '{name}'. Error {err}"
        _pr_err(f"Kernel panic - not syncing: {msg}\n  caller: {python_caller()}", KERN_EMERG)
        raise KernelBug(msg)
    _pr_err(
        f"kmem_cache_create({name}) failed with error {err}\n  caller: {python_caller()}",
        KERN_WARNING,
    )


def report_invalid_pointer(st: SlabState, p: int, api: str) -> None:
    """kfree(), ksize() or krealloc() of something kmalloc never returned: a BUG report that
    says what the pointer is instead."""
    k = st.kernel
    if not virt_addr_valid(p):
        why = "not a lowmem (linear map) address"
        if k.layout.VMALLOC_START <= p < k.layout.VMALLOC_END:
            why += ": vmalloc() memory is freed with vfree()"
    else:
        inside = [va for va, (_, o) in st.large.items() if va < p < va + (PAGE_SIZE << o)]
        why = (
            f"points into the kmalloc'd buffer at {inside[0]:#010x}"
            if inside
            else "neither a slab object nor a kmalloc_large buffer (freed already?)"
        )
    k.bug(f"{api}: invalid pointer {p:#010x}", f"{api}({p:#010x}): {why}")


# -- /proc/slabinfo (mm/slab_common.c cache_show, mm/slub.c get_slabinfo) --------------------


def slabinfo_show(st: SlabState) -> str:
    """/proc/slabinfo 2.1, newest cache first. As in SLUB, active_objs counts the free objects
    of the CPU slab as active: only the partial slabs' free objects are subtracted."""
    lines = [
        "slabinfo - version: 2.1",
        "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>"
        " : tunables <limit> <batchcount> <sharedfactor>"
        " : slabdata <active_slabs> <num_slabs> <sharedavail>",
    ]
    for s in reversed(st.slab_caches):
        nr_slabs = len(s.slabs)
        nr_objs = sum(sl.objects for sl in s.slabs)
        nr_free = sum(len(sl.freelist) for sl in s.partial)
        lines.append(
            f"{s.name:<17} {nr_objs - nr_free:6} {nr_objs:6} {s.size:6} {s.objects:4} "
            f"{1 << s.order:4} : tunables {0:4} {0:4} {0:4}"
            f" : slabdata {nr_slabs:6} {nr_slabs:6} {0:6}"
        )
    return "\n".join(lines) + "\n"
