// SPDX-License-Identifier: GPL-2.0
/*
 * Hugetlb pool helpers for the fastboot selftests.  See hugetlb.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "hugetlb.h"
#include "sysfs.h"

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT	26
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB	0x0004U
#endif

unsigned long hugetlb_default_size(void)
{
	long kb = proc_field_kb("/proc/meminfo", "Hugepagesize");

	return kb > 0 ? kb * 1024UL : 0;
}

static void pool_path(char *buf, size_t len, unsigned long size,
		      const char *file)
{
	snprintf(buf, len, "/sys/kernel/mm/hugepages/hugepages-%lukB/%s",
		 size / 1024, file);
}

bool hugetlb_size_supported(unsigned long size)
{
	char path[128];

	if (!size)
		return false;
	pool_path(path, sizeof(path), size, "nr_hugepages");
	return !access(path, F_OK);
}

static long pool_read(unsigned long size, const char *file)
{
	unsigned long val;
	char path[128];
	int ret;

	pool_path(path, sizeof(path), size, file);
	ret = sysfs_read_ulong(path, 10, &val);
	return ret ? ret : (long)val;
}

static void node_pool_path(char *buf, size_t len, unsigned long size,
			   int node, const char *file)
{
	if (node < 0)
		pool_path(buf, len, size, file);
	else
		snprintf(buf, len,
			 "/sys/devices/system/node/node%d/hugepages/hugepages-%lukB/%s",
			 node, size / 1024, file);
}

long hugetlb_pool_read(unsigned long size, int node, const char *file)
{
	unsigned long val;
	char path[160];
	int ret;

	node_pool_path(path, sizeof(path), size, node, file);
	ret = sysfs_read_ulong(path, 10, &val);
	return ret ? ret : (long)val;
}

int hugetlb_pool_write(unsigned long size, int node, const char *file,
		       const char *val)
{
	char path[160];

	node_pool_path(path, sizeof(path), size, node, file);
	return sysfs_write_str(path, val);
}

long hugetlb_nr_pages(unsigned long size)
{
	return pool_read(size, "nr_hugepages");
}

long hugetlb_free_pages(unsigned long size)
{
	return pool_read(size, "free_hugepages");
}

long hugetlb_resv_pages(unsigned long size)
{
	return pool_read(size, "resv_hugepages");
}

long hugetlb_avail_pages(unsigned long size)
{
	long free = hugetlb_free_pages(size);
	long resv = hugetlb_resv_pages(size);

	if (free < 0)
		return free;
	if (resv < 0)
		return resv;
	return free > resv ? free - resv : 0;
}

int hugetlb_set_nr_pages(unsigned long size, long nr)
{
	char path[128], buf[32];

	pool_path(path, sizeof(path), size, "nr_hugepages");
	snprintf(buf, sizeof(buf), "%ld\n", nr);
	return sysfs_write_str(path, buf);
}

int hugetlb_ensure_avail(unsigned long size, long need, long *saved)
{
	long nr, avail;
	int ret;

	nr = hugetlb_nr_pages(size);
	if (nr < 0)
		return nr;
	*saved = nr;
	avail = hugetlb_avail_pages(size);
	if (avail < 0)
		return avail;
	if (avail >= need)
		return 0;

	ret = hugetlb_set_nr_pages(size, nr + need - avail);
	if (!ret && hugetlb_avail_pages(size) < need)
		ret = -ENOMEM;
	if (ret)
		hugetlb_set_nr_pages(size, nr);
	return ret;
}

int hugetlb_size_flag(unsigned long size)
{
	return __builtin_ctzl(size) << MAP_HUGE_SHIFT;
}

void *hugetlb_mmap(size_t npages, unsigned long size, bool shared)
{
	int flags = MAP_ANONYMOUS | MAP_HUGETLB | hugetlb_size_flag(size);

	flags |= shared ? MAP_SHARED : MAP_PRIVATE;
	return mmap(NULL, npages * size, PROT_READ | PROT_WRITE, flags, -1, 0);
}

int hugetlb_memfd(const char *name, unsigned long size)
{
	int fd = memfd_create(name, MFD_HUGETLB | MFD_CLOEXEC |
				    hugetlb_size_flag(size));

	return fd < 0 ? -errno : fd;
}

void *hugetlb_map(enum hugetlb_backing how, long npages, unsigned long size,
		  int *fd)
{
	size_t len = npages * size;
	void *p;
	int err;

	*fd = -1;
	if (how == HUGETLB_PRIVATE)
		return hugetlb_mmap(npages, size, false);
	*fd = hugetlb_memfd("fastboot", size);
	if (*fd < 0) {
		errno = -*fd;
		*fd = -1;
		return MAP_FAILED;
	}
	if (ftruncate(*fd, len) ||
	    (how == HUGETLB_FALLOCATE && fallocate(*fd, 0, 0, len)))
		goto err;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (p != MAP_FAILED)
		return p;
err:
	err = errno;
	close(*fd);
	*fd = -1;
	errno = err;
	return MAP_FAILED;
}

void hugetlb_unmap(void *p, long npages, unsigned long size, int fd)
{
	munmap(p, npages * size);
	if (fd >= 0)
		close(fd);
}

long long pagemap_pfn(const void *addr)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	off_t off = (uintptr_t)addr / getpagesize() * sizeof(uint64_t);
	uint64_t e;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, &e, sizeof(e), off);
	close(fd);
	if (n != sizeof(e))
		return n < 0 ? -errno : -EIO;
	if (!(e & (1ULL << 63)))
		return -ENOENT;
	return e & ((1ULL << 55) - 1);
}

ssize_t mem_first_nonzero(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	const uint64_t *w;
	size_t i = 0, nw;

	/* Bytes up to 8-byte alignment, then words, then the tail. */
	while (i < len && ((uintptr_t)(p + i) & 7)) {
		if (p[i])
			return i;
		i++;
	}
	w = (const uint64_t *)(p + i);
	nw = (len - i) / 8;
	for (size_t k = 0; k < nw; k++) {
		if (w[k]) {
			i += k * 8;
			while (!p[i])
				i++;
			return i;
		}
	}
	for (i += nw * 8; i < len; i++) {
		if (p[i])
			return i;
	}
	return -1;
}
