// SPDX-License-Identifier: GPL-2.0
/*
 * clear_page_bench - how fast, and how cache-friendly, each way of clearing
 * memory is, in the style of "perf bench mem memset".
 *
 * The routines are the kernel's own code: mm/clear_page_sse.c (the extent
 * routines, clear_page_extent() and clear_page_routine_calibrate()) and the 6.12
 * tree's arch/x86/lib/clear_page_64.S (clear_page_orig/rep/erms), built
 * through the small kernel-header shim in shim/.  See usage() for the
 * method.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <asm/cacheflush.h>
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>
#include <asm/page.h>
#include <linux/sched/clock.h>
#include "clear_page_sse.h"
#include "stats.h"

#define MIB		(1UL << 20)
#define MAX_RUNS	100
#define LINE		64

#ifndef CLEAR_PAGE_64_S
#define CLEAR_PAGE_64_S "arch/x86/lib/clear_page_64.S"
#endif

static void usage(FILE *f)
{
	fprintf(f,
"usage: clear_page_bench [-s MiB] [-r runs] [-t threads] [-w MiB] [-p MiB]\n"
"                        [-q] [-h]\n"
"  -s MiB      buffer per thread (default 2048; even)\n"
"  -r runs     repetitions (default 5, at most %d)\n"
"  -t threads  threads for the all-CPU table (default: every CPU this\n"
"              process may run on; 0 skips the table)\n"
"  -w MiB      cache-resident working set of the pollution test (default 1:\n"
"              on the shared VMs this was written on, only a few MiB of\n"
"              the 260 MiB L3 stay resident, so 1 MiB measures eviction\n"
"              from L2 and what is left of L3)\n"
"  -p MiB      memory cleared between the two walks (default 64; even;\n"
"              short, so that other tenants evict little in between)\n"
"  -q          quick smoke test: -s 64 -r 2 -p 64 unless given\n"
"  -h          this help\n"
"\n"
"Clears THP-backed buffers (MADV_HUGEPAGE, every page touched before any\n"
"timing, so no faults are timed) with each routine and reports GB/s:\n"
"  612          clear_page_erms() per 4 KiB page, the pages of a folio in the\n"
"               order 6.12's folio_zero_user() uses for a fault at the\n"
"               folio's first byte (descending up to 4 MiB folios, ascending\n"
"               for gigantic ones); page_orig, page_rep, page_movnti and\n"
"               page_clzero: the same with that clear_page variant\n"
"  memset       glibc memset() of each unit\n"
"  erms, rep, movnti, clzero, movntdq, avx2, avx512\n"
"               clear_page_extent() of each unit with that routine of\n"
"               clear_page_routines[]: chunked as in the kernel; the FPU\n"
"               save/restore of kernel_fpu_begin() is not modelled\n"
"  auto         clear_page_extent() with what clear_page_routine_calibrate() picked\n"
"               in this process (the kernel's clear_huge_page=auto)\n"
"Units: 4 KiB pages, 2 MiB folios and 1 GiB extents (smaller if the buffer\n"
"is), each over the whole buffer.  Every run measures every routine once,\n"
"in an order rotated from run to run, so drifting noise hits all alike;\n"
"min and median over the runs are shown, and the median over the median of\n"
"rep stosb at the same unit (clear_page_erms for 4 KiB pages).  The\n"
"all-CPU table runs one pinned thread per CPU, each on its own buffer,\n"
"released together by a barrier: bytes of all threads over the time from\n"
"the first start to the last finish.\n"
"\n"
"Pollution: a dependent pointer chase visits every 64-byte line of the\n"
"working set once, in random order (each load needs the previous one, so\n"
"every cache miss costs a full memory latency).  It is walked until warm\n"
"and timed (t_warm, the faster of two walks), then -p MiB is cleared in\n"
"2 MiB folios with a routine and the walk is timed once more (t_after).\n"
"slowdown = t_after / t_warm, median over the runs: 1.00 means the clear\n"
"left the working set in the caches; cached clearing evicts it.  Two\n"
"controls run in the same rotation: \"idle\" spins as long as the 612\n"
"clear takes (what the rest of the machine evicts meanwhile) and\n"
"\"flushed\" clflushes the working set (a clear that evicts all of it).\n"
"If flushed is small too, the working set does not fit in the cache this\n"
"process actually gets (a shared or partitioned L3 in a VM): use a\n"
"smaller -w.\n",
		MAX_RUNS);
}

/* ------------------------------------------------------------------ */
/* Buffers */

