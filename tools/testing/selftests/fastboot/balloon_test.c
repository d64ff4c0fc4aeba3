// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-balloon: the guest gives memory back when the host asks, with
 * either driver: the stock virtio_balloon (variant "stock") and fastboot's
 * virtio_balloon_2m (variant "b2m").  The fixture moves the device to the
 * variant's driver, starts from an empty balloon, and in the end gives the
 * device back to the driver it found (the boot's), empty.
 *
 * Every test checks that the two sides agree, exactly, in 4 KiB pages:
 *  - QEMU's query-balloon (RAM minus the balloon);
 *  - the guest's MemTotal: both drivers take ballooned pages out of
 *    totalram unless VIRTIO_BALLOON_F_DEFLATE_ON_OOM was negotiated;
 *  - /proc/vmstat balloon_inflate - balloon_deflate, counted per page by
 *    both drivers;
 *  - for virtio_balloon_2m, its debugfs file (actual_pages = blocks_2m *
 *    512 + pages_4k, and its message counters);
 *  - the messages the host consumed (used-idx of the inflate and deflate
 *    virtqueues, from QEMU): the stock driver sends at most 256 pages per
 *    message, virtio_balloon_2m far more, and its own count must match.
 *
 * Tests: the driver is bound and its features; query-balloon against
 * MemTotal; bad requests are refused and change nothing; inflate and
 * deflate; the same with free memory fragmented so that no free 2 MiB block
 * is left (virtio_balloon_2m falls back to 4 KiB pages); the target changed
 * while the balloon moves; the driver unbound while it inflates, and bound
 * again.
 *
 * The host channel (fastboot.hv=ttyS2 on the kernel command line) is
 * required.  Under TCG the balloon moves slowly, so waits are long and
 * only states are checked, never times.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "../kselftest_harness.h"
#include "balloon.h"
#include "hugetlb.h"
#include "hv.h"
#include "sysfs.h"

#define SZ_1M			(1024LL * 1024)
#define SZ_2M			(2 * SZ_1M)
#define PAGE_4K			4096LL
#define PAGES_2M		512
#define RESIZE_BY		(256 * SZ_1M)
#define MIDWAY_BY		(1024 * SZ_1M)
/* Populated, then all but one 4 KiB page per 2 MiB freed again. */
#define FRAG_MAP		(256 * SZ_1M)
#define FRAG_INFLATE		(96 * SZ_1M)
#define WAIT_MS			(150 * 1000)
#define POLL_MS			200
/* Free memory before and after a full cycle: slab, page cache, stacks. */
#define MEMFREE_SLACK_KB	(16 * 1024)
/* The stock driver's message holds at most this many pages. */
#define STOCK_PFNS		BALLOON_STOCK_PFNS_PER_MSG
/* Knobs fragmented_fallback turns off for its duration. */
#define NR_KNOBS		3
static const char * const knobs[NR_KNOBS] = {
	"/proc/sys/vm/compact_unevictable_allowed",
	"/proc/sys/vm/compaction_proactiveness",
	"/proc/sys/vm/watermark_boost_factor",
};

static inline long long div_up(long long a, long long b)
{
	return (a + b - 1) / b;
}

/* Both sides of the balloon at one moment. */
struct snap {
	int64_t actual;			/* QEMU: RAM minus the balloon */
	long memtotal_kb;
	long long inflated, deflated;	/* /proc/vmstat balloon_{in,de}flate */
	unsigned int vq_inflate, vq_deflate;	/* used-idx */
	/*
	 * balloon_migrate: with BALLOON_COMPACTION (Debian's kernel) the stock
	 * driver's pages can move, each move one message on either queue.
	 */
	long long migrated;
	/* virtio_balloon_2m's debugfs file, if the variant is b2m */
	long long target_pages, actual_pages, blocks_2m, pages_4k, fail_2m,
		  inflated_4k, inflate_msgs, deflate_msgs;
};

FIXTURE(balloon) {
	char dev[NAME_MAX + 1];		/* virtioN of the balloon */
	char boot_drv[NAME_MAX + 1];	/* its driver at setup, given back */
	int64_t ram;			/* RAM size: actual of an empty balloon */
	bool oom;			/* DEFLATE_ON_OOM negotiated */
	long pool_2m;			/* 2 MiB pool size to restore, or -1 */
	char knob[NR_KNOBS][32];	/* values of knobs[] to restore, or "" */
};

FIXTURE_VARIANT(balloon) {
	const char *driver;
	bool b2m;
};

FIXTURE_VARIANT_ADD(balloon, stock) {
	.driver = BALLOON_DRV_STOCK,
	.b2m = false,
};

FIXTURE_VARIANT_ADD(balloon, b2m) {
	.driver = BALLOON_DRV_2M,
	.b2m = true,
};

static long memtotal_kb(void)
{
	return proc_field_kb("/proc/meminfo", "MemTotal");
}

static int take_snap(const char *dev, bool b2m, struct snap *s)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{ "target_pages", offsetof(struct snap, target_pages) },
		{ "actual_pages", offsetof(struct snap, actual_pages) },
		{ "blocks_2m", offsetof(struct snap, blocks_2m) },
		{ "pages_4k", offsetof(struct snap, pages_4k) },
		{ "fail_2m", offsetof(struct snap, fail_2m) },
		{ "inflated_4k_total", offsetof(struct snap, inflated_4k) },
		{ "inflate_msgs", offsetof(struct snap, inflate_msgs) },
		{ "deflate_msgs", offsetof(struct snap, deflate_msgs) },
	};
	unsigned int i;
	int ret;

	memset(s, 0, sizeof(*s));
	ret = balloon_query(&s->actual);
	if (!ret)
		ret = balloon_vq_used(BALLOON_VQ_INFLATE, &s->vq_inflate);
	if (!ret)
		ret = balloon_vq_used(BALLOON_VQ_DEFLATE, &s->vq_deflate);
	if (ret)
		return ret;
	s->memtotal_kb = memtotal_kb();
	s->inflated = proc_vmstat("balloon_inflate");
	s->deflated = proc_vmstat("balloon_deflate");
	s->migrated = proc_vmstat("balloon_migrate");
	if (s->migrated == -ENOENT)
		s->migrated = 0;
	if (s->memtotal_kb < 0 || s->inflated < 0 || s->deflated < 0 ||
	    s->migrated < 0)
		return -ENOENT;
	for (i = 0; b2m && i < ARRAY_SIZE(keys); i++) {
		ret = balloon_stat(dev, keys[i].key,
				   (long long *)((char *)s + keys[i].off));
		if (ret)
			return ret;
	}
	return 0;
}

