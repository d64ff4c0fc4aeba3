// SPDX-License-Identifier: GPL-2.0
/*
 * vfio_defer_bench: what deferred VFIO type1 mapping (VFIO_DMA_MAP_FLAG_DEFER)
 * takes off a VM's start, against the plain map and against what a VMM can
 * do without it.
 *
 * Run in the test guest with QEMU's edu device bound to vfio-pci behind the
 * emulated IOMMU.  For each backing (anon: 4 KiB pages, THP off for the
 * range; hugetlb: 2 MiB pages from the pool) and each size, every run uses
 * a fresh, never-touched buffer (mmap anew), so pinning faults and zeroes
 * every page, as a VMM's map of fresh guest RAM does:
 *
 *   sync_map       one plain VFIO_IOMMU_MAP_DMA of the whole buffer
 *   defer_call     the VFIO_IOMMU_MAP_DMA call with VFIO_DMA_MAP_FLAG_DEFER,
 *                  the first deferred map of a fresh container (as at VM
 *                  start), with defer_workers=0 (one worker per CPU);
 *                  call_1wkr the same with 1 worker (on few vCPUs the
 *                  caller competes with its own workers to return)
 *   bg_done        from before that call until the background work is done
 *                  (its eventfd, VFIO_DEFER_SYNC_FLAG_EVENTFD, polled; a
 *                  FLAG_ALL sync would make the caller map chunks too), with
 *                  1 worker and with one per online CPU
 *   user_threads   the alternative without kernel help: T threads each call
 *                  a plain VFIO_IOMMU_MAP_DMA on 1/T of the range at once;
 *                  from their common start to the last return
 *   user_prefault  T threads touch (fault and zero) 1/T of the range each,
 *                  then one plain VFIO_IOMMU_MAP_DMA of the whole range;
 *                  both phases together
 *
 * and per backing, with the workers paused (debugfs defer_pause=1):
 *
 *   sync_2m        VFIO_IOMMU_DEFER_SYNC of one 2 MiB range of a deferred
 *                  mapping that nobody has mapped yet (a different chunk
 *                  each run): what a device access to an unmapped range
 *                  waits for
 *   map_2m         a plain VFIO_IOMMU_MAP_DMA of a fresh 2 MiB buffer
 *
 * Each figure is the median of -r runs, the runs of all figures of a size
 * interleaved.  Absolute times under TCG mean little; the ratios taken in
 * one run do.  The tables are followed by "RESULT <name> <value> <unit>"
 * lines.  Per-backing results are printed with a suffix (_anon, _hugetlb);
 * the unsuffixed name is anon's (a VM's default memory).  "A_vs_B x" is
 * B's time over A's: how many times faster A is.
 *
 * -P ("pin") measures only plain MAP_DMA and UNMAP_DMA of pre-faulted
 * hugetlb memory of each -m size (default 1024 MiB), so that only pinning
 * and IOMMU mapping is timed.  It uses nothing of the deferred mapping and
 * runs with any vfio_iommu_type1 (bench/vfio_pin_swap.sh runs it with the
 * stock module and with fastboot's).
 *
 * Knobs changed on the way (nr_hugepages, defer_workers, defer_pause) are
 * restored on every exit path, also after SIGINT, SIGTERM or SIGHUP.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "args.h"
#include "diag.h"
#include "edu.h"
#include "hugetlb.h"
#include "stats.h"
#include "sysfs.h"
#include "vfio.h"

#define PROG		"vfio_defer_bench"
#define IOVA_BASE	(1ULL << 32)
#define HPAGE		(2UL << 20)
#define MAX_RUNS	15
#define MAX_SIZES	8
#define MAX_THREADS	64
#define MAX_LIVE	4
/* Hang guards: background work that stops progressing, a missing signal. */
#define STALL_MS	(300 * 1000.0)
#define SIGNAL_LATE_MS	(30 * 1000.0)
#define POLL_MS		2000

#define WORKERS_PARAM	"/sys/module/vfio_iommu_type1/parameters/defer_workers"
#define PAUSE_KNOB	"/sys/kernel/debug/vfio_iommu_type1/defer_pause"

enum { ANON, HUGE, NR_BACKINGS };
static const char * const backing_name[NR_BACKINGS] = { "anon", "hugetlb" };

/* Worker configurations: the value written to defer_workers. */
enum { W1, WALL, NR_WCFG };
static const char * const wcfg_param[NR_WCFG] = { "1", "0" };

enum {
	SYNC_MAP, CALL_1, BG_1, CALL_ALL, BG_ALL, USER_THREADS, USER_PREFAULT,
	NR_FIGURES
};
enum { SYNC_2M, MAP_2M, NR_2M };

/* Everything cleanup() may have to undo. */
static struct {
	struct vfio_dev d;
	int efd;			/* eventfd, -1 */
	struct { void *p; size_t len; } live[MAX_LIVE];
	long saved_nr;			/* nr_hugepages to restore, or -1 */
	char saved_workers[32];		/* defer_workers to restore */
	bool workers_changed;
	bool pause_touched;		/* write 0 to defer_pause at exit */
} g = {
	.d = { .container = -1, .group = -1, .device = -1 },
	.efd = -1,
	.saved_nr = -1,
};

static long page_size;

