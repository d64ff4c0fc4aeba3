// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO type1: deferred pinning and IOMMU mapping.
 *
 * VFIO_IOMMU_MAP_DMA with VFIO_DMA_MAP_FLAG_DEFER checks what a normal map
 * checks, charges the whole size to the owner's locked_vm and returns.  The
 * mapping is then pinned and mapped by workers on an unbound workqueue,
 * lowest IOVA first, each taking up to VFIO_DEFER_BATCH_CHUNKS adjacent
 * chunks at a time.  VFIO_IOMMU_DEFER_SYNC lets the VMM make sure a range
 * is mapped before the guest may hand it to a device: it maps the chunks
 * no worker has taken itself, at once, and waits for those a worker holds.
 *
 * A claim (a run of chunks taken by a worker or a sync) is pinned without
 * vfio_iommu->lock, so that several CPUs fault and pin guest memory at the
 * same time, and mapped into every domain under the lock, so that a claim
 * lands either before or after a domain is attached or detached, never
 * half-way.  Whoever removes a deferred mapping (unmap, detach of the last
 * domain, container release) waits, without the lock, for its claims in
 * flight; a claim that finds its mapping cancelled unpins again.
 *
 * Accounting: the whole mapping is charged to RLIMIT_MEMLOCK when it is
 * made (vfio_dma->defer->prepaid pages).  Pinning a claim charges nothing;
 * once it is mapped, its reserved pages (which type1 never counts) are
 * refunded and the rest is owned by the mapping as if it had been pinned
 * synchronously.  Removal refunds what is still prepaid.
 */

#include <linux/bitmap.h>
#include <linux/debugfs.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/iommu.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include "vfio.h"
#include "vfio_iommu_type1.h"

/* One physically contiguous, equally reserved run of pinned pages. */
struct vfio_defer_run {
	unsigned long	pfn;
	unsigned long	npage;
};

#define VFIO_DEFER_BATCH_PAGES	(VFIO_DEFER_BATCH_SIZE >> PAGE_SHIFT)

static unsigned int defer_workers;
module_param(defer_workers, uint, 0644);
MODULE_PARM_DESC(defer_workers,
		 "Background mapping workers per container, fixed at its first deferred map (0: one per online CPU, at most 16).");

static struct workqueue_struct *vfio_defer_wq;
static struct dentry *vfio_defer_dir;
static bool vfio_defer_paused;		/* debugfs defer_pause, for tests */
static LIST_HEAD(vfio_defer_containers);
static DEFINE_MUTEX(vfio_defer_containers_lock);

static struct vfio_defer *to_defer(struct vfio_iommu *iommu)
{
	return &iommu->defer;
}

static dma_addr_t chunk_iova(struct vfio_dma *dma, unsigned long chunk)
{
	return dma->iova + ((dma_addr_t)chunk << VFIO_DEFER_CHUNK_SHIFT);
}

static unsigned long iova_chunk(struct vfio_dma *dma, dma_addr_t iova)
{
	return (iova - dma->iova) >> VFIO_DEFER_CHUNK_SHIFT;
}

/* Bytes of chunks [first, first + nr), the last one may be short. */
static size_t chunks_size(struct vfio_dma *dma, unsigned long first,
			  unsigned long nr)
{
	dma_addr_t start = chunk_iova(dma, first);
	u64 len = (u64)nr << VFIO_DEFER_CHUNK_SHIFT;

	return min_t(u64, len, dma->iova + dma->size - start);
}

/**
 * vfio_defer_kick - start the workers of a container
 * @iommu: type1 IOMMU, lock held or not
 *
 * vfio_dma_do_map() calls it after dropping the lock, so that the workers
 * do not wake up only to wait for it.
 */
void vfio_defer_kick(struct vfio_iommu *iommu)
{
	struct vfio_defer *defer = to_defer(iommu);
	unsigned int i;

	for (i = 0; i < defer->nr_workers; i++)
		queue_work(vfio_defer_wq, &defer->workers[i].work);
}

/* Put @dd on the pending list, which is sorted by IOVA, unless it is on it. */
static void vfio_defer_queue(struct vfio_defer *defer,
			     struct vfio_defer_dma *dd)
{
	struct vfio_defer_dma *pos;

	defer->busy = true;
	if (!list_empty(&dd->node))
		return;
	list_for_each_entry(pos, &defer->pending, node) {
		if (pos->dma->iova > dd->dma->iova)
			break;
	}
	list_add_tail(&dd->node, &pos->node);
}

/* Whether any deferred mapping has a chunk left to claim; prunes the list. */
static bool vfio_defer_has_pending(struct vfio_defer *defer)
{
	struct vfio_defer_dma *dd, *tmp;

	list_for_each_entry_safe(dd, tmp, &defer->pending, node) {
		if (!dd->cancel && dd->next < dd->nr_chunks)
			return true;
		list_del_init(&dd->node);
	}
	return false;
}

static void vfio_defer_update_idle(struct vfio_iommu *iommu)
{
	struct vfio_defer *defer = to_defer(iommu);

	if (!defer->busy || defer->inflight || vfio_defer_has_pending(defer))
		return;
	defer->busy = false;
	if (defer->eventfd)
		eventfd_signal(defer->eventfd);
}

