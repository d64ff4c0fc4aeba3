// SPDX-License-Identifier: GPL-2.0-only
/*
 * Virtio balloon driver that inflates in 2 MiB blocks.
 *
 * It speaks the standard virtio-balloon protocol (4 KiB PFNs on the inflate
 * and deflate queues, the target and actual size in the configuration
 * space), so it works with an unmodified host.  It differs from
 * virtio_balloon in how it gets there:
 *
 *  - pages are taken from the buddy allocator as order-9 (2 MiB) blocks
 *    and given back as such; only when no 2 MiB block can be had cheaply
 *    (no retry, no reclaim loop, no reserves) does it fall back to 4 KiB
 *    pages;
 *  - a message carries up to VB2M_MSG_PFNS PFNs (128 MiB) instead of 256,
 *    each block's 512 PFNs consecutive and ascending, so a host backed by
 *    2 MiB pages frees whole pages and a large balloon costs few round trips;
 *  - the initial target the host set before the guest booted is reached in
 *    probe, before the driver returns: built in, the driver registers at
 *    subsys_initcall_sync, so the device is probed from virtio_pci's probe
 *    and the memory is out of the guest before PCI drivers linked after
 *    drivers/virtio (and every module) probe; the wait is bounded by the
 *    wait_ms parameter;
 *  - after probe, the balloon follows the host's target in a thread of its
 *    own, at the nice value of the resize_nice parameter (19, the lowest
 *    priority, by default): moving it is background work.
 *
 * Ballooned pages are PageOffline and, unless VIRTIO_BALLOON_F_DEFLATE_ON_OOM
 * was negotiated, taken out of the managed page counts, as virtio_balloon
 * does: /proc/kcore, makedumpfile and hibernation skip them.  2 MiB blocks
 * are not movable (balloon compaction migrates 4 KiB pages only), so they are
 * allocated without __GFP_MOVABLE and never come from ZONE_MOVABLE or CMA.
 *
 * See Documentation/admin-guide/mm/virtio_balloon_2m.rst.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/oom.h>
#include <linux/scatterlist.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/virtio.h>
#include <linux/virtio_balloon.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <linux/vmstat.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

/* A block is 2 MiB: 512 of the protocol's 4 KiB pages. */
#define VB2M_ORDER		9
#define VB2M_BLOCK_PAGES	BIT(VB2M_ORDER)

/*
 * The message buffer: up to VB2M_MSG_BUFS pages of PFNs, sent as one
 * scatter-gather list.  32 pages hold 32768 PFNs, 128 MiB or 64 blocks per
 * round trip; 32 descriptors fit the balloon's 128-entry rings even without
 * indirect descriptors.
 */
#define VB2M_MSG_BUFS		32
#define VB2M_PFNS_PER_BUF	(PAGE_SIZE / sizeof(__virtio32))
#define VB2M_MSG_PFNS		(VB2M_MSG_BUFS * VB2M_PFNS_PER_BUF)

/* What the OOM notifier gives back when no 2 MiB block is left (1 MiB). */
#define VB2M_OOM_PAGES		256
#define VB2M_OOM_PRIORITY	80

/* Back-off when the guest has no memory to give, as virtio_balloon. */
#define VB2M_RETRY_MS		200
/* Probe stops waiting after this many steps in a row without progress. */
#define VB2M_PROBE_STALLS	5

/* Never retry, warn or dip into reserves: the balloon is not urgent. */
#define VB2M_GFP		(GFP_HIGHUSER | __GFP_NORETRY | __GFP_NOWARN | \
				 __GFP_NOMEMALLOC)

#define VB2M_NR_STATS		10

enum vb2m_vq {
	VB2M_VQ_INFLATE,
	VB2M_VQ_DEFLATE,
	VB2M_VQ_STATS,
	VB2M_VQ_MAX
};

static unsigned int wait_ms = 30000;
module_param(wait_ms, uint, 0644);
MODULE_PARM_DESC(wait_ms,
		 "How long probe may wait for the initial inflate, in ms (0: inflate in the background)");

/*
 * Moving the balloon after probe is background work: by default its thread
 * runs at the lowest priority, so that a guest that boots while the host
 * deflates its initial target finishes its boot first.
 */
static int resize_nice = MAX_NICE;

static int resize_nice_set(const char *val, const struct kernel_param *kp)
{
	int nice, err;

	err = kstrtoint(val, 0, &nice);
	if (err)
		return err;
	if (nice < MIN_NICE || nice > MAX_NICE)
		return -EINVAL;
	*(int *)kp->arg = nice;
	return 0;
}

static const struct kernel_param_ops resize_nice_ops = {
	.set = resize_nice_set,
	.get = param_get_int,
};
module_param_cb(resize_nice, &resize_nice_ops, &resize_nice, 0644);
MODULE_PARM_DESC(resize_nice,
		 "Nice value (-20..19) of the thread that follows the host's target after probe; read at probe (default 19)");