/* Undo everything; idempotent.  0, or -1 if a knob could not be restored. */
static int cleanup(void)
{
	int i, ret, rc = 0;

	/* Closing the container stops its workers and unpins everything. */
	vfio_dev_close(&g.d);
	if (g.efd >= 0)
		close(g.efd);
	g.efd = -1;
	for (i = 0; i < MAX_LIVE; i++) {
		if (g.live[i].p)
			munmap(g.live[i].p, g.live[i].len);
		g.live[i].p = NULL;
	}
	if (g.pause_touched) {
		ret = sysfs_write_str(PAUSE_KNOB, "0");
		if (ret) {
			fprintf(stderr, PROG ": cannot restore %s to 0: %s\n",
				PAUSE_KNOB, strerror(-ret));
			rc = -1;
		}
		g.pause_touched = false;
	}
	if (g.workers_changed) {
		ret = sysfs_write_str(WORKERS_PARAM, g.saved_workers);
		if (ret) {
			fprintf(stderr, PROG ": cannot restore %s to %s: %s\n",
				WORKERS_PARAM, g.saved_workers, strerror(-ret));
			rc = -1;
		}
		g.workers_changed = false;
	}
	if (g.saved_nr >= 0) {
		ret = hugetlb_set_nr_pages(HPAGE, g.saved_nr);
		if (ret) {
			fprintf(stderr, PROG ": cannot restore nr_hugepages (2 MiB) to %ld: %s\n",
				g.saved_nr, strerror(-ret));
			rc = -1;
		}
		g.saved_nr = -1;
	}
	return rc;
}

/* "256m", "1g": the size in RESULT names. */
static void size_tag(char *buf, size_t len, unsigned long mib)
{
	if (mib % 1024)
		snprintf(buf, len, "%lum", mib);
	else
		snprintf(buf, len, "%lug", mib / 1024);
}

/* ---- buffers ---------------------------------------------------------- */

/* A fresh, untouched buffer of @len bytes of backing @b. */
static char *buf_get(size_t len, int b)
{
	void *p;
	int i;

	for (i = 0; i < MAX_LIVE && g.live[i].p; i++)
		;
	if (i == MAX_LIVE)
		die("internal error: too many live buffers");
	if (b == HUGE) {
		p = hugetlb_mmap(len / HPAGE, HPAGE, false);
		if (p == MAP_FAILED)
			die_err(errno, "mmap of %zu MiB of 2 MiB huge pages (free huge pages: %ld)",
				len >> 20, hugetlb_avail_pages(HPAGE));
	} else {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			die_err(errno, "mmap of %zu MiB of anonymous memory",
				len >> 20);
		/* 4 KiB pages, as the "anon" rows say, not THP */
		if (madvise(p, len, MADV_NOHUGEPAGE)) {
			int err = errno;

			munmap(p, len);
			die_err(err, "madvise(MADV_NOHUGEPAGE)");
		}
	}
	g.live[i].p = p;
	g.live[i].len = len;
	return p;
}

static void buf_put(char *p)
{
	int i;

	for (i = 0; i < MAX_LIVE && g.live[i].p != p; i++)
		;
	if (i == MAX_LIVE)
		die("internal error: unmapping an unknown buffer");
	if (munmap(p, g.live[i].len))
		die_err(errno, "munmap");
	g.live[i].p = NULL;
}

static size_t touch_stride(int b)
{
	return b == HUGE ? HPAGE : (size_t)page_size;
}

/* ---- VFIO ------------------------------------------------------------- */

static void unmap_all_of(uint64_t iova, size_t len)
{
	uint64_t unmapped = 0;
	int ret;

	ret = vfio_dma_unmap(&g.d, iova, len, &unmapped);
	if (ret)
		die_err(-ret, "VFIO_IOMMU_UNMAP_DMA of %zu MiB at iova 0x%llx",
			len >> 20, (unsigned long long)iova);
	if (unmapped != len)
		die("VFIO_IOMMU_UNMAP_DMA of %zu MiB at iova 0x%llx unmapped %llu bytes",
		    len >> 20, (unsigned long long)iova,
		    (unsigned long long)unmapped);
}

static int defer_sync(uint32_t flags, uint64_t iova, uint64_t size, int efd,
		      struct vfio_iommu_type1_defer_sync *out)
{
	struct vfio_iommu_type1_defer_sync s;

	memset(&s, 0, sizeof(s));
	s.argsz = sizeof(s);
	s.flags = flags;
	s.iova = iova;
	s.size = size;
	s.eventfd = efd;
	if (ioctl(g.d.container, VFIO_IOMMU_DEFER_SYNC, &s))
		return -errno;
	if (out)
		*out = s;
	return 0;
}

static void defer_query(struct vfio_iommu_type1_defer_sync *s)
{
	int ret = defer_sync(VFIO_DEFER_SYNC_FLAG_QUERY, 0, 0, 0, s);

	if (ret)
		die_err(-ret, "VFIO_IOMMU_DEFER_SYNC(QUERY)");
}

