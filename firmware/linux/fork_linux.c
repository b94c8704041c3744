/* fork_linux.c - fork, wait for the children, report their exit statuses. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    int shared = 10;
    for (int i = 1; i <= 3; i++) {
        pid_t pid = fork();
        if (pid < 0)
            return 1;
        if (pid == 0) {
            shared += i;                     /* the child's copy only */
            printf("child %d: pid %d, ppid %d, shared %d\n", i, (int)getpid(),
                   (int)getppid(), shared);
            fflush(stdout);
            _exit(10 + i);
        }
        int status = 0;
        pid_t got = waitpid(pid, &status, 0);
        printf("parent: child %d exited %d (reaped %d), shared still %d\n", (int)pid,
               WIFEXITED(status) ? WEXITSTATUS(status) : -1, got == pid, shared);
    }
    return 0;
}
