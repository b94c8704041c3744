/* sleep_linux.c - nanosleep and clock_gettime on virtual time. */
#include <stdio.h>
#include <time.h>

int main(void)
{
    struct timespec a, b, d = { 0, 250000000 };
    clock_gettime(CLOCK_MONOTONIC, &a);
    nanosleep(&d, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long long ms = (b.tv_sec - a.tv_sec) * 1000LL + (b.tv_nsec - a.tv_nsec) / 1000000;
    printf("slept %lld ms of virtual time\n", ms);
    return 0;
}
