// SPDX-License-Identifier: GPL-2.0
/*
 * Deferred VFIO type1 mapping (extension VFIO_TYPE1_DEFER_MAP), checked
 * from the device side with QEMU's edu device behind the emulated VT-d
 * IOMMU.
 *
 * VFIO_DMA_MAP_FLAG_DEFER returns before anything is pinned; kernel
 * workers pin and map the range in the background, and
 * VFIO_IOMMU_DEFER_SYNC waits for (or does) the part the device is about
 * to use, reports progress, or arms an eventfd for when the work is done.
 * A bug here is silent for the caller: the device reads or writes the
 * wrong memory, a page stays pinned, or locked_vm drifts.  So every case
 * checks what the device sees, the FOLL_PIN counters of /proc/vmstat and
 * VmLck, and restores everything it changed:
 *
 *  - the extension and the GET_INFO capability;
 *  - sync then DMA: every byte of several deferred ranges reaches the
 *    device, and fresh pages read zero (also from the pre-zeroed pool);
 *  - with the workers paused (debugfs defer_pause) a deferred range really
 *    is not mapped, a sync maps exactly the chunks it covers, and the
 *    eventfd reports the end of the work once they run;
 *  - many chunk-sized syncs in random order, unmapping midway or while the
 *    workers run, a process killed while its range is mapped, a sync
 *    racing an unmap: pins and locked_vm always come back exactly;
 *  - locked_vm is charged once, at map time, and RLIMIT_MEMLOCK is
 *    enforced there;
 *  - bad arguments fail with the documented errno and change nothing;
 *  - a range whose memory disappears fails in the background with EFAULT,
 *    reported by QUERY and by the sync of that part only.
 *
 * Memory backings (variants): anonymous 4 KiB pages, hugetlb 2 MiB pages,
 * and hugetlb 2 MiB pages from the pre-zeroed pool (prezero = 1).
 *
 * Waits are bounded only to catch hangs (HANG_S), never timed.  A DMA to
 * an unmapped IOVA makes the guest kernel log a DMAR fault; that is
 * expected here.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <linux/magic.h>

#include "../kselftest_harness.h"
#include "vfio.h"
#include "edu.h"
#include "hugetlb.h"
#include "sysfs.h"

#define SZ_4K		0x1000UL
#define SZ_1M		0x100000UL
#define SZ_2M		0x200000UL
#define SZ_1G		0x40000000UL

/* The unit of background work and of a sync (the capability's chunk_size). */
#define CHUNK		SZ_2M
/* Bytes per edu transfer. */
#define DMA_LEN		EDU_DMA_MAX_LEN
/*
 * Scratch pages the device reads from and writes to, mapped (not deferred)
 * for the whole test, below 256 MiB like vfio_type1_test's.
 */
#define SCRATCH_IOVA	0x08000000ULL
#define SCRATCH_SIZE	(2 * SZ_4K)

#define BASE_SEED	0x6465666572ULL
/* Bound on every wait for the kernel: catches a hang, never a timing. */
#define HANG_S		120
/* Bound on waiting for FOLL_PIN counts to settle. */
#define PIN_WAIT_S	30
/* 2 MiB pages a hugetlb variant needs at most at once (256 MiB + slack). */
#define POOL_PAGES	136L
#define MAX_BUFS	8
/* killed_midway: free memory must come back to within this of its baseline. */
#define MEMFREE_SLACK_KB	(16 * 1024L)

#define PAUSE_KNOB	"/sys/kernel/debug/vfio_iommu_type1/defer_pause"

/* What every test works with; shared by both fixtures. */
struct ctx {
	pid_t owner;			/* the process that set it up */
	struct vfio_dev dev;
	bool hugetlb;
	char *sc;			/* SCRATCH_SIZE at SCRATCH_IOVA */
	struct vfio_iommu_type1_info_cap_defer_map cap;
	struct {
		char *p;
		size_t len;
	} bufs[MAX_BUFS];		/* test buffers, unmapped in teardown */
	int efd;			/* an eventfd, or -1 */
	long saved_nr;			/* 2 MiB pool size to restore, or -1 */
	long saved_prezero;		/* prezero to restore, or -1 */
	uint64_t seed;
};

/* QUERY's report as text, for TH_LOG(); a few calls' worth stay valid. */
static const char *qstr(const struct vfio_iommu_type1_defer_sync *q)
{
	static char buf[4][160];
	static unsigned int n;
	char *b = buf[n++ % 4];

	snprintf(b, sizeof(buf[0]),
		 "deferred %llu mapped %llu failed %llu error %u error_iova 0x%llx",
		 (unsigned long long)q->deferred, (unsigned long long)q->mapped,
		 (unsigned long long)q->failed, q->error,
		 (unsigned long long)q->error_iova);
	return b;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t next_seed(struct ctx *c)
{
	return BASE_SEED + (++c->seed << 24);
}

/* mm->locked_vm, where type1 charges pinned pages (kB). */
static long locked_vm_kb(void)
{
	return proc_field_kb("/proc/self/status", "VmLck");
}

static bool pause_present(void)
{
	return !access(PAUSE_KNOB, F_OK);
}

static int pause_set(bool on)
{
	return sysfs_write_str(PAUSE_KNOB, on ? "1" : "0");
}

/*
 * Whether the test can pause the workers.  SKIP (false) without debugfs;
 * with debugfs a kernel that has the extension must have the knob.
 */
static bool pause_usable(struct __test_metadata *_metadata)
{
	struct statfs st;

	if (pause_present())
		return true;
	if (statfs("/sys/kernel/debug", &st) || st.f_type != DEBUGFS_MAGIC)
		SKIP(return false, "debugfs is not mounted at /sys/kernel/debug");
	ASSERT_TRUE(pause_present())
		TH_LOG("no %s although the kernel has VFIO_TYPE1_DEFER_MAP",
		       PAUSE_KNOB);
	return false;
}

static void pause_on(struct __test_metadata *_metadata, bool on)
{
	int ret = pause_set(on);

	ASSERT_EQ(0, ret) TH_LOG("%s <- %d: %s", PAUSE_KNOB, on, strerror(-ret));
}

/*
 * Undo everything the fixture and the test changed.  Idempotent.
 *
 * The fixtures use FIXTURE_TEARDOWN_PARENT: 6.12's harness skips a plain
 * FIXTURE_TEARDOWN when an ASSERT fails in the test (its longjmp() back
 * into the wrapper loses the fork() result), so the pool, prezero and the
 * pause knob would stay changed.  The teardown then runs in the harness's
 * parent once the test process has exited (which released the device,
 * the pins and the buffers), or in the test process itself after a failed
 * ASSERT: what belongs to the test process is only undone there.
 */
static void ctx_cleanup(struct ctx *c)
{
	uint64_t unmapped;
	char val[32];
	int i;

	if (c->owner == getpid()) {
		if (c->dev.container >= 0)
			vfio_dma_unmap_all(&c->dev, &unmapped);
		vfio_dev_close(&c->dev);
		if (c->efd >= 0)
			close(c->efd);
		for (i = 0; i < MAX_BUFS; i++) {
			if (c->bufs[i].p)
				munmap(c->bufs[i].p, c->bufs[i].len);
		}
		if (c->sc)
			munmap(c->sc, SCRATCH_SIZE);
	}
	c->efd = -1;
	for (i = 0; i < MAX_BUFS; i++)
		c->bufs[i].p = NULL;
	c->sc = NULL;
	c->dev.container = -1;
	c->dev.group = -1;
	c->dev.device = -1;
	c->dev.bar0 = NULL;

	/* Always back to 0, whoever set it. */
	if (pause_present())
		pause_set(false);
	if (c->saved_prezero >= 0) {
		snprintf(val, sizeof(val), "%ld", c->saved_prezero);
		hugetlb_pool_write(SZ_2M, -1, "prezero", val);
	}
	c->saved_prezero = -1;
	if (c->saved_nr >= 0)
		hugetlb_set_nr_pages(SZ_2M, c->saved_nr);
	c->saved_nr = -1;
}

/* In setup, where teardown does not run on failure: clean up, then fail. */
#define SETUP_ASSERT(c, cond, fmt, ...) do {				\
	bool __ok = (cond);						\
									\
	if (!__ok) {							\
		ctx_cleanup(c);						\
		ASSERT_TRUE(__ok) TH_LOG(fmt, ##__VA_ARGS__);		\
	}								\
} while (0)

/* Open edu through VFIO and map the scratch pages.  0 or -errno. */
static int dev_open(struct ctx *c, const char **what)
{
	int ret;

	*what = c->dev.err;
	ret = vfio_dev_open(&c->dev, EDU_VENDOR, EDU_DEVICE);
	if (ret)
		return ret;
	*what = "mapping the scratch pages";
	return vfio_dma_map_rw(&c->dev, c->sc, SCRATCH_IOVA, SCRATCH_SIZE);
}

static void ctx_setup(struct __test_metadata *_metadata, struct ctx *c,
		      bool hugetlb, bool prezero)
{
	const char *what;
	long v;
	int ret;

	c->owner = getpid();
	c->dev.container = -1;
	c->dev.group = -1;
	c->dev.device = -1;
	c->efd = -1;
	c->saved_nr = -1;
	c->saved_prezero = -1;
	c->hugetlb = hugetlb;

	/* A test killed by its timeout could not put the knob back. */
	if (pause_present())
		pause_set(false);
	if (hugetlb && !hugetlb_size_supported(SZ_2M))
		SKIP(return, "no 2 MiB hugetlb pool");

	c->sc = mmap(NULL, SCRATCH_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->sc == MAP_FAILED)
		c->sc = NULL;
	ASSERT_NE(NULL, c->sc);
	memset(c->sc, 0, SCRATCH_SIZE);

	ret = dev_open(c, &what);
	if (ret == -ENODEV) {
		ctx_cleanup(c);
		SKIP(return, "edu device or VFIO not available: %s", what);
	}
	SETUP_ASSERT(c, !ret, "opening edu through VFIO: %s: %s", what,
		     strerror(-ret));
	ret = vfio_check_extension(&c->dev, VFIO_TYPE1_DEFER_MAP);
	if (!ret) {
		ctx_cleanup(c);
		SKIP(return, "kernel without VFIO_TYPE1_DEFER_MAP");
	}
	SETUP_ASSERT(c, ret == 1, "VFIO_CHECK_EXTENSION(VFIO_TYPE1_DEFER_MAP) = %d",
		     ret);
	ret = vfio_defer_cap(&c->dev, &c->cap);
	SETUP_ASSERT(c, !ret, "VFIO_IOMMU_TYPE1_INFO_CAP_DEFER_MAP: %s",
		     strerror(-ret));
	SETUP_ASSERT(c, c->cap.chunk_size == CHUNK,
		     "chunk_size %llu, the tests assume %lu",
		     (unsigned long long)c->cap.chunk_size, CHUNK);
	SETUP_ASSERT(c, vfio_iova_valid(&c->dev, SCRATCH_IOVA, SCRATCH_SIZE),
		     "scratch IOVA not usable");

	if (!hugetlb)
		return;
	if (prezero) {
		v = hugetlb_pool_read(SZ_2M, -1, "prezero");
		if (v >= 0) {
			c->saved_prezero = v;
			ret = hugetlb_pool_write(SZ_2M, -1, "prezero", "1");
			SETUP_ASSERT(c, !ret, "prezero <- 1: %s", strerror(-ret));
		} else {
			TH_LOG("no prezero knob (%s): plain hugetlb", strerror(-v));
		}
	}
	ret = hugetlb_ensure_avail(SZ_2M, POOL_PAGES, &c->saved_nr);
	if (ret == -ENOMEM) {
		ctx_cleanup(c);
		SKIP(return, "cannot get %ld free 2 MiB huge pages", POOL_PAGES);
	}
	SETUP_ASSERT(c, !ret, "growing the 2 MiB pool: %s", strerror(-ret));
}

/*
 * A buffer of the variant's backing, not touched: the pin faults it in.
 * Anonymous memory stays in 4 KiB pages (no THP).
 */
static char *buf_alloc(struct __test_metadata *_metadata, struct ctx *c,
		       size_t len)
{
	void *p;
	int i;

	for (i = 0; i < MAX_BUFS && c->bufs[i].p; i++)
		;
	ASSERT_GT(MAX_BUFS, i);
	if (c->hugetlb) {
		p = hugetlb_mmap(len / SZ_2M, SZ_2M, false);
	} else {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED && madvise(p, len, MADV_NOHUGEPAGE)) {
			munmap(p, len);
			p = MAP_FAILED;
		}
	}
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mapping %zu MiB of %s memory: %s",
					len >> 20, c->hugetlb ? "hugetlb" : "anonymous",
					strerror(errno));
	c->bufs[i].p = p;
	c->bufs[i].len = len;
	return p;
}

