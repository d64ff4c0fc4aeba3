// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-balloon: the guest gives memory back when the host asks.
 *
 * A fast-starting VM is often started small and sized with the balloon, so
 * the balloon must work in the fastboot guest:
 *
 *  - a virtio device with device ID 5 exists and virtio_balloon drives it;
 *  - through the host harness (QMP over /dev/ttyS2), query-balloon reports
 *    the guest's memory size;
 *  - "balloon" to 256 MiB less makes the guest inflate until QEMU reports
 *    exactly that size, and MemTotal drops by as much (virtio_balloon takes
 *    inflated pages out of totalram with adjust_managed_page_count() unless
 *    VIRTIO_BALLOON_F_DEFLATE_ON_OOM was negotiated); going back to the
 *    original size deflates it again;
 *  - a non-positive target is refused by QEMU with an error reply and
 *    changes nothing, and malformed commands get error replies too.
 *
 * The tests that talk to the host skip unless the harness provides the
 * channel (fastboot.hv=ttyS2 on the kernel command line).  Under TCG the
 * balloon moves slowly, so waits are long and only the end state is
 * checked.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "../kselftest_harness.h"
#include "hv.h"
#include "sysfs.h"

#define VIRTIO_DEVICES		"/sys/bus/virtio/devices"
#define VIRTIO_ID_BALLOON	5
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM	2

#define SZ_1M			(1024LL * 1024)
#define RESIZE_BY		(256 * SZ_1M)
#define MEMTOTAL_SLACK_KB	(4 * 1024)
#define BALLOON_WAIT_MS		(120 * 1000)
#define POLL_MS			500

FIXTURE(balloon) {
	char dev[NAME_MAX + 1];	/* virtioN of the balloon */
	bool hv;		/* host channel available */
	int64_t restore;	/* target to restore in teardown, or 0 */
};

/* Name (virtioN) of the first balloon device, or -ENODEV. */
static int find_balloon(char *name, size_t len)
{
	char path[PATH_MAX];
	struct dirent *de;
	unsigned long id;
	int ret = -ENODEV;
	DIR *dir;

	dir = opendir(VIRTIO_DEVICES);
	if (!dir)
		return -ENODEV;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), VIRTIO_DEVICES "/%s/device",
			 de->d_name);
		if (sysfs_read_ulong(path, 0, &id))
			continue;
		if (id == VIRTIO_ID_BALLOON) {
			snprintf(name, len, "%s", de->d_name);
			ret = 0;
			break;
		}
	}
	closedir(dir);
	return ret;
}

static bool has_feature(const char *dev, unsigned int bit)
{
	char path[PATH_MAX], bits[256];

	snprintf(path, sizeof(path), VIRTIO_DEVICES "/%s/features", dev);
	if (sysfs_read_str(path, bits, sizeof(bits)) || strlen(bits) <= bit)
		return false;
	return bits[bit] == '1';
}

static long memtotal_kb(void)
{
	return proc_field_kb("/proc/meminfo", "MemTotal");
}

/* query-balloon: the guest's current size in bytes as QEMU sees it. */
static int balloon_actual(int64_t *actual)
{
	char reply[1024];
	int ret;

	ret = hv_qmp("{\"execute\":\"query-balloon\"}", reply, sizeof(reply));
	if (ret)
		return ret;
	if (!hv_reply_ok(reply))
		return -EPROTO;
	return hv_json_int(reply, "actual", actual);
}

static int balloon_set(int64_t target, char *reply, size_t len)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd),
		 "{\"execute\":\"balloon\",\"arguments\":{\"value\":%lld}}",
		 (long long)target);
	return hv_qmp(cmd, reply, len);
}

/* Poll query-balloon until it reports @target; 0, or -ETIMEDOUT. */
static int balloon_wait(int64_t target, int64_t *last)
{
	int waited, ret;

	for (waited = 0; waited <= BALLOON_WAIT_MS; waited += POLL_MS) {
		ret = balloon_actual(last);
		if (ret)
			return ret;
		if (*last == target)
			return 0;
		usleep(POLL_MS * 1000);
	}
	return -ETIMEDOUT;
}

FIXTURE_SETUP(balloon)
{
	if (find_balloon(self->dev, sizeof(self->dev)))
		SKIP(return, "no virtio-balloon device");
	self->hv = hv_available();
	self->restore = 0;
}

FIXTURE_TEARDOWN(balloon)
{
	char reply[1024];
	int64_t last;

	/* A failed resize test leaves the balloon inflated: deflate it. */
	if (self->restore > 0 &&
	    !balloon_set(self->restore, reply, sizeof(reply)) &&
	    balloon_wait(self->restore, &last))
		TH_LOG("could not restore the balloon to %lld bytes",
		       (long long)self->restore);
}

