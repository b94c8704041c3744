/*
 * signals_linux.c - signals between and within processes: kill/tkill/tgkill with
 * handlers (SA_SIGINFO's si_pid/si_code), the blocked mask and pending signals, SA_NODEFER,
 * SA_RESETHAND, SIG_IGN and default-ignored signals, system calls interrupted by a signal
 * (-EINTR, or restarted with SA_RESTART), pause, sigsuspend, sigtimedwait, SIGCHLD on a
 * child's exit, SIGPIPE, children killed by signals (WIFSIGNALED/WTERMSIG), and kill to a
 * process group and to -1. With the argument "die" it kills itself with SIGTERM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int nest_once, hits, depth, max_depth, last_code, last_pid, chld_pid, chld_status,
    chld_code;
static int wake_fd = -1;

static void on_sig(int sig, siginfo_t *info, void *uc)
{
    (void)uc;
    hits++;
    last_code = info->si_code;
    last_pid = info->si_pid;
    if (sig == SIGUSR2)
        depth++;
    if (sig == SIGUSR2 && nest_once) { /* nests when SA_NODEFER allows it */
        nest_once = 0;
        raise(SIGUSR2);
    }
    if (depth > max_depth)
        max_depth = depth;
    if (sig == SIGUSR2)
        depth--;
    if (wake_fd >= 0) {
        write(wake_fd, "w", 1);
        wake_fd = -1;
    }
}

static void on_chld(int sig, siginfo_t *info, void *uc)
{
    (void)sig;
    (void)uc;
    chld_pid = info->si_pid;
    chld_status = info->si_status;
    chld_code = info->si_code;
}

static volatile int plain_hits, plain_blocked;
static void on_plain(int sig) /* no SA_SIGINFO: the old frame, and sigreturn */
{
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    plain_hits += sig;
    plain_blocked = sigismember(&now, sig);
}

static void handle(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | flags;
    sigaction(sig, &sa, NULL);
}

