// SPDX-License-Identifier: GPL-2.0
/*
 * The nested scenario end to end.  This guest (L1) runs the patched QEMU
 * from /opt/l2 with KVM (kvm_amd: L0's TCG exposes SVM), passing QEMU's
 * edu device (bound to vfio-pci at boot: fastboot.vfio_ids=1234:11e8)
 * through to L2, which boots the test kernel with a tiny initramfs
 * (scripts/l2-init.sh).  lib/l2vm.h has the command line.
 *
 * Runs only in the boot that scripts/check.sh calls "nested" (L1's
 * initramfs carries /opt/l2: scripts/nested-payload.sh), not in
 * run_kselftest.sh's list.  Without /opt/l2 every test skips; with it,
 * anything missing (kvm_amd, /dev/kvm, edu on vfio-pci) is a failure.
 *
 *  - l2_dma_after_deflate: fastboot on (x-defer-map=on, threshold 64 MiB,
 *    initial balloon target 512 MiB), NESTED_TEST_MIB of anonymous memory
 *    (default 1024), l2.mode=dma: L2 comes up, QEMU reports the deferred
 *    mapping complete (FASTBOOT_COMPLETE, x-query-fastboot: phase
 *    "complete", mapped == deferred > 0, failed 0), the balloon deflates,
 *    and edu's DMA reaches L2's lowest, median and highest pages, the
 *    highest at or above the threshold; QEMU exits 0 after L2's poweroff.
 *    L2's balloon probe returned holding exactly the initial target
 *    (RAM - 512 MiB), although QEMU starts deflating as soon as the guest
 *    gets there: the probe waits for the initial target only.
 *  - stock_dma: the same binary with the fastboot properties off: phase
 *    "off", nothing deferred, the same DMA check passes.
 *  - killed_midway_no_leak: 2048 MiB with fastboot on, type1's workers
 *    held back (debugfs defer_pause) until L2 is up, so that part is
 *    surely left; SIGKILL right after they resume, while the background
 *    mapping runs: every pinned page is released
 *    (nr_foll_pin_acquired == nr_foll_pin_released as before) and
 *    MemAvailable comes back to within 64 MiB; then another L2 gets the
 *    device and stops cleanly.
 *  - bad_property: a threshold that is not a size, a hold that is not a
 *    bool, and an initial target larger than RAM: QEMU exits non-zero
 *    naming the property, and nothing stays pinned.
 *  - auto_deflate_off: as l2_dma_after_deflate with x-auto-deflate=off:
 *    the mapping completes but the balloon keeps the initial target and
 *    L2 stays inflated until QMP balloon asks for all of its RAM; then
 *    the DMA check passes.
 *  - fence_timeout: L2 without a balloon driver (initcall_blacklist=
 *    vb2m_init) never reaches the target; after x-fence-timeout (FENCE_MS
 *    of guest time) QEMU warns, maps what L2 keeps and completes.
 *  - stock_type1_fallback: 6.12's own vfio_iommu_type1 swapped in
 *    (STOCK_TYPE1): x-defer-map=on warns once, defers nothing, and the
 *    DMA check passes with the balloon fence armed; x-defer-map=auto
 *    falls back without a warning.  fastboot's module is loaded again.
 *  - balloon_features: VIRTIO_BALLOON_F_MUST_TELL_HOST is offered with
 *    the fence armed or must-tell-host=on, and not otherwise (QEMU
 *    started with -S, x-query-virtio-status).
 *
 * Waits are bounded only to catch hangs, never timed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "l2vm.h"
#include "sysfs.h"

#define SZ_1M		(1024LL * 1024)
#define MIB_ENV		"NESTED_TEST_MIB"
#define DEFAULT_MIB	1024
#define KILL_MIB	2048
#define SMALL_MIB	256
#define THRESHOLD_MIB	L2VM_THRESHOLD_MIB
#define TARGET_MIB	L2VM_TARGET_MIB
#define TARGET_STR	"512M"	/* TARGET_MIB as a size property */
/* Generous: L2 runs under KVM inside a TCG guest. */
#define BOOT_S		600
#define DMA_S		600
#define EXIT_S		120
#define RELEASE_S	120
#define AVAIL_SLACK_KB	(64 * 1024)
#define NR_VMS		3
/* Holds type1's background workers back (syncs still map). */
#define PAUSE_KNOB	"/sys/kernel/debug/vfio_iommu_type1/defer_pause"
/* How long the workers run again before the kill. */
#define UNPAUSE_MS	200
/* 6.12's vfio_iommu_type1, unpatched (scripts/build-bench.sh). */
#define STOCK_TYPE1	"/bench/stock-vfio_iommu_type1.ko"
#define TYPE1_PARAM	"/sys/module/vfio_iommu_type1/parameters/defer_workers"
/* x-fence-timeout in fence_timeout, ms of guest time. */
#define FENCE_MS	2000
#define FENCE_MS_STR	"2000"

