// SPDX-License-Identifier: GPL-2.0
/*
 * nested_start_bench: how long a VM with a passthrough device takes to
 * start, stock against fastboot, as a function of its memory size.
 *
 * Runs in the nested scenario's L1 (scripts/nested-bench.sh boots it):
 * the patched QEMU from /opt/l2 starts L2 under KVM with edu passed
 * through (vfio-pci) and a virtio balloon (lib/l2vm.h has the command
 * line), l2.mode=marker.  For each memory backing (-b, default anon then
 * hugetlb), each size (-m, MiB, default 256,1024,4096,8192) and each
 * QEMU configuration:
 *
 *   stock     the same binary with the fastboot properties off: QEMU pins
 *             and maps all of L2's RAM (VFIO_IOMMU_MAP_DMA) before L2 runs
 *   fastboot  x-defer-map=on (threshold 64 MiB) and x-initial-target=512M
 *             (none for 512 MiB or less): the mapping is deferred, L2
 *             boots into its balloon, the rest is mapped in the background
 *   nohold    (-H) fastboot with x-defer-map-hold=off: the background
 *             workers start at the first deferred map, as they did before
 *             QEMU held them until the fence is released.  The ratio
 *             nohold / fastboot at the largest size is what holding gains
 *   nopass    (-n) the same VM without the vfio-pci device: nothing is
 *             pinned or mapped, KVM faults memory in as the guest touches
 *             it.  What is left is the guest's own boot, the floor of the
 *             fastboot curve: how far start time can flatten at all
 *
 * it measures, -r times (default 1; medians; in rounds, each round every
 * size in turn; after one unmeasured start, -W: none), the start time:
 * from QEMU's launch (fork) to FASTBOOT-L2-UP on L2's serial console
 * (L2's /init prints it first thing; the console file is polled every
 * 5 ms).  For fastboot also the breakdown x-query-fastboot gives
 * (CLOCK_MONOTONIC, the same clock as the launch time):
 *
 *   init          launch -> machine created, just before the vCPUs run
 *   to-target     machine created -> the guest reached its balloon target
 *                 and everything outside the balloon was mapped (fence)
 *   marker        launch -> FASTBOOT-L2-UP (the start time)
 *   mapped-done   launch -> background mapping finished (each run waits
 *                 for it: the FASTBOOT_COMPLETE event)
 *
 * and checks that everything deferred got mapped and nothing failed.
 * Without an initial target (512 MiB or less) there is no fence: QEMU
 * maps everything before the guest runs, as stock does.
 *
 * Anonymous memory runs first, before the hugetlb pool exists.  Then the
 * 2 MiB pool is sized for the largest hugetlb size (it must get every
 * page, or the benchmark fails); all hugetlb stock runs use the pool with
 * prezero = 0 (each fault clears its page, as in 6.12), then prezero = 1
 * and each fastboot run waits first until every free page is pre-zeroed
 * (nr_prezeroed == free_hugepages).  At the end the pool shrinks to 0 and
 * its settings are restored, also after SIGINT, SIGTERM or SIGHUP.
 *
 * Output: a table (medians), one "PLOT <backing> <MiB> <stock_s>
 * <fastboot_s>[ <nopass_s>]" line per point for scripts/nested-bench.sh's
 * plot, and
 *
 *   RESULT e2e_start_<backing>_<MiB>m_stock <s> s         each point
 *   RESULT e2e_start_<backing>_<MiB>m_fastboot <s> s
 *   RESULT e2e_start_speedup_largest_<backing> <x> x      stock / fastboot
 *   RESULT e2e_start_speedup_largest <x> x                min over backings
 *   RESULT e2e_start_flatness_<backing> <x> x             fastboot largest /
 *                                                         fastboot smallest
 *   RESULT e2e_start_flatness <x> x                       max over backings
 *   RESULT e2e_start_hold_gain_largest_<backing> <x> x    with -H: nohold /
 *                                                         fastboot, largest
 *   RESULT e2e_start_flatness_nopass_<backing> <x> x      with -n: the same
 *   RESULT e2e_start_flatness_nopass <x> x                for nopass
 *
 * Exits non-zero if any run failed (the other points are still measured).
 * Needs root, /dev/kvm (modprobe kvm_amd) and edu bound to vfio-pci.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "args.h"
#include "diag.h"
#include "hugetlb.h"
#include "l2vm.h"
#include "stats.h"
#include "sysfs.h"

#define PROG		"nested_start_bench"
#define SZ_1M		(1024UL * 1024)
#define SZ_2M		(2 * SZ_1M)
#define MAX_SIZES	8
#define MAX_RUNS	15
#define STOP_MS		(60 * 1000)
#define RELEASE_MS	(120 * 1000)
#define PREZERO_MS	(300 * 1000)
/* Waits are sliced to notice signals. */
#define SLICE_MS	1000
#define THP_ENABLED	"/sys/kernel/mm/transparent_hugepage/enabled"

