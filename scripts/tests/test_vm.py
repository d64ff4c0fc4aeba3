#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Tests of scripts/vm.py that need no QEMU: the archive carrying CMD, the
console lines that fail a run, and the balloon options."""
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


class StaleLogTest(unittest.TestCase):
    def test_last_runs_console_and_socket_are_removed(self):
        with tempfile.TemporaryDirectory() as d:
            con, sock, other = (os.path.join(d, n) for n in
                                ("console.log", "qmp.sock", "output.log"))
            for p in (con, sock, other):
                with open(p, "w") as f:
                    f.write("BUG: from the run before\n")
            vm.remove_stale([con, sock, os.path.join(d, "absent")])
            self.assertFalse(os.path.lexists(con))
            self.assertFalse(os.path.lexists(sock))
            self.assertTrue(os.path.exists(other))


class TripleFaultTest(unittest.TestCase):
    def test_only_a_logged_triple_fault_is_reported(self):
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "qemu-reset.log")
            self.assertEqual(vm.triple_fault(log), "")
            with open(log, "w") as f:
                f.write("CPU Reset (CPU 0)\nEAX=00000000 EBX=00000000\n")
            self.assertEqual(vm.triple_fault(log), "")
            with open(log, "a") as f:
                f.write("Triple fault\nCPU Reset (CPU 1)\n")
            self.assertIn("triple fault", vm.triple_fault(log))


class BalloonOptionsTest(unittest.TestCase):
    def parse(self, *args):
        return vm.parser().parse_args(list(args) + ["--", "true"])

    def test_defaults_keep_the_old_machine(self):
        a = self.parse()
        self.assertIsNone(a.balloon_target)
        self.assertEqual(vm.balloon_device(a.balloon_opts), "virtio-balloon-pci,id=balloon0")
        self.assertEqual(vm.startup_commands(a.balloon_target), [])

    def test_target_sizes(self):
        for text, want in (("3221225472", 3 << 30), ("3G", 3 << 30), ("3GiB", 3 << 30),
                           ("3072M", 3 << 30), ("4096k", 4 << 20), ("1t", 1 << 40),
                           ("512 MiB", 512 << 20), ("4096B", 4096)):
            self.assertEqual(self.parse("--balloon-target", text).balloon_target, want, text)

    def test_bad_targets_are_refused(self):
        for text in ("0", "0G", "-1", "-1G", "", "1X", "G", "1.5G", "1iB"):
            with self.assertRaises(SystemExit, msg=text), \
                 open(os.devnull, "w") as null:
                stderr, sys.stderr = sys.stderr, null
                try:
                    self.parse("--balloon-target", text)
                finally:
                    sys.stderr = stderr

    def test_target_pauses_then_sets_then_continues(self):
        cmds = vm.startup_commands(self.parse("--balloon-target", "3G").balloon_target)
        self.assertEqual(cmds, [
            {"execute": "balloon", "arguments": {"value": 3 << 30}},
            {"execute": "cont"}])

    def test_target_is_announced_to_the_guest(self):
        line = vm.kernel_append("initcall_debug", 3 << 30).split()
        self.assertIn("fastboot.balloon_target=3221225472", line)
        self.assertIn("fastboot.hv=ttyS2", line)
        self.assertEqual(line[-1], "initcall_debug")
        self.assertNotIn("balloon", vm.kernel_append("initcall_debug"))
        self.assertTrue(vm.kernel_append("").endswith("fastboot.hv=ttyS2"))

    def test_opts_are_appended_to_the_device(self):
        a = self.parse("--balloon-opts", "deflate-on-oom=on")
        self.assertEqual(vm.balloon_device(a.balloon_opts),
                         "virtio-balloon-pci,id=balloon0,deflate-on-oom=on")
        self.assertEqual(vm.balloon_device(",free-page-reporting=on,deflate-on-oom=on "),
                         "virtio-balloon-pci,id=balloon0,"
                         "free-page-reporting=on,deflate-on-oom=on")

    def test_command_after_options(self):
        a = vm.parser().parse_args(["--balloon-target", "1G", "--balloon-opts",
                                    "deflate-on-oom=on", "--", "sh", "-c",
                                    "--balloon-target 2G"])
        self.assertEqual(a.balloon_target, 1 << 30)
        self.assertEqual(a.cmd, ["--", "sh", "-c", "--balloon-target 2G"])


if __name__ == "__main__":
    unittest.main()