FIXTURE(nested) {
	pid_t owner;		/* the test process */
	bool paused;		/* PAUSE_KNOB set by the test */
	bool swapped;		/* STOCK_TYPE1 loaded by the test */
	struct l2vm vm[NR_VMS];
	char bdf[32];
};

/* Wait until @pid has exited (gone, or a zombie), for at most @ms. */
static void wait_gone(pid_t pid, int ms)
{
	char path[64], buf[256], *p;
	int fd, i;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	for (i = 0; i < ms / 10; i++) {
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			return;
		buf[n] = '\0';
		p = strrchr(buf, ')');
		if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
			return;
		usleep(10 * 1000);
	}
}

/*
 * One idle VM for the whole run, in the harness's parent, so that L2s
 * coming and going in the tests patch no code in L1 (l2vm.h).  Best
 * effort: without /dev/kvm yet (kvm_amd not loaded), FIXTURE_SETUP
 * loads it and each test holds its own.
 */
static void __attribute__((constructor)) hold_kvm(void)
{
	if (!access(L2VM_QEMU, X_OK) && !access("/dev/kvm", R_OK | W_OK))
		l2vm_hold_kvm();
}

FIXTURE_SETUP(nested)
{
	struct stat st;
	int ret, i;

	self->owner = getpid();
	for (i = 0; i < NR_VMS; i++)
		l2vm_init(&self->vm[i]);
	if (stat(L2VM_ROOT, &st))
		SKIP(return, "not the nested boot: no %s (%s)", L2VM_ROOT,
		     "scripts/nested-payload.sh, check.sh boot nested");
	ASSERT_EQ(0, access(L2VM_QEMU, X_OK))
		TH_LOG("%s is not executable: the payload is incomplete",
		       L2VM_QEMU);
	if (access("/dev/kvm", R_OK | W_OK)) {
		ret = system("modprobe kvm_amd");
		ASSERT_EQ(0, ret)
			TH_LOG("modprobe kvm_amd: status 0x%x (%s)", ret,
			       "CONFIG_KVM_AMD? SVM from -cpu max?");
	}
	ASSERT_EQ(0, access("/dev/kvm", R_OK | W_OK))
		TH_LOG("no /dev/kvm after modprobe kvm_amd: %s",
		       strerror(errno));
	ret = l2vm_hold_kvm();
	ASSERT_EQ(0, ret) TH_LOG("creating the idle VM (l2vm_hold_kvm): %s",
				 strerror(-ret));
	ret = l2vm_find_edu(self->bdf, sizeof(self->bdf));
	ASSERT_EQ(0, ret)
		TH_LOG("edu (1234:11e8) not on vfio-pci: %s (%s)",
		       strerror(-ret),
		       "fastboot.vfio_ids=1234:11e8 on L1's command line?");
}

/*
 * In the harness's parent once the test process has exited (its L2s got
 * SIGKILL with it: PR_SET_PDEATHSIG), or in the test process after a
 * failed ASSERT.  Dumps the L2s' logs when the test failed.
 */
