"""Signals between and within processes on both boards (kernel/signal.c): kill/tkill/tgkill,
pending and blocked signals, handlers and their flags, interrupted and restarted system
calls, SIGCHLD, SIGPIPE, default actions and wait statuses, sigaltstack; and the wild
program: faults, undefined and privileged instructions and bad pointers get Linux's
signals and errnos, and soclab survives them all."""

from __future__ import annotations

import pytest

from emulator.cli import main
from firmware.build import build, build_linux

ARCHES = ("armv7", "x86")


def run(capsys, name: str, *args: str, arch: str) -> tuple[int, str, str]:
    status = main(["run", "--board", arch, str(build_linux(name, arch)), *args])
    out, err = capsys.readouterr()
    return status, out, err


SIGNALS_OUTPUT = """\
kill self: 0, hits 1, si_code 0, si_pid 1
tgkill self: 0, hits 2, si_code -6
tkill self: 0, hits 3
tgkill wrong tgid: -1 errno 3
kill missing pid: -1 errno 3; kill(self, 0) = 0
kill bad signal: -1 errno 22
blocked: hits 0, pending 1
  SigPnd:\t0000000000000000
  ShdPnd:\t0000000000000200
  SigBlk:\t0000000000000200
  SigIgn:\t0000000000000000
  SigCgt:\t0000000000000200
unblocked: hits 1, pending 0
SA_NODEFER: max depth 2, runs 2
deferred: max depth 1, runs 2
SA_RESETHAND: handler now default 1
plain handler: 24, blocked inside 1, mask kept 1
ignored: alive, hits 0
child SIGTERM: killed by signal 15
child SIGKILL: killed by signal 9
SIGCHLD: from child 1, status 7, code 1
read interrupted: -1 errno 4
read restarted: 1 'R', handler ran 1
wait4 interrupted: -1 errno 4
pause: -1 errno 4, hits 1
nanosleep interrupted: -1 errno 4, hits 1, time left 4.9-5 s 1
nanosleep beside a sleeping child: 0, slept 20-21 ms 1
sigsuspend: -1 errno 4, hits 1, mask restored 1
child abort(): killed by signal 6
core dumped 0, RLIMIT_CORE 0
sigtimedwait: 10, si_pid is me 1, hits 0
sigtimedwait empty: -1 errno 11
child writing to a closed pipe: killed by signal 13
write with SIGPIPE ignored: -1 errno 32
kill(0): group member: killed by signal 12
kill(0): other group untouched 1
kill(-pgrp): killed by signal 12
parent of an orphan: exited 4
orphan reaped by pid 1: 1, orphan: exited 5
wait for my group: -1 errno 10
wait for the child's group: 1, child: exited 6
kill(-1): 0, child: killed by signal 1
kill(-1) with no one else: -1 errno 3
"""


@pytest.mark.parametrize("arch", ARCHES)
def test_signals_are_sent_blocked_delivered_and_interrupt_sleeping_calls_as_on_linux(capsys, arch):
    status, out, err = run(capsys, "signals_linux", arch=arch)
    assert (status, err) == (0, "")
    assert out == SIGNALS_OUTPUT


@pytest.mark.parametrize("arch", ARCHES)
def test_a_program_killed_by_a_signal_exits_with_128_plus_the_signal_and_no_kernel_line(
    capsys, arch
):
    status, out, err = run(capsys, "signals_linux", "die", arch=arch)
    assert status == 128 + 15
    assert out == "pid 1 kills itself\n"
    assert err == ""


SIGALTSTACK_OUTPUT = """\
initially: ss_flags 2, ss_size 0
too small: -1 errno 12
bad flags: -1 errno 22
set: 0, ss_sp ok 1, ss_flags 0, ss_size 65536
signal 10: on the alternate stack 1, ss_flags 1, change: -1 errno 1, uc_stack 1/65536
signal 12: on the alternate stack 0, ss_flags 0, change: 0 errno 0, uc_stack 1/65536
after the handlers: ss_size 65536
child: inherited ss_size 65536
child: signal 11, si_code 1, handler on the alternate stack 1
child exited 3
disabled: 0, ss_flags 2, ss_size 0
signal 10: on the alternate stack 0, ss_flags 2, change: 0 errno 0, uc_stack 0/0
after the handler: ss_flags 2, ss_size 0
"""


@pytest.mark.parametrize("arch", ARCHES)
def test_sigaltstack_checks_and_sa_onstack_handlers_run_on_the_alternate_stack(capsys, arch):
    status, out, err = run(capsys, "sigaltstack_linux", arch=arch)
    assert (status, err) == (0, "")
    assert out == SIGALTSTACK_OUTPUT


PGRP_OUTPUT = """\
pid 1: pgrp 1, pgid 1, sid 1
/proc/self/stat: ppid 0, pgrp own, session 1
setsid (a group leader) = -1 errno 1
setpgid (a session leader) = -1 errno 1
tty: foreground 1, session 1
child: pgrp 1, sid 1, ppid 1
child: setpgid(0, 0) = 0
child: own group 1
getpgid(child) is the child 1
/proc/child/stat: ppid 1, pgrp own, session 1
setpgid(child, 1) = 0
getpgid(child) = 1
setpgid(child, child) = 0
setpgid(child, 4242) = -1 errno 1
setpgid(9999, 0) = -1 errno 3
getpgid(9999) = -1 errno 3
getsid(9999) = -1 errno 3
setpgid(0, -1) = -1 errno 22
TIOCSPGRP(child) = 0
tty: foreground is the child 1
TIOCSPGRP(4242) = -1 errno 1
TIOCSPGRP(1) = 0
child 2: setsid is its pid 1, sid 1, pgrp 1
child 2: TIOCGPGRP -25
child 2: TIOCSCTTY = -1 errno 1
setpgid(child in another session) = -1 errno 1
getsid(child 2) is the child 1
setpgid(child after exec) = -1 errno 13
kill(-group): child killed by 15
child 3: TIOCSCTTY steal = 0
child 3: foreground is its group 1
tty after the steal: -25
"""


