// SPDX-License-Identifier: GPL-2.0
/*
 * prezero_bench: what the pre-zeroed hugetlb pool saves a VMM that
 * preallocates guest RAM, and how fast the pool gets zeroed.
 *
 * In the test guest, for each size, side by side in one boot:
 *
 *   prezero=0   the pool's pages were written by a previous user, so a
 *               fault clears each one (6.12's behaviour)
 *   prezero=1   the workers zeroed the free pages first, so a fault maps
 *               a page without clearing it
 *
 * each measured as a VMM preallocates: mmap(MAP_SHARED | MAP_POPULATE) of
 * a hugetlb memfd, and fallocate() of one.  The hit share (faults that
 * found a zero page, from prezero_fault_hit/miss) shows what was measured.
 *
 * Then the zeroing itself: the background workers with 1 worker and with
 * one per CPU, and a write to prezero_now (the writer's own task), each
 * zeroing the whole pool of the largest size, in GiB/s.
 *
 * The table is followed by "RESULT <name> <value> <unit>" lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "args.h"
#include "hugetlb.h"
#include "stats.h"

#define MAX_RUNS	15
#define MAX_SIZES	8
/* Bound on waiting for the workers: a hang guard. */
#define WAIT_LIMIT_MS	(600 * 1000.0)

enum { POPULATE, FALLOCATE, NR_WAYS };
enum { COLD, ZEROED, NR_POOLS };

static unsigned long hp;

static long rd(const char *file)
{
	return hugetlb_pool_read(hp, -1, file);
}

static int wr(const char *file, const char *val)
{
	int ret = hugetlb_pool_write(hp, -1, file, val);

	if (ret)
		fprintf(stderr, "prezero_bench: %s <- %s: %s\n", file, val,
			strerror(-ret));
	return ret;
}

/* "256m", "1g": the size in RESULT names. */
static void size_tag(char *buf, size_t len, unsigned long mib)
{
	if (mib % 1024)
		snprintf(buf, len, "%lum", mib);
	else
		snprintf(buf, len, "%lug", mib / 1024);
}

/*
 * Preallocate @len bytes the way @way says and free them again: ms, or -1.
 * The pages go back to the pool dirty.
 */
static double prealloc_ms(int way, size_t len)
{
	int fd = hugetlb_memfd("prezero_bench", hp);
	double t = -1;
	void *p;

	if (fd < 0)
		return -1;
	if (way == POPULATE) {
		if (ftruncate(fd, len))
			goto out;
		t = now_ms();
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_POPULATE, fd, 0);
		t = now_ms() - t;
		if (p == MAP_FAILED)
			t = -1;
		else
			munmap(p, len);
	} else {
		t = now_ms();
		if (fallocate(fd, 0, 0, len))
			t = -1;
		else
			t = now_ms() - t;
	}
out:
	close(fd);
	return t;
}

/* Wait until every free page is known zero: ms waited, or -1. */
static double wait_zeroed(void)
{
	double t0 = now_ms(), t;

	while ((t = now_ms() - t0) < WAIT_LIMIT_MS) {
		long free = rd("free_hugepages");

		if (free >= 0 && rd("nr_prezeroed") == free)
			return t;
		usleep(2000);
	}
	fprintf(stderr, "prezero_bench: the workers did not finish\n");
	return -1;
}

/* Make every free page dirty: a fault clears and frees each one. */
static int dirty_pool(void)
{
	long free = rd("free_hugepages");

	return free > 0 && prealloc_ms(POPULATE, free * hp) < 0 ? -1 : 0;
}

/* Zero the (dirty) pool with @workers background workers: GiB/s, or -1. */
static double background_gibps(int workers)
{
	double gib = rd("free_hugepages") * (double)hp / (1UL << 30), t;
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", workers);
	if (wr("prezero", "0") || dirty_pool() || wr("prezero_workers", buf))
		return -1;
	t = now_ms();
	if (wr("prezero", "1"))
		return -1;
	t = wait_zeroed() < 0 ? -1 : now_ms() - t;
	return t > 0 ? gib / (t / 1000) : -1;
}

/* Zero the (dirty) pool by writing prezero_now: GiB/s, or -1. */
static double explicit_gibps(void)
{
	double gib = rd("free_hugepages") * (double)hp / (1UL << 30), t;

	if (wr("prezero", "0") || dirty_pool())
		return -1;
	t = now_ms();
	if (wr("prezero_now", "1"))
		return -1;
	t = now_ms() - t;
	return t > 0 ? gib / (t / 1000) : -1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: prezero_bench [-m MiB[,MiB...]] [-r runs]\n"
		"  -m  sizes to preallocate (default 256,1024)\n"
		"  -r  runs per size and pool, median reported (default 3, at most %d)\n",
		MAX_RUNS);
}

