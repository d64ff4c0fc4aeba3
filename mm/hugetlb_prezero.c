// SPDX-License-Identifier: GPL-2.0
/*
 * Pre-zeroed hugetlb pool.
 *
 * A fault on hugetlb memory clears the whole huge page before it maps it:
 * 2 MiB per fault, 1 GiB for gigantic pages, and for a VMM that
 * preallocates its guest's RAM, nearly all of the time it takes to start.
 * With prezero enabled for a pool (per huge page size and node, default
 * off), free folios are cleared ahead of use: when the pool grows and when
 * folios are freed back to it, by low-priority unbound workers, or by an
 * administrator writing prezero_now, who then does the work in their own
 * task.  A fault that dequeues a folio known to be zero skips clearing it.
 *
 * States of a folio on the free lists (all have HPG_freed set, sit on
 * h->hugepage_freelists[nid] and are counted in free_huge_pages[_node], so
 * every pool counter means what it means without this feature):
 *
 *   dirty          neither flag    the tail segment of the list
 *   being zeroed   HPG_zeroing     the head segment; counted in inflight
 *   zero           HPG_zeroed      the head segment; counted in nr_zeroed
 *
 * enqueue_hugetlb_folio() adds every folio at the tail, dirty, whatever it
 * held.  A worker claims the tail folio if it is dirty, moves it to the
 * head with HPG_zeroing set, clears it without hugetlb_lock, and marks it
 * zero under the lock.  Dequeueing walks from the head, so it takes zero
 * folios first, then dirty ones; a folio being zeroed only when nothing
 * else is free, and then it sets HPG_zero_cancel and waits for the worker
 * (hugetlb_prezero_wait()), so an allocation succeeds exactly when it
 * would without this feature.  Only dirty folios are claimed and only
 * under the lock, so no folio is cleared twice.
 *
 * Removing folios from the pool in bulk (shrink, demote) first pauses the
 * workers and waits for the folios in flight; returning surplus folios
 * passes over folios being zeroed, without dropping hugetlb_lock;
 * dissolving one free folio (memory offline, hwpoison, alloc_contig)
 * cancels its clearing and waits.  So no folio leaves the pool, and no
 * vmemmap is restored, while a worker writes to it or to its flags.
 *
 * See Documentation/admin-guide/mm/hugetlb_prezero.rst.
 */
#define pr_fmt(fmt) "HugeTLB: " fmt

#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/hugetlb.h>
#include <linux/kobject.h>
#include <linux/nodemask.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/wait.h>
#include <linux/wait_bit.h>
#include <linux/workqueue.h>

#include "internal.h"
#include "hugetlb_prezero.h"

/* Clearing is done, and cancellation checked, in steps of this size. */
#define PREZERO_STEP		SZ_2M
/* Default number of workers per node, and the ceiling. */
#define PREZERO_WORKERS		4
#define PREZERO_MAX_WORKERS	64
/*
 * Folios a work item clears before it requeues itself, so that it never
 * keeps the freezer (suspend) waiting for a whole pool: 32 MiB of 2 MiB
 * folios, or one gigantic folio (which it checks in 2 MiB steps).
 */
#define PREZERO_BATCH		16

struct prezero_worker {
	struct work_struct work;
	struct hstate *h;
	int nid;
};

/**
 * struct hugetlb_prezero - pre-zeroing state of one hstate
 * @enabled: nodes whose pool is pre-zeroed (sysfs prezero)
 * @nr_zeroed: free folios known to be zero (HPG_zeroed and HPG_freed)
 * @nr_zeroed_node: the same, per node
 * @inflight: folios being cleared (HPG_zeroing)
 * @finished: folios whose clearing ended, completed or not
 * @paused: pause count; while non-zero, nothing new is claimed
 * @idle: woken when a folio's clearing ends
 * @workers: background workers per node (sysfs prezero_workers)
 * @kick_next: the work item the next freed folio queues, in turn
 * @work: nr_node_ids * prezero_max_workers work items
 * @fault_hit: folios hugetlb_folio_zero_user() found zero
 * @fault_miss: folios hugetlb_folio_zero_user() had to clear
 * @zeroed_background: folios cleared by the workers
 * @zeroed_explicit: folios cleared by writers of prezero_now
 * @cancelled: clearings stopped before the end
 *
 * @nr_zeroed, @nr_zeroed_node, @inflight, @finished, @paused and
 * @kick_next are protected by hugetlb_lock.
 */