FIXTURE_TEARDOWN_PARENT(nested)
{
	struct l2vm *vm;
	char path[128];
	int i;

	if (self->paused && !sysfs_write_str(PAUSE_KNOB, "0"))
		self->paused = false;
	for (i = 0; i < NR_VMS; i++) {
		vm = &self->vm[i];
		if (!vm->pid)
			continue;
		if (_metadata->exit_code == KSFT_FAIL)
			l2vm_dump(vm, stderr);
		if (self->owner == getpid()) {
			l2vm_cleanup(vm);
			continue;
		}
		if (!vm->reaped) {
			kill(vm->pid, SIGKILL);
			wait_gone(vm->pid, RELEASE_S * 1000);
		}
		if (vm->dir[0]) {
			snprintf(path, sizeof(path), "%s/qemu.log", vm->dir);
			unlink(path);
			snprintf(path, sizeof(path), "%s/serial.log", vm->dir);
			unlink(path);
			snprintf(path, sizeof(path), "%s/qmp.sock", vm->dir);
			unlink(path);
			rmdir(vm->dir);
		}
	}
	/* fastboot's type1 back, once the containers are closed. */
	for (i = 0; self->swapped && i < RELEASE_S * 10; i++) {
		if (!system("rmmod vfio_iommu_type1 2>/dev/null && modprobe vfio_iommu_type1"))
			self->swapped = false;
		else
			usleep(100 * 1000);
	}
}

static unsigned long test_mib(void)
{
	const char *s = getenv(MIB_ENV);
	unsigned long v;
	char *end;

	if (!s || !*s)
		return DEFAULT_MIB;
	v = strtoul(s, &end, 10);
	return *end || v <= TARGET_MIB ? DEFAULT_MIB : v;
}

static const char *strerr(int ret)
{
	return strerror(ret < 0 ? -ret : ret);
}

/* Start L2 @vm with @o, passing edu (@bdf) through. */
static void start(struct __test_metadata *_metadata, struct l2vm *vm,
		  const char *bdf, struct l2vm_opts *o)
{
	int ret;

	o->bdf = bdf;
	ret = l2vm_start(vm, o);
	ASSERT_EQ(0, ret) TH_LOG("starting L2 (%lu MiB, fastboot %s): %s",
				 o->mem_mib, o->fastboot ? "on" : "off",
				 strerr(ret));
	TH_LOG("L2: pid %d, %lu MiB, fastboot %s, mode %s, edu %s", vm->pid,
	       o->mem_mib, o->fastboot ? "on" : "off",
	       o->mode ? o->mode : "marker", bdf);
}

/* Wait for @needle on L2 @vm's console; the seconds since launch. */
static double wait_line(struct __test_metadata *_metadata, struct l2vm *vm,
			const char *needle, int timeout_s)
{
	long long at;
	int ret;

	ret = l2vm_wait_line(vm, needle, timeout_s * 1000, &at);
	ASSERT_EQ(0, ret) TH_LOG("%s on L2's console: %s", needle,
				 ret == -ECHILD ? "QEMU exited first" :
				 strerr(ret));
	return (at - vm->launch_us) / 1e6;
}

/* How a DMA scenario differs from the default fastboot or stock one. */
struct dma_case {
	bool fastboot;		/* x-defer-map=on and x-initial-target */
	const char *vfio_props;	/* more vfio-pci properties */
	const char *balloon_props;	/* more balloon properties */
	bool manual_deflate;	/* x-auto-deflate=off: QMP balloon deflates */
	bool expect_deferred;	/* something must be deferred */
};

