// SPDX-License-Identifier: GPL-2.0
/*
 * balloon_bench: how fast the virtio balloon moves with 6.12's stock
 * virtio_balloon and with fastboot's virtio_balloon_2m, side by side in one
 * boot of the test guest.
 *
 * For each round (-r, default 3), each driver (the device is moved between
 * them with unbind/bind, balloon empty; the order alternates from round to
 * round: stock first in odd rounds, ours first in even ones) and each
 * balloon size (-m, default 256 MiB and 3/4 of MemTotal, in whole 2 MiB):
 *
 *   fresh state   balloon empty (query-balloon reports all of the guest's
 *                 RAM), sync, drop_caches=3, compact_memory=1, so that both
 *                 drivers start from the same free memory (free MiB and free
 *                 2 MiB blocks from /proc/buddyinfo are printed per run)
 *   inflate       from the QMP 'balloon' command (through the host channel,
 *                 lib/hv.c) to query-balloon reporting the target
 *   deflate       back to the guest's full size, the same way
 *
 * and for each of the two moves:
 *
 *   msgs          the buffers the host consumed on the inflate (resp.
 *                 deflate) virtqueue: the delta of QEMU's used-idx
 *                 (x-query-virtio-queue-status), exact for either driver
 *   kcpu          guest CPU time in the kernel over the move, all CPUs:
 *                 system + irq + softirq of /proc/stat (tick-based, 1/HZ
 *                 resolution); "poller" is this program's own system time,
 *                 part of kcpu and left out of the medians
 *
 * Before round 1 each driver gets one unmeasured run of the smallest size
 * (-W: none): the first move after boot, or after the stock module's first
 * bind, is up to three times slower under TCG.
 *
 * The end of a move: once the guest's side has moved (sysinfo()'s totalram,
 * which both drivers lower before telling the host and raise right after;
 * /proc/vmstat balloon_inflate/deflate when DEFLATE_ON_OOM keeps MemTotal
 * still), checked every -g us (default 2000), query-balloon is polled
 * every -p ms (default 10) through the host channel until it reports the
 * target.  Each query is a round trip through an emulated serial port that
 * costs the guest CPU time; polling it from the start competed with the
 * stock driver for the guest's CPUs.  -g 0 polls only query-balloon.  A
 * time is late by up to -g + -p + one round trip (printed): the
 * resolution, which matters for virtio_balloon_2m's shortest moves.
 *
 * Both sides must agree at the end of each move, or the benchmark fails:
 * query-balloon reports the target (twice: once to end the wait, once after
 * the counters are read), the guest's /proc/vmstat balloon_inflate -
 * balloon_deflate moved by the balloon's size in 4 KiB pages, MemTotal moved
 * by as much (unless VIRTIO_BALLOON_F_DEFLATE_ON_OOM was negotiated), and
 * for virtio_balloon_2m its debugfs file reports the target reached.
 *
 * The tables give per-run rows (-q: none) and the median of the rounds per
 * driver and size, with the ratios stock / virtio_balloon_2m (times faster,
 * times fewer messages, times less kernel CPU), then "RESULT <name> <value>
 * <unit>" lines:
 *
 *   RESULT balloon2m_inflate_speedup <x> x         largest size
 *   RESULT balloon2m_deflate_speedup <x> x         largest size
 *   RESULT balloon2m_inflate_speedup_small <x> x   smallest size
 *   RESULT balloon2m_deflate_speedup_small <x> x   smallest size
 *   RESULT balloon2m_inflate_msgs_stock <n> msgs   largest size
 *   RESULT balloon2m_inflate_msgs_2m <n> msgs      largest size
 *   RESULT balloon2m_msg_reduction <pct> %         largest size, inflate
 *
 * and the medians behind them (balloon2m_<move>_{ms,msgs,kcpu_ms}_<driver>_
 * <size>).  -d stock or -d 2m measures one driver only
 * (no ratios).  The driver that held the device at the start gets it back,
 * with the balloon empty, on every exit path (also after SIGINT, SIGTERM or
 * SIGHUP).  Needs root, the host channel (vm.py) and debugfs.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>

#include "args.h"
#include "balloon.h"
#include "diag.h"
#include "hv.h"
#include "stats.h"
#include "sysfs.h"

#define PROG		"balloon_bench"
#define SZ_1M		(1LL << 20)
#define SZ_2M		(2 * SZ_1M)
#define PAGE_4K		4096
#define MAX_RUNS	15
#define MAX_SIZES	4
/* balloon_wait() in slices, to notice signals and a balloon that is stuck. */
#define SLICE_MS	1000
#define STALL_MS	(60 * 1000.0)
#define RESTORE_MS	(300 * 1000)
#define QMP_PROBES	7
/* Below this, a kernel CPU time is a few ticks: no ratio. */
#define KCPU_MIN_MS	20

#define DROP_CACHES	"/proc/sys/vm/drop_caches"
#define COMPACT_MEMORY	"/proc/sys/vm/compact_memory"

