// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_balloon_2m at boot.  Runs only in the boot that scripts/check.sh
 * calls "balloon-boot" (not in run_kselftest.sh's list): QEMU started
 * paused with a balloon target already set and deflate-on-oom=on
 * (scripts/vm.py --balloon-target, which puts fastboot.balloon_target=BYTES
 * on the command line, and --balloon-opts), the kernel booted with
 * initcall_debug, and fastboot.vfio_ids=1234:11e8 so that /init binds
 * QEMU's edu device to vfio-pci as it loads it: a passthrough driver that
 * probes after the balloon.
 *
 *  - initial_target_before_probe: the built-in virtio_balloon_2m reached
 *    the preset target inside its probe, before /init ran and before edu's
 *    probe started (kernel log timestamps; initcall_debug logs each
 *    probe's duration); its debugfs file and QEMU agree on the size.
 *  - wait_ms_bounds_probe: with virtio_balloon_2m.wait_ms=0 probe does not
 *    wait (nothing logged) and the work reaches the target; with 1 ms probe
 *    gives up after one message and logs that it did; the target is
 *    reached either way.
 *  - resize_nice_at_probe: virtio_balloon_2m.resize_nice refuses values
 *    outside -20..19 and non-numbers (EINVAL/ERANGE, value unchanged); a
 *    valid one is the nice value of the vb2m/virtioN thread of the next
 *    probe, and the balloon follows the host's target from that thread.
 *  - oom_gives_back, with either driver: with the balloon inflated and
 *    DEFLATE_ON_OOM negotiated, a process that touches more than the free
 *    memory runs to completion; the balloon gave the memory back (QEMU's
 *    actual grew, host and guest agree) and the OOM killer did not run.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "balloon.h"
#include "hugetlb.h"
#include "hv.h"
#include "sysfs.h"
#include "vfio.h"

#define SZ_1M			(1024LL * 1024)
#define SZ_2M			(2 * SZ_1M)
#define PAGE_4K			4096LL
#define EDU_VENDOR		0x1234
#define EDU_DEVICE		0x11e8
#define TARGET_TOKEN		"fastboot.balloon_target="
#define WAIT_MS_PARAM		"/sys/module/" BALLOON_DRV_2M "/parameters/wait_ms"
#define NICE_PARAM		"/sys/module/" BALLOON_DRV_2M "/parameters/resize_nice"
/* One message of virtio_balloon_2m: 128 MiB. */
#define VB2M_MSG_PAGES		(128 * SZ_1M / PAGE_4K)
#define WAIT_MS			(150 * 1000)
#define POLL_MS			200
/* Free memory left beside the 2 MiB pool, and what the child takes beyond. */
#define OOM_LEAVE		(256 * SZ_1M)
#define OOM_OVER		(128 * SZ_1M)

/* The value of @token (e.g. "x=") on the kernel command line. */
static int cmdline_ll(const char *token, long long *val)
{
	char buf[4096], *tok, *save, *end;

	if (sysfs_read_str("/proc/cmdline", buf, sizeof(buf)))
		return -ENOENT;
	for (tok = strtok_r(buf, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		if (strncmp(tok, token, strlen(token)))
			continue;
		errno = 0;
		*val = strtoll(tok + strlen(token), &end, 10);
		return errno || *end ? -EINVAL : 0;
	}
	return -ENOENT;
}

/*
 * Why this boot cannot run the test, or NULL: the balloon device into
 * @dev, and the target vm.py preset (fastboot.balloon_target=) into
 * @preset.
 */
static const char *boot_setup(char *dev, size_t len, long long *preset)
{
	if (balloon_find(dev, len))
		return "no virtio-balloon device";
	if (!hv_available())
		return "no host channel (" HV_CMDLINE_TOKEN ")";
	if (cmdline_ll(TARGET_TOKEN, preset))
		return "no preset target (vm.py --balloon-target)";
	return NULL;
}

/*
 * Read /dev/kmsg records from @fd until none is left, calling @fn with each
 * record's timestamp (us since boot) and text until it returns non-zero.
 */
static int kmsg_each(int fd, int (*fn)(long long usec, const char *text,
				       void *arg), void *arg)
{
	char buf[8192], *text, *nl;
	long long usec;
	ssize_t n;
	int ret;

	for (;;) {
		n = read(fd, buf, sizeof(buf) - 1);
		if (n < 0) {
			if (errno == EAGAIN)
				return 0;
			if (errno == EPIPE || errno == EINTR)
				continue;	/* overwritten: go on */
			return -errno;
		}
		buf[n] = '\0';
		/* "prio,seq,usec,flags[,...];text\n KEY=value\n..." */
		text = strchr(buf, ';');
		if (!text || sscanf(buf, "%*u,%*u,%lld", &usec) != 1)
			continue;
		text++;
		nl = strchr(text, '\n');
		if (nl)
			*nl = '\0';
		ret = fn(usec, text, arg);
		if (ret)
			return ret;
	}
}

static int kmsg_open(bool from_end)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0 && from_end)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* What the boot log says about the balloon and edu. */
struct boot_log {
	/* "virtio_balloon_2m virtioN: initial target reached: " */
	char reached_pfx[NAME_MAX + 64];
	char stopped_pfx[NAME_MAX + 64];
	char probe_pfx[64];	/* "probe of <edu bdf> returned " */
	long long reached_us, init_us, edu_start_us;
	long long reached_mib, edu_ret, edu_probe_us;
	int nr_reached, nr_stopped;
};

static int scan_boot(long long usec, const char *text, void *arg)
{
	struct boot_log *b = arg;
	long long ret, dur;

	if (!strncmp(text, b->reached_pfx, strlen(b->reached_pfx))) {
		/* The first: the boot's probe, not a later rebind. */
		if (!b->nr_reached++) {
			b->reached_us = usec;
			b->reached_mib = strtoll(text + strlen(b->reached_pfx),
						 NULL, 10);
		}
	} else if (!strncmp(text, b->stopped_pfx, strlen(b->stopped_pfx))) {
		b->nr_stopped++;
	} else if (!strcmp(text, "Run /init as init process")) {
		b->init_us = usec;
	} else if (!strncmp(text, b->probe_pfx, strlen(b->probe_pfx)) &&
		   b->edu_start_us < 0 &&
		   sscanf(text + strlen(b->probe_pfx),
			  "%lld after %lld usecs", &ret, &dur) == 2 && !ret) {
		/* The probe that bound it (initcall_debug). */
		b->edu_ret = ret;
		b->edu_probe_us = dur;
		b->edu_start_us = usec - dur;
	}
	return 0;
}

TEST(initial_target_before_probe)
{
	char dev[NAME_MAX + 1], drv[NAME_MAX + 1], bdf[32], path[PATH_MAX];
	struct boot_log b = { .reached_us = -1, .init_us = -1,
			      .edu_start_us = -1 };
	long long preset, pages, ms;
	int64_t ram, actual;
	const char *skip;
	int fd, builtin;

	skip = boot_setup(dev, sizeof(dev), &preset);
	if (skip)
		SKIP(return, "%s", skip);
	ASSERT_EQ(0, balloon_ram_size(&ram));
	pages = (ram - preset) / PAGE_4K;
	ASSERT_LT(0, pages);

	/* Built in, it took the device at boot. */
	ASSERT_EQ(0, balloon_driver(dev, drv, sizeof(drv)));
	ASSERT_STREQ(BALLOON_DRV_2M, drv);
	/* The passthrough driver that probes later: edu on vfio-pci. */
	ASSERT_EQ(0, vfio_pci_find(EDU_VENDOR, EDU_DEVICE, bdf, sizeof(bdf)));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	ASSERT_EQ(0, sysfs_link_name(path, drv, sizeof(drv)))
		TH_LOG("edu (%s) has no driver: fastboot.vfio_ids missing?",
		       bdf);
	ASSERT_STREQ("vfio-pci", drv);

	snprintf(b.reached_pfx, sizeof(b.reached_pfx),
		 "%s %s: initial target reached: ", BALLOON_DRV_2M, dev);
	snprintf(b.stopped_pfx, sizeof(b.stopped_pfx),
		 "%s %s: initial inflate stopped", BALLOON_DRV_2M, dev);
	snprintf(b.probe_pfx, sizeof(b.probe_pfx), "probe of %s returned ",
		 bdf);
	fd = kmsg_open(false);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kmsg_each(fd, scan_boot, &b));
	close(fd);
	TH_LOG("target reached at %lld us (%lld MiB), /init at %lld us, %s %lld us from %lld us",
	       b.reached_us, b.reached_mib, b.init_us, "edu probe", b.edu_probe_us,
	       b.edu_start_us);

	EXPECT_EQ(0, b.nr_stopped)
		TH_LOG("the initial inflate did not finish in probe");
	ASSERT_LT(0, b.nr_reached)
		TH_LOG("no \"%s\" in the kernel log", b.reached_pfx);
	EXPECT_EQ(pages * PAGE_4K / SZ_1M, b.reached_mib);
	ASSERT_LE(0, b.init_us) TH_LOG("no \"Run /init\" in the kernel log");
	/*
	 * Built in, before /init.  As a module (DKMS, on a distribution's
	 * kernel) it is loaded by /init's modprobe vfio_pci (softdep): after
	 * /init, and still before edu's probe, checked below.
	 */
	/* Only a module has an initstate. */
	builtin = access("/sys/module/" BALLOON_DRV_2M "/initstate", F_OK) != 0;
	EXPECT_EQ(builtin, b.reached_us < b.init_us)
		TH_LOG("%s, and the target was reached %s /init",
		       builtin ? "built in" : "a module",
		       b.reached_us < b.init_us ? "before" : "after");
	ASSERT_LE(0, b.edu_start_us)
		TH_LOG("no \"%s0 after N usecs\" (initcall_debug?)",
		       b.probe_pfx);
	EXPECT_LT(b.reached_us, b.edu_start_us);

	ASSERT_EQ(0, balloon_stat(dev, "initial_target_pages", &ms));
	EXPECT_EQ(pages, ms);
	ASSERT_EQ(0, balloon_stat(dev, "initial_ms", &ms));
	EXPECT_LE(0, ms);
	ASSERT_EQ(0, balloon_stat(dev, "actual_pages", &ms));
	EXPECT_EQ(pages, ms);
	ASSERT_EQ(0, balloon_query(&actual));
	EXPECT_EQ(preset, actual);
}

/* What the log says about one probe of virtio_balloon_2m. */
struct probe_log {
	char reached_pfx[NAME_MAX + 64];
	char stopped_pfx[NAME_MAX + 64];
	int nr_reached, nr_stopped;
};

static int scan_probe(long long usec, const char *text, void *arg)
{
	struct probe_log *p = arg;

	if (!strncmp(text, p->reached_pfx, strlen(p->reached_pfx)))
		p->nr_reached++;
	else if (!strncmp(text, p->stopped_pfx, strlen(p->stopped_pfx)))
		p->nr_stopped++;
	return 0;
}

/*
 * Empty the balloon (unbind), set wait_ms to @wait and bind again with the
 * host's target still set: the log lines of that probe go to @p.
 */
static int reprobe(const char *dev, const char *wait, struct probe_log *p)
{
	int fd, ret;

	ret = balloon_unbind(dev);
	if (ret)
		return ret;
	ret = sysfs_write_str(WAIT_MS_PARAM, wait);
	if (ret)
		return ret;
	fd = kmsg_open(true);
	if (fd < 0)
		return -errno;
	ret = balloon_bind(dev, BALLOON_DRV_2M);
	if (!ret)
		ret = kmsg_each(fd, scan_probe, p);
	close(fd);
	return ret;
}

/* Poll debugfs initial_ms until the work has reached the initial target. */
static long long initial_ms_wait(const char *dev)
{
	long long ms = -1;
	int waited;

	for (waited = 0; waited < WAIT_MS; waited += POLL_MS) {
		if (balloon_stat(dev, "initial_ms", &ms) || ms >= 0)
			break;
		usleep(POLL_MS * 1000);
	}
	return ms;
}

/*
 * wait_ms bounds the initial inflate in probe: with 0 probe does not wait
 * (nothing logged, the work inflates); with 1 it gives up after its first
 * message and says so; either way the work reaches the target and records
 * when.
 */
FIXTURE(probe) {
};

FIXTURE_SETUP(probe)
{
}

FIXTURE_TEARDOWN(probe)
{
}

TEST_F_TIMEOUT(probe, wait_ms_bounds_probe, 600)
{
	char dev[NAME_MAX + 1], old[32];
	struct probe_log p0 = {}, p1 = {};
	long long preset, pages, val;
	int64_t ram, last = 0;
	const char *skip;
	int ret0, ret1;

	skip = boot_setup(dev, sizeof(dev), &preset);
	if (skip)
		SKIP(return, "%s", skip);
	ASSERT_EQ(0, balloon_ram_size(&ram));
	pages = (ram - preset) / PAGE_4K;
	ASSERT_LT(VB2M_MSG_PAGES, pages)
		TH_LOG("the preset balloon must take more than one message");
	ASSERT_EQ(0, sysfs_read_str(WAIT_MS_PARAM, old, sizeof(old)));
	ASSERT_EQ(0, balloon_target(preset));
	ASSERT_EQ(0, balloon_bind(dev, BALLOON_DRV_2M));

	snprintf(p0.reached_pfx, sizeof(p0.reached_pfx),
		 "%s %s: initial target reached: ", BALLOON_DRV_2M, dev);
	snprintf(p0.stopped_pfx, sizeof(p0.stopped_pfx),
		 "%s %s: initial inflate stopped after ", BALLOON_DRV_2M, dev);
	p1 = p0;

	ret0 = reprobe(dev, "0", &p0);
	if (!ret0) {
		EXPECT_EQ(0, balloon_stat(dev, "initial_target_pages", &val));
		EXPECT_EQ(pages, val);
		EXPECT_EQ(0, balloon_wait(preset, WAIT_MS, POLL_MS, &last));
		EXPECT_LE(0, initial_ms_wait(dev));
	}

	ret1 = reprobe(dev, "1", &p1);
	if (!ret1) {
		EXPECT_EQ(0, balloon_stat(dev, "initial_target_pages", &val));
		EXPECT_EQ(pages, val);
		EXPECT_EQ(0, balloon_wait(preset, WAIT_MS, POLL_MS, &last));
		EXPECT_LE(0, initial_ms_wait(dev));
	}

	/* The boot's value back, before anything can return. */
	EXPECT_EQ(0, sysfs_write_str(WAIT_MS_PARAM, old));
	ASSERT_EQ(0, ret0);
	ASSERT_EQ(0, ret1);
	TH_LOG("wait_ms=0: %d reached, %d stopped; wait_ms=1: %d reached, %d stopped",
	       p0.nr_reached, p0.nr_stopped, p1.nr_reached, p1.nr_stopped);
	EXPECT_EQ(0, p0.nr_reached);
	EXPECT_EQ(0, p0.nr_stopped);
	EXPECT_EQ(0, p1.nr_reached);
	EXPECT_EQ(1, p1.nr_stopped);
	EXPECT_EQ(0, balloon_query(&last));
	EXPECT_EQ(preset, last);
}

/*
 * The nice value of the kernel thread whose comm is @comm: 0 with *@nice
 * set, -ENOENT if there is none, -EEXIST if there are several, or -errno.
 */
static int thread_nice(const char *comm, long *nice)
{
	char path[PATH_MAX], buf[1024], *p;
	struct dirent *de;
	int found = 0, i;
	DIR *d;

	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		if (sysfs_read_str(path, buf, sizeof(buf)) || strcmp(buf, comm))
			continue;
		/* stat: "pid (comm) state ..."; nice is field 19. */
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if (sysfs_read_str(path, buf, sizeof(buf)))
			continue;
		p = strrchr(buf, ')');
		for (i = 2; p && i < 19; i++)
			p = strchr(p + 1, ' ');
		if (!p)
			continue;
		*nice = strtol(p + 1, NULL, 10);
		found++;
	}
	closedir(d);
	return found == 1 ? 0 : found ? -EEXIST : -ENOENT;
}

