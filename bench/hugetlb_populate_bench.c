// SPDX-License-Identifier: GPL-2.0
/*
 * hugetlb_populate_bench: what preallocating guest RAM from the hugetlb
 * pool costs, and how much of it is zeroing.
 *
 * A VMM preallocates guest RAM from a hugetlb memfd (QEMU -mem-prealloc,
 * or a VFIO pin of it).  For each size, in the test guest:
 *
 *   populate    mmap(MAP_SHARED | MAP_POPULATE) of a fresh hugetlb memfd:
 *               every huge page is taken from the pool and zeroed in the
 *               fault path
 *   fallocate   fallocate() of a fresh hugetlb memfd: the same, through
 *               hugetlbfs
 *   remap       a second MAP_POPULATE mapping of the populated memfd: the
 *               same page-table work with no allocation and no zeroing,
 *               the floor any pre-zeroing can reach
 *
 * Each figure is the median of -r runs, every run freeing its pages back
 * to the pool, measured side by side.  populate / remap is the share of
 * the populate cost that is allocation and zeroing.  The table is followed
 * by "RESULT <name> <value> <unit>" lines.
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

enum { POPULATE, FALLOCATE, REMAP, NR_FIGURES };
static const char * const figure_name[NR_FIGURES] = {
	"populate", "fallocate", "remap",
};

/* mmap(MAP_SHARED | MAP_POPULATE) of @len bytes of @fd: ms, or -1. */
static double populate_ms(int fd, size_t len)
{
	double t = now_ms();
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, fd, 0);

	t = now_ms() - t;
	if (p == MAP_FAILED)
		return -1;
	munmap(p, len);
	return t;
}

/* One run for @len bytes: the three figures in ms, or -1 on failure. */
static int run_once(size_t len, unsigned long hp, double *ms)
{
	int fd = hugetlb_memfd("populate", hp);
	double t;

	if (fd < 0 || ftruncate(fd, len))
		goto fail;
	/* The first mapping allocates and zeroes, the second finds it all. */
	ms[POPULATE] = populate_ms(fd, len);
	ms[REMAP] = populate_ms(fd, len);
	if (ms[POPULATE] < 0 || ms[REMAP] < 0)
		goto fail;
	close(fd);

	fd = hugetlb_memfd("fallocate", hp);
	if (fd < 0)
		goto fail;
	t = now_ms();
	if (fallocate(fd, 0, 0, len))
		goto fail;
	ms[FALLOCATE] = now_ms() - t;
	close(fd);
	return 0;
fail:
	perror("hugetlb_populate_bench");
	if (fd >= 0)
		close(fd);
	return -1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: hugetlb_populate_bench [-m MiB[,MiB...]] [-r runs]\n"
		"  -m  sizes to populate (default 256,1024)\n"
		"  -r  runs per size, median reported (default 3, at most %d)\n",
		MAX_RUNS);
}

int main(int argc, char **argv)
{
	unsigned long mib[MAX_SIZES] = { 256, 1024 };
	double fig[MAX_SIZES][NR_FIGURES];
	unsigned long hp = hugetlb_default_size();
	int nsizes = 2, runs = 3, opt, i, f, r;
	long saved, need = 0;

	opt = parse_size_args(argc, argv, mib, &nsizes, MAX_SIZES, &runs,
			      MAX_RUNS, usage);
	if (opt >= 0)
		return opt;
	if (!hp) {
		fprintf(stderr, "hugetlb_populate_bench: no hugetlb support\n");
		return 1;
	}
	for (i = 0; i < nsizes; i++) {
		long n = (long)((mib[i] << 20) / hp);

		need = n > need ? n : need;
	}
	if (hugetlb_ensure_avail(hp, need, &saved)) {
		fprintf(stderr, "hugetlb_populate_bench: cannot get %ld huge pages\n",
			need);
		return 1;
	}

	for (i = 0; i < nsizes; i++) {
		double v[NR_FIGURES][MAX_RUNS];

		for (r = 0; r < runs; r++) {
			double ms[NR_FIGURES];

			if (run_once(mib[i] << 20, hp, ms)) {
				hugetlb_set_nr_pages(hp, saved);
				return 1;
			}
			for (f = 0; f < NR_FIGURES; f++)
				v[f][r] = ms[f];
		}
		for (f = 0; f < NR_FIGURES; f++)
			fig[i][f] = median(v[f], runs);
	}
	hugetlb_set_nr_pages(hp, saved);

	printf("Preallocating from the hugetlb pool (%lu kB pages), median of %d runs (ms)\n\n",
	       hp >> 10, runs);
	printf("%-8s %10s %10s %10s %16s\n", "MiB", "populate", "fallocate",
	       "remap", "populate/remap");
	for (i = 0; i < nsizes; i++)
		printf("%-8lu %10.1f %10.1f %10.1f %15.1fx\n", mib[i],
		       fig[i][POPULATE], fig[i][FALLOCATE], fig[i][REMAP],
		       fig[i][POPULATE] / fig[i][REMAP]);
	printf("\n");
	for (i = 0; i < nsizes; i++) {
		for (f = 0; f < NR_FIGURES; f++)
			printf("RESULT hugetlb_%s_%lumib %.1f ms\n", figure_name[f],
			       mib[i], fig[i][f]);
		printf("RESULT hugetlb_populate_vs_remap_%lumib_ratio %.1f x\n",
		       mib[i], fig[i][POPULATE] / fig[i][REMAP]);
	}
	return 0;
}
