"""File-side system calls from user space on both boards: statx, positional and vectored
I/O with 64-bit offsets in register pairs, sendfile, sysinfo, prctl names, the working
directory and umask, statfs, /proc/self magic links (open and execve through them), sysfs."""

from __future__ import annotations

import pytest

from emulator.cli import main
from firmware.build import build_linux

ARCHES = ("armv7", "x86")


@pytest.mark.parametrize("arch", ARCHES)
def test_file_side_system_calls_behave_as_on_linux(capsys, arch):
    status = main(["run", "--board", arch, str(build_linux("fsys_linux", arch))])
    out, err = capsys.readouterr()
    assert status == 0, err
    lines = out.splitlines()
    exe = next(line for line in lines if line.startswith("exe link: "))
    assert exe.startswith("exe link: /bin/fsys_linux")
    assert [line for line in lines if line is not exe] == [
        "fd 0 before use: 12 /dev/console",
        "statx null: 0 mask=0x17ff chr=1 rdev=1:3",  # STATX_BASIC_STATS | STATX_MNT_ID
        "statx link: 0 lnk=1 size=9",
        "statx fd: 0 reg=1 size=10 blksize=4096",
        "statx /proc mount root: 1",
        "statx empty path: -1 errno=2",
        "statx both sync flags: -1 errno=22",
        "statx bad buffer: -1 errno=14",
        "pwrite: 2 pos=10",  # the file position is left alone
        "pread: 8 [2AB56789]",
        "pread past 4 GiB: 0",  # the offset's high word is honoured
        "pread negative: -1 errno=22",
        "preadv: 5 [56][789]",
        "pwritev: 3 [012AB567xyz]",
        "ftruncate64: 0 size=4",
        "pread pipe: -1 errno=29",  # ESPIPE
        "huge read: bounded 1 bad buffer: -1/14 pipe bad buffer: -1/14 then 4 [kept]",
        "big pipe write: 200000 writev: 200000",  # one call each, though the pipe holds 64 KiB
        "reader got: 400000",
        "FIONBIO: read -1 errno=11 flags nonblock=1 FIONREAD pipe=3 file=3 FIOCLEX cloexec=1",
        "F_SETFL O_APPEND: appended=1 trunc ignored=1 pipe size=65536",
        "sendfile: 3 off=4 [12A]",
        "012",
        "sendfile to stdout: 3 pos=3",
        "sendfile pipe offset: -1 errno=29",
        "sysinfo: 0 ram>=64MiB 1 free<=total 1 unit=1 procs=1",
        "prctl: 0 [renamed-task-wi] status [Name:\trenamed-task-wi]",
        "prctl unknown: -1 errno=22",
        "fchdir: cwd=/tmp/dir proc cwd=/tmp/dir",
        "fchdir to a file: -1 errno=20",
        "umask: old=022 file mode=600",
        "statfs /proc: type=0x9fa0 /tmp: type=0x1021994 bsize=4096 blocks>0 1",
        "exe open: ELF=1",
        "fd link pipe: pipe:[",
        "fd link file: /tmp/data reopened [012A] modes 700 300",  # lrwx------, l-wx------
        "pipe reopened: [via proc]",
        "re-executed through /proc/self/exe: argv[0]=again"
        " maps name the file 1 exe /bin/fsys_linux",
        "child exit: 7",
        "rename: 0 moved=1 onto non-empty dir: -1/39 file over dir: -1/21"
        " dir below itself: -1/22 across mounts: -1/18 noreplace: -1/17",
        "chmod: 0 mode=640 fchmod: 0 mode=604 utimensat missing: -1/2 existing: 0",
        "clock_nanosleep: 0 slept>=25ms 1",
        "mounts: proc listed",
        "cpu online: 0",
        "sysfs write-open read-only: -1 errno=13",
    ]
