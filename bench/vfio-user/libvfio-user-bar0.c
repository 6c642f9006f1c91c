/*
 * The libvfio-user counterpart of bench/vfio-user/model.mjs's trapped function, for
 * bench/vfio-user.mjs's round-trip comparison: a PCI function (1234:c055, class 0xff0000)
 * with a 4 KiB memory BAR 0 served by callback (no mmap), whose first word is 0xc05100d0,
 * the word firmware/virt-pcie's `r N` reads. libvfio-user's own samples do not fit that
 * firmware: samples/server.c's BAR 0 is 8 bytes that it serves only as one 8-byte access
 * (the firmware reads 32 bits), gpio-pci-idio-16 serves BAR 2 only. So this is a minimal
 * server of our own on libvfio-user's public API, taking the steps its samples take: a PCI
 * context, that BAR, DMA set up (QEMU maps guest RAM), realize, attach, run; no migration, no IRQs.
 *
 * Build against a libvfio-user tree built with meson in /opt/libvfio-user/build:
 *   cc -O2 -o /opt/libvfio-user/build/samples/cosim-bar0 bench/vfio-user/libvfio-user-bar0.c \
 *     -I/opt/libvfio-user/include -L/opt/libvfio-user/build/lib -lvfio-user \
 *     -Wl,-rpath,/opt/libvfio-user/build/lib
 * Usage: cosim-bar0 SOCKET (serves one client, then exits)
 */
#include <err.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libvfio-user.h"

#define MAGIC 0xc05100d0u
#define BAR0_SIZE 0x1000

static uint8_t bar0[BAR0_SIZE];

static ssize_t bar0_access(vfu_ctx_t *ctx, char *const buf, size_t count, loff_t offset, const bool is_write) {
	(void)ctx;
	if (offset < 0 || (size_t)offset + count > BAR0_SIZE) {
		errno = EINVAL;
		return -1;
	}
	if (!is_write) memcpy(buf, bar0 + offset, count); /* the BAR is read-only */
	return (ssize_t)count;
}

static void dma_register(vfu_ctx_t *ctx, vfu_dma_info_t *info) { (void)ctx, (void)info; }
static void dma_unregister(vfu_ctx_t *ctx, vfu_dma_info_t *info) { (void)ctx, (void)info; }

int main(int argc, char *argv[]) {
	if (argc != 2) errx(EXIT_FAILURE, "usage: %s SOCKET", argv[0]);
	const uint32_t magic = MAGIC;
	memcpy(bar0, &magic, sizeof magic);
	vfu_ctx_t *ctx = vfu_create_ctx(VFU_TRANS_SOCK, argv[1], 0, NULL, VFU_DEV_TYPE_PCI);
	if (!ctx) err(EXIT_FAILURE, "vfu_create_ctx");
	if (vfu_pci_init(ctx, VFU_PCI_TYPE_CONVENTIONAL, PCI_HEADER_TYPE_NORMAL, 0) < 0) err(EXIT_FAILURE, "vfu_pci_init");
	vfu_pci_set_id(ctx, 0x1234, 0xc055, 0, 0);
	vfu_pci_set_class(ctx, 0xff, 0x00, 0x00);
	if (vfu_setup_region(ctx, VFU_PCI_DEV_BAR0_REGION_IDX, BAR0_SIZE, &bar0_access, VFU_REGION_FLAG_RW | VFU_REGION_FLAG_MEM, NULL, 0, -1, 0) < 0)
		err(EXIT_FAILURE, "vfu_setup_region BAR0");
	if (vfu_setup_device_dma(ctx, LIBVFIO_USER_MAX_DMA_REGIONS, &dma_register, &dma_unregister) < 0) err(EXIT_FAILURE, "vfu_setup_device_dma");
	if (vfu_realize_ctx(ctx) < 0) err(EXIT_FAILURE, "vfu_realize_ctx");
	if (vfu_attach_ctx(ctx) < 0) err(EXIT_FAILURE, "vfu_attach_ctx");
	int ret;
	do ret = vfu_run_ctx(ctx);
	while (ret >= 0 || errno == EINTR);
	if (errno != ENOTCONN && errno != ESHUTDOWN) err(EXIT_FAILURE, "vfu_run_ctx");
	vfu_destroy_ctx(ctx);
	return 0;
}