/* Deflate L2 @vm's balloon to all of its @mib of RAM (QMP balloon). */
static void balloon_full(struct __test_metadata *_metadata, struct l2vm *vm,
			 unsigned long mib)
{
	char cmd[128], reply[512];
	int ret;

	snprintf(cmd, sizeof(cmd),
		 "{\"execute\": \"balloon\", \"arguments\": {\"value\": %lld}}",
		 (long long)mib * SZ_1M);
	ret = l2vm_qmp(vm, cmd, reply, sizeof(reply));
	ASSERT_EQ(0, ret) TH_LOG("QMP balloon: %s", strerr(ret));
	ASSERT_TRUE(qmp_reply_ok(reply)) TH_LOG("QMP balloon: %s", reply);
}

/*
 * L2's balloon probe stopped waiting with @mib in the balloon: the initial
 * target, not what the host asked for after the guest reached it.  L2's
 * /init prints the probe's log line before FASTBOOT-L2-DEFLATED.
 */
static void check_probe(struct __test_metadata *_metadata, struct l2vm *vm,
			unsigned long mib)
{
	char line[512], want[64];

	ASSERT_EQ(0, l2vm_serial_line(vm, L2VM_PROBE, line, sizeof(line)));
	TH_LOG("%s", line);
	snprintf(want, sizeof(want), "initial target reached: %lu MiB ", mib);
	EXPECT_NE(NULL, strstr(line, want)) TH_LOG("expected \"%s\"", want);
}

/*
 * The DMA scenario: L2 up, (fastboot) the deferred mapping complete, the
 * balloon empty, edu's DMA check passed, QEMU exited 0 after poweroff.
 */
static void dma_scenario(struct __test_metadata *_metadata, struct l2vm *vm,
			 const char *bdf, const struct dma_case *c)
{
	struct l2vm_opts o = {
		.mem_mib = test_mib(),
		.fastboot = c->fastboot,
		.mode = "dma",
		.target_mib = TARGET_MIB,
		.threshold_mib = THRESHOLD_MIB,
		.vfio_props = c->vfio_props,
		.balloon_props = c->balloon_props,
	};
	struct l2vm_fastboot f;
	char append[64], line[512], ev[1024];
	int64_t v;
	double t;
	int ret;

	/* l2_edu_dma -t: the highest page it checks is above the threshold. */
	snprintf(append, sizeof(append), "l2.dma_threshold=%lld",
		 THRESHOLD_MIB * SZ_1M);
	o.append = append;
	start(_metadata, vm, bdf, &o);
	t = wait_line(_metadata, vm, L2VM_UP, BOOT_S);
	TH_LOG("%s after %.1f s", L2VM_UP, t);

	/* Before L2 powers off: what QEMU says about the mapping. */
	ret = l2vm_query_fastboot(vm, &f);
	ASSERT_EQ(0, ret) TH_LOG("x-query-fastboot: %s (a QEMU without the fastboot patches?)",
				 strerr(ret));
	TH_LOG("at %s: phase %s, deferred %lld, mapped %lld, failed %lld",
	       L2VM_UP, f.phase, (long long)f.deferred, (long long)f.mapped,
	       (long long)f.failed);
	if (!c->expect_deferred) {
		EXPECT_STREQ("off", f.phase);
		EXPECT_EQ(0, f.deferred);
		EXPECT_EQ(0, f.failed);
	} else {
		EXPECT_STRNE("off", f.phase);
		EXPECT_STRNE("failed", f.phase);
		ret = l2vm_wait_event(vm, L2VM_EV_COMPLETE, ev, sizeof(ev),
				      DMA_S * 1000);
		ASSERT_EQ(0, ret) TH_LOG("no %s event: %s", L2VM_EV_COMPLETE,
					 strerr(ret));
		TH_LOG("%s", ev);
		EXPECT_EQ(0, qmp_json_int(ev, "failed", &v));
		EXPECT_EQ(0, v);
		ret = l2vm_query_fastboot(vm, &f);
		ASSERT_EQ(0, ret) TH_LOG("x-query-fastboot after %s: %s",
					 L2VM_EV_COMPLETE, strerr(ret));
		TH_LOG("after %s: phase %s, deferred %lld, mapped %lld, failed %lld",
		       L2VM_EV_COMPLETE, f.phase, (long long)f.deferred,
		       (long long)f.mapped, (long long)f.failed);
		TH_LOG("balloon target %lld MiB",
		       (long long)(f.balloon_target / SZ_1M));
		TH_LOG("init %.2f s, to target %.2f s, complete %.2f s",
		       (f.machine_ready_us - vm->launch_us) / 1e6,
		       f.fence_us ? (f.fence_us - f.machine_ready_us) / 1e6 : -1,
		       (f.complete_us - vm->launch_us) / 1e6);
		EXPECT_STREQ("complete", f.phase);
		EXPECT_LT(0, f.deferred);
		EXPECT_EQ(f.deferred, f.mapped);
		EXPECT_EQ(0, f.failed);
		EXPECT_NE(0, f.complete_us);
	}

	if (c->manual_deflate) {
		/*
		 * Mapping is complete, yet the balloon keeps the initial
		 * target and L2 has not seen it empty: only QMP deflates.
		 */
		EXPECT_EQ(TARGET_MIB * SZ_1M, f.balloon_target)
			TH_LOG("x-auto-deflate=off, but the target moved");
		EXPECT_FALSE(l2vm_serial_has(vm, L2VM_DEFLATED));
		balloon_full(_metadata, vm, o.mem_mib);
	}
	t = wait_line(_metadata, vm, L2VM_DEFLATED, DMA_S);
	TH_LOG("%s after %.1f s", L2VM_DEFLATED, t);
	if (c->fastboot)
		check_probe(_metadata, vm, o.mem_mib - TARGET_MIB);
	wait_line(_metadata, vm, L2VM_DMA, DMA_S);

	/* L2 powers off: QEMU exits by itself, with status 0. */
	ret = l2vm_wait_exit(vm, EXIT_S * 1000);
	ASSERT_EQ(0, ret) TH_LOG("QEMU still running %d s after L2's DMA check",
				 EXIT_S);
	/* Its console is complete now. */
	ASSERT_EQ(0, l2vm_serial_line(vm, L2VM_DMA, line, sizeof(line)));
	TH_LOG("%s", line);
	ASSERT_TRUE(l2vm_serial_has(vm, L2VM_DMA_OK))
		TH_LOG("L2's DMA check failed: %s", line);
	ASSERT_TRUE(WIFEXITED(vm->status) && !WEXITSTATUS(vm->status))
		TH_LOG("QEMU's wait status 0x%x", vm->status);
}

