/*
 * compute_mmu_arm.c - the compute benchmark with the MMU and caches on: DRAM
 * identity-mapped with 1 MiB write-back sections, the register blocks as
 * device memory, then the same work as compute.c. For the speed of the
 * translated, cached path (benchmarks/bench_compute.py --mmu).
 */
#define main compute_main
#include "compute.c"
#undef main

static uint32_t l1[4096] __attribute__((aligned(16384)));

int main(void)
{
    for (uint32_t mb = 0x600; mb < 0x640; mb++)     /* 64 MiB of DRAM: normal WBWA */
        l1[mb] = (mb << 20) | (1u << 12) | (3u << 10) | (1u << 3) | (1u << 2) | 2u;
    l1[0x100] = (0x100u << 20) | (3u << 10) | (1u << 4) | (1u << 2) | 2u;  /* device, XN */
    __asm__ volatile(
        "mcr p15, 0, %0, c2, c0, 2\n"   /* TTBCR = 0 */
        "mcr p15, 0, %1, c2, c0, 0\n"   /* TTBR0: table, walks write-back cacheable */
        "mcr p15, 0, %2, c3, c0, 0\n"   /* DACR: domain 0 client */
        "mcr p15, 0, %0, c8, c7, 0\n"   /* TLBIALL */
        "dsb\n"
        "isb\n"
        :: "r"(0), "r"((uint32_t)l1 | (1u << 6) | (1u << 3) | 1u), "r"(1u) : "memory");
    uint32_t sctlr;
    __asm__ volatile("mrc p15, 0, %0, c1, c0, 0" : "=r"(sctlr));
    sctlr |= (1u << 0) | (1u << 2) | (1u << 12);      /* M, C, I */
    __asm__ volatile("mcr p15, 0, %0, c1, c0, 0\n isb" :: "r"(sctlr) : "memory");
    return compute_main();
}
