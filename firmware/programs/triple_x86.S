/*
 * triple_x86.S - raises int3 with no IDT loaded (IDTR limit 0 at boot): the
 * exception cannot be delivered, which on real hardware escalates to a triple
 * fault and a reset. soclab stops the run with a report instead.
 */
    .code32
    .text
    .global _start
_start:
    int3
    jmp .
