// SPDX-License-Identifier: GPL-2.0
/*
 * l2_edu_dma: the DMA check of the nested scenario, run in L2 (the VM that
 * L1's QEMU starts with QEMU's edu device passed through with vfio-pci).
 * Not a kselftest: it is built static by scripts/nested-payload.sh and
 * packed into L2's initramfs by scripts/mkinitramfs-l2.sh; L2's /init
 * (scripts/l2-init.sh) runs it once the balloon is empty.
 *
 * L2 has no vIOMMU, so edu's DMA addresses are L2 guest-physical addresses,
 * which L1's VFIO mapping (IOVA = L2 GPA) must translate.  The check:
 * allocate and mlock memory (-m MiB), read the physical address of every
 * page from /proc/self/pagemap, pick the pages with the lowest, the median
 * and the highest address, and for each prove with edu DMA that the device
 * reads what the CPU wrote there (page -> edu -> a scratch page) and that
 * what the device writes there is what the CPU then reads (scratch -> edu
 * -> page), with a random pattern each way.
 *
 * -t THRESHOLD_BYTES: the highest page must lie at or above THRESHOLD (to
 * prove that memory of a deferred range was used).  While it does not,
 * another -m MiB is allocated, as long as MemAvailable leaves room.
 *
 * Output (one line each): "l2_edu_dma: gpa 0x... ok" per page, then
 * "FASTBOOT-L2-DMA-OK pages=3 low=0x.. mid=0x.. high=0x..", or
 * "FASTBOOT-L2-DMA-FAIL <reason>" (exit status 1).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "edu.h"
#include "sysfs.h"

#define PAGE_SZ		4096UL
#define PCI_DEVICES	"/sys/bus/pci/devices"
#define PCI_COMMAND	0x04
#define PCI_COMMAND_MEMORY	0x2
#define PCI_COMMAND_MASTER	0x4
#define PM_PRESENT	0x8000000000000000ULL
#define PM_PFN_MASK	((1ULL << 55) - 1)
/* Memory left to the rest of L2 when allocating more rounds. */
#define RESERVE_MIB	48
#define MAX_ROUNDS	64

struct page_ref {
	unsigned long long gpa;
	char *va;
};

static void fail(const char *fmt, ...)
{
	va_list ap;

	printf("FASTBOOT-L2-DMA-FAIL ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(1);
}

/* The edu device's sysfs directory name (its BDF) into @bdf. */
static int find_edu(char *bdf, size_t len)
{
	char path[512];
	unsigned long vendor, device;
	struct dirent *de;
	DIR *dir;
	int found = 0;

	dir = opendir(PCI_DEVICES);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), PCI_DEVICES "/%s/vendor", de->d_name);
		if (sysfs_read_ulong(path, 16, &vendor) || vendor != EDU_VENDOR)
			continue;
		snprintf(path, sizeof(path), PCI_DEVICES "/%s/device", de->d_name);
		if (sysfs_read_ulong(path, 16, &device) || device != EDU_DEVICE)
			continue;
		snprintf(bdf, len, "%s", de->d_name);
		found = 1;
		break;
	}
	closedir(dir);
	return found ? 0 : -ENODEV;
}

/* Memory decoding and Bus Master Enable, through the config space file. */
static int enable_bus_master(const char *bdf)
{
	char path[512];
	uint16_t cmd;
	int fd, ret = 0;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/config", bdf);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -errno;
	if (pread(fd, &cmd, sizeof(cmd), PCI_COMMAND) != sizeof(cmd)) {
		ret = -EIO;
		goto out;
	}
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (pwrite(fd, &cmd, sizeof(cmd), PCI_COMMAND) != sizeof(cmd)) {
		ret = -EIO;
		goto out;
	}
	if (pread(fd, &cmd, sizeof(cmd), PCI_COMMAND) != sizeof(cmd) ||
	    !(cmd & PCI_COMMAND_MASTER))
		ret = -EIO;
out:
	close(fd);
	return ret;
}