struct hugetlb_prezero {
	nodemask_t enabled;
	unsigned long nr_zeroed;
	unsigned int nr_zeroed_node[MAX_NUMNODES];
	unsigned int inflight;
	unsigned long finished;
	unsigned int paused;
	wait_queue_head_t idle;
	unsigned int workers;
	unsigned int kick_next;
	struct prezero_worker *work;
	atomic_long_t fault_hit;
	atomic_long_t fault_miss;
	atomic_long_t zeroed_background;
	atomic_long_t zeroed_explicit;
	atomic_long_t cancelled;
};

static struct hugetlb_prezero prezero[HUGE_MAX_HSTATE];
static struct workqueue_struct *prezero_wq __ro_after_init;
static unsigned int prezero_max_workers __ro_after_init;
/* Set once the workers exist and the boot-time pool has been gathered. */
static bool prezero_ready __read_mostly;
static bool prezero_boot __initdata;

static int __init hugetlb_prezero_setup(char *s)
{
	if (kstrtobool(s ?: "", &prezero_boot)) {
		pr_warn("hugetlb_prezero=%s: expected 0 or 1, ignored\n",
			s ?: "");
		prezero_boot = false;
	}
	return 0;
}
early_param("hugetlb_prezero", hugetlb_prezero_setup);

static inline struct hugetlb_prezero *hstate_prezero(struct hstate *h)
{
	return &prezero[hstate_index(h)];
}

static bool prezero_wanted(struct hugetlb_prezero *pz, int nid)
{
	return READ_ONCE(prezero_ready) && node_isset(nid, pz->enabled) &&
	       !READ_ONCE(pz->paused);
}

static void prezero_queue(struct hugetlb_prezero *pz, int nid, unsigned int i)
{
	queue_work_node(nid, prezero_wq,
			&pz->work[nid * prezero_max_workers + i].work);
}

/*
 * Queue all of this node's workers, for the folios already free; harmless
 * if they are queued or running.
 */
static void prezero_kick(struct hstate *h, int nid)
{
	struct hugetlb_prezero *pz = hstate_prezero(h);
	unsigned int i, n = READ_ONCE(pz->workers);

	if (!prezero_wanted(pz, nid))
		return;
	for (i = 0; i < n; i++)
		prezero_queue(pz, nid, i);
}

static void prezero_kick_all(struct hstate *h)
{
	int nid;

	for_each_node_mask(nid, hstate_prezero(h)->enabled)
		prezero_kick(h, nid);
}

/**
 * hugetlb_prezero_enqueue() - a folio was added to the free lists
 * @h: its hstate
 * @folio: the folio, now at the tail of its node's free list
 *
 * Whatever the folio held, it is dirty now.  Called with hugetlb_lock held.
 */
void hugetlb_prezero_enqueue(struct hstate *h, struct folio *folio)
{
	struct hugetlb_prezero *pz = hstate_prezero(h);
	int nid = folio_nid(folio);

	lockdep_assert_held(&hugetlb_lock);
	VM_WARN_ON_ONCE_FOLIO(folio_test_hugetlb_zeroing(folio), folio);
	folio_clear_hugetlb_zeroed(folio);
	folio_clear_hugetlb_zero_cancel(folio);
	/* One work item per folio, in turn: a burst of frees reaches all. */
	if (prezero_wanted(pz, nid))
		prezero_queue(pz, nid, pz->kick_next++ % READ_ONCE(pz->workers));
}

/**
 * hugetlb_prezero_dequeue() - a free folio is being allocated
 * @h: its hstate
 * @folio: the folio, still marked free
 *
 * A zero folio keeps HPG_zeroed for hugetlb_folio_zero_user().  Called with
 * hugetlb_lock held.
 */
void hugetlb_prezero_dequeue(struct hstate *h, struct folio *folio)
{
	struct hugetlb_prezero *pz = hstate_prezero(h);

	lockdep_assert_held(&hugetlb_lock);
	/* A folio being zeroed keeps its worker's cancel request. */
	if (!folio_test_hugetlb_zeroing(folio))
		folio_clear_hugetlb_zero_cancel(folio);
	if (folio_test_hugetlb_zeroed(folio)) {
		pz->nr_zeroed--;
		pz->nr_zeroed_node[folio_nid(folio)]--;
	}
}

