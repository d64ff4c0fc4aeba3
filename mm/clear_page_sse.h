/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Page and extent clearing routines for x86_64 (mm/clear_page_sse.c) and the
 * boot-time choice between them (mm/clear_page_select.c).
 *
 * Kept to a few basic kernel interfaces, so that the routines can also be
 * built into a user-space benchmark and measured as they are.
 */
#ifndef _MM_CLEAR_PAGE_SSE_H
#define _MM_CLEAR_PAGE_SSE_H

#include <linux/types.h>
#include <linux/bits.h>
#include <linux/sizes.h>

/* Non-temporal stores: the cleared lines are not left in the caches. */
#define CLEAR_PAGE_NT	BIT(0)
/* Uses vector registers: only for extents, inside kernel_fpu_begin(). */
#define CLEAR_PAGE_FPU	BIT(1)
/* Extent routine worth calibrating for clear_huge_page=auto. */
#define CLEAR_PAGE_HUGE	BIT(2)

/*
 * Extents are cleared in chunks with cond_resched() between them.  Vector
 * routines run with preemption disabled and other tasks' softirq SIMD users
 * locked out (in_kernel_fpu), so their chunk is 256 KiB: about 12 us at
 * 20 GB/s.  kernel_fpu_begin() saves the user FPU state only the first
 * time, so the later chunks cost a few instructions each.  The others use
 * the 32 MiB chunk mainline chose for clear_pages() on non-preemptible
 * kernels, long enough for CPUs that stop allocating cache lines on long
 * rep stos to do so.
 */
#define CLEAR_PAGE_FPU_CHUNK		SZ_256K
#define CLEAR_PAGE_CHUNK		SZ_32M

/* Bytes cleared per calibration pass for clear_huge_page=auto. */
#define CLEAR_PAGE_CALIBRATE_SIZE	SZ_2M

/**
 * struct clear_page_routine - one way of clearing memory
 * @name: the value of clear_page= / clear_huge_page= that selects it
 * @page: clears one page; NULL if the routine is not fit for clear_page()
 * @extent: clears @len bytes at @addr, both multiples of PAGE_SIZE, with
 *	    the fence that makes the zeroes visible to other CPUs before
 *	    it returns; NULL if the routine has no extent form
 * @flags: CLEAR_PAGE_NT, CLEAR_PAGE_FPU, CLEAR_PAGE_HUGE
 * @usable: whether this CPU can run it; NULL means every x86_64 CPU can
 */
struct clear_page_routine {
	const char *name;
	void (*page)(void *page);
	void (*extent)(void *addr, unsigned long len);
	unsigned int flags;
	bool (*usable)(void);
};

extern const struct clear_page_routine clear_page_routines[];
extern const unsigned int nr_clear_page_routines;

const struct clear_page_routine *clear_page_routine_find(const char *name);
bool clear_page_routine_usable(const struct clear_page_routine *r);
const struct clear_page_routine *clear_page_routine_page_default(void);
void clear_page_extent(const struct clear_page_routine *r, void *addr,
		       unsigned long len);
const struct clear_page_routine *clear_page_routine_pick(const u64 *mbps);
const struct clear_page_routine *
clear_page_routine_calibrate(void *buf, unsigned long len, u64 *mbps);

struct folio;
void clear_huge_folio_with(struct folio *folio, unsigned long addr_hint,
			   const struct clear_page_routine *r);

void clear_page_movnti(void *page);
void clear_page_clzero(void *page);

#endif /* _MM_CLEAR_PAGE_SSE_H */
