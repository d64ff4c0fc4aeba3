/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Driver for QEMU's "edu" PCI device (hw/misc/edu.c) through a user mapping
 * of its BAR0: the DMA engine, used to prove from the device side which
 * memory an IOVA is mapped to, and checks built on it.
 */
#ifndef FASTBOOT_EDU_H
#define FASTBOOT_EDU_H

#include <stddef.h>
#include <stdint.h>

#define EDU_VENDOR		0x1234
#define EDU_DEVICE		0x11e8

/* BAR0 registers */
#define EDU_REG_ID		0x00	/* RO: 0xRRrr00ed, RR.rr = version */
#define EDU_REG_LIVENESS	0x04	/* RW: reads back the bitwise NOT */
#define EDU_REG_DMA_SRC		0x80	/* u64 */
#define EDU_REG_DMA_DST		0x88	/* u64 */
#define EDU_REG_DMA_COUNT	0x90	/* u64 */
#define EDU_REG_DMA_CMD		0x98	/* u64 */

#define EDU_DMA_CMD_START	0x1	/* cleared by the device when done */
#define EDU_DMA_CMD_TO_RAM	0x2	/* device buffer -> RAM (else RAM -> device) */

#define EDU_ID_MAGIC		0xed	/* low byte of EDU_REG_ID */

/* The device-internal DMA buffer, as the device addresses it. */
#define EDU_DMA_BUF_ADDR	0x40000
#define EDU_DMA_BUF_SIZE	4096
/* Largest transfer the helpers do. */
#define EDU_DMA_MAX_LEN		2048

/*
 * The DMA completes from a 100 ms QEMU_CLOCK_VIRTUAL timer; under TCG that
 * can take much longer in wall-clock time, so poll generously.
 */
#define EDU_DMA_TIMEOUT_MS	10000

/* Byte the check helpers pre-fill destination buffers with. */
#define EDU_POISON		0xa5

uint32_t edu_read_id(void *bar);
uint32_t edu_liveness(void *bar, uint32_t val);

/*
 * One DMA from RAM (@iova) into the device buffer at @dev_off, or from the
 * device buffer at @dev_off to RAM (@iova).  Wait for completion.
 * 0 or -ETIMEDOUT.  @len <= EDU_DMA_MAX_LEN and the device side must fit
 * in the device buffer (asserted: QEMU does not stop an overrun).
 */
int edu_dma_to_dev(void *bar, uint64_t iova, uint32_t dev_off, size_t len);
int edu_dma_from_dev(void *bar, uint32_t dev_off, uint64_t iova, size_t len);

/*
 * Deterministic pseudo-random fill, 8 bytes at a time (@buf 8-byte aligned,
 * @len a multiple of 8).  Word i of a fill is a function of @seed + i only,
 * so a slice of a fill equals the fill of the slice with seed + offset / 8.
 */
void edu_fill_pattern(void *buf, size_t len, uint64_t seed);

/* Offset of the first byte that differs, or -1. */
long edu_first_diff(const void *a, const void *b, size_t len);

/*
 * Prove that @iova maps to the memory the CPU sees at @cpu: fill @cpu with
 * a fresh pattern (@seed), DMA @len bytes from @iova into the device, then
 * from the device to @rb_iova (the CPU's @rb, pre-filled with EDU_POISON),
 * and compare @rb with @cpu.  0, -EIO if the bytes differ, or -ETIMEDOUT.
 */
int edu_check_mapped(void *bar, uint64_t iova, void *cpu, size_t len,
		     uint64_t rb_iova, void *rb, uint64_t seed);

/*
 * The other direction: fill @src (mapped at @src_iova) with a pattern,
 * DMA it into the device, poison @cpu, DMA from the device to @iova and
 * compare @cpu with @src.  0, -EIO or -ETIMEDOUT.
 */
int edu_check_write(void *bar, uint64_t iova, void *cpu, size_t len,
		    uint64_t src_iova, void *src, uint64_t seed);

/* How edu_check_unmapped() saw that no data arrived. */
enum edu_unmapped_how {
	EDU_UNMAPPED_KEPT = 1,	/* device buffer kept the sentinel */
	EDU_UNMAPPED_ZERO,	/* QEMU filled the failed read with zeroes */
};

/*
 * Prove that a DMA read of @iova returns no data: seed the device buffer
 * with a sentinel pattern from @sc (mapped at @sc_iova), DMA from @iova,
 * read the device buffer back into @sc.  A failed translation either
 * leaves the sentinel or (QEMU's unassigned-memory read) zeroes; anything
 * else is data that came through a mapping.  Returns 0 (not mapped, *how
 * says which way), -EIO (data arrived) or -ETIMEDOUT.
 */
int edu_check_unmapped(void *bar, uint64_t iova, size_t len,
		       uint64_t sc_iova, void *sc, uint64_t seed,
		       enum edu_unmapped_how *how);

/*
 * DMA @len bytes of pattern @seed to @iova: fill @src (mapped at
 * @src_iova), DMA it into the device, DMA the device buffer to @iova.
 * Used to show that writes to an unmapped IOVA land nowhere.
 */
int edu_dma_write_pattern(void *bar, uint64_t iova, size_t len,
			  uint64_t src_iova, void *src, uint64_t seed);

#endif /* FASTBOOT_EDU_H */
