/*
 * Entry, exception vectors and power-off for the virt-pcie program. QEMU's `-M virt` starts
 * an ELF given with -kernel at its entry point in EL1 (no EL2/EL3 unless virtualization=on
 * or secure=on), MMU and caches off, and emulates PSCI through HVC.
 */
	.section .text.start, "ax"
	.global _start
_start:
	ldr	x0, =__stack_top
	mov	sp, x0

	ldr	x0, =__bss_start
	ldr	x1, =__bss_end
1:	cmp	x0, x1
	b.hs	2f
	str	xzr, [x0], #8
	b	1b
2:
	ldr	x0, =vectors
	msr	vbar_el1, x0
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

/* Every exception is unexpected here: report it (kind in x0) and power off. */
.macro	unexpected kind
	.balign	0x80
	mov	x0, #\kind
	mrs	x1, esr_el1
	mrs	x2, elr_el1
	mrs	x3, far_el1
	b	exception_fatal
.endm

	.balign	0x800
vectors:
	unexpected 0
	unexpected 1
	unexpected 2
	unexpected 3
	unexpected 4
	unexpected 5
	unexpected 6
	unexpected 7
	unexpected 8
	unexpected 9
	unexpected 10
	unexpected 11
	unexpected 12
	unexpected 13
	unexpected 14
	unexpected 15