/**
 * hugetlb_prezero_remove() - a folio leaves the pool
 * @h: its hstate
 * @folio: the folio, free or not
 *
 * Called from remove_hugetlb_folio() with hugetlb_lock held.  Whoever
 * removes a free folio has paused the workers or waited for this one, so
 * it is not being cleared.  Demotion reuses the head page, so the flag
 * must not outlive the folio.
 */
void hugetlb_prezero_remove(struct hstate *h, struct folio *folio)
{
	lockdep_assert_held(&hugetlb_lock);
	VM_WARN_ON_ONCE_FOLIO(folio_test_hugetlb_zeroing(folio), folio);
	if (folio_test_hugetlb_freed(folio))
		hugetlb_prezero_dequeue(h, folio);
	folio_clear_hugetlb_zeroed(folio);
	folio_clear_hugetlb_zero_cancel(folio);
}

/*
 * Take the dirty folio at the tail of @nid's free list, if there is one
 * and the pool is not paused.  @explicit: for prezero_now, which works
 * whatever the prezero setting of the node.  Skipped: hwpoisoned folios,
 * and folios whose clearing was cancelled for a dissolve, which is about
 * to take them (starting over on one would starve it).
 */
static struct folio *prezero_claim(struct hstate *h, int nid, bool explicit)
{
	struct hugetlb_prezero *pz = hstate_prezero(h);
	struct list_head *list = &h->hugepage_freelists[nid];
	struct folio *folio;

	lockdep_assert_held(&hugetlb_lock);
	if (pz->paused || (!explicit && !node_isset(nid, pz->enabled)))
		return NULL;

	list_for_each_entry_reverse(folio, list, lru) {
		if (folio_test_hugetlb_zeroed(folio) ||
		    folio_test_hugetlb_zeroing(folio))
			break;
		if (folio_test_hwpoison(folio) ||
		    folio_test_hugetlb_zero_cancel(folio))
			continue;
		folio_set_hugetlb_zeroing(folio);
		list_move(&folio->lru, list);
		WRITE_ONCE(pz->inflight, pz->inflight + 1);
		return folio;
	}
	return NULL;
}

static bool prezero_should_stop(struct hugetlb_prezero *pz,
				struct folio *folio)
{
	return folio_test_hugetlb_zero_cancel(folio) ||
	       folio_test_hwpoison(folio) || READ_ONCE(pz->paused);
}

/*
 * Clear a claimed folio.  It stays on the free list, its refcount frozen
 * at zero: only its memory is written, through the direct map, and HVO
 * never frees the memory of a folio, only its struct pages.
 */
static bool prezero_clear(struct hstate *h, struct folio *folio)
{
	struct hugetlb_prezero *pz = hstate_prezero(h);
	unsigned long size = huge_page_size(h), done;
	void *kaddr = folio_address(folio);

	for (done = 0; done < size; done += PREZERO_STEP) {
		if (prezero_should_stop(pz, folio))
			return false;
		clear_pages_nontemporal(kaddr + done,
					min_t(unsigned long, PREZERO_STEP,
					      size - done));
		cond_resched();
	}
	return true;
}

/* End the clearing of @folio, completed (@done) or not. */
static void prezero_finish(struct hstate *h, struct folio *folio, bool done,
			   bool explicit)
{
	struct hugetlb_prezero *pz = hstate_prezero(h);
	void *word = &folio->private;	/* as the HPAGEFLAG() accessors */
	int nid = folio_nid(folio);

	spin_lock_irq(&hugetlb_lock);
	if (done) {
		/*
		 * If the folio was dequeued meanwhile, its new owner waits
		 * for HPG_zeroing and then finds it zero.
		 */
		folio_set_hugetlb_zeroed(folio);
		if (folio_test_hugetlb_freed(folio)) {
			pz->nr_zeroed++;
			pz->nr_zeroed_node[nid]++;
		}
		atomic_long_inc(explicit ? &pz->zeroed_explicit :
				&pz->zeroed_background);
	} else {
		if (folio_test_hugetlb_freed(folio))
			list_move_tail(&folio->lru, &h->hugepage_freelists[nid]);
		atomic_long_inc(&pz->cancelled);
	}
	/*
	 * A free folio keeps HPG_zero_cancel until it leaves the free lists:
	 * the dissolve that asked for it is about to take it.
	 */
	if (!folio_test_hugetlb_freed(folio))
		folio_clear_hugetlb_zero_cancel(folio);
	/*
	 * Clear HPG_zeroing under the lock: once the lock is dropped the
	 * folio may leave the pool, and its struct page be copied by HVO.
	 */
	clear_bit_unlock(HPG_zeroing, word);
	/* Order the clear before wake_up_bit() looks for waiters. */
	smp_mb__after_atomic();
	wake_up_bit(word, HPG_zeroing);
	WRITE_ONCE(pz->inflight, pz->inflight - 1);
	WRITE_ONCE(pz->finished, pz->finished + 1);
	wake_up_all(&pz->idle);
	spin_unlock_irq(&hugetlb_lock);
}

