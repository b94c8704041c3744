/* hello.c - the smallest runtime program: one line on uart0, exit status 0. */
#include "runtime.h"

int main(void)
{
    printf("Hello from soclab!\n");
    return 0;
}
