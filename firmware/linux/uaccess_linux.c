/*
 * uaccess_linux.c - the kernel's user accesses follow mapping changes at once: a page
 * that was readable for write() and then unmapped, made read-only or replaced gives
 * EFAULT or the new page's bytes, never the old physical page (the kernel model caches
 * user translations for copy_from_user/copy_to_user).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char *map(void *at, int flags)
{
    return mmap(at, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
}

int main(void)
{
    int fds[2];
    char buf[8] = {0};
    if (pipe(fds) != 0)
        return 1;
    char *p = map(0, 0);
    if (p == MAP_FAILED)
        return 1;
    strcpy(p, "old");
    printf("write mapped: %zd\n", write(fds[1], p, 3));
    read(fds[0], buf, 3);
    munmap(p, 4096);
    ssize_t r = write(fds[1], p, 3);
    printf("write unmapped: %zd errno=%d\n", r, r < 0 ? errno : 0);
    char *q = map(p, MAP_FIXED);
    strcpy(q, "new");
    write(fds[1], q, 3);
    read(fds[0], buf, 3);
    printf("remapped reads: %s\n", buf);
    mprotect(q, 4096, PROT_READ);
    write(fds[1], "x", 1);
    r = read(fds[0], q, 1);
    printf("read into read-only: %zd errno=%d\n", r, r < 0 ? errno : 0);
    printf("write from read-only: %zd\n", write(fds[1], q, 3));
    munmap(q, 4096);
    r = write(fds[1], q, 3);
    printf("write unmapped again: %zd errno=%d\n", r, r < 0 ? errno : 0);
    return 0;
}