/* Clear one dirty free folio of @nid; false if there was none to claim. */
static bool prezero_one(struct hstate *h, int nid, bool explicit)
{
	struct folio *folio;

	spin_lock_irq(&hugetlb_lock);
	folio = prezero_claim(h, nid, explicit);
	spin_unlock_irq(&hugetlb_lock);
	if (!folio)
		return false;

	prezero_finish(h, folio, prezero_clear(h, folio), explicit);
	return true;
}

static void prezero_workfn(struct work_struct *work)
{
	struct prezero_worker *w = container_of(work, struct prezero_worker,
						work);
	int i;

	for (i = 0; i < PREZERO_BATCH; i++) {
		if (!prezero_one(w->h, w->nid, false))
			return;
		cond_resched();
	}
	queue_work_node(w->nid, prezero_wq, work);
}

/*
 * prezero_now: clear every dirty free folio of @nid in the writer's task.
 * -EINTR on a signal, -EBUSY if the pool is being resized or demoted.
 */
static int prezero_now(struct hstate *h, int nid)
{
	while (prezero_one(h, nid, true)) {
		if (signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return READ_ONCE(hstate_prezero(h)->paused) ? -EBUSY : 0;
}

/**
 * hugetlb_prezero_cancel_wait() - stop the clearing of a free folio
 * @h: its hstate
 * @folio: a free folio with HPG_zeroing set
 *
 * For dissolving a free folio, which must not happen under a worker.
 * Called with hugetlb_lock held; returns with it dropped, after at least
 * one clearing ended, so the caller must look at the folio again.
 */
void hugetlb_prezero_cancel_wait(struct hstate *h, struct folio *folio)
	__releases(&hugetlb_lock)
{
	struct hugetlb_prezero *pz = hstate_prezero(h);
	unsigned long finished = pz->finished;

	lockdep_assert_held(&hugetlb_lock);
	folio_set_hugetlb_zero_cancel(folio);
	spin_unlock_irq(&hugetlb_lock);
	wait_event(pz->idle, READ_ONCE(pz->finished) != finished);
}

/**
 * hugetlb_prezero_pause_locked() - stop claiming and wait for the workers
 * @h: the hstate
 *
 * For code that removes free folios from the pool in bulk (shrink,
 * demote): afterwards no folio of @h is being cleared until
 * hugetlb_prezero_resume_locked().  Called with hugetlb_lock held; may drop
 * it to sleep.
 */
void hugetlb_prezero_pause_locked(struct hstate *h)
	__must_hold(&hugetlb_lock)
{
	struct hugetlb_prezero *pz = hstate_prezero(h);

	lockdep_assert_held(&hugetlb_lock);
	WRITE_ONCE(pz->paused, pz->paused + 1);
	if (!pz->inflight)
		return;
	spin_unlock_irq(&hugetlb_lock);
	wait_event(pz->idle, !READ_ONCE(pz->inflight));
	spin_lock_irq(&hugetlb_lock);
}

/**
 * hugetlb_prezero_resume_locked() - undo hugetlb_prezero_pause_locked()
 * @h: the hstate
 *
 * Called with hugetlb_lock held.
 */
void hugetlb_prezero_resume_locked(struct hstate *h)
{
	struct hugetlb_prezero *pz = hstate_prezero(h);

	lockdep_assert_held(&hugetlb_lock);
	WRITE_ONCE(pz->paused, pz->paused - 1);
	if (!pz->paused)
		prezero_kick_all(h);
}

/**
 * hugetlb_folio_zero_user() - zero a newly allocated hugetlb folio
 * @folio: the folio, allocated from the pool and not yet mapped
 * @addr_hint: the address that will be accessed first
 *
 * Used instead of folio_zero_user() where a new hugetlb folio is zeroed
 * for user space: skips the clearing if the folio came from the pool
 * already zero.
 */
void hugetlb_folio_zero_user(struct folio *folio, unsigned long addr_hint)
{
	struct hugetlb_prezero *pz = hstate_prezero(folio_hstate(folio));

	VM_WARN_ON_ONCE_FOLIO(folio_test_hugetlb_zeroing(folio), folio);
	if (folio_test_hugetlb_zeroed(folio)) {
		folio_clear_hugetlb_zeroed(folio);
		atomic_long_inc(&pz->fault_hit);
		return;
	}
	atomic_long_inc(&pz->fault_miss);
	folio_zero_user(folio, addr_hint);
}

/**
 * hugetlb_prezero_init() - start pre-zeroing
 *
 * Called by hugetlb_init() once the boot-time pool is in place: a gigantic
 * folio reserved at boot keeps its struct huge_bootmem_page in its own
 * memory until gather_bootmem_prealloc() is done with it.
 */
void __init hugetlb_prezero_init(void)
{
	struct workqueue_attrs *attrs;
	unsigned int default_workers;
	struct hstate *h;
	int nid, i;

	prezero_max_workers = clamp(num_possible_cpus(), 1U,
				    (unsigned int)PREZERO_MAX_WORKERS);
	default_workers = min_t(unsigned int, PREZERO_WORKERS,
				prezero_max_workers);

	prezero_wq = alloc_workqueue("hugetlb_prezero",
				     WQ_UNBOUND | WQ_FREEZABLE | WQ_SYSFS, 0);
	if (!prezero_wq)
		goto fail;
	attrs = alloc_workqueue_attrs();
	if (!attrs)
		goto fail;
	/* Idle priority in spirit: the work only matters ahead of demand. */
	attrs->nice = MAX_NICE;
	cpumask_copy(attrs->cpumask, cpu_possible_mask);
	i = apply_workqueue_attrs(prezero_wq, attrs);
	free_workqueue_attrs(attrs);
	if (i)
		goto fail;

	for_each_hstate(h) {
		struct hugetlb_prezero *pz = hstate_prezero(h);

		pz->work = kcalloc(nr_node_ids * prezero_max_workers,
				   sizeof(*pz->work), GFP_KERNEL);
		if (!pz->work)
			goto fail;
		for (i = 0; i < nr_node_ids * prezero_max_workers; i++) {
			INIT_WORK(&pz->work[i].work, prezero_workfn);
			pz->work[i].h = h;
			pz->work[i].nid = i / prezero_max_workers;
		}
		init_waitqueue_head(&pz->idle);
		pz->workers = default_workers;
		if (prezero_boot)
			pz->enabled = node_states[N_MEMORY];
	}

	WRITE_ONCE(prezero_ready, true);
	spin_lock_irq(&hugetlb_lock);
	for_each_hstate(h)
		for_each_node_mask(nid, hstate_prezero(h)->enabled)
			prezero_kick(h, nid);
	spin_unlock_irq(&hugetlb_lock);
	return;

fail:
	pr_warn("pre-zeroing unavailable: out of memory\n");
	for_each_hstate(h) {
		kfree(hstate_prezero(h)->work);
		hstate_prezero(h)->work = NULL;
	}
	if (prezero_wq)
		destroy_workqueue(prezero_wq);
	prezero_wq = NULL;
}

/* sysfs: /sys/kernel/mm/hugepages/hugepages-<size>kB/ and per node */

static ssize_t prezero_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	int nid;
	struct hstate *h = kobj_to_hstate(kobj, &nid);
	struct hugetlb_prezero *pz = hstate_prezero(h);
	bool on;

	if (nid == NUMA_NO_NODE)
		on = nodes_subset(node_states[N_MEMORY], pz->enabled);
	else
		on = node_isset(nid, pz->enabled);
	return sysfs_emit(buf, "%d\n", on);
}

static ssize_t prezero_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t len)
{
	int nid, n;
	struct hstate *h = kobj_to_hstate(kobj, &nid);
	struct hugetlb_prezero *pz = hstate_prezero(h);
	unsigned int val;

	if (kstrtouint(buf, 10, &val) || val > 1)
		return -EINVAL;
	if (!READ_ONCE(prezero_ready))
		return -ENOMEM;

	spin_lock_irq(&hugetlb_lock);
	for_each_node_state(n, N_MEMORY) {
		if (nid != NUMA_NO_NODE && n != nid)
			continue;
		if (val) {
			node_set(n, pz->enabled);
			prezero_kick(h, n);
		} else {
			node_clear(n, pz->enabled);
		}
	}
	spin_unlock_irq(&hugetlb_lock);
	return len;
}