/* munmap() the end of buffer @p from @keep on. */
static void buf_trim(struct __test_metadata *_metadata, struct ctx *c,
		     char *p, size_t keep)
{
	int i;

	for (i = 0; i < MAX_BUFS && c->bufs[i].p != p; i++)
		;
	ASSERT_GT(MAX_BUFS, i);
	ASSERT_EQ(0, munmap(p + keep, c->bufs[i].len - keep));
	c->bufs[i].len = keep;
	if (!keep)
		c->bufs[i].p = NULL;
}

static void buf_free(struct __test_metadata *_metadata, struct ctx *c,
		     char *p)
{
	buf_trim(_metadata, c, p, 0);
}

static struct vfio_iommu_type1_defer_sync
query(struct __test_metadata *_metadata, struct ctx *c)
{
	struct vfio_iommu_type1_defer_sync q;
	int ret;

	memset(&q, 0, sizeof(q));
	ret = vfio_defer_query(&c->dev, &q);
	ASSERT_EQ(0, ret) TH_LOG("VFIO_IOMMU_DEFER_SYNC(QUERY): %s",
				 strerror(-ret));
	return q;
}

/* QUERY reports @deferred and @mapped bytes and no failure. */
static void expect_state(struct __test_metadata *_metadata, struct ctx *c,
			 uint64_t deferred, uint64_t mapped, const char *when)
{
	struct vfio_iommu_type1_defer_sync q = query(_metadata, c);

	EXPECT_EQ(deferred, q.deferred) TH_LOG("%s: %s", when, qstr(&q));
	EXPECT_EQ(mapped, q.mapped) TH_LOG("%s: %s", when, qstr(&q));
	EXPECT_EQ(0ULL, q.failed) TH_LOG("%s: %s", when, qstr(&q));
	EXPECT_EQ(0U, q.error) TH_LOG("%s: %s", when, qstr(&q));
}

static bool same_state(const struct vfio_iommu_type1_defer_sync *a,
		       const struct vfio_iommu_type1_defer_sync *b)
{
	return a->deferred == b->deferred && a->mapped == b->mapped &&
	       a->failed == b->failed && a->error == b->error &&
	       a->error_iova == b->error_iova;
}

/*
 * Pages pinned system-wide (FOLL_PIN) and not released.  Other tasks pin
 * pages for the length of an I/O (9p, O_DIRECT): the least of a few
 * samples leaves those out.
 */
static long long pins(struct __test_metadata *_metadata)
{
	long long n, least = -1;
	int i;

	for (i = 0; i < 5; i++) {
		if (i)
			usleep(20 * 1000);
		n = foll_pins_outstanding();
		ASSERT_LE(0, n) TH_LOG("nr_foll_pin_* in /proc/vmstat: %s",
				       strerror((int)-n));
		if (least < 0 || n < least)
			least = n;
	}
	return least;
}

/*
 * pins() comes to @expect (bounded by PIN_WAIT_S, which only rides out
 * other tasks' I/O).
 */
static void expect_pins(struct __test_metadata *_metadata, long long expect,
			const char *what)
{
	uint64_t end = now_ms() + PIN_WAIT_S * 1000ULL;
	long long n;

	do {
		n = pins(_metadata);
		if (n == expect)
			return;
		usleep(50 * 1000);
	} while (now_ms() < end);
	EXPECT_EQ(expect, n) TH_LOG("%s: %lld pages pinned, not %lld", what, n,
				    expect);
}

static void expect_unmap(struct __test_metadata *_metadata, struct ctx *c,
			 uint64_t iova, uint64_t size)
{
	uint64_t unmapped = ~0ULL;
	int ret;

	ret = vfio_dma_unmap(&c->dev, iova, size, &unmapped);
	ASSERT_EQ(0, ret) TH_LOG("unmap of 0x%llx+0x%llx: %s",
				 (unsigned long long)iova,
				 (unsigned long long)size, strerror(-ret));
	EXPECT_EQ(size, unmapped) TH_LOG("unmap of 0x%llx+0x%llx",
					 (unsigned long long)iova,
					 (unsigned long long)size);
}

/* The device reads @iova and gets what the CPU sees at @cpu. */
static void assert_reads(struct __test_metadata *_metadata, struct ctx *c,
			 uint64_t iova, char *cpu, const char *what)
{
	int ret = edu_check_mapped(c->dev.bar0, iova, cpu, DMA_LEN,
				   SCRATCH_IOVA, c->sc, next_seed(c));

	ASSERT_EQ(0, ret) TH_LOG("%s: device read of IOVA 0x%llx: %s", what,
				 (unsigned long long)iova,
				 ret == -EIO ? "wrong data" : strerror(-ret));
}

/* The device writes @iova and the bytes land at @cpu. */
static void assert_writes(struct __test_metadata *_metadata, struct ctx *c,
			  uint64_t iova, char *cpu, const char *what)
{
	int ret = edu_check_write(c->dev.bar0, iova, cpu, DMA_LEN,
				  SCRATCH_IOVA, c->sc, next_seed(c));

	ASSERT_EQ(0, ret) TH_LOG("%s: device write to IOVA 0x%llx: %s", what,
				 (unsigned long long)iova,
				 ret == -EIO ? "did not land" : strerror(-ret));
}

static void assert_rw(struct __test_metadata *_metadata, struct ctx *c,
		      uint64_t iova, char *cpu, const char *what)
{
	assert_reads(_metadata, c, iova, cpu, what);
	assert_writes(_metadata, c, iova, cpu, what);
}

/*
 * @iova reaches no memory: a device read of it returns nothing and, if
 * @cpu (the memory it would reach) is given, a device write to it leaves
 * @cpu unchanged.  @cpu is filled with data first, so that a read through
 * a mapping shows (fresh memory would read as zero, like a failed read).
 */
static void assert_not_mapped(struct __test_metadata *_metadata,
			      struct ctx *c, uint64_t iova, char *cpu,
			      const char *what)
{
	static char before[DMA_LEN];
	int ret;

	if (cpu)
		edu_fill_pattern(cpu, DMA_LEN, next_seed(c));
	ret = edu_check_unmapped(c->dev.bar0, iova, DMA_LEN, SCRATCH_IOVA,
				 c->sc, next_seed(c), NULL);
	ASSERT_EQ(0, ret) TH_LOG("%s: IOVA 0x%llx must not be mapped: %s", what,
				 (unsigned long long)iova,
				 ret == -EIO ? "the device read data through it" :
					       strerror(-ret));
	if (!cpu)
		return;
	memcpy(before, cpu, DMA_LEN);
	ret = edu_dma_write_pattern(c->dev.bar0, iova, DMA_LEN, SCRATCH_IOVA,
				    c->sc, next_seed(c));
	ASSERT_EQ(0, ret);
	ASSERT_EQ(-1, edu_first_diff(before, cpu, DMA_LEN))
		TH_LOG("%s: a device write to IOVA 0x%llx reached the memory",
		       what, (unsigned long long)iova);
}

/*
 * Fresh memory: the device reads only zeroes at @iova.  The device buffer
 * holds a sentinel first, so a read that brought nothing is seen unless
 * QEMU zero-filled it; the caller proves the mapping separately.
 */
static void assert_reads_zero(struct __test_metadata *_metadata,
			      struct ctx *c, uint64_t iova, const char *what)
{
	void *bar = c->dev.bar0;

	edu_fill_pattern(c->sc, DMA_LEN, next_seed(c));
	ASSERT_EQ(0, edu_dma_to_dev(bar, SCRATCH_IOVA, 0, DMA_LEN));
	ASSERT_EQ(0, edu_dma_to_dev(bar, iova, 0, DMA_LEN));
	memset(c->sc, EDU_POISON, DMA_LEN);
	ASSERT_EQ(0, edu_dma_from_dev(bar, 0, SCRATCH_IOVA, DMA_LEN));
	ASSERT_EQ(-1, mem_first_nonzero(c->sc, DMA_LEN))
		TH_LOG("%s: fresh memory at IOVA 0x%llx is not zero", what,
		       (unsigned long long)iova);
}

static int new_eventfd(struct __test_metadata *_metadata, struct ctx *c)
{
	if (c->efd < 0)
		c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, c->efd) TH_LOG("eventfd: %s", strerror(errno));
	return c->efd;
}

/* Wait for @fd to be signalled (bounded by @timeout_s) and consume it. */
static int efd_wait(int fd, int timeout_s)
{
	uint64_t end = now_ms() + timeout_s * 1000ULL, val;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n;

	for (;;) {
		uint64_t now = now_ms();

		if (now >= end)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)(end - now));
		if (n > 0)
			break;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
	if (read(fd, &val, sizeof(val)) != sizeof(val))
		return -errno;
	return 0;
}

