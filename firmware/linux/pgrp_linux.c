/*
 * pgrp_linux.c - process groups and sessions as a shell uses them: getpgrp/getpgid/getsid,
 * setpgid (own group, back into the parent's, errors ESRCH/EPERM/EACCES), setsid, pgid and
 * sid inherited over fork, /proc/<pid>/stat's ppid/pgrp/session fields, and the console's
 * job-control ioctls (TIOCGPGRP, TIOCSPGRP, TIOCGSID, TIOCSCTTY).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void r_line(const char *what, int r)
{
    printf("%s = %d", what, r);
    if (r < 0)
        printf(" errno %d", errno);
    printf("\n");
    errno = 0;
}

static void stat_fields(pid_t pid, int me)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY);
    int n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    int ppid, pgrp, sid;
    sscanf(strrchr(buf, ')') + 2, "%*c %d %d %d", &ppid, &pgrp, &sid);
    printf("/proc/%s/stat: ppid %d, pgrp %s, session %d\n", me ? "self" : "child", ppid,
           pgrp == pid ? "own" : pgrp == 1 ? "1" : "?", sid);
}

static int tty_pgrp(void)
{
    pid_t pg;
    int r = ioctl(0, TIOCGPGRP, &pg);
    return r < 0 ? -errno : pg;
}

int main(int argc, char **argv)
{
    if (argc > 1) { /* the exec'd child: wait to be killed */
        pause();
        return 0;
    }
    printf("pid %d: pgrp %d, pgid %d, sid %d\n", getpid(), getpgrp(), getpgid(0), getsid(0));
    stat_fields(getpid(), 1);
    r_line("setsid (a group leader)", setsid());
    r_line("setpgid (a session leader)", setpgid(0, 0));
    pid_t sid;
    ioctl(0, TIOCGSID, &sid);
    printf("tty: foreground %d, session %d\n", tty_pgrp(), sid);

    pid_t a = fork();
    if (a == 0) {
        printf("child: pgrp %d, sid %d, ppid %d\n", getpgrp(), getsid(0), getppid());
        r_line("child: setpgid(0, 0)", setpgid(0, 0));
        printf("child: own group %d\n", getpgrp() == getpid());
        pause();
        _exit(0);
    }
    sched_yield();
    printf("getpgid(child) is the child %d\n", getpgid(a) == a);
    stat_fields(a, 0);
    r_line("setpgid(child, 1)", setpgid(a, 1));
    printf("getpgid(child) = %d\n", getpgid(a));
    r_line("setpgid(child, child)", setpgid(a, a));
    r_line("setpgid(child, 4242)", setpgid(a, 4242));
    r_line("setpgid(9999, 0)", setpgid(9999, 0));
    r_line("getpgid(9999)", getpgid(9999));
    r_line("getsid(9999)", getsid(9999));
    r_line("setpgid(0, -1)", setpgid(0, -1));
    pid_t pg = a;
    r_line("TIOCSPGRP(child)", ioctl(0, TIOCSPGRP, &pg));
    printf("tty: foreground is the child %d\n", tty_pgrp() == a);
    pg = 4242;
    r_line("TIOCSPGRP(4242)", ioctl(0, TIOCSPGRP, &pg));
    pg = 1;
    r_line("TIOCSPGRP(1)", ioctl(0, TIOCSPGRP, &pg));

    int p[2];
    pipe(p);
    pid_t b = fork();
    if (b == 0) {
        pid_t s = setsid();
        printf("child 2: setsid is its pid %d, sid %d, pgrp %d\n", s == getpid(),
               getsid(0) == s, getpgrp() == s);
        printf("child 2: TIOCGPGRP %d\n", tty_pgrp());
        r_line("child 2: TIOCSCTTY", ioctl(0, TIOCSCTTY, 0));
        write(p[1], "x", 1);
        pause();
        _exit(0);
    }
    char ch;
    read(p[0], &ch, 1);
    r_line("setpgid(child in another session)", setpgid(b, b));
    printf("getsid(child 2) is the child %d\n", getsid(b) == b);
    kill(b, SIGKILL);
    int st;
    waitpid(b, &st, 0);

    pid_t c = fork();
    if (c == 0) {
        execl(argv[0], argv[0], "wait", (char *)0);
        _exit(127);
    }
    sched_yield();
    r_line("setpgid(child after exec)", setpgid(c, c));
    kill(c, SIGKILL);
    waitpid(c, &st, 0);

    kill(-a, SIGTERM);
    waitpid(a, &st, 0);
    printf("kill(-group): child killed by %d\n", WTERMSIG(st));

    pid_t d = fork();
    if (d == 0) {
        setsid();
        r_line("child 3: TIOCSCTTY steal", ioctl(0, TIOCSCTTY, 1));
        printf("child 3: foreground is its group %d\n", tty_pgrp() == getpid());
        _exit(0);
    }
    waitpid(d, &st, 0);
    printf("tty after the steal: %d\n", tty_pgrp());
    return 0;
}
