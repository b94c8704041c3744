/*
 * guest_errors.c - accesses the hardware forgives but reports (datasheet
 * section 1): an offset of syscon no register occupies (reads 0, writes are
 * ignored), and a device the devicetree names but the emulator does not
 * model yet (regbank). Each offset is reported once, however often it is hit.
 */
#include "runtime.h"

int main(void)
{
    uint32_t sum = 0;
    for (int i = 0; i < 3; i++) {
        sum += mmio_read32(SYSCON_BASE + 0x100);
        mmio_write32(SYSCON_BASE + 0x100, 0xdead);
    }
    printf("unimplemented syscon offset reads %u\n", sum);
    printf("syscon ID still %08x\n", mmio_read32(SYSCON_BASE + SYSCON_ID));
    return 0;
}
