/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Is the kernel's tlb_remove_table_sync_one() still the function the
 * livepatch replaces? Decodes its x86-64 machine code and accepts exactly
 *
 *	smp_call_function(tlb_remove_table_smp_sync, NULL, 1);
 *
 * and nothing else, as GCC emits it on Debian's kernels: an optional
 * endbr64 (or the 4-byte NOP the kernel seals it with when IBT is on and
 * the function is never called indirectly, gen_endbr_poison(): 6.x's
 * "66 0f 1f 00", 7.x's "0f 1f 40 d6"), the fentry site (a 5-byte NOP, or a call while ftrace or a
 * livepatch uses the function), the three argument registers set in any
 * order, then a tail call (jmp) or a call followed by ret or a jump to the
 * return thunk, then only padding (int3, NOPs) up to the symbol's size.
 * A function that does anything else (another callee or callback, wait 0,
 * a cpumask, an extra instruction) is refused with the reason.
 *
 * Plain C over a byte buffer, so that the module and the host's unit test
 * (tests/sync_one_check_test.c) run the same code.
 */
#ifndef QUIETSYNC_SYNC_ONE_CHECK_H
#define QUIETSYNC_SYNC_ONE_CHECK_H

/* The addresses the body must refer to; 0 where the kernel has none. */
struct sync_one_expect {
	unsigned long callee;		/* smp_call_function */
	unsigned long callback;		/* tlb_remove_table_smp_sync */
	unsigned long return_thunk;	/* __x86_return_thunk, or 0 */
};

struct sync_one_verdict {
	int ok;
	unsigned int offset;		/* where decoding stopped */
	const char *why;		/* the reason, when !ok */
};

static inline long sync_one_rel32(const unsigned char *p)
{
	return (long)(int)((unsigned int)p[0] | (unsigned int)p[1] << 8 |
			   (unsigned int)p[2] << 16 | (unsigned int)p[3] << 24);
}

/* Length of the NOP or int3 padding at @p, 0 if it is not padding. */
static inline unsigned int sync_one_padding_len(const unsigned char *p,
						unsigned int left)
{
	unsigned int i = 0, len;

	if (p[0] == 0x90 || p[0] == 0xcc)
		return 1;
	/* Multi-byte NOPs: [66...] [2e] 0f 1f /0 */
	while (i < left && p[i] == 0x66)
		i++;
	if (i < left && p[i] == 0x2e)
		i++;
	if (i + 3 > left || p[i] != 0x0f || p[i + 1] != 0x1f)
		return 0;
	switch (p[i + 2]) {
	case 0x00:
		len = 3;
		break;
	case 0x40:
		len = 4;
		break;
	case 0x44:
		len = 5;
		break;
	case 0x80:
		len = 7;
		break;
	case 0x84:
		len = 8;
		break;
	default:
		return 0;
	}
	return i + len <= left ? i + len : 0;
}

/*
 * Decode @size bytes of @code, which the kernel runs at @addr. @fentry is
 * the offset of the ftrace site (-1 if the kernel has none): its 5 bytes
 * are skipped whatever they hold, as ftrace rewrites them.
 */
static inline struct sync_one_verdict
sync_one_check(const unsigned char *code, unsigned long addr,
	       unsigned int size, int fentry,
	       const struct sync_one_expect *want)
{
	struct sync_one_verdict v = { 0, 0, "" };
	int edx_one = 0, esi_zero = 0, rdi_callback = 0, called = 0;
	unsigned int i = 0, n;
	unsigned long target;

	if (size >= 4 && ((code[0] == 0xf3 && code[1] == 0x0f &&
			   code[2] == 0x1e && code[3] == 0xfa) ||
			  sync_one_padding_len(code, 4) == 4))
		i = 4;
	if (fentry >= 0 && (unsigned int)fentry == i && i + 5 <= size)
		i += 5;
	else if (i + 5 <= size && code[i] == 0x0f && code[i + 1] == 0x1f &&
		 code[i + 2] == 0x44 && code[i + 3] == 0 && code[i + 4] == 0)
		i += 5;

	/* The arguments, in any order, each once. */
	for (;;) {
		v.offset = i;
		if (i + 5 <= size && code[i] == 0xba && code[i + 1] == 1 &&
		    !code[i + 2] && !code[i + 3] && !code[i + 4] && !edx_one) {
			edx_one = 1;		/* mov $1,%edx: wait */
			i += 5;
		} else if (i + 2 <= size && (code[i] == 0x31 || code[i] == 0x33) &&
			   code[i + 1] == 0xf6 && !esi_zero) {
			esi_zero = 1;		/* xor %esi,%esi: info */
			i += 2;
		} else if (i + 7 <= size && code[i] == 0x48 && code[i + 1] == 0xc7 &&
			   code[i + 2] == 0xc7 && !rdi_callback) {
			/* mov $imm32,%rdi (sign-extended): func */
			if ((unsigned long)sync_one_rel32(code + i + 3) != want->callback) {
				v.why = "the callback (%rdi) is not tlb_remove_table_smp_sync";
				return v;
			}
			rdi_callback = 1;
			i += 7;
		} else if (i + 7 <= size && code[i] == 0x48 && code[i + 1] == 0x8d &&
			   code[i + 2] == 0x3d && !rdi_callback) {
			/* lea rel32(%rip),%rdi: func */
			if (addr + i + 7 + sync_one_rel32(code + i + 3) != want->callback) {
				v.why = "the callback (%rdi) is not tlb_remove_table_smp_sync";
				return v;
			}
			rdi_callback = 1;
			i += 7;
		} else {
			break;
		}
	}
	if (!edx_one || !esi_zero || !rdi_callback) {
		v.why = !edx_one ? "wait (%edx) is not set to 1 before the call" :
			!esi_zero ? "info (%esi) is not set to NULL before the call" :
			"the callback (%rdi) is not set before the call";
		return v;
	}

	/* The call: a tail call, or a call and a return. */
	if (i + 5 > size || (code[i] != 0xe9 && code[i] != 0xe8)) {
		v.why = "an instruction other than the call follows the arguments";
		return v;
	}
	target = addr + i + 5 + sync_one_rel32(code + i + 1);
	if (target != want->callee) {
		v.why = "the function it calls is another";
		return v;
	}
	called = code[i] == 0xe8;
	i += 5;
	v.offset = i;
	if (called) {
		if (i < size && code[i] == 0xc3) {
			i += 1;
		} else if (i + 5 <= size && code[i] == 0xe9 && want->return_thunk &&
			   addr + i + 5 + sync_one_rel32(code + i + 1) == want->return_thunk) {
			i += 5;
		} else {
			v.why = "the call to smp_call_function is not followed by a return";
			return v;
		}
	}

	/* Only padding up to the end of the symbol. */
	while (i < size) {
		v.offset = i;
		n = sync_one_padding_len(code + i, size - i);
		if (!n) {
			v.why = "more code follows the call";
			return v;
		}
		i += n;
	}
	v.offset = i;
	v.ok = 1;
	return v;
}

#endif