TEST_F_TIMEOUT(nested, l2_dma_after_deflate, 1800)
{
	const struct dma_case c = { .fastboot = true, .expect_deferred = true };

	dma_scenario(_metadata, &self->vm[0], self->bdf, &c);
}

TEST_F_TIMEOUT(nested, stock_dma, 1800)
{
	const struct dma_case c = { .fastboot = false };

	dma_scenario(_metadata, &self->vm[0], self->bdf, &c);
}

TEST_F_TIMEOUT(nested, auto_deflate_off, 1800)
{
	const struct dma_case c = {
		.fastboot = true,
		.balloon_props = "x-auto-deflate=off",
		.manual_deflate = true,
		.expect_deferred = true,
	};

	dma_scenario(_metadata, &self->vm[0], self->bdf, &c);
}

static long mem_available_kb(struct __test_metadata *_metadata)
{
	long kb = proc_field_kb("/proc/meminfo", "MemAvailable");

	EXPECT_LT(0, kb);
	return kb;
}

TEST_F_TIMEOUT(nested, killed_midway_no_leak, 1800)
{
	struct l2vm *vm = &self->vm[0];
	struct l2vm_opts o = {
		.mem_mib = KILL_MIB,
		.fastboot = true,
		.target_mib = TARGET_MIB,
		.threshold_mib = THRESHOLD_MIB,
	};
	long long pins0, pins, deadline;
	struct l2vm_fastboot f;
	long avail0, avail;
	double t;
	int ret;

	pins0 = foll_pins_outstanding();
	ASSERT_LE(0, pins0);
	avail0 = mem_available_kb(_metadata);

	/*
	 * Under nested KVM the workers map 2 GiB about as fast as L2 boots:
	 * hold them back until L2 is up (QEMU's fence sync still maps what
	 * L2 keeps), so that the kill surely comes midway.
	 */
	ret = sysfs_write_str(PAUSE_KNOB, "1");
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", PAUSE_KNOB, strerr(ret));
	self->paused = true;

	start(_metadata, vm, self->bdf, &o);
	t = wait_line(_metadata, vm, L2VM_UP, BOOT_S);
	TH_LOG("%s after %.1f s", L2VM_UP, t);
	ret = l2vm_query_fastboot(vm, &f);
	ASSERT_EQ(0, ret) TH_LOG("x-query-fastboot: %s", strerr(ret));
	TH_LOG("workers paused: phase %s, deferred %lld MiB, mapped %lld MiB",
	       f.phase, (long long)(f.deferred / SZ_1M),
	       (long long)(f.mapped / SZ_1M));
	ASSERT_LT(0, f.deferred);
	ASSERT_LT(f.mapped, f.deferred)
		TH_LOG("everything was mapped before L2 came up, with the workers paused");

	/* The background runs again; kill QEMU in the middle of it. */
	ret = sysfs_write_str(PAUSE_KNOB, "0");
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", PAUSE_KNOB, strerr(ret));
	self->paused = false;
	usleep(UNPAUSE_MS * 1000);
	ret = l2vm_query_fastboot(vm, &f);
	ASSERT_EQ(0, ret) TH_LOG("x-query-fastboot: %s", strerr(ret));
	TH_LOG("%d ms later: phase %s, mapped %lld MiB; %lld pins outstanding",
	       UNPAUSE_MS, f.phase, (long long)(f.mapped / SZ_1M),
	       foll_pins_outstanding());
	TH_LOG("MemAvailable %ld MiB, %ld MiB before the launch",
	       proc_field_kb("/proc/meminfo", "MemAvailable") / 1024,
	       avail0 / 1024);

	l2vm_kill(vm);
	ASSERT_TRUE(WIFSIGNALED(vm->status) && WTERMSIG(vm->status) == SIGKILL)
		TH_LOG("QEMU's wait status 0x%x", vm->status);

	deadline = l2vm_now_us() + RELEASE_S * 1000000LL;
	do {
		pins = foll_pins_outstanding();
		avail = mem_available_kb(_metadata);
		if (pins == pins0 && avail >= avail0 - AVAIL_SLACK_KB)
			break;
		usleep(100 * 1000);
	} while (l2vm_now_us() < deadline);
	EXPECT_EQ(pins0, pins) TH_LOG("pins outstanding: %lld before, %lld %d s after the kill",
				      pins0, pins, RELEASE_S);
	EXPECT_LE(avail0 - AVAIL_SLACK_KB, avail)
		TH_LOG("MemAvailable %ld MiB, %ld MiB before the launch",
		       avail / 1024, avail0 / 1024);
	l2vm_cleanup(vm);

	/* The device is free again: a new L2 gets it and stops cleanly. */
	o = (struct l2vm_opts){ .mem_mib = SMALL_MIB };
	vm = &self->vm[1];
	start(_metadata, vm, self->bdf, &o);
	wait_line(_metadata, vm, L2VM_UP, BOOT_S);
	ret = l2vm_stop(vm, EXIT_S * 1000);
	ASSERT_EQ(0, ret) TH_LOG("quit: %s, wait status 0x%x", strerr(ret),
				 vm->status);
}

