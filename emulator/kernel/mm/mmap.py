"""Address-space layout: VMAs and the system calls that change them (mm/mmap.c, mm/mprotect.c,
mm/mremap.c, mm/madvise.c, mm/shmem.c's anonymous shared memory).

Design. A process's VMAs are a sorted list in `mm.vmas`. Every change follows Linux's shape:
split the VMAs at the boundaries of the range (split_vma, with vm_ops->open for the new
piece), change or drop the pieces inside, zap the pages of what was dropped, then merge each
piece with compatible neighbours (vma_merge: adjacent, same flags, same file at contiguous
offsets, same vm_ops). Present PTEs follow: mprotect rewrites them (a page still shared
copy-on-write stays read-only), mremap moves them (move_page_tables), munmap and
madvise(MADV_DONTNEED) zap them, so private anonymous memory reads as zeros on its next touch.

MAP_SHARED|MAP_ANONYMOUS is a shmem object (`/dev/zero (deleted)` in maps, as in Linux): its
pages belong to the object and every mapping, in every process that inherited it, maps the
same pages through `shmem_vm_ops.fault`.

Not modelled: mlock, VM_LOCKED, MAP_POPULATE's prefault, hugetlb, stack guard gaps beyond
the fixed 8 MiB stack VMA, RLIMIT_AS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from emulator.kernel.core import PAGE_SIZE
from emulator.kernel.mm.memory import (
    VM_FAULT_OOM,
    VmFault,
    VmOperationsStruct,
    alloc_user_page,
    clear_user_highpage,
    zap_page_range,
)
from emulator.kernel.process import (
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    VM_DONTEXPAND,
    VM_MAY_ALL,
    VM_MAYSHARE,
    VM_MAYWRITE,
    VM_PFNMAP,
    VM_SHARED,
    MmStruct,
    Vma,
    page_align,
)

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel

EPERM, EACCES, EEXIST = 1, 13, 17
MMAP_MIN_ADDR = 0x1000  # CONFIG_DEFAULT_MMAP_MIN_ADDR (ARM's default: one page)
ENOMEM, EFAULT, EINVAL = 12, 14, 22
MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE = 0x01, 0x02, 0x03
MAP_FIXED, MAP_ANONYMOUS, MAP_GROWSDOWN = 0x10, 0x20, 0x100
MAP_FIXED_NOREPLACE = 0x100000
MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP = 1, 2, 4
MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED = 0, 1, 2, 3, 4
MADV_FREE = 8
PROT_MASK = PROT_READ | PROT_WRITE | PROT_EXEC


# -- VMA surgery ------------------------------------------------------------------------------


def _open(vma: Vma) -> None:
    if vma.vm_ops is not None and vma.vm_ops.open is not None:
        vma.vm_ops.open(vma)


def _close(vma: Vma) -> None:
    if vma.vm_ops is not None and vma.vm_ops.close is not None:
        vma.vm_ops.close(vma)


def split_vma(mm: MmStruct, vma: Vma, addr: int) -> Vma:
    """__split_vma(): cut `vma` at `addr`; `vma` keeps the lower half, the new upper half
    (returned) is inserted after it with its file offset advanced, vm_ops->open called."""
    upper = vma.copy(addr, vma.end)
    vma.end = addr
    _open(upper)
    mm.insert_vma(upper)
    return upper


def _split_range(mm: MmStruct, start: int, end: int) -> list[Vma]:
    """The VMAs inside [start, end) after splitting those that straddle its ends."""
    for vma in list(mm.vmas):
        if vma.start < start < vma.end:
            split_vma(mm, vma, start)
    for vma in list(mm.vmas):
        if vma.start < end < vma.end:
            split_vma(mm, vma, end)
    return [v for v in mm.vmas if start <= v.start and v.end <= end and v.start < v.end]


def _can_merge(a: Vma, b: Vma) -> bool:
    """is_mergeable_vma() + the anon/file offset check of vma_merge()."""
    if a.end != b.start or a.start == a.end or b.start == b.end:
        return False
    if (a.prot, a.flags, a.name, a.memtype) != (b.prot, b.flags, b.name, b.memtype):
        return False
    if a.vm_ops is not b.vm_ops or a.vm_file is not b.vm_file:
        return False
    if a.pfnmap is not None or b.pfnmap is not None or a.flags & VM_PFNMAP:
        return False
    return a.vm_file is None or a.pgoff + (a.end - a.start) // PAGE_SIZE == b.pgoff


def vma_merge(mm: MmStruct, start: int, end: int) -> None:
    """Merge the VMAs touching [start, end] with compatible neighbours."""
    merged: list[Vma] = []
    for v in mm.vmas:
        prev = merged[-1] if merged else None
        if prev is not None and start <= v.start <= end and _can_merge(prev, v):
            prev.end = v.end
            _close(v)
            continue
        merged.append(v)
    mm.vmas = merged


def _covered(mm: MmStruct, start: int, end: int) -> bool:
    """Is every byte of [start, end) in some VMA?"""
    at = start
    for v in mm.vmas:
        if v.end <= at or v.start == v.end:
            continue
        if v.start > at:
            return False
        at = v.end
        if at >= end:
            return True
    return at >= end


# -- mmap / munmap ------------------------------------------------------------------------------


def get_unmapped_area(mm: MmStruct, length: int, hint: int, task_size: int) -> int | None:
    """Top-down below the stack (with a 1 MiB gap), as Linux's default layout; a free hint
    is used as given."""
    if hint and hint + length <= task_size and not mm.overlaps(hint, hint + length):
        return hint
    stack = min((v.start for v in mm.vmas if v.name == "[stack]"), default=task_size)
    addr = stack - (1 << 20) - length
    for v in sorted(mm.vmas, key=lambda v: v.start, reverse=True):
        if v.end <= addr:
            continue
        if v.start < addr + length:
            addr = v.start - length
    return addr if addr >= mm.start_brk + (1 << 20) else None


def do_munmap(k: Kernel, mm: MmStruct, start: int, length: int) -> int:
    """do_vmi_munmap(): split, zap the pages, drop the VMAs (vm_ops->close)."""
    if start & (PAGE_SIZE - 1) or length == 0 or start + length > k.layout.TASK_SIZE:
        return -EINVAL
    end = start + page_align(length)
    inside = _split_range(mm, start, end)
    zap_page_range(k, mm, start, end)
    for v in inside:
        _close(v)
        mm.vmas.remove(v)
    return 0


def do_mmap(
    k: Kernel,
    mm: MmStruct,
    addr: int,
    length: int,
    prot: int,
    flags: int,
    file: object,
    offset: int,
) -> int:
    """do_mmap() + mmap_region(): the new mapping's address, or -errno."""
    if length == 0 or offset & (PAGE_SIZE - 1):
        return -EINVAL
    kind = flags & MAP_SHARED_VALIDATE
    if kind not in (MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE):
        return -EINVAL
    length = page_align(length)
    task_size = k.layout.TASK_SIZE
    if length == 0 or length > task_size:
        return -ENOMEM
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
        if addr & (PAGE_SIZE - 1):
            return -EINVAL
        if addr + length > task_size:
            return -ENOMEM
        if addr < MMAP_MIN_ADDR:
            return -EPERM
        if mm.overlaps(addr, addr + length):
            if not flags & MAP_FIXED and flags & MAP_FIXED_NOREPLACE:
                return -EEXIST
    else:
        found = get_unmapped_area(mm, length, addr & ~(PAGE_SIZE - 1), task_size)
        if found is None:
            return -ENOMEM
        addr = found
    vm_flags = VM_MAY_ALL
    if kind != MAP_PRIVATE:
        vm_flags |= VM_SHARED | VM_MAYSHARE
    if file is not None:
        fmode = getattr(file, "f_mode", 3)
        if not fmode & 1:  # FMODE_READ
            return -EACCES
        if kind != MAP_PRIVATE and not fmode & 2:  # FMODE_WRITE
            if prot & PROT_WRITE:
                return -EACCES
            vm_flags &= ~(VM_MAYWRITE | VM_SHARED)
    vma = Vma(addr, addr + length, prot & PROT_MASK, vm_flags)
    if file is not None:
        vma.pgoff = offset // PAGE_SIZE
        vma.vm_file = file
        vma.name = _file_name(file)
        ret = int(file.f_op.mmap(file, vma))  # type: ignore[attr-defined]
        if ret < 0:
            return ret
        if vma.pfnmap is not None:
            vma.flags |= VM_PFNMAP
    elif kind != MAP_PRIVATE:
        shmem_zero_setup(vma, length)
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) and mm.overlaps(addr, addr + length):
        do_munmap(k, mm, addr, length)  # MAP_FIXED replaces what was there
    mm.insert_vma(vma)
    vma_merge(mm, addr, addr + length)
    return addr


