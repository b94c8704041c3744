/*
 * poll_linux.c - poll, ppoll, select (_newselect; i386's old select too) and
 * pselect6 over pipes: ready masks (POLLIN/POLLOUT/POLLHUP/POLLERR/POLLNVAL),
 * fd_set bits past the first long, zero and finite timeouts on virtual time
 * with the time left written back, sleeping until a child writes, and the
 * errnos for bad arguments. Raw syscalls are used where libc would hide the
 * kernel's behaviour (musl's select passes a copy of the timeout).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static volatile int usr1_count;
static void on_usr1(int sig) { (void)sig; usr1_count++; }

struct ts32 { long sec, nsec; };
struct tv32 { long sec, usec; };

int main(int argc, char **argv)
{
    int p[2];
    pipe(p);
    struct pollfd fds[4];
    long r;

    if (argc > 1) { /* a child sends SIGUSR1 three times, 10 ms apart, while we sleep */
        struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
        sigaction(SIGUSR1, &sa, NULL);
        if (fork() == 0) {
            struct timespec gap = { 0, 10000000 };
            for (int i = 0; i < 3; i++) {
                nanosleep(&gap, NULL);
                kill(getppid(), SIGUSR1);
            }
            _exit(0);
        }
        fds[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
        r = poll(fds, 1, 1000); /* -ERESTARTNOHAND: EINTR even with SA_RESTART */
        printf("interrupted poll: %ld errno=%d\n", r, errno);
        struct timespec d = { 1, 0 }, left = { 0, 0 };
        r = nanosleep(&d, &left); /* EINTR even with SA_RESTART, and the time left */
        printf("interrupted nanosleep: %ld errno=%d left>=0.98s %d\n", r, errno,
               left.tv_sec == 0 && left.tv_nsec >= 980000000);
        sa.sa_flags = 0;
        sigaction(SIGUSR1, &sa, NULL);
        char c;
        r = read(p[0], &c, 1); /* no SA_RESTART: EINTR */
        printf("interrupted read: %ld errno=%d\n", r, errno);
        printf("handled %d\n", usr1_count);
        return 0;
    }

    /* empty pipe, zero timeout: nothing ready; the write end is writable */
    fds[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
    fds[1] = (struct pollfd){ .fd = p[1], .events = POLLOUT };
    fds[2] = (struct pollfd){ .fd = 77, .events = POLLIN };
    fds[3] = (struct pollfd){ .fd = -1, .events = POLLIN, .revents = 0x55 };
    r = poll(fds, 4, 0);
    printf("poll empty: %ld in=%#x out=%#x closed=%#x negative=%#x\n", r,
           fds[0].revents, fds[1].revents, fds[2].revents, fds[3].revents);

    /* a finite timeout runs out on virtual time */
    long long t0 = now_ms();
    r = poll(fds, 1, 30);
    printf("poll timeout: %ld after >=30ms %d\n", r, now_ms() - t0 >= 30);

    write(p[1], "x", 1);
    r = poll(fds, 2, -1);
    printf("poll data: %ld in=%#x\n", r, fds[0].revents);

    /* select: the pipe's read end moved past the first 32-bit long of fd_set */
    dup2(p[0], 40);
    fd_set rd, wr;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_SET(40, &rd);
    FD_SET(p[1], &wr);
    struct tv32 tv = { 2, 500000 };
    r = syscall(SYS__newselect, 41, &rd, &wr, NULL, &tv);
    printf("select: %ld rd40=%d wr=%d word1=%#lx left<=2.5s %d\n", r, FD_ISSET(40, &rd),
           FD_ISSET(p[1], &wr), ((unsigned long *)&rd)[1],
           tv.sec * 1000000 + tv.usec <= 2500000 && tv.sec * 1000000 + tv.usec > 2400000);

    char c;
    read(p[0], &c, 1);
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    tv = (struct tv32){ 0, 20000 };
    t0 = now_ms();
    r = syscall(SYS__newselect, p[0] + 1, &rd, NULL, NULL, &tv);
    printf("select timeout: %ld tv=%ld.%06ld after >=20ms %d rd=%d\n", r, tv.sec, tv.usec,
           now_ms() - t0 >= 20, FD_ISSET(p[0], &rd));

    FD_ZERO(&rd);
    FD_SET(9, &rd);
    errno = 0;
    r = syscall(SYS__newselect, 10, &rd, NULL, NULL, NULL);
    printf("select closed fd: %ld errno=%d\n", r, errno);
    r = syscall(SYS__newselect, -1, NULL, NULL, NULL, NULL);
    printf("select n<0: %ld errno=%d\n", r, errno);
    tv = (struct tv32){ 0, -1 };
    r = syscall(SYS__newselect, 1, NULL, NULL, NULL, &tv);
    printf("select bad timeval: %ld errno=%d\n", r, errno);
    r = syscall(SYS__newselect, 1, (void *)16, NULL, NULL, NULL);
    printf("select bad set: %ld errno=%d\n", r, errno);
#ifdef __i386__
    {
        struct { unsigned long n; fd_set *in, *out, *ex; struct tv32 *tv; } a;
        FD_ZERO(&wr);
        FD_SET(p[1], &wr);
        a.n = p[1] + 1; a.in = NULL; a.out = &wr; a.ex = NULL; a.tv = NULL;
        r = syscall(82, &a);
        printf("old select: %ld wr=%d\n", r, FD_ISSET(p[1], &wr));
    }
#else
    printf("old select: 1 wr=1\n");
#endif

    /* ppoll and pselect6 with timespecs written back, and their sigset checks */
    struct ts32 ts = { 0, 15000000 };
    fds[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
    r = syscall(SYS_ppoll, fds, 1, &ts, NULL, 8);
    printf("ppoll timeout: %ld ts=%ld.%09ld\n", r, ts.sec, ts.nsec);
    sigset_t set;
    sigemptyset(&set);
    struct { long long sec, nsec; } ts64 = { 0, 7000000 };
    r = syscall(SYS_ppoll_time64, fds, 1, &ts64, NULL, 8);
    printf("ppoll_time64 timeout: %ld ts=%lld.%09lld\n", r, ts64.sec, ts64.nsec);
    r = syscall(SYS_ppoll, fds, 1, &ts, &set, 4);
    printf("ppoll sigsetsize 4: %ld errno=%d\n", r, errno);
    ts = (struct ts32){ 1, 1000000000 };
    r = syscall(SYS_ppoll, fds, 1, &ts, NULL, 8);
    printf("ppoll bad timespec: %ld errno=%d\n", r, errno);
    r = syscall(SYS_poll, fds, 5000, 0);
    printf("poll nfds>RLIMIT_NOFILE: %ld errno=%d\n", r, errno);
    r = syscall(SYS_poll, (void *)16, 1, 0);
    printf("poll bad pointer: %ld errno=%d\n", r, errno);

    FD_ZERO(&wr);
    FD_SET(p[1], &wr);
    ts = (struct ts32){ 3, 0 };
    struct { const sigset_t *ss; size_t len; } pack = { &set, 8 };
    r = syscall(SYS_pselect6, p[1] + 1, NULL, &wr, NULL, &ts, &pack);
    printf("pselect6: %ld wr=%d ts<=3s %d\n", r, FD_ISSET(p[1], &wr),
           ts.sec * 1000000000LL + ts.nsec <= 3000000000LL && ts.sec >= 2);
    pack.len = 16;
    r = syscall(SYS_pselect6, p[1] + 1, NULL, &wr, NULL, &ts, &pack);
    printf("pselect6 sigsetsize 16: %ld errno=%d\n", r, errno);
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    struct timespec lts = { 0, 5000000 };
    r = pselect(p[0] + 1, &rd, NULL, NULL, &lts, NULL);
    printf("pselect libc timeout: %ld\n", r);

    /* sleeping: a child writes after 10 ms; poll (and then select) wake up */
    t0 = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec d = { 0, 10000000 };
        nanosleep(&d, NULL);
        char path[64], st[256] = "";
        snprintf(path, sizeof path, "/proc/%d/stat", (int)getppid());
        int sf = open(path, O_RDONLY);
        read(sf, st, sizeof st - 1);
        printf("parent while polling: %c\n", *(strchr(st, ')') + 2));
        fflush(stdout);
        write(p[1], "ab", 2);
        nanosleep(&d, NULL);
        write(p[1], "c", 1);
        _exit(0);
    }
    fds[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
    r = poll(fds, 1, -1);
    char buf[8];
    printf("poll woken: %ld in=%#x after >=10ms %d read=%zd\n", r, fds[0].revents,
           now_ms() - t0 >= 10, read(p[0], buf, sizeof buf));
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    r = select(p[0] + 1, &rd, NULL, NULL, NULL);
    printf("select woken: %ld rd=%d after >=20ms %d\n", r, FD_ISSET(p[0], &rd),
           now_ms() - t0 >= 20);
    read(p[0], buf, sizeof buf);
    waitpid(pid, NULL, 0);

    /* end of file and broken pipes */
    close(p[1]);
    close(40);
    fds[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
    r = poll(fds, 1, -1);
    printf("poll writer gone: %ld revents=%#x\n", r, fds[0].revents);
    int q[2];
    pipe(q);
    close(q[0]);
    fds[0] = (struct pollfd){ .fd = q[1], .events = POLLOUT };
    r = poll(fds, 1, 0);
    printf("poll reader gone: %ld revents=%#x\n", r, fds[0].revents);

    /* files without a poll method are always ready */
    int nul = open("/dev/null", O_RDWR);
    int meminfo = open("/proc/meminfo", O_RDONLY);
    fds[0] = (struct pollfd){ .fd = nul, .events = POLLIN | POLLOUT };
    fds[1] = (struct pollfd){ .fd = meminfo, .events = POLLIN };
    r = poll(fds, 2, 0);
    printf("poll null/proc: %ld null=%#x proc=%#x\n", r, fds[0].revents, fds[1].revents);
    return 0;
}