static void *map_bar0(const char *bdf)
{
	char path[512];
	void *bar;
	int fd;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/resource0", bdf);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0)
		return MAP_FAILED;
	bar = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return bar;
}

/* Anonymous, populated and locked; NULL on failure. */
static char *alloc_locked(size_t len)
{
	char *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (mlock(p, len)) {
		munmap(p, len);
		return NULL;
	}
	return p;
}

/*
 * The physical addresses of the @n pages at @va, appended to @refs.
 * 0 or -errno (-EPERM: present pages without a PFN, no CAP_SYS_ADMIN).
 */
static int resolve(int pm, char *va, size_t n, struct page_ref *refs)
{
	uint64_t *ent;
	size_t i;
	ssize_t len = n * sizeof(*ent);
	int ret = 0;

	ent = malloc(len);
	if (!ent)
		return -ENOMEM;
	if (pread(pm, ent, len, (uintptr_t)va / PAGE_SZ * sizeof(*ent)) != len) {
		ret = -EIO;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!(ent[i] & PM_PRESENT)) {
			ret = -EFAULT;
			goto out;
		}
		if (!(ent[i] & PM_PFN_MASK)) {
			ret = -EPERM;
			goto out;
		}
		refs[i].gpa = (ent[i] & PM_PFN_MASK) * PAGE_SZ;
		refs[i].va = va + i * PAGE_SZ;
	}
out:
	free(ent);
	return ret;
}

static unsigned long long gpa_of(int pm, void *va)
{
	struct page_ref ref;

	if (resolve(pm, va, 1, &ref))
		return 0;
	return ref.gpa;
}

