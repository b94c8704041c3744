"""The older and rarer call forms that share code with the common ones, on both boards:
32-bit statfs/fstatfs, getdents's linux_dirent, preadv2/pwritev2 with offset -1."""

from __future__ import annotations

import pytest

from emulator.cli import main
from firmware.build import build_linux

EXPECTED = """\
statfs /proc: 0 type=0x9fa0 bsize=4096
fstatfs /tmp: 0 type=0x1021994 namelen=255
statfs missing: -1 errno=2
statfs bad buffer: -1 errno=14
pwritev2 at 0: 7
pwritev2 at the position: 3 pos=3
preadv2 at 1: 6 bc|defg pos=3
preadv2 at the position: 2 ef pos=6
preadv2 offset -2: -1 errno=22
preadv2 bad flags: -1 errno=95
getdents: entries
  . type=4
  .. type=4
  one type=8
getdents at end: 0
getdents small buffer: -1 errno=22
"""


@pytest.mark.parametrize("arch", ["armv7", "x86"])
def test_compat_forms_behave_as_on_linux(capsys, arch):
    status = main(["run", "--board", arch, str(build_linux("compat_linux", arch))])
    out, _ = capsys.readouterr()
    assert status == 0
    assert out == EXPECTED