/*
 * Next claim for a worker: the lowest free chunks of the lowest deferred
 * mapping, up to a batch.  Called with iommu->lock held.
 */
static bool vfio_defer_next(struct vfio_defer *defer, struct vfio_dma **dmap,
			    unsigned long *first, unsigned long *nr)
{
	struct vfio_defer_dma *dd;
	unsigned long end;

	if (defer->shutdown || defer->paused || defer->held ||
	    READ_ONCE(vfio_defer_paused))
		return false;
	if (!vfio_defer_has_pending(defer))
		return false;

	dd = list_first_entry(&defer->pending, struct vfio_defer_dma, node);
	end = min(dd->nr_chunks, dd->next + VFIO_DEFER_BATCH_CHUNKS);
	end = find_next_bit(dd->claimed, end, dd->next);
	*dmap = dd->dma;
	*first = dd->next;
	*nr = end - dd->next;
	return true;
}

/* Unpin @npage pages from @pfn, one run: reserved pfns were never pinned. */
static void vfio_defer_unpin(struct vfio_dma *dma, unsigned long pfn,
			     unsigned long npage)
{
	if (npage && !is_invalid_reserved_pfn(pfn))
		unpin_user_page_range_dirty_lock(pfn_to_page(pfn), npage,
						 dma->prot & IOMMU_WRITE);
}

static void vfio_defer_unpin_runs(struct vfio_dma *dma,
				  struct vfio_defer_run *runs,
				  unsigned long nr_runs)
{
	unsigned long i;

	for (i = 0; i < nr_runs; i++)
		vfio_defer_unpin(dma, runs[i].pfn, runs[i].npage);
}

/*
 * Pin [iova, iova + size) of @dma into @runs, without iommu->lock.  The
 * caller holds a claim on the range and a reference on dma->mm.  On error
 * the runs before *fail_iova, the page that failed, stay pinned.
 */
static int vfio_defer_pin(struct vfio_dma *dma, dma_addr_t iova, size_t size,
			  struct vfio_defer_run *runs, unsigned long *nr_runs,
			  dma_addr_t *fail_iova)
{
	unsigned long vaddr = dma->vaddr + (iova - dma->iova);
	unsigned long npage = size >> PAGE_SHIFT;
	struct vfio_batch batch;
	unsigned long n = 0;
	bool single = false;
	int ret = 0;

	vfio_batch_init(&batch);
	while (npage) {
		unsigned long pfn;
		long pinned;

		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		pinned = vfio_pin_pages_remote(dma, vaddr, single ? 1 : npage,
					       &pfn, RLIM_INFINITY, &batch);
		if (pinned <= 0 && !single && npage > 1) {
			/*
			 * The call gave back the run it had started: go on a
			 * page at a time (at most a claim), to map what can be
			 * and fail the chunk of the page that fails.
			 */
			single = true;
			continue;
		}
		if (pinned <= 0) {
			ret = pinned ? pinned : -EFAULT;
			break;
		}
		runs[n].pfn = pfn;
		runs[n].npage = pinned;
		n++;
		vaddr += pinned << PAGE_SHIFT;
		npage -= pinned;
	}
	if (ret) {
		*fail_iova = dma->iova + (vaddr - dma->vaddr);
		vfio_batch_unpin(&batch, dma);
	}
	vfio_batch_fini(&batch);
	*nr_runs = n;
	return ret;
}

/*
 * Map the pinned runs at @iova into every domain, or nothing.  Returns the
 * number of reserved pages mapped through *rsvd.  iommu->lock held.
 */
static int vfio_defer_map_runs(struct vfio_iommu *iommu, struct vfio_dma *dma,
			       dma_addr_t iova, struct vfio_defer_run *runs,
			       unsigned long nr_runs, unsigned long *rsvd)
{
	struct mem_cgroup *memcg, *old_memcg;
	dma_addr_t cur = iova;
	struct vfio_domain *d;
	unsigned long i;
	int ret = 0;

	/* Charge the IO page tables to the owner, not to a kworker. */
	memcg = get_mem_cgroup_from_mm(dma->mm);
	old_memcg = set_active_memcg(memcg);
	*rsvd = 0;
	for (i = 0; i < nr_runs; i++) {
		ret = vfio_iommu_map(iommu, cur, runs[i].pfn, runs[i].npage,
				     dma->prot);
		if (ret)
			break;
		if (is_invalid_reserved_pfn(runs[i].pfn))
			*rsvd += runs[i].npage;
		cur += runs[i].npage << PAGE_SHIFT;
	}
	set_active_memcg(old_memcg);
	mem_cgroup_put(memcg);

	if (ret && cur > iova) {
		list_for_each_entry(d, &iommu->domain_list, next)
			iommu_unmap(d->domain, iova, cur - iova);
	}
	return ret;
}

/* Chunks [first, first + nr) of a claim are mapped. */
static void vfio_defer_done(struct vfio_dma *dma, struct vfio_defer *defer,
			    unsigned long first, unsigned long nr,
			    unsigned long rsvd)
{
	struct vfio_defer_dma *dd = dma->defer;
	size_t size = chunks_size(dma, first, nr);

	bitmap_set(dd->done, first, nr);
	dd->mapped += size;
	defer->mapped += size;
	dd->prepaid -= size >> PAGE_SHIFT;
	/* Reserved pages are never charged (see vfio_pin_pages_remote()) */
	if (rsvd)
		vfio_lock_acct(dma, -(long)rsvd, true);
}

