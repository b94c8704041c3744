/*
 * bare_uart_arm.S - soclab-armv7 smoke test written against the datasheet
 * alone, without the runtime: "datasheet ok\n" to uart0 DR byte by byte
 * (waiting while FR.TXFF is set), then 0 to syscon EXIT. Uses no stack.
 */
    .syntax unified
    .arm

    .equ SYSCON, 0x10000000
    .equ SYSCON_EXIT, 0x010
    .equ UART0, 0x10001000
    .equ UART_DR, 0x000
    .equ UART_FR, 0x018
    .equ UART_FR_TXFF, 1 << 5

    .text
    .global _start
_start:
    ldr r0, =UART0
    adr r1, message
1:  ldrb r2, [r1], #1
    cmp r2, #0
    beq 3f
2:  ldr r3, [r0, #UART_FR]
    tst r3, #UART_FR_TXFF
    bne 2b
    str r2, [r0, #UART_DR]
    b   1b
3:  ldr r0, =SYSCON
    mov r1, #0
    str r1, [r0, #SYSCON_EXIT]
4:  b   4b

message:
    .asciz "datasheet ok\n"
    .balign 4
