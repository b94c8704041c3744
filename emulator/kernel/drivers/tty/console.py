"""/dev/console (5:1) and /dev/ttyS0 (4:64) over the machine's serial console
(drivers/tty/tty_io.c, drivers/tty/n_tty.c, include/uapi/asm-generic/termbits.h, ioctls.h).

Both nodes reach `kernel.machine.console` (the HostConsole behind uart0, whose input is
soclab's stdin): write sends the bytes as they are; read goes through a small model of the
n_tty line discipline, shared by both nodes (one uart):

- Canonical mode (ICANON, the default): a read returns at most one line — up to and
  including the first newline, at most `count` bytes (the rest of the line stays for the next
  read); the VEOF character (^D) ends a line without being returned, and at the start of a
  line reads as end of file. Input ending without a newline returns what is left, then 0.
- Non-canonical mode (a program cleared ICANON with TCSETS): whatever is buffered; with
  VMIN 0 an empty buffer reads 0 instead of blocking. VTIME is not modelled.
- ICRNL maps input CR to NL (IGNCR drops CR). No echo and no line editing: the host's
  terminal does both before the bytes reach soclab.

Blocking, deterministically: input is taken from the host only when the guest asks for it
(read, or poll of EPOLLIN). A pipe or file on the host side is read then (the host waits, the
guest does not see it), so the guest finds the input already arrived and no virtual time
passes. Only an interactive host terminal can have "nothing yet": the read then answers
-EAGAIN, the system-call layer puts a blocking reader to sleep on `read_wait` (an
O_NONBLOCK reader gets -EAGAIN), and while anyone sleeps there the driver polls the host
every millisecond of virtual time and wakes them when input or end of input arrives
(virtual time runs on while every task sleeps, as an idle CPU's would). At end of input
(HostConsole.read_input() → None) reads return 0 and poll reports EPOLLIN.

ioctls: TCGETS returns the line's struct termios — the kernel's 36-byte layout on ARM and
i386 (c_iflag, c_oflag, c_cflag, c_lflag u32, c_line u8, c_cc[19]), starting as
tty_std_termios at 115200 8N1; TCSETS/TCSETSW/TCSETSF store a new one (what the line
discipline honours: ICANON, ICRNL, IGNCR, VEOF, VMIN); TCFLSH drops buffered input;
TIOCGWINSZ/TIOCSWINSZ a struct winsize (24 rows × 80 columns at first); FIONREAD the bytes
buffered. Every other ioctl is -ENOTTY. ttys do not seek (-ESPIPE).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from emulator.kernel.core import current_kernel, mm_init_hook
from emulator.kernel.drivers.tty.tty_jobctrl import JOBCTRL_IOCTLS, tty_jobctrl_ioctl
from emulator.kernel.errno import EAGAIN, EINVAL, ENOTTY
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
from emulator.kernel.fs.poll import PollTable, poll_requested_events, poll_wait
from emulator.kernel.fs.vfs import devtmpfs_create_node
from emulator.kernel.syscalls import copy_from_user
from emulator.kernel.wait import WaitQueueHead, wait_state, waitqueue_active, wake_up

if TYPE_CHECKING:
    from emulator.clock import Event
    from emulator.kernel.core import Kernel

TTY_MAJOR = 4
TTYAUX_MAJOR = 5
CONSOLE_DEV = MKDEV(TTYAUX_MAJOR, 1)
TTYS0_DEV = MKDEV(TTY_MAJOR, 64)

TCGETS, TCSETS, TCSETSW, TCSETSF, TCFLSH = 0x5401, 0x5402, 0x5403, 0x5404, 0x540B
TIOCGWINSZ, TIOCSWINSZ, FIONREAD = 0x5413, 0x5414, 0x541B
TCIFLUSH, TCOFLUSH, TCIOFLUSH = 0, 1, 2
TERMIOS_SIZE = 36
TTY_POLL_NS = 1_000_000  # the host poll while readers sleep: 1 ms of virtual time

# include/uapi/asm-generic/termbits.h
IGNCR, ICRNL, IXON = 0o200, 0o400, 0o2000
OPOST, ONLCR = 0o1, 0o4
B115200, CS8, CREAD, HUPCL, CLOCAL = 0o010002, 0o60, 0o200, 0o2000, 0o4000
ISIG, ICANON, ECHO, ECHOE, ECHOK = 0o1, 0o2, 0o10, 0o20, 0o40
ECHOCTL, ECHOKE, IEXTEN = 0o1000, 0o4000, 0o100000
NCCS = 19
VEOF, VMIN, VEOL = 4, 6, 11
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
    """The line discipline's state, shared by both nodes (one uart): input received from the
    host but not read yet, whether the host said end of input, the termios and winsize, and
    the readers asleep waiting for input."""

    buffer: bytearray = field(default_factory=bytearray)
    eof: bool = False
    termios: bytes = field(default_factory=tty_std_termios)
    rows: int = 24
    cols: int = 80
    read_wait: WaitQueueHead = field(default_factory=lambda: WaitQueueHead("tty read_wait"))
    poller: Event | None = None

    @property
    def iflag(self) -> int:
        return int(struct.unpack_from("<I", self.termios, 0)[0])

    @property
    def lflag(self) -> int:
        return int(struct.unpack_from("<I", self.termios, 12)[0])

    def cc(self, index: int) -> int:
        return self.termios[17 + index]


def _tty() -> TtyState:
    k = current_kernel()
    state = k.subsystems.get("tty")
    if not isinstance(state, TtyState):
        state = k.subsystems["tty"] = TtyState()
    return state


def _receive(state: TtyState, data: bytes) -> None:
    """n_tty_receive_buf(): input processing (IGNCR, ICRNL) into the read buffer."""
    iflag = state.iflag
    if iflag & IGNCR:
        data = data.replace(b"\r", b"")
    elif iflag & ICRNL:
        data = data.replace(b"\r", b"\n")
    state.buffer += data


def _line_end(state: TtyState) -> int:
    """Canonical mode: the index of the first line terminator (newline, VEOF, VEOL), -1."""
    ends = [state.buffer.find(b"\n")]
    for special in (VEOF, VEOL):  # a control character of 0 is disabled (_POSIX_VDISABLE)
        if state.cc(special):
            ends.append(state.buffer.find(bytes([state.cc(special)])))
    found = [i for i in ends if i >= 0]
    return min(found) if found else -1


def _input_available(state: TtyState) -> bool:
    """input_available_p(): a complete line (canonical) or any byte (raw), or end of input."""
    if state.eof:
        return True
    if state.lflag & ICANON:
        return _line_end(state) >= 0
    return bool(state.buffer)


def _fill() -> TtyState:
    """Ask the host for input until a read could be satisfied or the host has nothing now."""
    state = _tty()
    while not state.eof and not _input_available(state):
        data = current_kernel().machine.console.read_input()
        if data is None:
            state.eof = True
        elif not data:
            break
        else:
            _receive(state, data)
    return state


def tty_read(file: File, count: int, pos: int) -> bytes | int:
    """n_tty_read(): a line (canonical) or what is buffered (raw); -EAGAIN if nothing yet."""
    state = _fill()
    if count == 0:
        return b""
    if state.lflag & ICANON:
        end = _line_end(state)
        if end < 0:
            if not state.eof:
                return -EAGAIN
            end = len(state.buffer)
        elif state.cc(VEOF) and state.buffer[end] == state.cc(VEOF) and end < count:
            out = bytes(state.buffer[:end])  # ^D ends the line and is not returned
            del state.buffer[: end + 1]
            return out
        n = min(count, end + 1)
    else:
        if not state.buffer and not state.eof and state.cc(VMIN) != 0:
            return -EAGAIN
        n = min(count, len(state.buffer))
    out = bytes(state.buffer[:n])
    del state.buffer[:n]
    return out


def console_read_would_block(file: File) -> bool:
    """True when a read of this file must put the task to sleep: no input to return yet and
    the file is blocking."""
    return not _input_available(_fill()) and not file.f_flags & O_NONBLOCK


def tty_write(file: File, data: bytes, pos: int) -> int:
    current_kernel().machine.console.write(bytes(data))
    return len(data)


def _poll_host() -> None:
    """The 1 ms virtual-time poll of an interactive host while readers sleep."""
    state = _tty()
    state.poller = None
    wait_state().pollers -= 1
    if _input_available(_fill()):
        wake_up(state.read_wait)
    _update_poller(state)


def _update_poller(state: TtyState) -> None:
    """Keep the host poll armed exactly while someone sleeps waiting for input."""
    k = current_kernel()
    wanted = waitqueue_active(state.read_wait) and not _input_available(state)
    if wanted and state.poller is None:
        state.poller = k.machine.clock.schedule(TTY_POLL_NS, _poll_host)
        wait_state(k).pollers += 1
    elif not wanted and state.poller is not None:
        state.poller.cancel()
        state.poller = None
        wait_state(k).pollers -= 1


def tty_poll(file: File, wait: PollTable | None) -> int:
    """n_tty_poll(): readable when a read would not block; always writable."""
    state = _tty()
    poll_wait(file, state.read_wait, wait)
    mask = EPOLLOUT | EPOLLWRNORM
    wants_input = bool(poll_requested_events(wait) & (EPOLLIN | EPOLLRDNORM))
    if wants_input:
        _fill()
    if _input_available(state):
        mask |= EPOLLIN | EPOLLRDNORM
    elif wants_input and wait is not None and wait.task is not None:
        _update_poller(state)
    return mask


def tty_ioctl(file: File, cmd: int, arg: int) -> IoctlResult:
    state = _tty()
    if cmd == TCGETS:
        return 0, state.termios
    if cmd in (TCSETS, TCSETSW, TCSETSF):
        state.termios = copy_from_user(current_kernel(), arg, TERMIOS_SIZE)
        if cmd == TCSETSF:
            state.buffer.clear()
        return 0
    if cmd == TCFLSH:
        if arg in (TCIFLUSH, TCIOFLUSH):
            state.buffer.clear()
        return 0 if arg in (TCIFLUSH, TCOFLUSH, TCIOFLUSH) else -EINVAL
    if cmd == TIOCGWINSZ:
        return 0, struct.pack("<HHHH", state.rows, state.cols, 0, 0)
    if cmd == TIOCSWINSZ:
        state.rows, state.cols = struct.unpack("<HH", copy_from_user(current_kernel(), arg, 4))
        return 0
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
