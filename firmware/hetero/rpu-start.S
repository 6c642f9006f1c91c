/* Cortex-R5F entry: vectors at 0 (SCTLR.V = 0), ARM state; the CPU starts here when released. */
	.syntax unified
	.arm
	.section .vectors, "ax"
	.global _vectors
_vectors:
	ldr	pc, =_reset	/* reset */
	b	fault		/* undefined */
	b	.		/* SVC */
	b	fault		/* prefetch abort */
	b	fault		/* data abort */
	b	.
	b	.		/* IRQ: not used */
	b	.		/* FIQ */
	.ltorg

	.text
	.global _reset
_reset:
	ldr	sp, =__stack_top
	ldr	r0, =__bss_start
	ldr	r1, =__bss_end
	mov	r2, #0
1:	cmp	r0, r1
	strlo	r2, [r0], #4
	blo	1b
	bl	main
2:	wfi
	b	2b

/* A fault ends this instance's QEMU with status 1 (semihosting SYS_EXIT, reason
 * ADP_Stopped_RunTimeErrorUnknown), as a crashed core's supervisor would notice it: the run
 * stops naming this instance instead of the primary waiting forever for a reply. */
fault:
	mov	r0, #0x18
	ldr	r1, =0x20023
	svc	0x123456
	b	.
	.ltorg