/* Anonymous memory, 2 MiB aligned, THP-backed if the kernel lets us. */
static char *alloc_buf(unsigned long len)
{
	unsigned long map = len + SZ_2M, head;
	char *p, *q;

	p = mmap(NULL, map, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	q = (char *)(((unsigned long)p + SZ_2M - 1) & ~(SZ_2M - 1UL));
	head = q - p;
	if (head)
		munmap(p, head);
	munmap(q + len, map - head - len);
	madvise(q, len, MADV_HUGEPAGE);
	/* Fault everything in now, so that no timing includes a fault. */
	for (p = q; p < q + len; p += PAGE_SIZE)
		*(volatile char *)p = 1;
	return q;
}

static void free_buf(char *p, unsigned long len)
{
	if (p)
		munmap(p, len);
}

/* AnonHugePages of the whole process, in KiB. */
static long thp_kib(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	long kib = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* ------------------------------------------------------------------ */
/* Routines */

enum kind { K_PAGE, K_MEMSET, K_EXTENT };

struct row {
	const char *name;		/* in the table and RESULT lines */
	enum kind kind;
	void (*page)(void *page);	/* K_PAGE */
	const struct clear_page_routine *r;	/* the routine of clear_page_routines[] */
	const char *skip;		/* why it cannot run here, or NULL */
};

#define MAX_ROWS	32
static struct row rows[MAX_ROWS];
static unsigned int nr_rows;
static int row_612 = -1, row_erms = -1, row_auto = -1;

/* Called through a pointer so that gcc cannot inline or rewrite it. */
static void *(*volatile memset_fn)(void *, int, size_t) = memset;

static const char *skip_reason(const struct clear_page_routine *r)
{
	if (clear_page_routine_usable(r))
		return NULL;
	if (!strcmp(r->name, "clzero"))
		return boot_cpu_has(X86_FEATURE_CLZERO) ?
		       "cache line is not 64 bytes" : "CPU lacks CLZERO";
	if (!strcmp(r->name, "avx2"))
		return boot_cpu_has(X86_FEATURE_AVX) &&
		       boot_cpu_has(X86_FEATURE_AVX2) ?
		       "OS does not enable YMM state" : "CPU lacks AVX2";
	if (!strcmp(r->name, "avx512"))
		return boot_cpu_has(X86_FEATURE_AVX512F) ?
		       "OS does not enable ZMM state" : "CPU lacks AVX512F";
	return "not usable on this CPU";
}

static int add_row(const char *name, enum kind kind, void (*page)(void *),
		   const struct clear_page_routine *r)
{
	struct row *w = &rows[nr_rows];

	w->name = name;
	w->kind = kind;
	w->page = page;
	w->r = r;
	w->skip = r ? skip_reason(r) : NULL;
	return nr_rows++;
}

/*
 * 612 first, then the other clear_page variants, memset, the extent
 * routines (rep stosb first: it is the baseline), and auto; the cached
 * ones before the non-temporal ones.
 */
static void setup_rows(const struct clear_page_routine *pick)
{
	static char names[MAX_ROWS][24];
	const struct clear_page_routine *erms = clear_page_routine_find("erms");
	unsigned int i, nt;

	row_612 = add_row("612", K_PAGE, erms->page, erms);
	for (nt = 0; nt <= CLEAR_PAGE_NT; nt += CLEAR_PAGE_NT) {
		for (i = 0; i < nr_clear_page_routines; i++) {
			const struct clear_page_routine *r = &clear_page_routines[i];

			if (!r->page || r == erms ||
			    (r->flags & CLEAR_PAGE_NT) != nt)
				continue;
			snprintf(names[i], sizeof(names[i]), "page_%s",
				 r->name);
			add_row(names[i], K_PAGE, r->page, r);
		}
	}
	add_row("memset", K_MEMSET, NULL, NULL);
	row_erms = add_row("erms", K_EXTENT, NULL, erms);
	for (nt = 0; nt <= CLEAR_PAGE_NT; nt += CLEAR_PAGE_NT) {
		for (i = 0; i < nr_clear_page_routines; i++) {
			const struct clear_page_routine *r = &clear_page_routines[i];

			if (!r->extent || r == erms ||
			    (r->flags & CLEAR_PAGE_NT) != nt)
				continue;
			add_row(r->name, K_EXTENT, NULL, r);
		}
	}
	row_auto = add_row("auto", K_EXTENT, NULL, pick);
}

/*
 * One unit (a page, a folio, an extent).  Page routines visit the pages of
 * a folio as 6.12's folio_zero_user() does for a fault at its first byte:
 * process_huge_page() from the last page down up to MAX_ORDER_NR_PAGES
 * (4 MiB), clear_gigantic_page() from the first page up beyond.
 */
static void clear_unit(const struct row *w, char *p, unsigned long unit)
{
	long i, n = unit / PAGE_SIZE;

	switch (w->kind) {
	case K_PAGE:
		if (unit <= 1024 * PAGE_SIZE)
			for (i = n - 1; i >= 0; i--)
				w->page(p + i * PAGE_SIZE);
		else
			for (i = 0; i < n; i++)
				w->page(p + i * PAGE_SIZE);
		break;
	case K_MEMSET:
		memset_fn(p, 0, unit);
		break;
	case K_EXTENT:
		clear_page_extent(w->r, p, unit);
		break;
	}
}

/* Clears as many whole units of @buf as fit; returns the bytes cleared. */
static unsigned long clear_buf(const struct row *w, char *buf,
			       unsigned long len, unsigned long unit)
{
	unsigned long off;

	for (off = 0; off + unit <= len; off += unit)
		clear_unit(w, buf + off, unit);
	return off;
}

/* ------------------------------------------------------------------ */
/* Statistics */

/* ------------------------------------------------------------------ */
/* Options and results */

static unsigned long opt_mib = 2048, opt_wmib = 1, opt_pmib = 64;
static int opt_runs = 5, opt_threads = -1;

struct unit_size {
	char tag[8];		/* 4k, 2m, 1g: in RESULT names */
	char label[24];
	unsigned long bytes;
};

#define NR_SIZES 3
static struct unit_size sizes[NR_SIZES];

/* GB/s, [size][row][run]; single thread */
static double gbps[NR_SIZES][MAX_ROWS][MAX_RUNS];
/* all-CPU aggregate GB/s at 2 MiB, [row][run] */
static double mt_gbps[MAX_ROWS][MAX_RUNS];
static int mt_threads;
/* pollution: t_after / t_warm, [row][run]; warm ns per line */
#define ROW_IDLE	MAX_ROWS
#define ROW_FLUSHED	(MAX_ROWS + 1)
static double pollution[MAX_ROWS + 2][MAX_RUNS];
static double warm_ns[MAX_ROWS + 2][MAX_RUNS];

/* The (size, row) pairs of one table, in the order of run 0. */
struct item {
	int size, row;
};

static int make_items(struct item *items, int size_lo, int size_hi)
{
	int s, n = 0;
	unsigned int r;

	for (s = size_lo; s <= size_hi; s++)
		for (r = 0; r < nr_rows; r++)
			if (!rows[r].skip)
				items[n++] = (struct item){ s, r };
	return n;
}

/* Run @run starts this far into the list, so the order rotates. */
static int rotation(int run, int n)
{
	return (long)run * n / opt_runs;
}

/*
 * CPU time of the calling thread: over the wall time of a measurement, the
 * share of it this thread actually ran (other load, a busy hypervisor).
 */
static u64 thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static double st_share, mt_share;

/* ------------------------------------------------------------------ */
/* Single thread */

static int bench_single(void)
{
	unsigned long len = opt_mib * MIB;
	struct item items[NR_SIZES * MAX_ROWS];
	long thp0 = thp_kib(), thp1;
	u64 wall = 0, cpu = 0;
	int n, run, k;
	char *buf;

	buf = alloc_buf(len);
	if (!buf) {
		fprintf(stderr, "clear_page_bench: %lu MiB: %s\n", opt_mib,
			strerror(errno));
		return -1;
	}
	thp1 = thp_kib();
	if (thp0 >= 0 && thp1 >= 0)
		printf("buffer: %lu MiB, %ld MiB of it THP-backed\n", opt_mib,
		       (thp1 - thp0) / 1024);

	n = make_items(items, 0, NR_SIZES - 1);
	for (run = 0; run < opt_runs; run++) {
		for (k = 0; k < n; k++) {
			struct item *it = &items[(rotation(run, n) + k) % n];
			unsigned long bytes;
			u64 t, c;

			c = thread_cpu_ns();
			t = local_clock();
			bytes = clear_buf(&rows[it->row], buf, len,
					  sizes[it->size].bytes);
			t = local_clock() - t;
			cpu += thread_cpu_ns() - c;
			wall += t;
			gbps[it->size][it->row][run] = (double)bytes / t;
		}
	}
	st_share = (double)cpu / wall;
	free_buf(buf, len);
	return 0;
}

/* ------------------------------------------------------------------ */
/* All CPUs */

struct worker {
	pthread_t tid;
	int cpu;
	int failed;
	u64 t0[MAX_ROWS * MAX_RUNS], t1[MAX_ROWS * MAX_RUNS];
	u64 cpu_ns, wall_ns;
};

static pthread_barrier_t mt_barrier;
static struct item mt_items[MAX_ROWS];
static int mt_nitems;
static struct worker *workers;

static void *worker_fn(void *arg)
{
	struct worker *me = arg;
	unsigned long len = opt_mib * MIB;
	int run, k, m = 0, i;
	cpu_set_t set;
	char *buf;

	CPU_ZERO(&set);
	CPU_SET(me->cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		me->failed = 1;
	/* Each thread faults its own buffer in, on its own node. */
	buf = alloc_buf(len);
	if (!buf)
		me->failed = 1;
	pthread_barrier_wait(&mt_barrier);
	for (i = 0; i < mt_threads; i++)
		if (workers[i].failed)
			goto out;

	for (run = 0; run < opt_runs; run++) {
		for (k = 0; k < mt_nitems; k++, m++) {
			int row = mt_items[(rotation(run, mt_nitems) + k) %
					   mt_nitems].row;
			u64 c;

			pthread_barrier_wait(&mt_barrier);
			c = thread_cpu_ns();
			me->t0[m] = local_clock();
			clear_buf(&rows[row], buf, len, SZ_2M);
			me->t1[m] = local_clock();
			me->cpu_ns += thread_cpu_ns() - c;
			me->wall_ns += me->t1[m] - me->t0[m];
		}
	}
out:
	free_buf(buf, len);
	return NULL;
}

static int usable_cpus(int *cpus, int max)
{
	cpu_set_t set;
	int i, n = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 0;
	for (i = 0; i < CPU_SETSIZE && n < max; i++)
		if (CPU_ISSET(i, &set))
			cpus[n++] = i;
	return n;
}

static int bench_all_cpus(const int *cpus)
{
	unsigned long bytes = opt_mib * MIB / SZ_2M * SZ_2M;
	int i, run, k, m = 0, err = 0;

	mt_nitems = make_items(mt_items, 1, 1);
	workers = calloc(mt_threads, sizeof(*workers));
	if (!workers)
		return -1;
	pthread_barrier_init(&mt_barrier, NULL, mt_threads);
	for (i = 0; i < mt_threads; i++) {
		workers[i].cpu = cpus[i];
		if (pthread_create(&workers[i].tid, NULL, worker_fn,
				   &workers[i])) {
			/* The barrier needs them all: give up now. */
			fprintf(stderr, "clear_page_bench: pthread_create failed\n");
			exit(1);
		}
	}
	mt_share = 1;
	for (i = 0; i < mt_threads; i++) {
		double share;

		pthread_join(workers[i].tid, NULL);
		err |= workers[i].failed;
		share = (double)workers[i].cpu_ns / (workers[i].wall_ns ?: 1);
		if (share < mt_share)
			mt_share = share;
	}
	pthread_barrier_destroy(&mt_barrier);
	if (err) {
		fprintf(stderr,
			"clear_page_bench: all-CPU run failed (pinning, or %lu MiB per thread)\n",
			opt_mib);
		free(workers);
		return -1;
	}

	for (run = 0; run < opt_runs; run++) {
		for (k = 0; k < mt_nitems; k++, m++) {
			int row = mt_items[(rotation(run, mt_nitems) + k) %
					   mt_nitems].row;
			u64 t0 = ~0ULL, t1 = 0;

			/* From the first start to the last finish. */
			for (i = 0; i < mt_threads; i++) {
				if (workers[i].t0[m] < t0)
					t0 = workers[i].t0[m];
				if (workers[i].t1[m] > t1)
					t1 = workers[i].t1[m];
			}
			mt_gbps[row][run] =
				(double)bytes * mt_threads / (t1 - t0);
		}
	}
	free(workers);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Cache pollution */

static void *volatile walk_sink;

/* Links every line of @ws into one cycle in random order. */
static void **ws_build(char *ws, unsigned long len)
{
	unsigned long n = len / LINE, i, j, t;
	unsigned long *order = malloc(n * sizeof(*order));
	unsigned long long x = 0x9e3779b97f4a7c15ULL;

	if (!order)
		return NULL;
	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = n - 1; i > 0; i--) {		/* Fisher-Yates, xorshift64 */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		j = x % (i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (i = 0; i < n; i++)
		*(void **)(ws + order[i] * LINE) =
			ws + order[(i + 1) % n] * LINE;
	t = order[0];
	free(order);
	return (void **)(ws + t * LINE);
}

static u64 ws_walk(void **p, unsigned long n)
{
	u64 t = local_clock();

	while (n--)
		p = *p;
	t = local_clock() - t;
	walk_sink = p;
	return t;
}

/*
 * Two controls run with the routines, in the same rotation: "idle" spins
 * for as long as the 612 clear of the same memory takes, so whatever else
 * runs on the machine meanwhile shows there; "flushed" evicts every line of
 * the working set with clflush, the worst a clear can do to it.
 */
static int bench_pollution(void)
{
	unsigned long wlen = opt_wmib * MIB, plen = opt_pmib * MIB;
	unsigned long lines = wlen / LINE;
	struct item items[MAX_ROWS + 2];
	char *ws = alloc_buf(wlen), *pbuf = alloc_buf(plen);
	void **start = ws ? ws_build(ws, wlen) : NULL;
	int n, run, k;
	u64 idle_ns;

	if (!ws || !pbuf || !start) {
		fprintf(stderr, "clear_page_bench: pollution buffers: %s\n",
			strerror(errno));
		free_buf(ws, wlen);
		free_buf(pbuf, plen);
		return -1;
	}
	idle_ns = local_clock();
	clear_buf(&rows[row_612], pbuf, plen, SZ_2M);
	idle_ns = local_clock() - idle_ns;

	n = make_items(items, 1, 1);
	items[n++] = (struct item){ 1, ROW_IDLE };
	items[n++] = (struct item){ 1, ROW_FLUSHED };
	for (run = 0; run < opt_runs; run++) {
		for (k = 0; k < n; k++) {
			int row = items[(rotation(run, n) + k) % n].row;
			u64 warm, after, t;

			ws_walk(start, lines);		/* warm up */
			warm = ws_walk(start, lines);
			after = ws_walk(start, lines);	/* the faster of two */
			if (after < warm)
				warm = after;
			t = local_clock();
			if (row == ROW_IDLE)
				while (local_clock() - t < idle_ns)
					__builtin_ia32_pause();
			else if (row == ROW_FLUSHED)
				clflush_cache_range(ws, wlen);
			else
				clear_buf(&rows[row], pbuf, plen, SZ_2M);
			after = ws_walk(start, lines);
			pollution[row][run] = (double)after / warm;
			warm_ns[row][run] = (double)warm / lines;
		}
	}
	free_buf(ws, wlen);
	free_buf(pbuf, plen);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Output */

static void print_machine(int ncpus)
{
	unsigned int brand[13] = { 0 }, a, b, c, d, i, family;
	struct utsname u;
	char path[96], buf[64], l3[96] = "unknown";
	long sc = sysconf(_SC_LEVEL3_CACHE_SIZE);
	FILE *f;

	for (i = 0; i < 3; i++)
		__asm__ volatile("cpuid"
				 : "=a" (brand[4 * i]), "=b" (brand[4 * i + 1]),
				   "=c" (brand[4 * i + 2]),
				   "=d" (brand[4 * i + 3])
				 : "a" (0x80000002 + i), "c" (0));
	__asm__ volatile("cpuid" : "=a" (a), "=b" (b), "=c" (c), "=d" (d)
			 : "a" (1), "c" (0));
	family = (a >> 8) & 0xf;
	if (family == 0xf)
		family += (a >> 20) & 0xff;
	printf("cpu: %s (family 0x%x model 0x%x stepping %u)\n",
	       (char *)brand, family, ((a >> 4) & 0xf) | ((a >> 12) & 0xf0),
	       a & 0xf);

	for (i = 0; i < 8; i++) {
		snprintf(path, sizeof(path),
			 "/sys/devices/system/cpu/cpu0/cache/index%u/level", i);
		f = fopen(path, "r");
		if (!f)
			break;
		if (fgets(buf, sizeof(buf), f) && atoi(buf) == 3) {
			fclose(f);
			snprintf(path, sizeof(path),
				 "/sys/devices/system/cpu/cpu0/cache/index%u/size",
				 i);
			f = fopen(path, "r");
			if (f && fgets(buf, sizeof(buf), f)) {
				buf[strcspn(buf, "\n")] = 0;
				snprintf(l3, sizeof(l3), "%s (sysfs)", buf);
			}
		}
		if (f)
			fclose(f);
	}
	if (!strcmp(l3, "unknown") && sc > 0)
		snprintf(l3, sizeof(l3), "%ld KiB (sysconf)", sc / 1024);
	printf("l3: %s\n", l3);
	printf("cpus: %ld online, %d usable by this process\n",
	       sysconf(_SC_NPROCESSORS_ONLN), ncpus);
	if (!uname(&u))
		printf("kernel: %s %s %s\n", u.sysname, u.release, u.machine);
	f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (f) {
		if (fgets(buf, sizeof(buf), f))
			printf("thp: %s", buf);
		fclose(f);
	}
	printf("features:%s%s%s%s%s%s%s; clflush %u bytes; xcr0 sse/ymm/zmm %d/%d/%d\n",
	       boot_cpu_has(X86_FEATURE_ERMS) ? " erms" : " -erms",
	       boot_cpu_has(X86_FEATURE_REP_GOOD) ? " rep_good" : " -rep_good",
	       boot_cpu_has(X86_FEATURE_AVX) ? " avx" : " -avx",
	       boot_cpu_has(X86_FEATURE_AVX2) ? " avx2" : " -avx2",
	       boot_cpu_has(X86_FEATURE_AVX512F) ? " avx512f" : " -avx512f",
	       boot_cpu_has(X86_FEATURE_CLZERO) ? " clzero" : " -clzero",
	       boot_cpu_has(X86_FEATURE_CLFLUSHOPT) ? " clflushopt" :
						      " -clflushopt",
	       boot_cpu_data.x86_clflush_size,
	       cpu_has_xfeatures(XFEATURE_MASK_SSE, NULL),
	       cpu_has_xfeatures(XFEATURE_MASK_YMM, NULL),
	       cpu_has_xfeatures(XFEATURE_MASK_AVX512, NULL));
	printf("code: mm/clear_page_sse.c, %s\n", CLEAR_PAGE_64_S);
	printf("clear_page=auto (6.12's alternative): %s\n",
	       clear_page_routine_page_default()->name);
}

static void print_skipped(void)
{
	unsigned int r;

	for (r = 0; r < nr_rows; r++)
		if (rows[r].skip)
			printf("%-12s skipped: %s\n", rows[r].name,
			       rows[r].skip);
}

static int base_row(int size)
{
	return size == 0 ? row_612 : row_erms;
}

static void print_single(void)
{
	unsigned int r;
	int s;

	printf("\nSingle thread, %lu MiB buffer, %d run%s: GB/s min, median, and\n"
	       "median / rep stosb (4 KiB: / clear_page_erms; other units: / erms)\n",
	       opt_mib, opt_runs, opt_runs > 1 ? "s" : "");
	printf("%-12s", "");
	for (s = 0; s < NR_SIZES; s++)
		printf("  %-20s", sizes[s].label);
	printf("\n%-12s", "routine");
	for (s = 0; s < NR_SIZES; s++)
		printf("  %6s %6s %6s", "min", "med", "ratio");
	printf("\n");
	for (r = 0; r < nr_rows; r++) {
		if (rows[r].skip)
			continue;
		printf("%-12s", rows[r].name);
		for (s = 0; s < NR_SIZES; s++) {
			double *v = gbps[s][r];
			double base = median(gbps[s][base_row(s)], opt_runs);

			printf("  %6.2f %6.2f %6.2f", minimum(v, opt_runs),
			       median(v, opt_runs), median(v, opt_runs) / base);
		}
		printf("\n");
	}
	printf("auto = %s; the thread was on a CPU %.0f%% of the time it was timed\n",
	       rows[row_auto].r->name, 100 * st_share);
	print_skipped();
}

static void print_all_cpus(void)
{
	unsigned int r;
	double base = median(mt_gbps[row_erms], opt_runs);

	printf("\nAll CPUs: %d pinned threads, %lu MiB each, 2 MiB folios, %d run%s:\n"
	       "aggregate GB/s min, median, and median / erms\n",
	       mt_threads, opt_mib, opt_runs, opt_runs > 1 ? "s" : "");
	printf("%-12s  %6s %6s %6s\n", "routine", "min", "med", "ratio");
	for (r = 0; r < nr_rows; r++) {
		double *v = mt_gbps[r];

		if (rows[r].skip)
			continue;
		printf("%-12s  %6.2f %6.2f %6.2f\n", rows[r].name,
		       minimum(v, opt_runs), median(v, opt_runs),
		       median(v, opt_runs) / base);
	}
	printf("the least busy thread was on its CPU %.0f%% of the time it was timed\n",
	       100 * mt_share);
}

static void print_pollution(void)
{
	unsigned int r;

	printf("\nCache pollution: %lu MiB working set (pointer chase, 64-byte lines,\n"
	       "random order), %lu MiB cleared in 2 MiB folios between two walks;\n"
	       "slowdown = t_after / t_warm, median of %d\n",
	       opt_wmib, opt_pmib, opt_runs);
	printf("%-12s  %8s  %12s\n", "routine", "slowdown", "warm ns/line");
	for (r = 0; r < nr_rows; r++) {
		if (rows[r].skip)
			continue;
		printf("%-12s  %8.2f  %12.1f\n", rows[r].name,
		       median(pollution[r], opt_runs),
		       median(warm_ns[r], opt_runs));
	}
	printf("%-12s  %8.2f  %12.1f  no clear: spin as long as 612 takes\n",
	       "idle", median(pollution[ROW_IDLE], opt_runs),
	       median(warm_ns[ROW_IDLE], opt_runs));
	printf("%-12s  %8.2f  %12.1f  no clear: clflush the working set\n",
	       "flushed", median(pollution[ROW_FLUSHED], opt_runs),
	       median(warm_ns[ROW_FLUSHED], opt_runs));
	if (median(pollution[ROW_IDLE], opt_runs) > 1.5)
		printf("warning: other activity on this machine evicted the working set\n"
		       "while this program only waited (idle %.2fx); the slowdowns of this\n"
		       "run are not reliable, run again on a quieter machine\n",
		       median(pollution[ROW_IDLE], opt_runs));
	if (median(pollution[ROW_FLUSHED], opt_runs) < 1.5)
		printf("warning: the %lu MiB working set is not cache-resident on this machine\n"
		       "(flushing it costs less than 1.5x); the slowdowns mean little, try a\n"
		       "smaller -w\n", opt_wmib);
}

static void print_results(const u64 *mbps, bool have_mt, bool have_poll)
{
	double best = 0, a2m;
	unsigned int i, r;
	int s;

	for (i = 0; i < nr_clear_page_routines; i++)
		if (mbps[i])
			printf("RESULT calibrate_%s_mbps %llu MB/s\n",
			       clear_page_routines[i].name, mbps[i]);
	printf("RESULT clear_cpu_share %.0f %%\n", 100 * st_share);
	for (s = 0; s < NR_SIZES; s++) {
		double base = median(gbps[s][base_row(s)], opt_runs);

		for (r = 0; r < nr_rows; r++) {
			const char *tag = sizes[s].tag, *name = rows[r].name;
			double *v = gbps[s][r];

			if (rows[r].skip)
				continue;
			printf("RESULT clear_%s_%s_gbps %.2f GB/s\n", tag, name,
			       median(v, opt_runs));
			printf("RESULT clear_%s_%s_gbps_min %.2f GB/s\n", tag,
			       name, minimum(v, opt_runs));
			printf("RESULT clear_%s_%s_ratio %.2f x\n", tag, name,
			       median(v, opt_runs) / base);
		}
	}
	if (have_mt) {
		double base = median(mt_gbps[row_erms], opt_runs);

		printf("RESULT clear_all_threads %d threads\n", mt_threads);
		printf("RESULT clear_all_cpu_share %.0f %%\n", 100 * mt_share);
		for (r = 0; r < nr_rows; r++) {
			double *v = mt_gbps[r];

			if (rows[r].skip)
				continue;
			printf("RESULT clear_all_2m_%s_gbps %.2f GB/s\n",
			       rows[r].name, median(v, opt_runs));
			printf("RESULT clear_all_2m_%s_gbps_min %.2f GB/s\n",
			       rows[r].name, minimum(v, opt_runs));
			printf("RESULT clear_all_2m_%s_ratio %.2f x\n",
			       rows[r].name, median(v, opt_runs) / base);
		}
	}
	if (have_poll) {
		printf("RESULT pollution_warm_ns_per_line %.1f ns\n",
		       median(warm_ns[row_erms], opt_runs));
		printf("RESULT pollution_idle %.2f x\n",
		       median(pollution[ROW_IDLE], opt_runs));
		printf("RESULT pollution_flushed %.2f x\n",
		       median(pollution[ROW_FLUSHED], opt_runs));
		for (r = 0; r < nr_rows; r++)
			if (!rows[r].skip)
				printf("RESULT pollution_%s %.2f x\n",
				       rows[r].name,
				       median(pollution[r], opt_runs));
	}
	for (r = 0; r < nr_rows; r++)
		if (!rows[r].skip && median(gbps[1][r], opt_runs) > best)
			best = median(gbps[1][r], opt_runs);
	a2m = median(gbps[1][row_auto], opt_runs);
	printf("RESULT clear_huge_2m_auto_vs_612 %.2f x\n",
	       a2m / median(gbps[1][row_612], opt_runs));
	printf("RESULT clear_huge_2m_auto_vs_best %.2f x\n", a2m / best);
}

/* ------------------------------------------------------------------ */

static int parse_num(const char *arg, char opt, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < lo || v > hi) {
		fprintf(stderr, "clear_page_bench: -%c %s: want an integer from %ld to %ld\n",
			opt, arg, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

static void set_sizes(void)
{
	unsigned long big = opt_mib * MIB / SZ_2M * SZ_2M;

	if (big > SZ_1G)
		big = SZ_1G;

	sizes[0] = (struct unit_size){ "4k", "4 KiB pages", PAGE_SIZE };
	sizes[1] = (struct unit_size){ "2m", "2 MiB folios", SZ_2M };
	sizes[2].bytes = big;
	if (big == SZ_1G) {
		snprintf(sizes[2].tag, sizeof(sizes[2].tag), "1g");
		snprintf(sizes[2].label, sizeof(sizes[2].label),
			 "1 GiB extents");
	} else {
		snprintf(sizes[2].tag, sizeof(sizes[2].tag), "%lum", big / MIB);
		snprintf(sizes[2].label, sizeof(sizes[2].label),
			 "%lu MiB extents", big / MIB);
	}
}

int main(int argc, char **argv)
{
	long v, s = -1, r = -1, t = -1, w = -1, p = -1;
	bool quick = false, have_mt = false, have_poll;
	static int cpus[CPU_SETSIZE];
	const struct clear_page_routine *pick;
	int ncpus, opt;
	u64 *mbps, t0;
	char *cal;

	ncpus = usable_cpus(cpus, CPU_SETSIZE);
	while ((opt = getopt(argc, argv, "s:r:t:w:p:qh")) != -1) {
		switch (opt) {
		case 's':
			if (parse_num(optarg, opt, 2, 1L << 24, &s))
				return 2;
			break;
		case 'r':
			if (parse_num(optarg, opt, 1, MAX_RUNS, &r))
				return 2;
			break;
		case 't':
			if (parse_num(optarg, opt, 0, ncpus, &t))
				return 2;
			break;
		case 'w':
			if (parse_num(optarg, opt, 1, 1L << 20, &w))
				return 2;
			break;
		case 'p':
			if (parse_num(optarg, opt, 2, 1L << 24, &p))
				return 2;
			break;
		case 'q':
			quick = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "clear_page_bench: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}
	if ((s > 0 && s % 2) || (p > 0 && p % 2)) {
		fprintf(stderr, "clear_page_bench: -s and -p must be even (whole 2 MiB folios)\n");
		return 2;
	}
	if (quick) {
		opt_mib = 64;
		opt_runs = 2;
		opt_pmib = 64;
	}
	if (s > 0)
		opt_mib = s;
	if (r > 0)
		opt_runs = r;
	if (w > 0)
		opt_wmib = w;
	if (p > 0)
		opt_pmib = p;
	opt_threads = t >= 0 ? t : ncpus;
	set_sizes();

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("clear_page_bench: native, single thread and %d thread%s\n",
	       opt_threads, opt_threads == 1 ? "" : "s");
	print_machine(ncpus);

	/* clear_huge_page=auto, as the kernel runs it at boot. */
	mbps = calloc(nr_clear_page_routines, sizeof(*mbps));
	cal = alloc_buf(CLEAR_PAGE_CALIBRATE_SIZE);
	if (!mbps || !cal) {
		fprintf(stderr, "clear_page_bench: out of memory\n");
		return 1;
	}
	t0 = local_clock();
	pick = clear_page_routine_calibrate(cal, CLEAR_PAGE_CALIBRATE_SIZE, mbps);
	t0 = local_clock() - t0;
	free_buf(cal, CLEAR_PAGE_CALIBRATE_SIZE);
	printf("calibrate (clear_page_routine_calibrate, %d KiB, MB/s):",
	       CLEAR_PAGE_CALIBRATE_SIZE / 1024);
	for (v = 0; v < (long)nr_clear_page_routines; v++)
		if (mbps[v])
			printf(" %s %llu", clear_page_routines[v].name, mbps[v]);
	printf("; pick %s, %llu us\n", pick->name, t0 / 1000);

	setup_rows(pick);
	if (bench_single())
		return 1;
	print_single();
	if (opt_threads > 0) {
		mt_threads = opt_threads;
		have_mt = !bench_all_cpus(cpus);
		if (have_mt)
			print_all_cpus();
	}
	have_poll = !bench_pollution();
	if (have_poll)
		print_pollution();
	printf("\n");
	print_results(mbps, have_mt, have_poll);
	free(mbps);
	return have_poll && (have_mt || !opt_threads) ? 0 : 1;
}
