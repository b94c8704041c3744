/*
 * compat_linux.c - the older and rarer forms of calls that share code with the common
 * ones: statfs/fstatfs (struct statfs, 32-bit), getdents (struct linux_dirent),
 * preadv2/pwritev2 (offset -1: the file position).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

struct linux_dirent {
    unsigned long d_ino;
    unsigned long d_off;
    unsigned short d_reclen;
    char d_name[];
};

struct statfs32 {
    unsigned long f_type, f_bsize, f_blocks, f_bfree, f_bavail, f_files, f_ffree;
    int f_fsid[2];
    unsigned long f_namelen, f_frsize, f_flags, f_spare[4];
};

int main(void)
{
    struct statfs32 s;
    long r = syscall(SYS_statfs, "/proc", &s);
    printf("statfs /proc: %ld type=%#lx bsize=%lu\n", r, s.f_type, s.f_bsize);
    int fd = open("/tmp", O_RDONLY | O_DIRECTORY);
    r = syscall(SYS_fstatfs, fd, &s);
    printf("fstatfs /tmp: %ld type=%#lx namelen=%lu\n", r, s.f_type, s.f_namelen);
    r = syscall(SYS_statfs, "/missing", &s);
    printf("statfs missing: %ld errno=%d\n", r, errno);
    r = syscall(SYS_statfs, "/proc", (void *)16);
    printf("statfs bad buffer: %ld errno=%d\n", r, errno);

    int f = open("/tmp/v", O_RDWR | O_CREAT, 0644);
    char a[] = "abc", b[] = "defg";
    struct iovec out[2] = {{a, 3}, {b, 4}};
    r = syscall(SYS_pwritev2, f, out, 2, 0, 0, 0);
    printf("pwritev2 at 0: %ld\n", r);
    r = syscall(SYS_pwritev2, f, out, 1, -1, -1, 0);
    printf("pwritev2 at the position: %ld pos=%ld\n", r, (long)lseek(f, 0, SEEK_CUR));
    char x[4] = {0}, y[8] = {0};
    struct iovec in[2] = {{x, 2}, {y, 7}};
    r = syscall(SYS_preadv2, f, in, 2, 1, 0, 0);
    printf("preadv2 at 1: %ld %.2s|%.7s pos=%ld\n", r, x, y, (long)lseek(f, 0, SEEK_CUR));
    lseek(f, 4, SEEK_SET);
    r = syscall(SYS_preadv2, f, in, 1, -1, -1, 0);
    printf("preadv2 at the position: %ld %.2s pos=%ld\n", r, x, (long)lseek(f, 0, SEEK_CUR));
    r = syscall(SYS_preadv2, f, in, 1, -2, -1, 0);
    printf("preadv2 offset -2: %ld errno=%d\n", r, errno);
    r = syscall(SYS_preadv2, f, in, 1, 0, 0, 0x40);
    printf("preadv2 bad flags: %ld errno=%d\n", r, errno);

    mkdir("/tmp/dd", 0755);
    close(open("/tmp/dd/one", O_CREAT | O_WRONLY, 0644));
    int d = open("/tmp/dd", O_RDONLY | O_DIRECTORY);
    char buf[512];
    long n = syscall(SYS_getdents, d, buf, sizeof buf);
    printf("getdents: %s\n", n > 0 ? "entries" : "none");
    for (long off = 0; off < n;) {
        struct linux_dirent *e = (struct linux_dirent *)(buf + off);
        char type = buf[off + e->d_reclen - 1];
        printf("  %s type=%d\n", e->d_name, type);
        off += e->d_reclen;
    }
    printf("getdents at end: %ld\n", (long)syscall(SYS_getdents, d, buf, sizeof buf));
    printf("getdents small buffer: %ld errno=%d\n",
           (long)(lseek(d, 0, SEEK_SET), syscall(SYS_getdents, d, buf, 4)), errno);
    return 0;
}
