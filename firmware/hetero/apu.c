/*
 * The primary of the heterogeneous demo (Cortex-A53, dts/hetero/apu.dts): it boots two
 * Cortex-R5F secondaries, each its own QEMU instance, and talks to them.
 *
 * For each secondary: copy its program (rpu.c, embedded here) into the secondary's carve-out
 * — shared RAM the secondary sees at 0 and the primary at CARVEOUT(p) — find the vrings in
 * the program's resource table, set them up, and release the secondary's CPU through the
 * ipi-mailbox's RELEASE register. Then, in rounds, put "ping N" on each secondary's TX vring
 * and kick its doorbell; the secondary answers "pong N from rpuP" on the RX vring and kicks
 * back. Every reply is checked; the report ends with "hetero: PASS" (exit 0) or "FAIL"
 * (exit 1) through semihosting. Doorbells are waited for in WFI (the mailbox's interrupt),
 * then read in its ISR.
 */
#include <stdint.h>

#include "shared.h"

#define UART_BASE 0xe0000000UL /* PL011: QEMU's own, on stdio */
static void putc_uart(char c) {
	while (REG32(UART_BASE + 0x18) & (1u << 5)) {
	}
	REG32(UART_BASE) = (uint32_t)c;
}
#include "../print.h"

void semihosting_exit(int status);
void irq_handler(void) {}
void exception_fatal(uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far) {
	report_exception("hetero", kind, esr, elr, far);
	semihosting_exit(2);
}

/* The secondaries' program, built from rpu.c (Makefile). */
__asm__(".section .rodata\n.balign 16\n.global rpu_image\nrpu_image:\n.incbin \"" RPU_BIN "\"\n.global rpu_image_end\nrpu_image_end:\n.previous");
extern const uint8_t rpu_image[], rpu_image_end[];

#define SECONDARIES 2
#ifndef ROUNDS
#define ROUNDS 8
#endif
/* Where the primary sees secondary p's carve-out (p = 1, 2: its mailbox port). */
#define CARVEOUT(p) (0x70000000UL + ((p) - 1) * CARVEOUT_SIZE)

struct secondary {
	unsigned port;
	uintptr_t base;
	uintptr_t tx, rx; /* the vrings, in the primary's addresses */
	uint16_t tx_next, rx_seen;
	unsigned pongs;
};

static uintptr_t view(const struct secondary *s, uint64_t da) { return s->base + (uintptr_t)da; }
#define DESC(v, i) ((volatile struct vring_desc *)((v) + (i) * sizeof(struct vring_desc)))
#define AVAIL(v) ((volatile struct vring_avail *)((v) + VRING_AVAIL_OFF))
#define USED(v) ((volatile struct vring_used *)((v) + VRING_USED_OFF))

static void zero(uintptr_t at, uintptr_t len) {
	for (uintptr_t i = 0; i < len; i += 8) *(volatile uint64_t *)(at + i) = 0;
}

static int streq(const volatile char *a, const char *b) {
	while (*b && *a == *b) a++, b++;
	return *a == *b;
}

/* Mailbox reads while waiting (each one a Remote Port round trip to the model): bench/hetero.mjs. */
static uint64_t polls;

static void wait_kick(unsigned port) {
	while (!(REG32(MBOX_ISR) & (1u << port))) {
		polls++;
		doorbell_wait();
	}
	REG32(MBOX_ISR) = 1u << port;
	barrier();
}

/* Copies the program and sets the vrings up from its resource table; 0 if the table is not there. */
static int load(struct secondary *s) {
	const uintptr_t n = (uintptr_t)(rpu_image_end - rpu_image);
	zero(s->base, CARVEOUT_SIZE);
	for (uintptr_t i = 0; i < n; i++) *(volatile uint8_t *)(s->base + i) = rpu_image[i];
	const volatile struct resource_table *rt = (const volatile struct resource_table *)view(s, RSC_TABLE_DA);
	if (rt->ver != 1 || rt->type != RSC_VDEV || rt->id != VIRTIO_ID_RPMSG || rt->num_of_vrings != 2 || rt->vring[0].num != VRING_NUM) return 0;
	s->tx = view(s, rt->vring[0].da);
	s->rx = view(s, rt->vring[1].da);
	/* Every RX buffer is offered to the secondary for its replies. */
	for (unsigned i = 0; i < VRING_NUM; i++) {
		DESC(s->tx, i)->addr = BUF_TX_DA + i * BUF_SIZE;
		DESC(s->tx, i)->len = BUF_SIZE;
		DESC(s->rx, i)->addr = BUF_RX_DA + i * BUF_SIZE;
		DESC(s->rx, i)->len = BUF_SIZE;
		DESC(s->rx, i)->flags = VRING_DESC_F_WRITE;
		AVAIL(s->rx)->ring[i] = (uint16_t)i;
	}
	barrier();
	AVAIL(s->rx)->idx = VRING_NUM;
	return 1;
}

