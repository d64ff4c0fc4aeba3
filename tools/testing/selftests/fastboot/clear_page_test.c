// SPDX-License-Identifier: GPL-2.0
/*
 * clear_page= and clear_huge_page=: the routine the kernel chose, and huge
 * pages cleared by it read zero.
 *
 * The harness boots the kernel once per value of the two boot parameters
 * (scripts/check.sh) and runs this test in each boot.  It reads the values
 * from /proc/cmdline and checks:
 *
 *  - /sys/kernel/mm/clear_page/{page,huge} show the value asked for when
 *    it is valid on this CPU, and the documented default otherwise
 *    (clear_page: erms, rep or orig by CPU features; clear_huge_page:
 *    auto's pick, never "page");
 *  - the kernel log names every invalid value in a warning, and carries
 *    the one line that states the choice;
 *  - 2 MiB and 1 GiB hugetlb pages, THP and 4 KiB pages that another
 *    process filled with a pattern and released read zero when faulted in
 *    again, first touch in the middle of the page (the subpage that is
 *    cleared last).  For hugetlb the test also checks, through
 *    /proc/self/pagemap, that it got back the very pages the other process
 *    dirtied, so that it proves the clearing rather than a fresh page.
 *
 * The 1 GiB case needs a 1 GiB pool page ("hugepagesz=1G hugepages=1",
 * which the harness passes on every boot).
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "hugetlb.h"
#include "sysfs.h"

#define SYSFS_DIR	"/sys/kernel/mm/clear_page/"
#define THP_ENABLED	"/sys/kernel/mm/transparent_hugepage/enabled"

/* NULL-terminated lists of names. */
static const char * const page_names[] = {
	"orig", "rep", "erms", "movnti", "clzero", NULL
};

static const char * const huge_names[] = {
	"page", "erms", "rep", "movnti", "clzero", "movntdq", "avx2", "avx512",
	NULL
};

/* What every x86_64 CPU can run. */
static const char * const page_always[] = {
	"orig", "rep", "erms", "movnti", NULL
};

static const char * const huge_always[] = {
	"page", "movnti", "movntdq", NULL
};

static bool in_list(const char *s, const char * const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

/* The value of the last "@param=" on the kernel command line, or NULL. */
static char *cmdline_value(const char *param, char *buf, size_t len)
{
	char cmdline[4096], key[64], *p, *found = NULL;
	FILE *f = fopen("/proc/cmdline", "r");

	if (!f || !fgets(cmdline, sizeof(cmdline), f)) {
		if (f)
			fclose(f);
		return NULL;
	}
	fclose(f);
	snprintf(key, sizeof(key), "%s=", param);
	for (p = strtok(cmdline, "\n "); p; p = strtok(NULL, "\n "))
		if (!strncmp(p, key, strlen(key)))
			found = p + strlen(key);
	if (!found)
		return NULL;
	snprintf(buf, len, "%s", found);
	return buf;
}

struct choice {
	char active[32];	/* the bracketed name */
	char names[8][32];	/* every name listed */
	int n;
};

/* Parse "a [b] c" as written by /sys/kernel/mm/clear_page/{page,huge}. */
static int read_choice(const char *file, struct choice *c)
{
	char buf[256], path[128], *tok;
	int err, brackets = 0;

	snprintf(path, sizeof(path), SYSFS_DIR "%s", file);
	err = sysfs_read_str(path, buf, sizeof(buf));
	if (err)
		return err;
	memset(c, 0, sizeof(*c));
	for (tok = strtok(buf, " "); tok && c->n < 8; tok = strtok(NULL, " ")) {
		size_t l = strlen(tok);

		if (tok[0] == '[' && l > 2 && tok[l - 1] == ']') {
			tok[l - 1] = '\0';
			tok++;
			snprintf(c->active, sizeof(c->active), "%s", tok);
			brackets++;
		}
		snprintf(c->names[c->n++], sizeof(c->names[0]), "%s", tok);
	}
	return brackets == 1 ? 0 : -EINVAL;
}

static bool choice_has(const struct choice *c, const char *name)
{
	int i;

	for (i = 0; i < c->n; i++)
		if (!strcmp(c->names[i], name))
			return true;
	return false;
}

static bool cpu_flag(const char *flag)
{
	char line[8192], *p;
	FILE *f = fopen("/proc/cpuinfo", "r");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		for (p = strtok(strchr(line, ':') + 1, "\n "); p;
		     p = strtok(NULL, "\n "))
			if (!strcmp(p, flag))
				found = true;
		break;
	}
	fclose(f);
	return found;
}

/* What clear_page=auto (and any rejected value) selects. */
static const char *page_default(void)
{
	if (cpu_flag("erms"))
		return "erms";
	if (cpu_flag("rep_good"))
		return "rep";
	return "orig";
}

/* The kernel log, NUL-terminated, or NULL. */
static char *read_kernel_log(void)
{
	int len = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *buf;

	if (len <= 0)
		return NULL;
	buf = calloc(1, len + 1);
	if (!buf)
		return NULL;
	len = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, len);
	if (len < 0) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