/* The file @name of L2 @vm's directory into @buf (NUL-terminated). */
static void read_vm_file(const struct l2vm *vm, const char *name, char *buf,
			 size_t len)
{
	char path[128];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", vm->dir, name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
}

TEST_F_TIMEOUT(nested, bad_property, 600)
{
	static const struct {
		const char *prop;	/* must be named in QEMU's error */
		bool fastboot;
		const char *vfio_props;
		unsigned long target_mib;
	} cases[] = {
		{ "x-defer-map-threshold", false,
		  "x-defer-map=on,x-defer-map-threshold=notasize", 0 },
		{ "x-defer-map-hold", false,
		  "x-defer-map=on,x-defer-map-hold=maybe", 0 },
		{ "x-initial-target", true, NULL, 2 * SMALL_MIB },
	};
	char log[8192];
	long long pins0, pins, deadline;
	size_t i;
	int ret;

	pins0 = foll_pins_outstanding();
	ASSERT_LE(0, pins0);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct l2vm *vm = &self->vm[i];
		struct l2vm_opts o = {
			.mem_mib = SMALL_MIB,
			.fastboot = cases[i].fastboot,
			.vfio_props = cases[i].vfio_props,
			.target_mib = cases[i].target_mib,
			.bdf = self->bdf,
		};

		ret = l2vm_start(vm, &o);
		/* QEMU may fail before or after its QMP socket accepts. */
		ASSERT_TRUE(ret == 0 || ret == -ECHILD)
			TH_LOG("%s: starting QEMU: %s", cases[i].prop,
			       strerr(ret));
		ret = l2vm_wait_exit(vm, EXIT_S * 1000);
		ASSERT_EQ(0, ret)
			TH_LOG("%s: QEMU still runs after %d s: accepted?",
			       cases[i].prop, EXIT_S);
		read_vm_file(vm, "qemu.log", log, sizeof(log));
		TH_LOG("%s: QEMU said: %s", cases[i].prop, log);
		EXPECT_TRUE(WIFEXITED(vm->status) && WEXITSTATUS(vm->status))
			TH_LOG("%s: QEMU's wait status 0x%x", cases[i].prop,
			       vm->status);
		EXPECT_NE(NULL, strstr(log, cases[i].prop))
			TH_LOG("%s: not named in QEMU's error", cases[i].prop);

		deadline = l2vm_now_us() + RELEASE_S * 1000000LL;
		while ((pins = foll_pins_outstanding()) != pins0 &&
		       l2vm_now_us() < deadline)
			usleep(100 * 1000);
		EXPECT_EQ(pins0, pins) TH_LOG("%s: pins outstanding %lld, %lld before",
					      cases[i].prop, pins, pins0);
	}
}

