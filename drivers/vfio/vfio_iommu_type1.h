/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * VFIO type1 IOMMU driver: what vfio_iommu_type1_main.c shares with
 * vfio_async_map.c.  Private to the vfio_iommu_type1 module.
 */
#ifndef __VFIO_IOMMU_TYPE1_H
#define __VFIO_IOMMU_TYPE1_H

#include <linux/iommu.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/types.h>
#include "vfio_async_map.h"

struct vfio_iommu {
	struct list_head	domain_list;
	struct list_head	iova_list;
	struct mutex		lock;		/* everything here and in vfio_dma */
	struct rb_root		dma_list;
	struct list_head	device_list;
	struct mutex		device_list_lock; /* device_list, inside lock */
	unsigned int		dma_avail;
	unsigned int		vaddr_invalid_count;
	u64			pgsize_bitmap;
	u64			num_non_pinned_groups;
	bool			v2;
	bool			nesting;
	bool			dirty_page_tracking;
	struct list_head	emulated_iommu_groups;
	struct vfio_defer	defer;
};

struct vfio_domain {
	struct iommu_domain	*domain;
	struct list_head	next;
	struct list_head	group_list;
	bool			fgsp : 1;	/* Fine-grained super pages */
	bool			enforce_cache_coherency : 1;
};

struct vfio_dma {
	struct rb_node		node;
	dma_addr_t		iova;		/* Device address */
	unsigned long		vaddr;		/* Process virtual addr */
	size_t			size;		/* Map size (bytes) */
	int			prot;		/* IOMMU_READ/WRITE */
	bool			iommu_mapped;
	bool			lock_cap;	/* capable(CAP_IPC_LOCK) */
	bool			vaddr_invalid;
	bool			has_rsvd;	/* has 1 or more rsvd pfns */
	struct task_struct	*task;
	struct rb_root		pfn_list;	/* Ex-user pinned pfn list */
	unsigned long		*bitmap;
	struct mm_struct	*mm;
	size_t			locked_vm;
	struct vfio_defer_dma	*defer;		/* VFIO_DMA_MAP_FLAG_DEFER */
};

struct vfio_batch {
	struct page		**pages;	/* for pin_user_pages_remote */
	struct page		*fallback_page; /* if pages alloc fails */
	int			capacity;	/* length of pages array */
	int			size;		/* of batch currently */
	int			offset;		/* of next entry in pages */
};

bool is_invalid_reserved_pfn(unsigned long pfn);
struct rb_node *vfio_find_dma_first_node(struct vfio_iommu *iommu,
					 dma_addr_t start, u64 size);
int vfio_lock_acct(struct vfio_dma *dma, long npage, bool async);
void vfio_batch_init(struct vfio_batch *batch);
void vfio_batch_unpin(struct vfio_batch *batch, struct vfio_dma *dma);
void vfio_batch_fini(struct vfio_batch *batch);
long vfio_pin_pages_remote(struct vfio_dma *dma, unsigned long vaddr,
			   long npage, unsigned long *pfn_base,
			   unsigned long limit, struct vfio_batch *batch);
int vfio_iommu_map(struct vfio_iommu *iommu, dma_addr_t iova,
		   unsigned long pfn, long npage, int prot);

#endif /* __VFIO_IOMMU_TYPE1_H */
