// SPDX-License-Identifier: GPL-2.0
/*
 * Driver for QEMU's "edu" PCI device DMA engine through a user mapping of
 * BAR0, and the mapped/unmapped checks built on it.  See edu.h.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "edu.h"

/*
 * BAR0 is mapped uncached from the device fd.  These are the x86 kernel's
 * readl()/writel()/readq()/writeq(): one mov of the register's width that
 * the compiler may neither merge, split nor drop (arch/x86/include/asm/io.h).
 */
static inline uint32_t mmio_read32(void *bar, uint32_t off)
{
	uint32_t val;

	asm volatile("movl %1, %0" : "=r" (val)
		     : "m" (*(uint32_t *)((char *)bar + off)) : "memory");
	return val;
}

static inline void mmio_write32(void *bar, uint32_t off, uint32_t val)
{
	asm volatile("movl %0, %1" : : "r" (val),
		     "m" (*(uint32_t *)((char *)bar + off)) : "memory");
}

static inline uint64_t mmio_read64(void *bar, uint32_t off)
{
	uint64_t val;

	asm volatile("movq %1, %0" : "=r" (val)
		     : "m" (*(uint64_t *)((char *)bar + off)) : "memory");
	return val;
}

static inline void mmio_write64(void *bar, uint32_t off, uint64_t val)
{
	asm volatile("movq %0, %1" : : "r" (val),
		     "m" (*(uint64_t *)((char *)bar + off)) : "memory");
}

uint32_t edu_read_id(void *bar)
{
	return mmio_read32(bar, EDU_REG_ID);
}

uint32_t edu_liveness(void *bar, uint32_t val)
{
	mmio_write32(bar, EDU_REG_LIVENESS, val);
	return mmio_read32(bar, EDU_REG_LIVENESS);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int edu_dma(void *bar, uint64_t src, uint64_t dst, size_t len,
		   uint64_t cmd)
{
	uint64_t start;

	/* Never start while a previous transfer still runs (it would be ignored). */
	if (mmio_read64(bar, EDU_REG_DMA_CMD) & EDU_DMA_CMD_START)
		return -EBUSY;

	/* CPU writes to the buffers must be visible before the device runs. */
	__sync_synchronize();
	mmio_write64(bar, EDU_REG_DMA_SRC, src);
	mmio_write64(bar, EDU_REG_DMA_DST, dst);
	mmio_write64(bar, EDU_REG_DMA_COUNT, len);
	mmio_write64(bar, EDU_REG_DMA_CMD, cmd | EDU_DMA_CMD_START);

	start = now_ms();
	while (mmio_read64(bar, EDU_REG_DMA_CMD) & EDU_DMA_CMD_START) {
		if (now_ms() - start > EDU_DMA_TIMEOUT_MS)
			return -ETIMEDOUT;
		usleep(1000);
	}
	__sync_synchronize();
	return 0;
}

static void edu_check_dev_range(uint32_t dev_off, size_t len)
{
	assert(len > 0 && len <= EDU_DMA_MAX_LEN);
	assert(dev_off < EDU_DMA_BUF_SIZE &&
	       len <= EDU_DMA_BUF_SIZE - dev_off);
}

int edu_dma_to_dev(void *bar, uint64_t iova, uint32_t dev_off, size_t len)
{
	edu_check_dev_range(dev_off, len);
	return edu_dma(bar, iova, EDU_DMA_BUF_ADDR + dev_off, len, 0);
}

int edu_dma_from_dev(void *bar, uint32_t dev_off, uint64_t iova, size_t len)
{
	edu_check_dev_range(dev_off, len);
	return edu_dma(bar, EDU_DMA_BUF_ADDR + dev_off, iova, len,
		       EDU_DMA_CMD_TO_RAM);
}

/* splitmix64: cheap, and no two nearby seeds give related words. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void edu_fill_pattern(void *buf, size_t len, uint64_t seed)
{
	uint64_t *w = buf;
	size_t i;

	assert(!((uintptr_t)buf & 7) && !(len & 7));
	for (i = 0; i < len / 8; i++)
		w[i] = mix64(seed + i);
}

long edu_first_diff(const void *a, const void *b, size_t len)
{
	const unsigned char *x = a, *y = b;
	size_t i;

	for (i = 0; i < len; i++) {
		if (x[i] != y[i])
			return (long)i;
	}
	return -1;
}

int edu_check_mapped(void *bar, uint64_t iova, void *cpu, size_t len,
		     uint64_t rb_iova, void *rb, uint64_t seed)
{
	int ret;

	edu_fill_pattern(cpu, len, seed);
	memset(rb, EDU_POISON, len);
	ret = edu_dma_to_dev(bar, iova, 0, len);
	if (!ret)
		ret = edu_dma_from_dev(bar, 0, rb_iova, len);
	if (ret)
		return ret;
	return memcmp(rb, cpu, len) ? -EIO : 0;
}

int edu_check_write(void *bar, uint64_t iova, void *cpu, size_t len,
		    uint64_t src_iova, void *src, uint64_t seed)
{
	int ret;

	edu_fill_pattern(src, len, seed);
	memset(cpu, EDU_POISON, len);
	ret = edu_dma_to_dev(bar, src_iova, 0, len);
	if (!ret)
		ret = edu_dma_from_dev(bar, 0, iova, len);
	if (ret)
		return ret;
	return memcmp(cpu, src, len) ? -EIO : 0;
}

static int all_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i])
			return 0;
	}
	return 1;
}

int edu_check_unmapped(void *bar, uint64_t iova, size_t len,
		       uint64_t sc_iova, void *sc, uint64_t seed,
		       enum edu_unmapped_how *how)
{
	uint64_t sentinel[EDU_DMA_MAX_LEN / 8];
	int ret;

	edu_check_dev_range(0, len);
	edu_fill_pattern(sentinel, len, seed);

	/* Seed the device buffer with the sentinel... */
	memcpy(sc, sentinel, len);
	ret = edu_dma_to_dev(bar, sc_iova, 0, len);
	/* ...read from the IOVA under test into it... */
	if (!ret)
		ret = edu_dma_to_dev(bar, iova, 0, len);
	/* ...and look at what the device buffer holds now. */
	if (!ret) {
		memset(sc, EDU_POISON, len);
		ret = edu_dma_from_dev(bar, 0, sc_iova, len);
	}
	if (ret)
		return ret;

	if (!memcmp(sc, sentinel, len)) {
		if (how)
			*how = EDU_UNMAPPED_KEPT;
		return 0;
	}
	if (all_zero(sc, len)) {
		if (how)
			*how = EDU_UNMAPPED_ZERO;
		return 0;
	}
	return -EIO;
}

int edu_dma_write_pattern(void *bar, uint64_t iova, size_t len,
			  uint64_t src_iova, void *src, uint64_t seed)
{
	int ret;

	edu_fill_pattern(src, len, seed);
	ret = edu_dma_to_dev(bar, src_iova, 0, len);
	if (!ret)
		ret = edu_dma_from_dev(bar, 0, iova, len);
	return ret;
}