enum { STOCK, OURS, NR_DRV };

static const char * const drv_name[NR_DRV] = {
	BALLOON_DRV_STOCK, BALLOON_DRV_2M
};

/* In RESULT names. */
static const char * const drv_tag[NR_DRV] = { "stock", "2m" };

enum { INFLATE, DEFLATE, NR_DIR };

static const char * const dir_name[NR_DIR] = { "inflate", "deflate" };
static const int dir_vq[NR_DIR] = { BALLOON_VQ_INFLATE, BALLOON_VQ_DEFLATE };

/* One move of the balloon. */
struct move {
	double ms;		/* 'balloon' command to query-balloon == target */
	double kcpu_ms;		/* kernel CPU time, all CPUs */
	double self_ms;		/* of which this program's system time */
	unsigned int msgs;	/* host-consumed buffers on the move's vq */
};

/* One measurement: fresh state, inflate, deflate. */
struct run {
	double free_mib;	/* MemFree at the start */
	double free_2m;		/* free 2 MiB blocks at the start */
	long long pages_4k;	/* virtio_balloon_2m: 4 KiB fallback pages */
	struct move m[NR_DIR];
};

static struct {
	int poll_ms;
	int guest_poll_us;
	int timeout_ms;
	bool warmup;
	bool quiet;
	bool have[NR_DRV];
} opt = {
	.poll_ms = 10,
	.guest_poll_us = 2000,
	.warmup = true,
	.timeout_ms = 600 * 1000,
	.have = { true, true },
};

/* Everything cleanup() may have to undo. */
static struct {
	char dev[NAME_MAX + 1];		/* virtioN of the balloon */
	char orig_drv[NAME_MAX + 1];	/* driver at the start, "" if none */
	int64_t ram;			/* the guest's RAM: balloon empty */
	bool touched;			/* target or binding changed */
} g;

static bool deflate_on_oom;
static long clk_tck;

/*
 * Give the device back to the driver it had, with the balloon empty;
 * idempotent.  0, or -1 if that failed.
 */
static int cleanup(void)
{
	int64_t last = 0;
	int ret, rc = 0;

	if (!g.touched)
		return 0;
	g.touched = false;
	ret = balloon_target(g.ram);
	if (ret) {
		fprintf(stderr, PROG ": cannot set the balloon target back to %lld bytes: %s\n",
			(long long)g.ram, strerror(-ret));
		rc = -1;
	}
	ret = g.orig_drv[0] ? balloon_bind(g.dev, g.orig_drv) :
			      balloon_unbind(g.dev);
	if (ret) {
		fprintf(stderr, PROG ": cannot give %s back to %s: %s\n",
			g.dev, g.orig_drv[0] ? g.orig_drv : "no driver",
			strerror(-ret));
		rc = -1;
	}
	if (g.orig_drv[0]) {
		ret = balloon_wait(g.ram, RESTORE_MS, 100, &last);
		if (ret) {
			fprintf(stderr, PROG ": the balloon did not empty again (query-balloon %lld of %lld bytes): %s\n",
				(long long)last, (long long)g.ram,
				strerror(-ret));
			rc = -1;
		}
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

/* ---- guest-side readings ---------------------------------------------- */

/* Kernel time of all CPUs (system + irq + softirq in /proc/stat), ms. */
static double kernel_cpu_ms(void)
{
	unsigned long long user, nice, sys, idle, iowait, irq, softirq;
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f)
		die_err(errno, "/proc/stat");
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu", &user, &nice,
		   &sys, &idle, &iowait, &irq, &softirq);
	fclose(f);
	if (n != 7)
		die("/proc/stat: no cpu line");
	return (sys + irq + softirq) * 1000.0 / clk_tck;
}

/* This program's system time, ms. */
static double self_sys_ms(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		die_err(errno, "getrusage");
	return ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
}

/*
 * balloon_inflate and balloon_deflate of /proc/vmstat in one read (both
 * drivers count them per 4 KiB page: stock before telling the host,
 * virtio_balloon_2m once the host took the message).
 */
static void balloon_events(long long *infl, long long *defl)
{
	char line[128];
	int found = 0;
	FILE *f;

	f = fopen("/proc/vmstat", "r");
	if (!f)
		die_err(errno, "/proc/vmstat");
	while (found != 3 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "balloon_inflate %lld", infl) == 1)
			found |= 1;
		else if (sscanf(line, "balloon_deflate %lld", defl) == 1)
			found |= 2;
	}
	fclose(f);
	if (found != 3)
		die("no balloon_inflate/balloon_deflate in /proc/vmstat (CONFIG_MEMORY_BALLOON?)");
}

static long meminfo_kb(const char *field)
{
	long kb = proc_field_kb("/proc/meminfo", field);

	if (kb < 0)
		die_err((int)-kb, "%s in /proc/meminfo", field);
	return kb;
}

