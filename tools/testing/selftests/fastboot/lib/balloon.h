/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The virtio balloon from both sides for the fastboot selftests and
 * benchmarks: the guest's device and the driver bound to it (stock
 * virtio_balloon or virtio_balloon_2m), the host's view over the
 * hypervisor channel (lib/hv.h: query-balloon, balloon and the virtqueue
 * indices QEMU keeps), and virtio_balloon_2m's debugfs progress file.
 */
#ifndef FASTBOOT_BALLOON_H
#define FASTBOOT_BALLOON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BALLOON_VIRTIO_DEVICES	"/sys/bus/virtio/devices"
#define BALLOON_VIRTIO_DRIVERS	"/sys/bus/virtio/drivers"
#define BALLOON_DEBUGFS		"/sys/kernel/debug/virtio_balloon_2m"
/* QOM path of the balloon's virtio backend (vm.py: id=balloon0). */
#define BALLOON_QOM_PATH	"/machine/peripheral/balloon0/virtio-backend"

#define BALLOON_DRV_STOCK	"virtio_balloon"
#define BALLOON_DRV_2M		"virtio_balloon_2m"

#define BALLOON_VIRTIO_ID	5	/* VIRTIO_ID_BALLOON */
/* Feature bits (include/uapi/linux/virtio_balloon.h). */
#define BALLOON_F_MUST_TELL_HOST	0
#define BALLOON_F_STATS_VQ		1
#define BALLOON_F_DEFLATE_ON_OOM	2

/* Virtqueue indices, as both drivers and QEMU number them. */
#define BALLOON_VQ_INFLATE	0
#define BALLOON_VQ_DEFLATE	1
#define BALLOON_VQ_STATS	2

/* PFNs the stock driver sends per message (VIRTIO_BALLOON_ARRAY_PFNS_MAX). */
#define BALLOON_STOCK_PFNS_PER_MSG	256

/* Name (virtioN) of the first balloon device into @dev.  0 or -ENODEV. */
int balloon_find(char *dev, size_t len);

/* Name of the driver bound to @dev into @drv, "" if none.  0 or -errno. */
int balloon_driver(const char *dev, char *drv, size_t len);

/*
 * Move @dev to driver @drv: modprobe @drv if /sys/bus/virtio/drivers/@drv
 * is missing, unbind @dev from its current driver if that is another one
 * (which deflates the balloon fully) and bind it to @drv.  0 once @dev is
 * bound to @drv, or -errno; on failure @dev is given back to its driver.
 */
int balloon_bind(const char *dev, const char *drv);

/* Unbind @dev from whatever driver holds it (no-op if none).  0 or -errno. */
int balloon_unbind(const char *dev);

/* Whether the driver negotiated feature @bit (the device's "features"). */
bool balloon_has_feature(const char *dev, unsigned int bit);

/* query-balloon: the guest's size in bytes as QEMU sees it.  0 or -errno. */
int balloon_query(int64_t *actual);

/*
 * The guest's RAM size as QEMU sees it (query-memory-size-summary: base
 * plus hot-plugged memory): query-balloon's actual with an empty balloon.
 * 0 or -errno.
 */
int balloon_ram_size(int64_t *bytes);

/*
 * The 'balloon' command: ask the guest to shrink or grow to @bytes.  0,
 * -EINVAL if QEMU answered with an error, or -errno from the channel.
 */
int balloon_target(int64_t bytes);

/*
 * Poll query-balloon every @poll_ms until it reports @bytes, for at most
 * @timeout_ms.  *@last gets the last value read.  0, -ETIMEDOUT or -errno.
 */
int balloon_wait(int64_t bytes, int timeout_ms, int poll_ms, int64_t *last);

/*
 * used-idx of virtqueue @queue (BALLOON_VQ_*) of the balloon, from QEMU's
 * x-query-virtio-queue-status: the number of buffers the host has consumed,
 * modulo 2^16.  0 or -errno.
 */
int balloon_vq_used(int queue, unsigned int *used_idx);

/* Messages between two used-idx readings (the index wraps at 2^16). */
static inline unsigned int balloon_vq_delta(unsigned int before,
					    unsigned int after)
{
	return (after - before) & 0xffff;
}

/*
 * Value of @key in virtio_balloon_2m's debugfs file for @dev
 * (BALLOON_DEBUGFS/<dev>, "key value" lines).  0, -ENOENT if the file or
 * the key is absent, or -errno.
 */
int balloon_stat(const char *dev, const char *key, long long *val);

#endif /* FASTBOOT_BALLOON_H */