@pytest.mark.parametrize("arch", ARCHES)
def test_process_groups_sessions_and_the_consoles_foreground_group_work_as_for_a_shell(
    capsys, arch
):
    status, out, err = run(capsys, "pgrp_linux", arch=arch)
    assert (status, err) == (0, "")
    assert out == PGRP_OUTPUT


def _wild_output(arch: str) -> str:
    x86 = arch == "x86"
    segv, ill = (
        "killed by signal 11 (Segmentation fault)",
        "killed by signal 4 (Illegal instruction)",
    )
    cases = [
        ("jump to garbage", ill),
        # i386 without PAE has no NX bit: the garbage runs (READ_IMPLIES_EXEC)
        ("jump to a non-executable page", ill if x86 else segv),
        ("jump to NULL", segv),
        ("jump into the kernel", segv),
        ("write to the kernel", segv),
        ("read from the kernel", segv),
        ("write to an unmapped page", segv),
        ("undefined instruction", ill),
        # ARM: an mcr from user mode is undefined (SIGILL); x86: hlt at CPL 3 is #GP
        ("privileged instruction", segv if x86 else ill),
        # x86 #DE is SIGFPE; ARMv7-A without a divider: the runtime's division returns 0
        (
            "divide by zero",
            "killed by signal 8 (Arithmetic exception)"
            if x86
            else "  100 / 0 = 0\n  survived\n  exited 0",
        ),
        ("stack overflow", segv),
        # ILL_ILLOPN (#UD) on x86, ILL_ILLOPC on ARM; si_addr is the instruction
        ("SIGILL handler", f"handler: signal 4, si_code {2 if x86 else 1}, si_addr ok\n  exited 0"),
        ("SIGSEGV handler", "handler: signal 11, si_code 1, si_addr ok\n  exited 0"),
        ("SIGSEGV blocked", segv),
    ]
    out = "".join(
        f"{name}:\n{'' if fate.startswith('  ') else '  '}{fate}\n" for name, fate in cases
    )
    calls = [
        "read(NULL)",
        "read(kernel)",
        "read(unmapped)",
        "read(read-only text)",
        "write(NULL)",
        "write(kernel)",
        "write(unmapped)",
        "stat(NULL)",
        "stat(kernel)",
        "stat(unmapped)",
        "open(NULL)",
        "open(kernel)",
        "open(unmapped)",
        "uname(kernel)",
        "pipe(NULL)",
        "nanosleep(NULL)",
        "sigaction(kernel)",
        "getcwd(kernel)",
        "readlink(kernel)",
        "execve(NULL)",
    ]
    calls += ["sigaltstack(kernel)", "rt_sigsuspend(kernel)", "rt_sigpending(kernel)"]
    calls += ["rt_sigprocmask(kernel)"]
    out += "".join(f"{c} = -1 errno 14\n" for c in calls)
    for c, errno in [
        ("rt_sigprocmask(how 99)", 22),
        ("rt_sigprocmask(size 4)", 22),
        ("sigaction(SIGKILL)", 22),
        ("sigaction(65)", 22),
        ("kill(INT_MIN, 0)", 3),
        ("tgkill(-1, 1, 0)", 22),
    ]:
        out += f"{c} = -1 errno {errno}\n"
    return out + "kill(self, 0) = 0 errno 0\nstill standing\n"


@pytest.mark.parametrize("arch", ARCHES)
def test_the_wild_program_gets_linux_signals_and_errnos_and_soclab_survives(capsys, arch):
    status, out, err = run(capsys, "wild_linux", arch=arch)
    assert status == 0, err
    assert out == _wild_output(arch)
    assert "Traceback" not in err
    assert err.count(": segfault at ") == 8
    assert "[4]: segfault at 0 ip 00000000 " in err  # the jump to NULL
    assert "[5]: segfault at c0000000 ip c0000000 " in err  # the jump into the kernel


def test_a_bare_metal_image_run_as_a_linux_program_dies_of_sigill_at_its_first_mcr(capsys):
    """Unicorn probes the page of its `until` address after an undefined instruction; the
    probe must not pass for a fetch fault at 0xfffff000."""
    elf = build("demo", "armv7")
    status = main(["run", "--board", "armv7", str(elf)])
    out, err = capsys.readouterr()
    assert status == 128 + 4
    assert "[1]: illegal instruction at 60000054 ip 60000054 " in err
    assert "fffff000" not in err


BUSYBOX_SCRIPT = (
    'trap "echo got USR1" USR1; kill -USR1 $$; echo after; yes | head -2; '
    '( while :; do :; done ) & p=$!; kill $p; wait $p; echo "status $?"; '
    'trap "echo child done" CHLD; true & wait; echo done'
)


@pytest.mark.parametrize("arch", ARCHES)
def test_busybox_sh_traps_kills_and_waits_for_jobs(capsys, arch):
    """glibc's handlers without SA_SIGINFO return through sigreturn; SIGPIPE ends `yes`;
    a killed background job's status is 128 + SIGTERM; SIGCHLD runs its trap."""
    from firmware.busybox import busybox

    status = main(["run", "--board", arch, str(busybox(arch)), "sh", "-c", BUSYBOX_SCRIPT])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert out == "got USR1\nafter\ny\ny\nTerminated\nstatus 143\nchild done\ndone\n"
    assert "sigreturn" not in err
