/*
 * dirs_linux.c - changing the directory tree from user space: mkdir/mkdirat,
 * link and its count, rename with RENAME_NOREPLACE and RENAME_EXCHANGE,
 * symlink/readlink, unlink/rmdir with their errors, utimensat; and the small
 * calls glibc and busybox make at start-up (getgroups, sched_getaffinity,
 * clock_nanosleep).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/resource.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CHECK(expr) printf("%s = %d errno=%d\n", #expr, (int)(expr), errno), errno = 0

static int put(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    write(fd, text, strlen(text));
    return close(fd);
}

static void show(const char *path)
{
    char buf[32] = {0};
    int fd = open(path, O_RDONLY);
    read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("%s: %s\n", path, buf);
}

int main(void)
{
    struct stat st;
    char buf[64];

    CHECK(mkdir("/tmp/d", 0755));
    CHECK(mkdir("/tmp/d", 0755));
    int dfd = open("/tmp/d", O_RDONLY | O_DIRECTORY);
    CHECK(mkdirat(dfd, "sub", 0755));
    CHECK(put("/tmp/d/a", "alpha"));
    CHECK(put("/tmp/d/b", "beta"));

    CHECK(link("/tmp/d/a", "/tmp/d/a2"));
    stat("/tmp/d/a", &st);
    printf("nlink after link: %d\n", (int)st.st_nlink);
    CHECK(link("/tmp/d/sub", "/tmp/d/sub2"));

    CHECK(syscall(SYS_renameat2, AT_FDCWD, "/tmp/d/a", AT_FDCWD, "/tmp/d/b", 1));
    CHECK(syscall(SYS_renameat2, AT_FDCWD, "/tmp/d/a", AT_FDCWD, "/tmp/d/b", 2));
    show("/tmp/d/a");
    show("/tmp/d/b");
    CHECK(rename("/tmp/d/b", "/tmp/d/c"));
    CHECK(rename("/tmp/d/c", "/tmp/d/sub"));
    CHECK(rename("/tmp/d", "/tmp/d/sub/inside"));
    CHECK(rename("/tmp/d/missing", "/tmp/d/x"));
    stat("/tmp/d/a2", &st);
    printf("nlink of a2 after rename over a: %d\n", (int)st.st_nlink);

    CHECK(symlink("c", "/tmp/d/l"));
    ssize_t n = readlink("/tmp/d/l", buf, sizeof buf);
    printf("readlink: %.*s\n", (int)n, buf);
    show("/tmp/d/l");

    struct timespec times[2] = {{1000, 5}, {2000, 7}};
    CHECK(utimensat(AT_FDCWD, "/tmp/d/c", times, 0));
    stat("/tmp/d/c", &st);
    printf("mtime %ld.%ld atime %ld\n", (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
           (long)st.st_atim.tv_sec);
    times[0].tv_nsec = 1000000000;
    CHECK(utimensat(AT_FDCWD, "/tmp/d/c", times, 0));

    CHECK(rmdir("/tmp/d"));
    CHECK(rmdir("/tmp/d/c"));
    CHECK(unlink("/tmp/d/sub"));
    CHECK(unlinkat(dfd, "sub", AT_REMOVEDIR));
    CHECK(unlink("/tmp/d/nothing"));
    CHECK(mkdir("/nonexistent/x", 0755));

    gid_t groups[4];
    CHECK(getgroups(4, groups));
    cpu_set_t set;
    CPU_ZERO(&set);
    CHECK(sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) == 1);
    CHECK(setpriority(PRIO_PROCESS, 0, 5));
    CHECK(getpriority(PRIO_PROCESS, 0));
    CHECK(getpriority(PRIO_PROCESS, 999));
    CHECK(setpriority(PRIO_PROCESS, 0, -40) == 0 && getpriority(PRIO_PROCESS, 0) == -20);
    struct timespec t0, t1, d = {0, 2000000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &d, NULL));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long slept = (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec);
    printf("slept >= 2ms: %d\n", slept >= 2000000);
    return 0;
}