/* Pages in the balloon as QEMU sees it. */
static long long host_pages(struct _test_data_balloon *self, const struct snap *s)
{
	return (self->ram - s->actual) / PAGE_4K;
}

/*
 * The balloon is at rest in @s, @s0 taken with an empty balloon: QEMU,
 * MemTotal, /proc/vmstat and (b2m) debugfs all hold the same size.
 */
static void check_agree(struct __test_metadata *_metadata,
			struct _test_data_balloon *self, bool b2m,
			const struct snap *s0, const struct snap *s,
			const char *when)
{
	long long pages = host_pages(self, s);
	long long net = (s->inflated - s0->inflated) -
			(s->deflated - s0->deflated);
	long long drop_kb = self->oom ? 0 : pages * (PAGE_4K / 1024);

	TH_LOG("%s: host %lld pages, vmstat +%lld -%lld, MemTotal %ld -> %ld kB",
	       when, pages, s->inflated - s0->inflated,
	       s->deflated - s0->deflated, s0->memtotal_kb, s->memtotal_kb);
	EXPECT_EQ(0, s->actual % PAGE_4K);
	EXPECT_EQ(pages, net)
		TH_LOG("%s: vmstat says %lld pages are in the balloon, QEMU %lld",
		       when, net, pages);
	EXPECT_EQ(drop_kb, s0->memtotal_kb - s->memtotal_kb)
		TH_LOG("%s: MemTotal dropped by %ld kB, expected %lld (deflate-on-oom %s)",
		       when, s0->memtotal_kb - s->memtotal_kb, drop_kb,
		       self->oom ? "on" : "off");
	if (!b2m)
		return;
	TH_LOG("%s: debugfs target %lld actual %lld = %lld blocks + %lld pages",
	       when, s->target_pages, s->actual_pages, s->blocks_2m,
	       s->pages_4k);
	EXPECT_EQ(pages, s->actual_pages);
	EXPECT_EQ(pages, s->target_pages);
	EXPECT_EQ(s->actual_pages, s->blocks_2m * PAGES_2M + s->pages_4k);
}

