/*
 * wild_linux.c - a deliberately wild program. In forked children it jumps to garbage,
 * to a non-executable page, to NULL and into the kernel, reads and writes kernel
 * addresses, executes an undefined and a privileged instruction, divides by zero and
 * overflows its stack; the parent reports each child's fate (WTERMSIG, or its exit status).
 * Handlers check si_code/si_addr for SIGILL and SIGSEGV. Then it passes bad pointers (NULL,
 * a kernel address, an unmapped address, read-only text) to system calls and reports each
 * errno. Every line is what Linux gives; the emulator must survive all of it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define KERNEL_ADDR ((void *)0xc0000000)

static char *unmapped;   /* a page that was mapped and then unmapped */
static char *garbage_rx; /* an executable page full of 0xff */
static char *garbage_rw; /* a readable, writable, non-executable page */
extern char wild_undef[], wild_privileged[];

__asm__(".text\n.globl wild_undef\n.globl wild_privileged\n"
#if defined(__arm__)
        ".arm\n.type wild_undef, %function\nwild_undef: .word 0xe7f000f0\n bx lr\n"
        ".type wild_privileged, %function\nwild_privileged: mcr p15, 0, r0, c1, c0, 0\n bx lr\n"
#else
        "wild_undef: ud2\n ret\n"
        "wild_privileged: hlt\n ret\n"
#endif
);

static void jump_garbage(void) { ((void (*)(void))garbage_rx)(); }
static void jump_noexec(void) { ((void (*)(void))garbage_rw)(); }
static void (*volatile target)(void); /* volatile: the compiler cannot assume it away */
static void jump_null(void)
{
    target = 0;
    target();
}
static void jump_kernel(void)
{
    target = (void (*)(void))KERNEL_ADDR;
    target();
}
static void write_kernel(void) { *(volatile int *)KERNEL_ADDR = 1; }
static void read_kernel(void) { (void)*(volatile int *)KERNEL_ADDR; }
static void write_unmapped(void) { *(volatile char *)unmapped = 1; }
static void undefined_insn(void) { ((void (*)(void))wild_undef)(); }
static void privileged_insn(void) { ((void (*)(void))wild_privileged)(); }

static volatile int zero;
static void divide_by_zero(void)
{
    volatile int r = 100 / zero;
    printf("  100 / 0 = %d\n", r);
}

static int recurse(int n)
{
    volatile char buf[4096];
    buf[0] = (char)n;
    return recurse(n + 1) + buf[0];
}
static void on_segv_no_room(int sig) { (void)sig; }
static void stack_overflow(void)
{
    signal(SIGSEGV, on_segv_no_room); /* no room on the stack for its frame: killed */
    recurse(0);
}

static void report_and_exit(int sig, siginfo_t *info, void *uc)
{
    (void)uc;
    void *expect = sig == SIGILL ? (void *)wild_undef : sig == SIGSEGV ? KERNEL_ADDR : 0;
    printf("  handler: signal %d, si_code %d, si_addr %s\n", sig, info->si_code,
           info->si_addr == expect ? "ok" : "wrong");
    fflush(stdout);
    _exit(0);
}
static void handled_undefined(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = report_and_exit;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGILL, &sa, NULL);
    undefined_insn();
}
static void handled_kernel_write(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = report_and_exit;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    write_kernel();
}
static void blocked_fault(void)
{
    sigset_t set; /* a blocked fault signal cannot be held off: it kills */
    sigemptyset(&set);
    sigaddset(&set, SIGSEGV);
    sigprocmask(SIG_BLOCK, &set, NULL);
    write_kernel();
}

static const struct {
    const char *name;
    void (*fn)(void);
} cases[] = {
    {"jump to garbage", jump_garbage},
    {"jump to a non-executable page", jump_noexec},
    {"jump to NULL", jump_null},
    {"jump into the kernel", jump_kernel},
    {"write to the kernel", write_kernel},
    {"read from the kernel", read_kernel},
    {"write to an unmapped page", write_unmapped},
    {"undefined instruction", undefined_insn},
    {"privileged instruction", privileged_insn},
    {"divide by zero", divide_by_zero},
    {"stack overflow", stack_overflow},
    {"SIGILL handler", handled_undefined},
    {"SIGSEGV handler", handled_kernel_write},
    {"SIGSEGV blocked", blocked_fault},
};