static struct dentry *vb2m_debugfs_root;

struct vb2m {
	struct virtio_device *vdev;
	struct virtqueue *inflate_vq;
	struct virtqueue *deflate_vq;
	struct virtqueue *stats_vq;

	/* Serialises inflate, deflate, the OOM notifier and remove. */
	struct mutex lock;
	/* Head pages of the 2 MiB blocks (not compound), on page->lru. */
	struct list_head blocks;
	/* 4 KiB pages, on page->lru. */
	struct list_head pages;
	unsigned long nr_blocks;
	unsigned long nr_pages;

	/* The message: msg_bufs pages of PFNs, num_pfns of them in use. */
	struct page *msg[VB2M_MSG_BUFS];
	struct scatterlist sg[VB2M_MSG_BUFS];
	unsigned int msg_bufs;
	unsigned int num_pfns;
	wait_queue_head_t acked;

	/* Whether the work may be queued: false once remove started. */
	spinlock_t stop_lock;
	bool stop;
	/* Follows the target after probe, at resize_nice. */
	struct kthread_worker *worker;
	struct kthread_delayed_work size_work;
	struct work_struct stats_work;

	struct notifier_block oom_nb;
	struct virtio_balloon_stat stats[VB2M_NR_STATS];

	/* Progress, under lock; reset at probe. */
	unsigned long fail_2m;
	unsigned long inflated_4k;
	unsigned long inflate_msgs;
	unsigned long deflate_msgs;
	unsigned long oom_pages;
	u32 initial_target;
	s64 initial_ms;
	ktime_t probe_start;
	ktime_t move_start;		/* 0 while at the target */
	unsigned long move_pages;
	s64 last_move_ms;
	unsigned long last_rate;	/* MiB/s */

	struct dentry *debugfs;
};

static unsigned long vb2m_size(struct vb2m *vb)
{
	return vb->nr_blocks * VB2M_BLOCK_PAGES + vb->nr_pages;
}

