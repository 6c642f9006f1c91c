/*
 * QEMU's `-M virt` as the virt-pcie program uses it (Xilinx QEMU 8.2.7; the guest device tree
 * from `-machine dumpdtb=virt.dtb`, decoded with dtc, says the same), and the registers of
 * bench/pci.mjs's bench model.
 */
#ifndef VIRT_PCIE_VIRT_H
#define VIRT_PCIE_VIRT_H

#include <stdint.h>

/* PL011 UART (pl011@9000000): data and flag registers; QEMU needs no set-up. */
#define UART_BASE 0x09000000UL
#define UART_DR (UART_BASE + 0x00)
#define UART_FR (UART_BASE + 0x18)
#define UART_FR_RXFE 0x10u
#define UART_FR_TXFF 0x20u

/*
 * PCIe (pcie@10000000, "pci-host-ecam-generic"): the high ECAM, 256 buses; the 32-bit memory
 * window at bus address = CPU address 0x10000000…0x3efeffff. RAM (512 MiB with -m 512)
 * at 0x40000000.
 */
#define ECAM_BASE 0x4010000000UL
#define MEM32_BASE 0x10000000UL
#define MEM32_LIMIT 0x3efeffffUL
#define RAM_BASE 0x40000000UL

/* cosim's own functions on bus 0 (src/qemu/pcie-args.ts): a remote-port-pci-adaptor per
 * endpoint (no BARs; not an endpoint), and the Remote Port root ports (remote-port-pcie-root-port),
 * with a function of the peer's behind them or an empty slot. Xilinx's IDs, device << 16 | vendor. */
#define RP_ADAPTOR_ID 0x000010eeu
#define RP_ROOT_PORT_ID 0x777a10eeu

/* bench/pci.mjs's bench model (bench/pci/model.mjs): BAR 0, 4 KiB of registers. */
#define BENCH_ID 0xc0511234u /* device 0xc051, vendor 0x1234 */
#define BENCH_MAGIC 0x00 /* RO: 0xc05100d0, the word the read test reads */
#define BENCH_SCRATCH 0x04
#define BENCH_DMA_ADDR_LO 0x10
#define BENCH_DMA_ADDR_HI 0x14
#define BENCH_DMA_LEN 0x18
#define BENCH_DMA_CHUNK 0x1c
#define BENCH_DMA_CTRL 0x20 /* bit 0 GO; bits 15:8 the pattern's tag */
#define BENCH_DMA_STATUS 0x24 /* bit 0 BUSY, bit 1 DONE, bit 2 ERROR */
#define BENCH_DMA_NS_LO 0x28 /* the model's own time for the last DMA, ns */
#define BENCH_DMA_NS_HI 0x2c
#define BENCH_DMA_WRITES 0x30 /* DMA writes the last DMA made */
#define BENCH_DMA_WAIT 0x34 /* STATUS, answered once no DMA runs */
#define BENCH_DMA_DEPTH 0x38 /* writes in flight, 1…64 */
#define BENCH_STATUS_BUSY 0x1u
#define BENCH_STATUS_DONE 0x2u
#define BENCH_STATUS_ERROR 0x4u

static inline uint32_t read32(uintptr_t a) { return *(volatile uint32_t *)a; }
static inline void write32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint16_t read16(uintptr_t a) { return *(volatile uint16_t *)a; }
static inline void write16(uintptr_t a, uint16_t v) { *(volatile uint16_t *)a = v; }

void power_off(void) __attribute__((noreturn));
void exception_fatal(uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far) __attribute__((noreturn));
int main(void);

#endif
