// SPDX-License-Identifier: GPL-2.0
/*
 * Minimal VFIO (legacy container + type1 IOMMU) access to one PCI device
 * for the fastboot selftests.  See vfio.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <linux/pci_regs.h>

#include "sysfs.h"
#include "vfio.h"

#define PCI_DEVICES	"/sys/bus/pci/devices"

int vfio_pci_find(uint16_t vendor, uint16_t device, char *bdf, size_t len)
{
	char path[PATH_MAX];
	struct dirent *de;
	unsigned long v, d;
	DIR *dir;
	int ret = -ENODEV;

	dir = opendir(PCI_DEVICES);
	if (!dir)
		return -ENODEV;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), PCI_DEVICES "/%s/vendor",
			 de->d_name);
		if (sysfs_read_ulong(path, 16, &v) || v != vendor)
			continue;
		snprintf(path, sizeof(path), PCI_DEVICES "/%s/device",
			 de->d_name);
		if (sysfs_read_ulong(path, 16, &d) || d != device)
			continue;
		snprintf(bdf, len, "%s", de->d_name);
		ret = 0;
		break;
	}
	closedir(dir);
	return ret;
}

/* Basename of the driver @bdf is bound to, or "" if none. */
static void pci_driver(const char *bdf, char *drv, size_t len)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/driver", bdf);
	if (sysfs_link_name(path, drv, len))
		drv[0] = '\0';
}

int vfio_pci_bind(const char *bdf)
{
	char path[PATH_MAX], drv[64];
	int ret;

	pci_driver(bdf, drv, sizeof(drv));
	if (!strcmp(drv, "vfio-pci"))
		return 0;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/driver_override", bdf);
	ret = sysfs_write_str(path, "vfio-pci");
	if (ret)
		return ret;

	if (drv[0]) {
		snprintf(path, sizeof(path), PCI_DEVICES "/%s/driver/unbind",
			 bdf);
		ret = sysfs_write_str(path, bdf);
		if (ret)
			return ret;
	}

	/* drivers_probe fails with the probe's error if it does not bind. */
	ret = sysfs_write_str("/sys/bus/pci/drivers_probe", bdf);
	if (ret)
		return ret;

	pci_driver(bdf, drv, sizeof(drv));
	return strcmp(drv, "vfio-pci") ? -ENODEV : 0;
}

int vfio_pci_iommu_group(const char *bdf)
{
	char path[PATH_MAX], group[16];
	int ret;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/iommu_group", bdf);
	ret = sysfs_link_name(path, group, sizeof(group));
	return ret ? ret : atoi(group);
}

static int fail(struct vfio_dev *d, int ret, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(d->err, sizeof(d->err), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(d->err))
		snprintf(d->err + n, sizeof(d->err) - n, ": %s",
			 strerror(-ret));
	return ret;
}

/*
 * VFIO_IOMMU_GET_INFO with room for the whole capability chain: *@out gets a
 * malloc()ed buffer (free() it) and *@size its size.  0 or -errno.
 */
static int iommu_info_read(struct vfio_dev *d,
			   struct vfio_iommu_type1_info **out, uint32_t *size)
{
	struct vfio_iommu_type1_info *info;
	uint32_t argsz = sizeof(*info);
	int ret;

	info = calloc(1, argsz);
	if (!info)
		return -ENOMEM;
	info->argsz = argsz;
	if (ioctl(d->container, VFIO_IOMMU_GET_INFO, info))
		goto err;
	if (info->argsz > argsz) {
		struct vfio_iommu_type1_info *bigger;

		argsz = info->argsz;
		bigger = realloc(info, argsz);
		if (!bigger) {
			free(info);
			return -ENOMEM;
		}
		info = bigger;
		memset(info, 0, argsz);
		info->argsz = argsz;
		if (ioctl(d->container, VFIO_IOMMU_GET_INFO, info))
			goto err;
	}
	*out = info;
	*size = argsz;
	return 0;
err:
	ret = -errno;
	free(info);
	return ret;
}

/*
 * The next capability header of @info's chain after offset @off (0: the
 * first).  Returns its offset, 0 at the end, or -errno for a malformed
 * chain (-EOVERFLOW past @argsz, -EINVAL for a loop).
 */
