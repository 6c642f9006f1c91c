/*
 * The demo board's memory map and interrupts, as dts/demo-board.dts wires them, and the
 * register maps of cosim's built-in models (README.md, "Built-in models").
 */
#ifndef DEMO_BOARD_H
#define DEMO_BOARD_H

#include <stdint.h>

/* GICv2 (arm,gic): distributor and CPU interface. */
#define GICD_BASE 0xf9010000UL
#define GICC_BASE 0xf9020000UL
#define GIC_SPI(n) (32u + (n))

/* uart16550 with cosim,reg-shift = <2>: register i at offset i * 4. */
#define UART_BASE 0xa0000000UL
#define UART_REG(i) (UART_BASE + ((i) << 2))
#define UART_THR UART_REG(0)
#define UART_RBR UART_REG(0)
#define UART_DLL UART_REG(0)
#define UART_IER UART_REG(1)
#define UART_DLM UART_REG(1)
#define UART_IIR UART_REG(2)
#define UART_FCR UART_REG(2)
#define UART_LCR UART_REG(3)
#define UART_MCR UART_REG(4)
#define UART_LSR UART_REG(5)
#define UART_SCR UART_REG(7)
#define UART_LSR_DR 0x01u
#define UART_LSR_THRE 0x20u
#define UART_LSR_TEMT 0x40u
#define UART_IRQ GIC_SPI(40)

/* timer: counts simulated nanoseconds. */
#define TIMER_BASE 0xa0001000UL
#define TIMER_CTRL (TIMER_BASE + 0x00)
#define TIMER_STATUS (TIMER_BASE + 0x04)
#define TIMER_INTERVAL_LO (TIMER_BASE + 0x08)
#define TIMER_INTERVAL_HI (TIMER_BASE + 0x0c)
#define TIMER_NOW_LO (TIMER_BASE + 0x10)
#define TIMER_NOW_HI (TIMER_BASE + 0x14)
#define TIMER_CTRL_ENABLE 0x1u
#define TIMER_CTRL_PERIODIC 0x2u
#define TIMER_CTRL_IRQ_EN 0x4u
#define TIMER_STATUS_EXPIRED 0x1u
#define TIMER_IRQ GIC_SPI(41)

/* dma: copies through the Remote Port memory slave. */
#define DMA_BASE 0xa0002000UL
#define DMA_SRC_LO (DMA_BASE + 0x00)
#define DMA_SRC_HI (DMA_BASE + 0x04)
#define DMA_DST_LO (DMA_BASE + 0x08)
#define DMA_DST_HI (DMA_BASE + 0x0c)
#define DMA_LEN (DMA_BASE + 0x10)
#define DMA_CTRL (DMA_BASE + 0x14)
#define DMA_STATUS (DMA_BASE + 0x18)
#define DMA_COPIED (DMA_BASE + 0x1c)
#define DMA_ERR_ADDR_LO (DMA_BASE + 0x20)
#define DMA_ERR_ADDR_HI (DMA_BASE + 0x24)
#define DMA_CTRL_START 0x1u
#define DMA_CTRL_IRQ_EN 0x2u
#define DMA_STATUS_BUSY 0x1u
#define DMA_STATUS_DONE 0x2u
#define DMA_STATUS_ERROR 0x4u
#define DMA_STATUS_ERR_WRITE 0x8u
#define DMA_STATUS_ERR_RESP(s) (((s) >> 8) & 0xfu)
#define DMA_IRQ GIC_SPI(42)

/* ram: 64 KiB of SRAM served by the TypeScript model. */
#define SRAM_BASE 0xa0010000UL
#define SRAM_SIZE 0x10000UL

/* Nothing is mapped here: accesses fail. */
#define UNMAPPED_ADDR 0x80000000UL

static inline uint32_t read32(uintptr_t addr) { return *(volatile uint32_t *)addr; }
static inline void write32(uintptr_t addr, uint32_t v) { *(volatile uint32_t *)addr = v; }

/* Simulated time in ns, from the timer model. */
static inline uint64_t timer_now(void) {
	uint32_t lo = read32(TIMER_NOW_LO); /* latches NOW_HI */
	return ((uint64_t)read32(TIMER_NOW_HI) << 32) | lo;
}

/* What start.S calls and provides. */
void semihosting_exit(int status) __attribute__((noreturn));
void irq_handler(void);
void exception_fatal(uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far) __attribute__((noreturn));
int main(void);

#endif