static bool efd_signalled(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

/* ---------------------------------------------------------------------- */

/* Tests of the data path, for each memory backing. */
FIXTURE(async_map) {
	struct ctx c;
};

FIXTURE_VARIANT(async_map) {
	bool hugetlb;
	bool prezero;
};

/* Anonymous memory in 4 KiB pages (THP off for the buffers). */
FIXTURE_VARIANT_ADD(async_map, anon_4k) {
	.hugetlb = false,
};

/* hugetlb memory in 2 MiB pages, prezero as booted. */
FIXTURE_VARIANT_ADD(async_map, hugetlb_2m) {
	.hugetlb = true,
};

/* hugetlb 2 MiB pages with the pool pre-zeroed (prezero = 1, if present). */
FIXTURE_VARIANT_ADD(async_map, hugetlb_prezero) {
	.hugetlb = true,
	.prezero = true,
};

FIXTURE_SETUP(async_map)
{
	ctx_setup(_metadata, &self->c, variant->hugetlb, variant->prezero);
}

FIXTURE_TEARDOWN_PARENT(async_map)
{
	ctx_cleanup(&self->c);
}

/*
 * What a VMM does: the low part of guest RAM mapped at once, the rest
 * deferred in several ranges, one VFIO_DEFER_SYNC_FLAG_ALL before the
 * device runs.  Then the device reads and writes the right bytes at the
 * start, middle (across a chunk boundary) and end of every range, and the
 * pages the kernel pinned for it read zero.
 */
TEST_F_TIMEOUT(async_map, sync_then_dma, 300)
{
	static const struct {
		uint64_t iova;
		size_t size;
	} r[] = {
		{ 2 * SZ_1M,		4 * SZ_1M },	/* low part, not deferred */
		{ 256 * SZ_1M,		16 * SZ_1M },
		{ SZ_1G + 64 * SZ_1M,	32 * SZ_1M },
		{ 4 * SZ_1G,		64 * SZ_1M },
	};
	struct ctx *c = &self->c;
	size_t total = 0, off, deferred = 0;
	char *buf, *p;
	unsigned int i;
	struct vfio_iommu_type1_defer_sync q;
	int ret;

	for (i = 0; i < ARRAY_SIZE(r); i++) {
		ASSERT_TRUE(vfio_iova_valid(&c->dev, r[i].iova, r[i].size));
		total += r[i].size;
	}
	buf = buf_alloc(_metadata, c, total);

	ASSERT_EQ(0, vfio_dma_map_rw(&c->dev, buf, r[0].iova, r[0].size));
	for (i = 1, off = r[0].size; i < ARRAY_SIZE(r); off += r[i].size, i++) {
		uint64_t iova = r[i].iova;

		ret = vfio_dma_map_defer(&c->dev, buf + off, iova, r[i].size);
		ASSERT_EQ(0, ret) TH_LOG("deferred map at 0x%llx: %s",
					 (unsigned long long)iova, strerror(-ret));
		deferred += r[i].size;
	}
	q = query(_metadata, c);
	EXPECT_EQ(deferred, q.deferred) TH_LOG("%s", qstr(&q));
	EXPECT_GE(deferred, q.mapped) TH_LOG("%s", qstr(&q));

	memset(&q, 0, sizeof(q));
	ret = vfio_defer_sync_all(&c->dev, &q);
	ASSERT_EQ(0, ret) TH_LOG("VFIO_DEFER_SYNC_FLAG_ALL: %s", strerror(-ret));
	/* The sync's own report, and QUERY's, say: all of it, no failure. */
	EXPECT_EQ(deferred, q.deferred) TH_LOG("ALL: %s", qstr(&q));
	EXPECT_EQ(deferred, q.mapped) TH_LOG("ALL: %s", qstr(&q));
	EXPECT_EQ(0ULL, q.failed) TH_LOG("ALL: %s", qstr(&q));
	EXPECT_EQ(0U, q.error) TH_LOG("ALL: %s", qstr(&q));
	expect_state(_metadata, c, deferred, deferred, "after sync ALL");

	/* Nothing touched the buffer: every pinned page must read zero. */
	EXPECT_EQ(-1, mem_first_nonzero(buf, total))
		TH_LOG("a page pinned for the device was not zero (offset %zd)",
		       mem_first_nonzero(buf, total));
	for (i = 1; i < ARRAY_SIZE(r); i++) {
		uint64_t iova = r[i].iova;

		assert_reads_zero(_metadata, c, iova, "fresh range");
	}

	for (i = 0, off = 0; i < ARRAY_SIZE(r); off += r[i].size, i++) {
		const size_t at[] = { 0, r[i].size / 2 - DMA_LEN / 2,
				      r[i].size - DMA_LEN };
		unsigned int j;

		for (j = 0; j < ARRAY_SIZE(at); j++) {
			uint64_t iova = r[i].iova + at[j];

			p = buf + off + at[j];
			assert_reads(_metadata, c, iova, p, "after sync ALL");
			assert_writes(_metadata, c, iova, p, "after sync ALL");
		}
	}
	/* And no further: the IOVA past the last range is not mapped. */
	assert_not_mapped(_metadata, c, r[3].iova + r[3].size, NULL, "past the end");

	for (i = 0; i < ARRAY_SIZE(r); i++)
		expect_unmap(_metadata, c, r[i].iova, r[i].size);
	expect_state(_metadata, c, 0, 0, "after unmapping everything");
}

/*
 * With the workers paused, a deferred range is not mapped at all: the
 * device cannot read or write it.  A sync maps exactly the chunks it
 * covers (a 4 KiB sync maps its whole chunk, a range reaching before the
 * mapping maps the part in it); the neighbours stay unmapped.  Unpaused,
 * the workers map the rest and the eventfd says when they are done.
 */
TEST_F_TIMEOUT(async_map, paused_faults, 300)
{
	const uint64_t iova = 2 * SZ_1G;
	const size_t size = 64 * SZ_1M, mid = size / 2, c20 = 20 * CHUNK;
	struct ctx *c = &self->c;
	char *buf;
	struct vfio_iommu_type1_defer_sync q;
	int efd, ret;

	if (!pause_usable(_metadata))
		return;
	buf = buf_alloc(_metadata, c, size);
	efd = new_eventfd(_metadata, c);

	pause_on(_metadata, true);
	ASSERT_EQ(0, vfio_dma_map_defer(&c->dev, buf, iova, size));
	expect_state(_metadata, c, size, 0, "paused, just mapped");
	ASSERT_EQ(0, vfio_defer_set_eventfd(&c->dev, efd));
	EXPECT_FALSE(efd_signalled(efd))
		TH_LOG("eventfd signalled while all of the range is left to map");

	/* The deferral is real: nothing reaches the memory. */
	assert_not_mapped(_metadata, c, iova, buf, "paused, start");
	assert_not_mapped(_metadata, c, iova + mid, buf + mid, "paused, middle");
	assert_not_mapped(_metadata, c, iova + size - DMA_LEN,
			  buf + size - DMA_LEN, "paused, end");

	/* Sync the chunk in the middle: it, and it alone, is mapped. */
	memset(&q, 0, sizeof(q));
	ret = vfio_defer_sync(&c->dev, iova + mid, CHUNK, &q);
	ASSERT_EQ(0, ret) TH_LOG("sync of one chunk: %s", strerror(-ret));
	EXPECT_EQ(CHUNK, q.mapped) TH_LOG("the sync's report: %s", qstr(&q));
	expect_state(_metadata, c, size, CHUNK, "one chunk synced");
	assert_reads(_metadata, c, iova + mid, buf + mid, "synced chunk, start");
	assert_rw(_metadata, c, iova + mid + CHUNK - DMA_LEN,
		  buf + mid + CHUNK - DMA_LEN, "synced chunk, end");
	assert_not_mapped(_metadata, c, iova + mid - DMA_LEN,
			  buf + mid - DMA_LEN, "the chunk before the synced one");
	assert_not_mapped(_metadata, c, iova + mid + CHUNK, buf + mid + CHUNK,
			  "the chunk after the synced one");

	/* Again: nothing more to do. */
	ASSERT_EQ(0, vfio_defer_sync(&c->dev, iova + mid, CHUNK, NULL));
	expect_state(_metadata, c, size, CHUNK, "same chunk synced again");

	/* A sync maps whole chunks: 4 KiB inside chunk 20 maps all of it. */
	ASSERT_EQ(0, vfio_defer_sync(&c->dev, iova + c20 + 2 * SZ_4K, SZ_4K,
				     NULL));
	expect_state(_metadata, c, size, 2 * CHUNK, "4 KiB of chunk 20 synced");
	assert_reads(_metadata, c, iova + c20, buf + c20, "chunk 20, start");
	assert_reads(_metadata, c, iova + c20 + CHUNK - DMA_LEN,
		     buf + c20 + CHUNK - DMA_LEN, "chunk 20, end");

	/* A range that starts before the mapping maps the part inside it. */
	ASSERT_EQ(0, vfio_defer_sync(&c->dev, iova - 2 * CHUNK, 3 * CHUNK, NULL));
	expect_state(_metadata, c, size, 3 * CHUNK, "range over the start synced");
	assert_reads(_metadata, c, iova, buf, "chunk 0");
	assert_not_mapped(_metadata, c, iova + CHUNK, buf + CHUNK, "chunk 1");

	EXPECT_FALSE(efd_signalled(efd))
		TH_LOG("eventfd signalled with chunks left while paused");

	/* Unpaused, the workers do the rest; the eventfd says when. */
	pause_on(_metadata, false);
	ret = efd_wait(efd, HANG_S);
	if (ret)
		q = query(_metadata, c);
	ASSERT_EQ(0, ret) TH_LOG("no eventfd signal in %d s: %s", HANG_S,
				 qstr(&q));
	expect_state(_metadata, c, size, size, "eventfd signalled");
	assert_rw(_metadata, c, iova + CHUNK, buf + CHUNK, "chunk 1, by a worker");
	assert_rw(_metadata, c, iova + mid + CHUNK, buf + mid + CHUNK,
		  "after the middle, by a worker");
	assert_rw(_metadata, c, iova + size - DMA_LEN, buf + size - DMA_LEN,
		  "end, by a worker");

	ASSERT_EQ(0, vfio_defer_set_eventfd(&c->dev, -1));
	expect_unmap(_metadata, c, iova, size);
	expect_state(_metadata, c, 0, 0, "unmapped");
}

/*
 * VFIO_DEFER_SYNC_FLAG_HOLD, as a VMM uses it while its guest boots into
 * its balloon: held from before the deferred map, the workers map
 * nothing, a sync still maps its chunk and the eventfd stays quiet; after
 * RELEASE the workers map the rest.  HOLD and RELEASE are idempotent, and
 * a hold after completion changes nothing.
 */
TEST_F_TIMEOUT(async_map, hold_release, 300)
{
	const uint64_t iova = 3 * SZ_1G;
	const size_t size = 16 * SZ_1M, mid = size / 2;
	const uint32_t hld = VFIO_DEFER_SYNC_FLAG_HOLD;
	const uint32_t rel = VFIO_DEFER_SYNC_FLAG_RELEASE;
	struct vfio_iommu_type1_defer_sync q;
	struct ctx *c = &self->c;
	char *buf;
	int efd, ret;

	ASSERT_TRUE(vfio_iova_valid(&c->dev, iova, size));
	buf = buf_alloc(_metadata, c, size);
	efd = new_eventfd(_metadata, c);

	ASSERT_EQ(0, vfio_defer_sync_raw(&c->dev, hld, 0, 0, -1, NULL));
	ASSERT_EQ(0, vfio_defer_sync_raw(&c->dev, hld, 0, 0, -1, NULL))
		TH_LOG("a second HOLD");
	ASSERT_EQ(0, vfio_dma_map_defer(&c->dev, buf, iova, size));
	ASSERT_EQ(0, vfio_defer_set_eventfd(&c->dev, efd));
	assert_not_mapped(_metadata, c, iova, buf, "held, start");
	assert_not_mapped(_metadata, c, iova + size - DMA_LEN,
			  buf + size - DMA_LEN, "held, end");

	memset(&q, 0, sizeof(q));
	ret = vfio_defer_sync(&c->dev, iova + mid, CHUNK, &q);
	ASSERT_EQ(0, ret) TH_LOG("sync while held: %s", strerror(-ret));
	expect_state(_metadata, c, size, CHUNK, "held, one chunk synced");
	assert_rw(_metadata, c, iova + mid, buf + mid, "the synced chunk");
	assert_not_mapped(_metadata, c, iova + mid + CHUNK, buf + mid + CHUNK,
			  "held, the chunk after the synced one");
	EXPECT_FALSE(efd_signalled(efd))
		TH_LOG("eventfd signalled with chunks left while held");

	ASSERT_EQ(0, vfio_defer_sync_raw(&c->dev, rel, 0, 0, -1, NULL));
	ret = efd_wait(efd, HANG_S);
	if (ret)
		q = query(_metadata, c);
	ASSERT_EQ(0, ret) TH_LOG("no eventfd signal %d s after RELEASE: %s",
				 HANG_S, qstr(&q));
	expect_state(_metadata, c, size, size, "released");
	assert_rw(_metadata, c, iova, buf, "start, by a worker");
	assert_rw(_metadata, c, iova + size - DMA_LEN, buf + size - DMA_LEN,
		  "end, by a worker");

	ASSERT_EQ(0, vfio_defer_sync_raw(&c->dev, rel, 0, 0, -1, NULL))
		TH_LOG("a second RELEASE");
	ASSERT_EQ(0, vfio_defer_sync_raw(&c->dev, hld, 0, 0, -1, NULL))
		TH_LOG("HOLD with nothing left to do");
	expect_state(_metadata, c, size, size, "held after completion");
	ASSERT_EQ(0, vfio_defer_sync_raw(&c->dev, rel, 0, 0, -1, NULL));

	ASSERT_EQ(0, vfio_defer_set_eventfd(&c->dev, -1));
	expect_unmap(_metadata, c, iova, size);
}

static uint64_t xorshift64(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Paused, so the syncs do all the work: every chunk of a 128 MiB range,
 * one sync each, in a shuffled order.  Each maps exactly its chunk.
 */
TEST_F_TIMEOUT(async_map, many_small_syncs, 300)
{
	const uint64_t iova = 8 * SZ_1G;
	const size_t size = 128 * SZ_1M;
	const unsigned int n = size / CHUNK;
	unsigned int order[128 * SZ_1M / SZ_2M], i;
	uint64_t rnd = BASE_SEED;
	struct ctx *c = &self->c;
	char *buf;
	int efd;

	if (!pause_usable(_metadata))
		return;
	ASSERT_TRUE(vfio_iova_valid(&c->dev, iova, size));
	buf = buf_alloc(_metadata, c, size);
	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = n - 1; i > 0; i--) {
		unsigned int j = xorshift64(&rnd) % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}

	pause_on(_metadata, true);
	ASSERT_EQ(0, vfio_dma_map_defer(&c->dev, buf, iova, size));
	for (i = 0; i < n; i++) {
		uint64_t at = iova + (uint64_t)order[i] * CHUNK;
		uint64_t expect = (uint64_t)(i + 1) * CHUNK;
		struct vfio_iommu_type1_defer_sync q;
		int ret;

		memset(&q, 0, sizeof(q));
		ret = vfio_defer_sync(&c->dev, at, CHUNK, &q);
		ASSERT_EQ(0, ret) TH_LOG("sync %u, chunk %u: %s", i, order[i],
					 strerror(-ret));
		ASSERT_EQ(expect, q.mapped)
			TH_LOG("after sync %u (chunk %u): %s", i, order[i],
			       qstr(&q));
	}
	expect_state(_metadata, c, size, size, "every chunk synced");

	/* The syncs left the workers nothing: idle, the eventfd fires at once. */
	efd = new_eventfd(_metadata, c);
	ASSERT_EQ(0, vfio_defer_set_eventfd(&c->dev, efd));
	EXPECT_EQ(0, efd_wait(efd, HANG_S))
		TH_LOG("eventfd not signalled with nothing left to map");

	{
		const unsigned int spot[] = { 0, order[0], order[n / 2],
					      order[n - 1], n - 1 };

		for (i = 0; i < ARRAY_SIZE(spot); i++) {
			size_t off = (size_t)spot[i] * CHUNK;

			assert_reads(_metadata, c, iova + off, buf + off,
				     "chunk start");
			assert_writes(_metadata, c, iova + off + CHUNK - DMA_LEN,
				      buf + off + CHUNK - DMA_LEN, "chunk end");
		}
	}
	expect_unmap(_metadata, c, iova, size);
	expect_state(_metadata, c, 0, 0, "unmapped");
}

/*
 * Unmapping a deferred range midway gives back exactly what it took: every
 * pin (nr_foll_pin_acquired - nr_foll_pin_released) and all of locked_vm,
 * and the device no longer reaches the memory.  First paused with a few
 * chunks synced, then while the workers run on a large range.
 */
TEST_F_TIMEOUT(async_map, unmap_midway, 300)
{
	const uint64_t iova = 2 * SZ_1G, iova2 = 4 * SZ_1G;
	const size_t size = 64 * SZ_1M, size2 = 256 * SZ_1M;
	static const unsigned int synced[] = { 3, 10, 20 };
	struct ctx *c = &self->c;
	long long pins0;
	long kb;
	char *buf;
	unsigned int i;
	int round;

	if (!pause_usable(_metadata))
		return;
	buf = buf_alloc(_metadata, c, size);
	kb = locked_vm_kb();
	ASSERT_LE(0, kb);
	pins0 = pins(_metadata);

	pause_on(_metadata, true);
	ASSERT_EQ(0, vfio_dma_map_defer(&c->dev, buf, iova, size));
	EXPECT_EQ(kb + (long)(size >> 10), locked_vm_kb());
	for (i = 0; i < ARRAY_SIZE(synced); i++) {
		uint64_t at = iova + synced[i] * CHUNK;

		ASSERT_EQ(0, vfio_defer_sync(&c->dev, at, CHUNK, NULL));
	}
	expect_state(_metadata, c, size, ARRAY_SIZE(synced) * CHUNK,
		     "three chunks synced");
	/* Each synced page pinned once, nothing else. */
	expect_pins(_metadata,
		    pins0 + (long long)(ARRAY_SIZE(synced) * CHUNK / SZ_4K),
		    "three chunks synced");
	assert_reads(_metadata, c, iova + 10 * CHUNK, buf + 10 * CHUNK,
		     "synced chunk");

	expect_unmap(_metadata, c, iova, size);
	EXPECT_EQ(kb, locked_vm_kb()) TH_LOG("locked_vm after unmapping midway");
	expect_pins(_metadata, pins0, "after unmapping midway");
	expect_state(_metadata, c, 0, 0, "unmapped midway");
	assert_not_mapped(_metadata, c, iova + 3 * CHUNK, buf + 3 * CHUNK,
			  "synced chunk after unmap");
	assert_not_mapped(_metadata, c, iova + 4 * CHUNK, buf + 4 * CHUNK,
			  "never mapped chunk after unmap");
	buf_free(_metadata, c, buf);
	pause_on(_metadata, false);

	/*
	 * Workers running: unmap at once, after one chunk in the middle was
	 * synced, and once the workers have mapped something.
	 */
	buf = buf_alloc(_metadata, c, size2);
	for (round = 0; round < 3; round++) {
		struct vfio_iommu_type1_defer_sync q;

		ASSERT_EQ(0, vfio_dma_map_defer(&c->dev, buf, iova2, size2));
		if (round == 1)
			ASSERT_EQ(0, vfio_defer_sync(&c->dev, iova2 + size2 / 2,
						     CHUNK, NULL));
		if (round == 2) {
			uint64_t end = now_ms() + HANG_S * 1000ULL;

			do {
				q = query(_metadata, c);
				if (q.mapped)
					break;
				usleep(1000);
			} while (now_ms() < end);
			ASSERT_NE(0ULL, q.mapped)
				TH_LOG("the workers mapped nothing in %d s", HANG_S);
		}
		q = query(_metadata, c);
		TH_LOG("round %d: unmapping with %llu of %zu MiB mapped", round,
		       (unsigned long long)q.mapped >> 20, size2 >> 20);
		expect_unmap(_metadata, c, iova2, size2);
		EXPECT_EQ(kb, locked_vm_kb()) TH_LOG("round %d", round);
		expect_pins(_metadata, pins0, "unmapped while running");
		expect_state(_metadata, c, 0, 0, "unmapped while running");
	}
	assert_not_mapped(_metadata, c, iova2 + size2 / 2, buf + size2 / 2,
			  "after unmapping while running");
}

/*
 * locked_vm (VmLck) grows by exactly the size at map time and by nothing
 * while the range is pinned, by workers or by syncs; unmapping gives all
 * of it back, also when nothing was ever pinned.  (Root's CAP_IPC_LOCK
 * skips the limit, not the accounting.)
 */
TEST_F_TIMEOUT(async_map, locked_vm_exact, 300)
{
	const uint64_t iova = 2 * SZ_1G, iova2 = 4 * SZ_1G;
	const size_t size = 64 * SZ_1M, size2 = 32 * SZ_1M;
	const long size_kb = size >> 10, size2_kb = size2 >> 10;
	struct ctx *c = &self->c;
	long kb, bad_kb = 0;
	int samples = 0, wrong = 0;
	uint64_t end;
	char *buf, *buf2;
	struct vfio_iommu_type1_defer_sync q;

	if (!pause_usable(_metadata))
		return;
	buf = buf_alloc(_metadata, c, size);
	buf2 = buf_alloc(_metadata, c, size2);
	kb = locked_vm_kb();
	ASSERT_LE(0, kb);

	ASSERT_EQ(0, vfio_dma_map_defer(&c->dev, buf, iova, size));
	EXPECT_EQ(kb + size_kb, locked_vm_kb()) TH_LOG("right after the map");
	end = now_ms() + HANG_S * 1000ULL;
	do {
		long now = locked_vm_kb();

		q = query(_metadata, c);
		samples++;
		if (now != kb + size_kb) {
			wrong++;
			bad_kb = now;
		}
		if (q.mapped == size)
			break;
		usleep(5000);
	} while (now_ms() < end);
	ASSERT_EQ(size, q.mapped) TH_LOG("not mapped in %d s: %s", HANG_S,
					 qstr(&q));
	EXPECT_EQ(0, wrong) TH_LOG("VmLck was %ld kB, not %ld, in %d of %d samples",
				   bad_kb, kb + size_kb, wrong, samples);

	ASSERT_EQ(0, vfio_dma_map_defer(&c->dev, buf2, iova2, size2));
	EXPECT_EQ(kb + size_kb + size2_kb, locked_vm_kb()) TH_LOG("second map");
	ASSERT_EQ(0, vfio_defer_sync_all(&c->dev, NULL));
	EXPECT_EQ(kb + size_kb + size2_kb, locked_vm_kb()) TH_LOG("after sync ALL");
	expect_unmap(_metadata, c, iova, size);
	EXPECT_EQ(kb + size2_kb, locked_vm_kb()) TH_LOG("first unmapped");
	expect_unmap(_metadata, c, iova2, size2);
	EXPECT_EQ(kb, locked_vm_kb()) TH_LOG("both unmapped");

	/* Paused: charged at once, refunded in full though never pinned. */
	pause_on(_metadata, true);
	ASSERT_EQ(0, vfio_dma_map_defer(&c->dev, buf, iova, size));
	EXPECT_EQ(kb + size_kb, locked_vm_kb()) TH_LOG("paused map");
	ASSERT_EQ(0, vfio_defer_sync(&c->dev, iova + size / 2, CHUNK, NULL));
	EXPECT_EQ(kb + size_kb, locked_vm_kb()) TH_LOG("one chunk synced");
	expect_unmap(_metadata, c, iova, size);
	EXPECT_EQ(kb, locked_vm_kb()) TH_LOG("paused map unmapped");
}

/* killed_midway's child: its own container, a deferred map, then wait. */
struct kill_report {
	int stage;		/* 0: mapped; else where it failed */
	int err;
	uint64_t deferred, mapped;
};

#define KILL_IOVA	(4 * SZ_1G)

static __noreturn void killed_child(bool hugetlb, size_t size, bool paused,
				    int wfd)
{
	struct kill_report r = { 0 };
	struct vfio_dev d;
	struct vfio_iommu_type1_defer_sync q;
	char *buf;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	r.err = vfio_dev_open(&d, EDU_VENDOR, EDU_DEVICE);
	if (r.err) {
		r.stage = 1;
		goto out;
	}
	if (hugetlb) {
		buf = hugetlb_mmap(size / SZ_2M, SZ_2M, false);
	} else {
		buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (buf != MAP_FAILED)
			madvise(buf, size, MADV_NOHUGEPAGE);
	}
	if (buf == MAP_FAILED) {
		r.stage = 2;
		r.err = -errno;
		goto out;
	}
	r.err = vfio_dma_map_defer(&d, buf, KILL_IOVA, size);
	if (r.err) {
		r.stage = 3;
		goto out;
	}
	/* Paused: some chunks pinned by syncs, the rest pending. */
	if (paused) {
		r.err = vfio_defer_sync(&d, KILL_IOVA, CHUNK, NULL);
		if (!r.err)
			r.err = vfio_defer_sync(&d, KILL_IOVA + size / 2,
						4 * CHUNK, NULL);
		if (r.err) {
			r.stage = 4;
			goto out;
		}
	}
	r.err = vfio_defer_query(&d, &q);
	if (r.err) {
		r.stage = 5;
		goto out;
	}
	r.deferred = q.deferred;
	r.mapped = q.mapped;
out:
	if (write(wfd, &r, sizeof(r)) != sizeof(r))
		_exit(2);
	for (;;)
		pause();
}

/* Everything the killed child held is back: pins, memory, huge pages. */
static void wait_released(struct __test_metadata *_metadata, struct ctx *c,
			  long long pins0, long free0, long huge0,
			  const char *what)
{
	uint64_t end = now_ms() + HANG_S * 1000ULL;
	long long p;
	long mf, hf = 0;

	for (;;) {
		p = pins(_metadata);
		mf = mem_free_kb();
		if (c->hugetlb)
			hf = hugetlb_free_pages(SZ_2M);
		if (p == pins0 && mf >= free0 - MEMFREE_SLACK_KB &&
		    (!c->hugetlb || hf == huge0))
			return;
		if (now_ms() >= end)
			break;
		usleep(100 * 1000);
	}
	EXPECT_EQ(pins0, p) TH_LOG("%s: pins not released in %d s", what, HANG_S);
	EXPECT_LE(free0 - MEMFREE_SLACK_KB, mf)
		TH_LOG("%s: free %ld kB, %ld kB before the child", what, mf,
		       free0);
	if (c->hugetlb)
		EXPECT_EQ(huge0, hf) TH_LOG("%s: free 2 MiB pages", what);
	ASSERT_FALSE(_metadata->exit_code == KSFT_FAIL);
}

/*
 * A process that owns a container is killed while its deferred range is
 * being mapped (workers running), and again while it is half synced with
 * the workers paused.  Its container goes away with it: every pin is
 * released, its memory (or its huge pages) is free again, and the device
 * can be opened and mapped anew.  Only one container can hold the group,
 * so this test closes its own device first.
 */
TEST_F_TIMEOUT(async_map, killed_midway, 600)
{
	const size_t size = self->c.hugetlb ? 256 * SZ_1M : 512 * SZ_1M;
	struct ctx *c = &self->c;
	long long pins0;
	long free0, huge0;
	const char *what;
	char *buf;
	int round, ret;

	if (!pause_usable(_metadata))
		return;
	vfio_dev_close(&c->dev);
	pins0 = pins(_metadata);
	free0 = mem_free_kb();
	huge0 = c->hugetlb ? hugetlb_free_pages(SZ_2M) : 0;
	ASSERT_LT(0, free0);
	ASSERT_LE(0, huge0);

	for (round = 0; round < 2; round++) {
		const bool paused = round == 1;
		const char *name = paused ? "paused" : "workers running";
		struct pollfd pfd;
		struct kill_report r;
		int p[2], status;
		ssize_t n;
		pid_t pid;

		if (paused)
			pause_on(_metadata, true);
		ASSERT_EQ(0, pipe(p));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			close(p[0]);
			killed_child(c->hugetlb, size, paused, p[1]);
		}
		close(p[1]);
		pfd.fd = p[0];
		pfd.events = POLLIN;
		n = poll(&pfd, 1, HANG_S * 1000) == 1 ?
			read(p[0], &r, sizeof(r)) : -1;
		close(p[0]);
		if (n != sizeof(r) || r.stage)
			kill(pid, SIGKILL);
		ASSERT_EQ((ssize_t)sizeof(r), n)
			TH_LOG("%s: no report from the child", name);
		ASSERT_EQ(0, r.stage) TH_LOG("%s: child failed at stage %d: %s",
					     name, r.stage, strerror(-r.err));
		EXPECT_EQ(size, r.deferred);

		ASSERT_EQ(0, kill(pid, SIGKILL));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			TH_LOG("%s: child status 0x%x", name, status);
		TH_LOG("%s: killed with %llu of %zu MiB mapped", name,
		       (unsigned long long)r.mapped >> 20, size >> 20);
		wait_released(_metadata, c, pins0, free0, huge0, name);
		if (paused)
			pause_on(_metadata, false);
	}

	/* The group is free again: open it, map deferred, DMA. */
	{
		uint64_t end = now_ms() + HANG_S * 1000ULL;

		do {
			ret = dev_open(c, &what);
			if (ret != -EBUSY)
				break;
			vfio_dev_close(&c->dev);
			usleep(100 * 1000);
		} while (now_ms() < end);
	}
	ASSERT_EQ(0, ret) TH_LOG("reopening: %s: %s", what, strerror(-ret));
	buf = buf_alloc(_metadata, c, 4 * SZ_1M);
	ASSERT_EQ(0, vfio_dma_map_defer(&c->dev, buf, KILL_IOVA, 4 * SZ_1M));
	ASSERT_EQ(0, vfio_defer_sync_all(&c->dev, NULL));
	expect_state(_metadata, c, 4 * SZ_1M, 4 * SZ_1M, "after reopening");
	assert_rw(_metadata, c, KILL_IOVA + SZ_2M + SZ_4K, buf + SZ_2M + SZ_4K,
		  "after reopening");
	expect_unmap(_metadata, c, KILL_IOVA, 4 * SZ_1M);
}