/* Free 2 MiB blocks, all zones (/proc/buddyinfo, orders 9 and up). */
static long free_2m_blocks(void)
{
	char line[512], *p, *end;
	long total = 0, n;
	int order;
	FILE *f;

	f = fopen("/proc/buddyinfo", "r");
	if (!f)
		die_err(errno, "/proc/buddyinfo");
	while (fgets(line, sizeof(line), f)) {
		p = strstr(line, "zone");
		if (!p)
			continue;
		p += 4;
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')		/* the zone's name */
			p++;
		for (order = 0;; order++) {
			n = strtol(p, &end, 10);
			if (end == p)
				break;
			p = end;
			if (order >= 9)
				total += n << (order - 9);
		}
	}
	fclose(f);
	return total;
}

static long long stat_2m(const char *key)
{
	long long v;
	int ret = balloon_stat(g.dev, key, &v);

	if (ret)
		die_err(-ret, "%s in %s/%s", key, BALLOON_DEBUGFS, g.dev);
	return v;
}

/* ---- host-side readings ----------------------------------------------- */

static int64_t host_size(void)
{
	int64_t v;
	int ret = balloon_query(&v);

	if (ret)
		die_err(-ret, "query-balloon through the host channel");
	return v;
}

static unsigned int vq_used(int q)
{
	unsigned int v;
	int ret = balloon_vq_used(q, &v);

	if (ret)
		die_err(-ret, "x-query-virtio-queue-status of %s queue %d (QEMU 7.2 or later?)",
			BALLOON_QOM_PATH, q);
	return v;
}

/* The guest's RAM as QEMU has it: the size of an empty balloon. */
static int64_t guest_ram(void)
{
	char reply[1024];
	int64_t base, plugged = 0;
	int ret;

	ret = hv_qmp("{\"execute\":\"query-memory-size-summary\"}", reply,
		     sizeof(reply));
	if (ret)
		die_err(-ret, "query-memory-size-summary through the host channel");
	if (!hv_reply_ok(reply) || hv_json_int(reply, "base-memory", &base))
		die("query-memory-size-summary: unexpected reply %s", reply);
	hv_json_int(reply, "plugged-memory", &plugged);
	return base + plugged;
}

/* Median time of a query-balloon round trip through the host channel. */
static double qmp_round_trip_ms(void)
{
	double v[QMP_PROBES], t0;
	int i;

	for (i = 0; i < QMP_PROBES; i++) {
		t0 = now_ms();
		host_size();
		v[i] = now_ms() - t0;
	}
	return median(v, QMP_PROBES);
}

static void set_target(int64_t bytes)
{
	int ret = balloon_target(bytes);

	g.touched = true;
	if (ret)
		die_err(-ret, "'balloon' command, value %lld", (long long)bytes);
}

/*
 * Pages in the guest's balloon relative to a start (@g0): when MemTotal
 * follows the balloon (no DEFLATE_ON_OOM), the drop of totalram from
 * sysinfo(2), which both drivers lower before telling the host and raise
 * right after: one system call, where reading /proc/vmstat costs a guest
 * CPU about 0.3 ms under TCG; else the balloon events of /proc/vmstat.
 */
struct guest_level {
	long long infl, defl;
	unsigned long long totalram;	/* bytes */
};

static void guest_level(struct guest_level *l)
{
	struct sysinfo si;

	if (!deflate_on_oom) {
		if (sysinfo(&si))
			die_err(errno, "sysinfo");
		l->totalram = (unsigned long long)si.totalram * si.mem_unit;
	} else {
		balloon_events(&l->infl, &l->defl);
	}
}

static long long guest_moved(const struct guest_level *g0)
{
	struct guest_level l;

	guest_level(&l);
	if (!deflate_on_oom)
		return ((long long)g0->totalram - (long long)l.totalram) /
		       PAGE_4K;
	return (l.infl - g0->infl) - (l.defl - g0->defl);
}

/*
 * Wait until the guest's balloon moved by @pages since @g0 (positive:
 * inflated, negative: deflated), checking every opt.guest_poll_us: the
 * driver has handed its last pages to the host, or is about to.  Far
 * cheaper for the guest than query-balloon round trips through the serial
 * port, so that polling does not compete with the driver.  Same failure
 * rules as wait_size().
 */
static void wait_guest(const struct guest_level *g0, long long pages,
		       const char *what)
{
	double start = now_ms(), moved_at = start, t;
	long long moved, prev = 0;

	for (;;) {
		moved = guest_moved(g0);
		if (pages >= 0 ? moved >= pages : moved <= pages)
			return;
		t = now_ms();
		check_stop();
		if (moved != prev) {
			prev = moved;
			moved_at = t;
		} else if (t - moved_at > STALL_MS) {
			die("%s: the guest's balloon stuck at %lld of %lld pages for %.0f s (see the guest's console)",
			    what, moved, pages, STALL_MS / 1000);
		}
		if (t - start > opt.timeout_ms)
			die("%s: the guest's balloon at %lld of %lld pages after %.0f s",
			    what, moved, pages, (t - start) / 1000);
		usleep(opt.guest_poll_us);
	}
}

