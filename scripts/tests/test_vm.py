#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Tests of scripts/vm.py that need no QEMU: the archive carrying CMD and
the console lines that fail a run."""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import vm  # noqa: E402


class CommandArchiveTest(unittest.TestCase):
    def test_cpio_lists_and_extracts_the_command(self):
        data = vm.command_cpio(["sh", "-c", "echo 'a b'; exit 3"], "/host")
        self.assertEqual(len(data) % 512, 0)
        with tempfile.TemporaryDirectory() as d:
            subprocess.run(["cpio", "-idm", "--quiet"], input=data, cwd=d, check=True)
            with open(os.path.join(d, "fastboot/cmd")) as f:
                script = f.read()
            self.assertTrue(os.access(os.path.join(d, "fastboot/cmd"), os.X_OK))
        self.assertIn("cd /host || exit 1\n", script)
        self.assertIn("sh -c 'echo '\"'\"'a b'\"'\"'; exit 3'", script)

    def test_no_share_no_cd(self):
        self.assertNotIn(b"cd ", vm.command_cpio(["true"], None))


class SplatTest(unittest.TestCase):
    def test_splats_and_non_splats(self):
        log = ["DMAR: [DMA Read NO_PASID] Request device [00:01.0] fault addr 0x40000000",
               "WARNING: CPU: 1 PID: 1 at mm/hugetlb.c:100 foo+0x1/0x2",
               "BUG: sleeping function called from invalid context at mm/gup.c:1",
               "Oops: int3: 0000 [#1] SMP",
               "WARNING: possible circular locking dependency detected",
               "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
               "virtio_balloon virtio0: ok"]
        with tempfile.NamedTemporaryFile("w", suffix=".log") as f:
            f.write("\n".join(log) + "\n")
            f.flush()
            found = vm.splats(f.name)
        self.assertEqual(found, log[1:6])


if __name__ == "__main__":
    unittest.main()
