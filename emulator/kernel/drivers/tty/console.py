"""/dev/console (5:1) and /dev/ttyS0 (4:64) over the machine's serial console
(drivers/tty/tty_io.c, drivers/tty/n_tty.c, include/uapi/asm-generic/termbits.h, ioctls.h).

Both nodes reach `kernel.machine.console` (the HostConsole behind uart0): write sends the
bytes as they are; read returns the input available now, at most `count` bytes (the rest
stays buffered for the next read).

Blocking: a Python driver cannot sleep, so a read with no input yet returns -EAGAIN for
blocking and O_NONBLOCK files alike. The syscall layer tells them apart with
`console_read_would_block(file)` (or, generically, `f_flags & O_NONBLOCK` plus `vfs_poll`
lacking EPOLLIN): when it is true the task should be put to sleep and the read retried once
input arrives (poll reports EPOLLIN); O_NONBLOCK readers get -EAGAIN. At end of input
(HostConsole.read_input() → None; a HostConsole without a reader is at end of input
whenever nothing is fed) reads return b"" (EOF), and poll reports EPOLLIN.

ioctls: TCGETS returns (0, struct termios) — the kernel's 36-byte layout on ARM and i386
(c_iflag, c_oflag, c_cflag, c_lflag u32, c_line u8, c_cc[19]) with tty_std_termios's values
at 115200 8N1; TIOCGWINSZ returns (0, struct winsize) 24 rows × 80 columns; FIONREAD the
bytes buffered. TCSETS/TCSETSW/TCSETSF succeed and are ignored (the line discipline is
raw pass-through: no echo, no ONLCR, no line editing); every other ioctl is -ENOTTY.
ttys do not seek (-ESPIPE).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from emulator.kernel.core import current_kernel, mm_init_hook
from emulator.kernel.drivers.tty.tty_jobctrl import JOBCTRL_IOCTLS, tty_jobctrl_ioctl
from emulator.kernel.errno import EAGAIN, ENOTTY
from emulator.kernel.fs.char_dev import MKDEV, Cdev, cdev_add, cdev_init, register_chrdev_region
from emulator.kernel.fs.fcntl import O_NONBLOCK
from emulator.kernel.fs.inode import (
    EPOLLIN,
    EPOLLOUT,
    EPOLLRDNORM,
    EPOLLWRNORM,
    File,
    FileOperations,
    IoctlResult,
)
from emulator.kernel.fs.vfs import devtmpfs_create_node

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel

TTY_MAJOR = 4
TTYAUX_MAJOR = 5
CONSOLE_DEV = MKDEV(TTYAUX_MAJOR, 1)
TTYS0_DEV = MKDEV(TTY_MAJOR, 64)

TCGETS, TCSETS, TCSETSW, TCSETSF = 0x5401, 0x5402, 0x5403, 0x5404
TIOCGWINSZ, TIOCSWINSZ, FIONREAD = 0x5413, 0x5414, 0x541B

# include/uapi/asm-generic/termbits.h
ICRNL, IXON = 0o400, 0o2000
OPOST, ONLCR = 0o1, 0o4
B115200, CS8, CREAD, HUPCL, CLOCAL = 0o010002, 0o60, 0o200, 0o2000, 0o4000
ISIG, ICANON, ECHO, ECHOE, ECHOK = 0o1, 0o2, 0o10, 0o20, 0o40
ECHOCTL, ECHOKE, IEXTEN = 0o1000, 0o4000, 0o100000
NCCS = 19
# INIT_C_CC: VINTR ^C, VQUIT ^\, VERASE DEL, VKILL ^U, VEOF ^D, VTIME 0, VMIN 1, VSWTC 0,
# VSTART ^Q, VSTOP ^S, VSUSP ^Z, VEOL 0, VREPRINT ^R, VDISCARD ^O, VWERASE ^W, VLNEXT ^V, VEOL2 0
INIT_C_CC = bytes(
    [3, 0x1C, 0x7F, 0x15, 4, 0, 1, 0, 0x11, 0x13, 0x1A, 0, 0x12, 0x0F, 0x17, 0x16, 0]
).ljust(NCCS, b"\0")


def tty_std_termios() -> bytes:
    """drivers/tty/tty_io.c tty_std_termios as the kernel's struct termios (36 bytes)."""
    iflag, oflag = ICRNL | IXON, OPOST | ONLCR
    cflag = B115200 | CS8 | CREAD | HUPCL | CLOCAL
    lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN
    return struct.pack("<IIIIB", iflag, oflag, cflag, lflag, 0) + INIT_C_CC


