/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal VFIO (legacy container + type1 IOMMU) access to one PCI device
 * for the fastboot selftests: find the device, bind it to vfio-pci, open
 * container/group/device, map and unmap DMA, enable bus mastering and map
 * BAR0 into the process.
 */
#ifndef FASTBOOT_VFIO_H
#define FASTBOOT_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/vfio.h>

#define VFIO_CONTAINER_PATH	"/dev/vfio/vfio"
#define VFIO_MAX_IOVA_RANGES	16

struct vfio_dev {
	char bdf[32];			/* e.g. "0000:00:04.0" */
	int group_id;			/* /dev/vfio/<group_id> */
	int container;			/* /dev/vfio/vfio */
	int group;
	int device;
	uint64_t config_offset;		/* config space region in device fd */
	void *bar0;			/* mmap of BAR0, NULL if not mapped */
	size_t bar0_size;
	uint64_t iova_pgsizes;		/* VFIO_IOMMU_GET_INFO */
	uint32_t nr_iova_ranges;	/* 0: no IOVA range capability */
	struct vfio_iova_range iova_ranges[VFIO_MAX_IOVA_RANGES];
	char err[256];			/* why the last vfio_dev_open() failed */
};

/* Find a PCI device by ID; writes its BDF.  0, or -ENODEV if absent. */
int vfio_pci_find(uint16_t vendor, uint16_t device, char *bdf, size_t len);

/* Bind @bdf to vfio-pci (no-op if it already is).  0 or -errno. */
int vfio_pci_bind(const char *bdf);

/* IOMMU group number of @bdf, or -errno. */
int vfio_pci_iommu_group(const char *bdf);

/*
 * Find vendor:device, bind it to vfio-pci, open container, group and device
 * with the type1v2 IOMMU, read the IOMMU info, enable memory decoding and
 * bus mastering, and map BAR0.  Returns 0, -ENODEV if the device or VFIO is
 * absent, or another -errno (with a reason in d->err).  On failure
 * everything opened so far is closed again.
 */
int vfio_dev_open(struct vfio_dev *d, uint16_t vendor, uint16_t device);

/* Unmap BAR0 and close device, group and container.  Idempotent. */
void vfio_dev_close(struct vfio_dev *d);

/* VFIO_IOMMU_MAP_DMA with raw arguments.  0 or -errno. */
int vfio_dma_map(struct vfio_dev *d, uint64_t vaddr, uint64_t iova,
		 uint64_t size, uint32_t flags);

/* Map @size bytes at @buf readable and writable by the device. */
int vfio_dma_map_rw(struct vfio_dev *d, void *buf, uint64_t iova,
		    uint64_t size);

/* VFIO_IOMMU_UNMAP_DMA; *unmapped gets the size the kernel reports. */
int vfio_dma_unmap(struct vfio_dev *d, uint64_t iova, uint64_t size,
		   uint64_t *unmapped);

/* VFIO_IOMMU_UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_ALL. */
int vfio_dma_unmap_all(struct vfio_dev *d, uint64_t *unmapped);

/* VFIO_IOMMU_UNMAP_DMA with raw flags (e.g. VFIO_DMA_UNMAP_FLAG_VADDR). */
int vfio_dma_unmap_flags(struct vfio_dev *d, uint64_t iova, uint64_t size,
			 uint32_t flags, uint64_t *unmapped);

/* VFIO_CHECK_EXTENSION on the container: what the kernel returns, or -errno. */
int vfio_check_extension(struct vfio_dev *d, unsigned long ext);

/*
 * Copy capability @id of the VFIO_IOMMU_GET_INFO chain, header included, to
 * @cap (at most @len bytes; the rest of @cap is zeroed).  0, -ENOENT if the
 * chain has no such capability, or -errno.
 */
int vfio_iommu_info_cap(struct vfio_dev *d, uint16_t id, void *cap,
			size_t len);

/*
 * Deferred mapping (VFIO_TYPE1_DEFER_MAP): pin and map in the background,
 * VFIO_IOMMU_DEFER_SYNC to wait for it.  All return 0 or -errno.  Only with
 * uapi headers that have it, so that the other tests build without.
 */
#ifdef VFIO_TYPE1_DEFER_MAP

/* The VFIO_IOMMU_TYPE1_INFO_CAP_DEFER_MAP capability. */
int vfio_defer_cap(struct vfio_dev *d,
		   struct vfio_iommu_type1_info_cap_defer_map *cap);

/* Map @size bytes at @buf, readable and writable, with VFIO_DMA_MAP_FLAG_DEFER. */
int vfio_dma_map_defer(struct vfio_dev *d, void *buf, uint64_t iova,
		       uint64_t size);

/*
 * VFIO_IOMMU_DEFER_SYNC with raw arguments (argsz is the struct's size);
 * *@out, if not NULL, gets the struct the kernel wrote back on success.
 */
int vfio_defer_sync_raw(struct vfio_dev *d, uint32_t flags, uint64_t iova,
			uint64_t size, int32_t eventfd,
			struct vfio_iommu_type1_defer_sync *out);

/* Wait until [iova, iova + size) is pinned and mapped (flags 0). */
int vfio_defer_sync(struct vfio_dev *d, uint64_t iova, uint64_t size,
		    struct vfio_iommu_type1_defer_sync *out);

/* The same for every mapping (VFIO_DEFER_SYNC_FLAG_ALL). */
int vfio_defer_sync_all(struct vfio_dev *d,
			struct vfio_iommu_type1_defer_sync *out);

/* Progress only (VFIO_DEFER_SYNC_FLAG_QUERY). */
int vfio_defer_query(struct vfio_dev *d,
		     struct vfio_iommu_type1_defer_sync *out);

/* Signal eventfd @fd when the background work is idle; -1 clears it. */
int vfio_defer_set_eventfd(struct vfio_dev *d, int fd);
#endif /* VFIO_TYPE1_DEFER_MAP */

/* Whether [iova, iova + size) lies in one of the usable IOVA ranges. */
bool vfio_iova_valid(const struct vfio_dev *d, uint64_t iova, uint64_t size);

/* Config space access through the VFIO config region.  0 or -errno. */
int vfio_config_read(struct vfio_dev *d, uint32_t off, void *buf,
		     size_t len);
int vfio_config_write(struct vfio_dev *d, uint32_t off, const void *buf,
		      size_t len);

/* Set PCI_COMMAND memory space and bus master enable.  0 or -errno. */
int vfio_enable_bus_master(struct vfio_dev *d);

#endif /* FASTBOOT_VFIO_H */