/*
 * Unbind, set resize_nice to @nice, bind: the new thread's nice value into
 * *@got; then move the host's target to @bytes and wait for the balloon.
 */
static int nice_reprobe(const char *dev, const char *nice, long *got,
			int64_t bytes)
{
	char comm[64];
	int64_t last = 0;
	int ret;

	ret = balloon_unbind(dev);
	if (!ret)
		ret = sysfs_write_str(NICE_PARAM, nice);
	if (!ret)
		ret = balloon_bind(dev, BALLOON_DRV_2M);
	if (ret)
		return ret;
	snprintf(comm, sizeof(comm), "vb2m/%s", dev);
	ret = thread_nice(comm, got);
	if (ret)
		return ret;
	ret = balloon_target(bytes);
	if (ret)
		return ret;
	return balloon_wait(bytes, WAIT_MS, POLL_MS, &last);
}

TEST_F_TIMEOUT(probe, resize_nice_at_probe, 600)
{
	static const struct {
		const char *val;
		int err;
	} bad[] = {
		{ "20", -EINVAL }, { "-21", -EINVAL }, { "nice", -EINVAL },
		{ "\n", -EINVAL }, { "99999999999", -ERANGE },
	};
	char dev[NAME_MAX + 1], old[32], now[32];
	long long preset;
	long nice0 = 99, nice19 = 99;
	const char *skip;
	int64_t ram;
	int ret0, ret19;
	size_t i;

	skip = boot_setup(dev, sizeof(dev), &preset);
	if (skip)
		SKIP(return, "%s", skip);
	ASSERT_EQ(0, balloon_ram_size(&ram));
	ASSERT_LT(preset + 256 * SZ_1M, ram);
	ASSERT_EQ(0, sysfs_read_str(NICE_PARAM, old, sizeof(old)));
	EXPECT_STREQ("19", old) TH_LOG("not the default");

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(bad[i].err, sysfs_write_str(NICE_PARAM, bad[i].val))
			TH_LOG("resize_nice=\"%s\"", bad[i].val);
		ASSERT_EQ(0, sysfs_read_str(NICE_PARAM, now, sizeof(now)));
		EXPECT_STREQ(old, now);
	}

	/* Each value with a move of the target: 256 MiB out, then back in. */
	ASSERT_EQ(0, balloon_target(preset));
	ASSERT_EQ(0, balloon_bind(dev, BALLOON_DRV_2M));
	ret0 = nice_reprobe(dev, "0", &nice0, preset + 256 * SZ_1M);
	ret19 = nice_reprobe(dev, "19", &nice19, preset);

	/* The boot's value and target back, before anything can return. */
	EXPECT_EQ(0, sysfs_write_str(NICE_PARAM, old));
	EXPECT_EQ(0, balloon_target(preset));
	ASSERT_EQ(0, ret0) TH_LOG("resize_nice=0: %s", strerror(-ret0));
	ASSERT_EQ(0, ret19) TH_LOG("resize_nice=19: %s", strerror(-ret19));
	EXPECT_EQ(0, nice0);
	EXPECT_EQ(19, nice19);
}

