/* Cortex-R5F entry: vectors at 0 (SCTLR.V = 0), ARM state; the CPU starts here when released. */
	.syntax unified
	.arm
	.section .vectors, "ax"
	.global _vectors
_vectors:
	ldr	pc, =_reset	/* reset */
	b	.		/* undefined */
	b	.		/* SVC */
	b	.		/* prefetch abort */
	b	.		/* data abort */
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
