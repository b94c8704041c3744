/*
 * devmem_linux.c - reads the syscon ID register through an mmap of /dev/mem
 * (O_SYNC: uncached), and shows that DRAM is refused (STRICT_DEVMEM).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__arm__)
#define SYSCON 0x10000000u
#define DRAM 0x60000000u
#else
#define SYSCON 0xFE000000u
#define DRAM 0x00100000u
#endif

int main(void)
{
    int fd = open("/dev/mem", O_RDWR | O_SYNC);
    if (fd < 0)
        return 1;
    volatile uint32_t *regs = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, SYSCON);
    if (regs == MAP_FAILED)
        return 2;
    printf("syscon ID %08x, BOARD %u\n", regs[0], regs[1]);
    void *ram = mmap(0, 4096, PROT_READ, MAP_SHARED, fd, DRAM);
    printf("DRAM mmap: %s\n", ram == MAP_FAILED && errno == EPERM ? "EPERM" : "allowed");
    uint32_t id = 0;
    lseek(fd, SYSCON, SEEK_SET);
    printf("read(): %zd, ID %08x\n", read(fd, &id, 4), id);
    return 0;
}
