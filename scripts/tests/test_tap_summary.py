#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Tests of scripts/tap_summary.py: how kselftest TAP is counted."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tap_summary import count, count_ktap  # noqa: E402

HARNESS_PASS = """\
TAP version 13
1..2
# selftests: fastboot: vfio_type1_test
# TAP version 13
# 1..3
# ok 1 vfio_type1.anon_4k.map_roundtrip
# ok 2 vfio_type1.anon_4k.bad_args # SKIP no edu device
# not ok 3 vfio_type1.anon_4k.unmap_revokes
# # FAILED: 1 / 3 tests passed.
not ok 1 selftests: fastboot: vfio_type1_test # exit=1
# selftests: fastboot: plain
ok 2 selftests: fastboot: plain
"""


class TapSummaryTest(unittest.TestCase):
    def test_nested_cases_count_not_the_binary(self):
        passed, failed, skipped, bad = count(HARNESS_PASS.splitlines())
        self.assertEqual((passed, failed, skipped), (2, 1, 1))
        self.assertEqual(bad, ["vfio_type1.anon_4k.unmap_revokes"])

    def test_binary_failing_after_its_cases_adds_a_failure(self):
        lines = ["# ok 1 a.b.c", "# ok 2 a.b.d",
                 "not ok 1 selftests: x: y # TIMEOUT 45 seconds"]
        passed, failed, skipped, bad = count(lines)
        self.assertEqual((passed, failed, skipped), (2, 1, 0))
        self.assertIn("after its cases", bad[0])

    def test_top_level_skip_and_timeout(self):
        lines = ["ok 1 selftests: x: a # SKIP", "not ok 2 selftests: x: b # TIMEOUT 45 seconds",
                 "ok 3 hugepage-mmap"]
        passed, failed, skipped, bad = count(lines)
        self.assertEqual((passed, failed, skipped), (1, 1, 1))
        self.assertEqual(bad, ["selftests: x: b # TIMEOUT"])

    def test_deeper_nesting_is_left_to_its_parent(self):
        lines = ["# # ok 1 inner", "# ok 1 middle", "ok 1 outer"]
        self.assertEqual(count(lines)[:3], (1, 0, 0))

    def test_no_skip_turns_our_skips_into_failures(self):
        lines = ["# ok 1 vfio.a # SKIP no edu", "# ok 2 vfio.b",
                 "ok 1 selftests: fastboot: vfio_type1_test",
                 "ok 2 selftests: fastboot: balloon_test # SKIP",
                 "# ok 1 upstream.case # SKIP no 1G pages", "ok 3 thuge-gen"]
        passed, failed, skipped, bad = count(lines, "selftests: fastboot:")
        self.assertEqual((passed, failed, skipped), (1, 2, 1))
        self.assertEqual(bad[0], "vfio.a # SKIP (not allowed here)")

    def test_prose_is_not_a_result(self):
        lines = ["# the test is ok 1 time", "okay", "# SKIP ./on-fault-limit"]
        self.assertEqual(count(lines)[:3], (0, 0, 0))


# As KUnit prints it at boot (6.12), with console noise around it.
KUNIT_CONSOLE = """\
[    1.000000] clear_page: clear_page=erms clear_huge_page=avx2
KTAP version 1
1..1
    KTAP version 1
    # Subtest: clear_page_sse
    # module: clear_page_kunit
    1..3
        KTAP version 1
        # Subtest: clear_page_routine_test
        ok 1 movnti
        ok 2 clzero # SKIP this CPU cannot run clzero
        not ok 3 erms
    # clear_page_routine_test: pass:1 fail:1 skip:1 total:3
    not ok 1 clear_page_routine_test
    ok 2 table_test
    not ok 3 calibrate_test
# clear_page_sse: pass:1 fail:2 skip:0 total:3
not ok 1 clear_page_sse
[    9.000000] Freeing unused kernel image memory
"""


class KtapTest(unittest.TestCase):
    def test_leaves_are_counted_skips_allowed(self):
        passed, failed, skipped, bad = count_ktap(KUNIT_CONSOLE.splitlines(True))
        self.assertEqual((passed, failed, skipped), (2, 2, 1))
        self.assertEqual(bad, ["KUnit erms", "KUnit calibrate_test"])

    def test_no_ktap_no_results(self):
        self.assertEqual(count_ktap(["ok 1 x", "not ok 2 y"])[:3], (0, 0, 0))

    def test_parent_failing_with_passing_children_counts(self):
        lines = ["KTAP version 1", "    ok 1 a", "not ok 1 suite"]
        self.assertEqual(count_ktap(lines)[:3], (1, 1, 0))

    def test_timestamps_are_stripped(self):
        lines = ["[    2.5] KTAP version 1", "[    2.6]     ok 1 a"]
        self.assertEqual(count_ktap(lines)[:3], (1, 0, 0))


if __name__ == "__main__":
    unittest.main()
