/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The census behind the livepatch's "flushed" rule: every place in the
 * running kernel's text and data that refers to tlb_remove_table_sync_one().
 *
 * On x86 with the native TLB flush, each caller of the sync in Debian's
 * amd64 kernels has just flushed the operating mm's TLB with IPIs and waited
 * for every CPU that runs it (collapse_huge_page(), 6.1's
 * collapse_and_free_pmd() after pmdp_collapse_flush(); the hugetlb unshare
 * after tlb_flush_mmu_tlbonly(); tlb_remove_table_one() after
 * tlb_table_invalidate(), reached only with a paravirt flush). That holds
 * for the callers the source shows, not for any caller: the livepatch drops
 * the sync only if every reference to the function in the binary it runs on
 * is a direct call or jump from one of the functions allowed for its kernel
 * line, and nothing takes its address.
 *
 * A byte scan, not a disassembly: at every offset it tries the x86-64
 * forms that reach the function (call, jmp and jcc with rel32, jmp and jcc
 * with rel8), and the ones that take its address: lea rip-relative, any
 * 4 bytes that sign-extend to it (an imm32 or disp32 of any instruction:
 * mov to a register or to memory, push, cmp) and any 8 bytes equal to it
 * (movabs, a pointer in code or data). In vmlinux's text and data every
 * real reference has one of these forms; bytes that only look like one can
 * only make the census refuse, never accept. Module text is not scanned:
 * the function is not exported, so no module links to it. Branches to the 16 bytes
 * before the function count too (call-depth tracking's thunks live there).
 * The function's own bytes are skipped: sync_one_check.h has decoded them
 * as one call of smp_call_function() and padding (on Debian's
 * 6.12.118+deb12-rt-amd64 the call's rel32 reads, one byte in, as a jcc8
 * back to the function's start).
 *
 * Plain C over byte buffers, so that the module and the host's unit test
 * (tests/sync_census_test.c) run the same code.
 */
#ifndef QUIETSYNC_SYNC_CENSUS_H
#define QUIETSYNC_SYNC_CENSUS_H

#define CENSUS_MAX 32
/* Branch targets this far before the function are still the function. */
#define CENSUS_PADDING 16

enum census_ref {
	CENSUS_CALL,		/* call rel32 */
	CENSUS_JMP,		/* jmp rel32: a tail call */
	CENSUS_JCC,		/* jcc rel32: a conditional tail call */
	CENSUS_JMP8,		/* jmp rel8 */
	CENSUS_JCC8,		/* jcc rel8 */
	CENSUS_LEA,		/* lea rel32(%rip): the address taken */
	CENSUS_IMM32,		/* 4 bytes sign-extending to it: the address taken */
	CENSUS_VALUE,		/* an 8-byte value equal to the address */
};

static const char *const census_ref_names[] = {
	"call", "jmp", "jcc", "jmp8", "jcc8", "lea", "imm32", "value",
};

struct census_site {
	unsigned long addr;
	enum census_ref ref;
};

struct census {
	unsigned int n;			/* found; only CENSUS_MAX kept */
	struct census_site site[CENSUS_MAX];
};

struct census_verdict {
	int ok;
	unsigned int calls;		/* direct calls and jumps found */
	const char *why;		/* the reason, when !ok */
	int bad;			/* the site it refused, or -1 */
};

static inline long census_rel32(const unsigned char *p)
{
	return (long)(int)((unsigned int)p[0] | (unsigned int)p[1] << 8 |
			   (unsigned int)p[2] << 16 | (unsigned int)p[3] << 24);
}

static inline unsigned long census_u64(const unsigned char *p)
{
	unsigned long v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static inline void census_add(struct census *c, unsigned long addr,
			      enum census_ref ref)
{
	if (c->n < CENSUS_MAX) {
		c->site[c->n].addr = addr;
		c->site[c->n].ref = ref;
	}
	c->n++;
}

static inline int census_branch_hits(unsigned long to, unsigned long target)
{
	return to <= target && target - to <= CENSUS_PADDING;
}

/*
 * The references to @target that start in the first @scan of @len bytes of
 * text that run at @base (a chunk and the few bytes after it, so that an
 * instruction across the chunk's end is read whole and counted once),
 * outside the @self bytes of the function at @target.
 */
static inline void census_text(struct census *c, const unsigned char *t,
			       unsigned long base, unsigned long scan,
			       unsigned long len, unsigned long target,
			       unsigned long self)
{
	unsigned long i, at;

	for (i = 0; i < scan && i < len; i++) {
		at = base + i;
		if (at >= target && at - target < self)
			continue;
		if ((t[i] == 0xe8 || t[i] == 0xe9) && i + 5 <= len &&
		    census_branch_hits(at + 5 + census_rel32(t + i + 1), target))
			census_add(c, at, t[i] == 0xe8 ? CENSUS_CALL : CENSUS_JMP);
		if (t[i] == 0x0f && i + 6 <= len && (t[i + 1] & 0xf0) == 0x80 &&
		    census_branch_hits(at + 6 + census_rel32(t + i + 2), target))
			census_add(c, at, CENSUS_JCC);
		if ((t[i] == 0xeb || (t[i] & 0xf0) == 0x70) && i + 2 <= len &&
		    census_branch_hits(at + 2 + (long)(signed char)t[i + 1], target))
			census_add(c, at, t[i] == 0xeb ? CENSUS_JMP8 : CENSUS_JCC8);
		/* REX.W lea with a rip-relative operand: modrm 00 reg 101. */
		if ((t[i] & 0xf8) == 0x48 && i + 7 <= len && t[i + 1] == 0x8d &&
		    (t[i + 2] & 0xc7) == 0x05 &&
		    at + 7 + census_rel32(t + i + 3) == target)
			census_add(c, at, CENSUS_LEA);
		/* Any imm32 or disp32 that sign-extends to it. */
		if (i + 4 <= len && (unsigned long)census_rel32(t + i) == target)
			census_add(c, at, CENSUS_IMM32);
		if (i + 8 <= len && census_u64(t + i) == target)
			census_add(c, at, CENSUS_VALUE);
	}
}

/*
 * The 8-byte values equal to @target, and the 4-byte ones that
 * sign-extend to it, starting in the first @scan of @len bytes of data at
 * @base (absolute references; data's relative ones, as ORC's, name code
 * locations, not callees).
 */
static inline void census_data(struct census *c, const unsigned char *d,
			       unsigned long base, unsigned long scan,
			       unsigned long len, unsigned long target)
{
	unsigned long i;

	for (i = 0; i < scan && i + 4 <= len; i++) {
		if (i + 8 <= len && census_u64(d + i) == target)
			census_add(c, base + i, CENSUS_VALUE);
		if ((unsigned long)census_rel32(d + i) == target)
			census_add(c, base + i, CENSUS_IMM32);
	}
}

/* @name without a compiler clone's suffix (.isra.0, .constprop.0, .cold). */
static inline int census_name_is(const char *name, const char *want)
{
	while (*want && *name == *want) {
		name++;
		want++;
	}
	return !*want && (!*name || *name == '.');
}

/*
 * The function @addr is in, into @name (empty if none); supplied by the
 * caller: sprint_symbol() in the module, a fixture table in the test.
 */
typedef void (*census_name_fn)(unsigned long addr, char *name,
			       unsigned int size);

/*
 * Accept only direct calls and jumps, at least one, each from a function of
 * @allowed (NULL-terminated), and nothing that takes the address.
 */
static inline struct census_verdict
census_judge(const struct census *c, const char *const *allowed,
	     census_name_fn name_of)
{
	struct census_verdict v = { 0, 0, "", -1 };
	const char *const *a;
	char name[128];
	unsigned int i;

	if (c->n > CENSUS_MAX) {
		v.why = "more references than the census keeps";
		return v;
	}
	for (i = 0; i < c->n; i++) {
		v.bad = (int)i;
		if (c->site[i].ref >= CENSUS_LEA) {
			v.why = "its address is taken (an indirect call cannot be checked)";
			return v;
		}
		name_of(c->site[i].addr, name, sizeof(name));
		for (a = allowed; *a && !census_name_is(name, *a); a++)
			;
		if (!*a) {
			v.why = "called from a function whose flush the livepatch does not know";
			return v;
		}
		v.calls++;
	}
	v.bad = -1;
	if (!v.calls) {
		v.why = "no call found (calls through call-depth thunks, or another layout)";
		return v;
	}
	v.ok = 1;
	return v;
}

#endif