/* Chunks [first, first + nr) of a claim failed with @err at @iova. */
static void vfio_defer_fail(struct vfio_dma *dma, struct vfio_defer *defer,
			    unsigned long first, unsigned long nr, int err,
			    dma_addr_t iova)
{
	struct vfio_defer_dma *dd = dma->defer;
	size_t size = chunks_size(dma, first, nr);

	bitmap_set(dd->bad, first, nr);
	dd->failed += size;
	defer->failed += size;
	if (!dd->error) {
		dd->error = err;
		dd->error_iova = iova;
	}
	if (!defer->error) {
		defer->error = err;
		defer->error_iova = iova;
	}
}

/*
 * Give chunks [first, first + nr) of a claim back, and to the workers if
 * @requeue (a cancelled mapping is queued again by its uncancel only).
 */
static void vfio_defer_unclaim(struct vfio_iommu *iommu, struct vfio_dma *dma,
			       unsigned long first, unsigned long nr,
			       bool requeue)
{
	struct vfio_defer_dma *dd = dma->defer;

	if (!nr)
		return;
	bitmap_clear(dd->claimed, first, nr);
	dd->next = min(dd->next, first);
	if (requeue) {
		vfio_defer_queue(to_defer(iommu), dd);
		vfio_defer_kick(iommu);
	}
}

/*
 * Keep the runs that cover the first @keep bytes of the claim and unpin
 * the rest.  Returns the number of runs kept.
 */
static unsigned long vfio_defer_trim_runs(struct vfio_dma *dma,
					  struct vfio_defer_run *runs,
					  unsigned long nr_runs, size_t keep)
{
	unsigned long left = keep >> PAGE_SHIFT, i, n = 0;

	for (i = 0; i < nr_runs; i++) {
		unsigned long take = min(left, runs[i].npage);

		vfio_defer_unpin(dma, runs[i].pfn + take, runs[i].npage - take);
		runs[i].npage = take;
		left -= take;
		if (take)
			n = i + 1;
	}
	return n;
}

/*
 * Claim chunks [first, first + nr) of @dma (all free), pin them without the
 * lock and map them with it.  Called and returns with iommu->lock held; the
 * lock is dropped in between, so the caller must look @dma up again.
 *
 * If a page cannot be pinned, the chunks before its chunk are mapped, its
 * chunk fails, and the chunks after it go back to the queue.
 *
 * Return: 0, -EINTR if the caller got a fatal signal, -ECANCELED, or the
 * error the claim failed with.
 */
static int vfio_defer_claim(struct vfio_iommu *iommu, struct vfio_dma *dma,
			    unsigned long first, unsigned long nr,
			    struct vfio_defer_run *runs)
{
	struct vfio_defer *defer = to_defer(iommu);
	struct vfio_defer_dma *dd = dma->defer;
	dma_addr_t iova = chunk_iova(dma, first);
	size_t size = chunks_size(dma, first, nr);
	struct mm_struct *mm = dma->mm;
	unsigned long nr_runs = 0, rsvd = 0, good = nr;
	dma_addr_t fail_iova = iova;
	int ret = 0, err;

	bitmap_set(dd->claimed, first, nr);
	if (first == dd->next)
		dd->next = find_next_zero_bit(dd->claimed, dd->nr_chunks,
					      first + nr);
	dd->inflight++;
	defer->inflight++;
	if (!mmget_not_zero(mm))
		ret = -ESRCH;
	mutex_unlock(&iommu->lock);

	if (!ret) {
		ret = vfio_defer_pin(dma, iova, size, runs, &nr_runs,
				     &fail_iova);
		mmput(mm);
	}
	if (ret && ret != -EINTR && ret != -ESRCH) {
		good = iova_chunk(dma, fail_iova) - first;
		nr_runs = vfio_defer_trim_runs(dma, runs, nr_runs,
					       chunks_size(dma, first, good));
	}

	mutex_lock(&iommu->lock);
	if (dd->cancel || defer->shutdown) {
		/* Unclaimed for vfio_defer_dma_uncancel(), should the unmap fail */
		vfio_defer_unpin_runs(dma, runs, nr_runs);
		vfio_defer_unclaim(iommu, dma, first, nr, false);
		ret = -ECANCELED;
	} else if (ret == -EINTR) {
		/* A sync's caller got a fatal signal: someone else maps it */
		vfio_defer_unpin_runs(dma, runs, nr_runs);
		vfio_defer_unclaim(iommu, dma, first, nr, true);
	} else if (ret == -ESRCH) {
		vfio_defer_fail(dma, defer, first, nr, ret, iova);
	} else {
		err = good ? vfio_defer_map_runs(iommu, dma, iova, runs,
						 nr_runs, &rsvd) : 0;
		if (err) {
			vfio_defer_unpin_runs(dma, runs, nr_runs);
			vfio_defer_fail(dma, defer, first, nr, err, iova);
		} else {
			if (good)
				vfio_defer_done(dma, defer, first, good, rsvd);
			if (ret) {
				vfio_defer_fail(dma, defer, first + good, 1,
						ret, fail_iova);
				vfio_defer_unclaim(iommu, dma, first + good + 1,
						   nr - good - 1, true);
			}
		}
	}

