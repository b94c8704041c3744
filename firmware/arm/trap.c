/*
 * trap.c - default (weak) ARM exception and interrupt hooks called by crt0.S.
 *
 * Each default reports what happened on the console and exits with status 1.
 * A program overrides one by defining a function of the same name.
 */
#include "runtime.h"

static void dump_trapframe(const struct trapframe *tf)
{
    for (int i = 0; i < 13; i++)
        printf("r%-2d %08x%c", i, tf->r[i], i % 4 == 3 ? '\n' : ' ');
    printf("pc  %08x cpsr %08x\n", tf->pc, tf->cpsr);
}

static _Noreturn void fatal(const struct trapframe *tf)
{
    dump_trapframe(tf);
    soc_exit(1);
}

__attribute__((weak)) void undef_handler(struct trapframe *tf, uint32_t addr)
{
    printf("undefined instruction at %08x\n", addr);
    fatal(tf);
}

__attribute__((weak)) void svc_handler(struct trapframe *tf, uint32_t addr)
{
    printf("unexpected svc at %08x\n", addr);
    fatal(tf);
}

__attribute__((weak)) void prefetch_abort_handler(struct trapframe *tf, uint32_t ifar,
                                                  uint32_t ifsr)
{
    printf("prefetch abort at %08x: IFSR %08x (FS %02x)\n", ifar, ifsr, fsr_status(ifsr));
    fatal(tf);
}

__attribute__((weak)) void data_abort_handler(struct trapframe *tf, uint32_t dfar,
                                              uint32_t dfsr)
{
    printf("data abort at pc %08x: DFAR %08x DFSR %08x (FS %02x, %s)\n", tf->pc, dfar,
           dfsr, fsr_status(dfsr), dfsr & (1u << 11) ? "write" : "read");
    fatal(tf);
}

__attribute__((weak)) void fiq_handler(struct trapframe *tf, uint32_t addr)
{
    printf("unexpected FIQ at %08x\n", addr);
    fatal(tf);
}

__attribute__((weak)) void irq_handler(void)
{
    printf("unexpected IRQ: intc IRQSTATUS %08x\n", mmio_read32(INTC_BASE + INTC_IRQSTATUS));
    soc_exit(1);
}
