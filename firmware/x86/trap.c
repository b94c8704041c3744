/*
 * trap.c - x86 interrupt dispatch and default (weak) hooks for crt0.S.
 *
 * Vectors 0x20-0x3F (intc sources 0-31) go to irq_handler(), #PF (14) to
 * page_fault_handler() with CR2, everything else to exception_handler(). The
 * defaults report on the console and exit with status 1; a program overrides
 * one by defining a function of the same name.
 */
#include "runtime.h"

#define VECTOR_PF 14

static const char *const exception_names[] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
    "#BR bound range", "#UD invalid opcode", "#NM no FPU", "#DF double fault",
    "coprocessor overrun", "#TS invalid TSS", "#NP segment not present",
    "#SS stack fault", "#GP general protection", "#PF page fault", "reserved",
    "#MF x87 error", "#AC alignment check", "#MC machine check", "#XM SIMD error",
};

static const char *exception_name(uint32_t vector)
{
    if (vector < sizeof(exception_names) / sizeof(exception_names[0]))
        return exception_names[vector];
    return vector < IRQ_VECTOR_BASE ? "reserved" : "software interrupt";
}

static _Noreturn void fatal(const struct trapframe *tf)
{
    printf("eax %08x ebx %08x ecx %08x edx %08x\n", tf->eax, tf->ebx, tf->ecx, tf->edx);
    printf("esi %08x edi %08x ebp %08x eflags %08x\n", tf->esi, tf->edi, tf->ebp, tf->eflags);
    soc_exit(1);
}

__attribute__((weak)) void page_fault_handler(struct trapframe *tf, uint32_t cr2)
{
    printf("exception %u (%s), error code %08x at EIP %08x, CR2 %08x\n", tf->vector,
           exception_name(tf->vector), tf->error, tf->eip, cr2);
    fatal(tf);
}

__attribute__((weak)) void exception_handler(struct trapframe *tf)
{
    printf("exception %u (%s), error code %08x at EIP %08x\n", tf->vector,
           exception_name(tf->vector), tf->error, tf->eip);
    fatal(tf);
}

__attribute__((weak)) void irq_handler(void)
{
    printf("unexpected IRQ: intc IRQSTATUS %08x\n", mmio_read32(INTC_BASE + INTC_IRQSTATUS));
    soc_exit(1);
}

void isr_dispatch(struct trapframe *tf)
{
    if (tf->vector >= IRQ_VECTOR_BASE && tf->vector < IRQ_VECTOR_BASE + 32)
        irq_handler();
    else if (tf->vector == VECTOR_PF)
        page_fault_handler(tf, read_cr2());
    else
        exception_handler(tf);
}
