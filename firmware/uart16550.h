/*
 * One character out of the demo board's uart16550 model, polled (board.h has its
 * registers): the putc_uart that print.h writes through, kept apart from console.h so that
 * print.h depends on it and console.h on both, not print.h and console.h on each other.
 */
#ifndef COSIM_FIRMWARE_UART16550_H
#define COSIM_FIRMWARE_UART16550_H

#include <stdint.h>

#include "board.h"

static inline void putc_uart(char c) {
	while (!(read32(UART_LSR) & UART_LSR_THRE))
		;
	write32(UART_THR, (uint8_t)c);
}

#endif
