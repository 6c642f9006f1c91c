/*
 * The console of the demo board's firmware: the uart16550 model, polled (board.h has
 * its registers), with print.h's output over it. Shared by the demo and the examples'
 * programs.
 */
#ifndef COSIM_FIRMWARE_CONSOLE_H
#define COSIM_FIRMWARE_CONSOLE_H

#include <stdint.h>

#include "board.h"
#include "uart16550.h"
#include "print.h"

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

#endif
