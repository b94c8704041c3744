"""Directory-changing system calls from a static musl program on both boards: mkdir/mkdirat,
link counts, renameat2 flags, rename's errors, symlink, utimensat, rmdir/unlink errors; plus
getgroups, sched_getaffinity, get/setpriority and clock_nanosleep."""

from __future__ import annotations

import pytest

from emulator.cli import main
from firmware.build import build_linux

EXPECTED = """\
mkdir("/tmp/d", 0755) = 0 errno=0
mkdir("/tmp/d", 0755) = -1 errno=17
mkdirat(dfd, "sub", 0755) = 0 errno=0
put("/tmp/d/a", "alpha") = 0 errno=0
put("/tmp/d/b", "beta") = 0 errno=0
link("/tmp/d/a", "/tmp/d/a2") = 0 errno=0
nlink after link: 2
link("/tmp/d/sub", "/tmp/d/sub2") = -1 errno=1
syscall(SYS_renameat2, AT_FDCWD, "/tmp/d/a", AT_FDCWD, "/tmp/d/b", 1) = -1 errno=17
syscall(SYS_renameat2, AT_FDCWD, "/tmp/d/a", AT_FDCWD, "/tmp/d/b", 2) = 0 errno=0
/tmp/d/a: beta
/tmp/d/b: alpha
rename("/tmp/d/b", "/tmp/d/c") = 0 errno=0
rename("/tmp/d/c", "/tmp/d/sub") = -1 errno=21
rename("/tmp/d", "/tmp/d/sub/inside") = -1 errno=22
rename("/tmp/d/missing", "/tmp/d/x") = -1 errno=2
nlink of a2 after rename over a: 2
symlink("c", "/tmp/d/l") = 0 errno=0
readlink: c
/tmp/d/l: alpha
utimensat(AT_FDCWD, "/tmp/d/c", times, 0) = 0 errno=0
mtime 2000.7 atime 1000
utimensat(AT_FDCWD, "/tmp/d/c", times, 0) = -1 errno=22
rmdir("/tmp/d") = -1 errno=39
rmdir("/tmp/d/c") = -1 errno=20
unlink("/tmp/d/sub") = -1 errno=21
unlinkat(dfd, "sub", AT_REMOVEDIR) = 0 errno=0
unlink("/tmp/d/nothing") = -1 errno=2
mkdir("/nonexistent/x", 0755) = -1 errno=2
getgroups(4, groups) = 0 errno=0
sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) == 1 = 1 errno=0
setpriority(PRIO_PROCESS, 0, 5) = 0 errno=0
getpriority(PRIO_PROCESS, 0) = 5 errno=0
getpriority(PRIO_PROCESS, 999) = -1 errno=3
setpriority(PRIO_PROCESS, 0, -40) == 0 && getpriority(PRIO_PROCESS, 0) == -20 = 1 errno=0
clock_nanosleep(CLOCK_MONOTONIC, 0, &d, NULL) = 0 errno=0
slept >= 2ms: 1
"""


@pytest.mark.parametrize("arch", ["armv7", "x86"])
def test_directory_calls_behave_as_on_linux(capsys, arch):
    status = main(["run", "--board", arch, str(build_linux("dirs_linux", arch))])
    out, _ = capsys.readouterr()
    assert status == 0
    assert [line for line in out.splitlines() if not line.startswith("soclab:")] == (
        EXPECTED.splitlines()
    )