FIXTURE(choice) {};
FIXTURE_SETUP(choice) {}
FIXTURE_TEARDOWN(choice) {}

FIXTURE_VARIANT(choice) {
	const char *file;		/* in SYSFS_DIR */
	const char *param;		/* the boot parameter that sets it */
	const char * const *known;	/* every name it may list */
	const char * const *always;	/* names it lists on every CPU */
	bool cpu_default;		/* else: auto's pick, never "page" */
};

FIXTURE_VARIANT_ADD(choice, page) {
	.file = "page",
	.param = "clear_page",
	.known = page_names,
	.always = page_always,
	.cpu_default = true,
};

FIXTURE_VARIANT_ADD(choice, huge) {
	.file = "huge",
	.param = "clear_huge_page",
	.known = huge_names,
	.always = huge_always,
};

/*
 * The value given on the command line is the active one if the file lists
 * it; otherwise (auto, not given, or rejected) the documented default is.
 */
TEST_F(choice, matches_cmdline)
{
	char val[64];
	const char *want = cmdline_value(variant->param, val, sizeof(val));
	const char * const *name;
	struct choice c;
	int i;

	ASSERT_EQ(0, read_choice(variant->file, &c));
	for (i = 0; i < c.n; i++)
		EXPECT_TRUE(in_list(c.names[i], variant->known))
			TH_LOG("unknown name %s in %s", c.names[i], variant->file);
	for (name = variant->always; *name; name++)
		EXPECT_TRUE(choice_has(&c, *name)) TH_LOG("%s not listed", *name);

	if (want && choice_has(&c, want)) {
		EXPECT_STREQ(want, c.active);
	} else if (variant->cpu_default) {
		EXPECT_STREQ(page_default(), c.active)
			TH_LOG("%s=%s", variant->param, want ?: "(not given)");
	} else {
		EXPECT_STRNE("page", c.active)
			TH_LOG("%s=%s", variant->param, want ?: "(not given)");
	}
}

TEST(kernel_log)
{
	char val[64], line[160];
	struct choice page, huge;
	const char *want;
	char *log = read_kernel_log();

	ASSERT_NE(NULL, log);
	ASSERT_EQ(0, read_choice("page", &page));
	ASSERT_EQ(0, read_choice("huge", &huge));

	/* The one line that states the choice. */
	snprintf(line, sizeof(line), "clear_page: clear_page=%s clear_huge_page=%s",
		 page.active, huge.active);
	EXPECT_NE(NULL, strstr(log, line)) TH_LOG("no \"%s\" in the log", line);

	/* A warning names each value that was not taken, and only those. */
	want = cmdline_value("clear_page", val, sizeof(val));
	if (want && strcmp(want, "auto")) {
		snprintf(line, sizeof(line), "clear_page: clear_page=%s: ", want);
		EXPECT_EQ(!choice_has(&page, want), !!strstr(log, line))
			TH_LOG("warning for clear_page=%s", want);
	}
	want = cmdline_value("clear_huge_page", val, sizeof(val));
	if (want && strcmp(want, "auto")) {
		snprintf(line, sizeof(line), "clear_page: clear_huge_page=%s: ",
			 want);
		EXPECT_EQ(!choice_has(&huge, want), !!strstr(log, line))
			TH_LOG("warning for clear_huge_page=%s", want);
	}
	free(log);
}

/*
 * A child maps @len bytes with @map, fills them with a pattern and exits;
 * then this process maps them again, touches the middle of the first huge
 * page first, and checks every byte.
 */
static void *map_hugetlb(size_t len, unsigned long hp)
{
	return hugetlb_mmap(len / hp, hp, false);
}

static void *map_thp(size_t len, unsigned long hp)
{
	char *p = mmap(NULL, len + hp, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *aligned;

	if (p == MAP_FAILED)
		return p;
	aligned = (char *)(((unsigned long)p + hp - 1) & ~(hp - 1));
	if (aligned > p)
		munmap(p, aligned - p);
	munmap(aligned + len, p + hp - aligned);
	if (madvise(aligned, len, MADV_HUGEPAGE)) {
		munmap(aligned, len);
		return MAP_FAILED;
	}
	return aligned;
}

#define MAX_UNITS	64

/*
 * The page frame number of the first 4 KiB of each @hp unit of [@p, @p +
 * @len), from /proc/self/pagemap (root sees PFNs), sorted.  Units, or -1.
 */
static int unit_pfns(const char *p, size_t len, unsigned long hp,
		     uint64_t *pfn)
{
	int n = 0, i, j;

	for (; (size_t)n * hp < len && n < MAX_UNITS; n++) {
		long long e = pagemap_pfn(p + n * hp);

		if (e < 0)
			return -1;
		pfn[n] = e;
	}
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && pfn[j - 1] > pfn[j]; j--) {
			uint64_t t = pfn[j];

			pfn[j] = pfn[j - 1];
			pfn[j - 1] = t;
		}
	return n;
}