static void errno_line(const char *what, long r)
{
    printf("%s = %ld errno %d\n", what, r, r < 0 ? errno : 0);
    errno = 0;
}

int main(void)
{
    garbage_rx = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    memset(garbage_rx, 0xff, 4096);
    garbage_rw = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(garbage_rw, 0xff, 4096);
    unmapped = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(unmapped, 4096);

    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        printf("%s:\n", cases[i].name);
        fflush(stdout);
        pid_t c = fork();
        if (c == 0) {
            cases[i].fn();
            printf("  survived\n");
            fflush(stdout);
            _exit(0);
        }
        int st;
        waitpid(c, &st, 0);
        if (WIFSIGNALED(st))
            printf("  killed by signal %d (%s)\n", WTERMSIG(st), strsignal(WTERMSIG(st)));
        else
            printf("  exited %d\n", WEXITSTATUS(st));
    }

    int p[2];
    pipe(p);
    write(p[1], "0123456789abcdef", 16);
    struct stat st;
    errno = 0;
    errno_line("read(NULL)", read(p[0], NULL, 4));
    errno_line("read(kernel)", read(p[0], KERNEL_ADDR, 4));
    errno_line("read(unmapped)", read(p[0], unmapped, 4));
    errno_line("read(read-only text)", read(p[0], (void *)main, 4));
    errno_line("write(NULL)", write(1, NULL, 4));
    errno_line("write(kernel)", write(1, KERNEL_ADDR, 4));
    errno_line("write(unmapped)", write(1, unmapped, 4));
    errno_line("stat(NULL)", stat(NULL, &st));
    errno_line("stat(kernel)", stat(KERNEL_ADDR, &st));
    errno_line("stat(unmapped)", stat(unmapped, &st));
    errno_line("open(NULL)", open(NULL, O_RDONLY));
    errno_line("open(kernel)", open(KERNEL_ADDR, O_RDONLY));
    errno_line("open(unmapped)", open(unmapped, O_RDONLY));
    errno_line("uname(kernel)", uname(KERNEL_ADDR));
    errno_line("pipe(NULL)", syscall(SYS_pipe, NULL));
    errno_line("nanosleep(NULL)", syscall(SYS_nanosleep, NULL, NULL));
    errno_line("sigaction(kernel)", syscall(SYS_rt_sigaction, SIGUSR1, KERNEL_ADDR, NULL, 8));
    errno_line("getcwd(kernel)", syscall(SYS_getcwd, KERNEL_ADDR, 64));
    errno_line("readlink(kernel)", readlink("/proc/self/exe", KERNEL_ADDR, 64));
    errno_line("execve(NULL)", execve(NULL, NULL, NULL));
    errno_line("sigaltstack(kernel)", syscall(SYS_sigaltstack, KERNEL_ADDR, NULL));
    errno_line("rt_sigsuspend(kernel)", syscall(SYS_rt_sigsuspend, KERNEL_ADDR, 8));
    errno_line("rt_sigpending(kernel)", syscall(SYS_rt_sigpending, KERNEL_ADDR, 8));
    errno_line("rt_sigprocmask(kernel)", syscall(SYS_rt_sigprocmask, 0, KERNEL_ADDR, NULL, 8));
    sigset_t none;
    sigemptyset(&none);
    errno_line("rt_sigprocmask(how 99)", syscall(SYS_rt_sigprocmask, 99, &none, NULL, 8));
    errno_line("rt_sigprocmask(size 4)", syscall(SYS_rt_sigprocmask, 0, &none, NULL, 4));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    errno_line("sigaction(SIGKILL)", sigaction(SIGKILL, &sa, NULL));
    errno_line("sigaction(65)", syscall(SYS_rt_sigaction, 65, NULL, NULL, 8));
    errno_line("kill(INT_MIN, 0)", kill(-2147483647 - 1, 0));
    errno_line("tgkill(-1, 1, 0)", syscall(SYS_tgkill, -1, 1, 0));
    errno_line("kill(self, 0)", kill(getpid(), 0));
    printf("still standing\n");
    return 0;
}
