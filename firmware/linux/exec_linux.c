/*
 * exec_linux.c - fork, then execve itself in the child with an argument: the
 * new image prints its argv and exits with a status the parent reports.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "again") == 0) {
        printf("exec'd: argv[1]=%s pid %d\n", argv[1], (int)getpid());
        return 7;
    }
    pid_t pid = fork();
    if (pid == 0) {
        char *args[] = { argv[0], "again", NULL };
        char *env[] = { "X=1", NULL };
        execve(argv[0], args, env);
        printf("execve failed\n");
        _exit(99);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child %d: exit %d\n", (int)pid, WEXITSTATUS(status));
    char *bad[] = { "/nonexistent", NULL };
    printf("execve missing: %d\n", execve("/nonexistent", bad, bad));
    return 0;
}