/* The deferred-map capability of VFIO_IOMMU_GET_INFO.  0 or -errno. */
static int defer_cap(struct vfio_iommu_type1_info_cap_defer_map *cap)
{
	struct vfio_iommu_type1_info *info, *bigger;
	struct vfio_info_cap_header *hdr;
	uint32_t argsz = sizeof(*info), off;
	int ret = -ENOENT;

	info = calloc(1, argsz);
	if (!info)
		return -ENOMEM;
	info->argsz = argsz;
	if (ioctl(g.d.container, VFIO_IOMMU_GET_INFO, info)) {
		ret = -errno;
		goto out;
	}
	if (info->argsz > argsz) {
		argsz = info->argsz;
		bigger = realloc(info, argsz);
		if (!bigger) {
			ret = -ENOMEM;
			goto out;
		}
		info = bigger;
		memset(info, 0, argsz);
		info->argsz = argsz;
		if (ioctl(g.d.container, VFIO_IOMMU_GET_INFO, info)) {
			ret = -errno;
			goto out;
		}
	}
	if (!(info->flags & VFIO_IOMMU_INFO_CAPS))
		goto out;
	for (off = info->cap_offset; off; off = hdr->next) {
		if (off < sizeof(*info) || off + sizeof(*hdr) > argsz) {
			ret = -EOVERFLOW;
			break;
		}
		hdr = (struct vfio_info_cap_header *)((char *)info + off);
		if (hdr->id == VFIO_IOMMU_TYPE1_INFO_CAP_DEFER_MAP) {
			if (off + sizeof(*cap) > argsz) {
				ret = -EOVERFLOW;
				break;
			}
			memcpy(cap, hdr, sizeof(*cap));
			ret = 0;
			break;
		}
		if (hdr->next && hdr->next <= off) {
			ret = -EINVAL;		/* a loop in the chain */
			break;
		}
	}
out:
	free(info);
	return ret;
}

static void dev_open(void)
{
	int ret = vfio_dev_open(&g.d, EDU_VENDOR, EDU_DEVICE);

	if (ret)
		die("edu device through vfio-pci: %s%s", g.d.err,
		    access("/sys/module/vfio_iommu_type1", F_OK) ?
		    " (vfio_iommu_type1 is not loaded)" : "");
}

/*
 * A fresh container (and group and device) for the next deferred map, with
 * defer_workers set to @cfg's value: the module reads it when a container
 * first maps deferred.  The eventfd is registered with the new container.
 */
static void reopen_with_workers(int cfg)
{
	int ret;

	ret = sysfs_write_str(WORKERS_PARAM, wcfg_param[cfg]);
	if (ret)
		die_err(-ret, "writing %s to %s", wcfg_param[cfg],
			WORKERS_PARAM);
	g.workers_changed = true;
	vfio_dev_close(&g.d);
	dev_open();
	ret = defer_sync(VFIO_DEFER_SYNC_FLAG_EVENTFD, 0, 0, g.efd, NULL);
	if (ret)
		die_err(-ret, "VFIO_IOMMU_DEFER_SYNC(EVENTFD)");
}