enum { ANON, HUGETLB, NR_BACKINGS };
static const char * const backing_name[NR_BACKINGS] = { "anon", "hugetlb" };

enum { STOCK, FASTBOOT, NOPASS, NOHOLD, NR_CONFS };
static const char * const conf_name[NR_CONFS] = {
	"stock", "fastboot", "nopass", "nohold"
};

/* One run's times, seconds from the launch (NAN: not measured). */
struct sample {
	double marker;
	double init, to_target, complete;
};

static struct {
	int timeout_ms;
	bool have[NR_CONFS];
	bool quiet;
	bool warmup;
	const char *stock_file;		/* -S: stock medians of another boot */
} opt = {
	.timeout_ms = 900 * 1000,
	.have = { true, true, false, false },
	.warmup = true,
};

/* Everything cleanup() may have to undo. */
static struct {
	struct l2vm vm;			/* the L2 running now, if any */
	bool pool_touched;
	long nr_saved;			/* nr_hugepages at the start */
	char prezero_saved[8];		/* prezero at the start, "" if none */
} g;

static int cleanup(void)
{
	int ret, rc = 0;

	l2vm_cleanup(&g.vm);
	if (!g.pool_touched)
		return 0;
	g.pool_touched = false;
	ret = hugetlb_set_nr_pages(SZ_2M, 0);
	if (!ret)
		ret = hugetlb_set_nr_pages(SZ_2M, g.nr_saved);
	if (ret) {
		fprintf(stderr, PROG ": cannot set nr_hugepages back to %ld: %s\n",
			g.nr_saved, strerror(-ret));
		rc = -1;
	}
	if (g.prezero_saved[0]) {
		ret = hugetlb_pool_write(SZ_2M, -1, "prezero", g.prezero_saved);
		if (ret) {
			fprintf(stderr, PROG ": cannot set prezero back to %s: %s\n",
				g.prezero_saved, strerror(-ret));
			rc = -1;
		}
	}
	return rc;
}

/* ---- the hugetlb pool ------------------------------------------------- */

static void set_prezero(const char *val)
{
	int ret = hugetlb_pool_write(SZ_2M, -1, "prezero", val);

	if (ret)
		die_err(-ret, "prezero <- %s (CONFIG_HUGETLB_PAGE_PREZERO?)", val);
}

/* An empty pool with prezero = 0, then @pages pages, all of them. */
static void pool_setup(long pages)
{
	char buf[8];
	long nr;
	int ret;

	g.nr_saved = hugetlb_nr_pages(SZ_2M);
	if (g.nr_saved < 0)
		die_err((int)-g.nr_saved, "nr_hugepages of the 2 MiB pool");
	ret = sysfs_read_str("/sys/kernel/mm/hugepages/hugepages-2048kB/prezero",
			     buf, sizeof(buf));
	if (ret)
		die_err(-ret, "prezero of the 2 MiB pool (CONFIG_HUGETLB_PAGE_PREZERO?)");
	snprintf(g.prezero_saved, sizeof(g.prezero_saved), "%s", buf);
	g.pool_touched = true;

	/* No page zeroed before: the stock runs must clear what they take. */
	ret = hugetlb_set_nr_pages(SZ_2M, 0);
	if (ret)
		die_err(-ret, "emptying the 2 MiB pool");
	set_prezero("0");
	ret = hugetlb_set_nr_pages(SZ_2M, pages);
	nr = hugetlb_nr_pages(SZ_2M);
	if (ret || nr != pages)
		die("the 2 MiB pool got %ld of the %ld pages the largest hugetlb size needs: give L1 more memory (scripts/nested-bench.sh: largest size + 2 GiB)",
		    nr, pages);
}

