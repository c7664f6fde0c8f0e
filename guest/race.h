/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The race stress (race_stress.c): what its walkers and CPU0 share, and
 * CPU0's rounds (race_rounds.c), each of which frees page tables in its
 * own way right after (or without) a sync.
 */
#ifndef QS_RACE_H
#define QS_RACE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "hugetlb.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

/* As the kernel's mm/gup_test.h (an ABI of CONFIG_GUP_TEST). */
struct gup_test {
	uint64_t get_delta_usec;
	uint64_t put_delta_usec;
	uint64_t addr;
	uint64_t size;
	uint32_t nr_pages_per_call;
	uint32_t gup_flags;
	uint32_t test_flags;
	uint32_t which_pages[8];
};

#define PIN_FAST_BENCHMARK _IOWR('g', 2, struct gup_test)
/* FOLL_WRITE, as gup_test passes gup_flags to pin_user_pages_fast(). */
#define FOLL_WRITE_ABI 0x1
#define GUP_TEST_FILE "/sys/kernel/debug/gup_test"
#define WALK_DELAY_FILE "/sys/kernel/debug/tlb_remove_table_sync/walk_delay_us"
#define FLUSH_DID_NOT_WAIT_FILE "/sys/kernel/debug/tlb_remove_table_sync/flush_did_not_wait"
#define FAIL_PAGE_ALLOC "/sys/kernel/debug/fail_page_alloc/"
#define THP_ENABLED "/sys/kernel/mm/transparent_hugepage/enabled"

#define PAGE_4K 4096UL
#define PMD_SIZE QS_HUGE_PAGE_SIZE
#define PUD_SIZE QS_SHARED_SIZE
#define MAX_CPUS 16
#define STAMP_MAGIC 0x51e7c0de00000000UL
/* The storm's range: four PTE tables, 64 pages touched in each. */
#define STORM_SIZE (4 * PMD_SIZE)
#define STORM_TOUCHED (64 * PAGE_4K)

/* The ranges the walkers aim at; NULL while unmapped. */
extern _Atomic(char *) anon_range;
extern _Atomic(char *) huge_range;
extern _Atomic(char *) storm_range;
extern _Atomic(char *) zap_range;
extern bool storm_on, zap_on;
extern atomic_int stop;
extern int gup_fd;
extern int hugetlb_fd;

static inline unsigned long stamp(unsigned long offset)
{
	return STAMP_MAGIC ^ offset;
}

int anon_round(char *where);
int storm_round(char *where);
int zap_round(char *where);
pid_t start_sharer(void);
int hugetlb_round(void);
int fail_page_alloc_arm(bool arm);
void fail_page_alloc_disarm(void);
extern int make_it_fail_fd;

#endif