static bool vb2m_accounted(struct vb2m *vb)
{
	/* With DEFLATE_ON_OOM the pages stay in MemTotal, as in virtio_balloon. */
	return !virtio_has_feature(vb->vdev, VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
}

static u32 vb2m_target(struct vb2m *vb)
{
	u32 num_pages;

	/* Legacy balloon config space is LE, unlike all other devices. */
	virtio_cread_le(vb->vdev, struct virtio_balloon_config, num_pages,
			&num_pages);
	return num_pages;
}

/* Under vb->lock: a config write is not atomic (legacy devices: bytes). */
static void vb2m_update_actual(struct vb2m *vb)
{
	u32 actual = vb2m_size(vb);

	lockdep_assert_held(&vb->lock);

	virtio_cwrite_le(vb->vdev, struct virtio_balloon_config, actual,
			 &actual);
}

static void vb2m_ack(struct virtqueue *vq)
{
	struct vb2m *vb = vq->vdev->priv;

	wake_up(&vb->acked);
}

static void vb2m_add_pfns(struct vb2m *vb, struct page *page, unsigned long nr)
{
	unsigned long pfn = page_to_pfn(page), i;
	__virtio32 *buf;

	for (i = 0; i < nr; i++, vb->num_pfns++) {
		buf = page_address(vb->msg[vb->num_pfns / VB2M_PFNS_PER_BUF]);
		buf[vb->num_pfns % VB2M_PFNS_PER_BUF] =
			cpu_to_virtio32(vb->vdev, pfn + i);
	}
}

/*
 * Send the PFNs collected in the message and wait for the host to take
 * them.  There is never more than one message in flight.
 */
static int vb2m_tell_host(struct vb2m *vb, struct virtqueue *vq)
{
	unsigned int nsg = DIV_ROUND_UP(vb->num_pfns, VB2M_PFNS_PER_BUF);
	unsigned int i, len, bytes;
	int err;

	sg_init_table(vb->sg, nsg);
	for (i = 0; i < nsg; i++) {
		bytes = min_t(unsigned int, PAGE_SIZE,
			      (vb->num_pfns - i * VB2M_PFNS_PER_BUF) *
			      sizeof(__virtio32));
		sg_set_page(&vb->sg[i], vb->msg[i], bytes, 0);
	}
	/*
	 * Under vb->lock, which the OOM notifier takes: the indirect table
	 * must not be allocated with reclaim.  Without it the ring falls back
	 * to direct descriptors, and the buffer never has more entries than
	 * the rings (vb2m_alloc_msg()); a single entry needs no table at all.
	 */
	err = virtqueue_add_outbuf(vq, vb->sg, nsg, vb,
				   GFP_NOWAIT | __GFP_NOWARN);
	if (err) {
		dev_err_ratelimited(&vb->vdev->dev,
				    "cannot queue a %u-page message: %d\n",
				    vb->num_pfns, err);
		return err;
	}
	virtqueue_kick(vq);
	wait_event(vb->acked, virtqueue_get_buf(vq, &len));
	if (vq == vb->inflate_vq)
		vb->inflate_msgs++;
	else
		vb->deflate_msgs++;
	return 0;
}

/*
 * Mark the pages of a list of blocks or pages offline and take them out of
 * the managed counts: before the host hears of them, so that kcore (which
 * reads under page_offline_freeze()) never reads a page the host discarded.
 * Not under vb->lock: page_offline_begin() waits for kcore readers, which
 * may fault and enter the OOM notifier, which takes vb->lock.
 */
static void vb2m_take_list(struct vb2m *vb, struct list_head *list,
			   unsigned int order)
{
	unsigned long nr = 1UL << order, i;
	struct page *page;

	page_offline_begin();
	list_for_each_entry(page, list, lru)
		for (i = 0; i < nr; i++)
			__SetPageOffline(nth_page(page, i));
	page_offline_end();
	if (vb2m_accounted(vb))
		list_for_each_entry(page, list, lru)
			adjust_managed_page_count(page, -nr);
}

static void vb2m_give(struct vb2m *vb, struct page *page, unsigned int order)
{
	unsigned long nr = 1UL << order, i;

	for (i = 0; i < nr; i++)
		__ClearPageOffline(nth_page(page, i));
	if (vb2m_accounted(vb))
		adjust_managed_page_count(page, nr);
	__free_pages(page, order);
}

/* Free the pages of a list of blocks or pages, without telling the host. */
static void vb2m_give_list(struct vb2m *vb, struct list_head *list,
			   unsigned int order)
{
	struct page *page, *next;

	list_for_each_entry_safe(page, next, list, lru) {
		list_del(&page->lru);
		vb2m_give(vb, page, order);
	}
}

/* The protocol's PFNs are 32 bits wide: memory above 16 TiB cannot go. */
static bool vb2m_pfn_ok(struct page *page, unsigned long nr)
{
	return page_to_pfn(page) + nr - 1 <= U32_MAX;
}

/*
 * Inflate by up to @want pages in one message: 2 MiB blocks while at least
 * a block is wanted and the allocator has one, then 4 KiB pages.  Returns
 * the number of pages added; fewer than asked for when memory ran out.
 */
static unsigned long vb2m_fill(struct vb2m *vb, unsigned long want)
{
	unsigned long added = 0, blocks = 0, pages = 0;
	LIST_HEAD(new_blocks);
	LIST_HEAD(new_pages);
	bool failed_2m = false;
	struct page *page;
	int err;

	/*
	 * Allocate, mark and account without vb->lock, as virtio_balloon
	 * does: the OOM notifier takes it, and reclaim may wait for a task
	 * that is in the notifier.
	 */
	want = min_t(unsigned long, want, vb->msg_bufs * VB2M_PFNS_PER_BUF);
	while (want - added >= VB2M_BLOCK_PAGES) {
		page = alloc_pages(VB2M_GFP, VB2M_ORDER);
		if (!page) {
			failed_2m = true;
			break;
		}
		if (!vb2m_pfn_ok(page, VB2M_BLOCK_PAGES)) {
			__free_pages(page, VB2M_ORDER);
			break;
		}
		list_add_tail(&page->lru, &new_blocks);
		added += VB2M_BLOCK_PAGES;
		blocks++;
	}
	while (added < want) {
		page = alloc_page(VB2M_GFP);
		if (!page || !vb2m_pfn_ok(page, 1)) {
			if (page)
				__free_page(page);
			dev_info_ratelimited(&vb->vdev->dev,
					     "out of memory to inflate: %lu of %lu pages\n",
					     added, want);
			break;
		}
		list_add_tail(&page->lru, &new_pages);
		added++;
		pages++;
	}
	vb2m_take_list(vb, &new_blocks, VB2M_ORDER);
	vb2m_take_list(vb, &new_pages, 0);

	mutex_lock(&vb->lock);
	if (failed_2m)
		vb->fail_2m++;
	err = -ENODATA;
	if (added) {
		vb->num_pfns = 0;
		list_for_each_entry(page, &new_blocks, lru)
			vb2m_add_pfns(vb, page, VB2M_BLOCK_PAGES);
		list_for_each_entry(page, &new_pages, lru)
			vb2m_add_pfns(vb, page, 1);
		err = vb2m_tell_host(vb, vb->inflate_vq);
	}
	if (!err) {
		list_splice(&new_blocks, &vb->blocks);
		list_splice(&new_pages, &vb->pages);
		vb->nr_blocks += blocks;
		vb->nr_pages += pages;
		vb->inflated_4k += pages;
		count_vm_events(BALLOON_INFLATE, added);
		vb2m_update_actual(vb);
	}
	mutex_unlock(&vb->lock);

	if (err) {
		vb2m_give_list(vb, &new_blocks, VB2M_ORDER);
		vb2m_give_list(vb, &new_pages, 0);
		added = 0;
	}
	return added;
}

/*
 * Deflate by up to @want pages (at most @max_pfns) in one message: whole
 * 2 MiB blocks first, then 4 KiB pages; a block is split only when fewer
 * than 512 pages remain to give and no 4 KiB page is left.  The host is told
 * before any page is reused (VIRTIO_BALLOON_F_MUST_TELL_HOST), whether or not
 * it asked for that.  Called with vb->lock held.
 */
static unsigned long vb2m_leak_locked(struct vb2m *vb, unsigned long want,
				      unsigned long max_pfns)
{
	unsigned long taken = 0, blocks = 0, pages = 0;
	LIST_HEAD(old_blocks);
	LIST_HEAD(old_pages);
	struct page *page;
	unsigned long i;

	lockdep_assert_held(&vb->lock);
	want = min3(want, max_pfns, vb2m_size(vb));
	vb->num_pfns = 0;

	while (want - taken >= VB2M_BLOCK_PAGES && vb->nr_blocks) {
		page = list_first_entry(&vb->blocks, struct page, lru);
		list_move(&page->lru, &old_blocks);
		vb->nr_blocks--;
		vb2m_add_pfns(vb, page, VB2M_BLOCK_PAGES);
		taken += VB2M_BLOCK_PAGES;
		blocks++;
	}
	while (taken < want) {
		if (!vb->nr_pages) {
			/* want - taken < 512 here: split one block. */
			page = list_first_entry(&vb->blocks, struct page, lru);
			list_del(&page->lru);
			vb->nr_blocks--;
			split_page(page, VB2M_ORDER);
			for (i = 0; i < VB2M_BLOCK_PAGES; i++)
				list_add(&nth_page(page, i)->lru, &vb->pages);
			vb->nr_pages += VB2M_BLOCK_PAGES;
		}
		page = list_first_entry(&vb->pages, struct page, lru);
		list_move(&page->lru, &old_pages);
		vb->nr_pages--;
		vb2m_add_pfns(vb, page, 1);
		taken++;
		pages++;
	}
	if (!taken)
		return 0;

	if (vb2m_tell_host(vb, vb->deflate_vq)) {
		/* Not told, so not ours to reuse: keep them in the balloon. */
		list_splice(&old_blocks, &vb->blocks);
		list_splice(&old_pages, &vb->pages);
		vb->nr_blocks += blocks;
		vb->nr_pages += pages;
		return 0;
	}
	vb2m_give_list(vb, &old_blocks, VB2M_ORDER);
	vb2m_give_list(vb, &old_pages, 0);
	count_vm_events(BALLOON_DEFLATE, taken);
	/* Only now is the memory back: the host may count on it. */
	vb2m_update_actual(vb);
	return taken;
}

static unsigned long vb2m_leak(struct vb2m *vb, unsigned long want)
{
	unsigned long done;

	mutex_lock(&vb->lock);
	done = vb2m_leak_locked(vb, want, vb->msg_bufs * VB2M_PFNS_PER_BUF);
	mutex_unlock(&vb->lock);
	return done;
}

/*
 * One step towards the host's target: at most one message.  Returns the
 * number of pages moved, and in *@left how many remain to move.
 */
static long vb2m_diff(struct vb2m *vb)
{
	long diff;

	mutex_lock(&vb->lock);
	diff = (long)vb2m_target(vb) - (long)vb2m_size(vb);
	mutex_unlock(&vb->lock);
	return diff;
}

static unsigned long vb2m_step(struct vb2m *vb, long *left)
{
	long diff = vb2m_diff(vb);
	unsigned long moved = 0;
	ktime_t now;
	s64 ms;

	if (diff && !vb->move_start) {
		vb->move_start = ktime_get();
		vb->move_pages = 0;
	}
	if (diff > 0)
		moved = vb2m_fill(vb, diff);
	else if (diff < 0)
		moved = vb2m_leak(vb, -diff);

	mutex_lock(&vb->lock);
	diff = (long)vb2m_target(vb) - (long)vb2m_size(vb);
	vb->move_pages += moved;
	if (!diff && vb->move_start) {
		now = ktime_get();
		ms = ktime_ms_delta(now, vb->move_start);
		vb->last_move_ms = ms;
		vb->last_rate = div64_u64((u64)(vb->move_pages >> (20 - PAGE_SHIFT)) *
					  MSEC_PER_SEC, max_t(s64, ms, 1));
		vb->move_start = 0;
		if (vb->initial_target && vb->initial_ms < 0)
			vb->initial_ms = ktime_ms_delta(now, vb->probe_start);
	}
	mutex_unlock(&vb->lock);
	*left = diff;
	return moved;
}

static void vb2m_size_func(struct kthread_work *work)
{
	struct vb2m *vb = container_of(work, struct vb2m, size_work.work);
	unsigned long moved;
	long left;

	moved = vb2m_step(vb, &left);
	if (!left)
		return;
	spin_lock_irq(&vb->stop_lock);
	if (!vb->stop)
		kthread_queue_delayed_work(vb->worker, &vb->size_work,
					   moved ? 0 : msecs_to_jiffies(VB2M_RETRY_MS));
	spin_unlock_irq(&vb->stop_lock);
}

static void vb2m_changed(struct virtio_device *vdev)
{
	struct vb2m *vb = vdev->priv;
	unsigned long flags;

	spin_lock_irqsave(&vb->stop_lock, flags);
	if (!vb->stop)
		kthread_mod_delayed_work(vb->worker, &vb->size_work, 0);
	spin_unlock_irqrestore(&vb->stop_lock, flags);
}

/*
 * Whether the balloon holds the initial target, or what the host asks for
 * now if it lowered the target since.  Either ends the probe's wait: a
 * later change, such as a host that deflates as soon as the guest got
 * there, is work for the background, not for the boot.
 */
static bool vb2m_initial_reached(struct vb2m *vb)
{
	bool reached;

	mutex_lock(&vb->lock);
	reached = vb2m_size(vb) >= min(vb->initial_target, vb2m_target(vb));
	if (reached && vb->initial_ms < 0)
		vb->initial_ms = ktime_ms_delta(ktime_get(), vb->probe_start);
	mutex_unlock(&vb->lock);
	return reached;
}

/*
 * Reach the target the host set before the guest booted before returning,
 * so that drivers probing later find the memory already given back.
 */
static void vb2m_initial_inflate(struct vb2m *vb)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(wait_ms);
	unsigned int stalls = 0;
	bool reached;
	long left;

	vb->initial_target = vb2m_target(vb);
	if (!vb->initial_target || !wait_ms)
		return;

	for (;;) {
		if (vb2m_step(vb, &left))
			stalls = 0;
		else
			stalls++;
		reached = vb2m_initial_reached(vb);
		if (reached || stalls >= VB2M_PROBE_STALLS ||
		    time_after(jiffies, deadline) || fatal_signal_pending(current))
			break;
		if (stalls)
			msleep(VB2M_RETRY_MS);
	}

	if (reached) {
		dev_info(&vb->vdev->dev,
			 "initial target reached: %lu MiB in %lld ms (%lu 2 MiB blocks, %lu 4 KiB pages)\n",
			 vb2m_size(vb) >> (20 - PAGE_SHIFT), vb->initial_ms,
			 vb->nr_blocks, vb->nr_pages);
	} else {
		dev_info(&vb->vdev->dev,
			 "initial inflate stopped after %lld ms at %lu of %u MiB; continuing in the background\n",
			 ktime_ms_delta(ktime_get(), vb->probe_start),
			 vb2m_size(vb) >> (20 - PAGE_SHIFT),
			 vb->initial_target >> (20 - PAGE_SHIFT));
	}
}