static void status_line(const char *what, int status)
{
    if (WIFSIGNALED(status))
        printf("%s: killed by signal %d\n", what, WTERMSIG(status));
    else
        printf("%s: exited %d\n", what, WEXITSTATUS(status));
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "die") == 0) {
        printf("pid %d kills itself\n", getpid());
        fflush(stdout);
        kill(getpid(), SIGTERM);
        printf("still alive\n");
        return 0;
    }
    pid_t me = getpid();

    /* kill to self: the handler runs before kill returns to the program */
    handle(SIGUSR1, on_sig, 0);
    int r = kill(me, SIGUSR1);
    printf("kill self: %d, hits %d, si_code %d, si_pid %d\n", r, hits, last_code, last_pid);
    r = syscall(SYS_tgkill, me, me, SIGUSR1);
    printf("tgkill self: %d, hits %d, si_code %d\n", r, hits, last_code);
    r = syscall(SYS_tkill, me, SIGUSR1);
    printf("tkill self: %d, hits %d\n", r, hits);
    errno = 0;
    r = syscall(SYS_tgkill, me + 1000, me, SIGUSR1);
    printf("tgkill wrong tgid: %d errno %d\n", r, errno);
    errno = 0;
    r = kill(12345, 0);
    printf("kill missing pid: %d errno %d; kill(self, 0) = %d\n", r, errno, kill(me, 0));
    errno = 0;
    r = kill(me, 99);
    printf("kill bad signal: %d errno %d\n", r, errno);

    /* blocked: pending until unblocked */
    sigset_t set, old, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &old);
    hits = 0;
    kill(me, SIGUSR1);
    kill(me, SIGUSR1); /* a standard signal is pending once */
    sigpending(&pend);
    printf("blocked: hits %d, pending %d\n", hits, sigismember(&pend, SIGUSR1));
    char status[2048];
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(status, sizeof status, f))
        if (strncmp(status, "Sig", 3) == 0 || strncmp(status, "ShdPnd", 6) == 0)
            printf("  %s", status);
    if (f)
        fclose(f);
    sigprocmask(SIG_SETMASK, &old, NULL);
    sigpending(&pend);
    printf("unblocked: hits %d, pending %d\n", hits, sigismember(&pend, SIGUSR1));

    /* SA_NODEFER lets the handler's own signal nest; without it the second waits */
    handle(SIGUSR2, on_sig, SA_NODEFER);
    max_depth = hits = 0;
    nest_once = 1;
    raise(SIGUSR2);
    printf("SA_NODEFER: max depth %d, runs %d\n", max_depth, hits);
    handle(SIGUSR2, on_sig, 0);
    max_depth = hits = 0;
    nest_once = 1;
    raise(SIGUSR2);
    printf("deferred: max depth %d, runs %d\n", max_depth, hits);

    /* SA_RESETHAND: once, then the default action */
    handle(SIGUSR2, on_sig, SA_RESETHAND);
    raise(SIGUSR2);
    struct sigaction cur;
    sigaction(SIGUSR2, NULL, &cur);
    printf("SA_RESETHAND: handler now default %d\n", cur.sa_handler == SIG_DFL);

    /* a handler without SA_SIGINFO; the mask's high word survives its return */
    sigset_t high;
    sigemptyset(&high);
    sigaddset(&high, 40);
    sigprocmask(SIG_BLOCK, &high, NULL);
    signal(SIGUSR2, on_plain);
    raise(SIGUSR2);
    raise(SIGUSR2);
    sigprocmask(SIG_UNBLOCK, &high, &pend);
    printf("plain handler: %d, blocked inside %d, mask kept %d\n", plain_hits, plain_blocked,
           sigismember(&pend, 40) && !sigismember(&pend, SIGUSR2));

    /* ignored: explicitly, and by default */
    signal(SIGUSR2, SIG_IGN);
    hits = 0;
    raise(SIGUSR2);
    raise(SIGWINCH);
    raise(SIGURG);
    raise(SIGCHLD);
    printf("ignored: alive, hits %d\n", hits);
    signal(SIGUSR2, SIG_DFL);

    /* a child killed by a signal, one killed by SIGKILL, one that exits */
    pid_t c = fork();
    if (c == 0) {
        pause();
        _exit(1);
    }
    kill(c, SIGTERM);
    int st;
    waitpid(c, &st, 0);
    status_line("child SIGTERM", st);
    c = fork();
    if (c == 0) {
        signal(SIGTERM, SIG_IGN);
        for (;;)
            pause();
    }
    sched_yield();
    kill(c, SIGTERM);
    kill(c, SIGKILL);
    waitpid(c, &st, 0);
    status_line("child SIGKILL", st);

    /* SIGCHLD with its siginfo; wait4 returns first, the handler runs on that return */
    handle(SIGCHLD, on_chld, SA_RESTART);
    c = fork();
    if (c == 0)
        _exit(7);
    waitpid(c, &st, 0);
    printf("SIGCHLD: from child %d, status %d, code %d\n", chld_pid == c, chld_status,
           chld_code);
    signal(SIGCHLD, SIG_DFL);

    /* a pipe read interrupted: -EINTR without SA_RESTART */
    int p[2], q[2];
    pipe(p);
    pipe(q);
    handle(SIGUSR1, on_sig, 0);
    c = fork();
    if (c == 0) {
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    char ch;
    errno = 0;
    r = read(p[0], &ch, 1);
    printf("read interrupted: %d errno %d\n", r, errno);
    waitpid(c, &st, 0);

    /* ... and restarted with SA_RESTART: the handler wakes the child, which then writes */
    handle(SIGUSR1, on_sig, SA_RESTART);
    c = fork();
    if (c == 0) {
        kill(getppid(), SIGUSR1);
        read(q[0], &ch, 1); /* sleeps until the parent's handler writes */
        write(p[1], "R", 1);
        _exit(0);
    }
    hits = 0;
    wake_fd = q[1];
    r = read(p[0], &ch, 1);
    printf("read restarted: %d '%c', handler ran %d\n", r, ch, hits);
    waitpid(c, &st, 0);

    /* wait4 interrupted, pause, sigsuspend */
    handle(SIGUSR1, on_sig, 0);
    c = fork();
    if (c == 0) {
        kill(getppid(), SIGUSR1);
        pause();
        _exit(0);
    }
    errno = 0;
    r = waitpid(c, &st, 0);
    printf("wait4 interrupted: %d errno %d\n", r, errno);
    kill(c, SIGKILL);
    waitpid(c, &st, 0);
    c = fork();
    if (c == 0) {
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    errno = 0;
    hits = 0;
    r = pause();
    printf("pause: %d errno %d, hits %d\n", r, errno, hits);
    waitpid(c, &st, 0);
    /* nanosleep: interrupted with the time left; or it sleeps while a child runs */
    c = fork();
    if (c == 0) {
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    struct timespec req = {5, 0}, rem = {0, 0}, t0, t1;
    errno = 0;
    hits = 0;
    r = nanosleep(&req, &rem);
    printf("nanosleep interrupted: %d errno %d, hits %d, time left 4.9-5 s %d\n", r, errno,
           hits, rem.tv_sec == 4 && rem.tv_nsec > 900000000);
    waitpid(c, &st, 0);
    c = fork();
    if (c == 0) {
        pause();
        _exit(0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    req.tv_sec = 0;
    req.tv_nsec = 20000000;
    r = nanosleep(&req, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    printf("nanosleep beside a sleeping child: %d, slept 20-21 ms %d\n", r, ms >= 20 && ms <= 21);
    kill(c, SIGKILL);
    waitpid(c, &st, 0);

    sigprocmask(SIG_BLOCK, &set, &old);
    c = fork();
    if (c == 0) {
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    hits = 0;
    sigset_t none;
    sigemptyset(&none);
    errno = 0;
    r = sigsuspend(&none);
    sigprocmask(SIG_BLOCK, NULL, &pend);
    printf("sigsuspend: %d errno %d, hits %d, mask restored %d\n", r, errno, hits,
           sigismember(&pend, SIGUSR1));
    waitpid(c, &st, 0);

    /* abort(): SIGABRT even when blocked or caught and returning */
    c = fork();
    if (c == 0) {
        sigprocmask(SIG_BLOCK, &set, NULL);
        abort();
    }
    waitpid(c, &st, 0);
    status_line("child abort()", st);
    struct rlimit core;
    getrlimit(RLIMIT_CORE, &core);
    printf("core dumped %d, RLIMIT_CORE %ld\n", WCOREDUMP(st) != 0, (long)core.rlim_cur);

    /* sigtimedwait takes a blocked signal without running the handler */
    kill(me, SIGUSR1);
    siginfo_t si;
    struct timespec zero = {0, 0};
    hits = 0;
    r = sigtimedwait(&set, &si, &zero);
    printf("sigtimedwait: %d, si_pid is me %d, hits %d\n", r, si.si_pid == me, hits);
    errno = 0;
    r = sigtimedwait(&set, &si, &zero);
    printf("sigtimedwait empty: %d errno %d\n", r, errno);
    sigprocmask(SIG_SETMASK, &old, NULL);

    /* SIGPIPE: kills a writer by default; ignored, the write is -EPIPE */
    int z[2];
    pipe(z);
    close(z[0]);
    c = fork();
    if (c == 0) {
        write(z[1], "x", 1);
        _exit(0);
    }
    waitpid(c, &st, 0);
    status_line("child writing to a closed pipe", st);
    signal(SIGPIPE, SIG_IGN);
    errno = 0;
    r = write(z[1], "x", 1);
    printf("write with SIGPIPE ignored: %d errno %d\n", r, errno);

    /* kill(0) reaches the caller's group; kill(-pgrp) another group; kill(-1) all others */
    signal(SIGUSR2, SIG_IGN);
    c = fork();
    if (c == 0) {
        signal(SIGUSR2, SIG_DFL);
        setpgid(0, 0);
        pause();
        _exit(0);
    }
    pid_t c2 = fork();
    if (c2 == 0) {
        signal(SIGUSR2, SIG_DFL);
        pause();
        _exit(0);
    }
    sched_yield();
    kill(0, SIGUSR2); /* c2 is in this group; c made its own */
    waitpid(c2, &st, 0);
    status_line("kill(0): group member", st);
    r = waitpid(c, &st, WNOHANG);
    printf("kill(0): other group untouched %d\n", r == 0);
    kill(-c, SIGUSR2);
    waitpid(c, &st, 0);
    status_line("kill(-pgrp)", st);
    /* orphans go to init (pid 1), which reaps them; waiting for a process group */
    c = fork();
    if (c == 0) {
        if (fork() == 0)
            _exit(5);
        _exit(4);
    }
    waitpid(c, &st, 0);
    status_line("parent of an orphan", st);
    r = waitpid(-1, &st, 0);
    printf("orphan reaped by pid 1: %d, ", r > c);
    status_line("orphan", st);
    c = fork();
    if (c == 0) {
        setpgid(0, 0);
        _exit(6);
    }
    sched_yield();
    errno = 0;
    r = waitpid(0, &st, 0);
    printf("wait for my group: %d errno %d\n", r, errno);
    r = waitpid(-c, &st, 0);
    printf("wait for the child's group: %d, ", r == c);
    status_line("child", st);

    c = fork();
    if (c == 0) {
        pause();
        _exit(0);
    }
    sched_yield();
    r = kill(-1, SIGHUP);
    waitpid(c, &st, 0);
    printf("kill(-1): %d, ", r);
    status_line("child", st);
    errno = 0;
    r = kill(-1, SIGHUP);
    printf("kill(-1) with no one else: %d errno %d\n", r, errno);
    return 0;
}