def _file_name(file: object) -> str:
    from emulator.kernel.fs.namei import d_path

    return d_path(file.f_path)  # type: ignore[attr-defined]


# -- MAP_SHARED anonymous memory (mm/shmem.c) -----------------------------------------------------


@dataclass(eq=False)
class ShmemObject:
    """The object behind a MAP_SHARED anonymous mapping (shmem_zero_setup's file): its pages
    by offset, and the VMAs that still map it."""

    size: int
    pages: dict[int, int] = field(default_factory=dict)  # pgoff -> physical page
    users: int = 0


def shmem_fault(vmf: VmFault) -> int:
    """shmem_fault(): the object's page at the offset, a zeroed one the first time."""
    from emulator.kernel.core import current_kernel
    from emulator.kernel.mm.page_alloc import get_page, pfn_to_page

    obj = vmf.vma.vm_file
    assert isinstance(obj, ShmemObject)
    pa = obj.pages.get(vmf.pgoff)
    if pa is None:
        new = alloc_user_page()
        if new is None:
            return VM_FAULT_OOM
        clear_user_highpage(current_kernel(), new)
        pa = obj.pages[vmf.pgoff] = new
    get_page(pfn_to_page(pa >> 12))  # the mapping's reference; the object keeps its own
    vmf.page = pa
    return 0


def shmem_open(vma: Vma) -> None:
    obj = vma.vm_file
    assert isinstance(obj, ShmemObject)
    obj.users += 1


def shmem_close(vma: Vma) -> None:
    """The last VMA gone: the object's pages are released."""
    from emulator.kernel.mm.page_alloc import pfn_to_page, put_page

    obj = vma.vm_file
    assert isinstance(obj, ShmemObject)
    obj.users -= 1
    if obj.users == 0:
        for pa in obj.pages.values():
            put_page(pfn_to_page(pa >> 12))
        obj.pages.clear()


shmem_vm_ops = VmOperationsStruct(fault=shmem_fault, open=shmem_open, close=shmem_close)


def shmem_zero_setup(vma: Vma, size: int) -> None:
    vma.vm_file = ShmemObject(size, users=1)
    vma.vm_ops = shmem_vm_ops
    vma.name = "/dev/zero (deleted)"


# -- mprotect, madvise, mremap ------------------------------------------------------------------


def do_mprotect(k: Kernel, mm: MmStruct, start: int, length: int, prot: int) -> int:
    """mprotect_fixup() over the range: split, set, rewrite present PTEs, merge."""
    from emulator.kernel.mm.memory import page_count

    if start & (PAGE_SIZE - 1) or prot & ~(PROT_MASK | 0x0100_0000 | 0x0200_0000):
        return -EINVAL
    end = start + page_align(length)
    if end < start:
        return -ENOMEM
    if end == start:
        return 0
    if not _covered(mm, start, end):
        return -ENOMEM
    for v in mm.vmas:
        if v.start < end and start < v.end and prot & PROT_WRITE and not v.flags & VM_MAYWRITE:
            return -EACCES
    for v in _split_range(mm, start, end):
        v.prot = prot & PROT_MASK
        for va in range(v.start, v.end, PAGE_SIZE):
            pa = mm.pages.get(va)
            if pa is None:
                continue
            # a private page still shared copy-on-write stays read-only (the next write copies)
            writable = bool(prot & PROT_WRITE) and (
                bool(v.flags & VM_SHARED) or page_count(pa) == 1
            )
            k.pgtable.map_user_page(mm.pgd, va, pa, writable, bool(prot & PROT_EXEC), v.memtype)
        for va in range(v.start, v.end, PAGE_SIZE) if v.pfnmap is not None else ():
            k.pgtable.unmap_user_page(mm.pgd, va)  # refaulted with the new protection
    vma_merge(mm, start, end)
    k.cpu.flush_tlb()
    return 0