	dd->inflight--;
	defer->inflight--;
	defer->seq++;
	wake_up_all(&defer->wait);
	vfio_defer_update_idle(iommu);
	return ret;
}

static void vfio_defer_work(struct work_struct *work)
{
	struct vfio_defer_worker *w = container_of(work,
						   struct vfio_defer_worker,
						   work);
	struct vfio_iommu *iommu = w->iommu;
	unsigned long first, nr;
	struct vfio_dma *dma;

	mutex_lock(&iommu->lock);
	while (vfio_defer_next(to_defer(iommu), &dma, &first, &nr))
		vfio_defer_claim(iommu, dma, first, nr, w->runs);
	mutex_unlock(&iommu->lock);
}

/**
 * vfio_defer_init - set up deferred mapping for a new container
 * @iommu: the container's type1 IOMMU
 */
void vfio_defer_init(struct vfio_iommu *iommu)
{
	struct vfio_defer *defer = to_defer(iommu);
	unsigned int i;

	INIT_LIST_HEAD(&defer->pending);
	init_waitqueue_head(&defer->wait);
	for (i = 0; i < VFIO_DEFER_MAX_WORKERS; i++) {
		defer->workers[i].iommu = iommu;
		INIT_WORK(&defer->workers[i].work, vfio_defer_work);
	}
	mutex_lock(&vfio_defer_containers_lock);
	list_add(&defer->node, &vfio_defer_containers);
	mutex_unlock(&vfio_defer_containers_lock);
}

/**
 * vfio_defer_release - stop deferred mapping of a container going away
 * @iommu: the container's type1 IOMMU, lock not held
 *
 * Stops the workers and waits for every claim in flight.  The mappings
 * themselves are then removed by the caller, which refunds what they still
 * hold prepaid.
 */
void vfio_defer_release(struct vfio_iommu *iommu)
{
	struct vfio_defer *defer = to_defer(iommu);
	unsigned int i;

	mutex_lock(&vfio_defer_containers_lock);
	list_del(&defer->node);
	mutex_unlock(&vfio_defer_containers_lock);

	mutex_lock(&iommu->lock);
	defer->shutdown = true;
	defer->seq++;
	wake_up_all(&defer->wait);
	mutex_unlock(&iommu->lock);

	for (i = 0; i < VFIO_DEFER_MAX_WORKERS; i++) {
		cancel_work_sync(&defer->workers[i].work);
		kvfree(defer->workers[i].runs);
		defer->workers[i].runs = NULL;
	}
	/* Syncs see the shutdown and return -ENODEV */
	wait_event(defer->wait,
		   !READ_ONCE(defer->inflight) && !READ_ONCE(defer->syncs));
	/* Let the last of them leave iommu->lock */
	mutex_lock(&iommu->lock);
	mutex_unlock(&iommu->lock);

	if (defer->eventfd)
		eventfd_ctx_put(defer->eventfd);
	defer->eventfd = NULL;
}

/* At the first deferred map: how many workers, and their run arrays. */
static int vfio_defer_workers_init(struct vfio_defer *defer)
{
	unsigned int i, nr;

	if (defer->nr_workers)
		return 0;
	nr = clamp_t(unsigned int, defer_workers ?: num_online_cpus(), 1,
		     VFIO_DEFER_MAX_WORKERS);
	for (i = 0; i < nr; i++) {
		defer->workers[i].runs =
			kvmalloc_array(VFIO_DEFER_BATCH_PAGES,
				       sizeof(struct vfio_defer_run),
				       GFP_KERNEL_ACCOUNT);
		if (!defer->workers[i].runs)
			goto fail;
	}
	defer->nr_workers = nr;
	return 0;
fail:
	while (i--) {
		kvfree(defer->workers[i].runs);
		defer->workers[i].runs = NULL;
	}
	return -ENOMEM;
}

static void vfio_defer_dma_free(struct vfio_defer_dma *dd)
{
	kvfree(dd->claimed);
	kvfree(dd->done);
	kvfree(dd->bad);
	kfree(dd);
}

/**
 * vfio_defer_dma_start - make a new mapping deferred
 * @iommu: type1 IOMMU, lock held
 * @dma: the new mapping, linked at its full size, nothing pinned
 *
 * Charges the whole mapping to the caller's locked_vm (RLIMIT_MEMLOCK, as
 * the synchronous map would over its course) and queues it for the workers;
 * the caller starts them with vfio_defer_kick() once it dropped the lock.
 *
 * Return: 0, -ENOMEM if RLIMIT_MEMLOCK is exceeded or memory is short.
 */
