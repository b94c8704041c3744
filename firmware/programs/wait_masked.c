/*
 * wait_masked.c - waits for an interrupt with interrupts masked and no device
 * event pending: a guest that can never make progress. soclab must stop it
 * (status 124) instead of spinning forever.
 */
#include "runtime.h"

int main(void)
{
    printf("waiting with interrupts masked\n");
    irq_disable();
#if defined(__arm__)
    __asm__ volatile("wfi");   /* wakes only for a pending interrupt: none will come */
#else
    __asm__ volatile("hlt");   /* with IF=0 nothing but NMI wakes it */
#endif
    printf("woke up?\n");
    return 0;
}
