/*
 * What the primary (apu.c, Cortex-A53) and the secondaries (rpu.c, Cortex-R5F) of the
 * heterogeneous demo agree on (the trees in dts/hetero): the ipi-mailbox's registers, and the
 * layout of each secondary's carve-out — its program (vectors at 0), an OpenAMP-like
 * resource table naming two vrings, the vrings and their buffers. Addresses in the resource
 * table and in the vring descriptors are the secondary's own (its carve-out is its memory
 * at 0); the primary adds its view of the carve-out's base. Both sides build it: plain C,
 * no pointers of either width.
 */
#ifndef HETERO_SHARED_H
#define HETERO_SHARED_H

#include <stddef.h>
#include <stdint.h>

/* ipi-mailbox (README, "Built-in models"): the same window in every instance. */
#define MBOX_BASE 0xff300000u
#define MBOX_ID (MBOX_BASE + 0x00)
#define MBOX_PORTS (MBOX_BASE + 0x04)
#define MBOX_TRIG (MBOX_BASE + 0x08)
#define MBOX_OBS (MBOX_BASE + 0x0c)
#define MBOX_ISR (MBOX_BASE + 0x10)
#define MBOX_IER (MBOX_BASE + 0x14)
#define MBOX_RELEASE (MBOX_BASE + 0x20)
#define PRIMARY_PORT 0

/* The carve-out, in the secondary's addresses. */
#define CARVEOUT_SIZE 0x40000u
#define RSC_TABLE_DA 0x1000u
#define VRING_TX_DA 0x30000u /* primary → secondary */
#define VRING_RX_DA 0x34000u /* secondary → primary */
#define BUF_TX_DA 0x38000u
#define BUF_RX_DA 0x3c000u
#define VRING_NUM 8u
#define VRING_ALIGN 16u
#define BUF_SIZE 64u

/* An OpenAMP-like resource table: one rpmsg virtio device with two vrings. */
#define RSC_VDEV 3u
#define VIRTIO_ID_RPMSG 7u
struct fw_rsc_vdev_vring {
	uint32_t da, align, num, notifyid, reserved;
};
struct resource_table {
	uint32_t ver, num, reserved[2];
	uint32_t offset[1];
	/* the vdev entry */
	uint32_t type, id, notifyid, dfeatures, gfeatures, config_len;
	uint8_t status, num_of_vrings, reserved2[2];
	struct fw_rsc_vdev_vring vring[2];
};

/* The vring layout of the virtio spec (split rings), for VRING_NUM entries. */
struct vring_desc {
	uint64_t addr; /* secondary's address */
	uint32_t len;
	uint16_t flags, next;
};
#define VRING_DESC_F_WRITE 2u
struct vring_avail {
	uint16_t flags, idx, ring[VRING_NUM], used_event;
};
struct vring_used_elem {
	uint32_t id, len;
};
struct vring_used {
	uint16_t flags, idx;
	struct vring_used_elem ring[VRING_NUM];
	uint16_t avail_event;
};
/* Offsets in a vring: the descriptors, the available ring after them, the used ring aligned. */
#define VRING_AVAIL_OFF (VRING_NUM * sizeof(struct vring_desc))
#define VRING_USED_OFF ((VRING_AVAIL_OFF + sizeof(struct vring_avail) + VRING_ALIGN - 1) & ~(VRING_ALIGN - 1))

#define REG32(a) (*(volatile uint32_t *)(uintptr_t)(a))

static inline void barrier(void) { __asm__ volatile("dmb sy" ::: "memory"); }

/*
 * The doorbell as an interrupt to wait for: the mailbox's line is SPI 40 of each processor's
 * GICv2 (0xf9010000 distributor, 0xf9020000 CPU interface, in every tree of the demo). It is
 * enabled to CPU 0 but the CPU keeps IRQs masked: WFI wakes on a pending interrupt whether or
 * not it is masked, and the waiting loop reads ISR itself. A processor waiting does not run,
 * so under -icount its clock jumps to its next event instead of crawling through polls (what
 * cosim up's lockstep needs to be quick). With -DPOLL the waits spin on ISR instead.
 */
#define GICD_BASE 0xf9010000u
#define GICC_BASE 0xf9020000u
#define DOORBELL_ID (32u + 40u)

static inline void doorbell_interrupt_init(void) {
	const unsigned id = DOORBELL_ID, shift = 8 * (id % 4);
	const uintptr_t prio = GICD_BASE + 0x400 + 4 * (id / 4), target = GICD_BASE + 0x800 + 4 * (id / 4), cfg = GICD_BASE + 0xc00 + 4 * (id / 16);
	REG32(GICD_BASE) = 0;
	REG32(GICC_BASE + 0x4) = 0xff; /* PMR: every priority */
	REG32(GICC_BASE) = 1;
	REG32(prio) = (REG32(prio) & ~(0xffu << shift)) | (0x80u << shift);
	REG32(target) = (REG32(target) & ~(0xffu << shift)) | (0x01u << shift);
	REG32(cfg) = REG32(cfg) & ~(2u << (2 * (id % 16))); /* level-sensitive */
	REG32(GICD_BASE + 0x100 + 4 * (id / 32)) = 1u << (id % 32);
	REG32(GICD_BASE) = 1;
}

/* Waits until an interrupt is pending (with -DPOLL: returns at once). */
static inline void doorbell_wait(void) {
#ifndef POLL
	__asm__ volatile("wfi" ::: "memory");
#endif
}

#endif
