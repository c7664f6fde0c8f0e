/* SPDX-License-Identifier: GPL-2.0 */
/* quietsync-check: its command line. */
#ifndef QS_OPTIONS_H
#define QS_OPTIONS_H

#include <stdbool.h>

#define MAX_SECONDS 86400

struct options {
	bool load, json, status, cleanup;
	const char *json_file, *cpus;
	double seconds;
	int housekeeping;	/* -1: the first housekeeping CPU */
	long max_ipis;		/* -1: none */
	char error[256];
};

/*
 * Parse the command line into @o (-h and -V print and exit); 0, or -1
 * with the usage error in @o->error.
 */
int parse_options(int argc, char **argv, struct options *o);

#endif
