/* segv_linux.c - writes through a wild pointer: the kernel kills it with SIGSEGV. */
#include <stdio.h>

int main(void)
{
    printf("about to fault\n");
    fflush(stdout);
    *(volatile int *)0x00000010 = 1;
    printf("survived?\n");
    return 0;
}
