// SPDX-License-Identifier: GPL-2.0
/* quietsync-check: CPU sets, the isolated CPUs and their interrupt counts. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cpus.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(struct cpuset *s, int size)
{
	unsigned char *bit;

	if (size <= s->size)
		return 0;
	bit = realloc(s->bit, (size_t)size);
	if (!bit)
		return -1;
	memset(bit + s->size, 0, (size_t)(size - s->size));
	s->bit = bit;
	s->size = size;
	return 0;
}

static int parse_id(const char **p, long *id, char *err, size_t errlen)
{
	char *end;

	if (!isdigit((unsigned char)**p)) {
		snprintf(err, errlen, "'%.20s' is not a CPU number", *p);
		return -1;
	}
	errno = 0;
	*id = strtol(*p, &end, 10);
	if (errno || *id > QS_MAX_CPU_ID) {
		snprintf(err, errlen, "CPU %.20s is past the largest CPU number Linux has (%d)",
			 *p, QS_MAX_CPU_ID);
		return -1;
	}
	*p = end;
	return 0;
}

int cpuset_parse(const char *list, struct cpuset *s, char *err, size_t errlen)
{
	const char *p = list;
	long a, b;

	s->size = 0;
	s->bit = NULL;
	while (isspace((unsigned char)*p))
		p++;
	if (!*p || !strncmp(p, "(null)", 6))
		return 0;
	for (;;) {
		if (parse_id(&p, &a, err, errlen))
			goto bad;
		b = a;
		if (*p == '-') {
			p++;
			if (parse_id(&p, &b, err, errlen))
				goto bad;
			if (b < a) {
				snprintf(err, errlen, "the range %ld-%ld is reversed", a, b);
				goto bad;
			}
		}
		if (grow(s, (int)b + 1)) {
			snprintf(err, errlen, "out of memory");
			goto bad;
		}
		memset(s->bit + a, 1, (size_t)(b - a + 1));
		if (*p == ',') {
			p++;
			continue;
		}
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			return 0;
		snprintf(err, errlen, "unexpected '%.20s'", p);
		goto bad;
	}
bad:
	cpuset_free(s);
	return -1;
}

int cpuset_read(const char *path, struct cpuset *s, char *err, size_t errlen)
{
	char *text = read_all(path), why[160];
	int rc;

	s->size = 0;
	s->bit = NULL;
	if (!text) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "cannot read %s (%s)", path, strerror(errno));
		return -1;
	}
	rc = cpuset_parse(text, s, why, sizeof(why));
	if (rc)
		snprintf(err, errlen, "cannot parse %s: %s", path, why);
	free(text);
	return rc;
}

bool cpuset_has(const struct cpuset *s, int cpu)
{
	return cpu >= 0 && cpu < s->size && s->bit[cpu];
}

int cpuset_count(const struct cpuset *s)
{
	int cpu, n = 0;

	for (cpu = 0; cpu < s->size; cpu++)
		n += s->bit[cpu];
	return n;
}

int cpuset_last(const struct cpuset *s)
{
	int cpu;

	for (cpu = s->size - 1; cpu >= 0; cpu--)
		if (s->bit[cpu])
			return cpu;
	return -1;
}

char *cpuset_format(const struct cpuset *s)
{
	size_t cap = 16 + (size_t)s->size * 7, len = 0;
	char *out = malloc(cap);
	int a = 0, b;

	if (!out)
		return NULL;
	out[0] = '\0';
	while (a < s->size) {
		if (!s->bit[a]) {
			a++;
			continue;
		}
		for (b = a; b + 1 < s->size && s->bit[b + 1]; b++)
			;
		len += (size_t)snprintf(out + len, cap - len, len ? ",%d" : "%d", a);
		if (b > a)
			len += (size_t)snprintf(out + len, cap - len, "-%d", b);
		a = b + 1;
	}
	return out;
}

void cpuset_free(struct cpuset *s)
{
	free(s->bit);
	s->bit = NULL;
	s->size = 0;
}

/* The header's "CPU0 CPU1 CPU4 ...": the CPU of each column; -1 on error. */
static int header_columns(char *line, int *col, int max)
{
	char *tok, *save = NULL;
	int n = 0;
	long id;

	for (tok = strtok_r(line, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		if (strncmp(tok, "CPU", 3) || !isdigit((unsigned char)tok[3]))
			return -1;
		id = strtol(tok + 3, NULL, 10);
		if (n == max || id > QS_MAX_CPU_ID)
			return -1;
		col[n++] = (int)id;
	}
	return n;
}

int read_function_call_ipis(const char *path, long *counts, int size)
{
	char *line = NULL, *p, *end;
	size_t cap = 0;
	int *col = NULL, ncol = -1, i, rc = -1;
	FILE *f = fopen(path, "re");

	for (i = 0; i < size; i++)
		counts[i] = -1;
	if (!f)
		return -1;
	col = malloc(sizeof(*col) * (QS_MAX_CPU_ID + 1));
	if (!col || getline(&line, &cap, f) < 0)
		goto out;
	ncol = header_columns(line, col, QS_MAX_CPU_ID + 1);
	if (ncol <= 0)
		goto out;
	while (getline(&line, &cap, f) >= 0) {
		/* x86 "CAL:", arm64 "IPI1:": the row's text is the same. */
		if (!strstr(line, "Function call interrupts"))
			continue;
		p = strchr(line, ':');
		if (!p)
			break;
		p++;
		for (i = 0; i < ncol; i++) {
			long v = strtol(p, &end, 10);

			if (end == p)
				goto out;
			p = end;
			if (col[i] < size)
				counts[col[i]] = v;
		}
		rc = 0;
		break;
	}
out:
	free(line);
	free(col);
	fclose(f);
	return rc;
}

long irq_counter_delta(long before, long after)
{
	if (before < 0 || after < 0)
		return -1;
	return after - before + (after < before ? 4294967296L : 0);
}
