/* bench_devnull_linux.c - N one-byte writes to /dev/null. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    int fd = open("/dev/null", O_WRONLY);
    for (long i = 0; i < n; i++)
        if (write(fd, "x", 1) != 1)
            return 1;
    return 0;
}