int vfio_defer_dma_start(struct vfio_iommu *iommu, struct vfio_dma *dma)
{
	struct vfio_defer *defer = to_defer(iommu);
	unsigned long npage = dma->size >> PAGE_SHIFT;
	struct vfio_defer_dma *dd;
	size_t words;
	int ret;

	if (!dma->lock_cap) {
		unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;

		if (current->mm->locked_vm + npage > limit) {
			pr_warn("%s: RLIMIT_MEMLOCK (%ld) exceeded\n",
				__func__, limit << PAGE_SHIFT);
			return -ENOMEM;
		}
	}

	dd = kzalloc(sizeof(*dd), GFP_KERNEL_ACCOUNT);
	if (!dd)
		return -ENOMEM;
	dd->nr_chunks = DIV_ROUND_UP_ULL(dma->size, VFIO_DEFER_CHUNK_SIZE);
	words = BITS_TO_LONGS(dd->nr_chunks);
	dd->claimed = kvcalloc(words, sizeof(long), GFP_KERNEL_ACCOUNT);
	dd->done = kvcalloc(words, sizeof(long), GFP_KERNEL_ACCOUNT);
	dd->bad = kvcalloc(words, sizeof(long), GFP_KERNEL_ACCOUNT);
	if (!dd->claimed || !dd->done || !dd->bad) {
		vfio_defer_dma_free(dd);
		return -ENOMEM;
	}

	ret = vfio_defer_workers_init(defer);
	if (!ret)
		ret = vfio_lock_acct(dma, npage, false);
	if (ret) {
		vfio_defer_dma_free(dd);
		return ret;
	}

	dd->dma = dma;
	dd->prepaid = npage;
	dma->defer = dd;
	/* Over-report dirty pages rather than miss any (update_user_bitmap) */
	dma->iommu_mapped = true;
	INIT_LIST_HEAD(&dd->node);
	vfio_defer_queue(defer, dd);

	defer->deferred += dma->size;
	return 0;
}

/**
 * vfio_defer_dma_cancel - stop background work on a mapping to be removed
 * @iommu: type1 IOMMU, lock held
 * @dma: deferred mapping
 *
 * No new claims are made on @dma.  If claims are in flight, drops the lock,
 * waits for one of them to end and takes it again.  A caller that does not
 * remove @dma after all must call vfio_defer_dma_uncancel().
 *
 * Return: true if the lock was dropped (the caller must look up again).
 */
bool vfio_defer_dma_cancel(struct vfio_iommu *iommu, struct vfio_dma *dma)
{
	struct vfio_defer *defer = to_defer(iommu);
	struct vfio_defer_dma *dd = dma->defer;
	unsigned long seq = defer->seq;

	dd->cancel = true;
	if (!dd->inflight)
		return false;

	/* @dd may be gone when we wake (another unmap): wait on @defer */
	mutex_unlock(&iommu->lock);
	wait_event(defer->wait, READ_ONCE(defer->seq) != seq);
	mutex_lock(&iommu->lock);
	return true;
}

/**
 * vfio_defer_dma_uncancel - undo vfio_defer_dma_cancel() for a failed unmap
 * @iommu: type1 IOMMU, lock held
 * @dma: deferred mapping that stays
 */
void vfio_defer_dma_uncancel(struct vfio_iommu *iommu, struct vfio_dma *dma)
{
	struct vfio_defer *defer = to_defer(iommu);
	struct vfio_defer_dma *dd = dma->defer;

	dd->cancel = false;
	defer->seq++;
	wake_up_all(&defer->wait);
	if (dd->next < dd->nr_chunks) {
		vfio_defer_queue(defer, dd);
		vfio_defer_kick(iommu);
	}
}

/**
 * vfio_defer_uncancel_range - undo cancels of a failed unmap
 * @iommu: type1 IOMMU, lock held
 * @iova: start of the unmap's range
 * @size: its size (0: to the end)
 *
 * A mapping cancelled by an unmap that then failed (after dropping the
 * lock) must be mapped by the workers again.
 */
void vfio_defer_uncancel_range(struct vfio_iommu *iommu, dma_addr_t iova,
			       u64 size)
{
	struct rb_node *n = vfio_find_dma_first_node(iommu, iova, size);

	for (; n; n = rb_next(n)) {
		struct vfio_dma *dma = rb_entry(n, struct vfio_dma, node);

		if (size && dma->iova >= iova + size)
			break;
		if (dma->defer && dma->defer->cancel)
			vfio_defer_dma_uncancel(iommu, dma);
	}
}

/* The first failure of the mappings left, after one went. */
static void vfio_defer_update_error(struct vfio_iommu *iommu)
{
	struct vfio_defer *defer = to_defer(iommu);
	struct rb_node *n;

	defer->error = 0;
	defer->error_iova = 0;
	for (n = rb_first(&iommu->dma_list); n && defer->failed;
	     n = rb_next(n)) {
		struct vfio_dma *dma = rb_entry(n, struct vfio_dma, node);

		if (dma->defer && dma->defer->error) {
			defer->error = dma->defer->error;
			defer->error_iova = dma->defer->error_iova;
			break;
		}
	}
}

/**
 * vfio_defer_dma_unmapped - forget the deferred state of an unmapped mapping
 * @iommu: type1 IOMMU, lock held
 * @dma: mapping whose mapped chunks were just unmapped and unpinned
 *
 * Refunds the pages still prepaid.  @dma is no longer deferred afterwards.
 */
