/*
 * The Remote Port link between the APU instance (qemu-system-aarch64) and the PMU
 * instance (qemu-system-microblazeel) of the ZynqMP-style example: both trees bind the
 * same channels on an adaptor at the same path, so QEMU gives both the same socket
 * name and one instance listens while the other connects.
 */
#ifndef COSIM_ZYNQMP_LINK_H
#define COSIM_ZYNQMP_LINK_H

/* PMU memory master -> APU memory slave: the PMU reaches the APU's peripherals. */
#define LINK_PMU_BUS     0
/* APU -> PMU: one interrupt line into the PMU's MicroBlaze. */
#define LINK_PMU_IRQ     1
/* PMU -> APU: wires that release and reset the APU cores. */
#define LINK_APU_WIRES   2
#define LINK_APU_WIRE_COUNT 4

#endif
