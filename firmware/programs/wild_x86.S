/*
 * wild_x86.S - bare-metal x86 code that loads from an address nothing answers
 * (0x80000000: beyond 1 GiB of DRAM, below the register blocks). On x86 bare
 * metal a bus error stops the run with a report (datasheet section 1).
 */
    .code32
    .text
    .global _start
_start:
    mov $0x80000000, %eax
    mov (%eax), %ebx
    jmp .