static void drain_eventfd(void)
{
	uint64_t v;

	if (read(g.efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		die_err(errno, "reading the eventfd");
}

/*
 * Wait until the deferred mapping of @len bytes (the only mapping of the
 * container) is pinned and mapped: the time the eventfd said so, in ms.
 */
static double wait_background(size_t len)
{
	struct vfio_iommu_type1_defer_sync s;
	double last_progress = now_ms(), complete_seen = -1, t;
	uint64_t last_mapped = 0;
	struct pollfd pfd;
	int n;

	for (;;) {
		pfd.fd = g.efd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		n = poll(&pfd, 1, POLL_MS);
		t = now_ms();
		if (n < 0) {
			if (errno != EINTR)
				die_err(errno, "poll on the eventfd");
			check_stop();
			continue;
		}
		if (n > 0) {
			if (pfd.revents & (POLLERR | POLLNVAL))
				die("poll on the eventfd: revents 0x%x",
				    pfd.revents);
			drain_eventfd();
		}
		defer_query(&s);
		if (s.error || s.failed)
			die_err(s.error ? (int)s.error : EIO,
				"background mapping failed (%llu bytes, first at iova 0x%llx)",
				(unsigned long long)s.failed,
				(unsigned long long)s.error_iova);
		if (s.deferred != len)
			die("the container has %llu bytes of deferred mappings, expected %zu (was the mapping deferred at all?)",
			    (unsigned long long)s.deferred, len);
		if (s.mapped == s.deferred) {
			/* Done: only a signal gives the time. */
			if (n > 0)
				return t;
			if (complete_seen < 0)
				complete_seen = t;
			else if (t - complete_seen > SIGNAL_LATE_MS)
				die("the background work is done but the eventfd was not signalled within %.0f s",
				    SIGNAL_LATE_MS / 1000);
			continue;
		}
		/* A stale signal, or progress so far: go on waiting. */
		if (s.mapped != last_mapped) {
			last_mapped = s.mapped;
			last_progress = t;
		} else if (t - last_progress > STALL_MS) {
			die("no background progress for %.0f s (%llu of %llu bytes mapped)",
			    STALL_MS / 1000, (unsigned long long)s.mapped,
			    (unsigned long long)s.deferred);
		}
		check_stop();
	}
}

/* ---- measurements ----------------------------------------------------- */

static double sync_map_ms(size_t len, int b)
{
	char *p = buf_get(len, b);
	double t0, t;
	int ret;

	t0 = now_ms();
	ret = vfio_dma_map_rw(&g.d, p, IOVA_BASE, len);
	t = now_ms() - t0;
	if (ret)
		die_err(-ret, "VFIO_IOMMU_MAP_DMA of %zu MiB (%s)", len >> 20,
			backing_name[b]);
	unmap_all_of(IOVA_BASE, len);
	buf_put(p);
	return t;
}

/*
 * The first deferred map of a fresh container with worker configuration
 * @cfg: the call's time and the time until the background is done, in ms.
 * *@workers gets the worker count the container reports.
 */
static void defer_ms(size_t len, int b, int cfg, double *call, double *bg,
		     unsigned int *workers)
{
	struct vfio_iommu_type1_info_cap_defer_map cap;
	char *p;
	double t0, t1;
	int ret;

	reopen_with_workers(cfg);
	p = buf_get(len, b);
	drain_eventfd();
	t0 = now_ms();
	ret = vfio_dma_map(&g.d, (uintptr_t)p, IOVA_BASE, len,
			   VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE |
			   VFIO_DMA_MAP_FLAG_DEFER);
	t1 = now_ms();
	if (ret)
		die_err(-ret, "VFIO_IOMMU_MAP_DMA(DEFER) of %zu MiB (%s)",
			len >> 20, backing_name[b]);
	*call = t1 - t0;
	*bg = wait_background(len) - t0;

	ret = defer_cap(&cap);
	if (ret)
		die_err(-ret, "VFIO_IOMMU_GET_INFO: deferred map capability");
	*workers = cap.workers;
	unmap_all_of(IOVA_BASE, len);
	buf_put(p);
}

enum { PART_MAP, PART_TOUCH };

struct part {
	pthread_t tid;
	pthread_barrier_t *start;
	int op;
	char *p;
	uint64_t iova;
	size_t len, stride;
	int err;			/* 0 or -errno */
};

static void *part_main(void *arg)
{
	struct part *pt = arg;
	size_t off;

	pthread_barrier_wait(pt->start);
	if (pt->op == PART_MAP) {
		pt->err = vfio_dma_map_rw(&g.d, pt->p, pt->iova, pt->len);
	} else {
		for (off = 0; off < pt->len; off += pt->stride)
			pt->p[off] = 1;
	}
	return NULL;
}

/*
 * Split [@p, @p + @len) (at IOVA_BASE) into @n parts on 2 MiB boundaries
 * and do @op on each in its own thread, all started at once.  Returns the
 * time the threads were released (ms); they have all finished on return.
 */
static double run_parts(int op, char *p, size_t len, size_t stride, int n)
{
	struct part pt[MAX_THREADS];
	pthread_barrier_t start;
	size_t chunks = len / HPAGE;
	double t0;
	int i, err;

	if ((size_t)n > chunks)
		n = chunks;
	err = pthread_barrier_init(&start, NULL, n + 1);
	if (err)
		die_err(err, "pthread_barrier_init");
	for (i = 0; i < n; i++) {
		size_t first = chunks * i / n, end = chunks * (i + 1) / n;

		memset(&pt[i], 0, sizeof(pt[i]));
		pt[i].start = &start;
		pt[i].op = op;
		pt[i].p = p + first * HPAGE;
		pt[i].iova = IOVA_BASE + first * HPAGE;
		pt[i].len = (end - first) * HPAGE;
		pt[i].stride = stride;
		err = pthread_create(&pt[i].tid, NULL, part_main, &pt[i]);
		if (err)
			die_err(err, "pthread_create (thread %d of %d)", i + 1, n);
	}
	t0 = now_ms();
	pthread_barrier_wait(&start);
	for (i = 0; i < n; i++) {
		err = pthread_join(pt[i].tid, NULL);
		if (err)
			die_err(err, "pthread_join");
	}
	pthread_barrier_destroy(&start);
	for (i = 0; i < n; i++)
		if (pt[i].err)
			die_err(-pt[i].err, "VFIO_IOMMU_MAP_DMA of part %d of %d (%zu MiB at iova 0x%llx) in its thread",
				i + 1, n, pt[i].len >> 20,
				(unsigned long long)pt[i].iova);
	return t0;
}

static double user_threads_ms(size_t len, int b, int nthreads)
{
	char *p = buf_get(len, b);
	double t0, t;

	t0 = run_parts(PART_MAP, p, len, 0, nthreads);
	t = now_ms() - t0;
	unmap_all_of(IOVA_BASE, len);	/* all parts at once */
	buf_put(p);
	return t;
}

static double user_prefault_ms(size_t len, int b, int nthreads)
{
	char *p = buf_get(len, b);
	double t0, t;
	int ret;

	t0 = run_parts(PART_TOUCH, p, len, touch_stride(b), nthreads);
	ret = vfio_dma_map_rw(&g.d, p, IOVA_BASE, len);
	t = now_ms() - t0;
	if (ret)
		die_err(-ret, "VFIO_IOMMU_MAP_DMA of %zu MiB prefaulted (%s)",
			len >> 20, backing_name[b]);
	unmap_all_of(IOVA_BASE, len);
	buf_put(p);
	return t;
}

/*
 * sync_2m and map_2m, @runs each, interleaved, in us.  The deferred mapping
 * is @qlen bytes at IOVA_BASE; run r syncs the chunk at (2r + 1) * @step,
 * so no two runs share a chunk or a neighbour.  The plain 2 MiB maps go
 * right after it.
 */
static void sync_2m_us(int b, int runs, size_t qlen, size_t step,
		       double v[NR_2M][MAX_RUNS])
{
	struct vfio_iommu_type1_defer_sync s;
	uint64_t iova, iova2m = IOVA_BASE + qlen;
	char *q, *m;
	double t0;
	int r, ret;

	ret = sysfs_write_str(PAUSE_KNOB, "1");
	if (ret)
		die_err(-ret, "writing 1 to %s", PAUSE_KNOB);
	g.pause_touched = true;

	q = buf_get(qlen, b);
	ret = vfio_dma_map(&g.d, (uintptr_t)q, IOVA_BASE, qlen,
			   VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE |
			   VFIO_DMA_MAP_FLAG_DEFER);
	if (ret)
		die_err(-ret, "VFIO_IOMMU_MAP_DMA(DEFER) of %zu MiB (%s)",
			qlen >> 20, backing_name[b]);

	for (r = 0; r < runs; r++) {
		check_stop();
		/* Nothing but our own syncs may have mapped anything. */
		defer_query(&s);
		if (s.deferred != qlen)
			die("the container has %llu bytes of deferred mappings, expected %zu (was the mapping deferred at all?)",
			    (unsigned long long)s.deferred, qlen);
		if (s.mapped != r * step)
			die("with defer_pause=1, %llu of %llu deferred bytes are mapped, expected %zu: the workers did not pause",
			    (unsigned long long)s.mapped,
			    (unsigned long long)s.deferred, r * step);

		iova = IOVA_BASE + (2 * r + 1) * step;
		t0 = now_ms();
		while ((ret = defer_sync(0, iova, HPAGE, 0, NULL)) == -EINTR)
			check_stop();
		v[SYNC_2M][r] = (now_ms() - t0) * 1000;
		if (ret)
			die_err(-ret, "VFIO_IOMMU_DEFER_SYNC of 2 MiB at iova 0x%llx (%s)",
				(unsigned long long)iova, backing_name[b]);

		m = buf_get(HPAGE, b);
		t0 = now_ms();
		ret = vfio_dma_map_rw(&g.d, m, iova2m, HPAGE);
		v[MAP_2M][r] = (now_ms() - t0) * 1000;
		if (ret)
			die_err(-ret, "VFIO_IOMMU_MAP_DMA of 2 MiB (%s)",
				backing_name[b]);
		unmap_all_of(iova2m, HPAGE);
		buf_put(m);
	}

	unmap_all_of(IOVA_BASE, qlen);
	buf_put(q);
	ret = sysfs_write_str(PAUSE_KNOB, "0");
	if (ret)
		die_err(-ret, "writing 0 to %s", PAUSE_KNOB);
	g.pause_touched = false;
}

/* ---- the two modes ---------------------------------------------------- */

static void grow_pool(size_t bytes)
{
	long need = bytes / HPAGE, saved;
	int ret;

	if (!hugetlb_size_supported(HPAGE))
		die("no 2 MiB hugetlb pool (CONFIG_HUGETLBFS)");
	ret = hugetlb_ensure_avail(HPAGE, need, &saved);
	if (ret)
		die_err(-ret, "cannot get %ld free 2 MiB huge pages (%ld available); use smaller -m sizes",
			need, hugetlb_avail_pages(HPAGE));
	if (g.saved_nr < 0)
		g.saved_nr = saved;
}

static void restore_pool(void)
{
	int ret;

	if (g.saved_nr < 0)
		return;
	ret = hugetlb_set_nr_pages(HPAGE, g.saved_nr);
	if (ret)
		die_err(-ret, "restoring nr_hugepages (2 MiB) to %ld", g.saved_nr);
	g.saved_nr = -1;
}

static void check_iova(size_t len)
{
	if (!vfio_iova_valid(&g.d, IOVA_BASE, len))
		die("iova 0x%llx + %zu MiB is outside the IOMMU's usable ranges",
		    IOVA_BASE, len >> 20);
}

/* -P: plain map and unmap of pre-faulted hugetlb memory. */
static int pin_main(const unsigned long *mib, int nsizes, int runs)
{
	double v[2][MAX_RUNS], res[MAX_SIZES][2];
	size_t len, maxlen = 0, off;
	char tag[24];
	double t0;
	char *p;
	int i, r, ret, ext;

	for (i = 0; i < nsizes; i++)
		maxlen = (mib[i] << 20) > maxlen ? mib[i] << 20 : maxlen;
	dev_open();
	check_iova(maxlen);
	ext = ioctl(g.d.container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_DEFER_MAP);
	grow_pool(maxlen);

	for (i = 0; i < nsizes; i++) {
		len = mib[i] << 20;
		p = buf_get(len, HUGE);
		for (off = 0; off < len; off += HPAGE)
			p[off] = 1;
		for (r = 0; r < runs; r++) {
			check_stop();
			t0 = now_ms();
			ret = vfio_dma_map_rw(&g.d, p, IOVA_BASE, len);
			v[0][r] = now_ms() - t0;
			if (ret)
				die_err(-ret, "VFIO_IOMMU_MAP_DMA of %zu MiB (hugetlb, populated)",
					len >> 20);
			t0 = now_ms();
			unmap_all_of(IOVA_BASE, len);
			v[1][r] = now_ms() - t0;
		}
		buf_put(p);
		res[i][0] = median(v[0], runs);
		res[i][1] = median(v[1], runs);
	}
	restore_pool();

	printf("Pinning and mapping populated 2 MiB huge pages (vfio_iommu_type1 %s deferred mapping), median of %d runs (ms)\n\n",
	       ext > 0 ? "with" : "without", runs);
	printf("%-8s %10s %10s\n", "MiB", "map", "unmap");
	for (i = 0; i < nsizes; i++)
		printf("%-8lu %10.1f %10.1f\n", mib[i], res[i][0], res[i][1]);
	printf("\n");
	for (i = 0; i < nsizes; i++) {
		size_tag(tag, sizeof(tag), mib[i]);
		printf("RESULT vfio_pin_map_%s_ms %.1f ms\n", tag, res[i][0]);
		printf("RESULT vfio_pin_unmap_%s_ms %.1f ms\n", tag, res[i][1]);
	}
	return cleanup() ? 1 : 0;
}

static void result(const char *name, int b, int prec, double v,
		   const char *unit)
{
	printf("RESULT %s%s%s %.*f %s\n", name, b < 0 ? "" : "_",
	       b < 0 ? "" : backing_name[b], prec, v, unit);
}

/* Print @name for each measured backing, and unsuffixed for anon. */
static void result_each(const char *name, const bool *have,
			const double *v, int prec, const char *unit)
{
	int b;

	if (have[ANON])
		result(name, -1, prec, v[ANON], unit);
	for (b = 0; b < NR_BACKINGS; b++)
		if (have[b])
			result(name, b, prec, v[b], unit);
}

static int cmp_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a;
	unsigned long y = *(const unsigned long *)b;

	return (x > y) - (x < y);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [-m MiB[,MiB...]] [-r runs] [-b anon|hugetlb|both] [-t threads]\n"
		"       " PROG " -P [-m MiB[,MiB...]] [-r runs]\n"
		"  -m  sizes (default 64,256,1024 and 3/4 of MemAvailable in 256 MiB steps;\n"
		"      with -P 1024)\n"
		"  -r  runs per figure, median reported (default 3, at most %d)\n"
		"  -b  backing: 4 KiB anonymous pages, 2 MiB hugetlb pages, or both (default)\n"
		"  -t  threads of the user-space alternatives (default: online CPUs, at most %d)\n"
		"  -P  only plain MAP_DMA + UNMAP_DMA of populated hugetlb memory\n"
		"  -h  this help\n", MAX_RUNS, MAX_THREADS);
}