static long iommu_info_next_cap(const struct vfio_iommu_type1_info *info,
				uint32_t argsz, uint32_t off)
{
	const struct vfio_info_cap_header *hdr;
	uint32_t next;

	if (!off) {
		if (!(info->flags & VFIO_IOMMU_INFO_CAPS))
			return 0;
		next = info->cap_offset;
	} else {
		hdr = (const void *)((const char *)info + off);
		next = hdr->next;
		if (next && next <= off)
			return -EINVAL;		/* a loop in the chain */
	}
	if (next && next + sizeof(*hdr) > argsz)
		return -EOVERFLOW;
	return next;
}

/* Walk the VFIO_IOMMU_GET_INFO capability chain for the IOVA ranges. */
static int vfio_get_iommu_info(struct vfio_dev *d)
{
	struct vfio_iommu_type1_info *info;
	struct vfio_info_cap_header *hdr;
	uint32_t argsz;
	long off;
	int ret;

	ret = iommu_info_read(d, &info, &argsz);
	if (ret)
		return ret;

	d->iova_pgsizes = info->iova_pgsizes;
	d->nr_iova_ranges = 0;
	for (off = iommu_info_next_cap(info, argsz, 0); off > 0;
	     off = iommu_info_next_cap(info, argsz, off)) {
		struct vfio_iommu_type1_info_cap_iova_range *cap;
		uint32_t i;

		hdr = (struct vfio_info_cap_header *)((char *)info + off);
		if (hdr->id != VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE)
			continue;
		cap = (void *)hdr;
		if (off + sizeof(*cap) +
		    (uint64_t)cap->nr_iovas * sizeof(cap->iova_ranges[0]) > argsz) {
			off = -EOVERFLOW;
			break;
		}
		for (i = 0; i < cap->nr_iovas && i < VFIO_MAX_IOVA_RANGES; i++)
			d->iova_ranges[i] = cap->iova_ranges[i];
		d->nr_iova_ranges = i;
	}
	if (off < 0)
		ret = off;
	free(info);
	return ret;
}

static int vfio_map_bar0(struct vfio_dev *d)
{
	struct vfio_region_info reg = {
		.argsz = sizeof(reg),
		.index = VFIO_PCI_BAR0_REGION_INDEX,
	};
	void *p;

	if (ioctl(d->device, VFIO_DEVICE_GET_REGION_INFO, &reg))
		return -errno;
	if (!(reg.flags & VFIO_REGION_INFO_FLAG_MMAP) || !reg.size)
		return -EOPNOTSUPP;
	p = mmap(NULL, reg.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 d->device, reg.offset);
	if (p == MAP_FAILED)
		return -errno;
	d->bar0 = p;
	d->bar0_size = reg.size;
	return 0;
}