void vfio_defer_dma_unmapped(struct vfio_iommu *iommu, struct vfio_dma *dma)
{
	struct vfio_defer *defer = to_defer(iommu);
	struct vfio_defer_dma *dd = dma->defer;

	if (WARN_ON(dd->inflight))
		return;

	list_del(&dd->node);
	defer->deferred -= dma->size;
	defer->mapped -= dd->mapped;
	defer->failed -= dd->failed;
	if (dd->prepaid)
		vfio_lock_acct(dma, -(long)dd->prepaid, true);
	dma->defer = NULL;
	if (dd->error)
		vfio_defer_update_error(iommu);
	vfio_defer_dma_free(dd);
	defer->seq++;
	wake_up_all(&defer->wait);
	vfio_defer_update_idle(iommu);
}

/**
 * vfio_defer_dma_pending - whether part of a deferred mapping is not mapped
 * @dma: mapping
 *
 * Return: true if @dma is deferred and not completely pinned and mapped.
 */
bool vfio_defer_dma_pending(struct vfio_dma *dma)
{
	return dma->defer && dma->defer->mapped != dma->size;
}

/**
 * vfio_defer_iova_mapped - whether @iova of a deferred mapping is mapped
 * @dma: deferred mapping
 * @iova: address inside @dma
 *
 * Return: true if the chunk holding @iova is pinned and mapped.
 */
bool vfio_defer_iova_mapped(struct vfio_dma *dma, dma_addr_t iova)
{
	return test_bit(iova_chunk(dma, iova), dma->defer->done);
}

/**
 * vfio_defer_next_mapped - skip to the next mapped chunk
 * @dma: deferred mapping
 * @iova: address inside @dma
 *
 * Return: the start of the first mapped chunk at or after @iova, or the end
 * of @dma.
 */
dma_addr_t vfio_defer_next_mapped(struct vfio_dma *dma, dma_addr_t iova)
{
	struct vfio_defer_dma *dd = dma->defer;
	unsigned long chunk;

	chunk = find_next_bit(dd->done, dd->nr_chunks, iova_chunk(dma, iova));
	if (chunk >= dd->nr_chunks)
		return dma->iova + dma->size;
	return max(iova, chunk_iova(dma, chunk));
}

/**
 * vfio_defer_unmap_domain - unmap the mapped chunks of @dma from @domain
 * @dma: deferred mapping
 * @domain: one of the container's domains
 *
 * iommu_unmap() stops at the first hole, so unmap each mapped run.
 */
void vfio_defer_unmap_domain(struct vfio_dma *dma, struct iommu_domain *domain)
{
	struct vfio_defer_dma *dd = dma->defer;
	unsigned int start, end;

	for_each_set_bitrange(start, end, dd->done, dd->nr_chunks) {
		iommu_unmap(domain, chunk_iova(dma, start),
			    chunks_size(dma, start, end - start));
		cond_resched();
	}
}

/**
 * vfio_defer_drain - stop new claims and wait for those in flight
 * @iommu: type1 IOMMU, lock held; dropped and retaken if claims are in flight
 *
 * For changes that remove mappings under the lock (detach of the last
 * domain).  Undo with vfio_defer_resume().
 */
void vfio_defer_drain(struct vfio_iommu *iommu)
{
	struct vfio_defer *defer = to_defer(iommu);

	defer->paused++;
	while (defer->inflight) {
		mutex_unlock(&iommu->lock);
		wait_event(defer->wait, !READ_ONCE(defer->inflight));
		mutex_lock(&iommu->lock);
	}
}

/**
 * vfio_defer_resume - undo vfio_defer_drain()
 * @iommu: type1 IOMMU, lock held
 */
void vfio_defer_resume(struct vfio_iommu *iommu)
{
	struct vfio_defer *defer = to_defer(iommu);

	if (--defer->paused)
		return;
	defer->seq++;
	wake_up_all(&defer->wait);
	if (vfio_defer_has_pending(defer))
		vfio_defer_kick(iommu);
	vfio_defer_update_idle(iommu);
}

/*
 * One pass of a sync over [*pos, last]: skip mapped chunks, map the first
 * free run found (then return 1 with *pos at it: the lock was dropped) and
 * note in *busy the first chunk someone else holds.  A mapping being
 * unmapped is skipped: waiting for it could deadlock with the unmap's
 * notifier (vfio_pin_pages() callers).
 */
