/*
 * Entry, exception vectors and power-off for the virt-pcie program. QEMU's `-M virt` starts
 * an ELF given with -kernel at its entry point in EL1 (no EL2/EL3 unless virtualization=on
 * or secure=on), MMU and caches off, and emulates PSCI through HVC.
 */
#include "../start.h"

	.section .text.start, "ax"
	.global _start
_start:
	enter_c el1
	isb

	bl	main
	bl	power_off

/* power_off(): PSCI SYSTEM_OFF through HVC; QEMU exits with status 0. */
	.text
	.global power_off
power_off:
	ldr	w0, =0x84000008
	hvc	#0
3:	wfi
	b	3b

/* Every exception is unexpected here (start.h). */
	.balign	0x800
vectors:
	.irp	kind, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	unexpected \kind, el1
	.endr
