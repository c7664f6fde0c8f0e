// SPDX-License-Identifier: GPL-2.0
/* quietsync-check: its command line, the options rtla and oslat users know. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "options.h"
#include "cpus.h"
#include "report.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef QS_VERSION
#define QS_VERSION "(built outside a package)"
#endif

static void usage(FILE *out)
{
	fputs("usage: quietsync-check [-d DURATION] [-l] [-c LIST] [-H CPU] [--max-ipis N] [--json[=FILE]]\n"
	      "       quietsync-check --status [--json[=FILE]] | --cleanup | -V | -h\n", out);
}

static void help(void)
{
	usage(stdout);
	fputs(
"\n"
"Tell whether this machine's isolated CPUs (nohz_full=, isolcpus=, cgroup\n"
"isolated partitions) are interrupted by the page-table sync IPI that Linux\n"
"sends when it frees page tables (THP collapse, hugetlb unsharing), and\n"
"whether a fix (the quietsync livepatch or kernel series) is active.\n"
"\n"
"  -d, --duration D   watch for D (10s, 1m, 1h; a plain number is seconds;\n"
"                     default 10s); Ctrl-C ends it early and summarizes\n"
"      --seconds N    the same, in seconds\n"
"  -l, --load         make syncs on a housekeeping CPU (needed on a quiet\n"
"                     machine, and to verify a fix; it interrupts exposed\n"
"                     isolated CPUs): collapse huge pages where the kernel\n"
"                     has THP, else unshare a 1 GiB hugetlb mapping\n"
"  -c, --cpus LIST    treat these CPUs (e.g. 2-5,8) as the isolated ones\n"
"  -H, --house-keeping CPU  run the load on CPU (default: the first\n"
"                     online CPU that is not isolated)\n"
"      --max-ipis N   also call an isolated CPU hit above N sync IPIs\n"
"                     (the relative bound: more than 10% of the syncs)\n"
"  -j, --json[=FILE]  print the result as JSON (to FILE)\n"
"      --status       at once, without tracing or load: the kernel, the\n"
"                     livepatch, each installed covered kernel's module\n"
"      --cleanup      undo what a killed run left (trace instance, kprobe\n"
"                     event, nr_overcommit_hugepages) and exit\n"
"  -V, --version      print the version\n"
"  -h, --help         this text\n"
"\n"
"Needs root and tracefs; counts in a trace instance of its own, removed at\n"
"exit. Two instances do not run at once (" QS_LOCK_FILE ").\n"
"\n"
"Exit status: 0 not exposed, fix active and verified, or (--status) loaded;\n"
"1 exposed, or a covered kernel installed without the fix; 3 cannot tell\n"
"(the reason is printed); 64 bad usage.\n", stdout);
}

/* "10", "10s", "1m", "2h" -> seconds; -1 if it does not parse. */
static double parse_duration(const char *arg)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (end == arg || errno || v <= 0)
		return -1;
	if (!strcmp(end, "m") || !strcmp(end, "min"))
		v *= 60;
	else if (!strcmp(end, "h"))
		v *= 3600;
	else if (*end && strcmp(end, "s"))
		return -1;
	return !(v >= 1 && v <= MAX_SECONDS) ? -1 : v;
}

int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "seconds", required_argument, NULL, 's' },
		{ "load", no_argument, NULL, 'l' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "house-keeping", required_argument, NULL, 'H' },
		{ "max-ipis", required_argument, NULL, 'm' },
		{ "json", optional_argument, NULL, 'j' },
		{ "status", no_argument, NULL, 'S' },
		{ "cleanup", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int opt;
	long v;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":d:lc:H:j::hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
		case 's':
			o->seconds = parse_duration(optarg);
			if (o->seconds < 0 || (opt == 's' && strspn(optarg, "0123456789") != strlen(optarg)))
				return snprintf(o->error, sizeof(o->error),
						"%s takes a duration from 1s to 24h (10s, 1m), not '%s'",
						opt == 's' ? "--seconds" : "--duration", optarg), -1;
			break;
		case 'l':
			o->load = true;
			break;
		case 'c':
			o->cpus = optarg;
			break;
		case 'H':
		case 'm':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (end == optarg || *end || errno || v < 0 || v > QS_MAX_CPU_ID * (opt == 'm' ? 1000L : 1))
				return snprintf(o->error, sizeof(o->error), "%s takes a whole number, not '%s'",
						opt == 'H' ? "--house-keeping" : "--max-ipis", optarg), -1;
			if (opt == 'H')
				o->housekeeping = (int)v;
			else
				o->max_ipis = v;
			break;
		case 'j':
			o->json = true;
			o->json_file = optarg;
			break;
		case 'S':
			o->status = true;
			break;
		case 'C':
			o->cleanup = true;
			break;
		case 'h':
			help();
			exit(EXIT_FINE);
		case 'V':
			puts("quietsync-check " QS_VERSION);
			exit(EXIT_FINE);
		case ':':
			return snprintf(o->error, sizeof(o->error), "%s needs a value",
					argv[optind - 1]), -1;
		default:
			if (optopt)
				return snprintf(o->error, sizeof(o->error), "unknown option '-%c'", optopt), -1;
			return snprintf(o->error, sizeof(o->error), "unknown option '%s'",
					argv[optind - 1]), -1;
		}
	}
	if (optind < argc)
		return snprintf(o->error, sizeof(o->error), "unexpected argument '%s'", argv[optind]), -1;
	if (o->status + o->cleanup > 1 || ((o->status || o->cleanup) && o->load))
		return snprintf(o->error, sizeof(o->error), "--status, --cleanup and --load exclude each other"), -1;
	return 0;
}
