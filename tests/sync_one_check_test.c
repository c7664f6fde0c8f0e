// SPDX-License-Identifier: GPL-2.0
/*
 * Unit test of livepatch/sync_one_check.h, the livepatch's check that the
 * kernel's tlb_remove_table_sync_one() is still
 * smp_call_function(tlb_remove_table_smp_sync, NULL, 1) and nothing else.
 * Starts from the bytes of Debian's 6.12.117+deb12-amd64 (as on disk: the
 * fentry site is still a call to __fentry__) and changes one thing at a
 * time: every change of meaning must be refused, every change of form that
 * the compiler or ftrace may make accepted. KTAP on stdout.
 */
#include <stdio.h>
#include <string.h>

#include "sync_one_check.h"

/* tlb_remove_table_sync_one() in 6.12.117+deb12-amd64, 32 bytes. */
static const unsigned char debian_6_12[32] = {
	0xf3, 0x0f, 0x1e, 0xfa,				/* endbr64 */
	0xe8, 0x27, 0x63, 0xcf, 0xff,			/* call __fentry__ */
	0xba, 0x01, 0x00, 0x00, 0x00,			/* mov $1,%edx */
	0x31, 0xf6,					/* xor %esi,%esi */
	0x48, 0xc7, 0xc7, 0x30, 0xd4, 0x39, 0x81,	/* mov $cb,%rdi */
	0xe9, 0x04, 0x9f, 0xe3, 0xff,			/* jmp smp_call_function */
	0x0f, 0x1f, 0x40, 0x00,				/* nopl 0(%rax) */
};

#define ADDR		0xffffffff8139d7c0UL
#define CALLBACK	0xffffffff8139d430UL
/* The jmp at offset 23: next instruction + rel32. */
#define CALLEE		(ADDR + 28 - 0x1c60fcUL)
#define THUNK		0xffffffff81e0a1c0UL

static const struct sync_one_expect want = {
	.callee = CALLEE, .callback = CALLBACK, .return_thunk = THUNK,
};

static int test_no;
static int failed;

static void put_rel32(unsigned char *p, long rel)
{
	unsigned int u = (unsigned int)rel;

	p[0] = u & 0xff;
	p[1] = (u >> 8) & 0xff;
	p[2] = (u >> 16) & 0xff;
	p[3] = (u >> 24) & 0xff;
}

/* One case: @code of @size bytes, decoded with @fentry, must give @ok. */
static void expect(const char *name, const unsigned char *code,
		   unsigned int size, int fentry, int ok, const char *why)
{
	struct sync_one_verdict v = sync_one_check(code, ADDR, size, fentry, &want);
	int pass = v.ok == ok && (ok || !why || strstr(v.why, why));

	test_no++;
	if (!pass) {
		failed = 1;
		printf("# got ok=%d at +%u: %s\n", v.ok, v.offset, v.why);
	}
	printf("%sok %d %s\n", pass ? "" : "not ", test_no, name);
}

int main(void)
{
	unsigned char c[48];

	printf("TAP version 13\n1..18\n");

	expect("Debian 6.12.117 as on disk (fentry is a call)", debian_6_12, 32, 4, 1, NULL);

	memcpy(c, debian_6_12, 32);
	memcpy(c + 4, "\x0f\x1f\x44\x00\x00", 5);
	expect("fentry site patched to a NOP, ftrace site unknown", c, 32, -1, 1, NULL);
	expect("fentry site patched to a NOP, ftrace site known", c, 32, 4, 1, NULL);
	expect("a call where the fentry NOP should be, no ftrace site: refused",
	       debian_6_12, 32, -1, 0, "wait");

	/* As Debian 6.12.118+deb13 runs it: endbr sealed, fentry a NOP. */
	memcpy(c, "\x66\x0f\x1f\x00", 4);
	expect("endbr64 sealed by the kernel (IBT), fentry a NOP", c, 32, 4, 1, NULL);
	/* 7.3.4+deb13 seals it with nopl -42(%rax). */
	memcpy(c, "\x0f\x1f\x40\xd6", 4);
	expect("endbr64 sealed as 7.x does it", c, 32, 4, 1, NULL);

	/* Without endbr64 (IBT off): fentry at 0. */
	memcpy(c, debian_6_12 + 4, 28);
	put_rel32(c + 20, (long)(CALLEE - (ADDR + 24)));
	memset(c + 28, 0xcc, 4);
	expect("no endbr64, int3 padding", c, 32, 0, 1, NULL);

	/* Arguments in another order, the callback through lea. */
	memcpy(c, debian_6_12, 9);
	memcpy(c + 9, "\x31\xf6", 2);
	memcpy(c + 11, "\x48\x8d\x3d", 3);
	put_rel32(c + 14, (long)(CALLBACK - (ADDR + 18)));
	memcpy(c + 18, "\xba\x01\x00\x00\x00", 5);
	c[23] = 0xe9;
	put_rel32(c + 24, (long)(CALLEE - (ADDR + 28)));
	memcpy(c + 28, "\x0f\x1f\x40\x00", 4);
	expect("arguments reordered, callback by lea", c, 32, 4, 1, NULL);

	/* call + ret, call + jmp __x86_return_thunk. */
	memcpy(c, debian_6_12, 23);
	c[23] = 0xe8;
	put_rel32(c + 24, (long)(CALLEE - (ADDR + 28)));
	c[28] = 0xc3;
	memset(c + 29, 0xcc, 3);
	expect("call then ret", c, 32, 4, 1, NULL);
	c[28] = 0xe9;
	put_rel32(c + 29, (long)(THUNK - (ADDR + 33)));
	memset(c + 33, 0xcc, 15);
	expect("call then jmp to the return thunk", c, 48, 4, 1, NULL);
	put_rel32(c + 29, (long)(THUNK + 64 - (ADDR + 33)));
	expect("call then jmp elsewhere: refused", c, 48, 4, 0, "return");

	/* Changes of meaning. */
	memcpy(c, debian_6_12, 32);
	c[10] = 0;
	expect("wait = 0: refused", c, 32, 4, 0, "wait");

	memcpy(c, debian_6_12, 32);
	c[19] ^= 0x40;
	expect("another callback: refused", c, 32, 4, 0, "callback");

	memcpy(c, debian_6_12, 32);
	c[24] ^= 0x10;
	expect("another function called: refused", c, 32, 4, 0, "calls is another");

	memcpy(c, debian_6_12, 32);
	memcpy(c + 14, "\x48\x89\xfe", 3);	/* mov %rdi,%rsi: info from the caller */
	expect("info not NULL: refused", c, 32, 4, 0, "info");

	memcpy(c, debian_6_12, 32);
	memcpy(c + 28, "\xe8\x00\x00", 3);
	c[31] = 0;
	expect("code after the tail call: refused", c, 32, 4, 0, "more code");

	memcpy(c, debian_6_12, 32);
	memset(c + 32, 0x90, 8);
	memcpy(c + 40, "\x0f\x0b", 2);	/* ud2 in what the size says is ours */
	expect("a longer function: refused", c, 42, 4, 0, "more code");

	expect("truncated: refused", debian_6_12, 20, 4, 0, NULL);

	printf("# %s\n", failed ? "FAIL" : "PASS");
	return failed;
}