FIXTURE(oom) {
	char dev[NAME_MAX + 1];
	char boot_drv[NAME_MAX + 1];	/* its driver at setup, given back */
	int64_t ram;
	long long preset;		/* the boot's target, restored */
	long pool_2m;			/* 2 MiB pool size to restore, or -1 */
};

FIXTURE_VARIANT(oom) {
	const char *driver;
	bool b2m;
};

FIXTURE_VARIANT_ADD(oom, stock) {
	.driver = BALLOON_DRV_STOCK,
	.b2m = false,
};

FIXTURE_VARIANT_ADD(oom, b2m) {
	.driver = BALLOON_DRV_2M,
	.b2m = true,
};

FIXTURE_SETUP(oom)
{
	const char *skip;
	int64_t last = 0;
	int ret;

	self->pool_2m = -1;
	skip = boot_setup(self->dev, sizeof(self->dev), &self->preset);
	if (skip)
		SKIP(return, "%s", skip);
	ASSERT_EQ(0, balloon_driver(self->dev, self->boot_drv,
				    sizeof(self->boot_drv)));
	ASSERT_EQ(0, balloon_ram_size(&self->ram));
	ASSERT_EQ(0, balloon_target(self->preset));
	ret = balloon_bind(self->dev, variant->driver);
	ASSERT_EQ(0, ret)
		TH_LOG("cannot bind %s to %s: %s", self->dev, variant->driver,
		       strerror(-ret));
	ASSERT_EQ(0, balloon_wait(self->preset, WAIT_MS, POLL_MS, &last))
		TH_LOG("%s did not inflate to %lld: at %lld", variant->driver,
		       self->preset, (long long)last);
}

