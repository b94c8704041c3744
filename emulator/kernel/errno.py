"""Error numbers (include/uapi/asm-generic/errno-base.h, errno.h).

The asm-generic values, which ARM and i386 both use. Kernel functions return them negated,
as Linux does (`return -ENOENT;`); the syscall layer hands the negative value to user space.
"""

from __future__ import annotations

EPERM = 1  # Operation not permitted
ENOENT = 2  # No such file or directory
ESRCH = 3  # No such process
EINTR = 4  # Interrupted system call
EIO = 5  # I/O error
ENXIO = 6  # No such device or address
E2BIG = 7  # Argument list too long
ENOEXEC = 8  # Exec format error
EBADF = 9  # Bad file number
ECHILD = 10  # No child processes
EAGAIN = 11  # Try again
EWOULDBLOCK = EAGAIN
ENOMEM = 12  # Out of memory
EACCES = 13  # Permission denied
EFAULT = 14  # Bad address
ENOTBLK = 15  # Block device required
EBUSY = 16  # Device or resource busy
EEXIST = 17  # File exists
EXDEV = 18  # Cross-device link
ENODEV = 19  # No such device
ENOTDIR = 20  # Not a directory
EISDIR = 21  # Is a directory
EINVAL = 22  # Invalid argument
ENFILE = 23  # File table overflow
EMFILE = 24  # Too many open files
ENOTTY = 25  # Not a typewriter
ETXTBSY = 26  # Text file busy
EFBIG = 27  # File too large
ENOSPC = 28  # No space left on device
ESPIPE = 29  # Illegal seek
EROFS = 30  # Read-only file system
EMLINK = 31  # Too many links
EPIPE = 32  # Broken pipe
EDOM = 33  # Math argument out of domain of func
ERANGE = 34  # Math result not representable
EDEADLK = 35  # Resource deadlock would occur
ENAMETOOLONG = 36  # File name too long
ENOLCK = 37  # No record locks available
ENOSYS = 38  # Invalid system call number
ENOTEMPTY = 39  # Directory not empty
ELOOP = 40  # Too many symbolic links encountered
ENOMSG = 42  # No message of desired type
ENODATA = 61  # No data available
ETIME = 62  # Timer expired
EOVERFLOW = 75  # Value too large for defined data type
EILSEQ = 84  # Illegal byte sequence
ENOTSOCK = 88  # Socket operation on non-socket
EOPNOTSUPP = 95  # Operation not supported on transport endpoint
ETIMEDOUT = 110  # Connection timed out
EALREADY = 114  # Operation already in progress
EINPROGRESS = 115  # Operation now in progress
ECANCELED = 125  # Operation Canceled

# Kernel-internal (include/linux/errno.h): never seen by user space.
ERESTARTSYS = 512
ENOIOCTLCMD = 515
EPROBE_DEFER = 517

MAX_ERRNO = 4095


def IS_ERR_VALUE(x: int) -> bool:
    """include/linux/err.h: a negative errno in [-MAX_ERRNO, -1]."""
    return -MAX_ERRNO <= x < 0