/*
 * The second half of the memory disappears (munmap) before the workers get
 * to it: they fail there with EFAULT and say so in QUERY (failed, error,
 * error_iova); the first half maps and works, a sync of it succeeds and a
 * sync of the second half returns EFAULT.  Unmapping clears the failure
 * and gives back every pin and all of locked_vm.
 */
TEST_F_TIMEOUT(async_map, background_error, 300)
{
	const uint64_t iova = 2 * SZ_1G;
	const size_t size = 64 * SZ_1M, half = size / 2;
	struct ctx *c = &self->c;
	long long pins0;
	uint64_t end;
	long kb;
	char *buf;
	struct vfio_iommu_type1_defer_sync q;
	int ret;

	if (!pause_usable(_metadata))
		return;
	buf = buf_alloc(_metadata, c, size);
	kb = locked_vm_kb();
	ASSERT_LE(0, kb);
	pins0 = pins(_metadata);

	pause_on(_metadata, true);
	ASSERT_EQ(0, vfio_dma_map_defer(&c->dev, buf, iova, size));
	buf_trim(_metadata, c, buf, half);
	pause_on(_metadata, false);

	/* The workers find the hole on their own. */
	end = now_ms() + HANG_S * 1000ULL;
	do {
		q = query(_metadata, c);
		if (q.failed)
			break;
		usleep(5000);
	} while (now_ms() < end);
	ASSERT_NE(0ULL, q.failed) TH_LOG("no background failure in %d s: %s",
					 HANG_S, qstr(&q));

	ret = vfio_defer_sync(&c->dev, iova, half, NULL);
	EXPECT_EQ(0, ret) TH_LOG("sync of the backed half: %s", strerror(-ret));
	ret = vfio_defer_sync(&c->dev, iova + half, half, NULL);
	EXPECT_EQ(-EFAULT, ret) TH_LOG("sync of the unbacked half: %s",
				       strerror(-ret));
	ret = vfio_defer_sync_all(&c->dev, NULL);
	EXPECT_EQ(-EFAULT, ret) TH_LOG("sync ALL: %s", strerror(-ret));

	q = query(_metadata, c);
	EXPECT_EQ(size, q.deferred) TH_LOG("%s", qstr(&q));
	EXPECT_EQ(half, q.mapped) TH_LOG("%s", qstr(&q));
	EXPECT_LT(0ULL, q.failed) TH_LOG("%s", qstr(&q));
	EXPECT_GE(half, q.failed) TH_LOG("%s", qstr(&q));
	EXPECT_EQ((uint32_t)EFAULT, q.error) TH_LOG("%s", qstr(&q));
	EXPECT_TRUE(q.error_iova >= iova + half && q.error_iova < iova + size &&
		    !((q.error_iova - iova) % CHUNK))
		TH_LOG("error_iova 0x%llx is not a chunk of the second half",
		       (unsigned long long)q.error_iova);

	assert_rw(_metadata, c, iova, buf, "backed half, start");
	assert_rw(_metadata, c, iova + half - DMA_LEN, buf + half - DMA_LEN,
		  "backed half, end");
	assert_not_mapped(_metadata, c, iova + half, NULL, "unbacked half");
	EXPECT_EQ(kb + (long)(size >> 10), locked_vm_kb())
		TH_LOG("the whole size stays charged until the unmap");

	expect_unmap(_metadata, c, iova, size);
	expect_state(_metadata, c, 0, 0, "unmap clears the failure");
	q = query(_metadata, c);
	EXPECT_EQ(0ULL, q.failed);
	EXPECT_EQ(0U, q.error);
	EXPECT_EQ(kb, locked_vm_kb()) TH_LOG("locked_vm after the unmap");
	expect_pins(_metadata, pins0, "after the unmap");
}

