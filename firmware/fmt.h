/*
 * Number formatting for firmware without a C library (print.h, and bench/mmio's guest).
 */
#ifndef COSIM_FIRMWARE_FMT_H
#define COSIM_FIRMWARE_FMT_H

#include <stdint.h>

/* Writes `v` in decimal into `buf` and returns where the text starts. */
static inline const char *format_dec(char buf[21], uint64_t v) {
	int i = 20;
	buf[i] = 0;
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return &buf[i];
}

#endif
