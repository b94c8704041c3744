/*
 * compute_mmu_x86.c - the compute benchmark with paging on: the low 64 MiB
 * identity-mapped with 4 MiB write-back pages (CR4.PSE), the register blocks
 * uncached, then the same work as compute.c.
 */
#define main compute_main
#include "compute.c"
#undef main

static uint32_t pd[1024] __attribute__((aligned(4096)));

int main(void)
{
    for (uint32_t i = 0; i < 16; i++)                  /* 64 MiB: P, RW, PS */
        pd[i] = (i << 22) | 0x83u;
    pd[0xFE000000u >> 22] = 0xFE000000u | 0x83u | 0x18u; /* registers: PCD|PWT */
    __asm__ volatile(
        "mov %0, %%cr3\n"
        "mov %%cr4, %%eax\n or $0x10, %%eax\n mov %%eax, %%cr4\n"
        "mov %%cr0, %%eax\n or $0x80000000, %%eax\n mov %%eax, %%cr0\n"
        :: "r"(pd) : "eax", "memory");
    return compute_main();
}
