/*
 * pipe_linux.c - a pipeline: the child writes more than a pipe buffer holds,
 * the parent reads it all and counts, so both ends must block and wake.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    int fd[2];
    if (pipe(fd) != 0)
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        char block[4096];
        memset(block, 'x', sizeof block);
        for (int i = 0; i < 40; i++)          /* 160 KiB: more than the 64 KiB buffer */
            write(fd[1], block, sizeof block);
        close(fd[1]);
        _exit(0);
    }
    close(fd[1]);
    char buf[1000];
    long total = 0;
    ssize_t n;
    while ((n = read(fd[0], buf, sizeof buf)) > 0)
        total += n;
    int status;
    waitpid(pid, &status, 0);
    printf("read %ld bytes through the pipe, child exit %d\n", total, WEXITSTATUS(status));
    return 0;
}