static int cmp_gpa(const void *a, const void *b)
{
	const struct page_ref *x = a, *y = b;

	return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

static const char *dma_err(int ret)
{
	return ret == -EIO ? "data differ" : strerror(-ret);
}

/*
 * Both directions for the page at @ref, in EDU_DMA_MAX_LEN pieces: the
 * device reads the page (page -> edu -> scratch) and writes it (scratch ->
 * edu -> page).  Fails the run on any difference.
 */
static void check_page(void *bar, int pm, const struct page_ref *ref,
		       char *scratch, unsigned long long scratch_gpa, uint64_t seed)
{
	size_t off;
	int ret;

	for (off = 0; off < PAGE_SZ; off += EDU_DMA_MAX_LEN) {
		ret = edu_check_mapped(bar, ref->gpa + off, ref->va + off,
				       EDU_DMA_MAX_LEN, scratch_gpa, scratch,
				       seed + off);
		if (ret)
			fail("read of gpa 0x%llx: %s",
			     ref->gpa + off, dma_err(ret));
		ret = edu_check_write(bar, ref->gpa + off, ref->va + off,
				      EDU_DMA_MAX_LEN, scratch_gpa, scratch,
				      ~seed + off);
		if (ret)
			fail("write to gpa 0x%llx: %s",
			     ref->gpa + off, dma_err(ret));
	}
	/* mlock() does not stop migration: the page must not have moved. */
	if (gpa_of(pm, ref->va) != ref->gpa || gpa_of(pm, scratch) != scratch_gpa)
		fail("page at gpa 0x%llx moved during the check", ref->gpa);
	printf("l2_edu_dma: gpa 0x%llx ok\n", ref->gpa);
}

static void print_usage(const char *prog)
{
	fprintf(stderr, "Usage: %s [-m MiB] [-t THRESHOLD_BYTES]\n", prog);
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long mib = 256;
	unsigned long long threshold = 0, scratch_gpa;
	uint64_t seed;
	struct page_ref *refs = NULL, pick[3];
	size_t per_round, n = 0;
	int opt, pm, ret, rounds = 0;
	char bdf[256], *scratch;
	struct timespec ts;
	void *bar;
	long avail;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "m:t:")) != -1) {
		switch (opt) {
		case 'm':
			mib = strtoul(optarg, NULL, 0);
			break;
		case 't':
			threshold = strtoull(optarg, NULL, 0);
			break;
		default:
			print_usage(argv[0]);
		}
	}
	if (!mib || optind != argc)
		print_usage(argv[0]);

	ret = find_edu(bdf, sizeof(bdf));
	if (ret)
		fail("no edu device (%04x:%04x): %s", EDU_VENDOR, EDU_DEVICE,
		     strerror(-ret));
	ret = enable_bus_master(bdf);
	if (ret)
		fail("%s: cannot set Bus Master Enable: %s", bdf, strerror(-ret));
	bar = map_bar0(bdf);
	if (bar == MAP_FAILED)
		fail("%s: cannot map resource0: %s", bdf, strerror(errno));
	if ((edu_read_id(bar) & 0xff) != EDU_ID_MAGIC ||
	    edu_liveness(bar, 0x12345678) != ~0x12345678U)
		fail("%s: BAR0 does not answer as edu (id 0x%08x)", bdf,
		     edu_read_id(bar));

	pm = open("/proc/self/pagemap", O_RDONLY);
	if (pm < 0)
		fail("/proc/self/pagemap: %s", strerror(errno));
	scratch = alloc_locked(PAGE_SZ);
	if (!scratch)
		fail("cannot allocate the scratch page: %s", strerror(errno));
	scratch_gpa = gpa_of(pm, scratch);
	if (!scratch_gpa)
		fail("no physical address for the scratch page (root?)");

	/*
	 * One round of @mib; more while the highest page is below the
	 * threshold and MemAvailable leaves room for one more.
	 */
	per_round = mib * (1024 * 1024 / PAGE_SZ);
	do {
		struct page_ref *grown;
		char *buf;

		if (rounds) {
			avail = proc_field_kb("/proc/meminfo", "MemAvailable");
			if (avail < 0 || (unsigned long)avail / 1024 < mib + RESERVE_MIB)
				break;
		}
		buf = alloc_locked(per_round * PAGE_SZ);
		if (!buf) {
			if (!rounds)
				fail("cannot allocate and lock %lu MiB: %s", mib,
				     strerror(errno));
			break;
		}
		grown = realloc(refs, (n + per_round) * sizeof(*refs));
		if (!grown)
			fail("out of memory for %zu page records", n + per_round);
		refs = grown;
		ret = resolve(pm, buf, per_round, refs + n);
		if (ret)
			fail("pagemap: %s", strerror(-ret));
		n += per_round;
		rounds++;
		qsort(refs, n, sizeof(*refs), cmp_gpa);
	} while (threshold && refs[n - 1].gpa < threshold && rounds < MAX_ROUNDS);

	printf("l2_edu_dma: edu %s, %d x %lu MiB, gpa 0x%llx-0x%llx\n",
	       bdf, rounds, mib, refs[0].gpa, refs[n - 1].gpa + PAGE_SZ - 1);
	if (threshold && refs[n - 1].gpa < threshold)
		fail("highest page 0x%llx below threshold 0x%llx after %d x %lu MiB",
		     refs[n - 1].gpa, threshold, rounds, mib);

	pick[0] = refs[0];
	pick[1] = refs[n / 2];
	pick[2] = refs[n - 1];
	clock_gettime(CLOCK_MONOTONIC, &ts);
	seed = (uint64_t)ts.tv_sec * 1000000007ULL + ts.tv_nsec + getpid();
	for (int i = 0; i < 3; i++)
		check_page(bar, pm, &pick[i], scratch, scratch_gpa,
			   seed + ((uint64_t)i << 32));

	printf("FASTBOOT-L2-DMA-OK pages=3 low=0x%llx mid=0x%llx high=0x%llx\n",
	       pick[0].gpa, pick[1].gpa, pick[2].gpa);
	return 0;
}
