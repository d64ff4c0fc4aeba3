/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pre-zeroed hugetlb pool: the hooks mm/hugetlb.c calls.  See
 * mm/hugetlb_prezero.c and Documentation/admin-guide/mm/hugetlb_prezero.rst.
 */
#ifndef _MM_HUGETLB_PREZERO_H
#define _MM_HUGETLB_PREZERO_H

#include <linux/hugetlb.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/wait_bit.h>

struct kobject;
/* From hugetlb.c: the hstate (and node, or NUMA_NO_NODE) of a sysfs dir. */
struct hstate *kobj_to_hstate(struct kobject *kobj, int *nidp);

#ifdef CONFIG_HUGETLB_PAGE_PREZERO
void hugetlb_prezero_init(void);
void hugetlb_prezero_enqueue(struct hstate *h, struct folio *folio);
void hugetlb_prezero_dequeue(struct hstate *h, struct folio *folio);
void hugetlb_prezero_remove(struct hstate *h, struct folio *folio);
void hugetlb_prezero_cancel_wait(struct hstate *h, struct folio *folio)
	__releases(&hugetlb_lock);
void hugetlb_prezero_pause_locked(struct hstate *h)
	__must_hold(&hugetlb_lock);
void hugetlb_prezero_resume_locked(struct hstate *h);

/* sysfs attributes, listed in hugetlb.c's hstate and per-node groups */
extern struct kobj_attribute hugetlb_prezero_attr;
extern struct kobj_attribute hugetlb_nr_prezeroed_attr;
extern struct kobj_attribute hugetlb_prezero_now_attr;
extern struct kobj_attribute hugetlb_prezero_workers_attr;
extern struct kobj_attribute hugetlb_prezero_fault_hit_attr;
extern struct kobj_attribute hugetlb_prezero_fault_miss_attr;
extern struct kobj_attribute hugetlb_prezero_zeroed_background_attr;
extern struct kobj_attribute hugetlb_prezero_zeroed_explicit_attr;
extern struct kobj_attribute hugetlb_prezero_cancelled_attr;
#else
static inline void hugetlb_prezero_init(void) { }
static inline void hugetlb_prezero_enqueue(struct hstate *h,
					   struct folio *folio) { }
static inline void hugetlb_prezero_dequeue(struct hstate *h,
					   struct folio *folio) { }
static inline void hugetlb_prezero_remove(struct hstate *h,
					  struct folio *folio) { }
static inline void hugetlb_prezero_cancel_wait(struct hstate *h,
					       struct folio *folio)
	__releases(&hugetlb_lock)
{
	spin_unlock_irq(&hugetlb_lock);
}

static inline void hugetlb_prezero_pause_locked(struct hstate *h) { }
static inline void hugetlb_prezero_resume_locked(struct hstate *h) { }
#endif

/**
 * hugetlb_prezero_wait() - wait until no worker clears a dequeued folio
 * @folio: a folio just taken off the free lists, with hugetlb_lock dropped
 *
 * Dequeueing takes a folio that a pre-zeroing worker is clearing only when
 * no other folio is free, and asks the worker to stop.  The caller owns
 * the folio but must not use its memory until the worker is done.
 */
static inline void hugetlb_prezero_wait(struct folio *folio)
{
	void *word = &folio->private;	/* as the HPAGEFLAG() accessors */

	might_sleep();
	if (unlikely(test_bit_acquire(HPG_zeroing, word)))
		wait_on_bit(word, HPG_zeroing, TASK_UNINTERRUPTIBLE);
}

#endif /* _MM_HUGETLB_PREZERO_H */