/* Wait until every free page of the pool is known to be zero. */
static void wait_prezeroed(void)
{
	double start = now_ms();
	long zeroed, free_pages;

	for (;;) {
		zeroed = hugetlb_pool_read(SZ_2M, -1, "nr_prezeroed");
		free_pages = hugetlb_free_pages(SZ_2M);
		if (zeroed < 0 || free_pages < 0)
			die("reading nr_prezeroed / free_hugepages: %s",
			    strerror((int)-(zeroed < 0 ? zeroed : free_pages)));
		if (zeroed == free_pages)
			return;
		check_stop();
		if (now_ms() - start > PREZERO_MS)
			die("the pool is not pre-zeroed after %d s: %ld of %ld free pages",
			    PREZERO_MS / 1000, zeroed, free_pages);
		usleep(50 * 1000);
	}
}

/* ---- one run ---------------------------------------------------------- */

/* After an L2: its pins gone and (hugetlb) every pool page free again. */
static bool wait_released(long long pins0, bool hugetlb)
{
	double start = now_ms();
	long long pins;
	long nr, free_pages;

	for (;;) {
		pins = foll_pins_outstanding();
		nr = hugetlb_nr_pages(SZ_2M);
		free_pages = hugetlb_free_pages(SZ_2M);
		if (pins == pins0 && (!hugetlb || nr == free_pages))
			return true;
		check_stop();
		if (now_ms() - start > RELEASE_MS) {
			warn("%d s after L2 stopped: %lld pages pinned (%lld before), %ld of %ld pool pages free",
			     RELEASE_MS / 1000, pins, pins0, free_pages, nr);
			return false;
		}
		usleep(50 * 1000);
	}
}

/* l2vm_wait_line() in slices, so that a signal stops the benchmark. */
static int wait_line(const char *needle, long long *at_us)
{
	double start = now_ms();
	int ret;

	do {
		ret = l2vm_wait_line(&g.vm, needle, SLICE_MS, at_us);
		check_stop();
	} while (ret == -ETIMEDOUT && now_ms() - start < opt.timeout_ms);
	return ret;
}

static int wait_event(const char *name)
{
	double start = now_ms();
	int ret;

	do {
		ret = l2vm_wait_event(&g.vm, name, NULL, 0, SLICE_MS);
		check_stop();
	} while (ret == -ETIMEDOUT && now_ms() - start < opt.timeout_ms);
	return ret;
}

static double since_launch(long long us)
{
	return us ? (us - g.vm.launch_us) / 1e6 : NAN;
}

/*
 * One L2 start (@round < 0: the warm-up); false (and why, with QEMU's
 * logs) if it failed.
 */
static bool one_run(int b, unsigned long mib, int c, int round,
		    struct sample *s)
{
	struct l2vm_opts o = {
		.mem_mib = mib,
		.hugetlb = b == HUGETLB,
		.fastboot = c == FASTBOOT || c == NOHOLD,
		.no_vfio = c == NOPASS,
		.vfio_props = c == NOHOLD ? "x-defer-map-hold=off" : NULL,
	};
	struct l2vm_fastboot f;
	const char *what;
	long long pins0, at;
	int ret;

	s->marker = NAN;
	s->init = NAN;
	s->to_target = NAN;
	s->complete = NAN;
	pins0 = foll_pins_outstanding();
	if (pins0 < 0)
		die_err((int)-pins0, "pins outstanding (/proc/vmstat)");

	ret = l2vm_start(&g.vm, &o);
	if (ret) {
		what = "starting QEMU";
		goto fail;
	}
	ret = wait_line(L2VM_UP, &at);
	if (ret) {
		what = "waiting for " L2VM_UP;
		goto fail;
	}
	s->marker = since_launch(at);

