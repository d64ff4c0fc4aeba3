/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers to read and write sysfs/procfs attribute files for the
 * fastboot selftests.
 */
#ifndef FASTBOOT_SYSFS_H
#define FASTBOOT_SYSFS_H

#include <stddef.h>

/*
 * Read @path into @buf (at most @len - 1 bytes), NUL-terminated and cut at
 * the first newline.  0 or -errno.
 */
int sysfs_read_str(const char *path, char *buf, size_t len);

/* Read @path as a number in @base (as strtoul()).  0 or -errno. */
int sysfs_read_ulong(const char *path, int base, unsigned long *val);

/*
 * The last component of the symlink @path (a device's "driver" or
 * "iommu_group" link) into @buf.  0, -errno, or -ENAMETOOLONG.
 */
int sysfs_link_name(const char *path, char *buf, size_t len);

/* Write @s to @path in one write().  0, -errno, or -EIO if it was short. */
int sysfs_write_str(const char *path, const char *s);

/*
 * The N of the "@field: N kB" line in @path (/proc/meminfo,
 * /proc/self/status), -ENOENT if there is no such line, or -errno.
 */
long proc_field_kb(const char *path, const char *field);

/*
 * The value of counter @name in /proc/vmstat, -ENOENT if there is none, or
 * -errno.  Node and zone counters are summed per CPU and folded into the
 * global value only from time to time; vmstat_refresh() folds them now.
 */
long long proc_vmstat(const char *name);

/* Fold every CPU's vmstat deltas (/proc/sys/vm/stat_refresh).  0 or -errno. */
int vmstat_refresh(void);

/*
 * Free memory in kB: MemFree after vmstat_refresh(), plus the pages on the
 * per-CPU free lists (the "count:" lines of /proc/zoneinfo), which MemFree
 * leaves out.  A process that exits or unpins a lot frees its 4 KiB pages
 * to those lists first, and with their high marks tuned up by that burst
 * they can hold tens of MiB for seconds.  >= 0, or -errno.
 */
long mem_free_kb(void);

/*
 * Pages pinned with FOLL_PIN (pin_user_pages*(), as VFIO type1 pins) and
 * not released yet, system-wide: nr_foll_pin_acquired -
 * nr_foll_pin_released after vmstat_refresh().  >= 0, or -errno.
 */
long long foll_pins_outstanding(void);

#endif /* FASTBOOT_SYSFS_H */
