/*
 * mm_linux.c - the address space: copy-on-write fork, MAP_SHARED anonymous memory across
 * fork, MAP_FIXED / MAP_FIXED_NOREPLACE, VMA split and merge (as /proc/self/maps shows them),
 * munmap holes, madvise(MADV_DONTNEED), mremap, and the signals of bad accesses.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096

static sigjmp_buf env;
static volatile int last_sig, last_code;
static volatile long last_off;
static char *base;

static void on_fault(int sig, siginfo_t *info, void *uc)
{
    (void)uc;
    last_sig = sig;
    last_code = info->si_code;
    last_off = (char *)info->si_addr - base;
    siglongjmp(env, 1);
}

/* 0 if the access worked, else "signal/code@offset" is printed */
static void probe(const char *what, char *p, int write)
{
    if (sigsetjmp(env, 1) == 0) {
        if (write)
            *(volatile char *)p = 1;
        else
            (void)*(volatile char *)p;
        printf("%s: ok\n", what);
    } else {
        printf("%s: signal %d code %d at +%ld\n", what, last_sig, last_code, last_off);
    }
}

/* how many /proc/self/maps lines overlap [p, p + len), and the perms of the first */
static int vmas(char *p, long len, char *perms)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[256];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long s, e;
        char pr[5];
        if (sscanf(line, "%lx-%lx %4s", &s, &e, pr) != 3)
            continue;
        if (s < (unsigned long)p + len && (unsigned long)p < e) {
            if (n++ == 0 && perms)
                strcpy(perms, pr);
        }
    }
    fclose(f);
    return n;
}

/* field 10 (minflt) or 12 (majflt) of /proc/self/stat */
static long statfield(int field)
{
    char buf[512];
    int fd = open("/proc/self/stat", O_RDONLY);
    int n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    char *p = strrchr(buf, ')') + 2;
    long v[10];
    /* state ppid pgrp session tty tpgid flags minflt cminflt majflt */
    sscanf(p, "%*c %ld %ld %ld %ld %ld %ld %ld %ld %ld", &v[0], &v[1], &v[2], &v[3], &v[4],
           &v[5], &v[6], &v[7], &v[8]);
    return v[field - 4];
}

static long minflt(void) { return statfield(10); }

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    char perms[5];

    /* copy-on-write fork */
    char *priv = mmap(0, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *shared = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    vmas(shared, PG, perms);
    printf("shared perms %s\n", perms);
    strcpy(priv, "parent");
    strcpy(shared, "parent");
    pid_t pid = fork();
    if (pid == 0) {
        long before = minflt();
        printf("child reads %s\n", priv);
        strcpy(priv, "child");
        strcpy(shared, "child");
        long after = minflt();
        printf("child wrote %s, minor faults for the copy: %s\n", priv,
               after > before ? "yes" : "no");
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("parent still has %s; shared now %s\n", priv, shared);
    strcpy(priv, "again");
    printf("parent writes %s\n", priv);

    /* MAP_FIXED replaces, MAP_FIXED_NOREPLACE refuses, neighbours merge */
    base = mmap(0, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(base, 'a', 3 * PG);
    char *mid = mmap(base + PG, PG, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("fixed at +%ld: %d %c %c; vmas %d\n", (long)(mid - base), base[PG], base[0],
           base[2 * PG], vmas(base, 3 * PG, NULL));
    void *r = mmap(base, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("noreplace: %s\n", r == MAP_FAILED && errno == EEXIST ? "EEXIST" : "mapped");

    /* mprotect splits and merges */
    mprotect(base + PG, PG, PROT_READ);
    printf("mprotect middle: vmas %d\n", vmas(base, 3 * PG, NULL));
    probe("write read-only", base + PG + 8, 1);
    probe("read read-only", base + PG + 8, 0);
    mprotect(base + PG, PG, PROT_READ | PROT_WRITE);
    vmas(base, 3 * PG, perms);
    printf("mprotect back: vmas %d %s\n", vmas(base, 3 * PG, NULL), perms);

    /* munmap punches a hole */
    munmap(base + PG, PG);
    printf("munmap middle: vmas %d\n", vmas(base, 3 * PG, NULL));
    probe("read hole", base + PG + 16, 0);
    probe("read below hole", base + PG - 1, 0);

    /* madvise(MADV_DONTNEED): private anonymous memory is zero on the next touch */
    base[0] = 'z';
    printf("madvise %d: %d\n", madvise(base, PG, MADV_DONTNEED), base[0]);

    /* mremap: grow in place, shrink, move */
    char *m = mmap(0, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(m + PG, 3 * PG);
    m[0] = 'm';
    char *g = mremap(m, PG, 3 * PG, 0);
    printf("grow in place: %s %c\n", g == m ? "same" : "moved", g[0]);
    g[2 * PG] = 'e';
    char *s = mremap(g, 3 * PG, PG, 0);
    printf("shrink: %s; vmas %d\n", s == g ? "same" : "moved", vmas(g, 3 * PG, NULL));
    char *blocker = mmap(g + PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    void *nomove = mremap(g, PG, 2 * PG, 0);
    printf("blocked: %s\n", nomove == MAP_FAILED && errno == ENOMEM ? "ENOMEM" : "grew");
    char *mv = mremap(g, PG, 2 * PG, MREMAP_MAYMOVE);
    printf("maymove: %s %c; old %d\n", mv != g ? "moved" : "same", mv[0], vmas(g, PG, NULL));
    char *target = blocker + 8 * PG;
    char *fx = mremap(mv, 2 * PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, target);
    printf("fixed: %s %c\n", fx == target ? "at target" : "elsewhere", fx[0]);
    void *bad = mremap(fx, PG, 2 * PG, MREMAP_FIXED, target + 4 * PG);
    printf("fixed without maymove: %s\n", bad == MAP_FAILED && errno == EINVAL ? "EINVAL" : "?");

    /* a file mapping: its bytes, zeros after EOF in the last page, SIGBUS beyond it */
    int fd = open("/tmp/mapped", O_RDWR | O_CREAT, 0644);
    write(fd, "file contents", 13);
    base = mmap(0, 2 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
    long maj = statfield(12);
    printf("file: %.13s, after EOF %d, major faults %ld\n", base, base[100],
           statfield(12) - maj);
    probe("read beyond EOF", base + PG + 4, 0);
    vmas(base, PG, perms);
    printf("file perms %s\n", perms);
    return 0;
}