/*
 * Wait until query-balloon reports @bytes, polling every opt.poll_ms; the
 * time it did, ms.  Fails after opt.timeout_ms, or when the reported size
 * has not changed for STALL_MS.
 */
static double wait_size(int64_t bytes, const char *what)
{
	double start = now_ms(), moved = start, t;
	int64_t last = -1, prev = -1;
	int ret;

	for (;;) {
		ret = balloon_wait(bytes, SLICE_MS, opt.poll_ms, &last);
		t = now_ms();
		if (!ret)
			return t;
		if (ret != -ETIMEDOUT)
			die_err(-ret, "query-balloon while %s", what);
		check_stop();
		if (last != prev) {
			prev = last;
			moved = t;
		} else if (t - moved > STALL_MS) {
			die("%s: query-balloon stuck at %lld bytes for %.0f s, target %lld (see the guest's console)",
			    what, (long long)last, STALL_MS / 1000,
			    (long long)bytes);
		}
		if (t - start > opt.timeout_ms)
			die("%s: query-balloon at %lld bytes after %.0f s, target %lld",
			    what, (long long)last, (t - start) / 1000,
			    (long long)bytes);
	}
}

/* ---- the measurement -------------------------------------------------- */

static void move_driver(int d)
{
	char cur[NAME_MAX + 1];
	int ret;

	ret = balloon_driver(g.dev, cur, sizeof(cur));
	if (ret)
		die_err(-ret, "driver of %s", g.dev);
	if (strcmp(cur, drv_name[d])) {
		/* Empty first, so that the unbind has nothing to deflate. */
		set_target(g.ram);
		wait_size(g.ram, "emptying the balloon before a driver change");
		ret = balloon_bind(g.dev, drv_name[d]);
		if (ret)
			die_err(-ret, "moving %s from %s to %s", g.dev,
				cur[0] ? cur : "no driver", drv_name[d]);
	}
	/* What the guest-side checks expect of MemTotal. */
	deflate_on_oom = balloon_has_feature(g.dev, BALLOON_F_DEFLATE_ON_OOM);
}

/* Balloon empty, caches dropped, memory compacted. */
static void fresh_state(int d, struct run *r)
{
	int ret;

	if (host_size() != g.ram) {
		set_target(g.ram);
		wait_size(g.ram, "emptying the balloon");
	}
	if (d == OURS && stat_2m("actual_pages"))
		die("%s: query-balloon reports the balloon empty, debugfs actual_pages %lld",
		    drv_name[d], stat_2m("actual_pages"));
	sync();
	ret = sysfs_write_str(DROP_CACHES, "3");
	if (ret)
		die_err(-ret, "writing 3 to %s", DROP_CACHES);
	ret = sysfs_write_str(COMPACT_MEMORY, "1");
	if (ret)
		die_err(-ret, "writing 1 to %s (CONFIG_COMPACTION?)",
			COMPACT_MEMORY);
	r->free_mib = meminfo_kb("MemFree") / 1024.0;
	r->free_2m = free_2m_blocks();
}

/*
 * Move the balloon to @bytes of guest RAM (@dir) with driver @d and check
 * that host and guest agree on the result; @pages is the balloon's size
 * after the move, in 4 KiB pages.
 */
