// SPDX-License-Identifier: GPL-2.0
/*
 * Small helpers to read and write sysfs/procfs attribute files for the
 * fastboot selftests.  See sysfs.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysfs.h"

int sysfs_read_str(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if (!len)
		return -EINVAL;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int sysfs_read_ulong(const char *path, int base, unsigned long *val)
{
	char buf[64];
	int ret;

	ret = sysfs_read_str(path, buf, sizeof(buf));
	if (ret)
		return ret;
	*val = strtoul(buf, NULL, base);
	return 0;
}

int sysfs_write_str(const char *path, const char *s)
{
	size_t len = strlen(s);
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, s, len);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	return (size_t)n == len ? 0 : -EIO;
}

long proc_field_kb(const char *path, const char *field)
{
	size_t flen = strlen(field);
	long kb = -ENOENT;
	char line[256];
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, flen) && line[flen] == ':' &&
		    sscanf(line + flen + 1, "%ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

long long proc_vmstat(const char *name)
{
	size_t nlen = strlen(name);
	long long val = -ENOENT;
	char line[256];
	FILE *f;

	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, name, nlen) && line[nlen] == ' ' &&
		    sscanf(line + nlen + 1, "%lld", &val) == 1)
			break;
	}
	fclose(f);
	return val;
}

int vmstat_refresh(void)
{
	return sysfs_write_str("/proc/sys/vm/stat_refresh", "1");
}

long mem_free_kb(void)
{
	long kb, pages = 0, n;
	char line[256];
	FILE *f;
	int ret;

	ret = vmstat_refresh();
	if (ret)
		return ret;
	kb = proc_field_kb("/proc/meminfo", "MemFree");
	if (kb < 0)
		return kb;
	f = fopen("/proc/zoneinfo", "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " count: %ld", &n) == 1)
			pages += n;
	}
	fclose(f);
	return kb + pages * (sysconf(_SC_PAGESIZE) / 1024);
}

long long foll_pins_outstanding(void)
{
	long long acquired, released;
	int ret;

	ret = vmstat_refresh();
	if (ret)
		return ret;
	acquired = proc_vmstat("nr_foll_pin_acquired");
	if (acquired < 0)
		return acquired;
	released = proc_vmstat("nr_foll_pin_released");
	if (released < 0)
		return released;
	return acquired - released;
}

int sysfs_link_name(const char *path, char *buf, size_t len)
{
	char link[PATH_MAX];
	const char *base;
	ssize_t n;

	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	base = strrchr(link, '/');
	base = base ? base + 1 : link;
	n = strlen(base);
	if ((size_t)n >= len)
		return -ENAMETOOLONG;
	memcpy(buf, base, n + 1);
	return 0;
}
