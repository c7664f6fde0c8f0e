// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * qs-interference's arithmetic: the log2 histogram's bucket, growing the
 * arrays of raw lengths, and the statistics written over them.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "stats.h"

int qs_log2_bucket(uint64_t n)
{
	int b = 0;

	while (n > 1 && b < QS_HIST - 1) {
		n >>= 1;
		b++;
	}
	return b;
}

void qs_append(uint32_t **a, size_t *n, size_t *cap, size_t max, uint32_t x)
{
	if (*n == *cap && *cap < max) {
		size_t grown = *cap ? 2 * *cap : 256;
		uint32_t *b;

		if (grown > max)
			grown = max;
		b = realloc(*a, grown * sizeof(*b));
		if (b) {
			*a = b;
			*cap = grown;
		}
	}
	if (*n < *cap)
		(*a)[(*n)++] = x;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void qs_write_stats(FILE *f, const char *name, uint32_t *buf, size_t n)
{
	static const int pct[] = { 50, 90, 99 };
	size_t run = 0, best = 0, near = 0, i;
	uint32_t mode = 0;

	qsort(buf, n, sizeof(*buf), cmp_u32);
	/* The shortest and the most common value (the smallest of equals). */
	for (i = 0; i < n; i++) {
		run = i && buf[i] == buf[i - 1] ? run + 1 : 1;
		if (run > best) {
			best = run;
			mode = buf[i];
		}
	}
	/* Those within 2% of the most common value. */
	for (i = 0; i < n; i++)
		if ((uint64_t)(buf[i] > mode ? buf[i] - mode : mode - buf[i]) * 50 <= mode)
			near++;
	fprintf(f, " min_%s=%" PRIu32 " mode_%s=%" PRIu32 " modecount_%s=%zu near_%s=%zu", name,
		n ? buf[0] : 0, name, mode, name, best, name, near);
	for (i = 0; i < sizeof(pct) / sizeof(pct[0]); i++)
		fprintf(f, " p%d_%s=%" PRIu32, pct[i], name,
			n ? buf[(n * (size_t)pct[i] + 99) / 100 - 1] : 0);
	fprintf(f, " max_%s=%" PRIu32 " samples_%s=%zu", name, n ? buf[n - 1] : 0, name, n);
}