/*
 * Inflate messages the host consumed between @a and @b: at least what the
 * stock driver needs for @pages; virtio_balloon_2m's own count matches and
 * is a fraction of that.
 */
static void check_msgs(struct __test_metadata *_metadata, bool b2m,
		       bool inflate, long long pages,
		       const struct snap *a, const struct snap *b)
{
	unsigned int host = inflate ?
		balloon_vq_delta(a->vq_inflate, b->vq_inflate) :
		balloon_vq_delta(a->vq_deflate, b->vq_deflate);
	long long stock = div_up(pages, STOCK_PFNS);
	long long own = inflate ? b->inflate_msgs - a->inflate_msgs :
				  b->deflate_msgs - a->deflate_msgs;

	TH_LOG("%s of %lld pages: %u messages (stock needs %lld)",
	       inflate ? "inflate" : "deflate", pages, host, stock);
	if (!b2m) {
		EXPECT_LE(stock, host);
		return;
	}
	EXPECT_EQ(own, host)
		TH_LOG("virtio_balloon_2m counted %lld %s messages, the host %u",
		       own, inflate ? "inflate" : "deflate", host);
	EXPECT_LT(host, stock);
	/* 2 MiB blocks, many to a message: well under an eighth. */
	EXPECT_GE(div_up(stock, 8), host);
}

static int set_and_wait(int64_t target, int64_t *last)
{
	int ret = balloon_target(target);

	return ret ? ret : balloon_wait(target, WAIT_MS, POLL_MS, last);
}

/* Wait until the guest has inflated at least one more page than @since. */
static long long wait_moving(long long since, int timeout_ms)
{
	long long now = since;
	int waited;

	for (waited = 0; waited < timeout_ms; waited++) {
		now = proc_vmstat("balloon_inflate");
		if (now != since)
			break;
		usleep(1000);
	}
	return now - since;
}

FIXTURE_SETUP(balloon)
{
	int64_t last = 0;
	int ret;

	self->pool_2m = -1;
	memset(self->knob, 0, sizeof(self->knob));
	if (balloon_find(self->dev, sizeof(self->dev)))
		SKIP(return, "no virtio-balloon device");
	if (!hv_available())
		SKIP(return, "no host channel (%s)", HV_CMDLINE_TOKEN);
	ASSERT_EQ(0, balloon_driver(self->dev, self->boot_drv,
				    sizeof(self->boot_drv)));
	ASSERT_EQ(0, balloon_ram_size(&self->ram));

	/* Empty the balloon, then move it: unbinding deflates anyway. */
	ASSERT_EQ(0, balloon_target(self->ram));
	if (self->boot_drv[0])
		ASSERT_EQ(0, balloon_wait(self->ram, WAIT_MS, POLL_MS, &last))
			TH_LOG("%s did not deflate: %lld of %lld bytes",
			       self->boot_drv, (long long)last,
			       (long long)self->ram);
	ret = balloon_bind(self->dev, variant->driver);
	ASSERT_EQ(0, ret)
		TH_LOG("cannot bind %s to %s (was %s): %s", self->dev,
		       variant->driver, self->boot_drv[0] ?
		       self->boot_drv : "unbound", strerror(-ret));
	ASSERT_EQ(0, balloon_wait(self->ram, WAIT_MS, POLL_MS, &last));
	self->oom = balloon_has_feature(self->dev, BALLOON_F_DEFLATE_ON_OOM);
}

/*
 * In the parent, so that it runs whatever became of the test: memory
 * given back, the balloon empty, the device on the boot's driver.
 */
FIXTURE_TEARDOWN_PARENT(balloon)
{
	char drv[NAME_MAX + 1];
	int64_t last = 0;
	int i;

	if (self->pool_2m >= 0)
		hugetlb_set_nr_pages(SZ_2M, self->pool_2m);
	for (i = 0; i < NR_KNOBS; i++) {
		if (self->knob[i][0])
			sysfs_write_str(knobs[i], self->knob[i]);
	}
	/* A driver that was unbound part-way left nothing to deflate. */
	if (!balloon_driver(self->dev, drv, sizeof(drv)) && !drv[0] &&
	    self->boot_drv[0])
		EXPECT_EQ(0, balloon_bind(self->dev, self->boot_drv));
	EXPECT_EQ(0, set_and_wait(self->ram, &last))
		TH_LOG("could not empty the balloon: %lld of %lld bytes",
		       (long long)last, (long long)self->ram);
	if (self->boot_drv[0])
		EXPECT_EQ(0, balloon_bind(self->dev, self->boot_drv))
			TH_LOG("could not give %s back to %s", self->dev,
			       self->boot_drv);
}

