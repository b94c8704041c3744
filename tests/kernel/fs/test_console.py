"""/dev/console and /dev/ttyS0 over the machine's console."""

from __future__ import annotations

import struct

import emulator.kernel.drivers.tty.console  # noqa: F401 - registers the ttys at boot
from emulator.kernel.drivers.tty.console import TCGETS, TIOCGWINSZ, console_read_would_block
from emulator.kernel.errno import EAGAIN, ENOTTY, ESPIPE
from emulator.kernel.fs.fcntl import O_NONBLOCK, O_RDWR
from emulator.kernel.fs.inode import EPOLLIN, File
from emulator.kernel.fs.vfs import vfs_ioctl, vfs_llseek, vfs_open, vfs_poll, vfs_read, vfs_write


def _open(path: str, flags: int = O_RDWR) -> File:
    f = vfs_open(path, flags)
    assert isinstance(f, File), f
    return f


def test_writes_reach_the_host_console(kernel):
    assert vfs_write(_open("/dev/console"), b"hello ") == 6
    assert vfs_write(_open("/dev/ttyS0"), b"world\n") == 6
    assert bytes(kernel.machine.console.output).endswith(b"hello world\n")


def test_reads_return_fed_input_in_pieces(kernel):
    kernel.machine.console.reader = lambda: b""  # an interactive host: no input yet
    f = _open("/dev/ttyS0")
    assert vfs_read(f, 10) == -EAGAIN and console_read_would_block(f)
    assert not vfs_poll(f) & EPOLLIN
    kernel.machine.console.feed(b"ls -l\n")
    assert vfs_poll(f) & EPOLLIN and not console_read_would_block(f)
    assert vfs_read(f, 3) == b"ls "
    assert vfs_read(_open("/dev/console"), 100) == b"-l\n"


def test_nonblocking_readers_never_block(kernel):
    kernel.machine.console.reader = lambda: b""
    f = _open("/dev/console", O_RDWR | O_NONBLOCK)
    assert vfs_read(f, 1) == -EAGAIN and not console_read_would_block(f)


def test_end_of_input_reads_as_eof(kernel):
    kernel.machine.console.reader = lambda: None
    f = _open("/dev/console")
    assert vfs_read(f, 10) == b""
    assert not console_read_would_block(f)


def test_termios_and_window_size_ioctls(kernel):
    f = _open("/dev/console")
    ret = vfs_ioctl(f, TCGETS, 0)
    assert isinstance(ret, tuple) and ret[0] == 0 and len(ret[1]) == 36
    iflag, oflag, cflag, lflag, line = struct.unpack_from("<IIIIB", ret[1])
    assert lflag & 0o2 and cflag & 0o60 == 0o60 and line == 0  # ICANON, CS8
    assert ret[1][17 + 0] == 3 and ret[1][17 + 4] == 4  # VINTR ^C, VEOF ^D
    assert vfs_ioctl(f, TIOCGWINSZ, 0) == (0, struct.pack("<HHHH", 24, 80, 0, 0))
    assert vfs_ioctl(f, 0x540F, 0) == -ENOTTY


def test_ttys_do_not_seek(kernel):
    assert vfs_llseek(_open("/dev/ttyS0"), 0, 0) == -ESPIPE
    assert vfs_read(_open("/dev/ttyS0"), 1, pos=0) == -ESPIPE