struct kobj_attribute hugetlb_prezero_attr = __ATTR_RW(prezero);

static ssize_t nr_prezeroed_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	int nid;
	struct hstate *h = kobj_to_hstate(kobj, &nid);
	struct hugetlb_prezero *pz = hstate_prezero(h);
	unsigned long nr;

	if (nid == NUMA_NO_NODE)
		nr = READ_ONCE(pz->nr_zeroed);
	else
		nr = READ_ONCE(pz->nr_zeroed_node[nid]);
	return sysfs_emit(buf, "%lu\n", nr);
}

struct kobj_attribute hugetlb_nr_prezeroed_attr = __ATTR_RO(nr_prezeroed);

static ssize_t prezero_now_store(struct kobject *kobj,
				 struct kobj_attribute *attr, const char *buf,
				 size_t len)
{
	int nid, n, err;
	struct hstate *h = kobj_to_hstate(kobj, &nid);
	unsigned int val;

	if (kstrtouint(buf, 10, &val) || val != 1)
		return -EINVAL;
	if (!READ_ONCE(prezero_ready))
		return -ENOMEM;

	for_each_node_state(n, N_MEMORY) {
		if (nid != NUMA_NO_NODE && n != nid)
			continue;
		err = prezero_now(h, n);
		if (err)
			return err;
	}
	return len;
}