static void measure(int d, int dir, int64_t bytes, long long pages,
		    long long size_pages, struct move *m)
{
	long long infl0, defl0, dinfl, ddefl, moved, want;
	long long msgs0[NR_DIR] = { 0, 0 }, dmsgs[NR_DIR];
	unsigned int used0[NR_DIR], used1[NR_DIR];
	struct guest_level lv0;
	double t0, t1, k0, s0;
	char what[96];
	long mt0, mt1, want_kb;
	int q;

	snprintf(what, sizeof(what), "%s of %lld MiB with %s", dir_name[dir],
		 size_pages * PAGE_4K / SZ_1M, drv_name[d]);
	for (q = 0; q < NR_DIR; q++)
		used0[q] = vq_used(dir_vq[q]);
	if (d == OURS) {
		msgs0[INFLATE] = stat_2m("inflate_msgs");
		msgs0[DEFLATE] = stat_2m("deflate_msgs");
	}
	balloon_events(&infl0, &defl0);
	guest_level(&lv0);
	mt0 = meminfo_kb("MemTotal");
	k0 = kernel_cpu_ms();
	s0 = self_sys_ms();

	t0 = now_ms();
	set_target(bytes);
	if (opt.guest_poll_us)
		wait_guest(&lv0, dir == INFLATE ? size_pages : -size_pages,
			   what);
	t1 = wait_size(bytes, what);

	m->ms = t1 - t0;
	m->kcpu_ms = kernel_cpu_ms() - k0;
	m->self_ms = self_sys_ms() - s0;
	for (q = 0; q < NR_DIR; q++)
		used1[q] = vq_used(dir_vq[q]);
	m->msgs = balloon_vq_delta(used0[dir], used1[dir]);

	/* Both sides agree, or the figures mean nothing. */
	if (host_size() != bytes)
		die("%s: query-balloon reported the target, then %lld bytes",
		    what, (long long)host_size());
	balloon_events(&dinfl, &ddefl);
	dinfl -= infl0;
	ddefl -= defl0;
	moved = dir == INFLATE ? dinfl - ddefl : ddefl - dinfl;
	if (moved != size_pages)
		die("%s: the host reports the target, but the guest's /proc/vmstat moved by %lld pages (balloon_inflate +%lld, balloon_deflate +%lld), not %lld",
		    what, moved, dinfl, ddefl, size_pages);
	mt1 = meminfo_kb("MemTotal");
	want_kb = deflate_on_oom ? 0 : size_pages * (PAGE_4K / 1024);
	if (dir == INFLATE)
		want_kb = -want_kb;
	if (mt1 - mt0 != want_kb)
		die("%s: MemTotal moved by %ld kB, expected %ld kB (deflate-on-oom %s)",
		    what, mt1 - mt0, want_kb,
		    deflate_on_oom ? "negotiated" : "off");
	if (d == OURS) {
		want = stat_2m("target_pages");
		if (want != pages || stat_2m("actual_pages") != pages)
			die("%s: the host reports the target, debugfs target_pages %lld actual_pages %lld, expected %lld",
			    what, want, stat_2m("actual_pages"), pages);
		dmsgs[INFLATE] = stat_2m("inflate_msgs") - msgs0[INFLATE];
		dmsgs[DEFLATE] = stat_2m("deflate_msgs") - msgs0[DEFLATE];
		for (q = 0; q < NR_DIR; q++)
			if (dmsgs[q] != balloon_vq_delta(used0[q], used1[q]))
				warn("%s: debugfs says %s_msgs +%lld, QEMU's used-idx of the %s queue moved by %u",
				     what, dir_name[q], dmsgs[q], dir_name[q],
				     balloon_vq_delta(used0[q], used1[q]));
	} else if (m->msgs != (size_pages + BALLOON_STOCK_PFNS_PER_MSG - 1) /
			     BALLOON_STOCK_PFNS_PER_MSG) {
		warn("%s: %u messages, expected %lld for %d PFNs per message",
		     what, m->msgs,
		     (size_pages + BALLOON_STOCK_PFNS_PER_MSG - 1) /
		     BALLOON_STOCK_PFNS_PER_MSG, BALLOON_STOCK_PFNS_PER_MSG);
	}
	q = !dir;
	if (balloon_vq_delta(used0[q], used1[q]))
		warn("%s: %u messages on the %s queue too", what,
		     balloon_vq_delta(used0[q], used1[q]), dir_name[q]);
}

static void one_run(int d, unsigned long mib, struct run *r)
{
	long long pages = mib * (SZ_1M / PAGE_4K);

	check_stop();
	fresh_state(d, r);
	check_stop();
	measure(d, INFLATE, g.ram - (int64_t)mib * SZ_1M, pages, pages,
		&r->m[INFLATE]);
	r->pages_4k = d == OURS ? stat_2m("pages_4k") : -1;
	check_stop();
	measure(d, DEFLATE, g.ram, 0, pages, &r->m[DEFLATE]);
}

/* ---- output ----------------------------------------------------------- */

/* One row: @round is 0 for the warm-up. */
static void print_run(int round, int d, unsigned long mib, const struct run *r)
{
	char fb[24] = "-", rd[16] = "warm";

	if (r->pages_4k >= 0)
		snprintf(fb, sizeof(fb), "%lld", r->pages_4k);
	if (round)
		snprintf(rd, sizeof(rd), "%d", round);
	printf("%-5s %-17s %6lu %8.0f %7.0f %10.1f %6u %7.0f %7.0f %10.1f %6u %7.0f %8s\n",
	       rd, drv_name[d], mib, r->free_mib, r->free_2m,
	       r->m[INFLATE].ms, r->m[INFLATE].msgs, r->m[INFLATE].kcpu_ms,
	       r->m[INFLATE].self_ms, r->m[DEFLATE].ms, r->m[DEFLATE].msgs,
	       r->m[DEFLATE].kcpu_ms, fb);
}

/* The medians of one driver and size. */
struct summary {
	double ms[NR_DIR], msgs[NR_DIR];
	double kcpu[NR_DIR];	/* without the poller's share */
	double free_2m;
};

static void summarize(const struct run *runs, int n, struct summary *s)
{
	double v[3][MAX_RUNS], f[MAX_RUNS];
	int i, dir;

	for (dir = 0; dir < NR_DIR; dir++) {
		for (i = 0; i < n; i++) {
			v[0][i] = runs[i].m[dir].ms;
			v[1][i] = runs[i].m[dir].msgs;
			/* Tick sampling can make the difference negative. */
			v[2][i] = runs[i].m[dir].kcpu_ms -
				  runs[i].m[dir].self_ms;
			v[2][i] = v[2][i] > 0 ? v[2][i] : 0;
		}
		s->ms[dir] = median(v[0], n);
		s->msgs[dir] = median(v[1], n);
		s->kcpu[dir] = median(v[2], n);
	}
	for (i = 0; i < n; i++)
		f[i] = runs[i].free_2m;
	s->free_2m = median(f, n);
}

