/*
 * mmu_alias_x86.c - one physical page mapped twice, write-back and uncached
 * (datasheet §3), under the guest's own non-PAE page tables with CR4.PSE.
 *
 * Page directory:
 *   - 0x0000_0000..0x0400_0000: identity 4 MiB pages, write-back
 *     (PCD = PWT = 0), supervisor read/write - the image, .bss and stack;
 *   - 0xFE00_0000: identity 4 MiB page with PCD|PWT (uncached) - the
 *     register blocks;
 *   - 0x7000_0000: a page table with PTE 0 -> `buf` write-back and
 *     PTE 1 -> `buf` with PCD|PWT (PAT index 3 = UC with the reset PAT).
 *
 * The experiments show what the datasheet promises: a write through the
 * write-back alias reaches memory only at a clflush, and a write through the
 * uncached alias reaches the write-back alias only after the line is flushed
 * (invalidated). With `--cache off` both "before" lines print yes.
 * Last, a read of VA 0x8000_0124 (PDE not present) takes a #PF with error
 * code 0 and CR2 = 0x8000_0124; the handler reports it and resumes after the
 * faulting instruction.
 */
#include "runtime.h"

#define PTE_P               (1u << 0)
#define PTE_RW              (1u << 1)
#define PTE_PWT             (1u << 3)
#define PTE_PCD             (1u << 4)
#define PDE_PS              (1u << 7)

#define CR0_PG              (1u << 31)
#define CR4_PSE             (1u << 4)

#define LOW_MAP_SIZE        0x04000000u         /* 64 MiB from 0 */
#define LARGE_PAGE          0x00400000u
#define DEVICE_BASE         0xFE000000u
#define ALIAS_VA            0x70000000u
#define CACHED_VA           ALIAS_VA
#define UNCACHED_VA         (ALIAS_VA + 0x1000u)
#define UNMAPPED_VA         0x80000000u

static uint32_t page_dir[1024] __attribute__((aligned(4096)));
static uint32_t page_table[1024] __attribute__((aligned(4096)));
static uint8_t buf[4096] __attribute__((aligned(4096)));

static volatile uint32_t faults;

/* Where the handler resumes: right after the faulting load in touch_unmapped(). */
extern const char mmu_alias_fault_resume[];

static inline void clflush(uintptr_t va)
{
    __asm__ volatile("clflush (%0)" :: "r"(va) : "memory");
}

static inline void mfence(void)
{
    __asm__ volatile("mfence" ::: "memory");
}

static uint32_t read_cr0(void)
{
    uint32_t v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}

static void build_tables(void)
{
    /* .bss is cleared: every other PDE / PTE is not present. */
    for (uint32_t pa = 0; pa < LOW_MAP_SIZE; pa += LARGE_PAGE)
        page_dir[pa >> 22] = pa | PDE_PS | PTE_RW | PTE_P;
    page_dir[DEVICE_BASE >> 22] = DEVICE_BASE | PDE_PS | PTE_PCD | PTE_PWT | PTE_RW | PTE_P;

    uint32_t buf_pa = (uint32_t)(uintptr_t)buf;         /* paging off: VA == PA */
    page_table[(CACHED_VA >> 12) & 0x3FF] = buf_pa | PTE_RW | PTE_P;
    page_table[(UNCACHED_VA >> 12) & 0x3FF] = buf_pa | PTE_PCD | PTE_PWT | PTE_RW | PTE_P;
    page_dir[ALIAS_VA >> 22] = (uint32_t)(uintptr_t)page_table | PTE_RW | PTE_P;
}

static void paging_enable(void)
{
    uint32_t v;

    __asm__ volatile("mov %0, %%cr3" :: "r"((uint32_t)(uintptr_t)page_dir) : "memory");
    __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    v |= CR4_PSE;
    __asm__ volatile("mov %0, %%cr4" :: "r"(v) : "memory");
    v = read_cr0() | CR0_PG;
    __asm__ volatile("mov %0, %%cr0\n\t"
                     "jmp 1f\n"
                     "1:" :: "r"(v) : "memory");
}

static const char *yes_no(int b)
{
    return b ? "yes" : "no";
}

void page_fault_handler(struct trapframe *tf, uint32_t cr2)
{
    printf("fault: status=0x%08x address=0x%08x\n", tf->error, cr2);
    faults++;
    tf->eip = (uint32_t)(uintptr_t)mmu_alias_fault_resume;
}

/* Called once, so the global label is defined once. */
static __attribute__((noinline)) void touch_unmapped(void)
{
    /* base + index*4 + disp = 0x80000124: CR2 must hold the exact address */
    __asm__ volatile("movl 0x24(%%ecx,%%edx,4), %%eax\n"
                     ".globl mmu_alias_fault_resume\n"
                     "mmu_alias_fault_resume:"
                     :: "c"(UNMAPPED_VA), "d"(0x40) : "eax", "memory");
}

int main(void)
{
    volatile uint32_t *cached = (volatile uint32_t *)CACHED_VA;
    volatile uint32_t *uncached = (volatile uint32_t *)UNCACHED_VA;
    const uint32_t pattern1 = 0xC0DE0001u, pattern2 = 0x5EED0002u;
    uint32_t v;

    build_tables();
    paging_enable();
    printf("mmu: %s\n", read_cr0() & CR0_PG ? "on" : "off");

    /* (1) a write-back write reaches memory at the clflush */
    (void)*cached;
    (void)*uncached;
    *cached = pattern1;
    v = *uncached;
    printf("cacheable write visible through uncached alias before clean: %s\n",
           yes_no(v == pattern1));
    clflush(CACHED_VA);
    mfence();
    v = *uncached;
    printf("cacheable write visible through uncached alias after clean: %s\n",
           yes_no(v == pattern1));

    /* (2) an uncached write reaches the write-back alias after the clflush;
     * clflush in (1) dropped the line, so read it back into the cache first */
    (void)*cached;
    (void)*uncached;
    *uncached = pattern2;
    v = *cached;
    printf("uncached write visible through cacheable alias before invalidate: %s\n",
           yes_no(v == pattern2));
    clflush(CACHED_VA);
    mfence();
    v = *cached;
    printf("uncached write visible through cacheable alias after invalidate: %s\n",
           yes_no(v == pattern2));

    /* (3) PDE not present: #PF, error code 0 (supervisor read, not present) */
    touch_unmapped();
    if (faults != 1) {
        printf("no fault taken\n");
        return 1;
    }
    printf("fault handled, resumed\n");
    return 0;
}
