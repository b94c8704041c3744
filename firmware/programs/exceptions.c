/*
 * exceptions.c - synchronous exceptions reach the guest's own handlers.
 *
 * ARM: an svc, an undefined instruction and a bus error (an 8-bit read of a
 * register block that only takes 32-bit accesses: a synchronous external
 * abort, DFSR FS = 0b01000) each enter their vector; the handlers report and
 * resume. x86: int $0x80 and ud2 go through the IDT; then the same bad
 * register access, which on x86 bare metal stops the run with a bus-error
 * report (datasheet section 1), so nothing after it prints.
 */
#include "runtime.h"

static volatile uint32_t svc_seen, undef_seen;

#if defined(__arm__)
void svc_handler(struct trapframe *tf, uint32_t addr)
{
    (void)tf;
    svc_seen = *(volatile uint32_t *)addr & 0xFFFFFF;   /* the svc immediate */
}

void undef_handler(struct trapframe *tf, uint32_t addr)
{
    (void)tf;
    undef_seen = addr;
}

void data_abort_handler(struct trapframe *tf, uint32_t dfar, uint32_t dfsr)
{
    printf("data abort: DFSR=%08x FS=%x DFAR=%08x\n", dfsr, fsr_status(dfsr), dfar);
    tf->pc += 4;                                        /* skip the faulting load */
}

int main(void)
{
    __asm__ volatile("svc #42" ::: "lr", "memory");
    printf("svc: immediate %u\n", svc_seen);
    __asm__ volatile(".word 0xe7f000f0" ::: "memory"); /* udf #0 */
    printf("undef: at %08x\n", undef_seen);
    (void)*(volatile uint8_t *)(UART0_BASE + 0x18);
    printf("resumed after the abort\n");
    return 0;
}
#else
void exception_handler(struct trapframe *tf)
{
    if (tf->vector == 0x80) {
        svc_seen = tf->eax;
    } else if (tf->vector == 6) {
        undef_seen = tf->eip;
        tf->eip += 2;                                   /* skip ud2 */
    } else {
        printf("unexpected vector %u\n", tf->vector);
        soc_exit(1);
    }
}

int main(void)
{
    __asm__ volatile("int $0x80" :: "a"(42) : "memory");
    printf("svc: immediate %u\n", svc_seen);
    __asm__ volatile("ud2" ::: "memory");
    printf("undef: at %08x\n", undef_seen);
    (void)*(volatile uint8_t *)(UART0_BASE + 0x18);
    printf("resumed after the abort\n");
    return 0;
}
#endif