/* A row of the medians; the ratio only if virtio_balloon_2m's is >= @min. */
static void row(const char *what, unsigned long mib, const double *v,
		int prec, double min)
{
	char label[48];
	int d;

	snprintf(label, sizeof(label), "%-6lu %s", mib, what);
	printf("%-30s", label);
	for (d = 0; d < NR_DRV; d++) {
		if (opt.have[d])
			printf(" %17.*f", prec, v[d]);
	}
	if (opt.have[STOCK] && opt.have[OURS]) {
		if (v[OURS] > 0 && v[OURS] >= min)
			printf(" %9.2fx", v[STOCK] / v[OURS]);
		else
			printf(" %10s", "-");
	}
	printf("\n");
}

static double ratio(double a, double b)
{
	if (b <= 0)
		die("a virtio_balloon_2m median is 0: cannot divide by it");
	return a / b;
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
		"usage: " PROG " [-m MiB[,MiB...]] [-r rounds] [-d stock|2m|both] [-p poll_ms]\n"
		"       [-g guest_poll_us] [-t timeout_s] [-W] [-q]\n"
		"  -m  balloon sizes (default 256 and 3/4 of MemTotal, in whole 2 MiB;\n"
		"      at most %d sizes)\n"
		"  -r  rounds, drivers alternating; medians reported (default 3, at most %d)\n"
		"  -d  drivers: stock virtio_balloon, virtio_balloon_2m, or both (default)\n"
		"  -p  query-balloon poll interval in ms (default 10)\n"
		"  -g  first wait until the guest's side has moved (sysinfo() totalram, or\n"
		"      /proc/vmstat balloon events with deflate-on-oom), checked every this\n"
		"      many us (default 2000); 0: poll only query-balloon\n"
		"  -W  no warm-up (one unmeasured run of the smallest size per driver)\n"
		"  -q  no per-run rows: the medians and the RESULT lines\n"
		"  -t  longest a move may take, s (default 600)\n"
		"  -h  this help\n", MAX_SIZES, MAX_RUNS);
}

