/* trapafter_linux.c - a CPU exception right after system calls (argv[1]: ud, int3, div, gp). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    volatile int zero = 0;
    getpid();
    getppid();
    if (argc < 2)
        return 1;
    if (!strcmp(argv[1], "div"))
        return 10 / zero;
#if defined(__i386__)
    if (!strcmp(argv[1], "int3"))
        __asm__ volatile("int3");
    if (!strcmp(argv[1], "gp"))
        __asm__ volatile("cli");
#else
    if (!strcmp(argv[1], "int3"))
        __asm__ volatile("bkpt #0");
#endif
    __builtin_trap();
    return 0;
}
