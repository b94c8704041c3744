/*
 * tlsfault_linux.c - a load through the thread pointer (i386 %gs:offset, ARM TPIDRURO
 * plus a register offset) that faults: the SIGSEGV handler's si_addr is the exact
 * address, thread pointer + offset (the kernel decodes the faulting instruction, and on
 * i386 adds the %gs segment base from its GDT descriptor).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define OFFSET 0x30000123u

static unsigned long tp;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    printf("signal %d at thread pointer + %#lx\n", sig, (unsigned long)si->si_addr - tp);
    fflush(stdout);
    _exit(0);
}

int main(void)
{
    struct sigaction sa = {0};
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, 0);
    unsigned long v;
#if defined(__i386__)
    __asm__ volatile("movl %%gs:0, %0" : "=r"(tp));
    __asm__ volatile("movl %%gs:%c1, %0" : "=r"(v) : "i"(OFFSET));
#else
    unsigned long off = OFFSET;
    __asm__ volatile("mrc p15, 0, %0, c13, c0, 3" : "=r"(tp));
    __asm__ volatile("ldr %0, [%1, %2]" : "=r"(v) : "r"(tp), "r"(off));
#endif
    printf("no fault: %lu\n", v);
    return 1;
}
