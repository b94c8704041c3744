/*
 * soc.c - exit, time and interrupt-mask helpers (SOC-DATASHEET.md §4 syscon,
 * timer0; §1 time advances while the CPU waits for an interrupt).
 */
#include "runtime.h"

/* Written by crt0 from r2 (ARM) or EBX (x86) after .bss is cleared. */
uintptr_t soc_boot_dtb;

_Noreturn void soc_exit(int code)
{
    mmio_write32(SYSCON_BASE + SYSCON_EXIT, (uint32_t)code & 0xFF);
    for (;;)
        ;
}

uint64_t time_ns(void)
{
    uint32_t lo = mmio_read32(SYSCON_BASE + SYSCON_TIME_LO);
    uint32_t hi = mmio_read32(SYSCON_BASE + SYSCON_TIME_HI);

    return (uint64_t)hi << 32 | lo;
}

uint64_t timer_count(void)
{
    uint32_t lo = mmio_read32(TIMER0_BASE + TIMER_COUNT_LO);
    uint32_t hi = mmio_read32(TIMER0_BASE + TIMER_COUNT_HI);

    return (uint64_t)hi << 32 | lo;
}

uintptr_t boot_dtb(void)
{
    return soc_boot_dtb;
}

/* Restoring division; there is no compiler runtime to provide __udivdi3. */
uint64_t udiv64(uint64_t n, uint32_t d, uint32_t *rem)
{
    uint64_t q = 0;
    uint64_t r = 0;

    for (int i = 63; i >= 0; i--) {
        r = r << 1 | ((n >> i) & 1);
        if (r >= d) {
            r -= d;
            q |= 1ull << i;
        }
    }
    if (rem)
        *rem = (uint32_t)r;
    return q;
}

#if defined(__arm__)
void irq_enable(void)
{
    __asm__ volatile("cpsie i" ::: "memory");
}

void irq_disable(void)
{
    __asm__ volatile("cpsid i" ::: "memory");
}

void wait_for_interrupt(void)
{
    __asm__ volatile("wfi" ::: "memory");
}
#elif defined(__i386__)
void irq_enable(void)
{
    __asm__ volatile("sti" ::: "memory");
}

void irq_disable(void)
{
    __asm__ volatile("cli" ::: "memory");
}

void wait_for_interrupt(void)
{
    /* sti's one-instruction shadow makes "sti; hlt" race-free */
    __asm__ volatile("sti; hlt" ::: "memory");
}
#endif
