/*
 * virt-pcie: a bare-metal AArch64 program for QEMU's `-M virt` with a PCIe function behind
 * Xilinx QEMU's remote-port-pcie-root-port (served by cosim's serveRootPortFunction). Booted
 * with `-kernel pcie.elf` (EL1, MMU off), it
 *   - enumerates bus 0 through the ECAM, finds the Remote Port root port, gives it bus 1 and
 *     the 32-bit memory window, sizes and assigns the endpoint's memory BARs in that window,
 *     enables memory decoding and bus mastering on both, and prints what it found:
 *       pci 00:00.0 vendor 0x1b36 device 0x8 class 0x60000
 *       rp 00:01.0 vendor 0x10ee device 0x777a class 0x60400
 *       ep 01:00.0 vendor 0x1234 device 0xc051 class 0xff0000 bar0=0x10000000/0x1000
 *   - then runs commands read line by line from the PL011 (what bench/pci.mjs sends):
 *       r N            N 32-bit reads of BAR 0's first word, timed with the generic timer:
 *                      "pcie: reads N in T ticks of F Hz; chunks of n: t1 t2 …" (the format
 *                      of bench/mmio's guest) and the ns per read
 *       d CHUNK LEN [DEPTH]
 *                      (bench model only) a DMA of LEN bytes into RAM in CHUNK-byte writes,
 *                      DEPTH of them in flight (default 1): "pcie: dma LEN bytes in chunks
 *                      of CHUNK, DEPTH in flight: model NS ns (W writes), guest T ticks of
 *                      F Hz" and its MB/s, the data checked
 *       p POLL_US      how `d` waits for the DMA's end: 0 (the default), in one read of the
 *                      model's DMA_WAIT, which it answers at the end; else by reading STATUS
 *                      every POLL_US µs, spinning on the counter in between (WFI would not
 *                      help: in Xilinx QEMU 8.2.7 it does not idle the vCPU)
 *       q              power off (PSCI SYSTEM_OFF: QEMU exits with status 0)
 *     each answered by a line starting "pcie: ok" or "pcie: FAIL", then "pcie: ready" again.
 *     With no command for 3 s it runs "r 1000", "d 4096 65536" (bench model) and "q": a
 *     quick check by hand.
 * A failure prints "pcie: FAIL …"; an unexpected exception prints it and powers off.
 */
#include <stdint.h>

#include "../fmt.h"
#include "virt.h"

/* --- console, timer --------------------------------------------------------------- */

static void putc_uart(char c) {
	while (read32(UART_FR) & UART_FR_TXFF)
		;
	write32(UART_DR, (uint8_t)c);
}

static void puts_uart(const char *s) {
	for (; *s; s++) {
		if (*s == '\n') putc_uart('\r');
		putc_uart(*s);
	}
}

static void put_hex(uint64_t v) {
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

static void put_hex2(unsigned v) {
	putc_uart("0123456789abcdef"[(v >> 4) & 0xf]);
	putc_uart("0123456789abcdef"[v & 0xf]);
}

static void put_dec(uint64_t v) {
	char buf[21];
	puts_uart(format_dec(buf, v));
}

static inline uint64_t ticks(void) {
	uint64_t t;
	__asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(t)::"memory");
	return t;
}

static uint64_t freq;

/*
 * Waits `t` timer ticks reading the counter. Not in WFI: Xilinx QEMU 8.2.7 makes WFI a yield
 * (target/arm/tcg/op_helper.c: the vCPU never halts) that takes the BQL each time, so a WFI
 * loop keeps QEMU's I/O thread, which serves the peer's DMA, waiting for the BQL. Reading
 * the counter takes no lock.
 */
static void sleep_ticks(uint64_t t) {
	const uint64_t t0 = ticks();
	while (ticks() - t0 < t)
		;
}

/* A character from the PL011, or -1 after `timeout` ticks (0: wait forever). */
static int getc_uart(uint64_t timeout) {
	uint64_t t0 = ticks();
	while (read32(UART_FR) & UART_FR_RXFE) {
		if (timeout && ticks() - t0 > timeout) return -1;
		sleep_ticks(freq / 10000); /* 100 µs */
	}
	return (int)(read32(UART_DR) & 0xff);
}

void exception_fatal(uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far) {
	puts_uart("pcie: FAIL unexpected exception ");
	put_dec(kind);
	puts_uart(" ESR ");
	put_hex(esr);
	puts_uart(" ELR ");
	put_hex(elr);
	puts_uart(" FAR ");
	put_hex(far);
	puts_uart("\n");
	power_off();
}

/* --- PCI ------------------------------------------------------------------------------ */