/* In the parent: the boot's driver, inflated to the boot's target. */
FIXTURE_TEARDOWN_PARENT(oom)
{
	char drv[NAME_MAX + 1];
	int64_t last = 0;

	if (self->pool_2m >= 0)
		hugetlb_set_nr_pages(SZ_2M, self->pool_2m);
	if (!balloon_driver(self->dev, drv, sizeof(drv)) && !drv[0] &&
	    self->boot_drv[0])
		EXPECT_EQ(0, balloon_bind(self->dev, self->boot_drv));
	EXPECT_EQ(0, balloon_target(self->preset));
	if (self->boot_drv[0])
		EXPECT_EQ(0, balloon_bind(self->dev, self->boot_drv));
	EXPECT_EQ(0, balloon_wait(self->preset, WAIT_MS, POLL_MS, &last))
		TH_LOG("balloon at %lld, not back at %lld", (long long)last,
		       self->preset);
}

/* Any sign of the OOM killer in the kernel log. */
static int scan_oom(long long usec, const char *text, void *arg)
{
	char *found = arg;

	if (strstr(text, "invoked oom-killer") || strstr(text, "Out of memory") ||
	    strstr(text, "Killed process") || strstr(text, "Call Trace")) {
		snprintf(found, 256, "%s", text);
		return 1;
	}
	return 0;
}

