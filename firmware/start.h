/*
 * Assembler macros (for .S files only) that the start-up code of cosim's bare-metal programs
 * shares: start.S (the demo board, EL3) and virt-pcie/start.S (QEMU's `virt`, EL1). `el` is
 * the exception level's suffix of the system registers: el1, el3.
 */
#ifndef COSIM_FIRMWARE_START_H
#define COSIM_FIRMWARE_START_H

/* The C environment: the stack at __stack_top, .bss zeroed (QEMU's RAM starts zeroed, but a
 * reset need not), VBAR_ELx at `vectors`; the caller then synchronizes (isb) and calls main. */
.macro	enter_c el
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
	msr	vbar_\el, x0
.endm

/* A vector the program does not expect: report it (kind in x0, then ESR, ELR and FAR) to
 * exception_fatal, which does not return. */
.macro	unexpected kind, el
	.balign	0x80
	mov	x0, #\kind
	mrs	x1, esr_\el
	mrs	x2, elr_\el
	mrs	x3, far_\el
	b	exception_fatal
.endm

#endif
