/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qs-interference's arithmetic (stats.c). */
#ifndef QS_PLUGIN_STATS_H
#define QS_PLUGIN_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Buckets of the log2 histogram of stretch lengths. */
#define QS_HIST 32

/* The log2 histogram's bucket of @n (the last one holds the rest). */
int qs_log2_bucket(uint64_t n);

/* Append @x to the array *@a (*@n used of *@cap), growing it up to @max. */
void qs_append(uint32_t **a, size_t *n, size_t *cap, size_t max, uint32_t x);

/*
 * " min_NAME=.. mode_NAME=.. modecount_NAME=.. near_NAME=.. p50_NAME=..
 * p90_NAME=.. p99_NAME=.. max_NAME=.. samples_NAME=.." over the @n values
 * of @buf (sorted here): near, how many lie within 2% of the mode;
 * nearest-rank percentiles.
 */
void qs_write_stats(FILE *f, const char *name, uint32_t *buf, size_t n);

#endif