static int vb2m_oom_notify(struct notifier_block *nb, unsigned long dummy,
			   void *parm)
{
	struct vb2m *vb = container_of(nb, struct vb2m, oom_nb);
	unsigned long *freed = parm;
	unsigned long done;

	/*
	 * One block, or 1 MiB of 4 KiB pages, per call, in a one-page
	 * message: vb2m_tell_host() then allocates nothing.
	 */
	mutex_lock(&vb->lock);
	done = vb2m_leak_locked(vb, vb->nr_blocks ? VB2M_BLOCK_PAGES :
				VB2M_OOM_PAGES, VB2M_PFNS_PER_BUF);
	vb->oom_pages += done;
	mutex_unlock(&vb->lock);
	*freed += done;
	return NOTIFY_OK;
}

static void vb2m_set_stat(struct vb2m *vb, unsigned int *idx, u16 tag, u64 val)
{
	vb->stats[*idx].tag = cpu_to_virtio16(vb->vdev, tag);
	vb->stats[*idx].val = cpu_to_virtio64(vb->vdev, val);
	(*idx)++;
}

#define pages_to_bytes(x)	((u64)(x) << PAGE_SHIFT)

/* The statistics every host and guest since Linux 4.x know, as virtio_balloon. */
static unsigned int vb2m_update_stats(struct vb2m *vb)
{
	unsigned int idx = 0;
	struct sysinfo i;
#ifdef CONFIG_VM_EVENT_COUNTERS
	unsigned long events[NR_VM_EVENT_ITEMS];

	all_vm_events(events);
	vb2m_set_stat(vb, &idx, VIRTIO_BALLOON_S_SWAP_IN,
		      pages_to_bytes(events[PSWPIN]));
	vb2m_set_stat(vb, &idx, VIRTIO_BALLOON_S_SWAP_OUT,
		      pages_to_bytes(events[PSWPOUT]));
	vb2m_set_stat(vb, &idx, VIRTIO_BALLOON_S_MAJFLT, events[PGMAJFAULT]);
	vb2m_set_stat(vb, &idx, VIRTIO_BALLOON_S_MINFLT, events[PGFAULT]);
#ifdef CONFIG_HUGETLB_PAGE
	vb2m_set_stat(vb, &idx, VIRTIO_BALLOON_S_HTLB_PGALLOC,
		      events[HTLB_BUDDY_PGALLOC]);
	vb2m_set_stat(vb, &idx, VIRTIO_BALLOON_S_HTLB_PGFAIL,
		      events[HTLB_BUDDY_PGALLOC_FAIL]);
#endif
#endif
	si_meminfo(&i);
	vb2m_set_stat(vb, &idx, VIRTIO_BALLOON_S_MEMFREE,
		      pages_to_bytes(i.freeram));
	vb2m_set_stat(vb, &idx, VIRTIO_BALLOON_S_MEMTOT,
		      pages_to_bytes(i.totalram));
	vb2m_set_stat(vb, &idx, VIRTIO_BALLOON_S_AVAIL,
		      pages_to_bytes(si_mem_available()));
	vb2m_set_stat(vb, &idx, VIRTIO_BALLOON_S_CACHES,
		      pages_to_bytes(global_node_page_state(NR_FILE_PAGES)));
	return idx;
}

