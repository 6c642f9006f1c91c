/*
 * The guest of bench/mmio.mjs: a bare-metal AArch64 program (EL3, MMU off) that makes
 * COUNT 32-bit accesses to a register of a TypeScript model (board.dts: the built-in `ram`
 * model at 0xa0010000, behind a remote-port-memory-master), one at a time as a driver
 * polling a register would, times them itself with the generic timer in CHUNKS equal
 * chunks (so that a burst of other load on the host spoils a few chunks, not the figure),
 * reports through semihosting and ends QEMU with status 0 (1 if a read returned the wrong
 * value).
 *
 * Built by the bench into a temp dir:
 *   aarch64-linux-gnu-gcc -O2 -DCOUNT=N -DWRITES=0|1 … -T mmio.ld mmio.c
 * Its report, one line on QEMU's semihosting console (QEMU's stderr):
 *   mmio: <reads|writes> <COUNT> in <ticks> ticks of <freq> Hz; chunks of <n>: <ticks> …
 */
#include <stdint.h>

#include "../../firmware/fmt.h"

#ifndef COUNT
#error "build with -DCOUNT=<accesses>"
#endif
#ifndef WRITES
#define WRITES 0
#endif

#define CHUNKS (COUNT >= 1000 ? 50 : 1)

#define REG 0xa0010000UL /* board.dts: the `ram` model's first word */
#define MAGIC 0x5a17c0deu

/* Entry: QEMU's loader starts CPU 0 here in EL3; a stack, then main. */
__asm__(
	"	.section .text.start, \"ax\"\n"
	"	.global _start\n"
	"_start:\n"
	"	ldr	x0, =__stack_top\n"
	"	mov	sp, x0\n"
	"	bl	main\n"
	"1:	wfi\n"
	"	b	1b\n"
	"	.text\n");

int main(void);

/* ARM semihosting: operation in w0, parameter block in x1, HLT #0xf000 on AArch64. */
static uint64_t semihost(uint64_t op, const void *arg) {
	register uint64_t x0 __asm__("x0") = op;
	register const void *x1 __asm__("x1") = arg;
	__asm__ volatile("hlt #0xf000" : "+r"(x0) : "r"(x1) : "memory");
	return x0;
}

static void put(const char *s) { semihost(0x04, s); /* SYS_WRITE0 */ }

static void put_dec(uint64_t v) {
	char buf[21];
	put(format_dec(buf, v));
}

static void __attribute__((noreturn)) exit_qemu(uint64_t status) {
	/* SYS_EXIT with ADP_Stopped_ApplicationExit: QEMU exits with `status`. */
	static volatile uint64_t block[2];
	block[0] = 0x20026;
	block[1] = status;
	semihost(0x18, (const void *)block);
	for (;;) __asm__ volatile("wfi");
}

static inline uint64_t ticks(void) {
	uint64_t t;
	__asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(t)::"memory");
	return t;
}

int main(void) {
	volatile uint32_t *reg = (volatile uint32_t *)REG;
	uint64_t freq;
	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(freq));
	uint32_t bad = 0;
	static uint64_t chunk[CHUNKS];
	const uint32_t per = (uint32_t)COUNT / CHUNKS; /* the last chunk takes the remainder */

	*reg = MAGIC;
	uint32_t i = 0;
	const uint64_t t0 = ticks();
	uint64_t t = t0;
	for (uint32_t c = 0; c < CHUNKS; c++) {
		const uint32_t end = c == CHUNKS - 1 ? (uint32_t)COUNT : i + per;
		for (; i < end; i++) {
#if WRITES
			*reg = i;
#else
			bad |= *reg ^ MAGIC;
#endif
		}
		const uint64_t now = ticks();
		chunk[c] = now - t;
		t = now;
	}
#if WRITES
	if (COUNT > 0 && *reg != (uint32_t)COUNT - 1) bad = 1;
#endif

	put(WRITES ? "mmio: writes " : "mmio: reads ");
	put_dec(COUNT);
	put(" in ");
	put_dec(t - t0);
	put(" ticks of ");
	put_dec(freq);
	put(" Hz; chunks of ");
	put_dec(per);
	put(":");
	for (uint32_t c = 0; c + 1 < CHUNKS; c++) { /* the last one may be longer */
		put(" ");
		put_dec(chunk[c]);
	}
	put("\n");
	if (bad) put("mmio: the model returned a wrong value\n");
	exit_qemu(bad ? 1 : 0);
}