int main(int argc, char **argv)
{
	static struct run runs[NR_DRV][MAX_SIZES][MAX_RUNS];
	struct summary sum[NR_DRV][MAX_SIZES];
	unsigned long mib[MAX_SIZES];
	int nsizes = 0, rounds = 3, opt_c, i, j, r, k, d, order[NR_DRV];
	double rtt, res, v[NR_DRV];
	bool both;
	long memtotal_kb;
	char tag[24];
	int64_t now;
	int ret;

	clk_tck = sysconf(_SC_CLK_TCK);
	if (clk_tck <= 0)
		die("sysconf(_SC_CLK_TCK) failed");

	while ((opt_c = getopt(argc, argv, "m:r:d:p:g:t:Wqh")) != -1) {
		switch (opt_c) {
		case 'm':
			nsizes = parse_mib_list(optarg, mib, MAX_SIZES);
			if (nsizes < 0)
				goto bad;
			break;
		case 'r':
			rounds = atoi(optarg);
			if (rounds < 1 || rounds > MAX_RUNS)
				goto bad;
			break;
		case 'd':
			if (!strcmp(optarg, "stock"))
				opt.have[OURS] = false;
			else if (!strcmp(optarg, "2m"))
				opt.have[STOCK] = false;
			else if (strcmp(optarg, "both"))
				goto bad;
			break;
		case 'p':
			opt.poll_ms = atoi(optarg);
			if (opt.poll_ms < 1 || opt.poll_ms > 10000)
				goto bad;
			break;
		case 'g':
			opt.guest_poll_us = atoi(optarg);
			if (opt.guest_poll_us < 0 || opt.guest_poll_us > 1000000)
				goto bad;
			break;
		case 'W':
			opt.warmup = false;
			break;
		case 'q':
			opt.quiet = true;
			break;
		case 't':
			opt.timeout_ms = atoi(optarg);
			if (opt.timeout_ms < 1 || opt.timeout_ms > 86400)
				goto bad;
			opt.timeout_ms *= 1000;
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

	if (!hv_available())
		die("no host channel (%s on the command line, %s): run under scripts/vm.py",
		    HV_CMDLINE_TOKEN, HV_TTY);
	ret = balloon_find(g.dev, sizeof(g.dev));
	if (ret)
		die_err(-ret, "no virtio-balloon device");
	ret = balloon_driver(g.dev, g.orig_drv, sizeof(g.orig_drv));
	if (ret)
		die_err(-ret, "driver of %s", g.dev);
	g.ram = guest_ram();
	if (g.ram <= 0 || g.ram % SZ_2M)
		die("guest RAM of %lld bytes: not a positive multiple of 2 MiB",
		    (long long)g.ram);

	diag_init(PROG, cleanup);

	/* The first driver, with the balloon empty: MemTotal at its fullest. */
	for (d = 0; !opt.have[d]; d++)
		;
	move_driver(d);
	now = host_size();
	if (now != g.ram) {
		set_target(g.ram);
		wait_size(g.ram, "emptying the balloon");
	}
	memtotal_kb = meminfo_kb("MemTotal");

	/* Sizes: ascending, whole 2 MiB, no duplicates, below MemTotal. */
	if (!nsizes) {
		mib[nsizes++] = 256;
		mib[nsizes++] = memtotal_kb / 1024 * 3 / 4;
	}
	for (i = 0; i < nsizes; i++) {
		mib[i] &= ~1UL;
		if (!mib[i] || (long long)mib[i] * 1024 >= memtotal_kb)
			die("balloon size %lu MiB: must be from 2 MiB to below MemTotal (%ld MiB)",
			    mib[i], memtotal_kb / 1024);
		/* used-idx is 16 bits: stock sends a message per MiB. */
		if (opt.have[STOCK] && mib[i] > 0xffff)
			die("balloon size %lu MiB: the stock driver's %lu messages would wrap QEMU's 16-bit used-idx; at most 65535 MiB",
			    mib[i], mib[i]);
	}
	qsort(mib, nsizes, sizeof(mib[0]), cmp_ulong);
	for (i = j = 0; i < nsizes; i++)
		if (!j || mib[i] != mib[j - 1])
			mib[j++] = mib[i];
	nsizes = j;

	rtt = qmp_round_trip_ms();
	res = opt.guest_poll_us / 1000.0 + opt.poll_ms + rtt;
	both = opt.have[STOCK] && opt.have[OURS];
	printf("virtio balloon: %s, %d round%s in one boot%s\n",
	       both ? "6.12's virtio_balloon against virtio_balloon_2m" :
	       opt.have[STOCK] ? "6.12's virtio_balloon" : "virtio_balloon_2m",
	       rounds, rounds > 1 ? "s" : "",
	       both ? ", drivers alternating" : "");
	printf("(guest RAM %lld MiB, MemTotal %ld MiB, %ld CPUs, deflate-on-oom %s).\n",
	       (long long)(g.ram / SZ_1M), memtotal_kb / 1024,
	       sysconf(_SC_NPROCESSORS_ONLN),
	       deflate_on_oom ? "negotiated" : "off");
	if (opt.quiet) {
		printf("ms: from the 'balloon' command until query-balloon reports the target (within about\n");
		printf("%.0f ms); msgs: messages the host consumed; kcpu: the guest's kernel CPU time (no\n",
		       res);
		printf("ratio below %d ms: a few timer ticks).\n", KCPU_MIN_MS);
	} else {
		printf("Each run starts from an empty balloon, dropped caches and compacted memory%s.\n",
		       opt.warmup ? ";\n\"warm\": one unmeasured run per driver first" : "");
		printf("ms: from the 'balloon' command until query-balloon reports the target, polled every\n");
		printf("%d ms through the host channel (round trip %.1f ms)", opt.poll_ms, rtt);
		if (opt.guest_poll_us)
			printf(" once the guest's side\n(%s, read every %d us) has moved",
			       deflate_on_oom ? "/proc/vmstat balloon events" :
			       "sysinfo() totalram", opt.guest_poll_us);
		printf(": late by up to about %.0f ms.\n", res);
		printf("msgs: buffers the host consumed (QEMU's used-idx).  kcpu: guest kernel CPU time over\n");
		printf("the move, all CPUs (system+irq+softirq, 1/HZ ticks); poller: this program's share of\n");
		printf("it, left out of the medians (no ratio below %d ms: a few ticks).  free_MiB, free_2m:\n",
		       KCPU_MIN_MS);
		printf("MemFree and free 2 MiB blocks at the start; 4k_pages: virtio_balloon_2m's 4 KiB\n");
		printf("fallback pages after the inflate.\n\n");
		printf("%-5s %-17s %6s %8s %7s %10s %6s %7s %7s %10s %6s %7s %8s\n",
		       "round", "driver", "MiB", "free_MiB", "free_2m",
		       "inflate_ms", "msgs", "kcpu_ms", "poller", "deflate_ms",
		       "msgs", "kcpu_ms", "4k_pages");
	}
	for (r = 0; r < rounds; r++) {
		/* stock first in odd rounds, ours first in even ones */
		order[0] = r % 2 ? OURS : STOCK;
		order[1] = !order[0];
		for (k = 0; k < NR_DRV; k++) {
			d = order[k];
			if (!opt.have[d])
				continue;
			move_driver(d);
			if (!r && opt.warmup) {
				struct run w;

				one_run(d, mib[0], &w);
				if (!opt.quiet)
					print_run(0, d, mib[0], &w);
			}
			for (i = 0; i < nsizes; i++) {
				one_run(d, mib[i], &runs[d][i][r]);
				if (!opt.quiet)
					print_run(r + 1, d, mib[i],
						  &runs[d][i][r]);
				fflush(stdout);
			}
		}
	}

	for (d = 0; d < NR_DRV; d++)
		for (i = 0; opt.have[d] && i < nsizes; i++)
			summarize(runs[d][i], rounds, &sum[d][i]);

	snprintf(tag, sizeof(tag), "median of %d round%s", rounds,
		 rounds > 1 ? "s" : "");
	printf("\n%-30s", tag);
	for (d = 0; d < NR_DRV; d++)
		if (opt.have[d])
			printf(" %17s", drv_name[d]);
	if (opt.have[STOCK] && opt.have[OURS])
		printf(" %10s", "stock/2m");
	printf("\n");
	for (i = 0; i < nsizes; i++) {
		int dir;

		for (dir = 0; dir < NR_DIR; dir++) {
			char what[32];

			for (d = 0; d < NR_DRV; d++)
				v[d] = opt.have[d] ? sum[d][i].ms[dir] : 0;
			snprintf(what, sizeof(what), "MiB %s ms", dir_name[dir]);
			row(what, mib[i], v, 1, 0);
			for (d = 0; d < NR_DRV; d++)
				v[d] = opt.have[d] ? sum[d][i].msgs[dir] : 0;
			snprintf(what, sizeof(what), "MiB %s msgs", dir_name[dir]);
			row(what, mib[i], v, 0, 0);
			for (d = 0; d < NR_DRV; d++)
				v[d] = opt.have[d] ? sum[d][i].kcpu[dir] : 0;
			snprintf(what, sizeof(what), "MiB %s kcpu ms",
				 dir_name[dir]);
			row(what, mib[i], v, 0, KCPU_MIN_MS);
		}
	}
	printf("\n");

	for (i = 0; i < nsizes; i++) {
		size_tag(tag, sizeof(tag), mib[i]);
		for (d = 0; d < NR_DRV; d++) {
			int dir;

			if (!opt.have[d])
				continue;
			for (dir = 0; dir < NR_DIR; dir++) {
				printf("RESULT balloon2m_%s_ms_%s_%s %.1f ms\n",
				       dir_name[dir], drv_tag[d], tag,
				       sum[d][i].ms[dir]);
				printf("RESULT balloon2m_%s_msgs_%s_%s %.0f msgs\n",
				       dir_name[dir], drv_tag[d], tag,
				       sum[d][i].msgs[dir]);
				printf("RESULT balloon2m_%s_kcpu_ms_%s_%s %.0f ms\n",
				       dir_name[dir], drv_tag[d], tag,
				       sum[d][i].kcpu[dir]);
			}
		}
	}
	if (opt.have[STOCK] && opt.have[OURS]) {
		struct summary *s = &sum[STOCK][nsizes - 1];
		struct summary *o = &sum[OURS][nsizes - 1];

		printf("RESULT balloon2m_inflate_speedup %.2f x\n",
		       ratio(s->ms[INFLATE], o->ms[INFLATE]));
		printf("RESULT balloon2m_deflate_speedup %.2f x\n",
		       ratio(s->ms[DEFLATE], o->ms[DEFLATE]));
		if (nsizes > 1) {
			printf("RESULT balloon2m_inflate_speedup_small %.2f x\n",
			       ratio(sum[STOCK][0].ms[INFLATE],
				     sum[OURS][0].ms[INFLATE]));
			printf("RESULT balloon2m_deflate_speedup_small %.2f x\n",
			       ratio(sum[STOCK][0].ms[DEFLATE],
				     sum[OURS][0].ms[DEFLATE]));
		}
		printf("RESULT balloon2m_inflate_msgs_stock %.0f msgs\n",
		       s->msgs[INFLATE]);
		printf("RESULT balloon2m_inflate_msgs_2m %.0f msgs\n",
		       o->msgs[INFLATE]);
		printf("RESULT balloon2m_msg_reduction %.2f %%\n",
		       s->msgs[INFLATE] > 0 ?
		       100 * (1 - o->msgs[INFLATE] / s->msgs[INFLATE]) : 0);
		if (o->kcpu[INFLATE] >= KCPU_MIN_MS)
			printf("RESULT balloon2m_inflate_kcpu_ratio %.2f x\n",
			       s->kcpu[INFLATE] / o->kcpu[INFLATE]);
	}
	printf("RESULT balloon2m_size_mib %lu MiB\n", mib[nsizes - 1]);
	if (nsizes > 1)
		printf("RESULT balloon2m_size_small_mib %lu MiB\n", mib[0]);
	printf("RESULT balloon2m_resolution_ms %.1f ms\n", res);
	return cleanup() ? 1 : 0;
bad:
	usage(stderr);
	return 2;
}
