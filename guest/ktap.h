/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal KTAP output for the guest programs, in the kselftest style:
 * "TAP version 13", "1..N", "ok N name", "not ok N name", "# SKIP".
 * Exit codes as kselftest: 0 pass, 1 fail, 4 skip.
 */
#ifndef QS_KTAP_H
#define QS_KTAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define KTAP_PASS 0
#define KTAP_FAIL 1
#define KTAP_SKIP 4

struct ktap {
	int planned;
	int number;
	int failed;
	int skipped;
};

static inline void ktap_header(struct ktap *k, int planned)
{
	k->planned = planned;
	k->number = 0;
	k->failed = 0;
	k->skipped = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n1..%d\n", planned);
}

__attribute__((format(printf, 1, 2)))
static inline void ktap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

static inline bool ktap_result(struct ktap *k, bool pass, const char *name)
{
	k->number++;
	if (!pass)
		k->failed++;
	printf("%sok %d %s\n", pass ? "" : "not ", k->number, name);
	return pass;
}

static inline void ktap_skip(struct ktap *k, const char *name,
			     const char *reason)
{
	k->number++;
	k->skipped++;
	printf("ok %d %s # SKIP %s\n", k->number, name, reason);
}

/* Report the tests that could not run after a fatal error, then exit. */
static inline void ktap_bail(struct ktap *k, const char *why)
{
	while (k->number < k->planned) {
		k->number++;
		k->failed++;
		printf("not ok %d not_run # %s\n", k->number, why);
	}
	exit(KTAP_FAIL);
}

static inline int ktap_finish(struct ktap *k)
{
	if (k->number != k->planned)
		ktap_diag("planned %d tests, ran %d", k->planned, k->number);
	ktap_diag("totals: pass:%d fail:%d skip:%d",
		  k->number - k->failed - k->skipped, k->failed, k->skipped);
	if (k->failed || k->number != k->planned)
		return KTAP_FAIL;
	if (k->skipped == k->planned)
		return KTAP_SKIP;
	return KTAP_PASS;
}

#endif /* QS_KTAP_H */
