// SPDX-License-Identifier: GPL-2.0
#include "ipicount.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CSD_DIR QS_TRACEFS "/events/csd/csd_function_entry"

struct saved_setting {
	const char *path;
	char value[256];
	bool saved;
};

static struct saved_setting saved[] = {
	{ .path = QS_TRACEFS "/tracing_on" },
	{ .path = CSD_DIR "/filter" },
	{ .path = CSD_DIR "/enable" },
};

#define NSAVED (sizeof(saved) / sizeof(saved[0]))

/* What a recorded line of the counted event must contain. */
static char match[128];
/* What a recorded line of another callback would contain. */
static const char *other_match = "csd_function_entry";

int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t len = (ssize_t)strlen(text), n;

	if (fd < 0)
		return -1;
	n = write(fd, text, (size_t)len);
	if (close(fd) || n != len)
		return -1;
	return 0;
}

int read_file(const char *path, char *buf, unsigned long size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int)n;
}

void read_value(const char *path, char *out, unsigned long size)
{
	if (read_file(path, out, size) < 0) {
		out[0] = '\0';
		return;
	}
	out[strcspn(out, "\n")] = '\0';
}

int read_selected(const char *path, char *out, unsigned long size)
{
	char buf[512], *open_b, *close_b;

	out[0] = '\0';
	if (read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	open_b = strchr(buf, '[');
	close_b = open_b ? strchr(open_b, ']') : NULL;
	if (!close_b || (unsigned long)(close_b - open_b) > size)
		return -1;
	memcpy(out, open_b + 1, (size_t)(close_b - open_b - 1));
	out[close_b - open_b - 1] = '\0';
	return 0;
}

static void save_setting(struct saved_setting *s)
{
	char *nl;

	if (read_file(s->path, s->value, sizeof(s->value)) < 0)
		return;
	nl = strchr(s->value, '\n');
	if (nl)
		*nl = '\0';
	/* An unset filter reads back as "none". */
	if (!strcmp(s->value, "none"))
		strcpy(s->value, "0");
	s->saved = true;
}

void ipitrace_restore(void)
{
	unsigned long i;

	/*
	 * Disable the event before removing its filter, reverse order. In
	 * the lab the event is on from boot (lab/vm.sh): "enable" is saved
	 * and restored as 1, and no kernel text is patched here.
	 */
	for (i = NSAVED; i-- > 0;) {
		if (!saved[i].saved)
			continue;
		write_file(saved[i].path, saved[i].value);
		saved[i].saved = false;
	}
}

/*
 * No csd events (before 6.4): the kprobe event on the sync callback, on
 * since boot. It sees only that callback; nothing to filter or save.
 */
bool event_enabled(const char *event)
{
	char line[256];
	bool found = false;
	FILE *f = fopen(QS_TRACEFS "/set_event", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		found = !strcmp(line, event);
	}
	fclose(f);
	return found;
}

static int ipitrace_start_kprobe(const char *callback)
{
	if (strcmp(callback, QS_SYNC_CALLBACK) || !event_enabled(QS_SYNC_KPROBE_SET_EVENT)) {
		printf("# no %s, and %s is not enabled (kprobe_event=p:%s,%s on the command line;"
		       " enabling it at run time would patch kernel text)\n",
		       CSD_DIR, QS_SYNC_KPROBE_SET_EVENT, QS_SYNC_KPROBE_EVENT, QS_SYNC_CALLBACK);
		return -1;
	}
	snprintf(match, sizeof(match), " %s: (%s+", strchr(QS_SYNC_KPROBE_EVENT, '/') + 1,
		 callback);
	other_match = NULL;
	save_setting(&saved[0]);
	if (write_file(QS_TRACEFS "/tracing_on", "0") ||
	    write_file(QS_TRACEFS "/trace", "") ||
	    write_file(QS_TRACEFS "/tracing_on", "1")) {
		printf("# cannot start tracing: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

int ipitrace_start(const char *callback)
{
	static bool registered;
	char filter[128];
	unsigned long i;

	if (!registered) {
		atexit(ipitrace_restore);
		registered = true;
	}
	/*
	 * The kprobe event where there are no csd events (before 6.4), and
	 * where the lab enabled it at boot instead of them (a kernel that
	 * does not boot under TCG with the csd event on, lab/vm.sh).
	 */
	if (access(CSD_DIR "/enable", F_OK) ||
	    (!strcmp(callback, QS_SYNC_CALLBACK) && event_enabled(QS_SYNC_KPROBE_SET_EVENT)))
		return ipitrace_start_kprobe(callback);
	if (access(CSD_DIR "/enable", W_OK)) {
		printf("# %s not writable (tracefs not mounted?): %s\n",
		       CSD_DIR, strerror(errno));
		return -1;
	}
	for (i = 0; i < NSAVED; i++)
		save_setting(&saved[i]);
	snprintf(filter, sizeof(filter), "func.function == %s", callback);
	snprintf(match, sizeof(match), "func=%s,", callback);
	if (write_file(CSD_DIR "/filter", filter)) {
		printf("# cannot set filter '%s': %s\n", filter, strerror(errno));
		return -1;
	}
	if (write_file(QS_TRACEFS "/tracing_on", "0") ||
	    write_file(QS_TRACEFS "/trace", "") ||
	    write_file(CSD_DIR "/enable", "1") ||
	    write_file(QS_TRACEFS "/tracing_on", "1")) {
		printf("# cannot enable %s: %s\n", CSD_DIR, strerror(errno));
		return -1;
	}
	return 0;
}

void ipitrace_stop(void)
{
	write_file(QS_TRACEFS "/tracing_on", "0");
}

int ipitrace_restart(void)
{
	if (write_file(QS_TRACEFS "/tracing_on", "0") ||
	    write_file(QS_TRACEFS "/trace", "") ||
	    write_file(QS_TRACEFS "/tracing_on", "1"))
		return -1;
	return 0;
}

static long stat_field(int cpu, const char *field)
{
	char path[128], buf[1024], *p;

	snprintf(path, sizeof(path), QS_TRACEFS "/per_cpu/cpu%d/stats", cpu);
	if (read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	p = strstr(buf, field);
	if (!p)
		return -1;
	return strtol(p + strlen(field), NULL, 10);
}

long ipitrace_count(int cpu)
{
	char path[128], line[512];
	long count = 0, other = 0;
	FILE *f;

	if (stat_field(cpu, "overrun:") != 0 ||
	    stat_field(cpu, "dropped events:") > 0) {
		printf("# cpu%d trace buffer lost events\n", cpu);
		return -1;
	}
	snprintf(path, sizeof(path), QS_TRACEFS "/per_cpu/cpu%d/trace", cpu);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		if (strstr(line, match))
			count++;
		else if (other_match && strstr(line, other_match))
			other++;
	}
	fclose(f);
	if (other) {
		/* The filter let other callbacks through: counts are wrong. */
		printf("# cpu%d: %ld events for other callbacks\n", cpu, other);
		return -1;
	}
	return count;
}

int read_cal_counts(long *counts, int ncpus)
{
	char line[4096], *p, *end;
	int n = -1;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* x86 "CAL:", arm64 "IPI1:": the row's text is the same. */
		if (!strstr(line, "Function call interrupts"))
			continue;
		p = strchr(line, ':');
		if (!p)
			break;
		p++;
		for (n = 0; n < ncpus; n++) {
			counts[n] = strtol(p, &end, 10);
			if (end == p)
				break;
			p = end;
		}
		break;
	}
	fclose(f);
	return n;
}

int kmsg_open_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

bool kmsg_find(int fd, const char *needle, char *found, unsigned long size)
{
	/* One /dev/kmsg record: a shorter buffer makes read() fail (EINVAL). */
	char rec[8192], *msg;
	ssize_t n;

	while (fd >= 0) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: read on */
		if (n <= 0)
			return false;
		rec[n] = '\0';
		if (!strstr(rec, needle))
			continue;
		/* "prio,seq,time,flags;message\n" */
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		snprintf(found, size, "%.*s", (int)strcspn(msg, "\n"), msg);
		return true;
	}
	return false;
}
