// SPDX-License-Identifier: GPL-2.0
#include "hugetlb.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif

int hugetlb_file_create(const char *name)
{
	int fd = memfd_create(name, MFD_HUGETLB | MFD_CLOEXEC);

	if (fd >= 0 && ftruncate(fd, QS_SHARED_SIZE)) {
		close(fd);
		return -1;
	}
	return fd;
}

char *hugetlb_map_shared(int fd, void **reservation)
{
	char *res, *aligned, *map;

	res = mmap(NULL, 2 * QS_SHARED_SIZE, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return NULL;
	aligned = (char *)(((uintptr_t)res + QS_SHARED_SIZE - 1) &
			   ~(QS_SHARED_SIZE - 1));
	map = mmap(aligned, QS_SHARED_SIZE, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_FIXED, fd, 0);
	if (map == MAP_FAILED) {
		int err = errno;

		munmap(res, 2 * QS_SHARED_SIZE);
		errno = err;
		return NULL;
	}
	*reservation = res;
	return map;
}

void hugetlb_unmap(void *reservation)
{
	munmap(reservation, 2 * QS_SHARED_SIZE);
}
