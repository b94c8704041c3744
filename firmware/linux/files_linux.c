/*
 * files_linux.c - the file layer from user space: /proc/meminfo, /dev nodes,
 * a directory listing, a file written and read back in /tmp, stat, isatty,
 * and readlink("/proc/self/exe").
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    char buf[256];
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f || !fgets(buf, sizeof buf, f))
        return 1;
    fclose(f);
    printf("meminfo: %.9s\n", buf);

    int z = open("/dev/zero", O_RDONLY);
    memset(buf, 0xff, 16);
    printf("zero: %zd %d\n", read(z, buf, 16), buf[15]);
    close(z);
    int n = open("/dev/null", O_WRONLY);
    printf("null: %zd\n", write(n, "gone", 4));
    close(n);

    DIR *d = opendir("/dev");
    int entries = 0, has_null = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        entries++;
        has_null |= strcmp(e->d_name, "null") == 0;
    }
    if (d)
        closedir(d);
    printf("dev: null listed %d, >4 entries %d\n", has_null, entries > 4);

    int t = open("/tmp/note", O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(t, "persisted\n", 10);
    lseek(t, 0, SEEK_SET);
    memset(buf, 0, sizeof buf);
    read(t, buf, sizeof buf - 1);
    close(t);
    printf("tmp: %s", buf);

    struct stat st;
    printf("stat /tmp/note: %d size %lld\n", stat("/tmp/note", &st), (long long)st.st_size);
    printf("isatty(1): %d\n", isatty(1));
    ssize_t len = readlink("/proc/self/exe", buf, sizeof buf - 1);
    buf[len > 0 ? len : 0] = 0;
    printf("exe: %s\n", buf);
    printf("open missing: %d\n", open("/nonexistent", O_RDONLY));
    (void)argc;
    (void)argv;
    return 0;
}