static uintptr_t ecam(unsigned bus, unsigned dev, unsigned reg) { return ECAM_BASE + ((uintptr_t)bus << 20) + ((uintptr_t)dev << 15) + reg; }

static struct {
	int found;
	uint32_t id;
	uint32_t class_code;
	uint64_t bar[6];
	uint64_t size[6];
} ep;

static uint64_t next_mem = MEM32_BASE;

/* Sizes and assigns the memory BARs of 01:00.0 (I/O BARs are left unassigned). */
static int assign_bars(void) {
	for (unsigned i = 0; i < 6; i++) {
		uintptr_t reg = ecam(1, 0, 0x10 + 4 * i);
		write32(reg, 0xffffffffu);
		uint32_t lo = read32(reg);
		write32(reg, 0);
		if (lo == 0) continue;
		if (lo & 1) {
			puts_uart("pcie: BAR ");
			put_dec(i);
			puts_uart(" is an I/O BAR: left unassigned\n");
			continue;
		}
		int mem64 = ((lo >> 1) & 3) == 2;
		uint64_t mask = lo & ~0xfu;
		if (mem64) {
			if (i == 5) return 0;
			write32(reg + 4, 0xffffffffu);
			mask |= (uint64_t)read32(reg + 4) << 32;
			write32(reg + 4, 0);
		} else {
			mask |= 0xffffffff00000000ull;
		}
		uint64_t size = ~mask + 1;
		uint64_t base = (next_mem + size - 1) & ~(size - 1);
		if (size == 0 || base + size - 1 > MEM32_LIMIT) {
			puts_uart("pcie: FAIL BAR ");
			put_dec(i);
			puts_uart(" of ");
			put_hex(size);
			puts_uart(" bytes does not fit in the memory window\n");
			return 0;
		}
		write32(reg, (uint32_t)base);
		ep.bar[i] = base;
		ep.size[i] = size;
		next_mem = base + size;
		if (mem64) i++; /* the upper half, 0: the BAR is below 4 GiB */
	}
	return 1;
}

static int enumerate(void) {
	unsigned rp = 32;
	for (unsigned dev = 0; dev < 32; dev++) {
		uint32_t id = read32(ecam(0, dev, 0x00));
		if ((id & 0xffff) == 0xffff) continue;
		unsigned header = (read32(ecam(0, dev, 0x0c)) >> 16) & 0x7f;
		puts_uart(id == RP_ROOT_PORT_ID ? "rp 00:" : "pci 00:");
		put_hex2(dev);
		puts_uart(".0 vendor ");
		put_hex(id & 0xffff);
		puts_uart(" device ");
		put_hex(id >> 16);
		puts_uart(" class ");
		put_hex(read32(ecam(0, dev, 0x08)) >> 8);
		puts_uart("\n");
		if (id == RP_ROOT_PORT_ID && header == 1 && rp == 32) rp = dev;
	}
	if (rp == 32) {
		puts_uart("pcie: FAIL no remote-port-pcie-root-port (10ee:777a) on bus 0\n");
		return 0;
	}
	/* The root port: primary bus 0, secondary and subordinate 1; the whole 32-bit memory
	 * window; no prefetchable or I/O window; memory decoding and bus mastering on. */
	write32(ecam(0, rp, 0x18), (1u << 16) | (1u << 8) | 0u);
	write32(ecam(0, rp, 0x20), (uint32_t)(((MEM32_LIMIT >> 16) & 0xfff0) << 16) | ((MEM32_BASE >> 16) & 0xfff0));
	write32(ecam(0, rp, 0x24), 0x0000fff0u);
	write32(ecam(0, rp, 0x28), 0);
	write32(ecam(0, rp, 0x2c), 0);
	write16(ecam(0, rp, 0x1c), 0x00f0);
	write32(ecam(0, rp, 0x30), 0);
	write16(ecam(0, rp, 0x04), 0x0006);

	ep.id = read32(ecam(1, 0, 0x00));
	if ((ep.id & 0xffff) == 0xffff) {
		puts_uart("pcie: FAIL no function at 01:00.0 (is the peer serving one?)\n");
		return 0;
	}
	ep.class_code = read32(ecam(1, 0, 0x08)) >> 8;
	if ((read32(ecam(1, 0, 0x0c)) >> 16) & 0x7f) {
		puts_uart("pcie: FAIL 01:00.0 is not a type 0 function\n");
		return 0;
	}
	if (!assign_bars()) return 0;
	write16(ecam(1, 0, 0x04), 0x0006); /* memory space, bus master */
	ep.found = 1;

	puts_uart("ep 01:00.0 vendor ");
	put_hex(ep.id & 0xffff);
	puts_uart(" device ");
	put_hex(ep.id >> 16);
	puts_uart(" class ");
	put_hex(ep.class_code);
	for (unsigned i = 0; i < 6; i++) {
		if (!ep.size[i]) continue;
		puts_uart(" bar");
		put_dec(i);
		puts_uart("=");
		put_hex(ep.bar[i]);
		puts_uart("/");
		put_hex(ep.size[i]);
	}
	puts_uart("\n");
	return 1;
}

