// SPDX-License-Identifier: GPL-2.0
/*
 * VFIO type1 IOMMU: DMA mappings checked from the device side.
 *
 * The fastboot patches change how VFIO_IOMMU_MAP_DMA pins and maps guest
 * memory.  A mapping bug there is silent for the host (the ioctl succeeds)
 * and only shows as a device reading or writing the wrong memory, so these
 * tests drive a real DMA engine - QEMU's edu device, behind the emulated
 * VT-d IOMMU - through vfio-pci and check, for anonymous 4 KiB and hugetlb
 * 2 MiB backing:
 *
 *  - a 16 MiB buffer mapped at IOVAs from 1 MiB to 64 GiB is read and
 *    written by the device at exactly the right bytes, at offsets that
 *    cross 4 KiB and 2 MiB boundaries (every word of the buffer differs, so
 *    a wrong offset shows);
 *  - the IOVA just past a mapping is not mapped, and device writes to it
 *    land nowhere;
 *  - after VFIO_IOMMU_UNMAP_DMA the IOVA no longer reaches the memory, and
 *    the unmap reports the size it removed;
 *  - the errors 6.12 returns for bad arguments, overlaps, bisecting unmaps
 *    and a map that faults half way (which must leave nothing behind);
 *  - pinned pages are accounted in locked_vm (VmLck) and given back;
 *  - a read-only mapping cannot be written by the device.
 *
 * A DMA to an unmapped IOVA makes the guest kernel log a DMAR fault; that
 * is expected here.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/pci_regs.h>

#include "../kselftest_harness.h"
#include "vfio.h"
#include "edu.h"
#include "hugetlb.h"
#include "sysfs.h"

#define SZ_4K		0x1000UL
#define SZ_1M		0x100000UL
#define SZ_2M		0x200000UL
#define SZ_1G		0x40000000ULL

/* The buffer under test, mapped at the IOVAs below. */
#define BUF_SIZE	(16 * SZ_1M)
/* Bytes per edu transfer. */
#define CHUNK		EDU_DMA_MAX_LEN
/*
 * Scratch page(s) the device writes read-back data to, kept mapped for the
 * whole test.  Below 256 MiB so it works even if QEMU clamps DMA addresses
 * to the edu default 28-bit dma_mask; the IOVAs above it then fail visibly.
 */
#define SCRATCH_IOVA	0x08000000ULL
#define SCRATCH_SIZE	(2 * SZ_4K)

#define BASE_SEED	0x6661737462ULL

static const struct {
	uint64_t iova;
	const char *what;
} test_iovas[] = {
	{ 1 * SZ_1M,		"1 MiB" },
	{ 256 * SZ_1M + SZ_2M,	"256 MiB + 2 MiB (above the edu 28-bit default dma_mask)" },
	{ SZ_1G + SZ_4K,	"1 GiB + 4 KiB (not 2 MiB aligned)" },
	{ 4 * SZ_1G,		"4 GiB (above 32 bits)" },
	{ 64 * SZ_1G,		"64 GiB" },
};

/* Offsets in the buffer: page start, mid-page, across 4K+2M, middle, end. */
static const size_t test_offsets[] = {
	0,
	SZ_4K + 512,
	SZ_2M - CHUNK / 2,
	8 * SZ_1M + 3 * SZ_4K + 1024,
	BUF_SIZE - CHUNK,
};

FIXTURE(vfio_type1) {
	struct vfio_dev dev;
	size_t unit;		/* backing page size */
	void *resv;		/* whole reservation, PROT_NONE outside buf */
	size_t resv_size;
	char *buf;		/* BUF_SIZE bytes under test */
	char *guard;		/* buf + BUF_SIZE: one unit, never DMA mapped */
	char *hole;		/* guard + unit: one unit, PROT_NONE */
	char *sc;		/* SCRATCH_SIZE, mapped at SCRATCH_IOVA */
	long saved_nr;		/* hugetlb pool size to restore, or -1 */
	uint64_t seed;
};

FIXTURE_VARIANT(vfio_type1) {
	bool hugetlb;
};

/* Anonymous memory in 4 KiB pages (THP disabled for the buffer). */
FIXTURE_VARIANT_ADD(vfio_type1, anon_4k) {
	.hugetlb = false,
};

