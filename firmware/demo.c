/*
 * cosim demo: a bare-metal program for dts/demo-board.dts whose peripherals are cosim's
 * TypeScript models behind QEMU's Remote Port. It
 *   - prints through the uart16550 model (polling LSR), and echoes what was typed,
 *   - sets up the GICv2 and takes real interrupts at EL3,
 *   - times a one-shot interrupt and three periodic ones (waiting in WFI) with the timer
 *     model, which counts simulated nanoseconds,
 *   - copies a buffer between two RAM areas with the dma model, waiting for its done
 *     interrupt, and checks a copy from an unmapped address fails with an error,
 *   - writes the SRAM model from the CPU and copies it into RAM with the DMA engine,
 * and ends QEMU through semihosting with status 0 if all went well, 1 if not.
 */
#include <stddef.h>
#include <stdint.h>

#include "board.h"
#include "console.h"
#include "gic.h"


/* --- interrupts ---------------------------------------------------------------------- */

static volatile unsigned timer_irqs;
static volatile uint64_t timer_irq_time;
static volatile unsigned dma_irqs;
static volatile uint32_t dma_status;
static volatile unsigned spurious;

void irq_handler(void) {
	uint32_t iar = read32(GICC_IAR);
	unsigned id = iar & 0x3ff;
	if (id >= 1020) {
		spurious++;
		return;
	}
	if (id == TIMER_IRQ) {
		timer_irq_time = timer_now();
		write32(TIMER_STATUS, TIMER_STATUS_EXPIRED); /* lowers the line before the EOI */
		timer_irqs++;
	} else if (id == DMA_IRQ) {
		uint32_t s = read32(DMA_STATUS);
		dma_status = s;
		write32(DMA_STATUS, s & (DMA_STATUS_DONE | DMA_STATUS_ERROR));
		dma_irqs++;
	} else {
		spurious++;
	}
	write32(GICC_EOIR, iar);
}

void exception_fatal(uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far) {
	report_exception("demo", kind, esr, elr, far);
	semihosting_exit(2);
}

/* About 3 instructions an iteration: with -icount shift=0, 3 ns of guest time. */
static void spin(unsigned n) {
	for (unsigned i = 0; i < n; i++) __asm__ volatile("nop");
}

/*
 * Waits until *counter reaches target, or fails after timeout_ns of simulated time. It
 * polls the timer's clock every few hundred instructions: each poll is a Remote Port
 * access, which tells the models QEMU's time (so a due timer fires at once) and during
 * which QEMU keeps serving the DMA engine. Between polls it spins, so that guest time also
 * passes under -icount (where waiting for an answer takes no guest time) without a round
 * trip per few nanoseconds.
 */
static int wait_count(volatile unsigned *counter, unsigned target, uint64_t timeout_ns) {
	uint64_t start = timer_now();
	while (*counter < target) {
		if (timer_now() - start > timeout_ns) return 0;
		spin(128);
	}
	return 1;
}

/* --- tests --------------------------------------------------------------------------- */

/*
 * Whatever was typed at cosim up's console by now (cosim hands it to the UART as soon as
 * the simulation runs), echoed back: shows that the keyboard reaches the guest.
 */
static void echo_typed(void) {
	char buf[64];
	unsigned n = 0;
	while (n < sizeof buf - 1 && (read32(UART_LSR) & UART_LSR_DR))
		buf[n++] = (char)read32(UART_RBR);
	if (n == 0)
		return;
	buf[n] = 0;
	puts_uart("demo: typed at the console: ");
	puts_uart(buf);
	puts_uart("\n");
}

static void test_uart(void) {
	puts_uart("uart16550:\n");
	write32(UART_SCR, 0x5a);
	check(read32(UART_SCR) == 0x5a, "scratch register reads back");
	check((read32(UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT)) == (UART_LSR_THRE | UART_LSR_TEMT), "LSR: transmitter empty");
	check((read32(UART_IIR) & 0xcf) == 0xc1, "IIR: FIFOs on, no interrupt pending");
}

static void test_timer(void) {
	const uint64_t interval = 1000000; /* 1 ms of simulated time */
	puts_uart("timer:\n");
	write32(TIMER_INTERVAL_LO, (uint32_t)interval);
	write32(TIMER_INTERVAL_HI, 0);
	uint64_t t0 = timer_now();
	write32(TIMER_CTRL, TIMER_CTRL_ENABLE | TIMER_CTRL_IRQ_EN);
	int fired = wait_count(&timer_irqs, 1, 100 * interval);
	check(fired, "one-shot interrupt taken");
	if (!fired) return;
	uint64_t took = timer_irq_time - t0;
	puts_uart("  interrupt after ");
	put_dec(took);
	puts_uart(" ns of simulated time (programmed ");
	put_dec(interval);
	puts_uart(")\n");
	check(took >= interval, "not before the programmed time");
	check((read32(TIMER_CTRL) & TIMER_CTRL_ENABLE) == 0, "one-shot timer stopped");
	check(read32(TIMER_STATUS) == 0, "status cleared by the handler");

	/* Periodic: sleep in WFI; QEMU's SYNCs move the model's clock while the CPU sleeps. */
	const uint64_t period = 200000;
	write32(TIMER_INTERVAL_LO, (uint32_t)period);
	t0 = timer_now();
	write32(TIMER_CTRL, TIMER_CTRL_ENABLE | TIMER_CTRL_PERIODIC | TIMER_CTRL_IRQ_EN);
	for (;;) {
		irq_disable();
		if (timer_irqs >= 4) break;
		wfi(); /* wakes for a pending interrupt even while masked */
		irq_enable();
	}
	irq_enable();
	write32(TIMER_CTRL, 0);
	uint64_t elapsed = timer_irq_time - t0;
	puts_uart("  3 periodic interrupts in WFI, the last after ");
	put_dec(elapsed);
	puts_uart(" ns\n");
	check(elapsed >= 3 * period, "periods not shorter than programmed");
}