TEST_F(balloon, driver_bound)
{
	char drv[NAME_MAX + 1];
	unsigned int bit;

	ASSERT_EQ(0, balloon_driver(self->dev, drv, sizeof(drv)));
	ASSERT_STREQ(variant->driver, drv);
	TH_LOG("%s bound to %s (boot: %s), deflate-on-oom %s", self->dev, drv,
	       self->boot_drv, self->oom ? "negotiated" : "off");
	EXPECT_TRUE(balloon_has_feature(self->dev, BALLOON_F_STATS_VQ));
	if (!variant->b2m)
		return;
	/* Free page hinting, page poison, free page reporting: never. */
	for (bit = BALLOON_F_DEFLATE_ON_OOM + 1; bit < 24; bit++)
		EXPECT_FALSE(balloon_has_feature(self->dev, bit))
			TH_LOG("feature bit %u negotiated", bit);
}

TEST_F(balloon, query_size)
{
	long kb = memtotal_kb();
	int64_t actual = 0;
	long long pages;

	ASSERT_LT(0, kb);
	ASSERT_EQ(0, balloon_query(&actual));
	TH_LOG("query-balloon: actual %lld bytes, RAM %lld, MemTotal %ld kB",
	       (long long)actual, (long long)self->ram, kb);
	EXPECT_EQ(self->ram, actual);
	EXPECT_EQ(0, actual % PAGE_4K);
	if (variant->b2m) {
		ASSERT_EQ(0, balloon_stat(self->dev, "actual_pages", &pages));
		EXPECT_EQ(0, pages);
	}
	/*
	 * MemTotal is RAM minus what the kernel reserved (well under
	 * 512 MiB on the test guest), minus the balloon (empty here).
	 */
	EXPECT_LE(kb * 1024LL, actual);
	EXPECT_GE(kb * 1024LL + 512 * SZ_1M, actual);
}

TEST_F(balloon, bad_requests)
{
	static const char * const bad[] = {
		/* qmp_balloon(): value <= 0 -> "Parameter 'value' expects a size" */
		"{\"execute\":\"balloon\",\"arguments\":{\"value\":0}}",
		"{\"execute\":\"balloon\",\"arguments\":{\"value\":-1}}",
		"{\"execute\":\"balloon\",\"arguments\":{\"value\":-1073741824}}",
		/* QAPI input checks */
		"{\"execute\":\"balloon\",\"arguments\":{\"value\":\"1G\"}}",
		"{\"execute\":\"balloon\"}",
		"{\"execute\":\"no-such-command\"}",
	};
	struct snap before, after;
	char reply[1024];
	unsigned int i;

	ASSERT_EQ(0, take_snap(self->dev, variant->b2m, &before));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ASSERT_EQ(0, hv_qmp(bad[i], reply, sizeof(reply)));
		EXPECT_TRUE(hv_reply_error(reply))
			TH_LOG("%s -> %s", bad[i], reply);
	}
	ASSERT_EQ(0, hv_qmp(bad[0], reply, sizeof(reply)));
	EXPECT_NE(NULL, strstr(reply, "expects a size")) TH_LOG("%s", reply);
	EXPECT_EQ(-EINVAL, balloon_target(-4096));

	/* Give a wrongly accepted target time to show, then compare. */
	sleep(2);
	ASSERT_EQ(0, take_snap(self->dev, variant->b2m, &after));
	EXPECT_EQ(before.actual, after.actual);
	EXPECT_EQ(before.inflated, after.inflated);
	EXPECT_EQ(before.deflated, after.deflated);
	EXPECT_EQ(after.migrated - before.migrated,
		  (long long)balloon_vq_delta(before.vq_inflate,
					      after.vq_inflate));
	EXPECT_EQ(after.migrated - before.migrated,
		  (long long)balloon_vq_delta(before.vq_deflate,
					      after.vq_deflate));
}

