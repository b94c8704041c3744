/*
 * thumb.c - ARM/Thumb interworking on soclab-armv7: Thumb-2 code computes,
 * calls back into ARM code, and waits for a timer interrupt with a Thumb wfi;
 * the IRQ is taken from Thumb state and returns to it.
 */
#include "runtime.h"

#if defined(__arm__)

static volatile uint32_t ticks;

void irq_handler(void)
{
    if (mmio_read32(INTC_BASE + INTC_IRQSTATUS) & (1u << IRQ_TIMER0)) {
        mmio_write32(TIMER0_BASE + TIMER_STATUS, TIMER_STATUS_MATCH);
        ticks++;
    }
}

__attribute__((noinline)) static uint32_t arm_square(uint32_t x)
{
    return x * x;
}

__attribute__((target("thumb"), noinline)) static uint32_t thumb_work(uint32_t n)
{
    uint32_t sum = 0;
    for (uint32_t i = 1; i <= n; i++)
        sum += arm_square(i);
    return sum;
}

__attribute__((target("thumb"), noinline)) static void thumb_wait(void)
{
    uint32_t now = (uint32_t)timer_count();
    mmio_write32(TIMER0_BASE + TIMER_COMPARE_HI, 0);
    mmio_write32(TIMER0_BASE + TIMER_COMPARE_LO, now + 500);
    mmio_write32(TIMER0_BASE + TIMER_CTRL, TIMER_CTRL_ENABLE);
    mmio_write32(INTC_BASE + INTC_INTENABLE, 1u << IRQ_TIMER0);
    __asm__ volatile("cpsie i");
    while (ticks == 0)
        __asm__ volatile("wfi");
    __asm__ volatile("cpsid i");
    mmio_write32(TIMER0_BASE + TIMER_CTRL, 0);
}

int main(void)
{
    printf("thumb: sum of squares 1..100 = %u\n", thumb_work(100));
    thumb_wait();
    printf("thumb: woke from wfi after %u interrupt\n", ticks);
    return 0;
}
#else
int main(void)
{
    printf("thumb: ARM only\n");
    return 0;
}
#endif
