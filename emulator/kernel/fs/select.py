"""poll(2), ppoll(2), select(2) and pselect6(2) (fs/select.c).

Each call polls every descriptor through `vfs_poll` with a `PollTable` that puts the task on
the files' wait queues; if nothing is ready and the timeout has not run out, the task sleeps
(`schedule_timeout` on virtual time) and the call runs again from the start when a queue is
woken or the deadline passes. The deadline is kept on the task across those restarts, as
Linux keeps it on the stack of the sleeping call. A zero timeout only polls.

User ABI, 32-bit ARM EABI and i386 alike:
- struct pollfd {int fd; short events; short revents;}; a negative fd is skipped (revents 0),
  a closed one reports POLLNVAL; POLLERR and POLLHUP are reported even when not asked for.
- fd_set is an array of 32-bit longs, descriptor d at bit d % 32 of long d / 32; select
  reads and writes only DIV_ROUND_UP(n, 32) longs of each set; a set bit naming a closed
  descriptor is -EBADF.
- Timeouts: poll's int milliseconds (negative: forever); _newselect and i386's old select
  (one pointer to {n, inp, outp, exp, tvp}) a struct timeval {long, long}; ppoll and
  pselect6 a struct old_timespec32 {long, long}; the *_time64 calls a struct
  __kernel_timespec {s64, long long}. The time left is written back (poll_select_finish),
  except after a zero timeout; a failed write-back is ignored, as in Linux.
- ppoll's and pselect6's signal mask must have sigsetsize 8 (-EINVAL otherwise) and be
  readable (-EFAULT).

Deviation: the temporary signal mask of ppoll/pselect6 is checked but not installed (no
asynchronous signals are delivered while a task sleeps yet; see wait.py's signal hook).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from emulator.kernel.errno import EBADF, EFAULT, EINVAL
from emulator.kernel.fs.poll import (
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLNVAL,
    POLLOUT,
    POLLPRI,
    POLLRDBAND,
    POLLRDNORM,
    POLLWRBAND,
    POLLWRNORM,
    PollTable,
)
from emulator.kernel.fs.syscalls import files
from emulator.kernel.fs.vfs import vfs_poll
from emulator.kernel.syscalls import RESTART, Efault, copy_from_user, copy_to_user, syscall
from emulator.kernel.wait import (
    ERESTARTNOHAND,
    finish_wait,
    prepare_to_wait_event,
    schedule_timeout,
    task_deadline,
)

if TYPE_CHECKING:
    from emulator.kernel.core import Kernel
    from emulator.kernel.process import Task

NSEC_PER_SEC = 1_000_000_000
RLIMIT_NOFILE_CUR = 1024
SIGSET_SIZE = 8

POLLIN_SET = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR
POLLOUT_SET = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR
POLLEX_SET = POLLPRI

# How each call's timeout is laid out in user memory: (struct format, units per second of
# the second member). PT_TIMEVAL and PT_OLD_TIMESPEC are two longs, PT_TIMESPEC two s64.
PT_OLD_TIMEVAL = ("<ii", 1_000_000)
PT_OLD_TIMESPEC = ("<ii", NSEC_PER_SEC)
PT_TIMESPEC = ("<qq", NSEC_PER_SEC)


def _s32(v: int) -> int:
    return v - (1 << 32) if v & 0x8000_0000 else v


def poll_select_set_timeout(k: Kernel, addr: int, kind: tuple[str, int]) -> int | None:
    """Read a user timeout as nanoseconds from now: None for a NULL pointer (forever);
    raises Efault; -EINVAL (as a negative int) for a negative or malformed value."""
    if not addr:
        return None
    fmt, unit = kind
    sec, frac = struct.unpack(fmt, copy_from_user(k, addr, struct.calcsize(fmt)))
    if unit == 1_000_000:  # a timeval: whole seconds of tv_usec carry over (C division)
        carry = abs(frac) // unit * (1 if frac >= 0 else -1)
        sec, nsec = sec + carry, (frac - carry * unit) * 1000
    else:
        nsec = frac
    if sec < 0 or not 0 <= nsec < NSEC_PER_SEC:
        return -EINVAL
    return int(sec * NSEC_PER_SEC + nsec)


def poll_select_finish(
    k: Kernel, deadline: int | None, addr: int, kind: tuple[str, int], zero: bool
) -> None:
    """Write the time left back to the user's timeout (not after a zero timeout; a failed
    write is ignored)."""
    if not addr or deadline is None or zero:
        return
    left = max(0, deadline - k.machine.clock.now())
    fmt, unit = kind
    frac = left % NSEC_PER_SEC
    if unit == 1_000_000:
        frac //= 1000
    try:
        copy_to_user(k, addr, struct.pack(fmt, left // NSEC_PER_SEC, frac))
    except Efault:
        pass


def set_user_sigmask(k: Kernel, task: Task, sigmask: int, sigsetsize: int) -> int:
    """Check a ppoll/pselect6 temporary signal mask (see the module's deviation)."""
    if not sigmask:
        return 0
    if sigsetsize != SIGSET_SIZE:
        return -EINVAL
    copy_from_user(k, sigmask, SIGSET_SIZE)
    return 0


def _sleep_or_finish(k: Kernel, task: Task, deadline: int | None) -> object | int | None:
    """Nothing ready yet: None if the deadline has passed (the caller reports 0 ready);
    otherwise sleep (RESTART), or -EINTR if a signal is pending."""
    if deadline is not None and k.machine.clock.now() >= deadline:
        return None
    err = prepare_to_wait_event(task, k)
    if err:
        return err
    task.restart_kind = ERESTARTNOHAND  # a handler makes it -EINTR, even with SA_RESTART
    schedule_timeout(task, deadline, k)
    return RESTART


# -- poll ---------------------------------------------------------------------------------------


def do_sys_poll(
    k: Kernel, task: Task, ufds: int, nfds: int, timeout_ns: int | None
) -> tuple[int | object, int | None]:
    """do_sys_poll() + do_poll(): (result, deadline) — the count of ready entries, -errno,
    or RESTART when the task went to sleep."""
    if nfds > RLIMIT_NOFILE_CUR:
        return -EINVAL, None
    raw = bytearray(copy_from_user(k, ufds, 8 * nfds)) if nfds else bytearray()
    deadline = task_deadline(task, timeout_ns, k)
    zero = timeout_ns == 0
    pt = None if zero else PollTable(task)
    table = files(task)
    count = 0
    for i in range(nfds):
        fd, events = struct.unpack_from("<ih", raw, 8 * i)
        revents = 0
        if fd >= 0:
            f = table.fget(fd)
            if f is None:
                revents = POLLNVAL
            else:
                events = (events & 0xFFFF) | POLLERR | POLLHUP
                if pt is not None:
                    pt.key = events
                revents = vfs_poll(f, pt) & events
        struct.pack_into("<h", raw, 8 * i + 6, _s16(revents))
        if revents:
            count += 1
            pt = None  # Linux stops registering once something is ready
    if not count and not zero:
        slept = _sleep_or_finish(k, task, deadline)
        if slept is not None:
            return slept, deadline
    finish_wait(task, k)
    for i in range(nfds):
        copy_to_user(k, ufds + 8 * i + 6, bytes(raw[8 * i + 6 : 8 * i + 8]))
    return count, deadline


def _s16(v: int) -> int:
    v &= 0xFFFF
    return v - 0x10000 if v & 0x8000 else v


@syscall("poll")
def sys_poll(k: Kernel, task: Task, a: list[int]) -> int | object:
    msecs = _s32(a[2])
    timeout = msecs * 1_000_000 if msecs >= 0 else None
    ret, _ = do_sys_poll(k, task, a[0], a[1], timeout)
    return ret


def _ppoll(k: Kernel, task: Task, a: list[int], kind: tuple[str, int]) -> int | object:
    timeout = poll_select_set_timeout(k, a[2], kind)
    if timeout is not None and timeout < 0:
        return timeout
    err = set_user_sigmask(k, task, a[3], a[4])
    if err:
        return err
    ret, deadline = do_sys_poll(k, task, a[0], a[1], timeout)
    if ret is not RESTART:
        poll_select_finish(k, deadline, a[2], kind, timeout == 0)
    return ret


@syscall("ppoll")
def sys_ppoll(k: Kernel, task: Task, a: list[int]) -> int | object:
    return _ppoll(k, task, a, PT_OLD_TIMESPEC)


@syscall("ppoll_time64")
def sys_ppoll_time64(k: Kernel, task: Task, a: list[int]) -> int | object:
    return _ppoll(k, task, a, PT_TIMESPEC)


# -- select -------------------------------------------------------------------------------------


def _get_fd_set(k: Kernel, addr: int, nbytes: int) -> int:
    if not addr:
        return 0
    return int.from_bytes(copy_from_user(k, addr, nbytes), "little")


def core_sys_select(
    k: Kernel, task: Task, n: int, ptrs: tuple[int, int, int], timeout_ns: int | None
) -> tuple[int | object, int | None]:
    """core_sys_select() + do_select(): (result, deadline)."""
    n = _s32(n)
    if n < 0:
        return -EINVAL, None
    n = min(n, RLIMIT_NOFILE_CUR)
    nbytes = (n + 31) // 32 * 4
    in_set, out_set, ex_set = (_get_fd_set(k, p, nbytes) for p in ptrs)
    table = files(task)
    wanted = in_set | out_set | ex_set
    fds = [fd for fd in range(n) if wanted >> fd & 1]
    if any(table.fget(fd) is None for fd in fds):
        return -EBADF, None
    deadline = task_deadline(task, timeout_ns, k)
    zero = timeout_ns == 0
    pt = None if zero else PollTable(task)
    res = [0, 0, 0]
    count = 0
    for fd in fds:
        f = table.fget(fd)
        assert f is not None
        bit = 1 << fd
        key = (
            (POLLIN_SET if in_set & bit else 0)
            | (POLLOUT_SET if out_set & bit else 0)
            | (POLLEX_SET if ex_set & bit else 0)
        )
        if pt is not None:
            pt.key = key
        mask = vfs_poll(f, pt)
        for i, (s, test) in enumerate(
            ((in_set, POLLIN_SET), (out_set, POLLOUT_SET), (ex_set, POLLEX_SET))
        ):
            if s & bit and mask & test:
                res[i] |= bit
                count += 1
                pt = None
    if not count and not zero:
        slept = _sleep_or_finish(k, task, deadline)
        if slept is not None:
            return slept, deadline
    finish_wait(task, k)
    for p, r in zip(ptrs, res, strict=True):
        if p:
            copy_to_user(k, p, r.to_bytes(nbytes, "little"))
    return count, deadline


def kern_select(
    k: Kernel, task: Task, n: int, ptrs: tuple[int, int, int], tvp: int
) -> int | object:
    """kern_select(): select(2) with a struct timeval, the time left written back."""
    timeout = poll_select_set_timeout(k, tvp, PT_OLD_TIMEVAL)
    if timeout is not None and timeout < 0:
        return timeout
    ret, deadline = core_sys_select(k, task, n, ptrs, timeout)
    if ret is not RESTART:
        poll_select_finish(k, deadline, tvp, PT_OLD_TIMEVAL, timeout == 0)
    return ret


@syscall("_newselect")
def sys_newselect(k: Kernel, task: Task, a: list[int]) -> int | object:
    return kern_select(k, task, a[0], (a[1], a[2], a[3]), a[4])


@syscall("select")
def sys_old_select(k: Kernel, task: Task, a: list[int]) -> int | object:
    """i386's old select (82): one pointer to struct sel_arg_struct {n, inp, outp, exp, tvp}."""
    try:
        n, inp, outp, exp, tvp = struct.unpack("<5I", copy_from_user(k, a[0], 20))
    except Efault:
        return -EFAULT
    return kern_select(k, task, n, (inp, outp, exp), tvp)


def _pselect6(k: Kernel, task: Task, a: list[int], kind: tuple[str, int]) -> int | object:
    timeout = poll_select_set_timeout(k, a[4], kind)
    if timeout is not None and timeout < 0:
        return timeout
    if a[5]:  # struct sigset_argpack {sigset_t *p; size_t size;}
        sigmask, size = struct.unpack("<II", copy_from_user(k, a[5], 8))
        err = set_user_sigmask(k, task, sigmask, size)
        if err:
            return err
    ret, deadline = core_sys_select(k, task, a[0], (a[1], a[2], a[3]), timeout)
    if ret is not RESTART:
        poll_select_finish(k, deadline, a[4], kind, timeout == 0)
    return ret


@syscall("pselect6")
def sys_pselect6(k: Kernel, task: Task, a: list[int]) -> int | object:
    return _pselect6(k, task, a, PT_OLD_TIMESPEC)


@syscall("pselect6_time64")
def sys_pselect6_time64(k: Kernel, task: Task, a: list[int]) -> int | object:
    return _pselect6(k, task, a, PT_TIMESPEC)
