/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hugetlb pool helpers for the fastboot selftests: the default huge page
 * size, reading and resizing the pool through sysfs, mapping huge pages,
 * and a fast all-zero check.
 */
#ifndef FASTBOOT_HUGETLB_H
#define FASTBOOT_HUGETLB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Default huge page size in bytes ("Hugepagesize" in /proc/meminfo), or 0. */
unsigned long hugetlb_default_size(void);

/* Whether the kernel has a pool for huge pages of @size bytes. */
bool hugetlb_size_supported(unsigned long size);

/*
 * /sys/kernel/mm/hugepages/hugepages-<size>kB/{nr,free,resv}_hugepages:
 * the value, or -errno.
 */
long hugetlb_nr_pages(unsigned long size);
long hugetlb_free_pages(unsigned long size);
long hugetlb_resv_pages(unsigned long size);

/*
 * Any number-valued file of a pool: @node < 0 for
 * /sys/kernel/mm/hugepages/hugepages-<size>kB/@file, otherwise the one
 * under /sys/devices/system/node/node<@node>/hugepages/.  Value or -errno.
 */
long hugetlb_pool_read(unsigned long size, int node, const char *file);

/* Write @val to such a file in one write().  0 or -errno. */
int hugetlb_pool_write(unsigned long size, int node, const char *file,
		       const char *val);

/* Free pages nobody has reserved: what a new mapping can get. */
long hugetlb_avail_pages(unsigned long size);

/* Write nr_hugepages.  0 or -errno (the kernel may allocate fewer). */
int hugetlb_set_nr_pages(unsigned long size, long nr);

/*
 * Grow the pool until at least @need pages are available.  *@saved gets the
 * nr_hugepages to restore (also when nothing was changed).  0, or -ENOMEM
 * if the kernel could not allocate enough (the pool is then restored).
 */
int hugetlb_ensure_avail(unsigned long size, long need, long *saved);

/* MAP_HUGETLB encoding of @size for mmap() / memfd_create() flags. */
int hugetlb_size_flag(unsigned long size);

/*
 * Anonymous mapping of @npages huge pages of @size bytes, MAP_PRIVATE or
 * MAP_SHARED; MAP_FAILED with errno set on failure.  Pages are not touched.
 */
void *hugetlb_mmap(size_t npages, unsigned long size, bool shared);

/* How a test takes huge pages. */
enum hugetlb_backing {
	HUGETLB_PRIVATE,	/* mmap(MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB) */
	HUGETLB_MEMFD,		/* memfd_create(MFD_HUGETLB), MAP_SHARED, faulted */
	HUGETLB_FALLOCATE,	/* the same, fallocate()d before it is mapped */
	HUGETLB_NR_BACKINGS,
};

/*
 * Map @npages huge pages of @size bytes backed as @how.  *@fd gets the
 * memfd, or -1.  MAP_FAILED with errno set on failure.  Pages are not
 * touched, except that HUGETLB_FALLOCATE allocated them all.
 */
void *hugetlb_map(enum hugetlb_backing how, long npages, unsigned long size,
		  int *fd);

/* Undo hugetlb_map(). */
void hugetlb_unmap(void *p, long npages, unsigned long size, int fd);

/* memfd_create(MFD_HUGETLB) for pages of @size bytes; fd or -errno. */
int hugetlb_memfd(const char *name, unsigned long size);

/*
 * The page frame number behind the mapped, present address @addr, from
 * /proc/self/pagemap (PFNs need CAP_SYS_ADMIN): the PFN, or -errno
 * (-ENOENT if the page is not present).
 */
long long pagemap_pfn(const void *addr);

/* Offset of the first non-zero byte of @buf, or -1 if all zero. */
ssize_t mem_first_nonzero(const void *buf, size_t len);

#endif /* FASTBOOT_HUGETLB_H */