/* --- measurements --------------------------------------------------------------------- */

#define CHUNKS_MAX 50
static uint64_t chunk[CHUNKS_MAX];

/* N reads of BAR 0's first word, one at a time, timed in chunks (as bench/mmio/mmio.c). */
static void cmd_reads(uint32_t count) {
	if (!ep.size[0]) {
		puts_uart("pcie: FAIL no memory BAR 0\n");
		return;
	}
	volatile uint32_t *reg = (volatile uint32_t *)ep.bar[0];
	const uint32_t chunks = count >= 1000 ? CHUNKS_MAX : 1;
	const uint32_t per = count / chunks; /* the last chunk takes the remainder */
	const uint32_t expect = *reg;
	uint32_t bad = 0;
	uint32_t i = 0;
	const uint64_t t0 = ticks();
	uint64_t t = t0;
	for (uint32_t c = 0; c < chunks; c++) {
		const uint32_t end = c == chunks - 1 ? count : i + per;
		for (; i < end; i++) bad |= *reg ^ expect;
		const uint64_t now = ticks();
		chunk[c] = now - t;
		t = now;
	}
	puts_uart("pcie: reads ");
	put_dec(count);
	puts_uart(" in ");
	put_dec(t - t0);
	puts_uart(" ticks of ");
	put_dec(freq);
	puts_uart(" Hz; chunks of ");
	put_dec(per);
	puts_uart(":");
	for (uint32_t c = 0; c + 1 < chunks; c++) {
		puts_uart(" ");
		put_dec(chunk[c]);
	}
	puts_uart("\n");
	if (bad) {
		puts_uart("pcie: FAIL BAR 0's first word changed between reads\n");
		return;
	}
	puts_uart("pcie: ok ");
	put_dec(count ? (t - t0) * 1000000000ull / freq / count : 0);
	puts_uart(" ns per read of ");
	put_hex(expect);
	puts_uart("\n");
}

#define DMA_BUF (RAM_BASE + 0x08000000UL) /* 0x48000000: 128 MiB of RAM free for DMA */
#define DMA_MAX 0x08000000UL

static uint8_t expected_byte(uint32_t offset, uint32_t chunk_size, uint8_t tag) { return (uint8_t)(offset % chunk_size + tag); }

/* How the guest waits for a DMA's end: 0, in one read of DMA_WAIT; else it reads STATUS
 * every `poll_us` µs, spinning on the counter between reads. */
static uint32_t poll_us;

/* A DMA by the bench model of `len` bytes into DMA_BUF in `chunk_size`-byte writes, `depth`
 * of them in flight. */
