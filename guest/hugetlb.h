/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shared-PMD hugetlb mapping of the hugetlb-unshare scenario and of the
 * race stress: a 1 GiB MAP_SHARED hugetlb file mapped at a PUD-aligned
 * address, so that processes mapping it share one PMD table
 * (want_pmd_share()).
 */
#ifndef QS_HUGETLB_H
#define QS_HUGETLB_H

#define QS_HUGE_PAGE_SIZE (2UL << 20)
#define QS_SHARED_SIZE (1UL << 30)

/* A 1 GiB memfd_create(MFD_HUGETLB) file (close-on-exec), or -1. */
int hugetlb_file_create(const char *name);

/*
 * Map @fd's 1 GiB read-write MAP_SHARED at a PUD-aligned address inside a
 * 2 GiB reservation. Returns the mapping and, in @reservation, what
 * hugetlb_unmap() takes; NULL (errno set) on failure.
 */
char *hugetlb_map_shared(int fd, void **reservation);

/* Unmap the mapping with its reservation: unshares the PMD table. */
void hugetlb_unmap(void *reservation);

#endif /* QS_HUGETLB_H */
