/*
 * wild_arm.S - firmware with no exception vectors that loads from an address
 * nothing answers (0x20000000: between the register blocks and DRAM). The
 * load is a synchronous external abort; its vector (VBAR = 0 at reset) has no
 * memory behind it, so the machine must stop the run with a report instead of
 * looping through aborts.
 */
    .syntax unified
    .arm
    .text
    .global _start
_start:
    ldr r0, =0x20000000
    ldr r1, [r0]
    b .
