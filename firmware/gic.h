/*
 * The demo board's GICv2 as a secure EL3 program uses it: level-sensitive SPIs to CPU 0,
 * group 0 signalled as IRQ. Shared by the demo and the examples' programs.
 */
#ifndef COSIM_FIRMWARE_GIC_H
#define COSIM_FIRMWARE_GIC_H

#include <stdint.h>

#include "board.h"

#define GICD_CTLR (GICD_BASE + 0x000)
#define GICD_ISENABLER(n) (GICD_BASE + 0x100 + 4 * (n))
#define GICD_ICENABLER(n) (GICD_BASE + 0x180 + 4 * (n))
#define GICD_IPRIORITYR(n) (GICD_BASE + 0x400 + 4 * (n))
#define GICD_ITARGETSR(n) (GICD_BASE + 0x800 + 4 * (n))
#define GICD_ICFGR(n) (GICD_BASE + 0xc00 + 4 * (n))
#define GICC_CTLR (GICC_BASE + 0x00)
#define GICC_PMR (GICC_BASE + 0x04)
#define GICC_BPR (GICC_BASE + 0x08)
#define GICC_IAR (GICC_BASE + 0x0c)
#define GICC_EOIR (GICC_BASE + 0x10)

static inline void set_byte(uintptr_t reg_base, unsigned id, uint8_t v) {
	uintptr_t reg = reg_base + 4 * (id / 4);
	unsigned shift = 8 * (id % 4);
	write32(reg, (read32(reg) & ~(0xffu << shift)) | ((uint32_t)v << shift));
}

/* A level-sensitive SPI, priority 0x80, to CPU 0, enabled. */
static inline void gic_enable_spi(unsigned id) {
	set_byte(GICD_IPRIORITYR(0), id, 0x80);
	set_byte(GICD_ITARGETSR(0), id, 0x01);
	uintptr_t cfg = GICD_ICFGR(id / 16);
	write32(cfg, read32(cfg) & ~(2u << (2 * (id % 16))));
	write32(GICD_ISENABLER(id / 32), 1u << (id % 32));
}

/* Turns the GIC on with `n` SPIs enabled. */
static inline void gic_init(const unsigned *spis, unsigned n) {
	write32(GICD_CTLR, 0);
	/* Group 0 (the reset default) is what a secure EL3 program handles, signalled as IRQ. */
	write32(GICC_PMR, 0xff);
	write32(GICC_BPR, 0);
	write32(GICC_CTLR, 1);
	for (unsigned i = 0; i < n; i++) gic_enable_spi(spis[i]);
	write32(GICD_CTLR, 1);
}

static inline void irq_enable(void) { __asm__ volatile("msr daifclr, #2" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile("msr daifset, #2" ::: "memory"); }
static inline void wfi(void) { __asm__ volatile("wfi" ::: "memory"); }

#endif