TEST_F_TIMEOUT(balloon, resize, 400)
{
	long long pages = RESIZE_BY / PAGE_4K;
	struct snap s0, s1, s2;
	int64_t last = 0;

	ASSERT_EQ(0, take_snap(self->dev, variant->b2m, &s0));

	/* Inflate by RESIZE_BY. */
	ASSERT_EQ(0, set_and_wait(self->ram - RESIZE_BY, &last))
		TH_LOG("balloon stuck at %lld bytes, target %lld",
		       (long long)last, (long long)(self->ram - RESIZE_BY));
	ASSERT_EQ(0, take_snap(self->dev, variant->b2m, &s1));
	EXPECT_EQ(pages, host_pages(self, &s1));
	EXPECT_EQ(pages, s1.inflated - s0.inflated);
	EXPECT_EQ(0, s1.deflated - s0.deflated);
	check_agree(_metadata, self, variant->b2m, &s0, &s1, "inflated");
	check_msgs(_metadata, variant->b2m, true, pages, &s0, &s1);
	EXPECT_EQ(s1.migrated - s0.migrated,
		  (long long)balloon_vq_delta(s0.vq_deflate, s1.vq_deflate));
	if (variant->b2m && s1.fail_2m == s0.fail_2m) {
		/* Nothing failed: all of it in 2 MiB blocks. */
		EXPECT_EQ(pages / PAGES_2M, s1.blocks_2m);
		EXPECT_EQ(0, s1.pages_4k);
	}

	/* And back. */
	ASSERT_EQ(0, set_and_wait(self->ram, &last))
		TH_LOG("balloon stuck at %lld bytes, target %lld",
		       (long long)last, (long long)self->ram);
	ASSERT_EQ(0, take_snap(self->dev, variant->b2m, &s2));
	EXPECT_EQ(pages, s2.deflated - s1.deflated);
	EXPECT_EQ(s1.inflated, s2.inflated);
	check_agree(_metadata, self, variant->b2m, &s0, &s2, "deflated");
	check_msgs(_metadata, variant->b2m, false, pages, &s1, &s2);
	EXPECT_EQ(s2.migrated - s1.migrated,
		  (long long)balloon_vq_delta(s1.vq_inflate, s2.vq_inflate));
	EXPECT_EQ(s0.memtotal_kb, s2.memtotal_kb);
	if (variant->b2m) {
		EXPECT_EQ(0, s2.blocks_2m);
		EXPECT_EQ(0, s2.pages_4k);
	}
}

/* Free 2 MiB blocks the balloon could take (zones above DMA). */
static long free_2m_blocks(void)
{
	char line[512], zone[32];
	long n = 0, cnt;
	int order, off, pos;
	FILE *f;

	f = fopen("/proc/buddyinfo", "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Node %*d, zone %31s%n", zone, &pos) != 1 ||
		    !strcmp(zone, "DMA"))
			continue;
		for (order = 0; sscanf(line + pos, "%ld%n", &cnt, &off) == 1;
		     order++, pos += off) {
			if (order >= 9)
				n += cnt << (order - 9);
		}
	}
	fclose(f);
	return n;
}