/*
 * A child maps @len bytes with @map, fills them with a pattern, reports
 * the PFNs of its units in @pfn (if not NULL) and exits.
 */
static void fill_in_child(struct __test_metadata *_metadata,
			  void *(*map)(size_t, unsigned long), size_t len,
			  unsigned long hp, uint64_t *pfn)
{
	int status, fds[2];
	pid_t pid;

	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		uint64_t mine[MAX_UNITS] = { 0 };
		char *p = map(len, hp);

		if (p == MAP_FAILED)
			_exit(1);
		memset(p, 0xa5, len);
		if (pfn && unit_pfns(p, len, hp, mine) < 0)
			_exit(2);
		if (write(fds[1], mine, sizeof(mine)) != sizeof(mine))
			_exit(3);
		_exit(0);
	}
	close(fds[1]);
	if (pfn)
		ASSERT_EQ((ssize_t)(sizeof(uint64_t) * MAX_UNITS),
			  read(fds[0], pfn, sizeof(uint64_t) * MAX_UNITS));
	close(fds[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("child status %#x", status);
}

static void check_zero(struct __test_metadata *_metadata, char *p,
		       size_t len, unsigned long hp)
{
	char *mid = (char *)p + hp / 2 + 64;
	ssize_t off;

	/*
	 * First touch in the middle of the first huge page, and a write: a
	 * read fault on anonymous memory would map the shared zero page
	 * instead of a new THP.  Adding 0 atomically writes without changing
	 * what is checked.
	 */
	EXPECT_EQ(0, __atomic_fetch_add(mid, 0, __ATOMIC_RELAXED));
	off = mem_first_nonzero(p, len);
	EXPECT_EQ(-1, off) TH_LOG("non-zero byte at offset %zd", off);
}

static void hugetlb_case(struct __test_metadata *_metadata, unsigned long hp,
			 long npages)
{
	uint64_t before[MAX_UNITS] = { 0 }, after[MAX_UNITS] = { 0 };
	long saved;
	char *p;

	if (!hugetlb_size_supported(hp))
		SKIP(return, "no %lu kB huge pages", hp >> 10);
	ASSERT_EQ(0, hugetlb_ensure_avail(hp, npages, &saved))
		TH_LOG("%ld pages of %lu kB: boot with hugepagesz= hugepages=",
		       npages, hp >> 10);

	fill_in_child(_metadata, map_hugetlb, npages * hp, hp, before);
	p = map_hugetlb(npages * hp, hp);
	ASSERT_NE(MAP_FAILED, p);
	check_zero(_metadata, p, npages * hp, hp);
	/* The pool is LIFO: these are the pages the child dirtied. */
	ASSERT_EQ(npages, (long)unit_pfns(p, npages * hp, hp, after));
	EXPECT_EQ(0, memcmp(before, after, sizeof(before)))
		TH_LOG("got other pages than the child freed: nothing proven");
	munmap(p, npages * hp);
	hugetlb_set_nr_pages(hp, saved);
}

TEST(hugetlb_2m_zero)
{
	hugetlb_case(_metadata, 2UL << 20, 4);
}

TEST(hugetlb_1g_zero)
{
	hugetlb_case(_metadata, 1UL << 30, 1);
}

static void *map_small(size_t len, unsigned long hp)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p != MAP_FAILED && madvise(p, len, MADV_NOHUGEPAGE)) {
		munmap(p, len);
		return MAP_FAILED;
	}
	return p;
}

/* 4 KiB pages: what clear_page= changes. */
TEST(small_pages_zero)
{
	const size_t len = 256 * 4096;
	char *p;

	fill_in_child(_metadata, map_small, len, 4096, NULL);
	p = map_small(len, 4096);
	ASSERT_NE(MAP_FAILED, p);
	check_zero(_metadata, p, len, 4096);
	munmap(p, len);
}

TEST(thp_zero)
{
	const unsigned long hp = 2UL << 20;
	const size_t len = 4 * hp;
	char mode[64], *p;
	long thp_kb;

	ASSERT_EQ(0, sysfs_read_str(THP_ENABLED, mode, sizeof(mode)));
	if (strstr(mode, "[never]"))
		ASSERT_EQ(0, sysfs_write_str(THP_ENABLED, "madvise"));

	fill_in_child(_metadata, map_thp, len, hp, NULL);
	p = map_thp(len, hp);
	ASSERT_NE(MAP_FAILED, p);
	check_zero(_metadata, p, len, hp);
	thp_kb = proc_field_kb("/proc/self/smaps_rollup", "AnonHugePages");
	/* Otherwise this tested 4 KiB pages, not huge ones. */
	EXPECT_LT(0, thp_kb) TH_LOG("the mapping got no THP");
	munmap(p, len);

	if (strstr(mode, "[never]"))
		sysfs_write_str(THP_ENABLED, "never");
}

TEST_HARNESS_MAIN