/* hugetlb memory in 2 MiB pages. */
FIXTURE_VARIANT_ADD(vfio_type1, hugetlb_2m) {
	.hugetlb = true,
};

static uint64_t next_seed(struct _test_data_vfio_type1 *self)
{
	return BASE_SEED + (++self->seed << 24);
}

/* mm->locked_vm, where type1 accounts pinned pages (in kB). */
static long locked_vm_kb(void)
{
	return proc_field_kb("/proc/self/status", "VmLck");
}

/* Offset of the first 8-byte aligned occurrence of @word, or -1. */
static long find_word(const void *buf, size_t len, uint64_t word)
{
	const uint64_t *w = buf;
	size_t i;

	for (i = 0; i < len / 8; i++) {
		if (w[i] == word)
			return (long)(i * 8);
	}
	return -1;
}

static void undo_pool(struct _test_data_vfio_type1 *self)
{
	if (self->saved_nr >= 0)
		hugetlb_set_nr_pages(SZ_2M, self->saved_nr);
	self->saved_nr = -1;
}

/*
 * Lay out [buf: 16 MiB][guard: 1 unit][hole: 1 unit, PROT_NONE] on unit
 * alignment.  0, -ENOMEM if the hugetlb pool cannot be grown (skip), or
 * another -errno.  Undoes its own changes on failure.
 */
