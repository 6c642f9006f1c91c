/*
 * virt-pcie: a bare-metal AArch64 program for QEMU's `-M virt` with PCIe functions served
 * over Remote Port, laid out as cosim's plan does (src/qemu/pcie-args.ts): endpoints on bus 0
 * as Xilinx QEMU's remote-port-pci-device (remote-config=on; cosim's servePciDeviceFunction),
 * or behind a remote-port-pcie-root-port (serveRootPortFunction), and cosim's adaptors
 * (10ee:0000) and empty root ports on high slots. Booted with `-kernel pcie.elf` (EL1, MMU
 * off), it
 *   - enumerates bus 0 through the ECAM, and behind each root port (in slot order, depth
 *     first) its secondary bus, numbered from 1; sizes and assigns the memory BARs of every
 *     endpoint but the adaptors (and the host bridge) in the 32-bit memory window, gives each
 *     root port the part of the window its bus took (1 MiB aligned; none: closed), enables
 *     memory decoding and bus mastering on them and on the root ports, and lists every
 *     function it finds:
 *       fn 00:00.0 vendor 0x1b36 device 0x8 class 0x60000
 *       fn 00:02.0 vendor 0x1234 device 0xc051 class 0xff0000 bar0=0x10000000/0x1000
 *       fn 00:1e.0 vendor 0x10ee device 0x777a class 0x60400 bridge to bus 1
 *       fn 00:1f.0 vendor 0x10ee device 0x0 class 0x20001 adaptor
 *     (I/O BARs are left unassigned: "bar0=io,unassigned"). The endpoint of the commands
 *     below is the first function with the IDs of bench/pci.mjs's bench model (1234:c051),
 *     else the first endpoint with a memory BAR 0: "pcie: endpoint BB:DD.F …";
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
 *
 * Only the last remote-port-pcie-root-port QEMU creates forwards config cycles to its peer
 * (each overlays the host bridge's ECAM window); the others' buses are QEMU's own, and empty.
 */
#include <stdint.h>

#include "virt.h"

/* --- console, timer --------------------------------------------------------------- */

static void putc_uart(char c) {
	while (read32(UART_FR) & UART_FR_TXFF)
		;
	write32(UART_DR, (uint8_t)c);
}

#include "../print.h"

static void put_hex2(unsigned v) {
	putc_uart("0123456789abcdef"[(v >> 4) & 0xf]);
	putc_uart("0123456789abcdef"[v & 0xf]);
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
	report_exception("pcie: FAIL", kind, esr, elr, far);
	power_off();
}

/* --- PCI ------------------------------------------------------------------------------ */

#define FNS_MAX 64
#define BRIDGE_ALIGN 0x100000ull /* a bridge's memory window: 1 MiB granules */

/* A function found: where, what, and (endpoints) its memory BARs as assigned. */
struct fn {
	unsigned bus, dev, fn;
	uint32_t id; /* device << 16 | vendor */
	uint32_t class_code;
	unsigned header; /* header type, 0 (endpoint) or 1 (bridge), without the multi-function bit */
	uint64_t bar[6];
	uint64_t size[6];
	unsigned io; /* bit i: BAR i is an I/O BAR (left unassigned) */
};

static struct fn fns[FNS_MAX];
static unsigned nfns;
/* The function of the timed commands (see the top). */
static const struct fn *ep;

static unsigned next_bus = 1;
static uint64_t next_mem = MEM32_BASE;

static uintptr_t ecam(unsigned bus, unsigned dev, unsigned fn, unsigned reg) {
	return ECAM_BASE + ((uintptr_t)bus << 20) + ((uintptr_t)dev << 15) + ((uintptr_t)fn << 12) + reg;
}

static uintptr_t cfg(const struct fn *f, unsigned reg) { return ecam(f->bus, f->dev, f->fn, reg); }

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