TEST_F_TIMEOUT(balloon, fragmented_fallback, 600)
{
	long long pages = FRAG_INFLATE / PAGE_4K;
	long left, free_kb, nr;
	struct snap s0, s1, s2;
	int64_t last = 0;
	size_t off;
	char *p;
	int i;

	/*
	 * Free memory with no 2 MiB block in it, and none that compaction
	 * could make: populate FRAG_MAP with 4 KiB pages, free all but the
	 * first page of every 2 MiB again and lock those, and keep compaction
	 * away from locked pages.  Most of the holes are of order 8 or less,
	 * so the kernel still finds the small blocks it needs (kernel stacks
	 * are order 2 here).  No watermark boost (the kernel's answer to
	 * fragmenting fallbacks, tens of MiB) either.
	 */
	for (i = 0; i < NR_KNOBS; i++) {
		ASSERT_EQ(0, sysfs_read_str(knobs[i], self->knob[i],
					    sizeof(self->knob[i])));
		ASSERT_EQ(0, sysfs_write_str(knobs[i], "0"));
	}
	p = mmap(NULL, FRAG_MAP, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, madvise(p, FRAG_MAP, MADV_NOHUGEPAGE));
	for (off = 0; off < FRAG_MAP; off += PAGE_4K)
		p[off] = 1;
	for (off = 0; off < FRAG_MAP; off += SZ_2M)
		ASSERT_EQ(0, madvise(p + off + PAGE_4K, SZ_2M - PAGE_4K,
				     MADV_DONTNEED));
	ASSERT_EQ(0, mlock2(p, FRAG_MAP, MLOCK_ONFAULT));

	/*
	 * Every 2 MiB block the kernel can still find or make (free lists,
	 * per-CPU lists, compaction of what is not locked) into the 2 MiB
	 * hugetlb pool: ask for more than there can be.
	 */
	nr = hugetlb_nr_pages(SZ_2M);
	ASSERT_LE(0, nr);
	self->pool_2m = nr;
	free_kb = mem_free_kb();
	ASSERT_LT(0, free_kb);
	ASSERT_EQ(0, hugetlb_set_nr_pages(SZ_2M, nr + free_kb / 2048 + 1));
	left = free_2m_blocks();
	free_kb = mem_free_kb();
	TH_LOG("2 MiB pool %ld -> %ld pages; %ld free 2 MiB blocks left, free %ld kB",
	       self->pool_2m, hugetlb_nr_pages(SZ_2M), left, free_kb);
	/* Room for the inflate, and more than as much again left over. */
	ASSERT_LT((2 * FRAG_INFLATE + 32 * SZ_1M) / 1024, free_kb);
	/* The inflate needs more than the blocks left can give. */
	ASSERT_GT(pages / 2, left * PAGES_2M);

	ASSERT_EQ(0, take_snap(self->dev, variant->b2m, &s0));
	ASSERT_EQ(0, set_and_wait(self->ram - FRAG_INFLATE, &last))
		TH_LOG("balloon stuck at %lld bytes, target %lld (free %ld kB)",
		       (long long)last, (long long)(self->ram - FRAG_INFLATE),
		       mem_free_kb());
	ASSERT_EQ(0, take_snap(self->dev, variant->b2m, &s1));
	EXPECT_EQ(pages, host_pages(self, &s1));
	EXPECT_EQ(pages, s1.inflated - s0.inflated);
	check_agree(_metadata, self, variant->b2m, &s0, &s1, "inflated");
	check_msgs(_metadata, variant->b2m, true, pages, &s0, &s1);
	if (variant->b2m) {
		TH_LOG("fail_2m +%lld, 4 KiB pages inflated +%lld",
		       s1.fail_2m - s0.fail_2m, s1.inflated_4k - s0.inflated_4k);
		EXPECT_LT(0, s1.fail_2m - s0.fail_2m);
		EXPECT_LT(0, s1.inflated_4k - s0.inflated_4k);
		EXPECT_LT(0, s1.pages_4k);
	}

	ASSERT_EQ(0, set_and_wait(self->ram, &last))
		TH_LOG("balloon stuck at %lld bytes, target %lld",
		       (long long)last, (long long)self->ram);
	ASSERT_EQ(0, take_snap(self->dev, variant->b2m, &s2));
	EXPECT_EQ(pages, s2.deflated - s1.deflated);
	check_agree(_metadata, self, variant->b2m, &s0, &s2, "deflated");
	check_msgs(_metadata, variant->b2m, false, pages, &s1, &s2);
	if (variant->b2m) {
		EXPECT_EQ(0, s2.blocks_2m);
		EXPECT_EQ(0, s2.pages_4k);
	}
	munmap(p, FRAG_MAP);
}

TEST_F_TIMEOUT(balloon, target_change_midway, 600)
{
	int64_t big = self->ram - MIDWAY_BY, small = self->ram - MIDWAY_BY / 4;
	struct snap s0, s1, s2;
	int64_t last = 0;
	long long moved;

	ASSERT_EQ(0, take_snap(self->dev, variant->b2m, &s0));

	/* Towards a large target; as soon as it moves, a smaller one. */
	ASSERT_EQ(0, balloon_target(big));
	moved = wait_moving(s0.inflated, WAIT_MS);
	ASSERT_LT(0, moved);
	ASSERT_EQ(0, balloon_target(small));
	TH_LOG("target changed after %lld of %lld pages", moved,
	       MIDWAY_BY / PAGE_4K);
	ASSERT_EQ(0, balloon_wait(small, WAIT_MS, POLL_MS, &last))
		TH_LOG("balloon stuck at %lld bytes, target %lld",
		       (long long)last, (long long)small);
	ASSERT_EQ(0, take_snap(self->dev, variant->b2m, &s1));
	EXPECT_EQ(MIDWAY_BY / 4 / PAGE_4K, host_pages(self, &s1));
	check_agree(_metadata, self, variant->b2m, &s0, &s1, "smaller");

	/* Large again; as soon as it moves, back to the full size. */
	ASSERT_EQ(0, balloon_target(big));
	moved = wait_moving(s1.inflated, WAIT_MS);
	ASSERT_LT(0, moved);
	ASSERT_EQ(0, balloon_target(self->ram));
	TH_LOG("target changed after %lld more pages", moved);
	ASSERT_EQ(0, balloon_wait(self->ram, WAIT_MS, POLL_MS, &last))
		TH_LOG("balloon stuck at %lld bytes, target %lld",
		       (long long)last, (long long)self->ram);
	/* At rest: nothing may still be moving. */
	sleep(1);
	ASSERT_EQ(0, take_snap(self->dev, variant->b2m, &s2));
	EXPECT_EQ(self->ram, s2.actual);
	EXPECT_EQ(s2.inflated - s0.inflated, s2.deflated - s0.deflated);
	EXPECT_EQ(s0.memtotal_kb, s2.memtotal_kb);
	check_agree(_metadata, self, variant->b2m, &s0, &s2, "full size");
	if (variant->b2m) {
		EXPECT_EQ(0, s2.blocks_2m);
		EXPECT_EQ(0, s2.pages_4k);
	}
}

