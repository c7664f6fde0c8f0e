// SPDX-License-Identifier: GPL-2.0
/*
 * Unit test of livepatch/sync_census.h, the census that decides whether
 * the livepatch may drop the sync on x86 with the native flush: a fixture
 * "kernel" (text, data and a symbol table) with the sync called from
 * allowed functions, then one change at a time: a call from another
 * function, its address taken (lea, mov to a register or to memory, a
 * pointer in data), no call at
 * all, more references than kept. Every one of those must refuse (the
 * livepatch then keeps the quiet rule). Bytes inside the function itself
 * are not counted, and a scan in chunks (the module's 1 MiB) finds the
 * same references as one scan, none twice. KTAP on stdout.
 */
#include <stdio.h>
#include <string.h>

#include "sync_census.h"

#define BASE	0xffffffff81000000UL
#define TEXT	4096
#define SYNC	(BASE + 0x800)		/* tlb_remove_table_sync_one */

/* The fixture's functions, by start address (text offsets). */
static const struct {
	unsigned long start;
	const char *name;
} symbols[] = {
	{ 0x000, "hpage_collapse_scan_pmd" },
	{ 0x200, "huge_pmd_unshare_flush" },
	{ 0x300, "collapse_huge_page.isra.0" },
	{ 0x400, "madvise_collapse" },
	{ 0x600, "tlb_remove_table_smp_sync" },
	{ 0x800, "tlb_remove_table_sync_one" },
	{ 0x840, "tlb_remove_table" },
	{ 0x900, "do_something_else" },
	{ TEXT, "" },
};

static const char *const allowed[] = {
	"collapse_huge_page", "hpage_collapse_scan_pmd", "huge_pmd_unshare_flush",
	"tlb_remove_table", NULL,
};

static void name_of(unsigned long addr, char *name, unsigned int size)
{
	unsigned int i;

	name[0] = '\0';
	for (i = 0; symbols[i].start < TEXT; i++)
		if (addr >= BASE + symbols[i].start && addr < BASE + symbols[i + 1].start) {
			snprintf(name, size, "%s", symbols[i].name);
			return;
		}
}

static unsigned char text[TEXT];
static unsigned char data[256];
static int test_no, failed;

static void put32(unsigned char *p, long v)
{
	unsigned int u = (unsigned int)v;

	p[0] = u & 0xff;
	p[1] = (u >> 8) & 0xff;
	p[2] = (u >> 16) & 0xff;
	p[3] = u >> 24;
}

/* A call (e8) or jump (e9) at text offset @off to @to. */
static void branch(unsigned int off, unsigned char op, unsigned long to)
{
	text[off] = op;
	put32(text + off + 1, (long)(to - (BASE + off + 5)));
}

/* The fixture: int3 filler, the sync called from three allowed places. */
static void fixture(void)
{
	memset(text, 0xcc, sizeof(text));
	memset(data, 0, sizeof(data));
	branch(0x010, 0xe8, SYNC);		/* hpage_collapse_scan_pmd: call */
	branch(0x210, 0xe9, SYNC);		/* huge_pmd_unshare_flush: tail call */
	text[0x320] = 0x0f;			/* collapse_huge_page: jne */
	text[0x321] = 0x85;
	put32(text + 0x322, (long)(SYNC - (BASE + 0x320 + 6)));
	text[0x850] = 0xeb;			/* tlb_remove_table: jmp rel8 back */
	text[0x851] = (unsigned char)(signed char)(0x800 - (0x850 + 2));
}

static struct census_verdict run(struct census *c)
{
	memset(c, 0, sizeof(*c));
	census_text(c, text, BASE, sizeof(text), sizeof(text), SYNC, 0x20);
	census_data(c, data, BASE + 0x100000, sizeof(data), sizeof(data), SYNC);
	return census_judge(c, allowed, name_of);
}

/*
 * The module's way: chunks of @chunk bytes, each reading 8 bytes past its
 * end. The same references as one scan, in the same order, none twice.
 */