@dataclass
class TtyState:
    """Input received from the host but not read yet, shared by both nodes (one uart);
    `eof` is what the console said last (it can change: a test may feed more input)."""

    buffer: bytearray = field(default_factory=bytearray)
    eof: bool = False
    rows: int = 24
    cols: int = 80


def _tty() -> TtyState:
    k = current_kernel()
    state = k.subsystems.get("tty")
    if not isinstance(state, TtyState):
        state = k.subsystems["tty"] = TtyState()
    return state


def _fill() -> TtyState:
    """Pull whatever the host console has now into the buffer."""
    state = _tty()
    data = current_kernel().machine.console.read_input()
    state.eof = data is None
    if data:
        state.buffer += data
    return state


def tty_read(file: File, count: int, pos: int) -> bytes | int:
    state = _fill()
    if state.buffer:
        out = bytes(state.buffer[:count])
        del state.buffer[:count]
        return out
    if state.eof or count == 0:
        return b""
    return -EAGAIN


def console_read_would_block(file: File) -> bool:
    """True when a read of this file must put the task to sleep: no input buffered, input
    not at its end, and the file is blocking."""
    state = _fill()
    return not state.buffer and not state.eof and not file.f_flags & O_NONBLOCK


def tty_write(file: File, data: bytes, pos: int) -> int:
    current_kernel().machine.console.write(bytes(data))
    return len(data)


def tty_poll(file: File, wait: object) -> int:
    state = _fill()
    mask = EPOLLOUT | EPOLLWRNORM
    if state.buffer or state.eof:
        mask |= EPOLLIN | EPOLLRDNORM
    return mask


def tty_ioctl(file: File, cmd: int, arg: int) -> IoctlResult:
    if cmd == TCGETS:
        return 0, tty_std_termios()
    if cmd in (TCSETS, TCSETSW, TCSETSF):
        return 0
    if cmd == TIOCGWINSZ:
        state = _tty()
        return 0, struct.pack("<HHHH", state.rows, state.cols, 0, 0)
    if cmd == FIONREAD:
        return 0, struct.pack("<i", len(_fill().buffer))
    if cmd in JOBCTRL_IOCTLS:
        return tty_jobctrl_ioctl(file, cmd, arg)
    return -ENOTTY


tty_fops = FileOperations(
    owner="tty", read=tty_read, write=tty_write, poll=tty_poll, unlocked_ioctl=tty_ioctl
)
console_fops = tty_fops


@mm_init_hook
def tty_init(kernel: Kernel) -> None:
    """tty_init() + the serial driver's registration: the numbers, cdevs and nodes."""
    kernel.subsystems["tty"] = TtyState()
    for cdev, dev, name, node, mode in (
        (Cdev(), CONSOLE_DEV, "/dev/console", "console", 0o600),
        (Cdev(), TTYS0_DEV, "ttyS", "ttyS0", 0o660),
    ):
        if register_chrdev_region(dev, 1, name) < 0:
            kernel.printk("<3>", f"Couldn't register {name} driver")
            continue
        cdev_init(cdev, tty_fops)
        cdev_add(cdev, dev, 1)
        devtmpfs_create_node(node, mode, dev)