	if (o.fastboot) {
		/*
		 * Without a fence (no initial target) everything is mapped
		 * before the guest runs, and FASTBOOT_COMPLETE may have gone
		 * out before QMP took our connection: ask first.
		 */
		ret = l2vm_query_fastboot(&g.vm, &f);
		if (ret) {
			what = "x-query-fastboot";
			goto fail;
		}
		if (!f.complete_us && strcmp(f.phase, "failed")) {
			ret = wait_event(L2VM_EV_COMPLETE);
			if (ret) {
				what = "waiting for the " L2VM_EV_COMPLETE " event";
				goto fail;
			}
			ret = l2vm_query_fastboot(&g.vm, &f);
			if (ret) {
				what = "x-query-fastboot";
				goto fail;
			}
		}
		s->init = since_launch(f.machine_ready_us);
		s->to_target = f.fence_us && f.machine_ready_us ?
			       (f.fence_us - f.machine_ready_us) / 1e6 : NAN;
		s->complete = since_launch(f.complete_us);
		if (strcmp(f.phase, "complete") || f.failed ||
		    f.mapped != f.deferred || !f.deferred) {
			warn("%s %lu MiB %s: x-query-fastboot at the end: phase %s, deferred %lld, mapped %lld, failed %lld",
			     backing_name[b], mib, conf_name[c], f.phase,
			     (long long)f.deferred, (long long)f.mapped,
			     (long long)f.failed);
			ret = -EPROTO;
			what = "checking the deferred mapping";
			goto fail;
		}
	}

	ret = l2vm_stop(&g.vm, STOP_MS);
	if (ret) {
		what = "stopping L2 (QMP quit)";
		goto fail;
	}
	l2vm_cleanup(&g.vm);
	if (!opt.quiet) {
		char rd[16] = "warm";

		if (round >= 0)
			snprintf(rd, sizeof(rd), "%d", round + 1);
		printf("%-8s %6lu %-9s %5s %9.2f", backing_name[b], mib,
		       conf_name[c], rd, s->marker);
		if (o.fastboot)
			printf(" %9.2f %11.2f %13.2f", s->init, s->to_target,
			       s->complete);
		printf("\n");
		fflush(stdout);
	}
	return wait_released(pins0, b == HUGETLB);
fail:
	warn("%s %lu MiB %s, run %d: %s: %s", backing_name[b], mib,
	     conf_name[c], round + 1, what, strerror(ret < 0 ? -ret : ret));
	if (round < 0)
		warn("(the warm-up run)");
	l2vm_dump(&g.vm, stderr);
	l2vm_cleanup(&g.vm);
	wait_released(pins0, b == HUGETLB);
	return false;
}

/* ---- output ----------------------------------------------------------- */

/* Median of the measured (not NAN) values of one field; NAN if none. */
static double med(const struct sample *s, int n, size_t off)
{
	double v[MAX_RUNS];
	int i, k = 0;

	for (i = 0; i < n; i++) {
		double x = *(const double *)((const char *)&s[i] + off);

		if (!isnan(x))
			v[k++] = x;
	}
	return k ? median(v, k) : NAN;
}

static void cell(double v, int width)
{
	if (isnan(v))
		printf(" %*s", width, "-");
	else
		printf(" %*.2f", width, v);
}

static int cmp_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a;
	unsigned long y = *(const unsigned long *)b;

	return (x > y) - (x < y);
}

/*
 * The stock median of @backing at @mib from the PLOT lines of an earlier
 * "-d stock" run (its output), NAN if it has none.
 */
static double stock_from_file(const char *backing, unsigned long mib)
{
	char line[256], b[16], st[32];
	unsigned long m;
	double v = NAN;
	FILE *f = fopen(opt.stock_file, "r");

	if (!f)
		die_err(errno, "open %s", opt.stock_file);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "PLOT %15s %lu %31s", b, &m, st) == 3 &&
		    !strcmp(b, backing) && m == mib && strcmp(st, "?"))
			v = strtod(st, NULL);
	fclose(f);
	return v;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [-m MiB[,MiB...]] [-b anon,hugetlb] [-r runs] [-d stock|fastboot|both]\n"
		"       [-n] [-H] [-S stock-output] [-t timeout_s] [-W] [-q]\n"
		"  -m  L2 memory sizes (default 256,1024,4096,8192; at most %d)\n"
		"  -b  memory backings, in this order: anon, hugetlb (default both)\n"
		"  -r  runs per point; medians reported (default 1, at most %d)\n"
		"  -d  QEMU configurations to run (default both)\n"
		"  -n  also nopass: the same L2 without the passthrough device\n"
		"  -H  also nohold: fastboot with x-defer-map-hold=off (the workers\n"
		"      start with the guest, not when the fence is released)\n"
		"  -S  with -d fastboot: take the stock times from the PLOT lines of a\n"
		"      -d stock run in another L1 boot (stock clear_page there)\n"
		"  -t  longest wait for any one step, s (default 900)\n"
		"  -W  no warm-up (one unmeasured start of the smallest size first)\n"
		"  -q  no per-run rows\n"
		"  -h  this help\n", MAX_SIZES, MAX_RUNS);
}