static int vfio_defer_sync_pass(struct vfio_iommu *iommu, dma_addr_t *pos,
				dma_addr_t last, bool *found, dma_addr_t *busy)
{
	struct vfio_defer *defer = to_defer(iommu);
	struct rb_node *n;
	int ret;

	/* A size of 0 means "to the end": [*pos, U64_MAX] would wrap */
	n = vfio_find_dma_first_node(iommu, *pos,
				     last == (dma_addr_t)-1 ? 0 :
				     last - *pos + 1);
	for (; n; n = rb_next(n)) {
		struct vfio_dma *dma = rb_entry(n, struct vfio_dma, node);
		struct vfio_defer_dma *dd = dma->defer;
		unsigned long chunk, end;

		if (dma->iova > last)
			break;
		*found = true;
		if (!dd || dd->cancel)
			continue;

		chunk = iova_chunk(dma, max(*pos, dma->iova));
		end = iova_chunk(dma, min(last, dma->iova + dma->size - 1)) + 1;
		for (;;) {
			struct vfio_defer_run *runs;
			unsigned long run_end;

			chunk = find_next_zero_bit(dd->done, end, chunk);
			if (chunk >= end)
				break;
			if (test_bit(chunk, dd->bad))
				return dd->error;
			if (defer->paused) {
				*busy = min(*busy, chunk_iova(dma, chunk));
				break;
			}
			if (test_bit(chunk, dd->claimed)) {
				*busy = min(*busy, chunk_iova(dma, chunk));
				chunk++;
				continue;
			}

			run_end = min(end, chunk + VFIO_DEFER_BATCH_CHUNKS);
			run_end = find_next_bit(dd->claimed, run_end, chunk);
			runs = kvmalloc_array((run_end - chunk) <<
					      (VFIO_DEFER_CHUNK_SHIFT - PAGE_SHIFT),
					      sizeof(*runs), GFP_KERNEL_ACCOUNT);
			if (!runs)
				return -ENOMEM;
			*pos = chunk_iova(dma, chunk);
			ret = vfio_defer_claim(iommu, dma, chunk,
					       run_end - chunk, runs);
			kvfree(runs);
			return ret == -EINTR ? ret : 1;
		}
	}
	return 0;
}

/**
 * vfio_defer_sync - make sure [iova, last] is pinned and mapped
 * @iommu: type1 IOMMU, lock not held
 * @iova: first byte
 * @last: last byte
 * @killable: wait only for fatal signals (vfio_pin_pages() callers)
 *
 * Maps the free chunks of deferred mappings in the range at once and waits
 * for those being mapped.
 *
 * Return: 0, -ENOENT if no mapping overlaps the range, the error the
 * background hit for a mapping in it, -EINTR on a signal, -ENODEV if the
 * container goes away, or -ENOMEM.
 */
int vfio_defer_sync(struct vfio_iommu *iommu, dma_addr_t iova,
		    dma_addr_t last, bool killable)
{
	struct vfio_defer *defer = to_defer(iommu);
	dma_addr_t pos = iova, busy;
	bool found = false;
	unsigned long seq;
	int ret;

	mutex_lock(&iommu->lock);
	defer->syncs++;
	for (;;) {
		if (defer->shutdown) {
			ret = -ENODEV;
			break;
		}
		/*
		 * Chunk starts are page aligned, @last is not: busy == last
		 * means none.  After a claim, look again from the first busy
		 * chunk of this pass: it may be done by now.
		 */
		busy = last;
		ret = vfio_defer_sync_pass(iommu, &pos, last, &found, &busy);
		if (ret == 1) {
			pos = min(pos, busy);
			if (fatal_signal_pending(current) ||
			    (!killable && signal_pending(current))) {
				ret = -EINTR;
				break;
			}
			continue;
		}
		if (ret)
			break;
		if (!found) {
			ret = -ENOENT;
			break;
		}
		if (busy == last)
			break;

		/* Chunks from @busy on are someone else's: wait for a change */
		pos = busy;
		seq = defer->seq;
		mutex_unlock(&iommu->lock);
		if (killable)
			ret = wait_event_killable(defer->wait,
						  READ_ONCE(defer->seq) != seq);
		else
			ret = wait_event_interruptible(defer->wait,
						       READ_ONCE(defer->seq) != seq);
		mutex_lock(&iommu->lock);
		if (ret) {
			ret = -EINTR;
			break;
		}
	}
	if (!--defer->syncs && defer->shutdown)
		wake_up_all(&defer->wait);
	mutex_unlock(&iommu->lock);
	return ret;
}

/**
 * vfio_defer_add_cap - add VFIO_IOMMU_TYPE1_INFO_CAP_DEFER_MAP
 * @iommu: type1 IOMMU, lock held
 * @caps: capability chain being built for VFIO_IOMMU_GET_INFO
 *
 * Return: 0 or -ENOMEM.
 */
int vfio_defer_add_cap(struct vfio_iommu *iommu, struct vfio_info_cap *caps)
{
	struct vfio_iommu_type1_info_cap_defer_map cap = {
		.header.id = VFIO_IOMMU_TYPE1_INFO_CAP_DEFER_MAP,
		.header.version = 1,
		.flags = VFIO_DEFER_MAP_CAP_HOLD,
		.chunk_size = VFIO_DEFER_CHUNK_SIZE,
		.batch_size = VFIO_DEFER_BATCH_SIZE,
	};

	cap.workers = iommu->defer.nr_workers ?:
		      clamp_t(unsigned int, defer_workers ?: num_online_cpus(),
			      1, VFIO_DEFER_MAX_WORKERS);
	return vfio_info_add_capability(caps, &cap.header, sizeof(cap));
}

