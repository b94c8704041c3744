/*
 * devmem_err_linux.c - a read() of /dev/mem that the register block answers with a bus
 * error (a misaligned register access) fails with EFAULT; the process is not signalled.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#if defined(__i386__)
#define SYSCON 0xFE000000u
#else
#define SYSCON 0x10000000u
#endif

int main(void)
{
    int fd = open("/dev/mem", O_RDWR | O_SYNC);
    if (fd < 0)
        return 1;
    uint32_t id = 0;
    lseek(fd, SYSCON + 1, SEEK_SET);
    ssize_t r = read(fd, &id, 4);
    printf("misaligned read(): %zd errno=%d\n", r, r < 0 ? errno : 0);
    lseek(fd, SYSCON, SEEK_SET);
    r = read(fd, &id, 4);
    printf("aligned read(): %zd, ID %08x\n", r, id);
    return 0;
}