int main(int argc, char **argv)
{
	static struct sample runs[NR_BACKINGS][MAX_SIZES][NR_CONFS][MAX_RUNS];
	double m[NR_BACKINGS][MAX_SIZES][NR_CONFS];
	double speed_min = NAN, flat_max = NAN, floor_max = NAN;
	unsigned long mib[MAX_SIZES] = { 256, 1024, 4096, 8192 };
	bool have_b[NR_BACKINGS] = { true, true };
	int nsizes = 4, nruns = 1, opt_c, b, i, j, c, r, failed = 0;
	char bdf[32], thp[128] = "?", *tok, *s;
	int ret;

	while ((opt_c = getopt(argc, argv, "m:b:r:d:nHS:t:Wqh")) != -1) {
		switch (opt_c) {
		case 'm':
			nsizes = parse_mib_list(optarg, mib, MAX_SIZES);
			if (nsizes < 0)
				goto bad;
			break;
		case 'b':
			have_b[ANON] = false;
			have_b[HUGETLB] = false;
			for (s = optarg; (tok = strtok(s, ",")); s = NULL) {
				if (!strcmp(tok, "anon"))
					have_b[ANON] = true;
				else if (!strcmp(tok, "hugetlb"))
					have_b[HUGETLB] = true;
				else
					goto bad;
			}
			if (!have_b[ANON] && !have_b[HUGETLB])
				goto bad;
			break;
		case 'r':
			nruns = atoi(optarg);
			if (nruns < 1 || nruns > MAX_RUNS)
				goto bad;
			break;
		case 'd':
			if (!strcmp(optarg, "stock"))
				opt.have[FASTBOOT] = false;
			else if (!strcmp(optarg, "fastboot"))
				opt.have[STOCK] = false;
			else if (strcmp(optarg, "both"))
				goto bad;
			break;
		case 'n':
			opt.have[NOPASS] = true;
			break;
		case 'H':
			opt.have[NOHOLD] = true;
			break;
		case 'S':
			opt.stock_file = optarg;
			break;
		case 't':
			opt.timeout_ms = atoi(optarg);
			if (opt.timeout_ms < 1 || opt.timeout_ms > 86400)
				goto bad;
			opt.timeout_ms *= 1000;
			break;
		case 'W':
			opt.warmup = false;
			break;
		case 'q':
			opt.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind != argc)
		goto bad;

	/* Sizes: ascending, whole 2 MiB, no duplicates. */
	for (i = 0; i < nsizes; i++) {
		mib[i] &= ~1UL;
		if (!mib[i])
			goto bad;
	}
	qsort(mib, nsizes, sizeof(mib[0]), cmp_ulong);
	for (i = j = 0; i < nsizes; i++)
		if (!j || mib[i] != mib[j - 1])
			mib[j++] = mib[i];
	nsizes = j;

	l2vm_init(&g.vm);
	diag_init(PROG, cleanup);
	if (access(L2VM_QEMU, X_OK))
		die_err(errno, "%s (not the nested scenario's L1? scripts/nested-bench.sh)",
			L2VM_QEMU);
	if (access("/dev/kvm", R_OK | W_OK))
		die_err(errno, "/dev/kvm (modprobe kvm_amd first)");
	/* No code patching in L1 while L2s come and go: see l2vm.h. */
	ret = l2vm_hold_kvm();
	if (ret)
		die_err(-ret, "creating the idle VM that keeps KVM's static keys set");
	ret = l2vm_find_edu(bdf, sizeof(bdf));
	if (ret)
		die_err(-ret, "edu bound to vfio-pci (fastboot.vfio_ids=1234:11e8 on L1's command line)");
	sysfs_read_str(THP_ENABLED, thp, sizeof(thp));

	printf("Nested start: the patched QEMU starts L2 under KVM in this guest (L1), edu passed\n");
	printf("through (%s, vfio-pci) and a virtio balloon, l2.mode=marker; %d run%s per point.\n",
	       bdf, nruns, nruns > 1 ? "s" : "");
	printf("stock: fastboot properties off.  fastboot: x-defer-map=on, threshold %d MiB,\n",
	       L2VM_THRESHOLD_MIB);
	printf("x-initial-target=%dM (none up to %d MiB).  Start: QEMU launch -> %s on L2's\n",
	       L2VM_TARGET_MIB, L2VM_TARGET_MIB, L2VM_UP);
	printf("console (polled every 5 ms).  fastboot breakdown, x-query-fastboot: init = launch ->\n");
	printf("machine created; to-target = machine created -> balloon target reached and the rest\n");
	printf("mapped; mapped-done = launch -> background mapping finished.  hugetlb: 2 MiB pool,\n");
	printf("prezero=0 for stock, pre-zeroed for fastboot.  L1: %ld CPUs, THP %s.\n",
	       sysconf(_SC_NPROCESSORS_ONLN), thp);
	if (opt.have[NOPASS])
		printf("nopass: the same L2 without vfio-pci, no passthrough (pool pre-zeroed).\n");
	if (opt.have[NOHOLD])
		printf("nohold: fastboot with x-defer-map-hold=off (workers not held until the fence).\n");
	printf("\n");
	if (!opt.quiet) {
		printf("%-8s %6s %-9s %5s %9s %9s %11s %13s\n", "backing", "MiB",
		       "qemu", "run", "start_s", "init_s", "to-target_s",
		       "mapped-done_s");
		fflush(stdout);
	}

	/*
	 * The first L2 after L1's boot starts up to a second slower (QEMU's
	 * files and libraries read for the first time): one start, not
	 * counted.  Anonymous memory, before the pool exists.
	 */
	if (opt.warmup) {
		struct sample w;

		if (!one_run(ANON, mib[0], opt.have[STOCK] ? STOCK : FASTBOOT,
			     -1, &w))
			failed++;
		check_stop();
	}

	for (b = 0; b < NR_BACKINGS; b++) {
		if (!have_b[b])
			continue;
		if (b == HUGETLB)
			pool_setup(mib[nsizes - 1] * SZ_1M / SZ_2M);
		for (c = 0; c < NR_CONFS; c++) {
			if (!opt.have[c])
				continue;
			/* hugetlb: all stock runs, then the pre-zeroed pool. */
			if (b == HUGETLB && c != STOCK)
				set_prezero("1");
			/*
			 * Round by round, each round every size: a change
			 * in the machine's load then weighs on all sizes
			 * alike, not on the largest only.
			 */
			for (r = 0; r < nruns; r++) {
				for (i = 0; i < nsizes; i++) {
					if (b == HUGETLB && c != STOCK)
						wait_prezeroed();
					if (!one_run(b, mib[i], c, r,
						     &runs[b][i][c][r]))
						failed++;
					check_stop();
				}
			}
		}
		if (b == HUGETLB && cleanup())
			failed++;
	}

	/* The medians. */
	printf("\n%-8s %6s %9s %11s %8s %8s %11s %9s %13s", "backing", "MiB",
	       "stock_s", "fastboot_s", "speedup", "init_s", "to-target_s",
	       "marker_s", "mapped-done_s");
	if (opt.have[NOPASS])
		printf(" %9s", "nopass_s");
	if (opt.have[NOHOLD])
		printf(" %9s", "nohold_s");
	printf("\n");
	for (b = 0; b < NR_BACKINGS; b++) {
		for (i = 0; have_b[b] && i < nsizes; i++) {
			const struct sample *fs = runs[b][i][FASTBOOT];

			for (c = 0; c < NR_CONFS; c++)
				m[b][i][c] = opt.have[c] ?
					med(runs[b][i][c], nruns,
					    offsetof(struct sample, marker)) :
					NAN;
			if (opt.stock_file && !opt.have[STOCK])
				m[b][i][STOCK] = stock_from_file(backing_name[b],
								 mib[i]);
			printf("%-8s %6lu", backing_name[b], mib[i]);
			cell(m[b][i][STOCK], 9);
			cell(m[b][i][FASTBOOT], 11);
			if (isnan(m[b][i][STOCK]) || isnan(m[b][i][FASTBOOT]))
				printf(" %8s", "-");
			else
				printf(" %7.2fx", m[b][i][STOCK] /
						  m[b][i][FASTBOOT]);
			cell(med(fs, nruns, offsetof(struct sample, init)), 8);
			cell(med(fs, nruns, offsetof(struct sample, to_target)), 11);
			cell(m[b][i][FASTBOOT], 9);
			cell(med(fs, nruns, offsetof(struct sample, complete)), 13);
			if (opt.have[NOPASS])
				cell(m[b][i][NOPASS], 9);
			if (opt.have[NOHOLD])
				cell(m[b][i][NOHOLD], 9);
			printf("\n");
		}
	}
	printf("\n");

	for (b = 0; b < NR_BACKINGS; b++) {
		for (i = 0; have_b[b] && i < nsizes; i++) {
			printf("PLOT %s %lu", backing_name[b], mib[i]);
			for (c = 0; c < NR_CONFS; c++) {
				if ((c == NOPASS && !opt.have[NOPASS]) ||
				    c == NOHOLD)
					continue;
				if (isnan(m[b][i][c]))
					printf(" ?");
				else
					printf(" %.3f", m[b][i][c]);
			}
			printf("\n");
		}
	}
	for (b = 0; b < NR_BACKINGS; b++) {
		for (i = 0; have_b[b] && i < nsizes; i++)
			for (c = 0; c < NR_CONFS; c++)
				if (!isnan(m[b][i][c]))
					printf("RESULT e2e_start_%s_%lum_%s %.3f s\n",
					       backing_name[b], mib[i],
					       conf_name[c], m[b][i][c]);
	}
	for (b = 0; b < NR_BACKINGS; b++) {
		double st, fl, fs;

		if (!have_b[b])
			continue;
		st = m[b][nsizes - 1][STOCK];
		fl = m[b][nsizes - 1][FASTBOOT];
		fs = m[b][0][FASTBOOT];
		if (!isnan(st) && !isnan(fl) && fl > 0) {
			printf("RESULT e2e_start_speedup_largest_%s %.2f x\n",
			       backing_name[b], st / fl);
			if (isnan(speed_min) || st / fl < speed_min)
				speed_min = st / fl;
		}
		if (nsizes > 1 && !isnan(fl) && !isnan(fs) && fs > 0) {
			printf("RESULT e2e_start_flatness_%s %.2f x\n",
			       backing_name[b], fl / fs);
			if (isnan(flat_max) || fl / fs > flat_max)
				flat_max = fl / fs;
		}
		fl = m[b][nsizes - 1][NOHOLD];
		fs = m[b][nsizes - 1][FASTBOOT];
		if (!isnan(fl) && !isnan(fs) && fs > 0)
			printf("RESULT e2e_start_hold_gain_largest_%s %.2f x\n",
			       backing_name[b], fl / fs);
		fl = m[b][nsizes - 1][NOPASS];
		fs = m[b][0][NOPASS];
		if (nsizes > 1 && !isnan(fl) && !isnan(fs) && fs > 0) {
			printf("RESULT e2e_start_flatness_nopass_%s %.2f x\n",
			       backing_name[b], fl / fs);
			if (isnan(floor_max) || fl / fs > floor_max)
				floor_max = fl / fs;
		}
	}
	if (!isnan(speed_min))
		printf("RESULT e2e_start_speedup_largest %.2f x\n", speed_min);
	if (!isnan(flat_max))
		printf("RESULT e2e_start_flatness %.2f x\n", flat_max);
	if (!isnan(floor_max))
		printf("RESULT e2e_start_flatness_nopass %.2f x\n", floor_max);
	if (failed)
		fprintf(stderr, PROG ": %d run%s failed\n", failed,
			failed > 1 ? "s" : "");
	fflush(stdout);
	return cleanup() || failed ? 1 : 0;
bad:
	usage(stderr);
	return 2;
}
