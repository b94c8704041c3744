/*
 * demo.c - the program `soclab run` boots when given no image.
 *
 * Shows that the board works end to end: console output, syscon's board and
 * RAM registers, five timer0 interrupts 10 ms apart through the intc (with
 * their virtual timestamps), and the DTB handed over by the boot convention.
 */
#include "runtime.h"

#define TICKS           5
#define PERIOD_TICKS    10000   /* 10 ms at 1 MHz */

static volatile unsigned int ticks;
static volatile uint64_t tick_ns[TICKS];

void irq_handler(void)
{
    if (mmio_read32(INTC_BASE + INTC_IRQSTATUS) & (1u << IRQ_TIMER0)) {
        mmio_write32(TIMER0_BASE + TIMER_STATUS, TIMER_STATUS_MATCH);
        if (ticks < TICKS)
            tick_ns[ticks] = time_ns();
        ticks++;
    }
}

static const char *board_name(uint32_t board)
{
    switch (board) {
    case SYSCON_BOARD_ARMV7:
        return "soclab-armv7";
    case SYSCON_BOARD_X86:
        return "soclab-x86";
    default:
        return "unknown board";
    }
}

static void print_time(uint64_t ns)
{
    uint32_t us = (uint32_t)udiv64(ns, 1000, NULL);

    printf("%u.%03u ms", us / 1000, us % 1000);
}

static void start_timer(void)
{
    uint64_t compare = timer_count() + PERIOD_TICKS;

    mmio_write32(TIMER0_BASE + TIMER_COMPARE_LO, (uint32_t)compare);
    mmio_write32(TIMER0_BASE + TIMER_COMPARE_HI, (uint32_t)(compare >> 32));
    mmio_write32(TIMER0_BASE + TIMER_PERIOD, PERIOD_TICKS);
    mmio_write32(TIMER0_BASE + TIMER_CTRL, TIMER_CTRL_ENABLE | TIMER_CTRL_PERIODIC);
    mmio_write32(INTC_BASE + INTC_INTENABLE, 1u << IRQ_TIMER0);
}

static void stop_timer(void)
{
    mmio_write32(TIMER0_BASE + TIMER_CTRL, 0);
    mmio_write32(INTC_BASE + INTC_INTENCLEAR, 1u << IRQ_TIMER0);
}

static void show_dtb(void)
{
    static const uint8_t fdt_magic[4] = { 0xd0, 0x0d, 0xfe, 0xed };
    const volatile uint8_t *dtb = (const volatile uint8_t *)boot_dtb();
    uint8_t head[8];

    if (!dtb) {
        printf("DTB:    none handed over at boot\n");
        return;
    }
    printf("DTB:    at %p, starts", (const void *)dtb);
    for (int i = 0; i < 8; i++) {
        head[i] = dtb[i];
        printf(" %02x", head[i]);
    }
    uart_puts(memcmp(head, fdt_magic, 4) == 0 ? " (FDT magic ok)\n" : " (no FDT magic!)\n");
}

int main(void)
{
    uint32_t board = mmio_read32(SYSCON_BASE + SYSCON_BOARD);
    uint32_t ram_base = mmio_read32(SYSCON_BASE + SYSCON_RAM_BASE);
    uint32_t ram_size = mmio_read32(SYSCON_BASE + SYSCON_RAM_SIZE);
    unsigned int shown = 0;

    printf("Hello from the soclab demo firmware!\n");
    printf("board:  %s (syscon BOARD = %u)\n", board_name(board), board);
    printf("RAM:    %u MiB at 0x%08x\n", ram_size >> 20, ram_base);
    printf("timer0: %d interrupts, 10 ms apart\n", TICKS);

    start_timer();
    irq_enable();
    while (shown < TICKS) {
        if (shown == ticks) {
            wait_for_interrupt();
            continue;
        }
        printf("  tick %u at ", shown + 1);
        print_time(tick_ns[shown]);
        printf("\n");
        shown++;
    }
    irq_disable();
    stop_timer();

    show_dtb();
    printf("All done - goodbye!\n");
    return 0;
}