/* concurrent_sync_unmap: one thread syncs chunk by chunk, one unmaps. */
struct race {
	struct vfio_dev *d;
	uint64_t iova;
	size_t size;
	unsigned int nchunks;
	bool descending;
	int synced;		/* atomic: syncs that returned 0 */
	int done;		/* atomic: the syncer finished */
	int enoent;
	int ok_after_enoent;	/* a chunk synced after one was gone */
	int bad_ret;
	uint64_t bad_iova;
	int unmap_ret;
	uint64_t unmapped;
};

static void *race_syncer(void *arg)
{
	struct race *r = arg;
	unsigned int i;

	for (i = 0; i < r->nchunks; i++) {
		unsigned int k = r->descending ? r->nchunks - 1 - i : i;
		uint64_t at = r->iova + (uint64_t)k * CHUNK;
		int ret = vfio_defer_sync(r->d, at, CHUNK, NULL);

		if (!ret) {
			if (r->enoent)
				r->ok_after_enoent++;
			__atomic_add_fetch(&r->synced, 1, __ATOMIC_SEQ_CST);
		} else if (ret == -ENOENT) {
			r->enoent++;
		} else {
			r->bad_ret = ret;
			r->bad_iova = at;
			break;
		}
	}
	__atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *race_unmapper(void *arg)
{
	struct race *r = arg;
	uint64_t end = now_ms() + HANG_S * 1000ULL;

	/* Midway: once a quarter of the chunks are synced. */
	while (__atomic_load_n(&r->synced, __ATOMIC_SEQ_CST) < (int)r->nchunks / 4 &&
	       !__atomic_load_n(&r->done, __ATOMIC_SEQ_CST) && now_ms() < end)
		usleep(200);
	r->unmap_ret = vfio_dma_unmap(r->d, r->iova, r->size, &r->unmapped);
	return NULL;
}

/*
 * A sync racing an unmap of its range: the sync returns 0 or, once the
 * mapping is gone, ENOENT, nothing else; the unmap removes all of it, and
 * pins and locked_vm come back.  Twice paused (the syncs do the pinning),
 * twice with the workers running.
 */
TEST_F_TIMEOUT(async_map, concurrent_sync_unmap, 300)
{
	const uint64_t iova = 2 * SZ_1G;
	const size_t size = 64 * SZ_1M;
	struct ctx *c = &self->c;
	long long pins0;
	long kb;
	char *buf;
	int round;

	if (!pause_usable(_metadata))
		return;
	buf = buf_alloc(_metadata, c, size);
	kb = locked_vm_kb();
	ASSERT_LE(0, kb);
	pins0 = pins(_metadata);

	for (round = 0; round < 4; round++) {
		struct race r = {
			.d = &c->dev,
			.iova = iova,
			.size = size,
			.nchunks = size / CHUNK,
			.descending = round & 1,
		};
		pthread_t ts, tu;

		pause_on(_metadata, round < 2);
		ASSERT_EQ(0, vfio_dma_map_defer(&c->dev, buf, iova, size));
		ASSERT_EQ(0, pthread_create(&ts, NULL, race_syncer, &r));
		ASSERT_EQ(0, pthread_create(&tu, NULL, race_unmapper, &r));
		ASSERT_EQ(0, pthread_join(ts, NULL));
		ASSERT_EQ(0, pthread_join(tu, NULL));

		TH_LOG("round %d: %d chunks synced, %d gone", round, r.synced,
		       r.enoent);
		EXPECT_EQ(0, r.bad_ret)
			TH_LOG("round %d: sync of 0x%llx returned %s", round,
			       (unsigned long long)r.bad_iova,
			       strerror(-r.bad_ret));
		EXPECT_EQ(0, r.ok_after_enoent)
			TH_LOG("round %d: a sync succeeded after the mapping was gone",
			       round);
		EXPECT_EQ(0, r.unmap_ret) TH_LOG("round %d: unmap: %s", round,
						 strerror(-r.unmap_ret));
		EXPECT_EQ(size, r.unmapped) TH_LOG("round %d", round);
		expect_state(_metadata, c, 0, 0, "after the race");
		EXPECT_EQ(kb, locked_vm_kb()) TH_LOG("round %d", round);
		expect_pins(_metadata, pins0, "after the race");
		ASSERT_FALSE(_metadata->exit_code == KSFT_FAIL);
	}
	assert_not_mapped(_metadata, c, iova + size / 2, buf + size / 2,
			  "after the races");
}

/*
 * Nothing but the workers: QUERY's mapped only grows, never past
 * deferred, until all of the range is mapped; then an eventfd fires at
 * once and the device reaches every part of it.
 */
TEST_F_TIMEOUT(async_map, workers_progress, 300)
{
	const uint64_t iova = 4 * SZ_1G;
	const size_t size = 256 * SZ_1M;
	struct ctx *c = &self->c;
	uint64_t prev = 0, end;
	int samples = 0, steps = 0, efd;
	char *buf;
	struct vfio_iommu_type1_defer_sync q;

	buf = buf_alloc(_metadata, c, size);
	ASSERT_EQ(0, vfio_dma_map_defer(&c->dev, buf, iova, size));
	end = now_ms() + HANG_S * 1000ULL;
	for (;;) {
		q = query(_metadata, c);
		samples++;
		ASSERT_EQ(size, q.deferred) TH_LOG("%s", qstr(&q));
		ASSERT_EQ(0ULL, q.failed) TH_LOG("%s", qstr(&q));
		ASSERT_GE(size, q.mapped) TH_LOG("%s", qstr(&q));
		ASSERT_LE(prev, q.mapped)
			TH_LOG("mapped went back from %llu: %s",
			       (unsigned long long)prev, qstr(&q));
		if (q.mapped != prev)
			steps++;
		prev = q.mapped;
		if (prev == size || now_ms() >= end)
			break;
		usleep(10 * 1000);
	}
	ASSERT_EQ(size, prev) TH_LOG("background mapping stalled at %llu MiB of %zu in %d s",
				     (unsigned long long)prev >> 20, size >> 20,
				     HANG_S);
	TH_LOG("%d samples, mapped grew %d times", samples, steps);

	efd = new_eventfd(_metadata, c);
	ASSERT_EQ(0, vfio_defer_set_eventfd(&c->dev, efd));
	EXPECT_EQ(0, efd_wait(efd, HANG_S)) TH_LOG("idle, but no eventfd signal");

	assert_rw(_metadata, c, iova, buf, "start");
	assert_rw(_metadata, c, iova + size / 2 - DMA_LEN / 2,
		  buf + size / 2 - DMA_LEN / 2, "middle");
	assert_rw(_metadata, c, iova + size - DMA_LEN, buf + size - DMA_LEN,
		  "end");
	expect_unmap(_metadata, c, iova, size);
	expect_state(_metadata, c, 0, 0, "unmapped");
}

/* ---------------------------------------------------------------------- */

/* Interface tests: one backing is enough. */
FIXTURE(async_map_api) {
	struct ctx c;
};

FIXTURE_SETUP(async_map_api)
{
	ctx_setup(_metadata, &self->c, false, false);
}

FIXTURE_TEARDOWN_PARENT(async_map_api)
{
	ctx_cleanup(&self->c);
}

/*
 * The extension (also before VFIO_SET_IOMMU), the GET_INFO capability, an
 * empty QUERY, and an eventfd that fires at once on an idle container.
 */
TEST_F_TIMEOUT(async_map_api, extension_and_cap, 180)
{
	struct vfio_iommu_type1_info_cap_defer_map cap;
	struct ctx *c = &self->c;
	int fd, ret, efd;
	struct vfio_iommu_type1_defer_sync q;

	fd = open(VFIO_CONTAINER_PATH, O_RDWR);
	ASSERT_LE(0, fd);
	ret = ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_DEFER_MAP);
	close(fd);
	EXPECT_EQ(1, ret) TH_LOG("VFIO_CHECK_EXTENSION before VFIO_SET_IOMMU");
	EXPECT_EQ(1, vfio_check_extension(&c->dev, VFIO_TYPE1_DEFER_MAP));

	ret = vfio_defer_cap(&c->dev, &cap);
	ASSERT_EQ(0, ret) TH_LOG("no VFIO_IOMMU_TYPE1_INFO_CAP_DEFER_MAP: %s",
				 strerror(-ret));
	TH_LOG("capability v%u: flags 0x%x, %u workers, chunk %llu, batch %llu",
	       cap.header.version, cap.flags, cap.workers,
	       (unsigned long long)cap.chunk_size,
	       (unsigned long long)cap.batch_size);
	EXPECT_EQ(VFIO_IOMMU_TYPE1_INFO_CAP_DEFER_MAP, cap.header.id);
	EXPECT_TRUE((cap.flags & VFIO_DEFER_MAP_CAP_HOLD) != 0)
		TH_LOG("no VFIO_DEFER_MAP_CAP_HOLD");
	EXPECT_EQ(0U, cap.flags & ~(uint32_t)VFIO_DEFER_MAP_CAP_HOLD);
	EXPECT_LE(1U, cap.workers);
	EXPECT_EQ(CHUNK, cap.chunk_size);
	EXPECT_LE(cap.chunk_size, cap.batch_size);
	if (cap.chunk_size)
		EXPECT_EQ(0ULL, cap.batch_size % cap.chunk_size);
	/* The chain still carries the IOVA ranges. */
	EXPECT_LE(1U, c->dev.nr_iova_ranges);

	q = query(_metadata, c);
	EXPECT_EQ(0ULL, q.deferred) TH_LOG("%s", qstr(&q));
	EXPECT_EQ(0ULL, q.mapped) TH_LOG("%s", qstr(&q));
	EXPECT_EQ(0ULL, q.failed) TH_LOG("%s", qstr(&q));
	EXPECT_EQ(0U, q.error) TH_LOG("%s", qstr(&q));

	efd = new_eventfd(_metadata, c);
	ASSERT_EQ(0, vfio_defer_set_eventfd(&c->dev, efd));
	EXPECT_EQ(0, efd_wait(efd, HANG_S))
		TH_LOG("no background work, but no eventfd signal");
	EXPECT_EQ(0, vfio_defer_set_eventfd(&c->dev, -1));
}