static void ping(struct secondary *s, unsigned n) {
	const uint16_t d = s->tx_next % VRING_NUM;
	volatile char *buf = (volatile char *)view(s, DESC(s->tx, d)->addr);
	char digits[21];
	const char *dec = format_dec(digits, n);
	const char *word = "ping ";
	while (*word) *buf++ = *word++;
	while (*dec) *buf++ = *dec++;
	*buf = 0;
	AVAIL(s->tx)->ring[s->tx_next % VRING_NUM] = d;
	barrier();
	AVAIL(s->tx)->idx = ++s->tx_next;
	barrier();
	REG32(MBOX_TRIG) = 1u << s->port;
}

/* Waits for the answer to ping n; checks it and offers its buffer again. */
static int pong(struct secondary *s, unsigned n) {
	while (USED(s->rx)->idx == s->rx_seen) wait_kick(s->port);
	const volatile struct vring_used_elem *e = &USED(s->rx)->ring[s->rx_seen % VRING_NUM];
	const uint32_t id = e->id;
	const volatile char *got = (const volatile char *)view(s, DESC(s->rx, id)->addr);
	char want[40], digits[21];
	char *w = want;
	for (const char *t = "pong "; *t;) *w++ = *t++;
	for (const char *t = format_dec(digits, n); *t;) *w++ = *t++;
	for (const char *t = " from rpu"; *t;) *w++ = *t++;
	*w++ = (char)('0' + s->port);
	*w = 0;
	const int ok = streq(got, want) && e->len == (uint32_t)(w - want + 1);
	if (!ok) {
		puts_uart("hetero: rpu");
		put_dec(s->port);
		puts_uart(": expected \"");
		puts_uart(want);
		puts_uart("\", got \"");
		for (unsigned i = 0; i < BUF_SIZE && got[i]; i++) putc_uart(got[i]);
		puts_uart("\"\n");
	}
	s->rx_seen++;
	/* The buffer goes back on the available ring. */
	AVAIL(s->rx)->ring[AVAIL(s->rx)->idx % VRING_NUM] = (uint16_t)id;
	barrier();
	AVAIL(s->rx)->idx++;
	return ok;
}

int main(void) {
	struct secondary sec[SECONDARIES];
	puts_uart("hetero: primary up, ports present ");
	put_hex(REG32(MBOX_PORTS));
	puts_uart("\n");
	for (unsigned i = 0; i < SECONDARIES; i++) {
		struct secondary *s = &sec[i];
		*s = (struct secondary){.port = i + 1, .base = CARVEOUT(i + 1)};
		if (!load(s)) {
			puts_uart("hetero: FAIL: no resource table in the secondary's program\n");
			return 1;
		}
		puts_uart("hetero: rpu");
		put_dec(s->port);
		puts_uart(": program copied (");
		put_dec((uint64_t)(rpu_image_end - rpu_image));
		puts_uart(" bytes), vrings at ");
		put_hex(s->tx - s->base);
		puts_uart(" and ");
		put_hex(s->rx - s->base);
		puts_uart("\n");
	}
	/* Doorbells from both secondaries wake the primary, which waits for them in WFI. */
	doorbell_interrupt_init();
	REG32(MBOX_IER) = (1u << 1) | (1u << 2);
	/* Release both; each kicks once when it runs. */
#ifndef NO_RELEASE
	REG32(MBOX_RELEASE) = REG32(MBOX_RELEASE) | (1u << 1) | (1u << 2);
#endif
	for (unsigned i = 0; i < SECONDARIES; i++) {
		wait_kick(sec[i].port);
		puts_uart("hetero: rpu");
		put_dec(sec[i].port);
		puts_uart(": released, ready\n");
	}
	int ok = 1;
#ifdef TIMED
	uint64_t t0, t1, freq;
	polls = 0;
	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(t0));
#endif
	for (unsigned n = 1; n <= ROUNDS; n++) {
		for (unsigned i = 0; i < SECONDARIES; i++) ping(&sec[i], n);
		for (unsigned i = 0; i < SECONDARIES; i++) {
			if (pong(&sec[i], n)) sec[i].pongs++;
			else ok = 0;
		}
	}
#ifdef TIMED
	/* bench/hetero.mjs: the rounds in the guest's time (the generic timer, QEMU's clock). */
	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(t1));
	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(freq));
	puts_uart("hetero: timed ");
	put_dec(ROUNDS * SECONDARIES);
	puts_uart(" round trips in ");
	put_dec((t1 - t0) * 1000000000ull / freq);
	puts_uart(" ns of guest time, ");
	put_dec(polls);
	puts_uart(" doorbell polls\n");
#endif
	for (unsigned i = 0; i < SECONDARIES; i++) {
		puts_uart("hetero: rpu");
		put_dec(sec[i].port);
		puts_uart(": ");
		put_dec(sec[i].pongs);
		puts_uart("/");
		put_dec(ROUNDS);
		puts_uart(" pongs right\n");
	}
	puts_uart(ok ? "hetero: PASS\n" : "hetero: FAIL\n");
	return ok ? 0 : 1;
}
