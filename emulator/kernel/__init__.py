"""The kernel model: Linux's memory management and DMA API, in Python, over the emulated SoC.

Laid out like Linux (ARCHITECTURE.md §5): `mm/` (page_alloc, slab, vmalloc, highmem, mempool,
ioremap), `arch/arm`, `arch/x86` (memory layout and kernel page tables), `gfp.py`,
`context.py` (atomic context rules), `core.py` (boot, printk, the kernel's own memory
accesses). Kernel objects live in guest RAM at the addresses Linux would give them, and every
access Python kernel code makes goes through the MMU walker and the cache model like a CPU
access — which is what makes a driver's missing cache maintenance visible.
"""