#define WORKERS_PARAM	"/sys/module/vfio_iommu_type1/parameters/defer_workers"

/*
 * The module parameter defer_workers: a container takes its value at its
 * first deferred map (GET_INFO reports it before that, then the container's
 * own), later changes are for new containers, and junk is refused.
 */
TEST_F_TIMEOUT(async_map_api, workers_param, 180)
{
	const uint64_t iova = 2 * SZ_1G;
	const size_t size = 16 * SZ_1M;
	struct vfio_iommu_type1_info_cap_defer_map cap;
	struct ctx *c = &self->c;
	unsigned long saved, v;
	char val[32];
	char *buf;

	ASSERT_EQ(0, sysfs_read_ulong(WORKERS_PARAM, 10, &saved));
	EXPECT_NE(0, sysfs_write_str(WORKERS_PARAM, "many"));
	EXPECT_EQ(0, sysfs_read_ulong(WORKERS_PARAM, 10, &v));
	EXPECT_EQ(saved, v) TH_LOG("a refused write changed the parameter");

	ASSERT_EQ(0, sysfs_write_str(WORKERS_PARAM, "1"));
	EXPECT_EQ(0, vfio_defer_cap(&c->dev, &cap));
	EXPECT_EQ(1U, cap.workers) TH_LOG("before the first deferred map");

	buf = buf_alloc(_metadata, c, size);
	EXPECT_EQ(0, vfio_dma_map_defer(&c->dev, buf, iova, size));
	EXPECT_EQ(0, sysfs_write_str(WORKERS_PARAM, "3"));
	EXPECT_EQ(0, vfio_defer_cap(&c->dev, &cap));
	EXPECT_EQ(1U, cap.workers) TH_LOG("the container keeps its workers");
	EXPECT_EQ(0, vfio_defer_sync_all(&c->dev, NULL));
	expect_state(_metadata, c, size, size, "one worker and a sync");
	expect_unmap(_metadata, c, iova, size);

	snprintf(val, sizeof(val), "%lu", saved);
	EXPECT_EQ(0, sysfs_write_str(WORKERS_PARAM, val));
}

