/*
 * Entry, exception vectors and semihosting exit for the demo program. QEMU's generic
 * loader starts CPU 0 at _start in EL3, MMU and caches off.
 */
#include "start.h"

	.section .text.start, "ax"
	.global _start
_start:
	enter_c el3
	/* IRQs and FIQs taken to EL3 (SCR_EL3.IRQ, .FIQ). */
	mrs	x0, scr_el3
	orr	x0, x0, #(1 << 1) | (1 << 2)
	msr	scr_el3, x0
	isb

	bl	main
	bl	semihosting_exit
3:	wfi
	b	3b

/* semihosting_exit(status): SYS_EXIT with ADP_Stopped_ApplicationExit ends QEMU with status. */
	.text
	.global semihosting_exit
semihosting_exit:
	sub	sp, sp, #16
	ldr	x1, =0x20026
	str	x1, [sp]
	str	x0, [sp, #8]
	mov	x1, sp
	mov	w0, #0x18
	hlt	#0xf000
	add	sp, sp, #16
	ret

/* Caller-saved registers around a C handler; the handler's return ends in eret. */
.macro	save_regs
	stp	x29, x30, [sp, #-16]!
	stp	x17, x18, [sp, #-16]!
	stp	x15, x16, [sp, #-16]!
	stp	x13, x14, [sp, #-16]!
	stp	x11, x12, [sp, #-16]!
	stp	x9, x10, [sp, #-16]!
	stp	x7, x8, [sp, #-16]!
	stp	x5, x6, [sp, #-16]!
	stp	x3, x4, [sp, #-16]!
	stp	x1, x2, [sp, #-16]!
	str	x0, [sp, #-16]!
.endm

.macro	restore_regs
	ldr	x0, [sp], #16
	ldp	x1, x2, [sp], #16
	ldp	x3, x4, [sp], #16
	ldp	x5, x6, [sp], #16
	ldp	x7, x8, [sp], #16
	ldp	x9, x10, [sp], #16
	ldp	x11, x12, [sp], #16
	ldp	x13, x14, [sp], #16
	ldp	x15, x16, [sp], #16
	ldp	x17, x18, [sp], #16
	ldp	x29, x30, [sp], #16
.endm

/* Anything but an IRQ on SP_ELx is unexpected (start.h). */
	.balign	0x800
vectors:
	unexpected 0, el3	/* current EL, SP_EL0: synchronous */
	unexpected 1, el3	/* IRQ */
	unexpected 2, el3	/* FIQ */
	unexpected 3, el3	/* SError */
	unexpected 4, el3	/* current EL, SP_ELx: synchronous */
	.balign	0x80	/* current EL, SP_ELx: IRQ */
	save_regs
	bl	irq_handler
	restore_regs
	eret
	unexpected 6, el3	/* FIQ */
	unexpected 7, el3	/* SError */
	unexpected 8, el3	/* lower EL, AArch64 */
	unexpected 9, el3
	unexpected 10, el3
	unexpected 11, el3
	unexpected 12, el3	/* lower EL, AArch32 */
	unexpected 13, el3
	unexpected 14, el3
	unexpected 15, el3
