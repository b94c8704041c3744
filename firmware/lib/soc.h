/*
 * soc.h - the soclab SoC as the guest sees it (SOC-DATASHEET.md §2, §4).
 *
 * Block base addresses for both boards (picked by __arm__ / __i386__),
 * register offsets and bits as named in the datasheet, IRQ source numbers,
 * and volatile MMIO accessors. Every register block takes only aligned 32-bit
 * accesses, except the regbank WINDOW (8/16/32-bit) and the VRAM aperture.
 */
#ifndef SOCLAB_SOC_H
#define SOCLAB_SOC_H

#include <stdint.h>

/* §2 memory maps */
#if defined(__arm__)
#define SYSCON_BASE     0x10000000u
#define UART0_BASE      0x10001000u
#define TIMER0_BASE     0x10002000u
#define INTC_BASE       0x10003000u
#define REGBANK_BASE    0x10004000u
#define FIFODMA_BASE    0x10010000u
#define DISPLAY_BASE    0x10020000u
#define VRAM_APERTURE   0x18000000u
#define DRAM_BASE       0x60000000u
#elif defined(__i386__)
#define SYSCON_BASE     0xFE000000u
#define UART0_BASE      0xFE001000u
#define TIMER0_BASE     0xFE002000u
#define INTC_BASE       0xFE003000u
#define REGBANK_BASE    0xFE004000u
#define FIFODMA_BASE    0xFE010000u
#define DISPLAY_BASE    0xFE020000u
#define VRAM_APERTURE   0xFD000000u
#define DRAM_BASE       0x00000000u
#else
#error "soclab firmware supports only ARMv7 (__arm__) and x86-32 (__i386__)"
#endif

/* intc source numbers; on x86 source n arrives as vector IRQ_VECTOR_BASE + n */
#define IRQ_UART0       1
#define IRQ_TIMER0      2
#define IRQ_REGBANK     3
#define IRQ_FIFODMA     4
#define IRQ_DISPLAY     5
#define IRQ_VECTOR_BASE 0x20

/* syscon */
#define SYSCON_ID           0x000
#define SYSCON_BOARD        0x004
#define SYSCON_RAM_BASE     0x008
#define SYSCON_RAM_SIZE     0x00C
#define SYSCON_EXIT         0x010
#define SYSCON_TIME_LO      0x018
#define SYSCON_TIME_HI      0x01C
#define SYSCON_ID_VALUE     0x534F434Cu
#define SYSCON_BOARD_ARMV7  1
#define SYSCON_BOARD_X86    2

/* uart0: ARM PL011 subset */
#define UART_DR         0x000
#define UART_FR         0x018
#define UART_IBRD       0x024
#define UART_FBRD       0x028
#define UART_LCR_H      0x02C
#define UART_CR         0x030
#define UART_IMSC       0x038
#define UART_RIS        0x03C
#define UART_MIS        0x040
#define UART_ICR        0x044
#define UART_FR_RXFE    (1u << 4)
#define UART_FR_TXFF    (1u << 5)
#define UART_FR_TXFE    (1u << 7)
#define UART_INT_RX     (1u << 4)
#define UART_INT_TX     (1u << 5)

/* timer0: 1 MHz virtual clock */
#define TIMER_COUNT_LO      0x000
#define TIMER_COUNT_HI      0x004
#define TIMER_COMPARE_LO    0x008
#define TIMER_COMPARE_HI    0x00C
#define TIMER_CTRL          0x010
#define TIMER_PERIOD        0x014
#define TIMER_STATUS        0x018
#define TIMER_CTRL_ENABLE   (1u << 0)
#define TIMER_CTRL_PERIODIC (1u << 1)
#define TIMER_STATUS_MATCH  (1u << 0)
#define TIMER_HZ            1000000u

/* intc: ARM PL190 VIC subset */
#define INTC_IRQSTATUS      0x000
#define INTC_RAWINTR        0x008
#define INTC_INTENABLE      0x010
#define INTC_INTENCLEAR     0x014
#define INTC_SOFTINT        0x018
#define INTC_SOFTINTCLEAR   0x01C

/* regbank */
#define REGBANK_ID              0x000
#define REGBANK_VERSION         0x004
#define REGBANK_SCRATCH0        0x008
#define REGBANK_SCRATCH1        0x00C
#define REGBANK_CTRL            0x010
#define REGBANK_STATUS          0x014
#define REGBANK_INT_STATUS      0x018
#define REGBANK_INT_ENABLE      0x01C
#define REGBANK_EVENT_COUNT     0x020
#define REGBANK_DOORBELL        0x024
#define REGBANK_TIMESTAMP_LO    0x028
#define REGBANK_TIMESTAMP_HI    0x02C
#define REGBANK_FLAGS_SET       0x030
#define REGBANK_FLAGS_CLR       0x034
#define REGBANK_FLAGS           0x038
#define REGBANK_WINDOW          0x100
#define REGBANK_WINDOW_SIZE     0x100
#define REGBANK_ID_VALUE        0x52454742u
#define REGBANK_CTRL_ENABLE         (1u << 0)
#define REGBANK_CTRL_DOORBELL_IRQ   (1u << 1)
#define REGBANK_CTRL_LED_SHIFT      4
#define REGBANK_STATUS_READY        (1u << 0)
#define REGBANK_STATUS_BUSY         (1u << 1)
#define REGBANK_INT_DOORBELL_DONE   (1u << 0)
#define REGBANK_INT_EVENT_OVERFLOW  (1u << 1)

