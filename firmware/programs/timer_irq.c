/*
 * timer_irq.c - ten 1 ms periodic timer0 interrupts through the intc.
 *
 * The intc is level-triggered with no EOI: the handler drops the line by
 * clearing timer0's STATUS.MATCH (W1C). Prints the count and the elapsed
 * virtual time read from syscon.
 */
#include "runtime.h"

#define PERIOD_TICKS    1000    /* 1 ms at 1 MHz */
#define WANTED          10

static volatile unsigned int ticks;

void irq_handler(void)
{
    uint32_t pending = mmio_read32(INTC_BASE + INTC_IRQSTATUS);

    if (pending & (1u << IRQ_TIMER0)) {
        mmio_write32(TIMER0_BASE + TIMER_STATUS, TIMER_STATUS_MATCH);
        ticks++;
    }
}

int main(void)
{
    uint64_t start = time_ns();
    uint64_t compare = timer_count() + PERIOD_TICKS;

    mmio_write32(TIMER0_BASE + TIMER_COMPARE_LO, (uint32_t)compare);
    mmio_write32(TIMER0_BASE + TIMER_COMPARE_HI, (uint32_t)(compare >> 32));
    mmio_write32(TIMER0_BASE + TIMER_PERIOD, PERIOD_TICKS);
    mmio_write32(TIMER0_BASE + TIMER_CTRL, TIMER_CTRL_ENABLE | TIMER_CTRL_PERIODIC);
    mmio_write32(INTC_BASE + INTC_INTENABLE, 1u << IRQ_TIMER0);
    irq_enable();

    while (ticks < WANTED)
        wait_for_interrupt();

    irq_disable();
    mmio_write32(TIMER0_BASE + TIMER_CTRL, 0);
    mmio_write32(INTC_BASE + INTC_INTENCLEAR, 1u << IRQ_TIMER0);
    uint64_t elapsed = time_ns() - start;

    printf("timer interrupts: %u\n", ticks);
    printf("elapsed us: %llu\n", udiv64(elapsed, 1000, NULL));
    return 0;
}
