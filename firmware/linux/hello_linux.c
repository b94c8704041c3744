/*
 * hello_linux.c - a static Linux program (musl): console output, argv/envp,
 * malloc/free (brk and mmap), an exit status. Run with `soclab run` (no
 * --bare-metal): the kernel model execs it as pid 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv, char **envp)
{
    printf("hello from pid %d\n", (int)getpid());
    for (int i = 0; i < argc; i++)
        printf("argv[%d] = %s\n", i, argv[i]);
    printf("HOME=%s\n", getenv("HOME") ? getenv("HOME") : "(unset)");
    char *small = malloc(100);
    char *big = malloc(1 << 20);           /* musl: mmap */
    if (!small || !big)
        return 1;
    memset(big, 0x5a, 1 << 20);
    unsigned sum = 0;
    for (int i = 0; i < (1 << 20); i += 4096)
        sum += (unsigned char)big[i];
    printf("malloc ok, sum %u\n", sum);
    free(big);
    free(small);
    (void)envp;
    return 42;
}