static int vfio_defer_set_eventfd(struct vfio_iommu *iommu, int fd)
{
	struct vfio_defer *defer = to_defer(iommu);
	struct eventfd_ctx *ctx = NULL;

	if (fd >= 0) {
		ctx = eventfd_ctx_fdget(fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
	} else if (fd != -1) {
		return -EINVAL;
	}

	mutex_lock(&iommu->lock);
	if (defer->eventfd)
		eventfd_ctx_put(defer->eventfd);
	defer->eventfd = ctx;
	if (ctx && !defer->busy)
		eventfd_signal(ctx);
	mutex_unlock(&iommu->lock);
	return 0;
}

/*
 * HOLD: the workers claim nothing until RELEASE; a worker's claim in flight
 * finishes.  Syncs still map.  Both are idempotent.
 */
static void vfio_defer_set_held(struct vfio_iommu *iommu, bool held)
{
	struct vfio_defer *defer = to_defer(iommu);

	mutex_lock(&iommu->lock);
	if (defer->held && !held && vfio_defer_has_pending(defer))
		vfio_defer_kick(iommu);
	defer->held = held;
	mutex_unlock(&iommu->lock);
}

/**
 * vfio_defer_ioctl_sync - VFIO_IOMMU_DEFER_SYNC
 * @iommu: type1 IOMMU, lock not held
 * @arg: user pointer to struct vfio_iommu_type1_defer_sync
 *
 * Return: 0 or -errno, see Documentation/driver-api/vfio_async_map.rst.
 */
long vfio_defer_ioctl_sync(struct vfio_iommu *iommu, unsigned long arg)
{
	struct vfio_iommu_type1_defer_sync sync;
	struct vfio_defer *defer = to_defer(iommu);
	size_t minsz = sizeof(sync);
	u64 pgmask, last;
	int ret = 0;

	/* Like VFIO_IOMMU_DIRTY_PAGES: type1v2 only */
	if (!iommu->v2)
		return -EACCES;
	if (copy_from_user(&sync, (void __user *)arg, minsz))
		return -EFAULT;
	if (sync.argsz < minsz)
		return -EINVAL;

	switch (sync.flags) {
	case 0:
		mutex_lock(&iommu->lock);
		pgmask = (1ULL << __ffs(iommu->pgsize_bitmap)) - 1;
		mutex_unlock(&iommu->lock);
		last = sync.iova + sync.size - 1;
		if (!sync.size || (sync.iova | sync.size) & pgmask ||
		    last < sync.iova || (dma_addr_t)last != last)
			return -EINVAL;
		ret = vfio_defer_sync(iommu, sync.iova, last, false);
		break;
	case VFIO_DEFER_SYNC_FLAG_ALL:
	case VFIO_DEFER_SYNC_FLAG_QUERY:
	case VFIO_DEFER_SYNC_FLAG_EVENTFD:
	case VFIO_DEFER_SYNC_FLAG_HOLD:
	case VFIO_DEFER_SYNC_FLAG_RELEASE:
		if (sync.iova || sync.size)
			return -EINVAL;
		if (sync.flags == VFIO_DEFER_SYNC_FLAG_ALL) {
			ret = vfio_defer_sync(iommu, 0, (dma_addr_t)-1, false);
			if (ret == -ENOENT)
				ret = 0;
		} else if (sync.flags == VFIO_DEFER_SYNC_FLAG_EVENTFD) {
			ret = vfio_defer_set_eventfd(iommu, sync.eventfd);
		} else if (sync.flags != VFIO_DEFER_SYNC_FLAG_QUERY) {
			vfio_defer_set_held(iommu, sync.flags ==
					    VFIO_DEFER_SYNC_FLAG_HOLD);
		}
		break;
	default:
		return -EINVAL;
	}
	if (ret)
		return ret;

	mutex_lock(&iommu->lock);
	sync.deferred = defer->deferred;
	sync.mapped = defer->mapped;
	sync.failed = defer->failed;
	sync.error = -defer->error;
	sync.error_iova = defer->error_iova;
	mutex_unlock(&iommu->lock);

	return copy_to_user((void __user *)arg, &sync, minsz) ? -EFAULT : 0;
}

static int vfio_defer_pause_get(void *data, u64 *val)
{
	*val = READ_ONCE(vfio_defer_paused);
	return 0;
}

static int vfio_defer_pause_set(void *data, u64 val)
{
	struct vfio_defer *defer;

	if (val > 1)
		return -EINVAL;
	WRITE_ONCE(vfio_defer_paused, val);
	if (val)
		return 0;

	mutex_lock(&vfio_defer_containers_lock);
	list_for_each_entry(defer, &vfio_defer_containers, node) {
		unsigned int i, nr = READ_ONCE(defer->nr_workers);

		for (i = 0; i < nr; i++)
			queue_work(vfio_defer_wq, &defer->workers[i].work);
	}
	mutex_unlock(&vfio_defer_containers_lock);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(vfio_defer_pause_fops, vfio_defer_pause_get,
			 vfio_defer_pause_set, "%llu\n");

/**
 * vfio_defer_module_init - create the workqueue and the debugfs knob
 *
 * Return: 0 or -ENOMEM.
 */
int vfio_defer_module_init(void)
{
	vfio_defer_wq = alloc_workqueue("vfio_defer_map",
					WQ_UNBOUND | WQ_SYSFS, 0);
	if (!vfio_defer_wq)
		return -ENOMEM;

	vfio_defer_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file_unsafe("defer_pause", 0600, vfio_defer_dir, NULL,
				   &vfio_defer_pause_fops);
	return 0;
}

/**
 * vfio_defer_module_exit - undo vfio_defer_module_init()
 */
void vfio_defer_module_exit(void)
{
	debugfs_remove_recursive(vfio_defer_dir);
	destroy_workqueue(vfio_defer_wq);
}