/* Touch @bytes of fresh anonymous memory, 4 KiB pages; exit 0 if all went. */
static void hog(long long bytes)
{
	long long off;
	char *p;

	if (sysfs_write_str("/proc/self/oom_score_adj", "1000"))
		_exit(2);
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(3);
	madvise(p, bytes, MADV_NOHUGEPAGE);
	for (off = 0; off < bytes; off += PAGE_4K)
		p[off] = 1;
	_exit(0);
}

TEST_F_TIMEOUT(oom, oom_gives_back, 600)
{
	long long in0, de0, in1, de1, stat0 = 0, stat1 = 0, oom0 = 0, oom1 = 0;
	long long pages0, pages1, hog_bytes;
	long kb0, kb1, free_kb, nr;
	int64_t actual0, actual1, again;
	char found[256] = "";
	int fd, status;
	pid_t pid;

	ASSERT_TRUE(balloon_has_feature(self->dev, BALLOON_F_DEFLATE_ON_OOM))
		TH_LOG("deflate-on-oom not negotiated (vm.py --balloon-opts deflate-on-oom=on)");
	ASSERT_EQ(0, balloon_query(&actual0));
	ASSERT_EQ(self->preset, actual0);
	pages0 = (self->ram - actual0) / PAGE_4K;
	kb0 = proc_field_kb("/proc/meminfo", "MemTotal");
	in0 = proc_vmstat("balloon_inflate");
	de0 = proc_vmstat("balloon_deflate");
	if (variant->b2m) {
		ASSERT_EQ(0, balloon_stat(self->dev, "actual_pages", &stat0));
		ASSERT_EQ(0, balloon_stat(self->dev, "oom_pages", &oom0));
		EXPECT_EQ(pages0, stat0);
	}

	/*
	 * Make free memory small, cheaply: every 2 MiB block beyond
	 * OOM_LEAVE into the 2 MiB hugetlb pool (nothing is zeroed).
	 */
	nr = hugetlb_nr_pages(SZ_2M);
	ASSERT_LE(0, nr);
	self->pool_2m = nr;
	free_kb = mem_free_kb();
	if (free_kb * 1024LL > OOM_LEAVE)
		hugetlb_set_nr_pages(SZ_2M,
				     nr + (free_kb * 1024LL - OOM_LEAVE) / SZ_2M);
	free_kb = mem_free_kb();
	hog_bytes = free_kb * 1024LL + OOM_OVER;
	TH_LOG("2 MiB pool %ld -> %ld pages, free %ld kB; balloon %lld pages; touching %lld MiB",
	       nr, hugetlb_nr_pages(SZ_2M), free_kb, pages0,
	       hog_bytes / SZ_1M);
	/* The balloon can cover what the child takes beyond free memory. */
	ASSERT_LT(OOM_OVER * 2 / PAGE_4K, pages0);

	fd = kmsg_open(true);
	ASSERT_LE(0, fd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		hog(hog_bytes);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, kmsg_each(fd, scan_oom, found));
	close(fd);
	EXPECT_STREQ("", found);
	ASSERT_TRUE(WIFEXITED(status))
		TH_LOG("the child was killed by signal %d",
		       WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	ASSERT_EQ(0, WEXITSTATUS(status));

	hugetlb_set_nr_pages(SZ_2M, self->pool_2m);
	self->pool_2m = -1;

	/* The balloon shrank, and stays where the OOM notifier left it. */
	ASSERT_EQ(0, balloon_query(&actual1));
	sleep(1);
	ASSERT_EQ(0, balloon_query(&again));
	EXPECT_EQ(actual1, again);
	pages1 = (self->ram - actual1) / PAGE_4K;
	kb1 = proc_field_kb("/proc/meminfo", "MemTotal");
	in1 = proc_vmstat("balloon_inflate");
	de1 = proc_vmstat("balloon_deflate");
	TH_LOG("balloon %lld -> %lld pages; vmstat +%lld -%lld; MemTotal %ld -> %ld kB",
	       pages0, pages1, in1 - in0, de1 - de0, kb0, kb1);
	EXPECT_LT(actual0, actual1);
	/* Per-CPU lists and watermarks blur what free memory could give. */
	EXPECT_LE(OOM_OVER / 2 / PAGE_4K, pages0 - pages1);
	EXPECT_EQ(pages0 - pages1, (de1 - de0) - (in1 - in0));
	EXPECT_EQ(kb0, kb1);
	if (variant->b2m) {
		ASSERT_EQ(0, balloon_stat(self->dev, "actual_pages", &stat1));
		ASSERT_EQ(0, balloon_stat(self->dev, "oom_pages", &oom1));
		TH_LOG("debugfs: actual_pages %lld -> %lld, oom_pages +%lld",
		       stat0, stat1, oom1 - oom0);
		EXPECT_EQ(pages1, stat1);
		EXPECT_EQ(pages0 - pages1, oom1 - oom0);
	}
}

TEST_HARNESS_MAIN
