/*
 * sigaltstack_linux.c - the alternate signal stack: sigaltstack's checks (SS_DISABLE,
 * MINSIGSTKSZ -ENOMEM, bad flags -EINVAL, -EPERM while on it), an SA_ONSTACK handler that
 * runs on it (and one without SA_ONSTACK that does not), uc_stack in the frame, fork
 * keeping the stack, and a stack overflow caught by a SIGSEGV handler on the alternate stack.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define ALT_SIZE 65536
static char *alt;

static int on_alt(const void *p) { return (const char *)p >= alt && (const char *)p < alt + ALT_SIZE; }

static void on_usr(int sig, siginfo_t *info, void *ucv)
{
    ucontext_t *uc = ucv;
    int local;
    stack_t cur, change = {.ss_sp = alt, .ss_size = ALT_SIZE / 2};
    (void)info;
    sigaltstack(NULL, &cur);
    errno = 0;
    int r = sigaltstack(&change, NULL);
    printf("signal %d: on the alternate stack %d, ss_flags %d, change: %d errno %d, "
           "uc_stack %d/%d\n",
           sig, on_alt(&local), cur.ss_flags, r, errno, uc->uc_stack.ss_sp == alt,
           (int)uc->uc_stack.ss_size);
}

static int recurse(int n)
{
    volatile char buf[4096];
    buf[0] = (char)n;
    return recurse(n + 1) + buf[0];
}

static void on_overflow(int sig, siginfo_t *info, void *uc)
{
    int local;
    (void)uc;
    printf("child: signal %d, si_code %d, handler on the alternate stack %d\n", sig,
           info->si_code, on_alt(&local));
    fflush(stdout);
    _exit(3);
}

static void handle(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | flags;
    sigaction(sig, &sa, NULL);
}

int main(void)
{
    stack_t ss, old;
    alt = malloc(ALT_SIZE);
    sigaltstack(NULL, &old);
    printf("initially: ss_flags %d, ss_size %d\n", old.ss_flags, (int)old.ss_size);
    ss.ss_sp = alt;
    ss.ss_flags = 0;
    ss.ss_size = 1024;
    errno = 0;
    int r = sigaltstack(&ss, NULL);
    printf("too small: %d errno %d\n", r, errno);
    ss.ss_size = ALT_SIZE;
    ss.ss_flags = 4;
    errno = 0;
    r = sigaltstack(&ss, NULL);
    printf("bad flags: %d errno %d\n", r, errno);
    ss.ss_flags = 0;
    r = sigaltstack(&ss, NULL);
    sigaltstack(NULL, &old);
    printf("set: %d, ss_sp ok %d, ss_flags %d, ss_size %d\n", r, old.ss_sp == alt, old.ss_flags,
           (int)old.ss_size);

    handle(SIGUSR1, on_usr, SA_ONSTACK);
    handle(SIGUSR2, on_usr, 0);
    raise(SIGUSR1);
    raise(SIGUSR2);
    sigaltstack(NULL, &old); /* rt_sigreturn put the frame's uc_stack back */
    printf("after the handlers: ss_size %d\n", (int)old.ss_size);

    pid_t c = fork();
    if (c == 0) {
        sigaltstack(NULL, &old);
        printf("child: inherited ss_size %d\n", (int)old.ss_size);
        handle(SIGSEGV, on_overflow, SA_ONSTACK);
        recurse(0);
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("child exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));

    ss.ss_flags = SS_DISABLE;
    r = sigaltstack(&ss, NULL);
    sigaltstack(NULL, &old);
    printf("disabled: %d, ss_flags %d, ss_size %d\n", r, old.ss_flags, (int)old.ss_size);
    raise(SIGUSR1); /* SA_ONSTACK without a stack: the ordinary stack */
    sigaltstack(NULL, &old);
    printf("after the handler: ss_flags %d, ss_size %d\n", old.ss_flags, (int)old.ss_size);
    return 0;
}
