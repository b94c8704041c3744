/*
 * sigsegv_linux.c - a SIGSEGV handler that inspects the fault and recovers:
 * the program touches a PROT_NONE page; the handler reports si_addr and
 * si_code, makes the page writable, and returns, so the store is retried.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char *page;
static volatile int faults;

static void on_segv(int sig, siginfo_t *info, void *uc)
{
    (void)uc;
    faults++;
    printf("handler: signal %d, code %d, at page offset %ld\n", sig, info->si_code,
           (long)((char *)info->si_addr - page));
    mprotect(page, 4096, PROT_READ | PROT_WRITE);
}

int main(void)
{
    page = mmap(0, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    *(volatile char *)(page + 100) = 42;  /* faults once, then succeeds */
    printf("recovered: page[100] = %d after %d fault(s)\n", page[100], faults);
    return 0;
}