static void cmd_dma(uint32_t chunk_size, uint32_t len, uint32_t depth) {
	static uint8_t tag;
	if (!ep.found || ep.id != BENCH_ID) {
		puts_uart("pcie: FAIL DMA needs bench/pci.mjs's bench model (1234:c051) at 01:00.0\n");
		return;
	}
	if (chunk_size == 0 || len < 4 || len > DMA_MAX || len % 4 || depth < 1 || depth > 64) {
		puts_uart("pcie: FAIL d CHUNK LEN [DEPTH]: CHUNK > 0, LEN a multiple of 4 up to 128 MiB, DEPTH 1…64\n");
		return;
	}
	const uintptr_t regs = ep.bar[0];
	volatile uint32_t *buf = (volatile uint32_t *)DMA_BUF;
	const uint32_t checks[3] = {0, (len / 2) & ~3u, len - 4};
	for (unsigned k = 0; k < 3; k++) buf[checks[k] / 4] = 0;
	tag++;
	write32(regs + BENCH_DMA_ADDR_LO, (uint32_t)DMA_BUF);
	write32(regs + BENCH_DMA_ADDR_HI, 0);
	write32(regs + BENCH_DMA_LEN, len);
	write32(regs + BENCH_DMA_CHUNK, chunk_size);
	write32(regs + BENCH_DMA_DEPTH, depth);
	const uint64_t t0 = ticks();
	write32(regs + BENCH_DMA_CTRL, 1u | ((uint32_t)tag << 8));
	uint32_t status = poll_us ? 0 : read32(regs + BENCH_DMA_WAIT);
	while (!(status & (BENCH_STATUS_DONE | BENCH_STATUS_ERROR))) {
		if (ticks() - t0 > 120 * freq) {
			puts_uart("pcie: FAIL the DMA did not end within 120 s\n");
			return;
		}
		sleep_ticks(freq * poll_us / 1000000);
		status = read32(regs + BENCH_DMA_STATUS);
	}
	const uint64_t guest = ticks() - t0;
	const uint64_t ns = read32(regs + BENCH_DMA_NS_LO) | ((uint64_t)read32(regs + BENCH_DMA_NS_HI) << 32);
	const uint32_t writes = read32(regs + BENCH_DMA_WRITES);
	if (status & BENCH_STATUS_ERROR) {
		puts_uart("pcie: FAIL the bench model reports a DMA error (see its log)\n");
		return;
	}
	for (unsigned k = 0; k < 3; k++) {
		uint32_t o = checks[k];
		uint32_t want = 0;
		for (unsigned b = 0; b < 4; b++) want |= (uint32_t)expected_byte(o + b, chunk_size, tag) << (8 * b);
		if (buf[o / 4] != want) {
			puts_uart("pcie: FAIL DMA data at +");
			put_hex(o);
			puts_uart(" is ");
			put_hex(buf[o / 4]);
			puts_uart(", not ");
			put_hex(want);
			puts_uart("\n");
			return;
		}
	}
	puts_uart("pcie: dma ");
	put_dec(len);
	puts_uart(" bytes in chunks of ");
	put_dec(chunk_size);
	puts_uart(", ");
	put_dec(depth);
	puts_uart(" in flight: model ");
	put_dec(ns);
	puts_uart(" ns (");
	put_dec(writes);
	puts_uart(" writes), guest ");
	put_dec(guest);
	puts_uart(" ticks of ");
	put_dec(freq);
	puts_uart(" Hz\n");
	puts_uart("pcie: ok ");
	put_dec(ns ? (uint64_t)len * 1000 / ns : 0);
	puts_uart(" MB/s\n");
}

/* --- commands ------------------------------------------------------------------------- */

/* A line from the PL011 into buf (no echo); 0 if none began within `timeout` ticks. */
static int read_line(char *buf, unsigned size, uint64_t timeout) {
	unsigned n = 0;
	for (;;) {
		int c = getc_uart(n == 0 ? timeout : 0);
		if (c < 0) return 0;
		if (c == '\r' || c == '\n') {
			if (n == 0) continue;
			buf[n] = 0;
			return 1;
		}
		if (n + 1 < size) buf[n++] = (char)c;
	}
}

static const char *parse_u32(const char *s, uint32_t *v) {
	while (*s == ' ') s++;
	if (*s < '0' || *s > '9') return 0;
	uint64_t x = 0;
	while (*s >= '0' && *s <= '9') {
		x = x * 10 + (uint64_t)(*s++ - '0');
		if (x > 0xffffffffu) return 0;
	}
	*v = (uint32_t)x;
	return s;
}

static void run(const char *line) {
	uint32_t a, b;
	const char *p;
	if (line[0] == 'r' && (p = parse_u32(line + 1, &a)) && !*p) {
		cmd_reads(a);
	} else if (line[0] == 'd' && (p = parse_u32(line + 1, &a)) && (p = parse_u32(p, &b))) {
		uint32_t depth = 1;
		if (*p && (!(p = parse_u32(p, &depth)) || *p)) goto unknown;
		cmd_dma(a, b, depth);
	} else if (line[0] == 'p' && (p = parse_u32(line + 1, &a)) && !*p) {
		poll_us = a;
		puts_uart("pcie: ok\n");
	} else if (line[0] == 'q' && !line[1]) {
		puts_uart("pcie: ok bye\n");
		power_off();
	} else {
	unknown:
		puts_uart("pcie: FAIL unknown command (r N | d CHUNK LEN [DEPTH] | p POLL_US | q): ");
		puts_uart(line);
		puts_uart("\n");
	}
}

int main(void) {
	uint64_t el;
	__asm__ volatile("mrs %0, CurrentEL" : "=r"(el));
	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(freq));
	puts_uart("pcie: virt-pcie at EL");
	put_dec((el >> 2) & 3);
	puts_uart(", generic timer at ");
	put_dec(freq);
	puts_uart(" Hz\n");
	if (!enumerate()) return 1;
	char line[64];
	for (;;) {
		puts_uart("pcie: ready\n");
		if (!read_line(line, sizeof line, 3 * freq)) break;
		run(line);
	}
	puts_uart("pcie: no command within 3 s: the default checks\n");
	run("r 1000");
	if (ep.id == BENCH_ID) run("d 4096 65536");
	return 0;
}