static int vb2m_send_stats(struct vb2m *vb)
{
	struct scatterlist sg;

	sg_init_one(&sg, vb->stats, sizeof(vb->stats[0]) * vb2m_update_stats(vb));
	return virtqueue_add_outbuf(vb->stats_vq, &sg, 1, vb, GFP_KERNEL);
}

/* The host returned the stats buffer: it wants fresh figures. */
static void vb2m_stats_request(struct virtqueue *vq)
{
	struct vb2m *vb = vq->vdev->priv;

	spin_lock(&vb->stop_lock);
	if (!vb->stop)
		queue_work(system_freezable_wq, &vb->stats_work);
	spin_unlock(&vb->stop_lock);
}

static void vb2m_stats_func(struct work_struct *work)
{
	struct vb2m *vb = container_of(work, struct vb2m, stats_work);
	unsigned int len;

	if (!virtqueue_get_buf(vb->stats_vq, &len))
		return;
	if (!vb2m_send_stats(vb))
		virtqueue_kick(vb->stats_vq);
}

static int vb2m_find_vqs(struct vb2m *vb, struct virtqueue *vqs[])
{
	bool stats = virtio_has_feature(vb->vdev, VIRTIO_BALLOON_F_STATS_VQ);
	unsigned int nvqs = stats ? VB2M_VQ_MAX : VB2M_VQ_STATS;
#ifdef VB2M_COMPAT_FIND_VQS_CALLBACKS
	/* Linux before 6.11: callbacks and names as two arrays. */
	vq_callback_t *callbacks[] = { vb2m_ack, vb2m_ack, vb2m_stats_request };
	static const char * const names[] = { "inflate", "deflate", "stats" };

	return virtio_find_vqs(vb->vdev, nvqs, vqs, callbacks, names, NULL);
#else
	struct virtqueue_info info[] = {
		[VB2M_VQ_INFLATE] = { "inflate", vb2m_ack },
		[VB2M_VQ_DEFLATE] = { "deflate", vb2m_ack },
		[VB2M_VQ_STATS] = { "stats", vb2m_stats_request },
	};

	return virtio_find_vqs(vb->vdev, nvqs, vqs, info, NULL);
#endif
}