int vfio_dev_open(struct vfio_dev *d, uint16_t vendor, uint16_t device)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct vfio_region_info cfg = {
		.argsz = sizeof(cfg),
		.index = VFIO_PCI_CONFIG_REGION_INDEX,
	};
	char path[64];
	int ret;

	memset(d, 0, sizeof(*d));
	d->container = -1;
	d->group = -1;
	d->device = -1;

	if (access(VFIO_CONTAINER_PATH, F_OK))
		return fail(d, -ENODEV, "no %s", VFIO_CONTAINER_PATH);
	ret = vfio_pci_find(vendor, device, d->bdf, sizeof(d->bdf));
	if (ret)
		return fail(d, ret, "no PCI device %04x:%04x", vendor, device);

	ret = vfio_pci_bind(d->bdf);
	if (ret)
		return fail(d, ret, "binding %s to vfio-pci", d->bdf);
	d->group_id = vfio_pci_iommu_group(d->bdf);
	if (d->group_id < 0)
		return fail(d, d->group_id, "iommu_group of %s", d->bdf);

	d->container = open(VFIO_CONTAINER_PATH, O_RDWR);
	if (d->container < 0) {
		ret = fail(d, -errno, "open %s", VFIO_CONTAINER_PATH);
		goto err;
	}
	if (ioctl(d->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		ret = fail(d, -EINVAL, "VFIO_GET_API_VERSION");
		goto err;
	}
	if (ioctl(d->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
		ret = fail(d, -EOPNOTSUPP, "VFIO_TYPE1v2_IOMMU extension");
		goto err;
	}

	snprintf(path, sizeof(path), "/dev/vfio/%d", d->group_id);
	d->group = open(path, O_RDWR);
	if (d->group < 0) {
		ret = fail(d, -errno, "open %s", path);
		goto err;
	}
	if (ioctl(d->group, VFIO_GROUP_GET_STATUS, &status)) {
		ret = fail(d, -errno, "VFIO_GROUP_GET_STATUS");
		goto err;
	}
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		ret = fail(d, -EBUSY, "group %d not viable (all devices bound to vfio-pci?)",
			   d->group_id);
		goto err;
	}
	if (ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->container)) {
		ret = fail(d, -errno, "VFIO_GROUP_SET_CONTAINER");
		goto err;
	}
	if (ioctl(d->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		ret = fail(d, -errno, "VFIO_SET_IOMMU(VFIO_TYPE1v2_IOMMU)");
		goto err;
	}
	ret = vfio_get_iommu_info(d);
	if (ret) {
		fail(d, ret, "VFIO_IOMMU_GET_INFO");
		goto err;
	}

	d->device = ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, d->bdf);
	if (d->device < 0) {
		ret = fail(d, -errno, "VFIO_GROUP_GET_DEVICE_FD(%s)", d->bdf);
		goto err;
	}
	if (ioctl(d->device, VFIO_DEVICE_GET_REGION_INFO, &cfg)) {
		ret = fail(d, -errno, "config region info");
		goto err;
	}
	d->config_offset = cfg.offset;

	ret = vfio_enable_bus_master(d);
	if (ret) {
		fail(d, ret, "enabling bus mastering");
		goto err;
	}
	ret = vfio_map_bar0(d);
	if (ret) {
		fail(d, ret, "mmap of BAR0");
		goto err;
	}
	return 0;
err:
	vfio_dev_close(d);
	return ret;
}

void vfio_dev_close(struct vfio_dev *d)
{
	if (d->bar0)
		munmap(d->bar0, d->bar0_size);
	d->bar0 = NULL;
	if (d->device >= 0)
		close(d->device);
	if (d->group >= 0)
		close(d->group);
	if (d->container >= 0)
		close(d->container);
	d->device = -1;
	d->group = -1;
	d->container = -1;
}

int vfio_dma_map(struct vfio_dev *d, uint64_t vaddr, uint64_t iova,
		 uint64_t size, uint32_t flags)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = flags,
		.vaddr = vaddr,
		.iova = iova,
		.size = size,
	};

	return ioctl(d->container, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
}

int vfio_dma_map_rw(struct vfio_dev *d, void *buf, uint64_t iova,
		    uint64_t size)
{
	return vfio_dma_map(d, (uintptr_t)buf, iova, size,
			    VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
}

int vfio_dma_unmap_flags(struct vfio_dev *d, uint64_t iova, uint64_t size,
			 uint32_t flags, uint64_t *unmapped)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = flags,
		.iova = iova,
		.size = size,
	};

	if (ioctl(d->container, VFIO_IOMMU_UNMAP_DMA, &unmap))
		return -errno;
	if (unmapped)
		*unmapped = unmap.size;
	return 0;
}

int vfio_dma_unmap(struct vfio_dev *d, uint64_t iova, uint64_t size,
		   uint64_t *unmapped)
{
	return vfio_dma_unmap_flags(d, iova, size, 0, unmapped);
}

int vfio_dma_unmap_all(struct vfio_dev *d, uint64_t *unmapped)
{
	return vfio_dma_unmap_flags(d, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, unmapped);
}

int vfio_check_extension(struct vfio_dev *d, unsigned long ext)
{
	int ret = ioctl(d->container, VFIO_CHECK_EXTENSION, ext);

	return ret < 0 ? -errno : ret;
}

