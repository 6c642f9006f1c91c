/* Interrupt specifier cells for an ARM GIC with three-cell specifiers. */
#ifndef COSIM_DEMO_GIC_H
#define COSIM_DEMO_GIC_H

#define GIC_SPI 0
#define GIC_PPI 1

#define IRQ_TYPE_EDGE_RISING  1
#define IRQ_TYPE_LEVEL_HIGH   4

/* An SPI, level-triggered: <GIC_SPI n 4> */
#define SPI(n) GIC_SPI n IRQ_TYPE_LEVEL_HIGH

#endif
