/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Deferred (background) pinning and IOMMU mapping for the VFIO type1 IOMMU
 * driver: VFIO_DMA_MAP_FLAG_DEFER and VFIO_IOMMU_DEFER_SYNC.
 *
 * Everything here is protected by vfio_iommu->lock unless said otherwise.
 */
#ifndef __VFIO_ASYNC_MAP_H
#define __VFIO_ASYNC_MAP_H

#include <linux/bits.h>
#include <linux/list.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

struct eventfd_ctx;
struct iommu_domain;
struct vfio_dma;
struct vfio_info_cap;
struct vfio_iommu;

/* A deferred mapping is tracked in chunks, counted from its start. */
#define VFIO_DEFER_CHUNK_SHIFT	21
#define VFIO_DEFER_CHUNK_SIZE	BIT(VFIO_DEFER_CHUNK_SHIFT)
/* A worker claims up to this many adjacent chunks at once. */
#define VFIO_DEFER_BATCH_CHUNKS	32
#define VFIO_DEFER_BATCH_SIZE	(VFIO_DEFER_BATCH_CHUNKS * VFIO_DEFER_CHUNK_SIZE)
#define VFIO_DEFER_MAX_WORKERS	16

struct vfio_defer_run;

struct vfio_defer_worker {
	struct work_struct	work;
	struct vfio_iommu	*iommu;
	struct vfio_defer_run	*runs;		/* VFIO_DEFER_BATCH_SIZE pages */
};

/* Per container, embedded in struct vfio_iommu. */
struct vfio_defer {
	struct list_head	pending;	/* vfio_defer_dma with free chunks */
	wait_queue_head_t	wait;		/* @seq and @inflight changes */
	unsigned long		seq;		/* bumped when a claim ends */
	unsigned int		inflight;	/* claims being pinned unlocked */
	unsigned int		paused;		/* vfio_defer_drain() callers */
	unsigned int		syncs;		/* vfio_defer_sync() callers */
	bool			shutdown;	/* container going away */
	bool			held;		/* VFIO_DEFER_SYNC_FLAG_HOLD */
	bool			busy;		/* work left since last idle */
	unsigned int		nr_workers;
	u64			deferred;	/* bytes in deferred mappings */
	u64			mapped;		/* of those, pinned and mapped */
	u64			failed;		/* of those, failed */
	int			error;		/* first failure, -errno */
	dma_addr_t		error_iova;
	struct eventfd_ctx	*eventfd;	/* signalled when idle */
	struct list_head	node;		/* in vfio_defer_containers */
	struct vfio_defer_worker workers[VFIO_DEFER_MAX_WORKERS];
};

/* Per deferred mapping, vfio_dma->defer. */
struct vfio_defer_dma {
	struct vfio_dma		*dma;
	struct list_head	node;		/* in vfio_defer.pending */
	unsigned long		nr_chunks;
	unsigned long		next;		/* chunks below are all claimed */
	unsigned long		prepaid;	/* pages charged, not yet mapped */
	unsigned int		inflight;	/* claims being pinned unlocked */
	bool			cancel;		/* being unmapped: no new claims */
	int			error;		/* first failure, -errno */
	dma_addr_t		error_iova;
	u64			mapped;		/* bytes */
	u64			failed;		/* bytes */
	unsigned long		*claimed;	/* a worker or sync took it */
	unsigned long		*done;		/* pinned and mapped */
	unsigned long		*bad;		/* failed */
};

int vfio_defer_module_init(void);
void vfio_defer_module_exit(void);

void vfio_defer_init(struct vfio_iommu *iommu);
void vfio_defer_release(struct vfio_iommu *iommu);

int vfio_defer_dma_start(struct vfio_iommu *iommu, struct vfio_dma *dma);
void vfio_defer_kick(struct vfio_iommu *iommu);
bool vfio_defer_dma_cancel(struct vfio_iommu *iommu, struct vfio_dma *dma);
void vfio_defer_dma_unmapped(struct vfio_iommu *iommu, struct vfio_dma *dma);
bool vfio_defer_dma_pending(struct vfio_dma *dma);
bool vfio_defer_iova_mapped(struct vfio_dma *dma, dma_addr_t iova);
dma_addr_t vfio_defer_next_mapped(struct vfio_dma *dma, dma_addr_t iova);
void vfio_defer_unmap_domain(struct vfio_dma *dma, struct iommu_domain *domain);

void vfio_defer_drain(struct vfio_iommu *iommu);
void vfio_defer_resume(struct vfio_iommu *iommu);
int vfio_defer_sync(struct vfio_iommu *iommu, dma_addr_t iova,
		    dma_addr_t last, bool killable);
void vfio_defer_dma_uncancel(struct vfio_iommu *iommu, struct vfio_dma *dma);
void vfio_defer_uncancel_range(struct vfio_iommu *iommu, dma_addr_t iova,
			       u64 size);

int vfio_defer_add_cap(struct vfio_iommu *iommu, struct vfio_info_cap *caps);
long vfio_defer_ioctl_sync(struct vfio_iommu *iommu, unsigned long arg);

#endif /* __VFIO_ASYNC_MAP_H */
