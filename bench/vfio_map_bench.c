// SPDX-License-Identifier: GPL-2.0
/*
 * vfio_map_bench: what a VM's start costs on the stock paths, per backing.
 *
 * For anonymous (4 KiB, THP off for the range) and hugetlb (2 MiB) memory of the same size, run in
 * the test guest with QEMU's edu device bound to vfio-pci:
 *
 *   populate    touch every page of a fresh mapping (fault + zero)
 *   map_warm    VFIO_IOMMU_MAP_DMA of populated memory (pin + IOMMU map)
 *   map_cold    VFIO_IOMMU_MAP_DMA of untouched memory: pinning faults and
 *               zeroes every page, which is what a VMM's map of fresh guest
 *               RAM pays
 *   unmap       VFIO_IOMMU_UNMAP_DMA of the cold mapping (unpin)
 *
 * Each figure is the median of -r runs.  The table is followed by one
 * "RESULT <name> <value> <unit>" line per figure and the hugetlb/anon
 * ratios, which are what to compare: absolute times under TCG mean little.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "edu.h"
#include "hugetlb.h"
#include "stats.h"
#include "vfio.h"

#define IOVA_BASE	(1ULL << 32)
#define MAX_RUNS	15

enum { POPULATE, MAP_WARM, MAP_COLD, UNMAP, NR_FIGURES };
static const char * const figure_name[NR_FIGURES] = {
	"populate", "map_warm", "map_cold", "unmap",
};

static void *map_backing(size_t len, int huge)
{
	void *p;

	if (huge)
		return hugetlb_mmap(len / hugetlb_default_size(),
				    hugetlb_default_size(), false);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* 4 KiB pages, as the "anon" row says, not THP */
	madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "vfio_map_bench: %s: %s\n", what, strerror(err));
	exit(1);
}

/* One run of every figure for one backing; times in ms into fig[]. */
static void run_once(struct vfio_dev *d, size_t len, int huge,
		     double fig[NR_FIGURES])
{
	uint64_t unmapped;
	double t0;
	size_t off;
	char *p;
	int ret;

	p = map_backing(len, huge);
	if (!p)
		die("mmap", errno);
	t0 = now_ms();
	for (off = 0; off < len; off += 4096)
		p[off] = 1;
	fig[POPULATE] = now_ms() - t0;

	t0 = now_ms();
	ret = vfio_dma_map_rw(d, p, IOVA_BASE, len);
	fig[MAP_WARM] = now_ms() - t0;
	if (ret)
		die("VFIO_IOMMU_MAP_DMA (populated)", -ret);
	ret = vfio_dma_unmap(d, IOVA_BASE, len, &unmapped);
	if (ret)
		die("VFIO_IOMMU_UNMAP_DMA", -ret);
	munmap(p, len);

	p = map_backing(len, huge);
	if (!p)
		die("mmap", errno);
	t0 = now_ms();
	ret = vfio_dma_map_rw(d, p, IOVA_BASE, len);
	fig[MAP_COLD] = now_ms() - t0;
	if (ret)
		die("VFIO_IOMMU_MAP_DMA (untouched)", -ret);
	t0 = now_ms();
	ret = vfio_dma_unmap(d, IOVA_BASE, len, &unmapped);
	fig[UNMAP] = now_ms() - t0;
	if (ret)
		die("VFIO_IOMMU_UNMAP_DMA", -ret);
	munmap(p, len);
}

int main(int argc, char **argv)
{
	static const char * const backing[2] = { "anon", "hugetlb" };
	double runs[2][NR_FIGURES][MAX_RUNS], res[2][NR_FIGURES];
	unsigned long hpage = hugetlb_default_size();
	long saved = -1;
	struct vfio_dev d;
	size_t mib = 256, len;
	int nruns = 3, opt, b, f, r;

	while ((opt = getopt(argc, argv, "m:r:")) != -1) {
		switch (opt) {
		case 'm':
			mib = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			nruns = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-m MiB] [-r runs]\n", argv[0]);
			return 2;
		}
	}
	if (!mib || nruns < 1 || nruns > MAX_RUNS || !hpage)
		die("arguments", EINVAL);
	len = mib << 20;
	len -= len % hpage;

	if (vfio_dev_open(&d, EDU_VENDOR, EDU_DEVICE)) {
		fprintf(stderr, "vfio_map_bench: edu via vfio: %s\n", d.err);
		return 1;
	}
	if (hugetlb_ensure_avail(hpage, len / hpage, &saved))
		die("huge page pool", ENOMEM);

	for (r = 0; r < nruns; r++)
		for (b = 0; b < 2; b++) {
			double fig[NR_FIGURES];

			run_once(&d, len, b, fig);
			for (f = 0; f < NR_FIGURES; f++)
				runs[b][f][r] = fig[f];
		}
	for (b = 0; b < 2; b++)
		for (f = 0; f < NR_FIGURES; f++)
			res[b][f] = median(runs[b][f], nruns);

	printf("\nBaseline, stock 6.12 paths: %zu MiB, median of %d runs (ms)\n\n",
	       len >> 20, nruns);
	printf("%-9s %10s %10s %10s %10s\n", "backing",
	       "populate", "map_warm", "map_cold", "unmap");
	for (b = 0; b < 2; b++)
		printf("%-9s %10.1f %10.1f %10.1f %10.1f\n", backing[b],
		       res[b][POPULATE], res[b][MAP_WARM], res[b][MAP_COLD],
		       res[b][UNMAP]);
	printf("%-9s %9.3fx %9.3fx %9.3fx %9.3fx\n\n", "huge/anon",
	       res[1][POPULATE] / res[0][POPULATE],
	       res[1][MAP_WARM] / res[0][MAP_WARM],
	       res[1][MAP_COLD] / res[0][MAP_COLD],
	       res[1][UNMAP] / res[0][UNMAP]);

	for (b = 0; b < 2; b++)
		for (f = 0; f < NR_FIGURES; f++)
			printf("RESULT baseline_%s_%s_%zumib %.1f ms\n", backing[b],
			       figure_name[f], len >> 20, res[b][f]);
	for (f = 0; f < NR_FIGURES; f++)
		printf("RESULT baseline_hugetlb_vs_anon_%s_ratio %.3f x\n",
		       figure_name[f], res[1][f] / res[0][f]);

	if (saved >= 0)
		hugetlb_set_nr_pages(hpage, saved);
	vfio_dev_close(&d);
	return 0;
}