static void put_bdf(const struct fn *f) {
	put_hex2(f->bus);
	putc_uart(':');
	put_hex2(f->dev);
	putc_uart('.');
	putc_uart((char)('0' + f->fn));
}

/* An endpoint cosim's plan adds for itself (no BARs; not the guest's). */
static int is_adaptor(const struct fn *f) { return f->id == RP_ADAPTOR_ID; }
static int is_host_bridge(const struct fn *f) { return f->header == 0 && (f->class_code >> 8) == 0x0600; }

/* Sizes and assigns the memory BARs of `f` from next_mem (I/O BARs are left unassigned). */
static int assign_bars(struct fn *f) {
	for (unsigned i = 0; i < 6; i++) {
		uintptr_t reg = cfg(f, 0x10 + 4 * i);
		write32(reg, 0xffffffffu);
		uint32_t lo = read32(reg);
		write32(reg, 0);
		if (lo == 0) continue;
		if (lo & 1) {
			f->io |= 1u << i;
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
		uint64_t base = align_up(next_mem, size);
		if (size == 0 || base + size - 1 > MEM32_LIMIT) {
			puts_uart("\npcie: FAIL ");
			put_bdf(f);
			puts_uart(" BAR ");
			put_dec(i);
			puts_uart(" of ");
			put_hex(size);
			puts_uart(" bytes does not fit in the memory window\n");
			return 0;
		}
		write32(reg, (uint32_t)base);
		f->bar[i] = base;
		f->size[i] = size;
		next_mem = base + size;
		if (mem64) i++; /* the upper half, 0: the BAR is below 4 GiB */
	}
	return 1;
}

static int scan_bus(unsigned bus);

/* A bridge (a root port): the next bus number, the functions behind it, then the part of the
 * memory window they took (none: closed); no prefetchable or I/O window; memory decoding and
 * bus mastering on. */
static int setup_bridge(const struct fn *f) {
	if (next_bus > 0xff) {
		puts_uart("pcie: FAIL out of bus numbers\n");
		return 0;
	}
	const unsigned sec = next_bus++;
	puts_uart(" bridge to bus ");
	put_dec(sec);
	puts_uart("\n");
	/* Subordinate 0xff while its bus is scanned: bridges behind it take the numbers after. */
	write32(cfg(f, 0x18), (0xffu << 16) | (sec << 8) | f->bus);
	next_mem = align_up(next_mem, BRIDGE_ALIGN);
	const uint64_t start = next_mem;
	if (!scan_bus(sec)) return 0;
	write32(cfg(f, 0x18), ((next_bus - 1) << 16) | (sec << 8) | f->bus);
	if (next_mem > start) {
		const uint64_t end = align_up(next_mem, BRIDGE_ALIGN) - 1;
		write32(cfg(f, 0x20), (uint32_t)(((end >> 16) & 0xfff0) << 16) | ((start >> 16) & 0xfff0));
		next_mem = end + 1;
	} else {
		write32(cfg(f, 0x20), 0x0000fff0u); /* base above limit: closed */
	}
	write32(cfg(f, 0x24), 0x0000fff0u);
	write32(cfg(f, 0x28), 0);
	write32(cfg(f, 0x2c), 0);
	write16(cfg(f, 0x1c), 0x00f0);
	write32(cfg(f, 0x30), 0);
	write16(cfg(f, 0x04), 0x0006);
	return 1;
}

/* Lists the function at bus:dev.fn and sets it up: a bridge's bus, an endpoint's BARs. */
static int found(unsigned bus, unsigned dev, unsigned fn, uint32_t id, unsigned header) {
	if (nfns == FNS_MAX) {
		puts_uart("pcie: FAIL more than 64 functions\n");
		return 0;
	}
	struct fn *f = &fns[nfns++];
	f->bus = bus;
	f->dev = dev;
	f->fn = fn;
	f->id = id;
	f->header = header;
	f->class_code = read32(cfg(f, 0x08)) >> 8;
	puts_uart("fn ");
	put_bdf(f);
	puts_uart(" vendor ");
	put_hex(id & 0xffff);
	puts_uart(" device ");
	put_hex(id >> 16);
	puts_uart(" class ");
	put_hex(f->class_code);
	if (header == 1) return setup_bridge(f);
	if (header != 0 || is_host_bridge(f)) {
		puts_uart("\n");
		return 1;
	}
	if (is_adaptor(f)) {
		puts_uart(" adaptor\n");
		return 1;
	}
	if (!assign_bars(f)) return 0;
	write16(cfg(f, 0x04), 0x0006); /* memory space, bus master */
	for (unsigned i = 0; i < 6; i++) {
		if (!f->size[i] && !(f->io & (1u << i))) continue;
		puts_uart(" bar");
		put_dec(i);
		if (f->io & (1u << i)) {
			puts_uart("=io,unassigned");
			continue;
		}
		puts_uart("=");
		put_hex(f->bar[i]);
		puts_uart("/");
		put_hex(f->size[i]);
	}
	puts_uart("\n");
	return 1;
}

/* Every function on `bus`: functions 1…7 of a device only when function 0 says it has more. */
static int scan_bus(unsigned bus) {
	for (unsigned dev = 0; dev < 32; dev++) {
		for (unsigned fn = 0; fn < 8; fn++) {
			const uint32_t id = read32(ecam(bus, dev, fn, 0x00));
			if ((id & 0xffff) == 0xffff) {
				if (fn == 0) break;
				continue;
			}
			const unsigned header = (read32(ecam(bus, dev, fn, 0x0c)) >> 16) & 0xff;
			if (!found(bus, dev, fn, id, header & 0x7f)) return 0;
			if (fn == 0 && !(header & 0x80)) break;
		}
	}
	return 1;
}

static int is_endpoint(const struct fn *f) { return f->header == 0 && !is_adaptor(f) && !is_host_bridge(f); }

static int enumerate(void) {
	if (!scan_bus(0)) return 0;
	for (unsigned i = 0; i < nfns && !ep; i++)
		if (is_endpoint(&fns[i]) && fns[i].id == BENCH_ID) ep = &fns[i];
	for (unsigned i = 0; i < nfns && !ep; i++)
		if (is_endpoint(&fns[i]) && fns[i].size[0]) ep = &fns[i];
	if (!ep) {
		puts_uart("pcie: FAIL no endpoint with a memory BAR 0 (is a peer serving one?)\n");
		return 0;
	}
	puts_uart("pcie: endpoint ");
	put_bdf(ep);
	puts_uart(ep->id == BENCH_ID ? " (the bench model)\n" : " (no bench model: the first endpoint with a memory BAR 0)\n");
	return 1;
}

/* --- measurements --------------------------------------------------------------------- */

#define CHUNKS_MAX 50
static uint64_t chunk[CHUNKS_MAX];

/* N reads of BAR 0's first word, one at a time, timed in chunks (as bench/mmio/mmio.c). */
static void cmd_reads(uint32_t count) {
	if (!ep->size[0]) {
		puts_uart("pcie: FAIL the endpoint has no memory BAR 0\n");
		return;
	}
	volatile uint32_t *reg = (volatile uint32_t *)ep->bar[0];
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
	if (ep->id != BENCH_ID) {
		puts_uart("pcie: FAIL DMA needs bench/pci.mjs's bench model (1234:c051)\n");
		return;
	}
	if (chunk_size == 0 || len < 4 || len > DMA_MAX || len % 4 || depth < 1 || depth > 64) {
		puts_uart("pcie: FAIL d CHUNK LEN [DEPTH]: CHUNK > 0, LEN a multiple of 4 up to 128 MiB, DEPTH 1…64\n");
		return;
	}
	const uintptr_t regs = ep->bar[0];
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
	if (ep->id == BENCH_ID) run("d 4096 65536");
	return 0;
}
