/* bench_getpid_linux.c - N getpid() system calls (N = argv[1], default 10000). */
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000, sum = 0;
    for (long i = 0; i < n; i++)
        sum += syscall(SYS_getpid);
    return sum == n ? 0 : 1;
}