/* fifo-dma: global registers */
#define FIFODMA_ID              0x000
#define FIFODMA_VERSION         0x004
#define FIFODMA_GCTRL           0x008
#define FIFODMA_GIRQ_STATUS     0x00C
#define FIFODMA_RX_LEVEL        0x010
#define FIFODMA_RX_THRESH       0x014
#define FIFODMA_TX_LEVEL        0x018
#define FIFODMA_FIFO_DEPTH      0x01C
#define FIFODMA_FIFO_STATUS     0x020
#define FIFODMA_FIFO_IRQ_EN     0x024
#define FIFODMA_RX_DROPPED      0x028
#define FIFODMA_ADDR_BITS       0x02C
#define FIFODMA_RX_DATA         0x030
#define FIFODMA_TX_DATA         0x034
#define FIFODMA_ID_VALUE        0x464D4144u
#define FIFODMA_GCTRL_ENABLE        (1u << 0)
#define FIFODMA_GCTRL_SOFT_RESET    (1u << 1)
#define FIFODMA_FIFO_RX_THRESHOLD   (1u << 0)
#define FIFODMA_FIFO_RX_OVERFLOW    (1u << 1)
#define FIFODMA_FIFO_TX_EMPTY       (1u << 2)
/* fifo-dma: channel n registers at FIFODMA_CH(n) + offset */
#define FIFODMA_CH(n)           (0x100 + (n) * 0x40)
#define FIFODMA_CH_CTRL         0x00
#define FIFODMA_CH_STATUS       0x04
#define FIFODMA_CH_DESC_ADDR    0x08
#define FIFODMA_CH_CUR_DESC     0x0C
#define FIFODMA_CH_BYTES        0x10
#define FIFODMA_CH_DESC_DONE    0x14
#define FIFODMA_CTRL_START      (1u << 0)
#define FIFODMA_CTRL_ABORT      (1u << 1)
#define FIFODMA_CTRL_MODE_SHIFT 4
#define FIFODMA_MODE_MEM2MEM    0
#define FIFODMA_MODE_DEV2MEM    1
#define FIFODMA_MODE_MEM2DEV    2
#define FIFODMA_CTRL_IRQ_DONE   (1u << 8)
#define FIFODMA_CTRL_IRQ_ERR    (1u << 9)
#define FIFODMA_CTRL_IRQ_DESC   (1u << 10)
#define FIFODMA_STATUS_BUSY     (1u << 0)
#define FIFODMA_STATUS_DONE     (1u << 1)
#define FIFODMA_STATUS_ERROR    (1u << 2)
#define FIFODMA_STATUS_DESC_IRQ (1u << 3)
#define FIFODMA_STATUS_ERR_CODE(s) (((s) >> 8) & 0xFFu)
/* fifo-dma descriptor (32 bytes, 32-byte aligned, in system memory) */
struct fifodma_desc {
    uint32_t src;
    uint32_t dst;
    uint32_t len;
    uint32_t flags;
    uint32_t next;
    uint32_t result;
    uint32_t dstatus;
    uint32_t reserved;
} __attribute__((aligned(32)));
#define FIFODMA_DESC_OWN        (1u << 31)
#define FIFODMA_DESC_IRQ        (1u << 0)
#define FIFODMA_DESC_LAST       (1u << 1)
#define FIFODMA_DSTATUS_OK      1
#define FIFODMA_DSTATUS_ERROR   2

/* display */
#define DISPLAY_ID          0x000
#define DISPLAY_CTRL        0x004
#define DISPLAY_STATUS      0x008
#define DISPLAY_WIDTH       0x00C
#define DISPLAY_HEIGHT      0x010
#define DISPLAY_STRIDE      0x014
#define DISPLAY_FORMAT      0x018
#define DISPLAY_BASE_ADDR   0x01C   /* the BASE register; DISPLAY_BASE is the block */
#define DISPLAY_FRAME_COUNT 0x020
#define DISPLAY_VRAM_BASE   0x024
#define DISPLAY_VRAM_SIZE   0x028
#define DISPLAY_ID_VALUE    0x44495350u
#define DISPLAY_CTRL_ENABLE     (1u << 0)
#define DISPLAY_CTRL_VSYNC_IRQ  (1u << 1)
#define DISPLAY_STATUS_VSYNC    (1u << 0)
#define DISPLAY_STATUS_UNDERRUN (1u << 1)
#define DISPLAY_FORMAT_XRGB8888 0
#define DISPLAY_FORMAT_RGB565   1

/* MMIO accessors: one access of exactly the named width, never merged or split. */
static inline uint32_t mmio_read32(uintptr_t addr)
{
    return *(volatile uint32_t *)addr;
}

static inline void mmio_write32(uintptr_t addr, uint32_t value)
{
    *(volatile uint32_t *)addr = value;
}

static inline uint8_t mmio_read8(uintptr_t addr)
{
    return *(volatile uint8_t *)addr;
}

static inline void mmio_write8(uintptr_t addr, uint8_t value)
{
    *(volatile uint8_t *)addr = value;
}

#endif /* SOCLAB_SOC_H */
