/*
 * bare_uart_x86.S - soclab-x86 smoke test written against the datasheet
 * alone, without the runtime: "datasheet ok\n" to uart0 DR byte by byte
 * (waiting while FR.TXFF is set), then 0 to syscon EXIT. Uses no stack and
 * relies on the boot state's flat segments.
 */
    .code32

    .equ SYSCON, 0xFE000000
    .equ SYSCON_EXIT, 0x010
    .equ UART0, 0xFE001000
    .equ UART_DR, 0x000
    .equ UART_FR, 0x018
    .equ UART_FR_TXFF, 1 << 5

    .text
    .globl _start
_start:
    movl $message, %esi
1:  movzbl (%esi), %eax
    testl %eax, %eax
    jz  3f
2:  testl $UART_FR_TXFF, UART0 + UART_FR
    jnz 2b
    movl %eax, UART0 + UART_DR
    incl %esi
    jmp 1b
3:  movl $0, SYSCON + SYSCON_EXIT
4:  jmp 4b

message:
    .asciz "datasheet ok\n"
