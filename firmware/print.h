/*
 * Text output for firmware without a C library, over the program's own putc_uart(char),
 * defined before this is included (uart16550.h for the demo board; virt-pcie: QEMU
 * virt's PL011): strings, hexadecimal and decimal numbers, and the report of an exception
 * that reached start.h's fatal vector.
 */
#ifndef COSIM_FIRMWARE_PRINT_H
#define COSIM_FIRMWARE_PRINT_H

#include <stdint.h>

#include "fmt.h"

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

/* Says which exception reached start.h's fatal vector (`kind`: its index in the vector
 * table), and where (ESR, ELR, FAR), after `program`. */
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