/*
 * Every bad argument fails with the documented errno and changes nothing:
 * QUERY reads the same before and after, an armed eventfd stays armed,
 * and a valid map at the same IOVA works afterwards.  The workers are
 * paused so that QUERY is stable.
 */
TEST_F_TIMEOUT(async_map_api, bad_inputs, 300)
{
	const uint32_t rw = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	const uint32_t df = rw | VFIO_DMA_MAP_FLAG_DEFER;
	const uint32_t vd = VFIO_DMA_MAP_FLAG_VADDR | VFIO_DMA_MAP_FLAG_DEFER;
	const uint32_t all = VFIO_DEFER_SYNC_FLAG_ALL;
	const uint32_t qry = VFIO_DEFER_SYNC_FLAG_QUERY;
	const uint32_t evt = VFIO_DEFER_SYNC_FLAG_EVENTFD;
	const uint32_t hld = VFIO_DEFER_SYNC_FLAG_HOLD;
	const uint32_t rel = VFIO_DEFER_SYNC_FLAG_RELEASE;
	/* m0: a deferred mapping; t: where the bad maps go. */
	const uint64_t a = SZ_1G, t = 2 * SZ_1G, wrap = -(uint64_t)SZ_4K;
	const size_t size = 8 * SZ_1M;
	struct ctx *c = &self->c;
	struct vfio_dev *d = &c->dev;
	uint64_t v0, v1, unmapped;
	int efd, closed_fd, pfd[2], ret;
	char *buf;
	struct vfio_iommu_type1_defer_sync q0, q;
	unsigned int i;
	long kb;

	if (!pause_usable(_metadata))
		return;
	ASSERT_TRUE(vfio_iova_valid(d, a - 2 * CHUNK, size + 4 * CHUNK));
	ASSERT_TRUE(vfio_iova_valid(d, t, size));
	buf = buf_alloc(_metadata, c, 2 * size);
	v0 = (uintptr_t)buf;
	v1 = v0 + size;
	kb = locked_vm_kb();
	ASSERT_LE(0, kb);
	efd = new_eventfd(_metadata, c);
	ASSERT_EQ(0, pipe(pfd));
	closed_fd = dup(pfd[0]);
	ASSERT_LE(0, closed_fd);
	close(closed_fd);

	pause_on(_metadata, true);
	ASSERT_EQ(0, vfio_dma_map_defer(d, buf, a, size));
	ASSERT_EQ(0, vfio_defer_sync(d, a + CHUNK, CHUNK, NULL));
	ASSERT_EQ(0, vfio_defer_set_eventfd(d, efd));
	q0 = query(_metadata, c);
	ASSERT_EQ(size, q0.deferred);
	ASSERT_EQ(CHUNK, q0.mapped);
	EXPECT_FALSE(efd_signalled(efd)) TH_LOG("eventfd signalled while paused");

	{
		const struct {
			const char *what;
			uint64_t vaddr, iova, size;
			uint32_t flags;
			int err;
		} maps[] = {
			{ "unknown flag 1 << 4", v1, t, size, df | 1U << 4, EINVAL },
			{ "unknown flag 1 << 31", v1, t, size, df | 1U << 31, EINVAL },
			{ "DEFER | VADDR", v1, t, size, vd, EINVAL },
			{ "DEFER | VADDR | READ | WRITE", v1, t, size, vd | rw, EINVAL },
			{ "DEFER | VADDR over the mapping", v0, a, size, vd, EINVAL },
			{ "DEFER without READ or WRITE", v1, t, size,
			  VFIO_DMA_MAP_FLAG_DEFER, EINVAL },
			{ "size 0", v1, t, 0, df, EINVAL },
			{ "iova not page aligned", v1, t + 2048, size, df, EINVAL },
			{ "size not page aligned", v1, t, size - 2048, df, EINVAL },
			{ "vaddr not page aligned", v1 + 2048, t, size - SZ_4K, df,
			  EINVAL },
			{ "iova wraps", v1, wrap, 2 * SZ_4K, df, EINVAL },
			{ "vaddr wraps", wrap, t, 2 * SZ_4K, df, EINVAL },
			{ "the deferred mapping's range", v1, a, size, df, EEXIST },
			{ "over its start", v1, a - CHUNK, 2 * CHUNK, df, EEXIST },
			{ "over its end", v1, a + size - CHUNK, 2 * CHUNK, df, EEXIST },
			{ "inside it", v1, a + 3 * CHUNK + SZ_4K, SZ_4K, df, EEXIST },
			{ "around it", v0, a - CHUNK, size + 2 * CHUNK, df, EEXIST },
			{ "not deferred, over it", v1, a + 2 * CHUNK, CHUNK, rw,
			  EEXIST },
			{ "over the scratch mapping (not deferred)", v1,
			  SCRATCH_IOVA, SZ_4K, df, EEXIST },
		};

		for (i = 0; i < ARRAY_SIZE(maps); i++) {
			const char *what = maps[i].what;

			ret = vfio_dma_map(d, maps[i].vaddr, maps[i].iova,
					   maps[i].size, maps[i].flags);
			EXPECT_EQ(-maps[i].err, ret) TH_LOG("map, %s", what);
			q = query(_metadata, c);
			EXPECT_TRUE(same_state(&q0, &q))
				TH_LOG("map, %s: QUERY changed: %s", what,
				       qstr(&q));
		}
	}

	/* Outside the usable IOVA ranges. */
	{
		uint32_t n = d->nr_iova_ranges;
		uint64_t bad[2];
		unsigned int nbad = 0;

		if (n && d->iova_ranges[n - 1].end < ~0ULL - SZ_1G)
			bad[nbad++] = (d->iova_ranges[n - 1].end + SZ_4K) &
				      ~(uint64_t)(SZ_4K - 1);
		if (!vfio_iova_valid(d, 0xfee00000, SZ_4K))
			bad[nbad++] = 0xfee00000;
		ASSERT_LT(0U, nbad) TH_LOG("no IOVA outside the usable ranges");
		for (i = 0; i < nbad; i++) {
			uint64_t iova = bad[i];

			ret = vfio_dma_map(d, v1, iova, SZ_4K, df);
			EXPECT_EQ(-EINVAL, ret) TH_LOG("map at 0x%llx",
						       (unsigned long long)iova);
			q = query(_metadata, c);
			EXPECT_TRUE(same_state(&q0, &q))
				TH_LOG("map at 0x%llx: QUERY changed: %s",
				       (unsigned long long)iova, qstr(&q));
		}
	}

	{
		const struct {
			const char *what;
			uint32_t flags;
			uint64_t iova, size;
			int32_t fd;
			int err;
		} syncs[] = {
			{ "unknown flag 1 << 5", 1U << 5, 0, 0, -1, EINVAL },
			{ "unknown flag 1 << 31", 1U << 31, 0, 0, -1, EINVAL },
			{ "range with unknown flag 1 << 6", 1U << 6, a, CHUNK, -1,
			  EINVAL },
			{ "ALL | QUERY", all | qry, 0, 0, -1, EINVAL },
			{ "ALL | EVENTFD", all | evt, 0, 0, -1, EINVAL },
			{ "QUERY | EVENTFD", qry | evt, 0, 0, -1, EINVAL },
			{ "ALL | QUERY | EVENTFD", all | qry | evt, 0, 0, -1, EINVAL },
			{ "HOLD | RELEASE", hld | rel, 0, 0, -1, EINVAL },
			{ "HOLD | QUERY", hld | qry, 0, 0, -1, EINVAL },
			{ "HOLD | ALL", hld | all, 0, 0, -1, EINVAL },
			{ "range, iova not page aligned", 0, a + 2048, CHUNK, -1,
			  EINVAL },
			{ "range, size not page aligned", 0, a, CHUNK - 2048, -1,
			  EINVAL },
			{ "range, size 0", 0, a, 0, -1, EINVAL },
			{ "range wraps", 0, wrap, 2 * SZ_4K, -1, EINVAL },
			{ "range without a mapping", 0, t, size, -1, ENOENT },
			{ "range just before the mapping", 0, a - CHUNK, CHUNK, -1,
			  ENOENT },
			{ "range just after the mapping", 0, a + size, CHUNK, -1,
			  ENOENT },
			{ "ALL with iova", all, a, 0, -1, EINVAL },
			{ "ALL with size", all, 0, size, -1, EINVAL },
			{ "QUERY with iova", qry, a, 0, -1, EINVAL },
			{ "QUERY with size", qry, 0, CHUNK, -1, EINVAL },
			{ "EVENTFD with iova", evt, a, 0, -1, EINVAL },
			{ "EVENTFD with size", evt, 0, CHUNK, -1, EINVAL },
			{ "HOLD with iova", hld, a, 0, -1, EINVAL },
			{ "HOLD with size", hld, 0, CHUNK, -1, EINVAL },
			{ "HOLD of a range", hld, a, CHUNK, -1, EINVAL },
			{ "RELEASE with iova", rel, a, 0, -1, EINVAL },
			{ "RELEASE with size", rel, 0, CHUNK, -1, EINVAL },
			{ "EVENTFD, a closed fd", evt, 0, 0, closed_fd, EBADF },
			{ "EVENTFD, fd 0x7ffffff0", evt, 0, 0, 0x7ffffff0, EBADF },
			{ "EVENTFD, a pipe", evt, 0, 0, pfd[0], EINVAL },
		};

		for (i = 0; i < ARRAY_SIZE(syncs); i++) {
			const char *what = syncs[i].what;

			ret = vfio_defer_sync_raw(d, syncs[i].flags, syncs[i].iova,
						  syncs[i].size, syncs[i].fd, NULL);
			EXPECT_EQ(-syncs[i].err, ret) TH_LOG("sync, %s", what);
			q = query(_metadata, c);
			EXPECT_TRUE(same_state(&q0, &q))
				TH_LOG("sync, %s: QUERY changed: %s", what,
				       qstr(&q));
		}
	}

	/* argsz short of the struct: EINVAL, before the range is mapped. */
	{
		const uint32_t argsz[] = {
			0, 8,
			offsetof(struct vfio_iommu_type1_defer_sync, deferred),
			sizeof(struct vfio_iommu_type1_defer_sync) - 8,
		};

		for (i = 0; i < ARRAY_SIZE(argsz); i++) {
			struct vfio_iommu_type1_defer_sync s = {
				.argsz = argsz[i],
				.iova = a + 4 * CHUNK,
				.size = CHUNK,
			};
			uint32_t sz = argsz[i];

			ret = ioctl(d->container, VFIO_IOMMU_DEFER_SYNC, &s) ?
				-errno : 0;
			EXPECT_EQ(-EINVAL, ret) TH_LOG("sync with argsz %u", sz);
			q = query(_metadata, c);
			EXPECT_TRUE(same_state(&q0, &q))
				TH_LOG("argsz %u: QUERY changed: %s", sz,
				       qstr(&q));
		}
	}

	/* Invalidating the vaddr of a range still being mapped: EBUSY. */
	ret = vfio_dma_unmap_flags(d, a, size, VFIO_DMA_UNMAP_FLAG_VADDR, NULL);
	EXPECT_EQ(-EBUSY, ret) TH_LOG("UNMAP_FLAG_VADDR of a pending range: %s",
				      strerror(-ret));
	q = query(_metadata, c);
	EXPECT_TRUE(same_state(&q0, &q)) TH_LOG("QUERY changed: %s", qstr(&q));
	assert_reads(_metadata, c, a + CHUNK, buf + CHUNK, "synced chunk");
	EXPECT_FALSE(efd_signalled(efd)) TH_LOG("a bad call signalled the eventfd");

	/* None of it left a mapping at t: unmap finds nothing, a map works. */
	unmapped = ~0ULL;
	ASSERT_EQ(0, vfio_dma_unmap(d, t, size, &unmapped));
	EXPECT_EQ(0ULL, unmapped);
	ASSERT_EQ(0, vfio_dma_map_defer(d, buf + size, t, size));
	expect_state(_metadata, c, 2 * size, CHUNK, "valid map after the bad ones");

	/* The eventfd armed before the bad calls still works. */
	pause_on(_metadata, false);
	ret = efd_wait(efd, HANG_S);
	if (ret)
		q = query(_metadata, c);
	ASSERT_EQ(0, ret) TH_LOG("eventfd lost: %s", qstr(&q));
	expect_state(_metadata, c, 2 * size, 2 * size, "eventfd signalled");
	assert_rw(_metadata, c, t + size / 2, buf + size + size / 2, "at t");
	assert_rw(_metadata, c, a, buf, "at m0");

	/* Fully mapped now: VADDR invalidation works, and DEFER | VADDR does not. */
	ret = vfio_dma_unmap_flags(d, a, size, VFIO_DMA_UNMAP_FLAG_VADDR, NULL);
	ASSERT_EQ(0, ret) TH_LOG("UNMAP_FLAG_VADDR of a mapped range: %s",
				 strerror(-ret));
	EXPECT_EQ(-EINVAL, vfio_dma_map(d, v0, a, size, vd));
	ret = vfio_dma_map(d, v0, a, size, VFIO_DMA_MAP_FLAG_VADDR);
	ASSERT_EQ(0, ret) TH_LOG("MAP_FLAG_VADDR: %s", strerror(-ret));
	assert_reads(_metadata, c, a + size - DMA_LEN, buf + size - DMA_LEN,
		     "m0 after the vaddr update");

	expect_unmap(_metadata, c, a, size);
	expect_unmap(_metadata, c, t, size);
	expect_state(_metadata, c, 0, 0, "unmapped");
	EXPECT_EQ(kb, locked_vm_kb());
	close(pfd[0]);
	close(pfd[1]);
}

