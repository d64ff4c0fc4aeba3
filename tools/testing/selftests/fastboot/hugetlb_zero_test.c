// SPDX-License-Identifier: GPL-2.0
/*
 * Huge pages handed to a new owner read as zeroes.
 *
 * hugetlb pages go back to the pool, not to the page allocator, when their
 * owner lets go, and the kernel clears them when it hands them out again:
 * at fault time (hugetlb_no_page()) or in fallocate() on hugetlbfs.  The
 * fastboot patches change how huge pages are prepared for a VM; if a page
 * ever reached a new owner without that clearing, one VM (or process)
 * could read another's memory.  So, for each way of owning the pages:
 *
 *  - a child process takes every available page of the pool and fills it
 *    with a non-zero pattern, then exits (the pool has them all back);
 *  - optionally the pool is shrunk to nothing and grown again, so the pages
 *    come fresh (and dirty) from the page allocator;
 *  - this process takes the same number of pages - necessarily the same
 *    pages when nothing shrank the pool - and every byte must read zero,
 *    on the first touch, through the mapping (and through read() for
 *    fallocate()d pages).
 *
 * nr_hugepages is grown as needed and restored at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "hugetlb.h"

/* Pool the test works with: 128 MiB in 2 MiB pages. */
#define POOL_BYTES	(128UL << 20)
#define MIN_PAGES	4L

FIXTURE(hugetlb_zero) {
	unsigned long hp;	/* huge page size */
	long saved_nr;		/* nr_hugepages to restore, or -1 */
	long npages;		/* pages every owner takes */
};

FIXTURE_VARIANT(hugetlb_zero) {
	enum hugetlb_backing prev;	/* how the first (filling) owner maps them */
	enum hugetlb_backing next;	/* how the new owner gets them */
	bool cycle_pool;	/* shrink the pool to 0 and grow it back between */
};

FIXTURE_VARIANT_ADD(hugetlb_zero, private_to_private) {
	.prev = HUGETLB_PRIVATE,
	.next = HUGETLB_PRIVATE,
};

FIXTURE_VARIANT_ADD(hugetlb_zero, memfd_to_memfd) {
	.prev = HUGETLB_MEMFD,
	.next = HUGETLB_MEMFD,
};

FIXTURE_VARIANT_ADD(hugetlb_zero, memfd_to_private) {
	.prev = HUGETLB_MEMFD,
	.next = HUGETLB_PRIVATE,
};

FIXTURE_VARIANT_ADD(hugetlb_zero, private_to_fallocate) {
	.prev = HUGETLB_PRIVATE,
	.next = HUGETLB_FALLOCATE,
};

FIXTURE_VARIANT_ADD(hugetlb_zero, pool_cycle) {
	.prev = HUGETLB_PRIVATE,
	.next = HUGETLB_PRIVATE,
	.cycle_pool = true,
};

FIXTURE_SETUP(hugetlb_zero)
{
	long want;
	int ret;

	self->saved_nr = -1;
	self->hp = hugetlb_default_size();
	if (!self->hp || !hugetlb_size_supported(self->hp))
		SKIP(return, "no hugetlb pool");

	want = POOL_BYTES / self->hp;
	if (want < MIN_PAGES)
		want = MIN_PAGES;
	ret = hugetlb_ensure_avail(self->hp, want, &self->saved_nr);
	if (ret == -ENOMEM)
		SKIP(return, "cannot get %ld free huge pages of %lu kB", want,
		     self->hp / 1024);
	ASSERT_EQ(0, ret) TH_LOG("growing the pool: %s", strerror(-ret));

	/* Every available page, so the new owner must reuse the old ones. */
	self->npages = hugetlb_avail_pages(self->hp);
	TH_LOG("%ld pages of %lu kB (nr_hugepages was %ld, %ld reserved)",
	       self->npages, self->hp / 1024, self->saved_nr,
	       hugetlb_resv_pages(self->hp));
	if (self->npages < MIN_PAGES) {
		hugetlb_set_nr_pages(self->hp, self->saved_nr);
		ASSERT_LE(MIN_PAGES, self->npages);
	}
}

FIXTURE_TEARDOWN(hugetlb_zero)
{
	if (self->saved_nr >= 0)
		hugetlb_set_nr_pages(self->hp, self->saved_nr);
}

