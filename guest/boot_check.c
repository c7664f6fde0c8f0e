// SPDX-License-Identifier: GPL-2.0
/*
 * Checks that the lab booted the way every measurement assumes: the CPUs the
 * command line isolates are isolated and nohz_full, the page-table sync is
 * compiled in (not the no-op stub), and the trace events used to count IPIs
 * exist. A kernel that silently lost one of these would make every IPI count
 * meaningless.
 */
#include "ipicount.h"
#include "ktap.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

/* Copy the value of "key=" from /proc/cmdline into @out; "" if absent. */
static void cmdline_value(const char *key, char *out, unsigned long size)
{
	char buf[4096], *p, *end;
	unsigned long len = strlen(key);

	out[0] = '\0';
	if (read_file("/proc/cmdline", buf, sizeof(buf)) < 0)
		return;
	for (p = buf; (p = strstr(p, key)); p += len) {
		if (p != buf && p[-1] != ' ')
			continue;
		if (p[len] != '=')
			continue;
		p += len + 1;
		end = p + strcspn(p, " \n");
		if ((unsigned long)(end - p) >= size)
			return;
		memcpy(out, p, (size_t)(end - p));
		out[end - p] = '\0';
		return;
	}
}

static bool file_has_word(const char *path, const char *word)
{
	char line[512];
	bool found = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, word);

		found = p && p > line && p[-1] == ' ' && (p[strlen(word)] == '\n' ||
					      p[strlen(word)] == ' ' ||
					      p[strlen(word)] == '\t');
	}
	fclose(f);
	return found;
}

static void check_matches_cmdline(struct ktap *k, const char *param,
				  const char *path, const char *name)
{
	char want[128], got[128];

	cmdline_value(param, want, sizeof(want));
	read_value(path, got, sizeof(got));
	ktap_diag("%s: command line '%s', %s '%s'", param, want, path, got);
	/* Not on the command line: none (the kernel prints "(null)" or ""). */
	if (!want[0])
		ktap_result(k, !got[0] || !strcmp(got, "(null)"), name);
	else
		ktap_result(k, !strcmp(want, got), name);
}

int main(void)
{
	char uptime[64], want[128], enabled[16];
	struct utsname uts;
	struct ktap k;

	ktap_header(&k, 7);
	uname(&uts);
	ktap_diag("metric kernel=%s machine=%s", uts.release, uts.machine);
	read_value("/proc/uptime", uptime, sizeof(uptime));
	ktap_diag("metric boot_uptime_seconds=%.*s",
		  (int)strcspn(uptime, " "), uptime);
	ktap_diag("online cpus: %ld", sysconf(_SC_NPROCESSORS_ONLN));

	check_matches_cmdline(&k, "nohz_full",
			      "/sys/devices/system/cpu/nohz_full",
			      "nohz_full_cpus_as_requested");
	check_matches_cmdline(&k, "isolcpus",
			      "/sys/devices/system/cpu/isolated",
			      "isolated_cpus_as_requested");
	ktap_result(&k, sysconf(_SC_NPROCESSORS_ONLN) >= 2,
		    "smp_cpus_online");
	/* The static callback exists only where the sync is not a no-op. */
	ktap_result(&k, file_has_word("/proc/kallsyms", QS_SYNC_CALLBACK),
		    "page_table_sync_compiled_in");
	cmdline_value("kprobe_event", want, sizeof(want));
	if (access(QS_TRACEFS "/events/csd", F_OK) || want[0]) {
		/*
		 * Before 6.4 there are no csd events (and one kernel does not
		 * boot under TCG with them on): the sync IPIs are counted
		 * with a kprobe event on the callback, created and enabled
		 * from the command line (kprobe_event=, lab/vm.sh).
		 */
		ktap_diag("sync IPIs counted by a kprobe event: command line '%s', %s %s",
			  want, QS_SYNC_KPROBE_SET_EVENT,
			  event_enabled(QS_SYNC_KPROBE_SET_EVENT) ? "enabled" : "not enabled");
		ktap_result(&k, strstr(want, QS_SYNC_CALLBACK) != NULL,
			    "kprobe_sync_event_on_command_line");
		ktap_result(&k, event_enabled(QS_SYNC_KPROBE_SET_EVENT),
			    "kprobe_sync_event_enabled_from_boot");
	} else {
		ktap_result(&k, access(QS_TRACEFS "/events/csd/csd_function_entry/filter",
				       W_OK) == 0, "csd_trace_event_present");
		/*
		 * Enabled by trace_event= before the secondary CPUs started,
		 * so the programs' enable and restore patch no kernel text
		 * (lab/vm.sh).
		 */
		cmdline_value("trace_event", want, sizeof(want));
		read_value(QS_TRACEFS "/events/csd/csd_function_entry/enable",
			    enabled, sizeof(enabled));
		ktap_diag("trace_event: command line '%s', enable '%s'", want, enabled);
		ktap_result(&k, !strcmp(want, "csd:csd_function_entry") &&
			    !strcmp(enabled, "1"), "csd_event_enabled_from_boot");
	}
	/* PREEMPT_RT kernels have no THP: their scenario is hugetlb. */
	if (strstr(uts.version, "PREEMPT_RT"))
		ktap_skip(&k, "thp_sysfs_present",
			  "no THP on PREEMPT_RT (TRANSPARENT_HUGEPAGE depends on !PREEMPT_RT)");
	else
		ktap_result(&k, access("/sys/kernel/mm/transparent_hugepage/enabled",
				       W_OK) == 0, "thp_sysfs_present");
	return ktap_finish(&k);
}
