/*
 * A secondary of the heterogeneous demo (Cortex-R5F): the primary copied this program into
 * the secondary's carve-out, which the secondary sees at 0, and released its CPU through the
 * ipi-mailbox. It answers every message the primary puts on the TX vring with one on the RX
 * vring ("pong N from rpuP" for "ping N"), kicking the primary's doorbell each time, and
 * kicks it once at start ("ready"). It waits for doorbells in WFI (the mailbox's interrupt
 * through its GIC, masked: only to wake), then reads ISR; it has no UART: the primary reports for everyone, so the run's output does
 * not depend on how three processes interleave.
 */
#include "shared.h"

__attribute__((section(".resource_table"), used)) const struct resource_table resource_table = {
	.ver = 1,
	.num = 1,
	.offset = {offsetof(struct resource_table, type)},
	.type = RSC_VDEV,
	.id = VIRTIO_ID_RPMSG,
	.num_of_vrings = 2,
	.vring = {{VRING_TX_DA, VRING_ALIGN, VRING_NUM, 0, 0}, {VRING_RX_DA, VRING_ALIGN, VRING_NUM, 1, 0}},
};

#define DESC(v, i) ((volatile struct vring_desc *)(uintptr_t)((v) + (i) * sizeof(struct vring_desc)))
#define AVAIL(v) ((volatile struct vring_avail *)(uintptr_t)((v) + VRING_AVAIL_OFF))
#define USED(v) ((volatile struct vring_used *)(uintptr_t)((v) + VRING_USED_OFF))

static unsigned parse_dec(const volatile char *s) {
	unsigned v = 0;
	while (*s >= '0' && *s <= '9') v = v * 10 + (unsigned)(*s++ - '0');
	return v;
}

static void copy_str(volatile char *d, const char *s) {
	while ((*d++ = *s++)) {
	}
}

/* "pong N from rpuP" into buf; its length with the NUL. */
static uint32_t format_pong(volatile char *buf, unsigned n, unsigned port) {
	char digits[12];
	int k = 0;
	do digits[k++] = (char)('0' + n % 10);
	while ((n /= 10) != 0);
	volatile char *p = buf;
	copy_str(p, "pong ");
	p += 5;
	while (k > 0) *p++ = digits[--k];
	copy_str(p, " from rpu");
	p += 9;
	*p++ = (char)('0' + port);
	*p++ = 0;
	return (uint32_t)(p - buf);
}

int main(void) {
	const unsigned me = REG32(MBOX_ID);
	uint16_t tx_seen = 0, rx_next = 0;
	doorbell_interrupt_init();
	REG32(MBOX_IER) = 1u << PRIMARY_PORT;
	REG32(MBOX_TRIG) = 1u << PRIMARY_PORT; /* ready */
	for (;;) {
		while (!(REG32(MBOX_ISR) & (1u << PRIMARY_PORT))) doorbell_wait();
		REG32(MBOX_ISR) = 1u << PRIMARY_PORT;
		barrier();
		while (tx_seen != AVAIL(VRING_TX_DA)->idx) {
			barrier();
			const uint16_t d = AVAIL(VRING_TX_DA)->ring[tx_seen % VRING_NUM];
			const volatile char *ping = (const volatile char *)(uintptr_t)DESC(VRING_TX_DA, d)->addr;
			const unsigned n = ping[0] == 'p' ? parse_dec(ping + 5) : 0;
			/* The reply goes into the next buffer the primary made available on RX. */
			const uint16_t r = AVAIL(VRING_RX_DA)->ring[rx_next % VRING_NUM];
			volatile char *pong = (volatile char *)(uintptr_t)DESC(VRING_RX_DA, r)->addr;
			const uint32_t len = format_pong(pong, n, me);
			volatile struct vring_used *rx = USED(VRING_RX_DA);
			rx->ring[rx->idx % VRING_NUM].id = r;
			rx->ring[rx->idx % VRING_NUM].len = len;
			volatile struct vring_used *tx = USED(VRING_TX_DA);
			tx->ring[tx->idx % VRING_NUM].id = d;
			tx->ring[tx->idx % VRING_NUM].len = 0;
			barrier();
			rx->idx++;
			tx->idx++;
			tx_seen++;
			rx_next++;
#ifdef CRASH_PORT
			/* A failure test: this secondary crashes (an undefined instruction) after 3 pongs. */
			if (me == CRASH_PORT && rx_next == 3) __asm__ volatile("udf #0");
#endif
		}
		barrier();
		REG32(MBOX_TRIG) = 1u << PRIMARY_PORT;
	}
}