int main(int argc, char **argv)
{
	unsigned long mib[MAX_SIZES] = { 256, 1024 };
	double fig[MAX_SIZES][NR_POOLS][NR_WAYS], hits[MAX_SIZES];
	double bg1, bgall, ex;
	int nsizes = 2, runs = 3, ncpu, opt, i, w, r, rc = 1;
	long saved_nr, saved_prezero, saved_workers, need = 0;
	char tag[24], buf[24];

	opt = parse_size_args(argc, argv, mib, &nsizes, MAX_SIZES, &runs,
			      MAX_RUNS, usage);
	if (opt >= 0)
		return opt;
	hp = hugetlb_default_size();
	if (!hp || rd("prezero") < 0) {
		fprintf(stderr, "prezero_bench: no pre-zeroed hugetlb pool (CONFIG_HUGETLB_PAGE_PREZERO)\n");
		return 1;
	}
	for (i = 0; i < nsizes; i++) {
		long n = (long)((mib[i] << 20) / hp);

		need = n > need ? n : need;
	}
	saved_prezero = rd("prezero");
	saved_workers = rd("prezero_workers");
	/* Exactly the pages measured, so that "all free pages zero" means them. */
	saved_nr = hugetlb_nr_pages(hp);
	if (hugetlb_set_nr_pages(hp, need) || hugetlb_free_pages(hp) != need) {
		fprintf(stderr, "prezero_bench: cannot get %ld huge pages\n", need);
		goto out;
	}
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	for (i = 0; i < nsizes; i++) {
		size_t len = mib[i] << 20;
		double v[NR_POOLS][NR_WAYS][MAX_RUNS];
		long hit0, miss0;

		/* prezero=0 and a pool of pages a previous user wrote. */
		if (wr("prezero", "0") || dirty_pool())
			goto out;
		for (r = 0; r < runs; r++)
			for (w = 0; w < NR_WAYS; w++)
				v[COLD][w][r] = prealloc_ms(w, len);

		/* prezero=1: the workers zero each freed page again. */
		if (wr("prezero", "1"))
			goto out;
		hit0 = rd("prezero_fault_hit");
		miss0 = rd("prezero_fault_miss");
		for (r = 0; r < runs; r++) {
			for (w = 0; w < NR_WAYS; w++) {
				if (wait_zeroed() < 0)
					goto out;
				v[ZEROED][w][r] = prealloc_ms(w, len);
			}
		}
		hits[i] = 100.0 * (rd("prezero_fault_hit") - hit0) /
			  (rd("prezero_fault_hit") - hit0 +
			   rd("prezero_fault_miss") - miss0);
		for (w = 0; w < NR_WAYS; w++) {
			for (r = 0; r < runs; r++) {
				if (v[COLD][w][r] < 0 || v[ZEROED][w][r] < 0) {
					perror("prezero_bench: preallocating");
					goto out;
				}
			}
			fig[i][COLD][w] = median(v[COLD][w], runs);
			fig[i][ZEROED][w] = median(v[ZEROED][w], runs);
		}
	}

	bg1 = background_gibps(1);
	bgall = background_gibps(ncpu);
	ex = explicit_gibps();
	if (bg1 < 0 || bgall < 0 || ex < 0)
		goto out;

	printf("Preallocating hugetlb memory (%lu kB pages), median of %d runs (ms)\n\n",
	       hp >> 10, runs);
	printf("%-6s %-10s %12s %12s %9s %10s\n", "MiB", "", "prezero=0",
	       "prezero=1", "speedup", "hit share");
	for (i = 0; i < nsizes; i++) {
		for (w = 0; w < NR_WAYS; w++)
			printf("%-6lu %-10s %12.1f %12.1f %8.0fx %9.1f%%\n",
			       mib[i], w == POPULATE ? "populate" : "fallocate",
			       fig[i][COLD][w], fig[i][ZEROED][w],
			       fig[i][COLD][w] / fig[i][ZEROED][w], hits[i]);
	}
	printf("\nZeroing the pool (%ld MiB): background, 1 worker %.2f GiB/s, %d workers %.2f GiB/s; prezero_now %.2f GiB/s\n\n",
	       need * (long)(hp >> 20), bg1, ncpu, bgall, ex);

	for (i = 0; i < nsizes; i++) {
		size_tag(tag, sizeof(tag), mib[i]);
		printf("RESULT prezero_populate_%s_speedup %.1f x\n", tag,
		       fig[i][COLD][POPULATE] / fig[i][ZEROED][POPULATE]);
		printf("RESULT prezero_fallocate_%s_speedup %.1f x\n", tag,
		       fig[i][COLD][FALLOCATE] / fig[i][ZEROED][FALLOCATE]);
		printf("RESULT prezero_populate_%s_cold_ms %.1f ms\n", tag,
		       fig[i][COLD][POPULATE]);
		printf("RESULT prezero_populate_%s_zeroed_ms %.1f ms\n", tag,
		       fig[i][ZEROED][POPULATE]);
		printf("RESULT prezero_fault_hit_%s_share %.1f %%\n", tag,
		       hits[i]);
	}
	printf("RESULT prezero_background_1worker_gibps %.2f GiB/s\n", bg1);
	printf("RESULT prezero_background_all_gibps %.2f GiB/s\n", bgall);
	printf("RESULT prezero_background_all_workers %d workers\n", ncpu);
	printf("RESULT prezero_explicit_gibps %.2f GiB/s\n", ex);
	rc = 0;
out:
	snprintf(buf, sizeof(buf), "%ld", saved_prezero);
	hugetlb_pool_write(hp, -1, "prezero", buf);
	snprintf(buf, sizeof(buf), "%ld", saved_workers);
	hugetlb_pool_write(hp, -1, "prezero_workers", buf);
	hugetlb_set_nr_pages(hp, saved_nr);
	return rc;
}