int vfio_iommu_info_cap(struct vfio_dev *d, uint16_t id, void *cap,
			size_t len)
{
	struct vfio_iommu_type1_info *info;
	uint32_t argsz;
	long off;
	int ret;

	ret = iommu_info_read(d, &info, &argsz);
	if (ret)
		return ret;
	ret = -ENOENT;
	for (off = iommu_info_next_cap(info, argsz, 0); off > 0;
	     off = iommu_info_next_cap(info, argsz, off)) {
		const struct vfio_info_cap_header *hdr =
			(const void *)((const char *)info + off);
		size_t avail = argsz - (uint32_t)off;

		if (hdr->id != id)
			continue;
		memset(cap, 0, len);
		memcpy(cap, hdr, len < avail ? len : avail);
		ret = 0;
		break;
	}
	if (off < 0)
		ret = off;
	free(info);
	return ret;
}

#ifdef VFIO_TYPE1_DEFER_MAP
int vfio_defer_cap(struct vfio_dev *d,
		   struct vfio_iommu_type1_info_cap_defer_map *cap)
{
	return vfio_iommu_info_cap(d, VFIO_IOMMU_TYPE1_INFO_CAP_DEFER_MAP, cap,
				   sizeof(*cap));
}

int vfio_dma_map_defer(struct vfio_dev *d, void *buf, uint64_t iova,
		       uint64_t size)
{
	return vfio_dma_map(d, (uintptr_t)buf, iova, size,
			    VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE |
			    VFIO_DMA_MAP_FLAG_DEFER);
}

int vfio_defer_sync_raw(struct vfio_dev *d, uint32_t flags, uint64_t iova,
			uint64_t size, int32_t eventfd,
			struct vfio_iommu_type1_defer_sync *out)
{
	struct vfio_iommu_type1_defer_sync s = {
		.argsz = sizeof(s),
		.flags = flags,
		.iova = iova,
		.size = size,
		.eventfd = eventfd,
	};

	if (ioctl(d->container, VFIO_IOMMU_DEFER_SYNC, &s))
		return -errno;
	if (out)
		*out = s;
	return 0;
}

int vfio_defer_sync(struct vfio_dev *d, uint64_t iova, uint64_t size,
		    struct vfio_iommu_type1_defer_sync *out)
{
	return vfio_defer_sync_raw(d, 0, iova, size, 0, out);
}

int vfio_defer_sync_all(struct vfio_dev *d,
			struct vfio_iommu_type1_defer_sync *out)
{
	return vfio_defer_sync_raw(d, VFIO_DEFER_SYNC_FLAG_ALL, 0, 0, 0, out);
}

int vfio_defer_query(struct vfio_dev *d,
		     struct vfio_iommu_type1_defer_sync *out)
{
	return vfio_defer_sync_raw(d, VFIO_DEFER_SYNC_FLAG_QUERY, 0, 0, 0, out);
}

int vfio_defer_set_eventfd(struct vfio_dev *d, int fd)
{
	return vfio_defer_sync_raw(d, VFIO_DEFER_SYNC_FLAG_EVENTFD, 0, 0, fd,
				   NULL);
}
#endif /* VFIO_TYPE1_DEFER_MAP */

bool vfio_iova_valid(const struct vfio_dev *d, uint64_t iova, uint64_t size)
{
	uint64_t last = iova + size - 1;
	uint32_t i;

	if (!size || last < iova)
		return false;
	if (!d->nr_iova_ranges)
		return true;
	for (i = 0; i < d->nr_iova_ranges; i++) {
		if (iova >= d->iova_ranges[i].start &&
		    last <= d->iova_ranges[i].end)
			return true;
	}
	return false;
}

int vfio_config_read(struct vfio_dev *d, uint32_t off, void *buf, size_t len)
{
	ssize_t n = pread(d->device, buf, len, d->config_offset + off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int vfio_config_write(struct vfio_dev *d, uint32_t off, const void *buf,
		      size_t len)
{
	ssize_t n = pwrite(d->device, buf, len, d->config_offset + off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int vfio_enable_bus_master(struct vfio_dev *d)
{
	uint16_t cmd;
	int ret;

	ret = vfio_config_read(d, PCI_COMMAND, &cmd, sizeof(cmd));
	if (ret)
		return ret;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	ret = vfio_config_write(d, PCI_COMMAND, &cmd, sizeof(cmd));
	if (ret)
		return ret;
	ret = vfio_config_read(d, PCI_COMMAND, &cmd, sizeof(cmd));
	if (ret)
		return ret;
	return (cmd & PCI_COMMAND_MASTER) ? 0 : -EIO;
}