/* Capabilities of the calling thread: drop CAP_IPC_LOCK.  0 or -errno. */
static int drop_cap_ipc_lock(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	const unsigned int i = CAP_TO_INDEX(CAP_IPC_LOCK);
	const uint32_t m = CAP_TO_MASK(CAP_IPC_LOCK);

	if (syscall(SYS_capget, &h, data))
		return -errno;
	data[i].effective &= ~m;
	data[i].permitted &= ~m;
	data[i].inheritable &= ~m;
	if (syscall(SYS_capset, &h, data))
		return -errno;
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &h, data))
		return -errno;
	return data[i].effective & m ? -EPERM : 0;
}

struct child_msg {
	int step;
	char msg[200];
};

static __printf(3, 4) int child_fail(struct child_msg *m, int step,
				     const char *fmt, ...)
{
	va_list ap;

	m->step = step;
	va_start(ap, fmt);
	vsnprintf(m->msg, sizeof(m->msg), fmt, ap);
	va_end(ap);
	return step;
}

/*
 * Without CAP_IPC_LOCK and with RLIMIT_MEMLOCK of 8 MiB, on the parent's
 * container: 0, or the step that failed (described in @m).
 */
static int rlimit_child(struct vfio_dev *d, struct child_msg *m)
{
	const size_t limit = 8 * SZ_1M, big = 16 * SZ_1M, small = 4 * SZ_1M;
	const uint64_t iova = 2 * SZ_1G;
	struct rlimit rl = { .rlim_cur = limit, .rlim_max = limit };
	uint64_t unmapped = 0;
	struct vfio_iommu_type1_defer_sync q0, q;
	long base, kb;
	char *buf;
	int ret;

	memset(&q0, 0, sizeof(q0));
	memset(&q, 0, sizeof(q));

	ret = drop_cap_ipc_lock();
	if (ret)
		return child_fail(m, 1, "dropping CAP_IPC_LOCK: %s", strerror(-ret));
	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		return child_fail(m, 2, "setrlimit: %s", strerror(errno));
	buf = mmap(NULL, big, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return child_fail(m, 3, "mmap: %s", strerror(errno));
	base = locked_vm_kb();
	ret = vfio_defer_query(d, &q0);
	if (ret || base < 0)
		return child_fail(m, 4, "QUERY: %s, VmLck %ld", strerror(-ret), base);

	/* Over the limit: refused at once, nothing changes. */
	ret = vfio_dma_map_defer(d, buf, iova, big);
	if (ret != -ENOMEM)
		return child_fail(m, 5, "16 MiB deferred map, 8 MiB limit: %s, not ENOMEM",
				  ret ? strerror(-ret) : "success");
	kb = locked_vm_kb();
	if (kb != base)
		return child_fail(m, 6, "VmLck %ld kB after the refused map, %ld before",
				  kb, base);
	if (vfio_defer_query(d, &q) || !same_state(&q0, &q) || q.deferred)
		return child_fail(m, 7, "QUERY after the refused map: %s",
				  qstr(&q));
	ret = vfio_defer_sync(d, iova, big, NULL);
	if (ret != -ENOENT)
		return child_fail(m, 8, "sync where the refused map was: %s, not ENOENT",
				  ret ? strerror(-ret) : "success");

	/* Within it, the same IOVA maps, and is charged in full at once. */
	ret = vfio_dma_map_defer(d, buf, iova, small);
	if (ret)
		return child_fail(m, 9, "deferred map of 4 MiB: %s", strerror(-ret));
	kb = locked_vm_kb();
	if (kb != base + (long)(small >> 10))
		return child_fail(m, 10, "VmLck %ld kB after a 4 MiB map, %ld before",
				  kb, base);
	/* 4 MiB charged + 8 MiB more > 8 MiB, though nothing is pinned yet. */
	ret = vfio_dma_map_defer(d, buf + small, iova + small, limit);
	if (ret != -ENOMEM)
		return child_fail(m, 11, "second map over the limit: %s, not ENOMEM",
				  ret ? strerror(-ret) : "success");
	ret = vfio_defer_sync_all(d, &q);
	if (ret || q.deferred != small || q.mapped != small)
		return child_fail(m, 12, "sync ALL: %s, %s", strerror(-ret),
				  qstr(&q));
	kb = locked_vm_kb();
	if (kb != base + (long)(small >> 10))
		return child_fail(m, 13, "VmLck %ld kB after the sync", kb);
	ret = vfio_dma_unmap(d, iova, small, &unmapped);
	if (ret || unmapped != small)
		return child_fail(m, 14, "unmap: %s, %llu bytes", strerror(-ret),
				  (unsigned long long)unmapped);
	kb = locked_vm_kb();
	if (kb != base)
		return child_fail(m, 15, "VmLck %ld kB after the unmap, %ld before",
				  kb, base);
	return 0;
}

/*
 * RLIMIT_MEMLOCK is checked for the whole size at map time: a deferred map
 * over the limit fails with ENOMEM at once and leaves nothing behind.  In
 * a child without CAP_IPC_LOCK, on this process's container.
 */
TEST_F_TIMEOUT(async_map_api, rlimit_fails_at_map, 120)
{
	struct ctx *c = &self->c;
	struct child_msg *m;
	int status;
	pid_t pid;

	m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, m);
	memset(m, 0, sizeof(*m));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(rlimit_child(&c->dev, m));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("child: status 0x%x, step %d: %s", status, m->step, m->msg);
	expect_state(_metadata, c, 0, 0, "after the child");
	munmap(m, sizeof(*m));
}

/*
 * The owner of a deferred mapping exits before it is mapped: a sync
 * cannot pin through the dead mm (ESRCH), the workers fail the same way
 * and say so, and the unmap cleans up.  The charge was the child's.
 */
TEST_F_TIMEOUT(async_map_api, owner_exited, 300)
{
	const uint64_t iova = SZ_1G;
	const size_t size = 8 * SZ_1M;
	struct ctx *c = &self->c;
	long long pins0;
	uint64_t end;
	int status, ret;
	long kb;
	pid_t pid;
	struct vfio_iommu_type1_defer_sync q;

	if (!pause_usable(_metadata))
		return;
	kb = locked_vm_kb();
	ASSERT_LE(0, kb);
	pins0 = pins(_metadata);

	pause_on(_metadata, true);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char *buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (buf == MAP_FAILED)
			_exit(2);
		_exit(vfio_dma_map_defer(&c->dev, buf, iova, size) ? 1 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("child's deferred map failed (status 0x%x)", status);
	expect_state(_metadata, c, size, 0, "owner exited");

	ret = vfio_defer_sync(&c->dev, iova, CHUNK, NULL);
	EXPECT_EQ(-ESRCH, ret) TH_LOG("sync after the owner exited: %s",
				      strerror(-ret));

	pause_on(_metadata, false);
	end = now_ms() + HANG_S * 1000ULL;
	do {
		q = query(_metadata, c);
		if (q.failed)
			break;
		usleep(5000);
	} while (now_ms() < end);
	EXPECT_NE(0ULL, q.failed) TH_LOG("no background failure: %s",
					 qstr(&q));
	EXPECT_EQ(0ULL, q.mapped) TH_LOG("%s", qstr(&q));
	EXPECT_EQ((uint32_t)ESRCH, q.error) TH_LOG("%s", qstr(&q));
	assert_not_mapped(_metadata, c, iova, NULL, "owner exited");

	expect_unmap(_metadata, c, iova, size);
	expect_state(_metadata, c, 0, 0, "unmapped");
	EXPECT_EQ(kb, locked_vm_kb());
	expect_pins(_metadata, pins0, "after the unmap");
}

/* The original type1 (v1) IOMMU does not defer: EINVAL, a normal map works. */
TEST_F_TIMEOUT(async_map_api, v1_container_rejects, 60)
{
	struct ctx *c = &self->c;
	const uint64_t iova = SZ_1G;
	const size_t size = 4 * SZ_1M;
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE |
			 VFIO_DMA_MAP_FLAG_DEFER,
		.iova = iova,
		.size = size,
	};
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = size,
	};
	int container, group, ret;
	char path[64];

	map.vaddr = (uintptr_t)buf_alloc(_metadata, c, size);
	vfio_dev_close(&c->dev);
	container = open(VFIO_CONTAINER_PATH, O_RDWR);
	ASSERT_LE(0, container);
	ASSERT_EQ(1, ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU));
	snprintf(path, sizeof(path), "/dev/vfio/%d", c->dev.group_id);
	group = open(path, O_RDWR);
	ASSERT_LE(0, group) TH_LOG("open %s: %s", path, strerror(errno));
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_SET_CONTAINER, &container));
	ASSERT_EQ(0, ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));

	ret = ioctl(container, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
	EXPECT_EQ(-EINVAL, ret) TH_LOG("deferred map on a type1 v1 container");
	map.flags &= ~VFIO_DMA_MAP_FLAG_DEFER;
	ret = ioctl(container, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
	EXPECT_EQ(0, ret) TH_LOG("normal map at the same IOVA: %s", strerror(-ret));
	ASSERT_EQ(0, ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap));
	EXPECT_EQ(size, unmap.size);
	close(group);
	close(container);
}

TEST_HARNESS_MAIN
