// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio balloon from both sides for the fastboot selftests and
 * benchmarks.  See balloon.h.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "balloon.h"
#include "hv.h"
#include "sysfs.h"

int balloon_find(char *dev, size_t len)
{
	char path[PATH_MAX];
	struct dirent *de;
	unsigned long id;
	int ret = -ENODEV;
	DIR *dir;

	dir = opendir(BALLOON_VIRTIO_DEVICES);
	if (!dir)
		return -ENODEV;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), BALLOON_VIRTIO_DEVICES "/%s/device",
			 de->d_name);
		if (sysfs_read_ulong(path, 0, &id))
			continue;
		if (id == BALLOON_VIRTIO_ID) {
			snprintf(dev, len, "%s", de->d_name);
			ret = 0;
			break;
		}
	}
	closedir(dir);
	return ret;
}

int balloon_driver(const char *dev, char *drv, size_t len)
{
	char path[PATH_MAX];
	int ret;

	if (!len)
		return -EINVAL;
	snprintf(path, sizeof(path), BALLOON_VIRTIO_DEVICES "/%s/driver", dev);
	ret = sysfs_link_name(path, drv, len);
	if (ret == -ENOENT) {
		drv[0] = '\0';
		return 0;
	}
	return ret;
}

static bool driver_registered(const char *drv)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), BALLOON_VIRTIO_DRIVERS "/%s", drv);
	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static int modprobe(const char *mod)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		execlp("modprobe", "modprobe", mod, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return -ENOENT;
	return 0;
}

int balloon_unbind(const char *dev)
{
	char path[PATH_MAX], cur[NAME_MAX + 1];
	int ret;

	ret = balloon_driver(dev, cur, sizeof(cur));
	if (ret || !cur[0])
		return ret;
	snprintf(path, sizeof(path), BALLOON_VIRTIO_DRIVERS "/%s/unbind", cur);
	return sysfs_write_str(path, dev);
}

static int bind_to(const char *dev, const char *drv)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), BALLOON_VIRTIO_DRIVERS "/%s/bind", drv);
	return sysfs_write_str(path, dev);
}

int balloon_bind(const char *dev, const char *drv)
{
	char cur[NAME_MAX + 1], now[NAME_MAX + 1];
	int ret;

	ret = balloon_driver(dev, cur, sizeof(cur));
	if (ret || !strcmp(cur, drv))
		return ret;
	/*
	 * Load the module first: if that fails the device stays where it
	 * is.  A module loaded while the device is bound elsewhere binds
	 * nothing; one loaded while it is unbound probes it by itself.
	 */
	if (!driver_registered(drv)) {
		ret = modprobe(drv);
		if (ret)
			return ret;
		if (!driver_registered(drv))
			return -ENOENT;
	}
	ret = balloon_unbind(dev);
	if (ret)
		return ret;
	ret = balloon_driver(dev, now, sizeof(now));
	if (!ret && !now[0])
		ret = bind_to(dev, drv);
	if (!ret)
		ret = balloon_driver(dev, now, sizeof(now));
	if (!ret && strcmp(now, drv))
		ret = -EBUSY;
	/* Do not leave the device without a driver. */
	if (ret && cur[0] && !balloon_driver(dev, now, sizeof(now)) && !now[0])
		bind_to(dev, cur);
	return ret;
}

bool balloon_has_feature(const char *dev, unsigned int bit)
{
	char path[PATH_MAX], bits[256];

	snprintf(path, sizeof(path), BALLOON_VIRTIO_DEVICES "/%s/features",
		 dev);
	if (sysfs_read_str(path, bits, sizeof(bits)) || strlen(bits) <= bit)
		return false;
	return bits[bit] == '1';
}

int balloon_query(int64_t *actual)
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

int balloon_ram_size(int64_t *bytes)
{
	char reply[1024];
	int64_t base, plugged;
	int ret;

	ret = hv_qmp("{\"execute\":\"query-memory-size-summary\"}", reply,
		     sizeof(reply));
	if (ret)
		return ret;
	if (!hv_reply_ok(reply))
		return -EPROTO;
	ret = hv_json_int(reply, "base-memory", &base);
	if (ret)
		return ret;
	ret = hv_json_int(reply, "plugged-memory", &plugged);
	if (ret == -ENOENT)
		plugged = 0;
	else if (ret)
		return ret;
	*bytes = base + plugged;
	return 0;
}

int balloon_target(int64_t bytes)
{
	char cmd[128], reply[1024];
	int ret;

	snprintf(cmd, sizeof(cmd),
		 "{\"execute\":\"balloon\",\"arguments\":{\"value\":%lld}}",
		 (long long)bytes);
	ret = hv_qmp(cmd, reply, sizeof(reply));
	if (ret)
		return ret;
	if (hv_reply_ok(reply))
		return 0;
	return hv_reply_error(reply) ? -EINVAL : -EPROTO;
}

int balloon_wait(int64_t bytes, int timeout_ms, int poll_ms, int64_t *last)
{
	int waited, ret;

	for (waited = 0;; waited += poll_ms) {
		ret = balloon_query(last);
		if (ret)
			return ret;
		if (*last == bytes)
			return 0;
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		usleep(poll_ms * 1000);
	}
}

int balloon_vq_used(int queue, unsigned int *used_idx)
{
	char cmd[256], reply[2048];
	int64_t val;
	int ret;

	snprintf(cmd, sizeof(cmd), "{\"execute\":\"%s\",\"arguments\":%s%d}}",
		 "x-query-virtio-queue-status",
		 "{\"path\":\"" BALLOON_QOM_PATH "\",\"queue\":", queue);
	ret = hv_qmp(cmd, reply, sizeof(reply));
	if (ret)
		return ret;
	if (!hv_reply_ok(reply))
		return hv_reply_error(reply) ? -EINVAL : -EPROTO;
	ret = hv_json_int(reply, "used-idx", &val);
	if (ret)
		return ret;
	*used_idx = val;
	return 0;
}

int balloon_stat(const char *dev, const char *key, long long *val)
{
	size_t klen = strlen(key);
	char path[PATH_MAX], line[256];
	int ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), BALLOON_DEBUGFS "/%s", dev);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) &&
		    (line[klen] == ' ' || line[klen] == '\t') &&
		    sscanf(line + klen + 1, "%lld", val) == 1) {
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}