/*
 * x-fence-timeout: a guest without a balloon driver (vb2m_init
 * blacklisted) never reaches x-initial-target.  After FENCE_MS of guest
 * time QEMU warns, maps what the guest keeps (all of it) and releases the
 * fence; the background completes.
 */
TEST_F_TIMEOUT(nested, fence_timeout, 1800)
{
	struct l2vm *vm = &self->vm[0];
	struct l2vm_opts o = {
		.mem_mib = test_mib(),
		.fastboot = true,
		.target_mib = TARGET_MIB,
		.threshold_mib = THRESHOLD_MIB,
		.balloon_props = "x-fence-timeout=" FENCE_MS_STR,
		.append = "initcall_blacklist=vb2m_init",
	};
	struct l2vm_fastboot f;
	char ev[1024], log[8192];
	int ret;

	start(_metadata, vm, self->bdf, &o);
	wait_line(_metadata, vm, L2VM_UP, BOOT_S);
	ret = l2vm_wait_event(vm, L2VM_EV_COMPLETE, ev, sizeof(ev),
			      DMA_S * 1000);
	ASSERT_EQ(0, ret) TH_LOG("no %s event: %s", L2VM_EV_COMPLETE,
				 strerr(ret));
	ret = l2vm_query_fastboot(vm, &f);
	ASSERT_EQ(0, ret) TH_LOG("x-query-fastboot: %s", strerr(ret));
	TH_LOG("phase %s, deferred %lld, mapped %lld, balloon actual %lld MiB, fence after %.2f s",
	       f.phase, (long long)f.deferred, (long long)f.mapped,
	       (long long)(f.balloon_actual / SZ_1M),
	       (f.fence_us - f.machine_ready_us) / 1e6);
	EXPECT_STREQ("complete", f.phase);
	EXPECT_LT(0, f.deferred);
	EXPECT_EQ(f.deferred, f.mapped);
	EXPECT_EQ(0, f.failed);
	/* Nothing was inflated: the guest kept all of its RAM. */
	EXPECT_EQ((int64_t)o.mem_mib * SZ_1M, f.balloon_actual);
	/* Guest time runs no faster than CLOCK_MONOTONIC. */
	EXPECT_LE(FENCE_MS * 1000LL, f.fence_us - f.machine_ready_us);
	read_vm_file(vm, "qemu.log", log, sizeof(log));
	EXPECT_NE(NULL, strstr(log, "x-fence-timeout"))
		TH_LOG("no x-fence-timeout warning in: %s", log);
	ret = l2vm_stop(vm, EXIT_S * 1000);
	EXPECT_EQ(0, ret) TH_LOG("quit: %s, wait status 0x%x", strerr(ret),
				 vm->status);
}

