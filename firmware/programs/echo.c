/*
 * echo.c - console input: reads uart0 (polling FR.RXFE) and echoes each line
 * upper-cased, until a line "quit" or 64 lines. Input comes from the host
 * (stdin for `soclab run`, bytes for a test).
 */
#include "runtime.h"

static int getc_blocking(void)
{
    while (mmio_read32(UART0_BASE + UART_FR) & UART_FR_RXFE)
        ;
    return (int)(mmio_read32(UART0_BASE + UART_DR) & 0xFF);
}

int main(void)
{
    char line[80];
    for (int n = 0; n < 64; n++) {
        unsigned len = 0;
        for (;;) {
            int c = getc_blocking();
            if (c == '\n' || len == sizeof(line) - 1)
                break;
            line[len++] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
        }
        line[len] = 0;
        if (len == 4 && line[0] == 'Q' && line[1] == 'U' && line[2] == 'I' && line[3] == 'T')
            break;
        printf("> %s\n", line);
    }
    printf("bye\n");
    return 0;
}
