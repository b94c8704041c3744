"""poll, ppoll, select (_newselect and i386's old select) and pselect6 from user space on
both boards: ready masks, fd_set layout, timeouts on virtual time with the time left written
back, sleeping until another process writes, and errnos for bad arguments."""

from __future__ import annotations

import pytest

from emulator.cli import main
from firmware.build import build_linux

ARCHES = ("armv7", "x86")


@pytest.mark.parametrize("arch", ARCHES)
def test_poll_and_select_report_readiness_sleep_and_time_out_like_linux(capsys, arch):
    status = main(["run", "--board", arch, str(build_linux("poll_linux", arch))])
    out, err = capsys.readouterr()
    assert status == 0, err
    lines = out.splitlines()
    assert lines == [
        "poll empty: 2 in=0 out=0x4 closed=0x20 negative=0",  # POLLOUT, POLLNVAL
        "poll timeout: 0 after >=30ms 1",
        "poll data: 2 in=0x1",
        "select: 2 rd40=1 wr=1 word1=0x100 left<=2.5s 1",  # fd 40: bit 8 of long 1
        "select timeout: 0 tv=0.000000 after >=20ms 1 rd=0",
        "select closed fd: -1 errno=9",
        "select n<0: -1 errno=22",
        "select bad timeval: -1 errno=22",
        "select bad set: -1 errno=14",
        "old select: 1 wr=1",
        "ppoll timeout: 0 ts=0.000000000",
        "ppoll_time64 timeout: 0 ts=0.000000000",
        "ppoll sigsetsize 4: -1 errno=22",
        "ppoll bad timespec: -1 errno=22",
        "poll nfds>RLIMIT_NOFILE: -1 errno=22",
        "poll bad pointer: -1 errno=14",
        "pselect6: 1 wr=1 ts<=3s 1",
        "pselect6 sigsetsize 16: -1 errno=22",
        "pselect libc timeout: 0",
        "parent while polling: S",  # /proc/<pid>/stat shows the sleep
        "poll woken: 1 in=0x1 after >=10ms 1 read=2",  # the child's first write only
        "select woken: 1 rd=1 after >=20ms 1",
        "poll writer gone: 1 revents=0x10",  # POLLHUP
        "poll reader gone: 1 revents=0xc",  # POLLOUT | POLLERR
        "poll null/proc: 2 null=0x5 proc=0x1",  # DEFAULT_POLLMASK, filtered
    ]


@pytest.mark.parametrize("arch", ARCHES)
def test_sleeps_end_with_eintr_when_a_signal_arrives(capsys, arch):
    status = main(["run", "--board", arch, str(build_linux("poll_linux", arch)), "eintr"])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert out.splitlines() == [
        "interrupted poll: -1 errno=4",
        "interrupted nanosleep: -1 errno=4 left>=0.98s 1",
        "interrupted read: -1 errno=4",
        "handled 3",
    ]
