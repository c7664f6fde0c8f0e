/* SPDX-License-Identifier: GPL-2.0 */
/* quietsync-check --status: what is installed and loaded, without a test. */
#ifndef QS_STATUS_H
#define QS_STATUS_H

#include "report.h"

#include <stdbool.h>

#define QS_KERNEL_LINES "/usr/share/quietsync/kernel-lines"

/* Print the status of the machine read into @r; the exit code. */
int status_run(struct report *r, bool json, FILE *out);

#endif
