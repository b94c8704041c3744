/*
 * crt0.S - x86-32 bare-metal entry, GDT and IDT.
 *
 * Boot state (SOC-DATASHEET.md §5): 32-bit protected mode, flat segments,
 * paging and interrupts off, EBX = DTB physical address. _start is the first
 * byte of the image.
 *
 * Entry loads our own GDT (0x08 flat ring-0 code, 0x10 flat data), reloads
 * every segment register, sets up the stack, clears .bss, stores EBX in
 * soc_boot_dtb, fills a 256-entry IDT of ring-0 interrupt gates (IF cleared on
 * entry) and calls soc_exit(main()).
 *
 * Each vector has a 16-byte stub that pushes a dummy error code where the CPU
 * pushes none (all but 8, 10-14 and 17), then the vector number, and jumps to
 * isr_common: pushal, isr_dispatch(struct trapframe *), popal, iret. The frame
 * is on the stack, so a handler may edit eip or registers.
 */
    .code32

    .equ KERNEL_CS, 0x08
    .equ KERNEL_DS, 0x10
    .equ GATE_INTR32, 0x8E00        /* present, DPL 0, 32-bit interrupt gate */
    .equ STUB_SIZE, 16

    .section .text.start, "ax", @progbits
    .globl _start
_start:
    cli
    cld
    lgdt gdt_descriptor
    ljmp $KERNEL_CS, $1f
1:  movw $KERNEL_DS, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    movl $__stack_top, %esp
    xorl %ebp, %ebp

    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    shrl $2, %ecx
    xorl %eax, %eax
    rep stosl
    movl %ebx, soc_boot_dtb

    xorl %ecx, %ecx
2:  movl %ecx, %eax
    shll $4, %eax
    addl $isr_stubs, %eax
    movl %eax, %edx
    andl $0x0000FFFF, %eax
    orl $(KERNEL_CS << 16), %eax
    andl $0xFFFF0000, %edx
    orl $GATE_INTR32, %edx
    movl %eax, idt(, %ecx, 8)
    movl %edx, idt + 4(, %ecx, 8)
    incl %ecx
    cmpl $256, %ecx
    jne 2b
    lidt idt_descriptor

    call main
    pushl %eax
    call soc_exit

    .text
    .balign STUB_SIZE
isr_stubs:
    .set vector, 0
    .rept 256
    .balign STUB_SIZE
    .if !(vector == 8 || (vector >= 10 && vector <= 14) || vector == 17)
    pushl $0
    .endif
    pushl $vector
    jmp isr_common
    .set vector, vector + 1
    .endr

isr_common:
    pushal
    cld
    pushl %esp                      /* struct trapframe * */
    call isr_dispatch
    addl $4, %esp
    popal
    addl $8, %esp                   /* vector, error code */
    iret

    .section .rodata
    .balign 8
gdt:
    .quad 0
    .quad 0x00CF9B000000FFFF        /* 0x08: code, base 0, limit 4 GiB, accessed */
    .quad 0x00CF93000000FFFF        /* 0x10: data, base 0, limit 4 GiB, accessed */
gdt_end:

    .balign 4
    .word 0
gdt_descriptor:
    .word gdt_end - gdt - 1
    .long gdt
    .word 0
idt_descriptor:
    .word 256 * 8 - 1
    .long idt

    .section .bss.idt, "aw", @nobits
    .balign 8
idt:
    .space 256 * 8

    .section .bss.stack, "aw", @nobits
    .balign 16
    .space 16384
__stack_top:
