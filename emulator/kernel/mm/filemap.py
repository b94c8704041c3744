"""Mapping regular files (mm/filemap.c): generic_file_mmap and filemap_fault.

A fault reads the file's page through its `read` file operation into a new page (a major
fault: the data came from the file); the tail past the end of the file reads as zeros, and a
page wholly beyond it is SIGBUS (BUS_ADRERR), as Linux answers an access past i_size.

Deviation: there is no page cache, so each mapping gets its own copy of a file page and
stores to a MAP_SHARED file mapping do not reach the file (the root file systems are
read-only or RAM-backed snapshots; msync/writeback is not modelled).
"""

from __future__ import annotations

from typing import Any

from emulator.kernel.core import PAGE_SIZE, current_kernel
from emulator.kernel.mm.memory import (
    VM_FAULT_MAJOR,
    VM_FAULT_OOM,
    VM_FAULT_SIGBUS,
    VmFault,
    VmOperationsStruct,
    alloc_user_page,
)


def filemap_fault(vmf: VmFault) -> int:
    """The file's page at vmf.pgoff in a new page (the caller's reference), or SIGBUS."""
    from emulator.kernel.mm.page_alloc import pfn_to_page, put_page

    file: Any = vmf.vma.vm_file
    read = file.f_op.read
    data = read(file, PAGE_SIZE, vmf.pgoff * PAGE_SIZE) if read is not None else b""
    if isinstance(data, int) or not data:
        return VM_FAULT_SIGBUS
    pa = alloc_user_page()
    if pa is None:
        return VM_FAULT_OOM
    k = current_kernel()
    try:
        k.cache.cpu_write_page_clean(pa, bytes(data[:PAGE_SIZE]).ljust(PAGE_SIZE, b"\0"))
    except KeyError:
        put_page(pfn_to_page(pa >> 12))
        return VM_FAULT_OOM
    vmf.page = pa
    return VM_FAULT_MAJOR


generic_file_vm_ops = VmOperationsStruct(fault=filemap_fault)


def generic_file_mmap(file: Any, vma: Any) -> int:
    """f_op->mmap of regular files: faults go through filemap_fault."""
    vma.vm_ops = generic_file_vm_ops
    return 0
