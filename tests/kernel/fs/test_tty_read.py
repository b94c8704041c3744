"""The console read from user space on both boards: a canonical-mode tty over soclab's
stdin, with reads that block until input arrives (on virtual time, deterministically)."""

from __future__ import annotations

import pytest

import emulator.cli
from emulator.cli import main
from firmware.build import build_linux

ARCHES = ("armv7", "x86")
GAP = [b""] * 6  # an interactive host with nothing typed yet, for six looks


def scripted_stdin(pieces):
    """A host stdin that hands out `pieces` one per call (b"": nothing yet; then EOF)."""
    items = iter(pieces)

    def reader():
        return next(items, None)

    return reader


@pytest.mark.parametrize("arch", ARCHES)
def test_console_reads_lines_blocks_until_input_and_ends_at_eof(capsys, monkeypatch, arch):
    pieces = [b"first line\nsecond line\nthi", *GAP, b"rd line\n", *GAP, b"abc\x04\x04after\n"]
    pieces += [*GAP, b"xy", *GAP, b"cr\r"]
    monkeypatch.setattr(emulator.cli, "_stdin_reader", lambda: scripted_stdin(pieces))
    status = main(["run", "--board", arch, str(build_linux("tty_linux", arch))])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert out.splitlines() == [
        "isatty: 1 icanon: 1",
        "winsize: 0 24080",
        "line: 11 [first line\\n]",  # one line per read, though more is buffered
        "part: 4 [seco]",
        "rest: 8 [nd line\\n]",
        "nonblocking: -1 errno=11",  # "thi" is not a line yet: EAGAIN
        "poll now: 0",
        "blocked read: 11 [third line\\n]",
        "slept: 1",  # virtual time ran while the reader slept
        "poll wait: 1 revents=0x1 slept: 1",
        "eof char ends line: 3 [abc]",
        "eof char alone: 0 []",
        "after: 6 [after\\n]",
        "raw set: 1",
        "raw: 2 [xy]",
        "icrnl: 3 [cr\\n]",
        "end of input: 0 []",
        "still: 0 []",
        "poll at end: 1 revents=0x1",
    ]


def test_console_input_from_a_pipe_needs_no_guest_sleep(capsys, monkeypatch):
    monkeypatch.setattr(emulator.cli, "_stdin_reader", lambda: scripted_stdin([b"a\n", b"b\n"]))
    status = main(["run", "--board", "armv7", "--stats", str(build_linux("tty_linux", "armv7"))])
    out, err = capsys.readouterr()
    assert "line: 2 [a\\n]" in out and "part: 2 [b\\n]" in out
    assert "rest: 0 []" in out  # end of input
    assert status == 0


def test_a_host_that_never_sends_input_ends_the_run_instead_of_spinning(capsys, monkeypatch):
    monkeypatch.setattr(emulator.cli, "_stdin_reader", lambda: lambda: b"")
    status = main(["run", "--board", "x86", str(build_linux("tty_linux", "x86"))])
    out, err = capsys.readouterr()
    assert status == 124 and "waits forever" in err
    assert out.endswith("winsize: 0 24080\n")  # it got as far as the first (blocking) read
