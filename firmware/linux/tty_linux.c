/*
 * tty_linux.c - the console as a canonical-mode tty: reads return a line at
 * a time, O_NONBLOCK gives EAGAIN, a blocking read or poll sleeps until input
 * arrives, ^D ends a line (alone: a 0-byte read), ICANON cleared by TCSETS
 * gives raw reads, ICRNL maps CR to NL, end of input reads 0. The test feeds
 * stdin in scripted pieces with "nothing yet" gaps in between.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void show(const char *what, ssize_t n, const char *buf)
{
    char out[128] = "";
    for (ssize_t i = 0; i < n && i < 60; i++)
        sprintf(out + strlen(out), buf[i] == '\n' ? "\\n" : buf[i] == '\r' ? "\\r" : "%c",
                buf[i]);
    printf("%s: %zd [%s]\n", what, n, out);
}

int main(void)
{
    char buf[128];
    struct termios t;
    struct winsize ws;
    printf("isatty: %d icanon: %d\n", isatty(0), tcgetattr(0, &t) == 0 && (t.c_lflag & ICANON));
    printf("winsize: %d %d\n", ioctl(0, TIOCGWINSZ, &ws), ws.ws_row * 1000 + ws.ws_col);

    show("line", read(0, buf, sizeof buf), buf);
    show("part", read(0, buf, 4), buf);
    show("rest", read(0, buf, sizeof buf), buf);

    fcntl(0, F_SETFL, O_NONBLOCK);
    ssize_t n = read(0, buf, sizeof buf);
    printf("nonblocking: %zd errno=%d\n", n, errno);
    fcntl(0, F_SETFL, 0);
    struct pollfd p = { .fd = 0, .events = POLLIN };
    printf("poll now: %d\n", poll(&p, 1, 0));

    long long t0 = now_us();
    n = read(0, buf, sizeof buf);
    show("blocked read", n, buf);
    printf("slept: %d\n", now_us() - t0 >= 1000);

    t0 = now_us();
    printf("poll wait: %d revents=%#x slept: %d\n", poll(&p, 1, -1), p.revents,
           now_us() - t0 >= 1000);
    show("eof char ends line", read(0, buf, sizeof buf), buf);
    show("eof char alone", read(0, buf, sizeof buf), buf);
    show("after", read(0, buf, sizeof buf), buf);

    struct termios raw = t;
    raw.c_lflag &= ~ICANON;
    tcsetattr(0, TCSANOW, &raw);
    struct termios check;
    tcgetattr(0, &check);
    printf("raw set: %d\n", !(check.c_lflag & ICANON));
    show("raw", read(0, buf, sizeof buf), buf);
    tcsetattr(0, TCSANOW, &t);
    show("icrnl", read(0, buf, sizeof buf), buf);
    show("end of input", read(0, buf, sizeof buf), buf);
    show("still", read(0, buf, sizeof buf), buf);
    printf("poll at end: %d revents=%#x\n", poll(&p, 1, -1), p.revents);
    return 0;
}