TEST_F_TIMEOUT(balloon, rebind_midway, 600)
{
	int64_t big = self->ram - MIDWAY_BY;
	long free0, free1, free2;
	struct snap s0, s1, s2, s3;
	char drv[NAME_MAX + 1];
	int64_t last = 0;
	long long moved;
	int ret;

	free0 = mem_free_kb();
	ASSERT_EQ(0, take_snap(self->dev, variant->b2m, &s0));

	/* Unbind while it inflates: remove gives everything back. */
	ASSERT_EQ(0, balloon_target(big));
	moved = wait_moving(s0.inflated, WAIT_MS);
	ASSERT_LT(0, moved);
	ret = balloon_unbind(self->dev);
	ASSERT_EQ(0, ret) TH_LOG("unbind: %s", strerror(-ret));
	TH_LOG("unbound after %lld of %lld pages", moved, MIDWAY_BY / PAGE_4K);
	ASSERT_EQ(0, balloon_driver(self->dev, drv, sizeof(drv)));
	ASSERT_STREQ("", drv);
	ASSERT_EQ(0, take_snap(self->dev, false, &s1));
	EXPECT_EQ(self->ram, s1.actual)
		TH_LOG("unbound with %lld pages still in the balloon",
		       host_pages(self, &s1));
	EXPECT_EQ(s1.inflated - s0.inflated, s1.deflated - s0.deflated);
	EXPECT_EQ(s0.memtotal_kb, s1.memtotal_kb);
	free1 = mem_free_kb();
	TH_LOG("unbound: free %ld -> %ld kB", free0, free1);

	/* Bound again, it inflates to the target it finds. */
	ret = balloon_bind(self->dev, variant->driver);
	ASSERT_EQ(0, ret) TH_LOG("bind: %s", strerror(-ret));
	ASSERT_EQ(0, balloon_wait(big, WAIT_MS, POLL_MS, &last))
		TH_LOG("balloon stuck at %lld bytes, target %lld",
		       (long long)last, (long long)big);
	ASSERT_EQ(0, take_snap(self->dev, variant->b2m, &s2));
	EXPECT_EQ(MIDWAY_BY / PAGE_4K, host_pages(self, &s2));
	check_agree(_metadata, self, variant->b2m, &s0, &s2, "rebound");

	ASSERT_EQ(0, set_and_wait(self->ram, &last))
		TH_LOG("balloon stuck at %lld bytes, target %lld",
		       (long long)last, (long long)self->ram);
	ASSERT_EQ(0, take_snap(self->dev, variant->b2m, &s3));
	free2 = mem_free_kb();
	TH_LOG("deflated: free %ld -> %ld kB", free0, free2);
	EXPECT_EQ(self->ram, s3.actual);
	EXPECT_EQ(s0.memtotal_kb, s3.memtotal_kb);
	EXPECT_EQ(s3.inflated - s0.inflated, s3.deflated - s0.deflated);
	check_agree(_metadata, self, variant->b2m, &s0, &s3, "deflated");
	EXPECT_GE(MEMFREE_SLACK_KB, labs(free2 - free0));
	if (variant->b2m) {
		EXPECT_EQ(0, s3.blocks_2m);
		EXPECT_EQ(0, s3.pages_4k);
	}
}

TEST_HARNESS_MAIN