def do_madvise(k: Kernel, mm: MmStruct, start: int, length: int, advice: int) -> int:
    """madvise(): MADV_DONTNEED (and MADV_FREE, which may free at once) zaps the range, so
    private anonymous memory is zero on its next touch; the hints are accepted."""
    if start & (PAGE_SIZE - 1):
        return -EINVAL
    end = start + page_align(length)
    if end < start:
        return -EINVAL
    if advice not in (MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED) and advice not in (
        MADV_DONTNEED,
        MADV_FREE,
    ):
        return -EINVAL
    if end == start:
        return 0
    if not _covered(mm, start, end):
        return -ENOMEM
    if advice in (MADV_DONTNEED, MADV_FREE):
        for v in mm.vmas:
            if v.start < end and start < v.end and v.flags & VM_PFNMAP:
                return -EINVAL
        zap_page_range(k, mm, start, end)
    return 0


def do_mremap(
    k: Kernel, mm: MmStruct, addr: int, old_len: int, new_len: int, flags: int, new_addr: int
) -> int:
    """mremap(): shrink in place, grow in place when the space after is free, else move
    (MREMAP_MAYMOVE) to a free range or to `new_addr` (MREMAP_FIXED)."""
    if flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) or addr & (PAGE_SIZE - 1):
        return -EINVAL
    if flags & MREMAP_FIXED and not flags & MREMAP_MAYMOVE:
        return -EINVAL
    if flags & MREMAP_DONTUNMAP:
        return -EINVAL  # not modelled
    old_len, new_len = page_align(old_len), page_align(new_len)
    if new_len == 0:
        return -EINVAL
    task_size = k.layout.TASK_SIZE
    vma = mm.find_vma(addr)
    if vma is None or old_len == 0 or addr + old_len > vma.end:
        return -EFAULT
    if flags & MREMAP_FIXED:
        if new_addr & (PAGE_SIZE - 1) or new_addr + new_len > task_size:
            return -EINVAL
        if new_addr < addr + old_len and addr < new_addr + new_len:
            return -EINVAL  # overlapping ranges
        do_munmap(k, mm, new_addr, new_len)
        if old_len > new_len:
            do_munmap(k, mm, addr + new_len, old_len - new_len)
            old_len = new_len
        return _move_vma(k, mm, addr, old_len, new_len, new_addr)
    if new_len <= old_len:
        if new_len < old_len:
            do_munmap(k, mm, addr + new_len, old_len - new_len)
        return addr
    if new_len > old_len and vma.flags & (VM_DONTEXPAND | VM_PFNMAP):
        return -EFAULT
    end = addr + old_len
    if end == vma.end and addr + new_len <= task_size and not mm.overlaps(end, addr + new_len):
        vma.end = addr + new_len  # vma_expand
        vma_merge(mm, vma.start, vma.end)
        return addr
    if not flags & MREMAP_MAYMOVE:
        return -ENOMEM
    dest = get_unmapped_area(mm, new_len, 0, task_size)
    if dest is None:
        return -ENOMEM
    return _move_vma(k, mm, addr, old_len, new_len, dest)


def _move_vma(k: Kernel, mm: MmStruct, addr: int, old_len: int, new_len: int, dest: int) -> int:
    """move_vma(): a copy of the VMA at `dest` (new_len long), the present PTEs moved over
    (move_page_tables: the pages keep their references), the old range unmapped."""
    (old,) = _split_range(mm, addr, addr + old_len)
    new = old.copy()
    new.start, new.end = dest, dest + new_len
    _open(new)
    for va in range(addr, addr + old_len, PAGE_SIZE):
        pa = mm.pages.pop(va, None)
        if pa is None:
            continue
        k.pgtable.unmap_user_page(mm.pgd, va)
        k.pgtable.map_user_page(
            mm.pgd,
            dest + (va - addr),
            pa,
            bool(old.prot & PROT_WRITE) and _sole(pa, old),
            bool(old.prot & PROT_EXEC),
            old.memtype,
        )
        mm.pages[dest + (va - addr)] = pa
    do_munmap(k, mm, addr, old_len)
    mm.insert_vma(new)
    vma_merge(mm, dest, dest + new_len)
    k.cpu.flush_tlb()
    return dest


def _sole(pa: int, vma: Vma) -> bool:
    from emulator.kernel.mm.memory import page_count

    return bool(vma.flags & VM_SHARED) or page_count(pa) == 1