/* Occurrences of @needle in @hay. */
static int count_str(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/*
 * The fallback: with 6.12's own vfio_iommu_type1 (no VFIO_TYPE1_DEFER_MAP)
 * x-defer-map=on warns once and maps everything at start, and the same
 * DMA check passes with the balloon fence armed; x-defer-map=auto falls
 * back silently.
 */
TEST_F_TIMEOUT(nested, stock_type1_fallback, 1800)
{
	const struct dma_case c = { .fastboot = true };
	static const char warning[] = "x-defer-map=on, but this container";
	struct l2vm_opts o = {
		.mem_mib = test_mib(),
		.vfio_props = "x-defer-map=auto",
		.balloon_props = "x-initial-target=" TARGET_STR,
	};
	struct l2vm_fastboot f;
	char log[8192];
	int ret;

	ASSERT_EQ(0, access(STOCK_TYPE1, R_OK))
		TH_LOG("%s: %s (scripts/build-bench.sh)", STOCK_TYPE1,
		       strerror(errno));
	ASSERT_EQ(0, access(TYPE1_PARAM, R_OK))
		TH_LOG("fastboot's vfio_iommu_type1 is not loaded");
	ret = system("rmmod vfio_iommu_type1 && insmod " STOCK_TYPE1);
	self->swapped = true;
	ASSERT_EQ(0, ret) TH_LOG("swapping in %s: status 0x%x", STOCK_TYPE1,
				 ret);
	ASSERT_NE(0, access(TYPE1_PARAM, F_OK))
		TH_LOG("still fastboot's vfio_iommu_type1");

	dma_scenario(_metadata, &self->vm[0], self->bdf, &c);
	read_vm_file(&self->vm[0], "qemu.log", log, sizeof(log));
	EXPECT_EQ(1, count_str(log, warning)) TH_LOG("QEMU said: %s", log);

	/* auto: no warning, nothing deferred. */
	start(_metadata, &self->vm[1], self->bdf, &o);
	wait_line(_metadata, &self->vm[1], L2VM_UP, BOOT_S);
	ret = l2vm_query_fastboot(&self->vm[1], &f);
	ASSERT_EQ(0, ret) TH_LOG("x-query-fastboot: %s", strerr(ret));
	EXPECT_STREQ("off", f.phase);
	EXPECT_EQ(0, f.deferred);
	ret = l2vm_stop(&self->vm[1], EXIT_S * 1000);
	EXPECT_EQ(0, ret) TH_LOG("quit: %s", strerr(ret));
	read_vm_file(&self->vm[1], "qemu.log", log, sizeof(log));
	EXPECT_EQ(0, count_str(log, warning)) TH_LOG("QEMU said: %s", log);
}

TEST_HARNESS_MAIN