static int vb2m_init_vqs(struct vb2m *vb)
{
	struct virtqueue *vqs[VB2M_VQ_MAX] = {};
	int err;

	err = vb2m_find_vqs(vb, vqs);
	if (err)
		return err;
	vb->inflate_vq = vqs[VB2M_VQ_INFLATE];
	vb->deflate_vq = vqs[VB2M_VQ_DEFLATE];
	vb->stats_vq = vqs[VB2M_VQ_STATS];
	if (vb->stats_vq) {
		/* Prime it so that the host can ask for stats. */
		err = vb2m_send_stats(vb);
		if (err) {
			vb->vdev->config->del_vqs(vb->vdev);
			return err;
		}
		virtqueue_kick(vb->stats_vq);
	}
	return 0;
}

static int vb2m_alloc_msg(struct vb2m *vb)
{
	unsigned int max = VB2M_MSG_BUFS;

	/*
	 * Every buffer may take a ring entry: without indirect descriptors,
	 * or when the indirect table cannot be allocated (vb2m_tell_host()).
	 */
	max = min(max, virtqueue_get_vring_size(vb->inflate_vq));
	max = min(max, virtqueue_get_vring_size(vb->deflate_vq));
	for (vb->msg_bufs = 0; vb->msg_bufs < max; vb->msg_bufs++) {
		vb->msg[vb->msg_bufs] = alloc_page(GFP_KERNEL);
		if (!vb->msg[vb->msg_bufs])
			break;
	}
	return vb->msg_bufs ? 0 : -ENOMEM;
}

