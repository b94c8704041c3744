/*
 * syscalls_linux.c - system-call edge cases a kernel must get right: bad user
 * pointers give EFAULT (never a crash), unknown calls ENOSYS, anonymous
 * mmap/mprotect/munmap, uname, clock_gettime on virtual time.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
    long r = syscall(SYS_write, 1, (void *)0x10, 5);
    printf("write(bad pointer) = %ld errno=%d\n", r, r < 0 ? errno : 0);
    r = syscall(9999);
    printf("syscall(9999) = %ld errno=%d\n", r, r < 0 ? errno : 0);
    struct utsname u;
    uname(&u);
    printf("uname: %s %s\n", u.sysname, u.machine);
    char *p = mmap(0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 1;
    strcpy(p + 4096, "anonymous memory");
    printf("mmap: %s, zero-filled %d\n", p + 4096, p[2 * 4096 + 17] == 0);
    printf("mprotect = %d\n", mprotect(p, 4096, PROT_READ));
    printf("munmap = %d\n", munmap(p, 3 * 4096));
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    printf("clock ok: %d\n", t.tv_sec >= 0 && t.tv_nsec >= 0);
    return 0;
}
