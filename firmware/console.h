/*
 * The console of the demo board's firmware: the uart16550 model, polled (board.h has
 * its registers). Shared by the demo and the examples' programs.
 */
#ifndef COSIM_FIRMWARE_CONSOLE_H
#define COSIM_FIRMWARE_CONSOLE_H

#include <stdint.h>

#include "board.h"
#include "fmt.h"

static inline void putc_uart(char c) {
	while (!(read32(UART_LSR) & UART_LSR_THRE))
		;
	write32(UART_THR, (uint8_t)c);
}

static inline void puts_uart(const char *s) {
	for (; *s; s++) {
		if (*s == '\n') putc_uart('\r');
		putc_uart(*s);
	}
}

static inline void put_hex(uint64_t v) {
	puts_uart("0x");
	int started = 0;
	for (int shift = 60; shift >= 0; shift -= 4) {
		unsigned d = (v >> shift) & 0xf;
		if (d || started || shift == 0) {
			putc_uart("0123456789abcdef"[d]);
			started = 1;
		}
	}
}

static inline void put_dec(uint64_t v) {
	char buf[21];
	puts_uart(format_dec(buf, v));
}

static inline void uart_init(void) {
	write32(UART_LCR, 0x83); /* 8N1, divisor latch on */
	write32(UART_DLL, 1);
	write32(UART_DLM, 0);
	write32(UART_LCR, 0x03);
	write32(UART_FCR, 0x07); /* FIFOs on and cleared */
	write32(UART_IER, 0);
	write32(UART_MCR, 0x03);
}

/* Prints one check's outcome; `failures` counts the failed ones. */
static int failures;

static inline void check(int ok, const char *what) {
	puts_uart(ok ? "  ok   " : "  FAIL ");
	puts_uart(what);
	puts_uart("\n");
	if (!ok) failures++;
}

/* Says which exception reached start.S's fatal vector, and where (ESR, ELR, FAR). */
static inline void report_exception(const char *program, uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far) {
	static const char *const kinds[] = {
		"synchronous (SP_EL0)", "IRQ (SP_EL0)", "FIQ (SP_EL0)", "SError (SP_EL0)",
		"synchronous", "IRQ", "FIQ", "SError",
	};
	puts_uart(program);
	puts_uart(": unexpected exception: ");
	puts_uart(kind < 8 ? kinds[kind] : "from a lower EL");
	puts_uart(" ESR ");
	put_hex(esr);
	puts_uart(" ELR ");
	put_hex(elr);
	puts_uart(" FAR ");
	put_hex(far);
	puts_uart("\n");
}

#endif