int main(int argc, char **argv)
{
	static double fig[NR_BACKINGS][MAX_SIZES][NR_FIGURES][MAX_RUNS];
	static double res[NR_BACKINGS][MAX_SIZES][NR_FIGURES];
	double v2m[NR_BACKINGS][NR_2M][MAX_RUNS], res2m[NR_BACKINGS][NR_2M];
	unsigned long mib[MAX_SIZES];
	unsigned int workers[NR_WCFG] = { 0, 0 }, w;
	struct vfio_iommu_type1_info_cap_defer_map cap;
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	bool have[NR_BACKINGS] = { true, true }, pin = false, opt_bt = false;
	int nsizes = 0, runs = 3, nthreads, ncpu, opt, b, i, j, r, f, ret;
	int order[NR_BACKINGS] = { HUGE, ANON }, i1g = -1, ilast;
	size_t qlen, step, maxlen;
	char buf[32];
	long kb;

	page_size = sysconf(_SC_PAGESIZE);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1 || page_size <= 0)
		die("sysconf: no CPU count or page size");
	nthreads = ncpu < MAX_THREADS ? ncpu : MAX_THREADS;

	while ((opt = getopt(argc, argv, "m:r:b:t:Ph")) != -1) {
		switch (opt) {
		case 'm':
			nsizes = parse_mib_list(optarg, mib, MAX_SIZES);
			if (nsizes < 0)
				goto bad;
			break;
		case 'r':
			runs = atoi(optarg);
			if (runs < 1 || runs > MAX_RUNS)
				goto bad;
			break;
		case 'b':
			if (!strcmp(optarg, "anon"))
				have[HUGE] = false;
			else if (!strcmp(optarg, "hugetlb"))
				have[ANON] = false;
			else if (strcmp(optarg, "both"))
				goto bad;
			opt_bt = true;
			break;
		case 't':
			nthreads = atoi(optarg);
			if (nthreads < 1 || nthreads > MAX_THREADS)
				goto bad;
			opt_bt = true;
			break;
		case 'P':
			pin = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind != argc || (pin && opt_bt))
		goto bad;

	/* Sizes: ascending, whole 2 MiB pages, no duplicates. */
	if (!nsizes) {
		mib[nsizes++] = 1024;
		if (!pin) {
			mib[0] = 64;
			mib[nsizes++] = 256;
			mib[nsizes++] = 1024;
			kb = proc_field_kb("/proc/meminfo", "MemAvailable");
			if (kb < 0)
				die_err(-kb, "MemAvailable in /proc/meminfo");
			kb = kb / 1024 * 3 / 4 / 256 * 256;
			if (kb > 1024)
				mib[nsizes++] = kb;
		}
	}
	for (i = 0; i < nsizes; i++) {
		if (mib[i] < 2 || mib[i] > (1UL << 30))
			die("size %lu MiB: must be from 2 MiB to 1 PiB", mib[i]);
		mib[i] &= ~1UL;
	}
	qsort(mib, nsizes, sizeof(mib[0]), cmp_ulong);
	for (i = j = 0; i < nsizes; i++)
		if (!j || mib[i] != mib[j - 1])
			mib[j++] = mib[i];
	nsizes = j;
	maxlen = mib[nsizes - 1] << 20;

	diag_init(PROG, cleanup);
	/* Root has CAP_IPC_LOCK anyway; this is for anyone else. */
	if (setrlimit(RLIMIT_MEMLOCK, &unlimited))
		warn("cannot lift RLIMIT_MEMLOCK (%s); large maps may fail with ENOMEM",
		     strerror(errno));

	if (pin)
		return pin_main(mib, nsizes, runs);

	/* What the deferred mapping needs, checked before anything changes. */
	dev_open();
	ret = ioctl(g.d.container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_DEFER_MAP);
	if (ret != 1)
		die("this vfio_iommu_type1 has no deferred mapping (VFIO_CHECK_EXTENSION(VFIO_TYPE1_DEFER_MAP) = %d)",
		    ret);
	ret = defer_cap(&cap);
	if (ret)
		die_err(-ret, "VFIO_IOMMU_GET_INFO: no deferred map capability");
	if (!cap.chunk_size || (cap.chunk_size & (cap.chunk_size - 1)))
		die("deferred map capability: bad chunk_size %llu",
		    (unsigned long long)cap.chunk_size);
	if (cap.chunk_size != HPAGE)
		warn("chunk_size is %llu KiB, not 2 MiB; sync_2m still syncs 2 MiB",
		     (unsigned long long)cap.chunk_size >> 10);
	ret = sysfs_read_str(WORKERS_PARAM, g.saved_workers,
			     sizeof(g.saved_workers));
	if (ret)
		die_err(-ret, "%s", WORKERS_PARAM);
	ret = sysfs_read_str(PAUSE_KNOB, buf, sizeof(buf));
	if (ret)
		die_err(-ret, "%s (debugfs mounted? CONFIG_DEBUG_FS?)", PAUSE_KNOB);
	if (strcmp(buf, "0")) {
		warn("%s was %s; setting it to 0", PAUSE_KNOB, buf);
		ret = sysfs_write_str(PAUSE_KNOB, "0");
		if (ret)
			die_err(-ret, "writing 0 to %s", PAUSE_KNOB);
	}
	g.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (g.efd < 0)
		die_err(errno, "eventfd");

	/* sync_2m: chunks 1, 3, 5, ... of a deferred mapping, 2 MiB after it. */
	step = cap.chunk_size > HPAGE ? cap.chunk_size : HPAGE;
	qlen = (2 * runs + 1) * step;
	qlen = qlen < (64UL << 20) ? 64UL << 20 : qlen;
	check_iova(maxlen > qlen + HPAGE ? maxlen : qlen + HPAGE);

	for (i = 0; i < nsizes; i++)
		if (mib[i] == 1024)
			i1g = i;
	ilast = nsizes - 1;

	/* hugetlb first: the pool grows from memory nothing has fragmented. */
	for (j = 0; j < NR_BACKINGS; j++) {
		b = order[j];
		if (!have[b])
			continue;
		if (b == HUGE)
			grow_pool(maxlen > qlen + HPAGE ? maxlen : qlen + HPAGE);
		for (i = 0; i < nsizes; i++) {
			size_t len = mib[i] << 20;

			for (r = 0; r < runs; r++) {
				check_stop();
				fig[b][i][SYNC_MAP][r] = sync_map_ms(len, b);
				check_stop();
				defer_ms(len, b, W1, &fig[b][i][CALL_1][r],
					 &fig[b][i][BG_1][r], &w);
				if (w != 1 && workers[W1] != w)
					warn("defer_workers=1, but the container reports %u workers",
					     w);
				workers[W1] = w;
				check_stop();
				defer_ms(len, b, WALL, &fig[b][i][CALL_ALL][r],
					 &fig[b][i][BG_ALL][r], &w);
				if (w != (unsigned int)ncpu && workers[WALL] != w)
					warn("defer_workers=0, but the container reports %u workers for %d CPUs",
					     w, ncpu);
				workers[WALL] = w;
				check_stop();
				fig[b][i][USER_THREADS][r] =
					user_threads_ms(len, b, nthreads);
				check_stop();
				fig[b][i][USER_PREFAULT][r] =
					user_prefault_ms(len, b, nthreads);
			}
			for (f = 0; f < NR_FIGURES; f++)
				res[b][i][f] = median(fig[b][i][f], runs);
		}
		sync_2m_us(b, runs, qlen, step, v2m[b]);
		for (f = 0; f < NR_2M; f++)
			res2m[b][f] = median(v2m[b][f], runs);
		if (b == HUGE)
			restore_pool();
	}

	printf("Deferred VFIO mapping, fresh untouched memory, median of %d runs (ms)\n",
	       runs);
	printf("defer_call: the call, %u workers (call_1wkr: 1 worker); bg: until the background is done;\n",
	       workers[WALL]);
	printf("user_*: %d threads; %d CPUs; chunk %llu KiB, batch %llu MiB\n\n",
	       nthreads, ncpu, (unsigned long long)cap.chunk_size >> 10,
	       (unsigned long long)cap.batch_size >> 20);
	printf("%-8s %6s %10s %11s %9s %10s %10s %10s %12s %13s\n", "backing",
	       "MiB", "sync_map", "defer_call", "(% sync)", "call_1wkr",
	       "bg_1wkr", "bg_all", "user_threads", "user_prefault");
	for (b = 0; b < NR_BACKINGS; b++) {
		if (!have[b])
			continue;
		for (i = 0; i < nsizes; i++) {
			double *x = res[b][i];

			printf("%-8s %6lu %10.1f %11.3f %8.4f%% %10.3f %10.1f %10.1f %12.1f %13.1f\n",
			       backing_name[b], mib[i], x[SYNC_MAP], x[CALL_ALL],
			       100 * x[CALL_ALL] / x[SYNC_MAP], x[CALL_1],
			       x[BG_1], x[BG_ALL], x[USER_THREADS],
			       x[USER_PREFAULT]);
		}
	}
	printf("\nTimes faster than sync_map (x)\n\n");
	printf("%-8s %6s %10s %10s %10s %12s %13s\n", "backing", "MiB",
	       "defer_call", "bg_1wkr", "bg_all", "user_threads",
	       "user_prefault");
	for (b = 0; b < NR_BACKINGS; b++) {
		if (!have[b])
			continue;
		for (i = 0; i < nsizes; i++) {
			double *x = res[b][i];

			printf("%-8s %6lu %10.0f %10.3f %10.3f %12.3f %13.3f\n",
			       backing_name[b], mib[i],
			       x[SYNC_MAP] / x[CALL_ALL],
			       x[SYNC_MAP] / x[BG_1], x[SYNC_MAP] / x[BG_ALL],
			       x[SYNC_MAP] / x[USER_THREADS],
			       x[SYNC_MAP] / x[USER_PREFAULT]);
		}
	}
	printf("\n2 MiB that a device needs now, workers paused, median of %d runs (us)\n\n",
	       runs);
	printf("%-8s %10s %10s %15s\n", "backing", "sync_2m", "map_2m",
	       "map_2m/sync_2m");
	for (b = 0; b < NR_BACKINGS; b++)
		if (have[b])
			printf("%-8s %10.1f %10.1f %14.3fx\n", backing_name[b],
			       res2m[b][SYNC_2M], res2m[b][MAP_2M],
			       res2m[b][MAP_2M] / res2m[b][SYNC_2M]);
	printf("\n");

	{
		double pct[NR_BACKINGS], flat[NR_BACKINGS], bgall[NR_BACKINGS];
		double bg1[NR_BACKINGS], ut[NR_BACKINGS], up[NR_BACKINGS];
		double s2m[NR_BACKINGS], m2m[NR_BACKINGS], s2r[NR_BACKINGS];

		for (b = 0; b < NR_BACKINGS; b++) {
			double *big = res[b][ilast];

			if (!have[b])
				continue;
			pct[b] = i1g < 0 ? 0 : 100 * res[b][i1g][CALL_ALL] /
						 res[b][i1g][SYNC_MAP];
			flat[b] = big[CALL_ALL] / res[b][0][CALL_ALL];
			bgall[b] = big[SYNC_MAP] / big[BG_ALL];
			bg1[b] = big[SYNC_MAP] / big[BG_1];
			ut[b] = big[SYNC_MAP] / big[USER_THREADS];
			up[b] = big[SYNC_MAP] / big[USER_PREFAULT];
			s2m[b] = res2m[b][SYNC_2M];
			m2m[b] = res2m[b][MAP_2M];
			s2r[b] = m2m[b] / s2m[b];
		}
		if (i1g >= 0)
			result_each("vfio_defer_map_1g_pct_of_sync", have, pct,
				    4, "%");
		else
			warn("1024 MiB not measured: no vfio_defer_map_1g_pct_of_sync");
		result_each("vfio_defer_map_flatness", have, flat, 3, "x");
		result_each("vfio_background_allcpu_vs_sync", have, bgall, 3, "x");
		result_each("vfio_background_1cpu_vs_sync", have, bg1, 3, "x");
		result_each("vfio_user_threads_vs_sync", have, ut, 3, "x");
		result_each("vfio_user_prefault_vs_sync", have, up, 3, "x");
		result_each("vfio_sync_2m_us", have, s2m, 1, "us");
		result_each("vfio_map_2m_us", have, m2m, 1, "us");
		result_each("vfio_sync_2m_vs_map_2m", have, s2r, 3, "x");
		printf("RESULT vfio_defer_largest_mib %lu MiB\n", mib[ilast]);
		printf("RESULT vfio_defer_workers_all %u workers\n",
		       workers[WALL]);
		printf("RESULT vfio_user_threads %d threads\n", nthreads);
	}
	return cleanup() ? 1 : 0;
bad:
	usage(stderr);
	return 2;
}
