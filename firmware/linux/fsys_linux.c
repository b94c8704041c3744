/*
 * fsys_linux.c - file-side system calls: statx, sendfile/sendfile64, sysinfo,
 * prctl(PR_SET_NAME/PR_GET_NAME), pread64/pwrite64/preadv/pwritev with 64-bit
 * offsets in register pairs, ftruncate64, getcwd/chdir/fchdir, umask, statfs64,
 * /proc/self/exe, cwd and fd/<n> as magic links (open and execve through them),
 * and /sys attribute files.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x2000
#endif

static void readall(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);
    buf[n > 0 ? n : 0] = 0;
    if (fd >= 0)
        close(fd);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        static char maps[8192], exe[256];
        readall("/proc/self/maps", maps, sizeof maps);
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = 0;
        printf("re-executed through /proc/self/exe: argv[0]=%s maps name the file %d exe %.15s\n",
               argv[0], strstr(maps, "/proc/self") == NULL && strstr(maps, exe) != NULL, exe);
        return 7;
    }
    char fd0[64] = {0};
    ssize_t n0 = readlink("/proc/self/fd/0", fd0, sizeof fd0 - 1); /* before any fd is used */
    printf("fd 0 before use: %zd %s\n", n0, fd0);
    char buf[512];
    struct statx sx;
    long r;

    /* statx: a path, a symlink not followed, an fd with AT_EMPTY_PATH */
    r = statx(AT_FDCWD, "/dev/null", 0, STATX_BASIC_STATS, &sx);
    printf("statx null: %ld mask=%#x chr=%d rdev=%u:%u\n", r, sx.stx_mask,
           S_ISCHR(sx.stx_mode), sx.stx_rdev_major, sx.stx_rdev_minor);
    symlink("/dev/null", "/tmp/link");
    r = statx(AT_FDCWD, "/tmp/link", AT_SYMLINK_NOFOLLOW, STATX_TYPE, &sx);
    printf("statx link: %ld lnk=%d size=%llu\n", r, S_ISLNK(sx.stx_mode),
           (unsigned long long)sx.stx_size);
    int fd = open("/tmp/data", O_RDWR | O_CREAT | O_TRUNC, 0666);
    write(fd, "0123456789", 10);
    r = statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &sx);
    printf("statx fd: %ld reg=%d size=%llu blksize=%u\n", r, S_ISREG(sx.stx_mode),
           (unsigned long long)sx.stx_size, sx.stx_blksize);
    statx(AT_FDCWD, "/proc", 0, 0, &sx);
    printf("statx /proc mount root: %d\n", !!(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT));
    errno = 0;
    r = statx(AT_FDCWD, "", 0, 0, &sx);
    printf("statx empty path: %ld errno=%d\n", r, errno);
    r = statx(AT_FDCWD, "/tmp", 0x6000, 0, &sx);
    printf("statx both sync flags: %ld errno=%d\n", r, errno);
    r = statx(AT_FDCWD, "/tmp", 0, 0, (void *)16);
    printf("statx bad buffer: %ld errno=%d\n", r, errno);

    /* positional I/O: the offset's high word must matter */
    r = pwrite(fd, "AB", 2, 3);
    printf("pwrite: %ld pos=%ld\n", r, (long)lseek(fd, 0, SEEK_CUR));
    memset(buf, 0, 16);
    r = pread(fd, buf, 8, 2);
    printf("pread: %ld [%s]\n", r, buf);
    r = pread(fd, buf, 8, 0x100000002LL);
    printf("pread past 4 GiB: %ld\n", r);
    r = pread(fd, buf, 8, -1);
    printf("pread negative: %ld errno=%d\n", r, errno);
    char a[3] = {0}, b[4] = {0};
    struct iovec iov[2] = { { a, 2 }, { b, 3 } };
    r = preadv(fd, iov, 2, 5);
    printf("preadv: %ld [%s][%s]\n", r, a, b);
    struct iovec wv[2] = { { "xy", 2 }, { "z", 1 } };
    r = pwritev(fd, wv, 2, 8);
    pread(fd, buf, 16, 0);
    buf[11] = 0;
    printf("pwritev: %ld [%s]\n", r, buf);
    r = ftruncate(fd, 4);
    struct stat st;
    fstat(fd, &st);
    printf("ftruncate64: %ld size=%lld\n", r, (long long)st.st_size);
    int p[2];
    pipe(p);
    r = pread(p[0], buf, 1, 0);
    printf("pread pipe: %ld errno=%d\n", r, errno);

    /* a huge count reads only what the buffer's mappings hold; a bad buffer loses no input */
    int zero = open("/dev/zero", O_RDONLY);
    char *big = malloc(1 << 20);
    r = read(zero, big, 0x7fffffff);
    printf("huge read: bounded %d", r > (1 << 20) - 1 && r < (64 << 20));
    errno = 0;
    r = read(zero, (void *)16, 10);
    printf(" bad buffer: %ld/%d", r, errno);
    write(p[1], "kept", 4);
    errno = 0;
    r = read(p[0], (void *)16, 4);
    memset(buf, 0, 8);
    printf(" pipe bad buffer: %ld/%d then %zd [%s]\n", r, errno, read(p[0], buf, 4), buf);
    close(zero);
    free(big);

    /* one blocking write() far larger than the pipe's 64 KiB: it sleeps until all went in */
    int q[2];
    pipe(q);
    pid_t wr = fork();
    if (wr == 0) {
        char *blob = calloc(1, 200000);
        close(q[0]);
        ssize_t w = write(q[1], blob, 200000);
        struct iovec two[2] = { { blob, 100000 }, { blob, 100000 } };
        ssize_t wv = writev(q[1], two, 2);
        printf("big pipe write: %zd writev: %zd\n", w, wv);
        fflush(stdout);
        _exit(0);
    }
    close(q[1]);
    long total = 0;
    while ((r = read(q[0], buf, sizeof buf)) > 0)
        total += r;
    waitpid(wr, NULL, 0);
    close(q[0]);
    printf("reader got: %ld\n", total);

    /* the ioctls every file answers: FIONBIO, FIONREAD, FIOCLEX */
    int on = 1;
    ioctl(p[0], FIONBIO, &on);
    errno = 0;
    r = read(p[0], buf, 1);
    printf("FIONBIO: read %ld errno=%d flags nonblock=%d", r, errno,
           !!(fcntl(p[0], F_GETFL) & O_NONBLOCK));
    on = 0;
    ioctl(p[0], FIONBIO, &on);
    write(p[1], "abc", 3);
    int avail = -1, favail = -1;
    ioctl(p[0], FIONREAD, &avail);
    lseek(fd, 1, SEEK_SET);
    ioctl(fd, FIONREAD, &favail);
    read(p[0], buf, 3);
    ioctl(fd, FIOCLEX);
    printf(" FIONREAD pipe=%d file=%d FIOCLEX cloexec=%d\n", avail, favail,
           fcntl(fd, F_GETFD) & FD_CLOEXEC);
    ioctl(fd, FIONCLEX);
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_APPEND | O_TRUNC);
    write(fd, "!", 1);
    fstat(fd, &st);
    printf("F_SETFL O_APPEND: appended=%d trunc ignored=%d pipe size=%d\n",
           (int)st.st_size == 5 && (fcntl(fd, F_GETFL) & O_APPEND) != 0,
           !(fcntl(fd, F_GETFL) & O_TRUNC), fcntl(p[0], F_GETPIPE_SZ));
    ftruncate(fd, 4);
    fcntl(fd, F_SETFL, fl);

    /* sendfile: file to pipe with an offset, then to stdout */
    off_t off = 1;
    r = sendfile(p[1], fd, &off, 100);
    memset(buf, 0, 16);
    read(p[0], buf, 16);
    printf("sendfile: %ld off=%ld [%s]\n", r, (long)off, buf);
    lseek(fd, 0, SEEK_SET);
    fflush(stdout);
    r = sendfile(1, fd, NULL, 3);
    printf("\nsendfile to stdout: %ld pos=%ld\n", r, (long)lseek(fd, 0, SEEK_CUR));
    r = sendfile(1, p[0], &off, 1);
    printf("sendfile pipe offset: %ld errno=%d\n", r, errno);

    /* sysinfo and the task's name */
    struct sysinfo si;
    r = sysinfo(&si);
    printf("sysinfo: %ld ram>=64MiB %d free<=total %d unit=%u procs=%d\n", r,
           (unsigned long long)si.totalram * si.mem_unit >= 64ULL << 20,
           si.freeram <= si.totalram, si.mem_unit, si.procs);
    r = prctl(PR_SET_NAME, "renamed-task-with-long-name");
    char name[32] = {0};
    prctl(PR_GET_NAME, name);
    readall("/proc/self/status", buf, sizeof buf);
    *strchr(buf, '\n') = 0;
    printf("prctl: %ld [%s] status [%s]\n", r, name, buf);
    r = prctl(12345, 0);
    printf("prctl unknown: %ld errno=%d\n", r, errno);

    /* working directory and umask */
    mkdir("/tmp/dir", 0777);
    int dfd = open("/tmp/dir", O_RDONLY | O_DIRECTORY);
    chdir("/");
    fchdir(dfd);
    getcwd(buf, sizeof buf);
    printf("fchdir: cwd=%s", buf);
    r = readlink("/proc/self/cwd", buf, sizeof buf);
    buf[r > 0 ? r : 0] = 0;
    printf(" proc cwd=%s\n", buf);
    r = fchdir(fd);
    printf("fchdir to a file: %ld errno=%d\n", r, errno);
    mode_t old = umask(077);
    close(open("rel", O_CREAT | O_WRONLY, 0666));
    stat("/tmp/dir/rel", &st);
    printf("umask: old=%03o file mode=%03o\n", old, st.st_mode & 0777);
    umask(old);

    /* statfs64 of /proc and /tmp */
    struct statfs sf;
    statfs("/proc", &sf);
    printf("statfs /proc: type=%#lx", (unsigned long)sf.f_type);
    statfs("/tmp", &sf);
    printf(" /tmp: type=%#lx bsize=%ld blocks>0 %d\n", (unsigned long)sf.f_type,
           (long)sf.f_bsize, sf.f_blocks > 0);

    /* /proc/self magic links */
    r = readlink("/proc/self/exe", buf, sizeof buf);
    buf[r > 0 ? r : 0] = 0;
    printf("exe link: %s\n", buf);
    int ex = open("/proc/self/exe", O_RDONLY);
    memset(buf, 0, 8);
    read(ex, buf, 4);
    printf("exe open: ELF=%d\n", memcmp(buf, "\177ELF", 4) == 0);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
    r = readlink(path, buf, sizeof buf);
    buf[r > 0 ? r : 0] = 0;
    printf("fd link pipe: %.6s\n", buf);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    r = readlink(path, buf, sizeof buf);
    buf[r > 0 ? r : 0] = 0;
    int again = open(path, O_RDONLY);
    char c4[5] = {0};
    read(again, c4, 4);
    struct stat lst;
    lstat(path, &lst);
    int rw_mode = lst.st_mode & 0777;
    snprintf(path, sizeof path, "/proc/self/fd/%d", p[1]);
    lstat(path, &lst);
    printf("fd link file: %s reopened [%s] modes %o %o\n", buf, c4, rw_mode, lst.st_mode & 0777);
    write(p[1], "via proc", 8);
    snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
    int pr = open(path, O_RDONLY);
    memset(buf, 0, 16);
    read(pr, buf, 8);
    printf("pipe reopened: [%s]\n", buf);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "again", "child", (char *)NULL);
        _exit(99);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child exit: %d\n", WEXITSTATUS(status));

    /* rename, chmod, utimensat */
    close(open("/tmp/r1", O_CREAT | O_WRONLY, 0644));
    mkdir("/tmp/rd", 0755);
    mkdir("/tmp/rd2", 0755);
    close(open("/tmp/rd2/x", O_CREAT | O_WRONLY, 0644));
    r = rename("/tmp/r1", "/tmp/rd/r2");
    printf("rename: %ld moved=%d", r, access("/tmp/rd/r2", F_OK) == 0 && access("/tmp/r1", F_OK) != 0);
    errno = 0;
    printf(" onto non-empty dir: %d/%d", rename("/tmp/rd", "/tmp/rd2"), errno);
    errno = 0;
    printf(" file over dir: %d/%d", rename("/tmp/rd/r2", "/tmp/rd2"), errno);
    errno = 0;
    printf(" dir below itself: %d/%d", rename("/tmp/rd", "/tmp/rd/sub"), errno);
    errno = 0;
    printf(" across mounts: %d/%d", rename("/proc/version", "/tmp/v"), errno);
    errno = 0;
    printf(" noreplace: %ld/%d\n",
           syscall(SYS_renameat2, AT_FDCWD, "/tmp/rd/r2", AT_FDCWD, "/tmp/rd2/x", 1), errno);
    r = chmod("/tmp/rd/r2", 0640);
    stat("/tmp/rd/r2", &st);
    printf("chmod: %ld mode=%o", r, st.st_mode & 07777);
    r = fchmod(fd, 0604);
    fstat(fd, &st);
    printf(" fchmod: %ld mode=%o", r, st.st_mode & 07777);
    errno = 0;
    r = utimensat(AT_FDCWD, "/tmp/none", NULL, 0);
    printf(" utimensat missing: %ld/%d existing: %d\n", r, errno,
           utimensat(AT_FDCWD, "/tmp/rd/r2", NULL, 0));

    /* the 32-bit-time clock_nanosleep sleeps on virtual time */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct { long sec, nsec; } d32 = { 0, 25000000 };
    r = syscall(SYS_clock_nanosleep_time32, CLOCK_MONOTONIC, 0, &d32, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("clock_nanosleep: %ld slept>=25ms %d\n", r,
           (t1.tv_sec - t0.tv_sec) * 1000000000LL + t1.tv_nsec - t0.tv_nsec >= 25000000);
    readall("/proc/mounts", buf, sizeof buf);
    printf("mounts: %s", strstr(buf, "proc /proc proc ") ? "proc listed\n" : buf);

    /* sysfs */
    readall("/sys/devices/system/cpu/online", buf, sizeof buf);
    printf("cpu online: %s", buf);
    r = open("/sys/devices/system/cpu/online", O_WRONLY);
    printf("sysfs write-open read-only: %ld errno=%d\n", r, errno);
    return 0;
}