#define DMA_LEN_BYTES 40000u
static uint8_t dma_src[DMA_LEN_BYTES] __attribute__((aligned(64)));
static uint8_t dma_dst[DMA_LEN_BYTES + 64] __attribute__((aligned(64)));

/* Starts a copy and waits for the DMA interrupt; returns the STATUS the handler saw. */
static uint32_t dma_copy(uintptr_t dst, uintptr_t src, uint32_t len) {
	unsigned before = dma_irqs;
	write32(DMA_SRC_LO, (uint32_t)src);
	write32(DMA_SRC_HI, (uint32_t)((uint64_t)src >> 32));
	write32(DMA_DST_LO, (uint32_t)dst);
	write32(DMA_DST_HI, (uint32_t)((uint64_t)dst >> 32));
	write32(DMA_LEN, len);
	write32(DMA_CTRL, DMA_CTRL_START | DMA_CTRL_IRQ_EN);
	if (!wait_count(&dma_irqs, before + 1, 1000000000)) return 0;
	return dma_status;
}

static int same(const volatile uint8_t *a, const volatile uint8_t *b, size_t n) {
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i]) return 0;
	return 1;
}

static void test_dma(void) {
	puts_uart("dma:\n");
	for (unsigned i = 0; i < DMA_LEN_BYTES; i++) dma_src[i] = (uint8_t)(i * 7 + (i >> 8));
	for (unsigned i = 0; i < sizeof dma_dst; i++) dma_dst[i] = 0xee;

	uint32_t s = dma_copy((uintptr_t)dma_dst, (uintptr_t)dma_src, DMA_LEN_BYTES);
	check(s == DMA_STATUS_DONE, "RAM to RAM copy done, interrupt taken");
	check(read32(DMA_COPIED) == DMA_LEN_BYTES, "COPIED = LEN");
	check(same(dma_dst, dma_src, DMA_LEN_BYTES), "destination equals source");
	check(dma_dst[DMA_LEN_BYTES] == 0xee, "nothing written past the end");

	s = dma_copy((uintptr_t)dma_dst, UNMAPPED_ADDR, 256);
	puts_uart("  copy from an unmapped address: STATUS ");
	put_hex(s);
	puts_uart("\n");
	check((s & DMA_STATUS_ERROR) && !(s & DMA_STATUS_ERR_WRITE) && DMA_STATUS_ERR_RESP(s) != 0, "bus error reported");
	check(read32(DMA_ERR_ADDR_LO) == (uint32_t)UNMAPPED_ADDR && read32(DMA_ERR_ADDR_HI) == 0, "ERR_ADDR is the failed read");
	check(read32(DMA_STATUS) == 0, "status cleared by the handler");
}

static void test_sram(void) {
	volatile uint32_t *sram = (volatile uint32_t *)SRAM_BASE;
	puts_uart("ram (SRAM model):\n");
	for (unsigned i = 0; i < 256; i++) sram[i] = 0x5a000000u | (i * 0x10101u);
	int ok = 1;
	for (unsigned i = 0; i < 256; i++) ok &= sram[i] == (0x5a000000u | (i * 0x10101u));
	check(ok, "CPU writes read back");
	((volatile uint8_t *)SRAM_BASE)[SRAM_SIZE - 1] = 0xa5;
	check(((volatile uint8_t *)SRAM_BASE)[SRAM_SIZE - 1] == 0xa5, "last byte of the window");
	/* The DMA engine reads the SRAM through QEMU, which forwards to the model. */
	uint32_t s = dma_copy((uintptr_t)dma_dst, SRAM_BASE, 1024);
	check(s == DMA_STATUS_DONE && same(dma_dst, (const volatile uint8_t *)SRAM_BASE, 1024), "DMA from SRAM to RAM");
}

int main(void) {
	uart_init();
	puts_uart("\ncosim demo: bare-metal AArch64 at EL3 on arm-generic-fdt; UART, timer, DMA and SRAM are TypeScript models\n");
	static const unsigned spis[] = {TIMER_IRQ, DMA_IRQ};
	gic_init(spis, 2);
	irq_enable();

	test_uart();
	test_timer();
	test_dma();
	test_sram();

	echo_typed();
	check(spurious == 0, "no spurious interrupts");
	if (failures) {
		puts_uart("demo: ");
		put_dec((uint64_t)failures);
		puts_uart(" test(s) FAILED\n");
		return 1;
	}
	puts_uart("demo: all tests passed\n");
	return 0;
}
