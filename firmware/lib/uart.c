/*
 * uart.c - console output on uart0 (PL011 subset, SOC-DATASHEET.md §4) and a
 * small printf.
 *
 * printf understands %s %c %d %i %u %x %X %p %%, the flags '0' and '-', a
 * field width, and the length modifiers l (32-bit, as int) and ll (64-bit).
 * Bytes go out unchanged: '\n' is not turned into "\r\n".
 */
#include "runtime.h"

void uart_putc(char c)
{
    while (mmio_read32(UART0_BASE + UART_FR) & UART_FR_TXFF)
        ;
    mmio_write32(UART0_BASE + UART_DR, (uint8_t)c);
}

void uart_puts(const char *s)
{
    while (*s)
        uart_putc(*s++);
}

struct spec {
    int width;
    char pad;
    int left;
};

static int emit(const char *s, int len, const struct spec *sp)
{
    int fill = sp->width > len ? sp->width - len : 0;
    int n = len + fill;

    if (!sp->left) {
        /* zero padding goes after the sign */
        if (sp->pad == '0' && len > 0 && *s == '-') {
            uart_putc(*s++);
            len--;
        }
        while (fill-- > 0)
            uart_putc(sp->pad);
    }
    while (len-- > 0)
        uart_putc(*s++);
    while (sp->left && fill-- > 0)
        uart_putc(' ');
    return n;
}

static int emit_number(uint64_t v, int base, int upper, int negative, const struct spec *sp)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char buf[24];
    char *p = buf + sizeof(buf);
    uint32_t rem;

    do {
        if (base == 16) {
            rem = (uint32_t)v & 0xF;
            v >>= 4;
        } else if (v >> 32) {
            v = udiv64(v, 10, &rem);
        } else {
            rem = (uint32_t)v % 10;
            v = (uint32_t)v / 10;
        }
        *--p = digits[rem];
    } while (v);
    if (negative)
        *--p = '-';
    return emit(p, (int)(buf + sizeof(buf) - p), sp);
}

int vprintf(const char *fmt, va_list ap)
{
    int n = 0;

    for (; *fmt; fmt++) {
        struct spec sp = { 0, ' ', 0 };
        int longs = 0;
        uint64_t u;
        int64_t d;

        if (*fmt != '%') {
            uart_putc(*fmt);
            n++;
            continue;
        }
        fmt++;
        for (;; fmt++) {
            if (*fmt == '0')
                sp.pad = '0';
            else if (*fmt == '-')
                sp.left = 1;
            else
                break;
        }
        while (*fmt >= '0' && *fmt <= '9')
            sp.width = sp.width * 10 + (*fmt++ - '0');
        while (*fmt == 'l') {
            longs++;
            fmt++;
        }

        switch (*fmt) {
        case 'd':
        case 'i':
            d = longs >= 2 ? va_arg(ap, int64_t) : va_arg(ap, int);
            u = d < 0 ? -(uint64_t)d : (uint64_t)d;
            n += emit_number(u, 10, 0, d < 0, &sp);
            break;
        case 'u':
        case 'x':
        case 'X':
            u = longs >= 2 ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int);
            n += emit_number(u, *fmt == 'u' ? 10 : 16, *fmt == 'X', 0, &sp);
            break;
        case 'p':
            n += emit("0x", 2, &(struct spec){ 0, ' ', 0 });
            sp.width = 8;
            sp.pad = '0';
            n += emit_number((uintptr_t)va_arg(ap, void *), 16, 0, 0, &sp);
            break;
        case 'c': {
            char c = (char)va_arg(ap, int);
            n += emit(&c, 1, &sp);
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            n += emit(s, (int)strlen(s), &sp);
            break;
        }
        case '%':
            uart_putc('%');
            n++;
            break;
        case '\0':
            return n;
        default:        /* unknown conversion: print it as written */
            uart_putc('%');
            uart_putc(*fmt);
            n += 2;
            break;
        }
    }
    return n;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}