TEST_F(balloon, driver_bound)
{
	char path[PATH_MAX], drv[64];

	snprintf(path, sizeof(path), VIRTIO_DEVICES "/%s/driver", self->dev);
	ASSERT_EQ(0, sysfs_link_name(path, drv, sizeof(drv)))
		TH_LOG("%s has no driver (virtio_balloon not loaded?)",
		       self->dev);
	ASSERT_STREQ("virtio_balloon", drv);
	TH_LOG("%s bound to %s, deflate-on-oom %s", self->dev, drv,
	       has_feature(self->dev, VIRTIO_BALLOON_F_DEFLATE_ON_OOM) ?
	       "negotiated" : "off");
}

TEST_F(balloon, query_size)
{
	long kb = memtotal_kb();
	int64_t actual = 0;

	if (!self->hv)
		SKIP(return, "no host channel (%s)", HV_CMDLINE_TOKEN);
	ASSERT_LT(0, kb);
	ASSERT_EQ(0, balloon_actual(&actual));
	TH_LOG("query-balloon: actual %lld bytes, MemTotal %ld kB",
	       (long long)actual, kb);
	ASSERT_LT(0, actual);
	ASSERT_EQ(0, actual % 4096);
	/*
	 * QEMU reports RAM minus the balloon; MemTotal is RAM minus what
	 * the kernel reserved, minus the balloon too unless deflate-on-oom.
	 * The reserved part is well under 512 MiB on the test guest.
	 */
	if (!has_feature(self->dev, VIRTIO_BALLOON_F_DEFLATE_ON_OOM)) {
		ASSERT_LE(kb * 1024LL, actual);
		ASSERT_GE(kb * 1024LL + 512 * SZ_1M, actual);
	}
}

TEST_F_TIMEOUT(balloon, resize, 280)
{
	bool oom = has_feature(self->dev, VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
	int64_t actual0 = 0, target, last = 0;
	long kb0, kb1, kb2, expect_drop;
	char reply[1024];

	if (!self->hv)
		SKIP(return, "no host channel (%s)", HV_CMDLINE_TOKEN);
	ASSERT_EQ(0, balloon_actual(&actual0));
	kb0 = memtotal_kb();
	ASSERT_LT(RESIZE_BY * 2, actual0);
	target = actual0 - RESIZE_BY;
	expect_drop = oom ? 0 : RESIZE_BY / 1024;

	/* Inflate by 256 MiB. */
	self->restore = actual0;
	ASSERT_EQ(0, balloon_set(target, reply, sizeof(reply)));
	ASSERT_TRUE(hv_reply_ok(reply)) TH_LOG("balloon: %s", reply);
	ASSERT_EQ(0, balloon_wait(target, &last))
		TH_LOG("balloon stuck at %lld bytes, target %lld",
		       (long long)last, (long long)target);
	kb1 = memtotal_kb();
	TH_LOG("inflated: MemTotal %ld -> %ld kB", kb0, kb1);
	EXPECT_GE(MEMTOTAL_SLACK_KB, labs(kb0 - kb1 - expect_drop))
		TH_LOG("MemTotal dropped by %ld kB, expected %ld", kb0 - kb1,
		       expect_drop);

	/* And back. */
	ASSERT_EQ(0, balloon_set(actual0, reply, sizeof(reply)));
	ASSERT_TRUE(hv_reply_ok(reply)) TH_LOG("balloon: %s", reply);
	ASSERT_EQ(0, balloon_wait(actual0, &last))
		TH_LOG("balloon stuck at %lld bytes, target %lld",
		       (long long)last, (long long)actual0);
	self->restore = 0;
	kb2 = memtotal_kb();
	TH_LOG("deflated: MemTotal %ld kB", kb2);
	EXPECT_GE(MEMTOTAL_SLACK_KB, labs(kb2 - kb0));
}

TEST_F(balloon, bad_requests)
{
	static const char * const bad[] = {
		/* qmp_balloon(): value <= 0 -> "Parameter 'value' expects a size" */
		"{\"execute\":\"balloon\",\"arguments\":{\"value\":0}}",
		"{\"execute\":\"balloon\",\"arguments\":{\"value\":-1}}",
		"{\"execute\":\"balloon\",\"arguments\":{\"value\":-1073741824}}",
		/* QAPI input checks */
		"{\"execute\":\"balloon\",\"arguments\":{\"value\":\"1G\"}}",
		"{\"execute\":\"balloon\"}",
		"{\"execute\":\"no-such-command\"}",
	};
	int64_t before = 0, after = 0;
	char reply[1024];
	unsigned int i;

	if (!self->hv)
		SKIP(return, "no host channel (%s)", HV_CMDLINE_TOKEN);
	ASSERT_EQ(0, balloon_actual(&before));

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ASSERT_EQ(0, hv_qmp(bad[i], reply, sizeof(reply)));
		EXPECT_TRUE(hv_reply_error(reply))
			TH_LOG("%s -> %s", bad[i], reply);
	}
	ASSERT_EQ(0, balloon_set(0, reply, sizeof(reply)));
	EXPECT_NE(NULL, strstr(reply, "expects a size")) TH_LOG("%s", reply);

	/* Give a wrongly accepted target time to show, then compare. */
	sleep(2);
	ASSERT_EQ(0, balloon_actual(&after));
	EXPECT_EQ(before, after);
}

TEST_HARNESS_MAIN
