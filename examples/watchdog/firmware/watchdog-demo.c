/*
 * A bare-metal program for examples/watchdog/board.dts (cosim's demo board plus the
 * watchdog at 0xa0003000): it takes the watchdog's interrupt three times, servicing it with
 * INTCLR, times the interrupts with the demo board's timer (simulated ns), checks the lock,
 * and ends QEMU through semihosting with status 0 if all went well.
 */
#include <stdint.h>

#include "board.h"
#include "console.h"
#include "gic.h"

#define WDT_BASE 0xa0003000UL
#define WDT_LOAD (WDT_BASE + 0x000)
#define WDT_VALUE (WDT_BASE + 0x004)
#define WDT_CTRL (WDT_BASE + 0x008)
#define WDT_INTCLR (WDT_BASE + 0x00c)
#define WDT_RIS (WDT_BASE + 0x010)
#define WDT_MIS (WDT_BASE + 0x014)
#define WDT_LOCK (WDT_BASE + 0xc00)
#define WDT_PERIPHID0 (WDT_BASE + 0xfe0)
#define WDT_CTRL_INTEN 0x1u
#define WDT_UNLOCK 0x1acce551u
#define WDT_IRQ GIC_SPI(43)
/* board.dts: cosim,tick-ns = <1000>, a 1 MHz watchdog clock. */
#define WDT_TICK_NS 1000u

static volatile unsigned wdt_irqs;
static volatile uint64_t wdt_irq_time[4];
static volatile unsigned spurious;

void irq_handler(void) {
	uint32_t iar = read32(GICC_IAR);
	unsigned id = iar & 0x3ff;
	if (id == WDT_IRQ && (read32(WDT_MIS) & 1)) {
		if (wdt_irqs < 4) wdt_irq_time[wdt_irqs] = timer_now();
		write32(WDT_INTCLR, 1); /* lowers the line and restarts the count */
		wdt_irqs++;
	} else if (id < 1020) {
		spurious++;
	}
	if (id < 1020) write32(GICC_EOIR, iar);
}

void exception_fatal(uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far) {
	report_exception("watchdog demo", kind, esr, elr, far);
	semihosting_exit(2);
}

int main(void) {
	uart_init();
	puts_uart("\nwatchdog demo: an SP805-style watchdog written against cosim/models\n");
	static const unsigned spis[] = {WDT_IRQ};
	gic_init(spis, 1);
	irq_enable();

	check(read32(WDT_PERIPHID0) == 0x05 && read32(WDT_PERIPHID0 + 4) == 0x18, "peripheral id 0x05 0x18");
	check(read32(WDT_LOAD) == 0xffffffffu, "LOAD resets to 0xffffffff");

	const uint32_t counts = 300; /* 300 µs at 1 MHz */
	write32(WDT_LOAD, counts);
	uint64_t t0 = timer_now();
	write32(WDT_CTRL, WDT_CTRL_INTEN);
	/* Sleep in WFI: QEMU's SYNCs move the model's clock while the CPU sleeps. */
	for (;;) {
		irq_disable();
		if (wdt_irqs >= 3) break;
		wfi();
		irq_enable();
	}
	irq_enable();
	write32(WDT_CTRL, 0);
	for (unsigned i = 0; i < 3; i++) {
		puts_uart("  interrupt ");
		put_dec(i + 1);
		puts_uart(" after ");
		put_dec(wdt_irq_time[i] - t0);
		puts_uart(" ns\n");
	}
	const uint64_t period = (uint64_t)counts * WDT_TICK_NS;
	check(wdt_irq_time[0] - t0 >= period, "first interrupt not before LOAD counts");
	check(wdt_irq_time[2] - t0 >= 3 * period, "each INTCLR restarted the count");
	/* Stopped, a timeout that came after the last INTCLR stays raw until cleared. */
	write32(WDT_INTCLR, 1);
	check(read32(WDT_RIS) == 0 && read32(WDT_VALUE) == counts, "INTCLR clears the raw interrupt; stopped, VALUE is LOAD");

	write32(WDT_LOCK, 0);
	write32(WDT_LOAD, 7);
	check(read32(WDT_LOCK) == 1 && read32(WDT_LOAD) == counts, "locked: LOAD kept");
	write32(WDT_LOCK, WDT_UNLOCK);
	write32(WDT_LOAD, 7);
	check(read32(WDT_LOCK) == 0 && read32(WDT_LOAD) == 7, "unlocked: LOAD written");
	check(spurious == 0, "no spurious interrupts");

	puts_uart(failures == 0 ? "watchdog demo: all tests passed\n" : "watchdog demo: FAILED\n");
	return failures == 0 ? 0 : 1;
}
