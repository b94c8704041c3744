/*
 * runtime.h - the bare-metal runtime every portable soclab program links with.
 *
 * crt0 (firmware/<arch>/crt0.S) sets up stacks and vectors (ARM) or the GDT and
 * IDT (x86), clears .bss, calls main() and passes its return value to
 * soc_exit(). Exceptions and interrupts end up in the C hooks declared below;
 * each has a weak default, and a program overrides one by defining it.
 * Not provided: floating point, a heap, 64-bit division through '/' (there is
 * no compiler runtime: use udiv64()), and 32-bit division by a non-constant on
 * ARM (the Cortex-A9 has no divide instruction).
 */
#ifndef SOCLAB_RUNTIME_H
#define SOCLAB_RUNTIME_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "soc.h"

/* uart.c: console output on uart0, polling FR.TXFF. No '\n' translation. */
void uart_putc(char c);
void uart_puts(const char *s);          /* writes s as is; adds no newline */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);

/* soc.c */
_Noreturn void soc_exit(int code);     /* syscon EXIT = code & 0xFF */
uint64_t time_ns(void);                 /* syscon TIME_LO, then the latched TIME_HI */
uint64_t timer_count(void);             /* timer0 COUNT_LO, then the latched COUNT_HI */
uint64_t udiv64(uint64_t n, uint32_t d, uint32_t *rem);
void irq_enable(void);                  /* ARM cpsie i, x86 sti */
void irq_disable(void);                 /* ARM cpsid i, x86 cli */
void wait_for_interrupt(void);          /* ARM wfi, x86 sti; hlt (leaves IF set) */
uintptr_t boot_dtb(void);               /* DTB address handed over at boot (r2 / EBX) */

/* string.c */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

int main(void);

/*
 * Interrupts: irq_handler() runs for every IRQ (ARM) or every vector
 * 0x20-0x3F (x86) with interrupts masked; it must silence the source, since
 * the intc is level-triggered and has no EOI. Default: report and exit 1.
 */
void irq_handler(void);

#if defined(__arm__)
/*
 * Saved state of the interrupted code, on the exception mode's stack. A
 * handler may change any field; the return restores r0-r12, resumes at pc and
 * restores cpsr from the frame. pc is the faulting instruction for aborts
 * (returning retries it; pc += 4 skips it) and the next instruction for undef
 * and svc. The interrupted mode's banked sp and lr are not saved; an svc from
 * SVC mode overwrites lr, so callers of svc must list lr as clobbered.
 */
struct trapframe {
    uint32_t r[13];
    uint32_t pc;
    uint32_t cpsr;
    uint32_t _pad;      /* keeps the frame 8-byte aligned (AAPCS) */
};

/* Defaults print what happened and exit 1. addr: the faulting address (DFAR /
 * IFAR) or the undefined / svc instruction's address. */
void undef_handler(struct trapframe *tf, uint32_t addr);
void svc_handler(struct trapframe *tf, uint32_t addr);
void prefetch_abort_handler(struct trapframe *tf, uint32_t ifar, uint32_t ifsr);
void data_abort_handler(struct trapframe *tf, uint32_t dfar, uint32_t dfsr);
void fiq_handler(struct trapframe *tf, uint32_t addr);

static inline uint32_t read_dfsr(void)
{
    uint32_t v;
    __asm__ volatile("mrc p15, 0, %0, c5, c0, 0" : "=r"(v));
    return v;
}

static inline uint32_t read_dfar(void)
{
    uint32_t v;
    __asm__ volatile("mrc p15, 0, %0, c6, c0, 0" : "=r"(v));
    return v;
}

static inline uint32_t read_ifsr(void)
{
    uint32_t v;
    __asm__ volatile("mrc p15, 0, %0, c5, c0, 1" : "=r"(v));
    return v;
}

static inline uint32_t read_ifar(void)
{
    uint32_t v;
    __asm__ volatile("mrc p15, 0, %0, c6, c0, 2" : "=r"(v));
    return v;
}

/* Fault status FS[4:0] from a DFSR / IFSR value (short-descriptor format). */
static inline uint32_t fsr_status(uint32_t fsr)
{
    return (fsr & 0xFu) | ((fsr >> 6) & 0x10u);
}

#elif defined(__i386__)
/*
 * Saved state, on the stack, built by the vector stubs: pushal, then the
 * vector number and error code (0 for vectors that push none), then what the
 * CPU pushed. A handler may change any field; iret resumes at eip. No ring or
 * stack switch happens (everything runs in ring 0), so there is no esp/ss.
 */
struct trapframe {
    uint32_t edi, esi, ebp, esp_unused, ebx, edx, ecx, eax;
    uint32_t vector;
    uint32_t error;
    uint32_t eip;
    uint32_t cs;
    uint32_t eflags;
};

/* Defaults print vector, error code, EIP (and CR2) and exit 1. */
void page_fault_handler(struct trapframe *tf, uint32_t cr2);
void exception_handler(struct trapframe *tf);   /* every other vector */
void isr_dispatch(struct trapframe *tf);        /* called by the vector stubs */

static inline uint32_t read_cr2(void)
{
    uint32_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}
#endif

#endif /* SOCLAB_RUNTIME_H */
