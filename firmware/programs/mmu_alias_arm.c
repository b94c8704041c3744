/*
 * mmu_alias_arm.c - one physical page mapped twice, cacheable and uncached
 * (datasheet §3), under the guest's own short-descriptor page tables.
 *
 * L1 table (TTBCR.N = 0, TTBR0 without walk-cacheability bits, so walks read
 * memory and tables written with the MMU off are consistent):
 *   - 0x6000_0000..0x6400_0000: identity 1 MiB sections, Normal write-back
 *     write-allocate (TEX=001 C=1 B=1), AP=0b011, domain 0 - the image, its
 *     .bss (tables, buffer) and the stacks;
 *   - 0x1000_0000..0x1010_0000: identity section, shareable Device
 *     (TEX=000 C=0 B=1), XN - the register blocks;
 *   - 0x7000_0000: an L2 (coarse) table with two small pages onto `buf`:
 *     0x7000_0000 Normal write-back (TEX=001 C=1 B=1) and
 *     0x7000_1000 strongly-ordered (TEX=000 C=0 B=0).
 * DACR = domain 0 client; SCTLR gets M, C and I with TRE = AFE = 0.
 *
 * The experiments show what the datasheet promises: a write through the
 * cacheable alias reaches memory only at a clean (DCCMVAC), and a write
 * through the uncached alias reaches the cacheable alias only after an
 * invalidate (DCIMVAC). With `--cache off` both "before" lines print yes.
 * Last, a read of VA 0x8000_0124 (no L1 entry) takes a translation fault,
 * section (DFSR FS = 0b00101), which the handler reports and skips.
 */
#include "runtime.h"

#define SECTION             0x2u
#define SECT_B              (1u << 2)
#define SECT_C              (1u << 3)
#define SECT_XN             (1u << 4)
#define SECT_AP_FULL        (3u << 10)          /* AP[1:0] = 0b11, AP[2] = 0 */
#define SECT_TEX(x)         ((uint32_t)(x) << 12)
#define SECT_NORMAL_WB      (SECT_TEX(1) | SECT_C | SECT_B | SECT_AP_FULL | SECTION)
#define SECT_DEVICE         (SECT_B | SECT_XN | SECT_AP_FULL | SECTION)

#define PAGE_TABLE          0x1u                /* L1: pointer to an L2 table, domain 0 */

#define SMALL_PAGE          0x2u
#define SPAGE_XN            (1u << 0)
#define SPAGE_B             (1u << 2)
#define SPAGE_C             (1u << 3)
#define SPAGE_AP_FULL       (3u << 4)
#define SPAGE_TEX(x)        ((uint32_t)(x) << 6)
#define SPAGE_NORMAL_WB     (SPAGE_TEX(1) | SPAGE_C | SPAGE_B | SPAGE_AP_FULL | SMALL_PAGE)
#define SPAGE_STRONGLY_ORD  (SPAGE_XN | SPAGE_AP_FULL | SMALL_PAGE)

#define SCTLR_M             (1u << 0)
#define SCTLR_C             (1u << 2)
#define SCTLR_I             (1u << 12)
#define SCTLR_TRE           (1u << 28)
#define SCTLR_AFE           (1u << 29)

#define DRAM_MAP_SIZE       0x04000000u         /* 64 MiB from DRAM_BASE */
#define DEVICE_BASE         0x10000000u
#define ALIAS_VA            0x70000000u
#define CACHED_VA           ALIAS_VA
#define UNCACHED_VA         (ALIAS_VA + 0x1000u)
#define UNMAPPED_VA         0x80000000u

static uint32_t l1_table[4096] __attribute__((aligned(16384)));
static uint32_t l2_table[256] __attribute__((aligned(1024)));
static uint8_t buf[4096] __attribute__((aligned(4096)));

static volatile uint32_t faults;

static inline void dsb(void)
{
    __asm__ volatile("dsb sy" ::: "memory");
}

static inline void isb(void)
{
    __asm__ volatile("isb sy" ::: "memory");
}

static inline void dccmvac(uintptr_t va)
{
    __asm__ volatile("mcr p15, 0, %0, c7, c10, 1" :: "r"(va) : "memory");
}

static inline void dcimvac(uintptr_t va)
{
    __asm__ volatile("mcr p15, 0, %0, c7, c6, 1" :: "r"(va) : "memory");
}

static uint32_t read_sctlr(void)
{
    uint32_t v;
    __asm__ volatile("mrc p15, 0, %0, c1, c0, 0" : "=r"(v));
    return v;
}