/*
 * The first owner, in a child process: take the pages, fill every byte
 * with a non-zero pattern, check the pool really handed out all of them,
 * and exit.  Exit code 0 or the step that failed.
 */
static int fill_pages(enum hugetlb_backing how, long npages, unsigned long hp)
{
	long free_before = hugetlb_free_pages(hp);
	char *p;
	long i;
	int fd;

	p = hugetlb_map(how, npages, hp, &fd);
	if (p == MAP_FAILED)
		return 10;
	for (i = 0; i < npages; i++) {
		uint64_t *page = (uint64_t *)(p + i * hp);

		memset(page, 0x5a, hp);
		page[0] = 0x8000000000000000ULL | i;	/* never zero */
	}
	if (hugetlb_free_pages(hp) != free_before - npages)
		return 11;
	munmap(p, npages * hp);
	if (fd >= 0)
		close(fd);
	return 0;
}

static long wait_free_pages(unsigned long hp, long want)
{
	long free = hugetlb_free_pages(hp);
	int i;

	/* Freeing is synchronous on exit; allow for deferred frees anyway. */
	for (i = 0; i < 100 && free != want; i++) {
		usleep(100 * 1000);
		free = hugetlb_free_pages(hp);
	}
	return free;
}

TEST_F_TIMEOUT(hugetlb_zero, reused_pages_read_zero, 200)
{
	const unsigned long hp = self->hp;
	long npages = self->npages, free_before, free_now, i, bad = 0;
	int status, fd;
	pid_t pid;
	char *p;

	/* 1. Previous owner: another process fills and frees every page. */
	free_before = hugetlb_free_pages(hp);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(fill_pages(variant->prev, npages, hp));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status))
		TH_LOG("filling child failed at step %d", WEXITSTATUS(status));
	ASSERT_EQ(free_before, wait_free_pages(hp, free_before))
		TH_LOG("the pool did not get its pages back");

	/* 2. Optionally send them through the page allocator. */
	if (variant->cycle_pool) {
		long nr = hugetlb_nr_pages(hp);

		ASSERT_EQ(0, hugetlb_set_nr_pages(hp, 0));
		TH_LOG("pool shrunk from %ld to %ld pages", nr,
		       hugetlb_nr_pages(hp));
		ASSERT_EQ(0, hugetlb_set_nr_pages(hp, nr));
		if (hugetlb_avail_pages(hp) < npages) {
			TH_LOG("pool grew back to %ld pages only",
			       hugetlb_nr_pages(hp));
			npages = hugetlb_avail_pages(hp);
		}
		ASSERT_LE(1, npages);
	}

	/* 3. New owner: every byte of every page reads zero. */
	free_before = hugetlb_free_pages(hp);
	p = hugetlb_map(variant->next, npages, hp, &fd);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mapping %ld pages: %s", npages,
					strerror(errno));
	if (variant->next == HUGETLB_FALLOCATE) {
		static char page[4096];
		ssize_t n;

		/* fallocate() allocated (and cleared) them all already. */
		free_now = hugetlb_free_pages(hp);
		EXPECT_EQ(free_before - npages, free_now);
		n = pread(fd, page, sizeof(page), (npages - 1) * hp + 8192);
		EXPECT_EQ((ssize_t)sizeof(page), n);
		EXPECT_EQ(-1, mem_first_nonzero(page, sizeof(page)))
			TH_LOG("read() of a fallocate()d page is not zero");
	}
	for (i = 0; i < npages; i++) {
		ssize_t off = mem_first_nonzero(p + i * hp, hp);

		if (off < 0)
			continue;
		if (!bad++)
			TH_LOG("page %ld: byte 0x%zx is 0x%02x, first of the leaked data",
			       i, off, (unsigned char)p[i * hp + off]);
	}
	EXPECT_EQ(0, bad) TH_LOG("%ld of %ld huge pages were not cleared",
				 bad, npages);
	if (variant->next != HUGETLB_FALLOCATE)
		EXPECT_EQ(free_before - npages, hugetlb_free_pages(hp));

	munmap(p, npages * hp);
	if (fd >= 0)
		close(fd);
	ASSERT_EQ(free_before, wait_free_pages(hp, free_before));
}

TEST_HARNESS_MAIN
