/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Page and extent clearing routines for x86_64 (mm/clear_page_sse.c) and the
 * boot-time choice between them (mm/clear_page_select.c).
 *
 * This header is also compiled into the user-space benchmark in
 * bench/clear_page/ through a small shim, so it must only use kernel
 * interfaces the shim provides.
 */
#ifndef _MM_CLEAR_PAGE_SSE_H
#define _MM_CLEAR_PAGE_SSE_H

#include <linux/types.h>
#include <linux/bits.h>
#include <linux/sizes.h>

/* Non-temporal stores: the cleared lines are not left in the caches. */
#define CLEAR_NT	BIT(0)
/* Uses vector registers: only for extents, inside kernel_fpu_begin(). */
#define CLEAR_FPU	BIT(1)
/* Extent routine worth calibrating for clear_huge_page=auto. */
#define CLEAR_HUGE	BIT(2)

/*
 * Extents are cleared in chunks with cond_resched() between them. Vector
 * routines run with preemption disabled, so their chunk is one 2 MiB folio
 * (about 100 us at 20 GB/s); the others use the 32 MiB chunk mainline chose
 * for clear_pages() on non-preemptible kernels, long enough for CPUs that
 * stop allocating cache lines on long rep stos to do so.
 */
#define CLEAR_FPU_CHUNK		SZ_2M
#define CLEAR_CHUNK		SZ_32M

/* Bytes cleared per calibration pass for clear_huge_page=auto. */
#define CLEAR_CALIBRATE_SIZE	SZ_2M

/**
 * struct clear_routine - one way of clearing memory
 * @name: the value of clear_page= / clear_huge_page= that selects it
 * @page: clears one page; NULL if the routine is not fit for clear_page()
 * @extent: clears @len bytes at @addr, both multiples of PAGE_SIZE, with
 *	    the fence that makes the zeroes visible to other CPUs before
 *	    it returns; NULL if the routine has no extent form
 * @flags: CLEAR_NT, CLEAR_FPU, CLEAR_HUGE
 * @usable: whether this CPU can run it; NULL means every x86_64 CPU can
 */
struct clear_routine {
	const char *name;
	void (*page)(void *page);
	void (*extent)(void *addr, unsigned long len);
	unsigned int flags;
	bool (*usable)(void);
};

extern const struct clear_routine clear_routines[];
extern const unsigned int nr_clear_routines;

const struct clear_routine *clear_routine_find(const char *name);
bool clear_routine_usable(const struct clear_routine *r);
const struct clear_routine *clear_routine_page_default(void);
void clear_extent(const struct clear_routine *r, void *addr,
		  unsigned long len);
const struct clear_routine *clear_routine_calibrate(void *buf,
						    unsigned long len,
						    u64 *mbps);

void clear_page_movnti(void *page);
void clear_page_clzero(void *page);

#endif /* _MM_CLEAR_PAGE_SSE_H */