static int chunked_same(unsigned long chunk)
{
	struct census whole, parts;
	unsigned long at, step;
	unsigned int i;

	run(&whole);
	memset(&parts, 0, sizeof(parts));
	for (at = 0; at < sizeof(text); at += step) {
		step = sizeof(text) - at < chunk ? sizeof(text) - at : chunk;
		census_text(&parts, text + at, BASE + at, step,
			    sizeof(text) - at < step + 8 ? sizeof(text) - at : step + 8,
			    SYNC, 0x20);
	}
	census_data(&parts, data, BASE + 0x100000, sizeof(data), sizeof(data), SYNC);
	printf("# %u references in one scan, %u in chunks of %lu bytes\n", whole.n, parts.n, chunk);
	if (whole.n != parts.n)
		return 0;
	for (i = 0; i < whole.n && i < CENSUS_MAX; i++)
		if (whole.site[i].addr != parts.site[i].addr || whole.site[i].ref != parts.site[i].ref)
			return 0;
	return 1;
}

static void expect(const char *name, int ok, const char *why_part)
{
	struct census c;
	struct census_verdict v = run(&c);
	int pass = v.ok == ok && (!why_part || strstr(v.why, why_part));

	test_no++;
	failed += !pass;
	printf("%s %d %s\n", pass ? "ok" : "not ok", test_no, name);
	printf("# %u references, %u calls: %s%s\n", c.n, v.calls,
	       v.ok ? "accepted" : "refused: ", v.why);
}

int main(void)
{
	unsigned int i;

	printf("KTAP version 1\n1..13\n");

	fixture();
	expect("four direct references from allowed functions: accepted", 1, NULL);

	fixture();
	branch(0x410, 0xe8, SYNC);
	expect("a call from madvise_collapse, not allowed: refused", 0, "does not know");

	fixture();
	branch(0x910, 0xe8, SYNC - 16);
	expect("a call into the padding before it (call-depth thunk) from another function: refused",
	       0, "does not know");

	fixture();
	text[0x910] = 0x48;			/* lea rel32(%rip),%rdi */
	text[0x911] = 0x8d;
	text[0x912] = 0x3d;
	put32(text + 0x913, (long)(SYNC - (BASE + 0x910 + 7)));
	expect("its address taken by lea: refused", 0, "address is taken");

	fixture();
	text[0x910] = 0x48;			/* mov $sync,%rdi */
	text[0x911] = 0xc7;
	text[0x912] = 0xc7;
	put32(text + 0x913, (long)SYNC);
	expect("its address taken by mov $imm32 to a register: refused", 0, "address is taken");

	fixture();
	text[0x910] = 0x48;			/* movq $sync,0x10(%rdi) */
	text[0x911] = 0xc7;
	text[0x912] = 0x47;
	text[0x913] = 0x10;
	put32(text + 0x914, (long)SYNC);
	expect("its address stored by movq $imm32 to memory: refused", 0, "address is taken");

	fixture();
	for (i = 0; i < 8; i++)
		data[0x40 + i] = (unsigned char)(SYNC >> (8 * i));
	expect("a pointer to it in data: refused", 0, "address is taken");

	fixture();
	memset(text, 0xcc, sizeof(text));
	expect("no reference at all: refused", 0, "no call found");

	fixture();
	for (i = 0; i < CENSUS_MAX; i++)
		branch(0x010 + 5 * i, 0xe8, SYNC);
	expect("more references than the census keeps: refused", 0, "more references");

	fixture();
	text[0x360] = 0x74;			/* collapse_huge_page: je rel8, too far */
	text[0x361] = 0x10;
	text[0x860] = 0x74;			/* tlb_remove_table: je rel8 back */
	text[0x861] = (unsigned char)(signed char)(0x800 - (0x860 + 2));
	expect("a rel8 jcc back into it from an allowed function: accepted", 1, NULL);

	fixture();
	text[0x7f0] = 0xeb;			/* tlb_remove_table_smp_sync: jmp 0x800 */
	text[0x7f1] = 0x0e;
	expect("a rel8 jmp from the function before it (not allowed): refused", 0, "does not know");

	fixture();
	text[0x819] = 0x74;			/* in the function itself: je back to it */
	text[0x81a] = (unsigned char)(signed char)(0x800 - (0x819 + 2));
	expect("bytes in the function itself that read as a jump to it: not counted", 1, NULL);

	fixture();
	/*
	 * 0x320's jne rel32 (6 bytes) spans the end of a chunk at 0x324, and
	 * starts in the 8 bytes read past a chunk that ends at 0x31e.
	 */
	test_no++;
	i = chunked_same(0x324) && chunked_same(0x31e);
	failed += !i;
	printf("%s %d scanned in chunks with a branch across a chunk's end: the same references, none twice\n",
	       i ? "ok" : "not ok", test_no);

	printf("# %s\n", failed ? "FAIL" : "PASS");
	return failed ? 1 : 0;
}