static void build_tables(void)
{
    /* .bss was cleared with the MMU off: every other L1 entry is a fault entry. */
    for (uint32_t off = 0; off < DRAM_MAP_SIZE; off += 0x100000u) {
        uint32_t pa = DRAM_BASE + off;
        l1_table[pa >> 20] = pa | SECT_NORMAL_WB;
    }
    l1_table[DEVICE_BASE >> 20] = DEVICE_BASE | SECT_DEVICE;

    uint32_t buf_pa = (uint32_t)(uintptr_t)buf;         /* MMU off: VA == PA */
    l2_table[(CACHED_VA >> 12) & 0xFF] = buf_pa | SPAGE_NORMAL_WB;
    l2_table[(UNCACHED_VA >> 12) & 0xFF] = buf_pa | SPAGE_STRONGLY_ORD;
    l1_table[ALIAS_VA >> 20] = ((uint32_t)(uintptr_t)l2_table & 0xFFFFFC00u) | PAGE_TABLE;
}

static void mmu_enable(void)
{
    uint32_t zero = 0;

    dsb();
    __asm__ volatile("mcr p15, 0, %0, c2, c0, 2" :: "r"(zero) : "memory");     /* TTBCR = 0 */
    __asm__ volatile("mcr p15, 0, %0, c2, c0, 0"                                /* TTBR0 */
                     :: "r"((uint32_t)(uintptr_t)l1_table) : "memory");
    __asm__ volatile("mcr p15, 0, %0, c3, c0, 0" :: "r"(1u) : "memory");       /* DACR: d0 client */
    __asm__ volatile("mcr p15, 0, %0, c8, c7, 0" :: "r"(zero) : "memory");     /* TLBIALL */
    __asm__ volatile("mcr p15, 0, %0, c7, c5, 0" :: "r"(zero) : "memory");     /* ICIALLU */
    dsb();
    isb();

    uint32_t sctlr = read_sctlr();
    sctlr &= ~(SCTLR_TRE | SCTLR_AFE);
    sctlr |= SCTLR_M | SCTLR_C | SCTLR_I;
    __asm__ volatile("mcr p15, 0, %0, c1, c0, 0" :: "r"(sctlr) : "memory");
    isb();
    __asm__ volatile("mcr p15, 0, %0, c8, c7, 0" :: "r"(zero) : "memory");     /* TLBIALL */
    dsb();
    isb();
}

static const char *yes_no(int b)
{
    return b ? "yes" : "no";
}

void data_abort_handler(struct trapframe *tf, uint32_t dfar, uint32_t dfsr)
{
    printf("fault: status=0x%08x address=0x%08x\n", dfsr, dfar);
    faults++;
    tf->pc += 4;                        /* skip the faulting ldr */
}

int main(void)
{
    volatile uint32_t *cached = (volatile uint32_t *)CACHED_VA;
    volatile uint32_t *uncached = (volatile uint32_t *)UNCACHED_VA;
    const uint32_t pattern1 = 0xC0DE0001u, pattern2 = 0x5EED0002u;
    uint32_t v;

    build_tables();
    mmu_enable();
    printf("mmu: %s\n", read_sctlr() & SCTLR_M ? "on" : "off");

    /* (1) a cacheable write reaches memory at the clean */
    (void)*cached;
    (void)*uncached;
    *cached = pattern1;
    v = *uncached;
    printf("cacheable write visible through uncached alias before clean: %s\n",
           yes_no(v == pattern1));
    dccmvac(CACHED_VA);
    dsb();
    v = *uncached;
    printf("cacheable write visible through uncached alias after clean: %s\n",
           yes_no(v == pattern1));

    /* (2) an uncached write reaches the cacheable alias after the invalidate */
    (void)*cached;
    (void)*uncached;
    *uncached = pattern2;
    v = *cached;
    printf("uncached write visible through cacheable alias before invalidate: %s\n",
           yes_no(v == pattern2));
    dcimvac(CACHED_VA);
    dsb();
    v = *cached;
    printf("uncached write visible through cacheable alias after invalidate: %s\n",
           yes_no(v == pattern2));

    /* (3) no L1 entry: translation fault, section */
    __asm__ volatile("ldr %0, [%1, #0x124]" : "=r"(v) : "r"(UNMAPPED_VA) : "memory");
    if (faults != 1) {
        printf("no fault taken (read %08x)\n", v);
        return 1;
    }
    printf("fault handled, resumed\n");
    return 0;
}
