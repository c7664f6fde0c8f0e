// SPDX-License-Identifier: GPL-2.0
/*
 * quietsync-check: counting the sync IPIs in a trace instance of its own.
 *
 * The instance is made for the run (instances/quietsync-check-PID) and
 * removed at its end; the top-level instance, which trace-cmd, a
 * trace_pipe reader or a monitoring agent may be using, is never touched.
 * The count of a CPU is what its buffer took (entries + overrun + read in
 * per_cpu/cpuN/stats), so it is exact with the smallest buffer, however
 * long the run, whoever reads what. Before 6.4 (no csd events) a kprobe
 * event on the callback counts: the lab's boot-time one if there is one,
 * else one made by this run on the callback's address, which no module's
 * symbol of the same name can make ambiguous.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "trace.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CSD_EVENT "events/csd/csd_function_entry"
/* The lab's guests create this one at boot (kprobe_event=). */
#define LAB_KPROBE "quietsync:sync_ipi"
#define OWN_GROUP "quietsync_check"
#define OWN_KPROBE OWN_GROUP ":sync_ipi"
#define KPROBE_EVENTS QS_TRACEFS "/kprobe_events"
/* Per CPU: the smallest buffer the kernel gives (it rounds up to 2 pages). */
#define BUFFER_KB "4"

static int in_instance(const struct trace *t, char *buf, size_t size, const char *file)
{
	return path_printf(buf, size, "%s/%s", t->instance, file);
}

int callback_address(unsigned long long *addr, char *why, size_t len)
{
	char line[512], name[256], type;
	int found = -2;
	long lines = 0;
	FILE *f = fopen("/proc/kallsyms", "re");

	if (!f) {
		snprintf(why, len, "cannot read /proc/kallsyms (%s)", strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		lines++;
		/* A module's symbol ends in "\t[module]": only the kernel's. */
		if (strchr(line, '['))
			continue;
		if (sscanf(line, "%llx %c %255s", addr, &type, name) == 3 &&
		    !strcmp(name, QS_CALLBACK)) {
			found = 0;
			break;
		}
	}
	if (ferror(f)) {
		snprintf(why, len, "cannot read /proc/kallsyms (%s)", strerror(errno));
		found = -1;
	} else if (!lines) {
		/* Masked, or CONFIG_KALLSYMS=n: it says nothing either way. */
		snprintf(why, len, "/proc/kallsyms is empty");
		found = -1;
	}
	fclose(f);
	return found;
}

static bool list_has(const char *file, const char *name)
{
	char line[256];
	bool found = false;
	FILE *f = fopen(file, "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		found = !strcmp(line, name);
	}
	fclose(f);
	return found;
}

static int mount_tracefs(struct trace *t, char *why, size_t len)
{
	if (!access(QS_TRACEFS "/instances", F_OK))
		return 0;
	if (mount("tracefs", QS_TRACEFS, "tracefs", 0, NULL)) {
		snprintf(why, len, "tracefs is not mounted and cannot be (%s)", strerror(errno));
		return -1;
	}
	t->mounted = true;
	state_note("tracefs_mounted 1\n");
	if (access(QS_TRACEFS "/instances", F_OK)) {
		snprintf(why, len, "tracefs has no instances/ directory");
		return -1;
	}
	return 0;
}

/* Enable the set_event name @event ("group:name") in the instance. */
static int enable_in_instance(struct trace *t, const char *event, char *why, size_t len)
{
	char path[256], group[64];
	const char *colon = strchr(event, ':');

	snprintf(group, sizeof(group), "%.*s", (int)(colon - event), event);
	/* 6.1 may give a boot-time kprobe event no events/ directory. */
	if (!path_printf(path, sizeof(path), "%s/events/%s/%s/enable", t->instance, group, colon + 1) &&
	    !access(path, F_OK)) {
		if (!write_text(path, "1"))
			return 0;
	} else if (!in_instance(t, path, sizeof(path), "set_event")) {
		char line[96];

		snprintf(line, sizeof(line), "%s\n", event);
		if (!append_text(path, line))
			return 0;
	}
	snprintf(why, len, "cannot enable %s in %s (%s)", event, t->instance, strerror(errno));
	return -1;
}

static int start_kprobe(struct trace *t, char *why, size_t len)
{
	char def[160], err[200];
	unsigned long long addr = 0;
	int found;

	t->method = "kprobe event";
	if (list_has(QS_TRACEFS "/available_events", LAB_KPROBE))
		return enable_in_instance(t, LAB_KPROBE, why, len);
	found = callback_address(&addr, err, sizeof(err));
	if (found == -1) {
		snprintf(why, len, "no csd trace events (kernel before 6.4) and %s", err);
		return -1;
	}
	if (found == -2) {
		snprintf(why, len, "no csd trace events (kernel before 6.4) and no %s in /proc/kallsyms", QS_CALLBACK);
		return -1;
	}
	if (addr)
		snprintf(def, sizeof(def), "p:%s/sync_ipi 0x%llx\n", OWN_GROUP, addr);
	else	/* kptr_restrict hides addresses: the name, if it is unique. */
		snprintf(def, sizeof(def), "p:%s/sync_ipi %s\n", OWN_GROUP, QS_CALLBACK);
	if (append_text(KPROBE_EVENTS, def)) {
		snprintf(why, len, "no csd trace events (kernel before 6.4) and no kprobe on %s%s (%s)",
			 QS_CALLBACK, addr ? "'s address" : " (kptr_restrict hides its address)",
			 strerror(errno));
		return -1;
	}
	t->created_kprobe = true;
	return enable_in_instance(t, OWN_KPROBE, why, len);
}

int trace_start(struct trace *t, char *why, size_t len)
{
	char path[256];

	if (mount_tracefs(t, why, len))
		return -1;
	if (path_printf(t->instance, sizeof(t->instance), "%s/instances/%s%d",
			QS_TRACEFS, QS_INSTANCE_PREFIX, (int)getpid()))
		return -1;
	if (mkdir(t->instance, 0700)) {
		snprintf(why, len, "cannot make the trace instance %s (%s)", t->instance, strerror(errno));
		return -1;
	}
	t->created_instance = true;
	/* Overwrite mode (an instance copies the top level's options). */
	if (in_instance(t, path, sizeof(path), "options/overwrite") || write_text(path, "1") ||
	    in_instance(t, path, sizeof(path), "buffer_size_kb") || write_text(path, BUFFER_KB)) {
		snprintf(why, len, "cannot size the buffer of %s (%s)", t->instance, strerror(errno));
		return -1;
	}
	if (in_instance(t, path, sizeof(path), CSD_EVENT) || access(path, F_OK)) {
		if (start_kprobe(t, why, len))
			return -1;
	} else {
		t->method = "csd event";
		if (in_instance(t, path, sizeof(path), CSD_EVENT "/filter") ||
		    write_text(path, "func.function == " QS_CALLBACK) ||
		    in_instance(t, path, sizeof(path), CSD_EVENT "/enable") || write_text(path, "1")) {
			snprintf(why, len, "cannot enable csd:csd_function_entry in %s (%s)",
				 t->instance, strerror(errno));
			return -1;
		}
	}
	if (in_instance(t, path, sizeof(path), "tracing_on") || write_text(path, "1")) {
		snprintf(why, len, "cannot start tracing in %s (%s)", t->instance, strerror(errno));
		return -1;
	}
	return 0;
}

void trace_stop(struct trace *t)
{
	char path[256];

	if (t->created_instance && !in_instance(t, path, sizeof(path), "tracing_on"))
		write_text(path, "0");
}

long trace_count(struct trace *t, int cpu, char *why, size_t len)
{
	char path[256], line[128], key[64];
	long entries = -1, overrun = -1, readn = 0, dropped = 0, v;
	FILE *f;

	snprintf(key, sizeof(key), "per_cpu/cpu%d/stats", cpu);
	if (in_instance(t, path, sizeof(path), key) || !(f = fopen(path, "re"))) {
		snprintf(why, len, "cannot read %s (%s)", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "entries: %ld", &v) == 1)
			entries = v;
		else if (sscanf(line, "overrun: %ld", &v) == 1)
			overrun = v;
		else if (sscanf(line, "read events: %ld", &v) == 1)
			readn = v;
		else if (sscanf(line, "dropped events: %ld", &v) == 1)
			dropped = v;
	}
	fclose(f);
	if (entries < 0 || overrun < 0) {
		snprintf(why, len, "%s has no entries and overrun counts", path);
		return -1;
	}
	if (dropped > 0) {
		snprintf(why, len, "cpu%d's buffer dropped %ld events (not overwriting)", cpu, dropped);
		return -1;
	}
	return entries + overrun + readn;
}