static void vb2m_free_msg(struct vb2m *vb)
{
	while (vb->msg_bufs)
		__free_page(vb->msg[--vb->msg_bufs]);
}

static int vb2m_show(struct seq_file *m, void *v)
{
	struct vb2m *vb = m->private;

	mutex_lock(&vb->lock);
	seq_printf(m, "target_pages %u\n", vb2m_target(vb));
	seq_printf(m, "actual_pages %lu\n", vb2m_size(vb));
	seq_printf(m, "blocks_2m %lu\n", vb->nr_blocks);
	seq_printf(m, "pages_4k %lu\n", vb->nr_pages);
	seq_printf(m, "fail_2m %lu\n", vb->fail_2m);
	seq_printf(m, "inflated_4k_total %lu\n", vb->inflated_4k);
	seq_printf(m, "inflate_msgs %lu\n", vb->inflate_msgs);
	seq_printf(m, "deflate_msgs %lu\n", vb->deflate_msgs);
	seq_printf(m, "oom_pages %lu\n", vb->oom_pages);
	seq_printf(m, "initial_target_pages %u\n", vb->initial_target);
	seq_printf(m, "initial_ms %lld\n", vb->initial_ms);
	seq_printf(m, "last_move_ms %lld\n", vb->last_move_ms);
	seq_printf(m, "last_rate_mib_s %lu\n", vb->last_rate);
	mutex_unlock(&vb->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vb2m);

/* Deflate completely, then stop the device. */
static void vb2m_remove_common(struct vb2m *vb)
{
	while (vb2m_size(vb)) {
		if (!vb2m_leak(vb, vb2m_size(vb))) {
			/* The host did not take the message: keep the pages. */
			dev_err(&vb->vdev->dev, "%lu pages left in the balloon\n",
				vb2m_size(vb));
			break;
		}
	}
	mutex_lock(&vb->lock);
	vb2m_update_actual(vb);
	mutex_unlock(&vb->lock);
	virtio_reset_device(vb->vdev);
	vb->vdev->config->del_vqs(vb->vdev);
}

static int vb2m_probe(struct virtio_device *vdev)
{
	struct vb2m *vb;
	int err;

	if (!vdev->config->get) {
		dev_err(&vdev->dev, "%s failure: config access disabled\n",
			__func__);
		return -EINVAL;
	}

	vb = kzalloc(sizeof(*vb), GFP_KERNEL);
	if (!vb)
		return -ENOMEM;
	vdev->priv = vb;
	vb->vdev = vdev;
	mutex_init(&vb->lock);
	INIT_LIST_HEAD(&vb->blocks);
	INIT_LIST_HEAD(&vb->pages);
	init_waitqueue_head(&vb->acked);
	spin_lock_init(&vb->stop_lock);
	kthread_init_delayed_work(&vb->size_work, vb2m_size_func);
	INIT_WORK(&vb->stats_work, vb2m_stats_func);
	vb->initial_ms = -1;
	vb->last_move_ms = -1;
	vb->probe_start = ktime_get();

	vb->worker = kthread_create_worker(KTW_FREEZABLE, "vb2m/%s",
					   dev_name(&vdev->dev));
	if (IS_ERR(vb->worker)) {
		err = PTR_ERR(vb->worker);
		goto out_free;
	}
	sched_set_normal(vb->worker->task, READ_ONCE(resize_nice));

	err = vb2m_init_vqs(vb);
	if (err)
		goto out_destroy_worker;
	err = vb2m_alloc_msg(vb);
	if (err)
		goto out_del_vqs;

	if (virtio_has_feature(vdev, VIRTIO_BALLOON_F_DEFLATE_ON_OOM)) {
		vb->oom_nb.notifier_call = vb2m_oom_notify;
		vb->oom_nb.priority = VB2M_OOM_PRIORITY;
		err = register_oom_notifier(&vb->oom_nb);
		if (err)
			goto out_free_msg;
	}

	virtio_device_ready(vdev);
	vb2m_initial_inflate(vb);
	vb->debugfs = debugfs_create_file(dev_name(&vdev->dev), 0444,
					  vb2m_debugfs_root, vb, &vb2m_fops);
	/*
	 * Whatever is left, and later changes, in the background.  Until
	 * now probe alone moved the balloon: the virtio core holds a config
	 * change back until probe returns, then delivers it.
	 */
	vb2m_changed(vdev);
	return 0;

out_free_msg:
	vb2m_free_msg(vb);
out_del_vqs:
	vdev->config->del_vqs(vdev);
out_destroy_worker:
	kthread_destroy_worker(vb->worker);
out_free:
	kfree(vb);
	return err;
}

static void vb2m_stop(struct vb2m *vb)
{
	spin_lock_irq(&vb->stop_lock);
	vb->stop = true;
	spin_unlock_irq(&vb->stop_lock);
	kthread_cancel_delayed_work_sync(&vb->size_work);
	cancel_work_sync(&vb->stats_work);
}

static void vb2m_remove(struct virtio_device *vdev)
{
	struct vb2m *vb = vdev->priv;

	if (virtio_has_feature(vdev, VIRTIO_BALLOON_F_DEFLATE_ON_OOM))
		unregister_oom_notifier(&vb->oom_nb);
	vb2m_stop(vb);
	kthread_destroy_worker(vb->worker);
	debugfs_remove(vb->debugfs);
	vb2m_remove_common(vb);
	vb2m_free_msg(vb);
	kfree(vb);
}

#ifdef CONFIG_PM_SLEEP
static int vb2m_freeze(struct virtio_device *vdev)
{
	/* The PM core froze the worker already; the vqs go away. */
	if (virtio_has_feature(vdev, VIRTIO_BALLOON_F_DEFLATE_ON_OOM))
		unregister_oom_notifier(&((struct vb2m *)vdev->priv)->oom_nb);
	vb2m_remove_common(vdev->priv);
	return 0;
}

static int vb2m_restore(struct virtio_device *vdev)
{
	struct vb2m *vb = vdev->priv;
	int err;

	err = vb2m_init_vqs(vb);
	if (err)
		return err;
	if (virtio_has_feature(vdev, VIRTIO_BALLOON_F_DEFLATE_ON_OOM)) {
		err = register_oom_notifier(&vb->oom_nb);
		if (err) {
			vdev->config->del_vqs(vdev);
			return err;
		}
	}
	virtio_device_ready(vdev);
	mutex_lock(&vb->lock);
	vb2m_update_actual(vb);
	mutex_unlock(&vb->lock);
	vb2m_changed(vdev);
	return 0;
}
#endif

static int vb2m_validate(struct virtio_device *vdev)
{
	/* PFNs are guest-physical: the balloon bypasses the DMA API. */
	__virtio_clear_bit(vdev, VIRTIO_F_ACCESS_PLATFORM);
	return 0;
}

static const struct virtio_device_id id_table[] = {
	{ VIRTIO_ID_BALLOON, VIRTIO_DEV_ANY_ID },
	{ 0 },
};

static unsigned int features[] = {
	VIRTIO_BALLOON_F_MUST_TELL_HOST,
	VIRTIO_BALLOON_F_STATS_VQ,
	VIRTIO_BALLOON_F_DEFLATE_ON_OOM,
};

static struct virtio_driver vb2m_driver = {
	.feature_table		= features,
	.feature_table_size	= ARRAY_SIZE(features),
	.driver.name		= KBUILD_MODNAME,
	.id_table		= id_table,
	.validate		= vb2m_validate,
	.probe			= vb2m_probe,
	.remove			= vb2m_remove,
	.config_changed		= vb2m_changed,
#ifdef CONFIG_PM_SLEEP
	.freeze			= vb2m_freeze,
	.restore		= vb2m_restore,
#endif
};

/*
 * The driver core never probes a bound device, so a balloon that another
 * driver (virtio_balloon) holds is left alone; say how to move it.
 */
static int vb2m_check_bound(struct device *dev, void *data)
{
	struct virtio_device *vdev = dev_to_virtio(dev);
	struct device_driver *drv = READ_ONCE(dev->driver);

	if (vdev->id.device == VIRTIO_ID_BALLOON && drv &&
	    drv != &vb2m_driver.driver)
		pr_err("%s is bound to %s; to switch: echo %s > /sys/bus/virtio/drivers/%s/unbind; echo %s > /sys/bus/virtio/drivers/%s/bind\n",
		       dev_name(dev), drv->name, dev_name(dev), drv->name,
		       dev_name(dev), KBUILD_MODNAME);
	return 0;
}

static int __init vb2m_init(void)
{
	int err;

	BUILD_BUG_ON(PAGE_SHIFT != VIRTIO_BALLOON_PFN_SHIFT);
	BUILD_BUG_ON(VB2M_MSG_PFNS % VB2M_BLOCK_PAGES);

	vb2m_debugfs_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
	err = register_virtio_driver(&vb2m_driver);
	if (err) {
		debugfs_remove(vb2m_debugfs_root);
		return err;
	}
	bus_for_each_dev(vb2m_driver.driver.bus, NULL, NULL, vb2m_check_bound);
	return 0;
}

static void __exit vb2m_exit(void)
{
	unregister_virtio_driver(&vb2m_driver);
	debugfs_remove(vb2m_debugfs_root);
}

/*
 * Built in: after the virtio bus (core_initcall) and PCI enumeration
 * (subsys_initcall), before virtio_pci registers (device_initcall), so the
 * balloon is probed, and inflated, as soon as virtio_pci finds it.  As a
 * module this is module_init().
 */
subsys_initcall_sync(vb2m_init);
module_exit(vb2m_exit);

MODULE_DEVICE_TABLE(virtio, id_table);
MODULE_DESCRIPTION("Virtio balloon driver inflating in 2 MiB blocks");
MODULE_LICENSE("GPL");