static int alloc_buffers(struct _test_data_vfio_type1 *self, bool hugetlb)
{
	size_t data = BUF_SIZE + self->unit;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
	uintptr_t base;
	void *p;
	int ret;

	if (hugetlb) {
		ret = hugetlb_ensure_avail(SZ_2M, data / SZ_2M, &self->saved_nr);
		if (ret)
			return ret;
		flags |= MAP_HUGETLB | hugetlb_size_flag(SZ_2M);
	}

	self->resv_size = BUF_SIZE + 3 * self->unit;
	self->resv = mmap(NULL, self->resv_size, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (self->resv == MAP_FAILED) {
		ret = -errno;
		self->resv = NULL;
		goto err;
	}
	base = ((uintptr_t)self->resv + self->unit - 1) & ~(self->unit - 1);
	p = mmap((void *)base, data, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		goto err;
	}
	self->buf = p;
	self->guard = self->buf + BUF_SIZE;
	self->hole = self->guard + self->unit;
	if (!hugetlb && madvise(self->buf, data, MADV_NOHUGEPAGE)) {
		ret = -errno;
		goto err;
	}
	/* Touch every page; every word of buf and guard is distinct. */
	edu_fill_pattern(self->buf, data, BASE_SEED);

	self->sc = mmap(NULL, SCRATCH_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (self->sc == MAP_FAILED) {
		ret = -errno;
		self->sc = NULL;
		goto err;
	}
	memset(self->sc, 0, SCRATCH_SIZE);
	return 0;
err:
	if (self->resv)
		munmap(self->resv, self->resv_size);
	self->resv = NULL;
	undo_pool(self);
	return ret;
}

FIXTURE_SETUP(vfio_type1)
{
	int ret;

	self->saved_nr = -1;
	self->unit = variant->hugetlb ? SZ_2M : SZ_4K;

	if (variant->hugetlb && !hugetlb_size_supported(SZ_2M))
		SKIP(return, "no 2 MiB hugetlb pool");

	ret = vfio_dev_open(&self->dev, EDU_VENDOR, EDU_DEVICE);
	if (ret == -ENODEV)
		SKIP(return, "edu device or VFIO not available: %s",
		     self->dev.err);
	ASSERT_EQ(0, ret) TH_LOG("opening edu through VFIO: %s", self->dev.err);
	ASSERT_TRUE(vfio_iova_valid(&self->dev, SCRATCH_IOVA, SCRATCH_SIZE));

	ret = alloc_buffers(self, variant->hugetlb);
	if (ret == -ENOMEM && variant->hugetlb)
		SKIP(return, "cannot get %lu free 2 MiB huge pages",
		     (BUF_SIZE + SZ_2M) / SZ_2M);
	ASSERT_EQ(0, ret) TH_LOG("allocating buffers: %s", strerror(-ret));

	/* From here on the hugetlb pool may be changed: undo before failing. */
	ret = vfio_dma_map_rw(&self->dev, self->sc, SCRATCH_IOVA, SCRATCH_SIZE);
	if (ret) {
		munmap(self->resv, self->resv_size);
		munmap(self->sc, SCRATCH_SIZE);
		undo_pool(self);
		ASSERT_EQ(0, ret) TH_LOG("mapping scratch: %s", strerror(-ret));
	}
}

FIXTURE_TEARDOWN(vfio_type1)
{
	uint64_t unmapped;

	/* Drop every mapping a failed test may have left (unpins too). */
	vfio_dma_unmap_all(&self->dev, &unmapped);
	vfio_dev_close(&self->dev);
	if (self->resv)
		munmap(self->resv, self->resv_size);
	if (self->sc)
		munmap(self->sc, SCRATCH_SIZE);
	undo_pool(self);
}

/* The device reads @len bytes at @iova and sees what the CPU sees at @cpu. */
static void assert_mapped(struct __test_metadata *_metadata,
			  struct _test_data_vfio_type1 *self, uint64_t iova,
			  char *cpu, size_t len)
{
	int ret;

	ret = edu_check_mapped(self->dev.bar0, iova, cpu, len, SCRATCH_IOVA,
			       self->sc, next_seed(self));
	if (ret == -EIO) {
		long diff = edu_first_diff(self->sc, cpu, len);
		long from = find_word(self->buf, BUF_SIZE + self->unit,
				      *(uint64_t *)self->sc);

		TH_LOG("IOVA 0x%llx (buffer offset %ld): byte %ld differs",
		       (unsigned long long)iova, (long)(cpu - self->buf), diff);
		TH_LOG("the data read came from buffer offset %ld", from);
	}
	ASSERT_EQ(0, ret) TH_LOG("device read of IOVA 0x%llx: %s",
				 (unsigned long long)iova, strerror(-ret));
}

/*
 * The device writes @len bytes to @iova; they land at @cpu and nowhere else
 * within a page around it.
 */
static void assert_write_lands(struct __test_metadata *_metadata,
			       struct _test_data_vfio_type1 *self, uint64_t iova,
			       char *cpu, size_t len)
{
	static char before[CHUNK + 2 * SZ_4K];
	char *lo = cpu - self->buf >= (long)SZ_4K ? cpu - SZ_4K : self->buf;
	char *end = self->buf + BUF_SIZE + self->unit;
	char *hi = end - (cpu + len) >= (long)SZ_4K ? cpu + len + SZ_4K : end;
	int ret;

	memcpy(before, lo, hi - lo);
	ret = edu_check_write(self->dev.bar0, iova, cpu, len, SCRATCH_IOVA,
			      self->sc, next_seed(self));
	ASSERT_EQ(0, ret) TH_LOG("device write to IOVA 0x%llx (buffer offset %ld): %s",
				 (unsigned long long)iova,
				 (long)(cpu - self->buf), strerror(-ret));
	ASSERT_EQ(-1, edu_first_diff(before, lo, cpu - lo))
		TH_LOG("device write to IOVA 0x%llx changed bytes before it",
		       (unsigned long long)iova);
	ASSERT_EQ(-1, edu_first_diff(before + (cpu + len - lo), cpu + len,
				     hi - (cpu + len)))
		TH_LOG("device write to IOVA 0x%llx changed bytes after it",
		       (unsigned long long)iova);
}

/* A device read of @iova gets no data. */
static void assert_not_mapped(struct __test_metadata *_metadata,
			      struct _test_data_vfio_type1 *self, uint64_t iova)
{
	enum edu_unmapped_how how = 0;
	int ret;

	ret = edu_check_unmapped(self->dev.bar0, iova, CHUNK, SCRATCH_IOVA,
				 self->sc, next_seed(self), &how);
	if (ret == -EIO)
		TH_LOG("IOVA 0x%llx returned data; its first word is at buffer offset %ld",
		       (unsigned long long)iova,
		       find_word(self->buf, BUF_SIZE + self->unit,
				 *(uint64_t *)self->sc));
	ASSERT_EQ(0, ret) TH_LOG("IOVA 0x%llx should not be mapped",
				 (unsigned long long)iova);
	TH_LOG("IOVA 0x%llx not mapped (%s)", (unsigned long long)iova,
	       how == EDU_UNMAPPED_KEPT ? "device buffer unchanged" :
					  "read returned zeroes");
}

static void assert_unmap(struct __test_metadata *_metadata,
			 struct _test_data_vfio_type1 *self, uint64_t iova,
			 uint64_t size, uint64_t expect)
{
	uint64_t unmapped = ~0ULL;

	ASSERT_EQ(0, vfio_dma_unmap(&self->dev, iova, size, &unmapped));
	ASSERT_EQ(expect, unmapped) TH_LOG("unmap of 0x%llx+0x%llx",
					   (unsigned long long)iova,
					   (unsigned long long)size);
}

TEST_F(vfio_type1, edu_identity)
{
	uint32_t id = edu_read_id(self->dev.bar0);
	uint16_t cmd = 0;
	uint32_t i;

	TH_LOG("edu at %s, group %d, id 0x%08x", self->dev.bdf,
	       self->dev.group_id, id);
	ASSERT_EQ((uint32_t)EDU_ID_MAGIC, id & 0xff);
	ASSERT_EQ(~0x5a5aa5a5U, edu_liveness(self->dev.bar0, 0x5a5aa5a5));
	ASSERT_EQ(0, vfio_config_read(&self->dev, PCI_COMMAND, &cmd, 2));
	ASSERT_NE(0, cmd & PCI_COMMAND_MASTER);

	ASSERT_NE(0ULL, self->dev.iova_pgsizes & SZ_4K)
		TH_LOG("iova_pgsizes 0x%llx",
		       (unsigned long long)self->dev.iova_pgsizes);
	for (i = 0; i < self->dev.nr_iova_ranges; i++)
		TH_LOG("usable IOVA range 0x%llx-0x%llx",
		       (unsigned long long)self->dev.iova_ranges[i].start,
		       (unsigned long long)self->dev.iova_ranges[i].end);
}

TEST_F_TIMEOUT(vfio_type1, map_roundtrip, 240)
{
	bool mapped[ARRAY_SIZE(test_iovas)] = { false };
	unsigned int i, j, nmapped = 0;

	for (i = 0; i < ARRAY_SIZE(test_iovas); i++) {
		uint64_t iova = test_iovas[i].iova;
		int ret;

		if (!vfio_iova_valid(&self->dev, iova, BUF_SIZE)) {
			TH_LOG("IOVA %s is outside the usable ranges: not tested",
			       test_iovas[i].what);
			continue;
		}
		ret = vfio_dma_map_rw(&self->dev, self->buf, iova, BUF_SIZE);
		ASSERT_EQ(0, ret) TH_LOG("map at %s: %s", test_iovas[i].what,
					 strerror(-ret));
		mapped[i] = true;
		nmapped++;
	}
	/* 1 MiB .. 1 GiB are below the interrupt range on any x86 IOMMU. */
	ASSERT_LE(3U, nmapped);

	for (i = 0; i < ARRAY_SIZE(test_iovas); i++) {
		if (!mapped[i])
			continue;
		TH_LOG("checking IOVA %s", test_iovas[i].what);
		for (j = 0; j < ARRAY_SIZE(test_offsets); j++) {
			uint64_t iova = test_iovas[i].iova + test_offsets[j];
			char *cpu = self->buf + test_offsets[j];

			assert_mapped(_metadata, self, iova, cpu, CHUNK);
			assert_write_lands(_metadata, self, iova, cpu, CHUNK);
		}
	}

	for (i = 0; i < ARRAY_SIZE(test_iovas); i++) {
		if (mapped[i])
			assert_unmap(_metadata, self, test_iovas[i].iova,
				     BUF_SIZE, BUF_SIZE);
	}
}

TEST_F_TIMEOUT(vfio_type1, past_end_not_mapped, 120)
{
	const uint64_t iova = 256 * SZ_1M + SZ_2M;
	char *tail = self->buf + BUF_SIZE - CHUNK;
	static char guard_before[CHUNK], tail_before[CHUNK];

	ASSERT_EQ(0, vfio_dma_map_rw(&self->dev, self->buf, iova, BUF_SIZE));
	assert_mapped(_metadata, self, iova + BUF_SIZE - CHUNK, tail, CHUNK);

	/* The next page of memory is the guard, full of non-zero data. */
	assert_not_mapped(_metadata, self, iova + BUF_SIZE);
	assert_not_mapped(_metadata, self, iova + BUF_SIZE + SZ_4K);
	assert_not_mapped(_metadata, self, iova - SZ_4K);

	/* A device write past the end reaches neither guard nor buffer. */
	memcpy(guard_before, self->guard, CHUNK);
	memcpy(tail_before, tail, CHUNK);
	ASSERT_EQ(0, edu_dma_write_pattern(self->dev.bar0, iova + BUF_SIZE,
					   CHUNK, SCRATCH_IOVA, self->sc,
					   next_seed(self)));
	ASSERT_EQ(-1, edu_first_diff(guard_before, self->guard, CHUNK));
	ASSERT_EQ(-1, edu_first_diff(tail_before, tail, CHUNK));

	assert_unmap(_metadata, self, iova, BUF_SIZE, BUF_SIZE);
}

TEST_F_TIMEOUT(vfio_type1, unmap_revokes, 120)
{
	static const uint64_t iovas[] = { 1 * SZ_1M, 4 * SZ_1G };
	static char before[CHUNK];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(iovas); i++) {
		uint64_t iova = iovas[i];

		if (!vfio_iova_valid(&self->dev, iova, BUF_SIZE))
			continue;
		TH_LOG("IOVA 0x%llx", (unsigned long long)iova);
		ASSERT_EQ(0, vfio_dma_map_rw(&self->dev, self->buf, iova,
					     BUF_SIZE));
		assert_mapped(_metadata, self, iova, self->buf, CHUNK);
		assert_mapped(_metadata, self, iova + 8 * SZ_1M,
			      self->buf + 8 * SZ_1M, CHUNK);

		/* The memory keeps its (non-zero) data; only the IOVA goes. */
		assert_unmap(_metadata, self, iova, BUF_SIZE, BUF_SIZE);
		assert_not_mapped(_metadata, self, iova);
		assert_not_mapped(_metadata, self, iova + 8 * SZ_1M);
		assert_not_mapped(_metadata, self, iova + BUF_SIZE - SZ_4K);

		memcpy(before, self->buf, CHUNK);
		ASSERT_EQ(0, edu_dma_write_pattern(self->dev.bar0, iova, CHUNK,
						   SCRATCH_IOVA, self->sc,
						   next_seed(self)));
		ASSERT_EQ(-1, edu_first_diff(before, self->buf, CHUNK))
			TH_LOG("device wrote through an unmapped IOVA");

		/* Nothing left to unmap; mapping again works. */
		assert_unmap(_metadata, self, iova, BUF_SIZE, 0);
		ASSERT_EQ(0, vfio_dma_map_rw(&self->dev, self->buf, iova,
					     BUF_SIZE));
		assert_mapped(_metadata, self, iova + SZ_4K,
			      self->buf + SZ_4K, CHUNK);
		assert_unmap(_metadata, self, iova, BUF_SIZE, BUF_SIZE);
	}
}

/*
 * Errors from drivers/vfio/vfio_iommu_type1.c (6.12):
 *  vfio_iommu_type1_map_dma(): unknown flag -> EINVAL;
 *  vfio_dma_do_map(): no READ/WRITE, zero size, size/iova/vaddr not a
 *	multiple of the smallest IOMMU page, iova or vaddr wrap -> EINVAL;
 *	any overlap with an existing mapping -> EEXIST; outside the usable
 *	IOVA ranges -> EINVAL;
 *  vfio_dma_do_unmap(): unaligned iova or size, zero size, wrap -> EINVAL;
 *	(v2) a range that bisects a mapping -> EINVAL; a range without
 *	mappings -> success, size 0.
 */
TEST_F(vfio_type1, bad_args)
{
	const uint64_t iova = 1 * SZ_1M, rw = VFIO_DMA_MAP_FLAG_READ |
					      VFIO_DMA_MAP_FLAG_WRITE;
	uint64_t vaddr = (uintptr_t)self->buf, unmapped;
	struct vfio_dev *d = &self->dev;
	long kb = locked_vm_kb();
	uint32_t n;

	ASSERT_LE(0, kb);

	/* Bad map arguments. */
	EXPECT_EQ(-EINVAL, vfio_dma_map(d, vaddr, iova + 512, BUF_SIZE, rw));
	EXPECT_EQ(-EINVAL, vfio_dma_map(d, vaddr, iova, BUF_SIZE - 512, rw));
	EXPECT_EQ(-EINVAL, vfio_dma_map(d, vaddr + 512, iova, 4 * SZ_4K, rw));
	EXPECT_EQ(-EINVAL, vfio_dma_map(d, vaddr, iova, 0, rw));
	EXPECT_EQ(-EINVAL, vfio_dma_map(d, vaddr, iova, BUF_SIZE, 0));
	EXPECT_EQ(-EINVAL, vfio_dma_map(d, vaddr, iova, BUF_SIZE, rw | (1 << 7)));
	EXPECT_EQ(-EINVAL, vfio_dma_map(d, vaddr, -SZ_4K, 2 * SZ_4K, rw));
	n = d->nr_iova_ranges;
	if (n && d->iova_ranges[n - 1].end < ~0ULL - SZ_1G) {
		uint64_t beyond = (d->iova_ranges[n - 1].end + SZ_4K) &
				  ~(uint64_t)(SZ_4K - 1);

		EXPECT_EQ(-EINVAL, vfio_dma_map(d, vaddr, beyond, SZ_4K, rw))
			TH_LOG("map at 0x%llx, beyond the IOVA aperture",
			       (unsigned long long)beyond);
	}
	if (!vfio_iova_valid(d, 0xfee00000, SZ_4K)) {
		EXPECT_EQ(-EINVAL, vfio_dma_map(d, vaddr, 0xfee00000, SZ_4K, rw))
			TH_LOG("map in the MSI window");
	} else {
		TH_LOG("0xfee00000 reported usable: MSI window not checked");
	}
	EXPECT_EQ(kb, locked_vm_kb());
	/* None of that may have left a mapping behind (scratch is above). */
	unmapped = ~0ULL;
	EXPECT_EQ(0, vfio_dma_unmap(d, 0, SCRATCH_IOVA, &unmapped));
	EXPECT_EQ(0ULL, unmapped);

	/* Overlaps. */
	ASSERT_EQ(0, vfio_dma_map(d, vaddr, iova, BUF_SIZE, rw));
	EXPECT_EQ(-EEXIST, vfio_dma_map(d, vaddr, iova, BUF_SIZE, rw));
	EXPECT_EQ(-EEXIST, vfio_dma_map(d, vaddr, iova + BUF_SIZE / 2,
					BUF_SIZE, rw));
	EXPECT_EQ(-EEXIST, vfio_dma_map(d, vaddr, iova - SZ_4K, 2 * SZ_4K, rw));
	EXPECT_EQ(-EEXIST, vfio_dma_map(d, vaddr, iova + SZ_1M, SZ_4K, rw));
	/* Adjacent is not overlapping. */
	ASSERT_EQ(0, vfio_dma_map(d, (uintptr_t)self->guard, iova + BUF_SIZE,
				  self->unit, rw));
	assert_unmap(_metadata, self, iova + BUF_SIZE, self->unit, self->unit);

	/* Bad unmaps; none of them may remove anything. */
	EXPECT_EQ(-EINVAL, vfio_dma_unmap(d, iova + 512, BUF_SIZE, NULL));
	EXPECT_EQ(-EINVAL, vfio_dma_unmap(d, iova, BUF_SIZE - 512, NULL));
	EXPECT_EQ(-EINVAL, vfio_dma_unmap(d, iova, 0, NULL));
	EXPECT_EQ(-EINVAL, vfio_dma_unmap(d, -SZ_4K, 2 * SZ_4K, NULL));
	EXPECT_EQ(-EINVAL, vfio_dma_unmap(d, iova, BUF_SIZE / 2, NULL));
	EXPECT_EQ(-EINVAL, vfio_dma_unmap(d, iova + SZ_1M, SZ_1M, NULL));
	EXPECT_EQ(-EINVAL, vfio_dma_unmap(d, iova - SZ_4K, 2 * SZ_4K, NULL));
	/* Never mapped: success, nothing unmapped. */
	assert_unmap(_metadata, self, 8 * SZ_1G, BUF_SIZE, 0);
	/* The mapping survived all of it, whole. */
	assert_unmap(_metadata, self, iova, BUF_SIZE, BUF_SIZE);
	EXPECT_EQ(kb, locked_vm_kb());
}

/*
 * A map whose second half cannot be pinned (PROT_NONE) fails with EFAULT
 * (vaddr_get_pfns()), and vfio_pin_map_dma() must undo the part it had
 * already pinned and mapped: no IOMMU mapping, no locked_vm, no vfio_dma
 * left to collide with the next map.
 */
TEST_F_TIMEOUT(vfio_type1, map_fault_unwinds, 60)
{
	const uint64_t iova = SZ_1G;
	long kb = locked_vm_kb();

	ASSERT_LE(0, kb);
	ASSERT_EQ(-EFAULT, vfio_dma_map_rw(&self->dev, self->guard, iova,
					   2 * self->unit));
	EXPECT_EQ(kb, locked_vm_kb());
	ASSERT_EQ(-EFAULT, vfio_dma_map_rw(&self->dev, self->hole, iova,
					   self->unit));
	EXPECT_EQ(kb, locked_vm_kb());
	assert_not_mapped(_metadata, self, iova);

	ASSERT_EQ(0, vfio_dma_map_rw(&self->dev, self->guard, iova,
				     self->unit));
	assert_mapped(_metadata, self, iova, self->guard, CHUNK);
	assert_unmap(_metadata, self, iova, self->unit, self->unit);
	EXPECT_EQ(kb, locked_vm_kb());
}

/*
 * vfio_pin_pages_remote() accounts every pinned page that is not
 * PageReserved into mm->locked_vm (VmLck), per mapping; hugetlb pages are
 * not reserved, so they count like anonymous ones, in 4 KiB units.
 * Unmapping gives it back.
 */
TEST_F(vfio_type1, locked_vm_accounting)
{
	const long buf_kb = BUF_SIZE / 1024, unit_kb = self->unit / 1024;
	const uint64_t iova = 4 * SZ_1G, iova2 = 2 * SZ_1G;
	long kb = locked_vm_kb();
	uint64_t unmapped = 0;

	ASSERT_LE(0, kb);
	TH_LOG("VmLck before: %ld kB", kb);

	ASSERT_EQ(0, vfio_dma_map_rw(&self->dev, self->buf, iova, BUF_SIZE));
	EXPECT_EQ(kb + buf_kb, locked_vm_kb());
	ASSERT_EQ(0, vfio_dma_map_rw(&self->dev, self->guard, iova2,
				     self->unit));
	EXPECT_EQ(kb + buf_kb + unit_kb, locked_vm_kb());

	assert_unmap(_metadata, self, iova2, self->unit, self->unit);
	EXPECT_EQ(kb + buf_kb, locked_vm_kb());
	assert_unmap(_metadata, self, iova, BUF_SIZE, BUF_SIZE);
	EXPECT_EQ(kb, locked_vm_kb());

	/* VFIO_DMA_UNMAP_FLAG_ALL: everything, the scratch mapping too. */
	ASSERT_EQ(0, vfio_dma_map_rw(&self->dev, self->buf, iova, BUF_SIZE));
	ASSERT_EQ(0, vfio_dma_map_rw(&self->dev, self->guard, iova2,
				     self->unit));
	ASSERT_EQ(0, vfio_dma_unmap_all(&self->dev, &unmapped));
	EXPECT_EQ(BUF_SIZE + self->unit + SCRATCH_SIZE, unmapped);
	EXPECT_EQ(kb - (long)(SCRATCH_SIZE / 1024), locked_vm_kb());
}

/* Without VFIO_DMA_MAP_FLAG_WRITE the device can read but not write. */
TEST_F_TIMEOUT(vfio_type1, readonly_mapping, 60)
{
	const uint64_t iova = 4 * SZ_1G + 64 * SZ_1M;
	static char before[CHUNK];

	ASSERT_EQ(0, vfio_dma_map(&self->dev, (uintptr_t)self->buf, iova,
				  BUF_SIZE, VFIO_DMA_MAP_FLAG_READ));
	assert_mapped(_metadata, self, iova + SZ_4K, self->buf + SZ_4K, CHUNK);

	memcpy(before, self->buf + SZ_4K, CHUNK);
	ASSERT_EQ(0, edu_dma_write_pattern(self->dev.bar0, iova + SZ_4K, CHUNK,
					   SCRATCH_IOVA, self->sc,
					   next_seed(self)));
	ASSERT_EQ(-1, edu_first_diff(before, self->buf + SZ_4K, CHUNK))
		TH_LOG("device wrote through a read-only mapping");
	assert_unmap(_metadata, self, iova, BUF_SIZE, BUF_SIZE);
}

TEST_HARNESS_MAIN