struct kobj_attribute hugetlb_prezero_now_attr = __ATTR_WO(prezero_now);

static ssize_t prezero_workers_show(struct kobject *kobj,
				    struct kobj_attribute *attr, char *buf)
{
	struct hstate *h = kobj_to_hstate(kobj, NULL);

	return sysfs_emit(buf, "%u\n", READ_ONCE(hstate_prezero(h)->workers));
}

static ssize_t prezero_workers_store(struct kobject *kobj,
				     struct kobj_attribute *attr,
				     const char *buf, size_t len)
{
	struct hstate *h = kobj_to_hstate(kobj, NULL);
	unsigned int val;

	if (kstrtouint(buf, 10, &val) || !val || val > prezero_max_workers)
		return -EINVAL;
	if (!READ_ONCE(prezero_ready))
		return -ENOMEM;

	WRITE_ONCE(hstate_prezero(h)->workers, val);
	spin_lock_irq(&hugetlb_lock);
	prezero_kick_all(h);
	spin_unlock_irq(&hugetlb_lock);
	return len;
}

struct kobj_attribute hugetlb_prezero_workers_attr = __ATTR_RW(prezero_workers);

static ssize_t prezero_stat_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf);

struct kobj_attribute hugetlb_prezero_fault_hit_attr =
	__ATTR(prezero_fault_hit, 0444, prezero_stat_show, NULL);
struct kobj_attribute hugetlb_prezero_fault_miss_attr =
	__ATTR(prezero_fault_miss, 0444, prezero_stat_show, NULL);
struct kobj_attribute hugetlb_prezero_zeroed_background_attr =
	__ATTR(prezero_zeroed_background, 0444, prezero_stat_show, NULL);
struct kobj_attribute hugetlb_prezero_zeroed_explicit_attr =
	__ATTR(prezero_zeroed_explicit, 0444, prezero_stat_show, NULL);
struct kobj_attribute hugetlb_prezero_cancelled_attr =
	__ATTR(prezero_cancelled, 0444, prezero_stat_show, NULL);

static ssize_t prezero_stat_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	struct hugetlb_prezero *pz = hstate_prezero(kobj_to_hstate(kobj, NULL));
	atomic_long_t *stat;

	if (attr == &hugetlb_prezero_fault_hit_attr)
		stat = &pz->fault_hit;
	else if (attr == &hugetlb_prezero_fault_miss_attr)
		stat = &pz->fault_miss;
	else if (attr == &hugetlb_prezero_zeroed_background_attr)
		stat = &pz->zeroed_background;
	else if (attr == &hugetlb_prezero_zeroed_explicit_attr)
		stat = &pz->zeroed_explicit;
	else
		stat = &pz->cancelled;
	return sysfs_emit(buf, "%ld\n", atomic_long_read(stat));
}