/* rmdir an instance; a reader closing it may hold it for a moment. */
static int remove_instance(const char *dir)
{
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	int i;

	for (i = 0; i < 40; i++) {
		if (!rmdir(dir) || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -1;
		nanosleep(&pause, NULL);
	}
	return -1;
}

static int remove_own_kprobe(void)
{
	return append_text(KPROBE_EVENTS, "-:" OWN_GROUP "/sync_ipi\n");
}

int trace_end(struct trace *t)
{
	char path[256];
	int rc = 0;

	if (t->created_instance) {
		trace_stop(t);
		if (!in_instance(t, path, sizeof(path), CSD_EVENT "/enable"))
			write_text(path, "0");
		if (remove_instance(t->instance))
			rc = -1;
		t->created_instance = false;
	}
	if (t->created_kprobe) {
		if (!rc && remove_own_kprobe())
			rc = -1;
		t->created_kprobe = false;
	}
	if (t->mounted) {
		if (rc || umount(QS_TRACEFS))
			rc = -1;
		t->mounted = false;
	}
	return rc;
}

int trace_remove_stale(void)
{
	struct trace t = { .mounted = false };
	char why[200], dir[320];
	struct dirent *d;
	DIR *instances;
	int removed = 0;
	long pid;

	if (mount_tracefs(&t, why, sizeof(why)))
		return 0;
	instances = opendir(QS_TRACEFS "/instances");
	while (instances && (d = readdir(instances))) {
		if (strncmp(d->d_name, QS_INSTANCE_PREFIX, strlen(QS_INSTANCE_PREFIX)))
			continue;
		/*
		 * Every run holds the lock: an instance seen under it is a
		 * dead run's, even if its pid was reused since.
		 */
		pid = strtol(d->d_name + strlen(QS_INSTANCE_PREFIX), NULL, 10);
		if (pid == getpid())
			continue;
		snprintf(dir, sizeof(dir), QS_TRACEFS "/instances/%s", d->d_name);
		if (!remove_instance(dir))
			removed++;
	}
	if (instances)
		closedir(instances);
	if (list_has(QS_TRACEFS "/available_events", OWN_KPROBE))
		remove_own_kprobe();
	if (t.mounted)
		umount(QS_TRACEFS);
	return removed;
}
