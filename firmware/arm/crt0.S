/*
 * crt0.S - ARMv7-A (Cortex-A9) bare-metal entry and exception vectors.
 *
 * Boot state (SOC-DATASHEET.md §5): SVC mode, IRQ/FIQ masked, MMU and caches
 * off, r2 = DTB physical address. _start is the vector table itself, at the
 * start of the image (DRAM base), so an ELF and a raw image boot alike.
 *
 * Reset: a stack for each of SVC, IRQ, ABT, UND and FIQ mode, VBAR = the
 * table (SCTLR.V and TE cleared so it is used, in ARM state), .bss cleared,
 * soc_boot_dtb = r2, then soc_exit(main()).
 *
 * Undef, SVC, prefetch abort, data abort and FIQ build a struct trapframe
 * (runtime.h) on the exception mode's stack and call the C hook with it; the
 * return path restores the frame, so a hook may edit pc, registers or cpsr.
 * IRQ saves only the caller-saved registers around irq_handler(). No nesting:
 * every handler runs with IRQs masked.
 */
    .syntax unified
    .arm

    .equ MODE_FIQ, 0x11
    .equ MODE_IRQ, 0x12
    .equ MODE_SVC, 0x13
    .equ MODE_ABT, 0x17
    .equ MODE_UND, 0x1b
    .equ PSR_T, 1 << 5
    .equ SCTLR_V, 1 << 13
    .equ SCTLR_TE, 1 << 30
    .equ TF_CPSR, 56            /* offsetof(struct trapframe, cpsr) */

    .section .text.vectors, "ax", %progbits
    .balign 32
    .global _start
    .global _vectors
_start:
_vectors:
    b   reset
    b   undef_entry
    b   svc_entry
    b   pabt_entry
    b   dabt_entry
    b   .                       /* reserved */
    b   irq_entry
    b   fiq_entry

    .text
reset:
    mov r4, r2                  /* DTB address, kept in a register .bss clearing spares */
    cpsid if
    cps #MODE_FIQ
    ldr sp, =__fiq_stack_top
    cps #MODE_UND
    ldr sp, =__und_stack_top
    cps #MODE_ABT
    ldr sp, =__abt_stack_top
    cps #MODE_IRQ
    ldr sp, =__irq_stack_top
    cps #MODE_SVC
    ldr sp, =__svc_stack_top

    ldr r0, =_vectors
    mcr p15, 0, r0, c12, c0, 0  /* VBAR */
    mrc p15, 0, r0, c1, c0, 0   /* SCTLR */
    bic r0, r0, #SCTLR_V
    bic r0, r0, #SCTLR_TE
    mcr p15, 0, r0, c1, c0, 0
    isb

    ldr r0, =__bss_start        /* both 16-byte aligned (link.ld) */
    ldr r1, =__bss_end
    mov r2, #0
    mov r3, #0
    mov r5, #0
    mov r6, #0
1:  cmp r0, r1
    stmialo r0!, {r2, r3, r5, r6}
    blo 1b

    ldr r0, =soc_boot_dtb
    str r4, [r0]
    mov fp, #0
    bl  main
    b   soc_exit                /* status = main's return value, in r0 */

/* Builds the trapframe (\adjust turns lr into its pc) and leaves r0 = frame. */
.macro exception_entry name, adjust
\name:
    .if \adjust
    sub lr, lr, #\adjust
    .endif
    sub sp, sp, #8              /* cpsr, _pad */
    stmfd sp!, {r0-r12, lr}
    mrs r0, spsr
    str r0, [sp, #TF_CPSR]
    tst r0, #PSR_T              /* flags: eq in ARM state, ne in Thumb */
    mov r0, sp
.endm

    exception_entry undef_entry, 0
    subeq r1, lr, #4            /* the undefined instruction */
    subne r1, lr, #2
    bl  undef_handler
    b   exception_return

    exception_entry svc_entry, 0
    subeq r1, lr, #4            /* the svc instruction */
    subne r1, lr, #2
    bl  svc_handler
    b   exception_return

    exception_entry pabt_entry, 4
    mrc p15, 0, r1, c6, c0, 2   /* IFAR */
    mrc p15, 0, r2, c5, c0, 1   /* IFSR */
    bl  prefetch_abort_handler
    b   exception_return

    exception_entry dabt_entry, 8
    mrc p15, 0, r1, c6, c0, 0   /* DFAR */
    mrc p15, 0, r2, c5, c0, 0   /* DFSR */
    bl  data_abort_handler
    b   exception_return

    exception_entry fiq_entry, 4
    mov r1, lr
    bl  fiq_handler

exception_return:
    ldr r0, [sp, #TF_CPSR]
    msr spsr_cxsf, r0
    ldmfd sp!, {r0-r12, lr}
    add sp, sp, #8
    movs pc, lr                 /* cpsr = spsr */

irq_entry:
    sub lr, lr, #4
    stmfd sp!, {r0-r3, r12, lr}
    bl  irq_handler
    ldmfd sp!, {r0-r3, r12, pc}^

    .section .bss.stacks, "aw", %nobits
    .balign 8
    .space 16384
__svc_stack_top:
    .space 4096
__irq_stack_top:
    .space 4096
__abt_stack_top:
    .space 4096
__und_stack_top:
    .space 512
__fiq_stack_top:
