// SPDX-License-Identifier: GPL-2.0
/*
 * The pre-zeroed hugetlb pool (CONFIG_HUGETLB_PAGE_PREZERO): its knobs,
 * its counters, and above all that a page a task gets is always zero.
 *
 * The pool zeroes free huge pages ahead of use and a fault on a page known
 * to be zero maps it without clearing it.  A page that was written and
 * still counted as zero would hand one process's data to another, so most
 * of these tests fill pages with a pattern in one process, free them, and
 * check every byte of what another process faults in next, while the
 * pool is zeroed in the background, explicitly (prezero_now), toggled,
 * grown, shrunk, demoted and soft-offlined.
 *
 * Every test restores the pools (nr_hugepages, prezero, prezero_workers)
 * as it found them.  Waits are bounded only to catch hangs, never timed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "hugetlb.h"
#include "sysfs.h"

#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE	101
#endif

#define SZ_2M		(2UL * 1024 * 1024)
#define SZ_1G		(1024UL * 1024 * 1024)
/* Pages of 2 MiB the tests work with, and the stress test's workers. */
#define POOL_PAGES	48L
#define STRESS_PROCS	4
#define STRESS_ROUNDS	24
#define STRESS_MAX_MAP	6
/* Bound on waiting for background zeroing: a hang guard, not a timing. */
#define ZERO_WAIT_S	600

static const char * const global_files[] = {
	"prezero", "nr_prezeroed", "prezero_now", "prezero_workers",
	"prezero_fault_hit", "prezero_fault_miss", "prezero_zeroed_background",
	"prezero_zeroed_explicit", "prezero_cancelled",
};

static const char * const node_files[] = {
	"prezero", "nr_prezeroed", "prezero_now",
};

static long rd(unsigned long hp, const char *file)
{
	return hugetlb_pool_read(hp, -1, file);
}

static int wr(unsigned long hp, const char *file, const char *val)
{
	return hugetlb_pool_write(hp, -1, file, val);
}

/* A pool file's value; 0 for a write-only one that exists.  Or -errno. */
static long rd_or_wo(unsigned long hp, int node, const char *file)
{
	long v = hugetlb_pool_read(hp, node, file);

	return v == -EACCES || v == -EPERM || v == -EIO ? 0 : v;
}

/* Whether hugetlb_prezero=1 is on the kernel command line. */
static bool boot_prezero(void)
{
	char cmdline[4096] = "";
	FILE *f = fopen("/proc/cmdline", "r");

	if (f) {
		if (!fgets(cmdline, sizeof(cmdline), f))
			cmdline[0] = 0;
		fclose(f);
	}
	return strstr(cmdline, "hugetlb_prezero=1");
}

/*
 * Wait until every free page of the pool is known zero: the background
 * workers have caught up.  0, or -ETIMEDOUT.
 */
static int wait_all_zeroed(unsigned long hp)
{
	int i;

	for (i = 0; i < ZERO_WAIT_S * 10; i++) {
		long free = rd(hp, "free_hugepages");
		long zeroed = rd(hp, "nr_prezeroed");

		if (free >= 0 && zeroed == free)
			return 0;
		usleep(100 * 1000);
	}
	return -ETIMEDOUT;
}

/*
 * First touch of every page is a read of all of it: the number of pages
 * that held anything but zeroes.
 */
static long count_dirty(const char *p, long npages, unsigned long hp)
{
	long i, bad = 0;

	for (i = 0; i < npages; i++)
		if (mem_first_nonzero(p + i * hp, hp) >= 0)
			bad++;
	return bad;
}

static void fill(char *p, long npages, unsigned long hp, unsigned char c)
{
	long i;

	for (i = 0; i < npages; i++) {
		memset(p + i * hp, c, hp);
		p[i * hp] = 0x80 | c;
	}
}

/* In a child: take @npages pages, fill them with a pattern, exit. */
static int fill_and_free(long npages, unsigned long hp, enum hugetlb_backing how)
{
	int status, fd;
	pid_t pid;
	char *p;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		p = hugetlb_map(how, npages, hp, &fd);
		if (p == MAP_FAILED)
			_exit(1);
		fill(p, npages, hp, 0x5a);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -EIO;
}

/* A pool a test works with, and what to restore afterwards. */
struct pool {
	unsigned long hp;
	long saved_nr;		/* -1 until set up */
	long saved_prezero;
	long saved_workers;
};

/* Set up @pool with at least @pages available pages of @hp bytes. */
static void pool_setup(struct __test_metadata *_metadata, struct pool *pool,
		       unsigned long hp, long pages)
{
	int ret;

	pool->hp = hp;
	pool->saved_nr = -1;
	if (!hugetlb_size_supported(hp))
		SKIP(return, "no %lu kB pool", hp >> 10);
	if (rd(hp, "prezero") == -ENOENT)
		SKIP(return, "kernel without CONFIG_HUGETLB_PAGE_PREZERO");
	pool->saved_prezero = rd(hp, "prezero");
	pool->saved_workers = rd(hp, "prezero_workers");
	ASSERT_LE(0, pool->saved_prezero);
	ASSERT_LE(1, pool->saved_workers);
	ret = hugetlb_ensure_avail(hp, pages, &pool->saved_nr);
	if (ret == -ENOMEM)
		SKIP(return, "cannot get %ld free %lu kB pages", pages,
		     hp >> 10);
	ASSERT_EQ(0, ret);
}

static void pool_teardown(struct pool *pool)
{
	char buf[32];

	if (pool->saved_nr < 0)
		return;
	snprintf(buf, sizeof(buf), "%ld", pool->saved_prezero);
	wr(pool->hp, "prezero", buf);
	snprintf(buf, sizeof(buf), "%ld", pool->saved_workers);
	wr(pool->hp, "prezero_workers", buf);
	hugetlb_set_nr_pages(pool->hp, pool->saved_nr);
}

/* The tests that apply to both sizes. */
FIXTURE(prezero) {
	struct pool pool;
	unsigned long hp;
};

FIXTURE_VARIANT(prezero) {
	unsigned long hp;	/* huge page size */
	long pages;		/* available pages the test wants */
};

FIXTURE_VARIANT_ADD(prezero, huge_2m) {
	.hp = SZ_2M,
	.pages = POOL_PAGES,
};

/* The gigantic pool gets its page from hugepagesz=1G hugepages=1. */
FIXTURE_VARIANT_ADD(prezero, gigantic_1g) {
	.hp = SZ_1G,
	.pages = 1,
};

FIXTURE_SETUP(prezero)
{
	self->hp = variant->hp;
	pool_setup(_metadata, &self->pool, variant->hp, variant->pages);
}

FIXTURE_TEARDOWN(prezero)
{
	pool_teardown(&self->pool);
}

/* Every knob and counter is there, and the defaults are as documented. */
TEST_F(prezero, knobs)
{
	long nr = hugetlb_avail_pages(self->hp);
	size_t i;

	for (i = 0; i < ARRAY_SIZE(global_files); i++) {
		const char *file = global_files[i];

		EXPECT_LE(0, rd_or_wo(self->hp, -1, file))
			TH_LOG("%s is missing", file);
	}
	for (i = 0; i < ARRAY_SIZE(node_files); i++) {
		const char *file = node_files[i];

		EXPECT_LE(0, rd_or_wo(self->hp, 0, file))
			TH_LOG("node0's %s is missing", file);
	}
	EXPECT_EQ(boot_prezero(), self->pool.saved_prezero);
	EXPECT_EQ(self->pool.saved_prezero,
		  hugetlb_pool_read(self->hp, 0, "prezero"));
	/* hugetlb_prezero=1: the pool reserved at boot gets zeroed unasked. */
	if (boot_prezero())
		EXPECT_EQ(0, wait_all_zeroed(self->hp));
	EXPECT_LE(0, rd(self->hp, "nr_prezeroed"));
	EXPECT_LE(rd(self->hp, "nr_prezeroed"), rd(self->hp, "free_hugepages"));
	EXPECT_LE(1, nr);
}

/* Bad writes fail with EINVAL and change nothing; read-only stays so. */
TEST_F(prezero, invalid_writes)
{
	static const char * const bad_bool[] = { "2", "-1", "abc", "1x", "0x1",
						 "11", "4294967297" };
	static const char * const bad_now[] = { "0", "2", "-1", "x" };
	static const char * const bad_workers[] = { "0", "-1", "100000", "x" };
	long prezero = rd(self->hp, "prezero");
	long workers = rd(self->hp, "prezero_workers");
	long zeroed = rd(self->hp, "nr_prezeroed");
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_bool); i++) {
		EXPECT_EQ(-EINVAL, wr(self->hp, "prezero", bad_bool[i]))
			TH_LOG("prezero <- \"%s\"", bad_bool[i]);
		EXPECT_EQ(-EINVAL, hugetlb_pool_write(self->hp, 0, "prezero",
						      bad_bool[i]));
	}
	for (i = 0; i < ARRAY_SIZE(bad_now); i++) {
		EXPECT_EQ(-EINVAL, wr(self->hp, "prezero_now", bad_now[i]))
			TH_LOG("prezero_now <- \"%s\"", bad_now[i]);
		EXPECT_EQ(-EINVAL, hugetlb_pool_write(self->hp, 0,
						      "prezero_now",
						      bad_now[i]));
	}
	for (i = 0; i < ARRAY_SIZE(bad_workers); i++) {
		const char *val = bad_workers[i];

		EXPECT_EQ(-EINVAL, wr(self->hp, "prezero_workers", val))
			TH_LOG("prezero_workers <- \"%s\"", val);
	}
	EXPECT_NE(0, wr(self->hp, "nr_prezeroed", "0"));
	EXPECT_NE(0, wr(self->hp, "prezero_fault_hit", "0"));

	EXPECT_EQ(prezero, rd(self->hp, "prezero"));
	EXPECT_EQ(workers, rd(self->hp, "prezero_workers"));
	if (!prezero)
		EXPECT_EQ(zeroed, rd(self->hp, "nr_prezeroed"));
}

/*
 * prezero=1: the free pages get zeroed in the background, and faults on
 * them map them without clearing (hits), every byte zero.
 */
TEST_F_TIMEOUT(prezero, background, 900)
{
	long n = hugetlb_avail_pages(self->hp), hit, miss, bg;
	char *p;
	int fd;

	ASSERT_EQ(0, fill_and_free(n, self->hp, HUGETLB_PRIVATE));
	bg = rd(self->hp, "prezero_zeroed_background");
	ASSERT_EQ(0, wr(self->hp, "prezero", "1"));
	EXPECT_EQ(1, hugetlb_pool_read(self->hp, 0, "prezero"));
	ASSERT_EQ(0, wait_all_zeroed(self->hp))
		TH_LOG("%ld of %ld free pages zeroed", rd(self->hp, "nr_prezeroed"),
		       rd(self->hp, "free_hugepages"));
	EXPECT_LE(bg + 1, rd(self->hp, "prezero_zeroed_background"));

	hit = rd(self->hp, "prezero_fault_hit");
	miss = rd(self->hp, "prezero_fault_miss");
	p = hugetlb_map(HUGETLB_PRIVATE, n, self->hp, &fd);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, count_dirty(p, n, self->hp));
	EXPECT_EQ(hit + n, rd(self->hp, "prezero_fault_hit"));
	EXPECT_EQ(miss, rd(self->hp, "prezero_fault_miss"));
	EXPECT_LE(rd(self->hp, "nr_prezeroed"), rd(self->hp, "free_hugepages"));

	/* Written and freed: not zero any more, until the workers are back. */
	fill(p, n, self->hp, 0x33);
	hugetlb_unmap(p, n, self->hp, fd);
	ASSERT_EQ(0, wait_all_zeroed(self->hp));
	p = hugetlb_map(HUGETLB_FALLOCATE, n, self->hp, &fd);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, count_dirty(p, n, self->hp));
	EXPECT_EQ(hit + 2 * n, rd(self->hp, "prezero_fault_hit"));
	hugetlb_unmap(p, n, self->hp, fd);
}

/*
 * prezero=0: nothing is zeroed in the background; prezero_now zeroes the
 * free pages in the writer's task, and only dirty ones.
 */
TEST_F_TIMEOUT(prezero, explicit, 900)
{
	long n = hugetlb_avail_pages(self->hp), bg, ex, miss, zero;
	char *p;
	int fd;

	ASSERT_EQ(0, wr(self->hp, "prezero", "0"));
	ASSERT_EQ(0, fill_and_free(n, self->hp, HUGETLB_MEMFD));
	bg = rd(self->hp, "prezero_zeroed_background");
	ex = rd(self->hp, "prezero_zeroed_explicit");
	/* The pages just written are not known zero. */
	EXPECT_LE(rd(self->hp, "nr_prezeroed"),
		  rd(self->hp, "free_hugepages") - n);

	/* Per node first, then globally: the second finds nothing to do. */
	ASSERT_EQ(0, hugetlb_pool_write(self->hp, 0, "prezero_now", "1"));
	EXPECT_EQ(rd(self->hp, "free_hugepages"), rd(self->hp, "nr_prezeroed"));
	EXPECT_LE(ex + n, rd(self->hp, "prezero_zeroed_explicit"));
	ex = rd(self->hp, "prezero_zeroed_explicit");
	ASSERT_EQ(0, wr(self->hp, "prezero_now", "1"));
	EXPECT_EQ(ex, rd(self->hp, "prezero_zeroed_explicit"));
	EXPECT_EQ(bg, rd(self->hp, "prezero_zeroed_background"));

	miss = rd(self->hp, "prezero_fault_miss");
	p = hugetlb_map(HUGETLB_MEMFD, n, self->hp, &fd);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, count_dirty(p, n, self->hp));
	EXPECT_EQ(miss, rd(self->hp, "prezero_fault_miss"));
	fill(p, n, self->hp, 0x44);
	hugetlb_unmap(p, n, self->hp, fd);

	/* prezero=0: the pages just written stay dirty and get cleared. */
	usleep(500 * 1000);
	EXPECT_EQ(bg, rd(self->hp, "prezero_zeroed_background"));
	zero = rd(self->hp, "nr_prezeroed");
	p = hugetlb_map(HUGETLB_PRIVATE, n, self->hp, &fd);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, count_dirty(p, n, self->hp));
	EXPECT_EQ(miss + n - (zero < n ? zero : n),
		  rd(self->hp, "prezero_fault_miss"));
	hugetlb_unmap(p, n, self->hp, fd);
}

/*
 * Growing the pool with prezero=1 zeroes the new pages; shrinking it
 * while the workers run stops them cleanly, and the counters add up.
 */
TEST_F_TIMEOUT(prezero, grow_shrink, 900)
{
	long nr = hugetlb_nr_pages(self->hp), half = nr / 2, i;

	ASSERT_EQ(0, wr(self->hp, "prezero", "1"));
	for (i = 0; i < 6; i++) {
		ASSERT_EQ(0, hugetlb_set_nr_pages(self->hp, i & 1 ? half : nr));
		EXPECT_LE(rd(self->hp, "nr_prezeroed"),
			  rd(self->hp, "free_hugepages"));
	}
	ASSERT_EQ(0, wait_all_zeroed(self->hp));
	EXPECT_EQ(rd(self->hp, "free_hugepages"), rd(self->hp, "nr_prezeroed"));
	EXPECT_EQ(hugetlb_pool_read(self->hp, 0, "nr_prezeroed"),
		  rd(self->hp, "nr_prezeroed"));

	/* Off: the zero pages stay zero and are still preferred. */
	ASSERT_EQ(0, wr(self->hp, "prezero", "0"));
	ASSERT_EQ(0, hugetlb_set_nr_pages(self->hp, half));
	EXPECT_EQ(rd(self->hp, "free_hugepages"), rd(self->hp, "nr_prezeroed"));
}

/*
 * Take every free page while the workers are still busy: each allocation
 * that would succeed without pre-zeroing succeeds, pages being zeroed are
 * waited for, and every byte reads zero.
 */
TEST_F_TIMEOUT(prezero, allocate_while_zeroing, 900)
{
	long n, i;
	char *p;
	int fd;

	ASSERT_EQ(0, wr(self->hp, "prezero", "0"));
	ASSERT_EQ(0, fill_and_free(hugetlb_avail_pages(self->hp), self->hp,
				   HUGETLB_PRIVATE));
	ASSERT_EQ(0, wr(self->hp, "prezero_workers", "1"));
	for (i = 0; i < 3; i++) {
		n = hugetlb_avail_pages(self->hp);
		ASSERT_EQ(0, wr(self->hp, "prezero", "1"));
		p = hugetlb_map(i == 1 ? HUGETLB_FALLOCATE : HUGETLB_PRIVATE, n, self->hp, &fd);
		ASSERT_NE(MAP_FAILED, p);
		EXPECT_EQ(0, count_dirty(p, n, self->hp));
		EXPECT_EQ(rd(self->hp, "free_hugepages"),
			  rd(self->hp, "resv_hugepages"));
		fill(p, n, self->hp, 0x66);
		hugetlb_unmap(p, n, self->hp, fd);
		ASSERT_EQ(0, wr(self->hp, "prezero", "0"));
	}
}

/*
 * A 1 GiB page split into 2 MiB pages: the pause stops the worker that
 * clears it first, its zero state is dropped, and the 512 new pages are
 * zeroed by the 2 MiB pool's workers and read zero.
 */
FIXTURE(prezero_1g) {
	struct pool giant;
	struct pool small;
};

FIXTURE_SETUP(prezero_1g)
{
	pool_setup(_metadata, &self->giant, SZ_1G, 1);
	pool_setup(_metadata, &self->small, SZ_2M, 0);
}

FIXTURE_TEARDOWN(prezero_1g)
{
	pool_teardown(&self->small);
	pool_teardown(&self->giant);
}

TEST_F_TIMEOUT(prezero_1g, demote, 900)
{
	long nr_2m = hugetlb_nr_pages(SZ_2M), n;
	char *p;
	int fd;

	ASSERT_EQ(0, fill_and_free(1, SZ_1G, HUGETLB_PRIVATE));
	ASSERT_EQ(0, wr(SZ_2M, "prezero", "1"));
	ASSERT_EQ(0, wr(SZ_1G, "prezero", "1"));
	/* Demote right away: the worker is probably clearing it. */
	ASSERT_EQ(0, wr(SZ_1G, "demote", "1"));
	EXPECT_EQ(0, rd(SZ_1G, "nr_prezeroed"));
	EXPECT_EQ(0, rd(SZ_1G, "free_hugepages"));
	n = hugetlb_nr_pages(SZ_2M) - nr_2m;
	ASSERT_EQ(512, n);
	ASSERT_EQ(0, wait_all_zeroed(SZ_2M));
	p = hugetlb_map(HUGETLB_PRIVATE, n, SZ_2M, &fd);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, count_dirty(p, n, SZ_2M));
	hugetlb_unmap(p, n, SZ_2M, fd);

	/* The 1 GiB pool gets its page back: later tests use it. */
	ASSERT_EQ(0, hugetlb_set_nr_pages(SZ_2M, nr_2m));
	EXPECT_EQ(0, hugetlb_set_nr_pages(SZ_1G, self->giant.saved_nr));
	EXPECT_EQ(self->giant.saved_nr, hugetlb_nr_pages(SZ_1G));
}

/*
 * Dissolving a free gigantic folio while a worker clears it, as memory
 * offline (and hwpoison) do: the dissolve cancels the clearing, waits, and
 * takes the folio; the workers do not start over on it.  The memory block
 * is offlined and onlined again, and the pool grows back into it.
 */
TEST_F_TIMEOUT(prezero_1g, dissolve_while_zeroing, 900)
{
	unsigned long block_size;
	char path[96];
	long long pfn;
	char *p;
	int fd;

	ASSERT_EQ(0, sysfs_read_ulong("/sys/devices/system/memory/block_size_bytes",
				      16, &block_size));
	ASSERT_EQ(0, wr(SZ_1G, "prezero", "1"));
	ASSERT_EQ(0, wait_all_zeroed(SZ_1G));
	p = hugetlb_map(HUGETLB_PRIVATE, 1, SZ_1G, &fd);
	ASSERT_NE(MAP_FAILED, p);
	fill(p, 1, SZ_1G, 0x21);
	pfn = pagemap_pfn(p + SZ_1G / 2);
	ASSERT_LE(0, pfn);
	hugetlb_unmap(p, 1, SZ_1G, fd);

	/* Freed, so a worker starts clearing it: offline a block of it. */
	snprintf(path, sizeof(path), "/sys/devices/system/memory/memory%llu/state",
		 pfn * 4096 / block_size);
	ASSERT_EQ(0, sysfs_write_str(path, "offline"));
	EXPECT_EQ(0, hugetlb_nr_pages(SZ_1G));
	EXPECT_EQ(0, rd(SZ_1G, "nr_prezeroed"));
	ASSERT_EQ(0, sysfs_write_str(path, "online"));

	/* The pool grows back, and the new folio is zeroed as usual. */
	ASSERT_EQ(0, hugetlb_set_nr_pages(SZ_1G, self->giant.saved_nr));
	ASSERT_EQ(self->giant.saved_nr, hugetlb_nr_pages(SZ_1G));
	EXPECT_EQ(0, wait_all_zeroed(SZ_1G));
}

/* Tests of 2 MiB pages only: soft offline, and the stress test. */
FIXTURE(prezero_2m) {
	struct pool pool;
	unsigned long hp;
};

FIXTURE_SETUP(prezero_2m)
{
	self->hp = SZ_2M;
	pool_setup(_metadata, &self->pool, SZ_2M, POOL_PAGES);
}

FIXTURE_TEARDOWN(prezero_2m)
{
	pool_teardown(&self->pool);
}

/*
 * Overcommit: a reservation that the pool cannot cover adds surplus pages
 * to it, which get zeroed like any other before the faults take them.
 */
TEST_F_TIMEOUT(prezero_2m, surplus, 900)
{
	long n = 8, nr = hugetlb_nr_pages(self->hp), hit, overcommit;
	char buf[32];
	char *p;
	int fd;

	overcommit = rd(self->hp, "nr_overcommit_hugepages");
	ASSERT_LE(0, overcommit);
	ASSERT_EQ(0, wr(self->hp, "prezero", "1"));
	ASSERT_EQ(0, hugetlb_set_nr_pages(self->hp, 0));
	snprintf(buf, sizeof(buf), "%ld", n);
	ASSERT_EQ(0, wr(self->hp, "nr_overcommit_hugepages", buf));

	p = hugetlb_map(HUGETLB_PRIVATE, n, self->hp, &fd);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(n, rd(self->hp, "surplus_hugepages"));
	EXPECT_EQ(0, wait_all_zeroed(self->hp));
	hit = rd(self->hp, "prezero_fault_hit");
	EXPECT_EQ(0, count_dirty(p, n, self->hp));
	EXPECT_EQ(hit + n, rd(self->hp, "prezero_fault_hit"));
	hugetlb_unmap(p, n, self->hp, fd);
	EXPECT_EQ(0, rd(self->hp, "surplus_hugepages"));
	EXPECT_EQ(0, rd(self->hp, "nr_prezeroed"));

	snprintf(buf, sizeof(buf), "%ld", overcommit);
	EXPECT_EQ(0, wr(self->hp, "nr_overcommit_hugepages", buf));
	EXPECT_EQ(0, hugetlb_set_nr_pages(self->hp, nr));
}

/*
 * Soft offline migrates an in-use page to a free one (maybe known zero)
 * and dissolves the source: the data survives, the target's zero state
 * does not, and a page freed later reads zero.
 */
TEST_F_TIMEOUT(prezero_2m, soft_offline, 900)
{
	long n = 4, i;
	char *p, *q;
	int fd;

	ASSERT_EQ(0, wr(self->hp, "prezero", "1"));
	ASSERT_EQ(0, wait_all_zeroed(self->hp));
	p = hugetlb_map(HUGETLB_MEMFD, n, self->hp, &fd);
	ASSERT_NE(MAP_FAILED, p);
	fill(p, n, self->hp, 0x77);
	if (madvise(p, self->hp, MADV_SOFT_OFFLINE)) {
		hugetlb_unmap(p, n, self->hp, fd);
		SKIP(return, "MADV_SOFT_OFFLINE: %s", strerror(errno));
	}
	for (i = 1; i < 64; i++)
		EXPECT_EQ(0x77, (unsigned char)p[i * 4096 + 5]);
	EXPECT_EQ(0x80 | 0x77, (unsigned char)p[0]);
	EXPECT_LE(rd(self->hp, "nr_prezeroed"), rd(self->hp, "free_hugepages"));
	hugetlb_unmap(p, n, self->hp, fd);

	/* Whatever is free now, zero or not, reads zero when taken. */
	n = hugetlb_avail_pages(self->hp);
	q = hugetlb_map(HUGETLB_PRIVATE, n, self->hp, &fd);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(0, count_dirty(q, n, self->hp));
	hugetlb_unmap(q, n, self->hp, fd);
}

/*
 * Several processes take, check, fill and free pages in every way while
 * one more toggles prezero, changes the workers, runs prezero_now and
 * grows and shrinks the pool: no page is ever seen non-zero.
 */
static int stress_worker(unsigned long hp, unsigned int seed)
{
	int round, bad = 0;

	for (round = 0; round < STRESS_ROUNDS; round++) {
		long n = 1 + rand_r(&seed) % STRESS_MAX_MAP;
		enum hugetlb_backing how = rand_r(&seed) % HUGETLB_NR_BACKINGS;
		char *p;
		int fd;

		p = hugetlb_map(how, n, hp, &fd);
		if (p == MAP_FAILED)
			continue;	/* the pool shrank under us */
		bad += count_dirty(p, n, hp);
		fill(p, n, hp, 0x10 + round);
		hugetlb_unmap(p, n, hp, fd);
	}
	return bad ? 1 : 0;
}

static void stress_control(unsigned long hp, long nr)
{
	static const char * const steps[] = { "1", "0", "now", "w1", "1",
					      "grow", "wmax", "shrink", "0" };
	unsigned int i;

	for (i = 0; ; i++) {
		const char *s = steps[i % ARRAY_SIZE(steps)];

		if (!strcmp(s, "now"))
			wr(hp, "prezero_now", "1");
		else if (!strcmp(s, "w1"))
			wr(hp, "prezero_workers", "1");
		else if (!strcmp(s, "wmax"))
			wr(hp, "prezero_workers", "2");
		else if (!strcmp(s, "grow"))
			hugetlb_set_nr_pages(hp, nr + 8);
		else if (!strcmp(s, "shrink"))
			hugetlb_set_nr_pages(hp, nr - 8);
		else
			wr(hp, "prezero", s);
		usleep(20 * 1000);
	}
}

TEST_F_TIMEOUT(prezero_2m, stress, 1800)
{
	pid_t pids[STRESS_PROCS], ctl;
	int i, status, failed = 0;

	ASSERT_EQ(0, fill_and_free(hugetlb_avail_pages(self->hp), self->hp,
				   HUGETLB_PRIVATE));
	ctl = fork();
	ASSERT_LE(0, ctl);
	if (!ctl) {
		stress_control(self->hp, hugetlb_nr_pages(self->hp));
		_exit(0);
	}
	for (i = 0; i < STRESS_PROCS; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (!pids[i])
			_exit(stress_worker(self->hp, 1234 + i));
	}
	for (i = 0; i < STRESS_PROCS; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed++;
	}
	kill(ctl, SIGKILL);
	waitpid(ctl, &status, 0);
	EXPECT_EQ(0, failed) TH_LOG("%d workers saw a non-zero page", failed);
	EXPECT_LE(rd(self->hp, "nr_prezeroed"), rd(self->hp, "free_hugepages"));
	EXPECT_LE(rd(self->hp, "resv_hugepages"), rd(self->hp, "free_hugepages"));
}

TEST_HARNESS_MAIN
