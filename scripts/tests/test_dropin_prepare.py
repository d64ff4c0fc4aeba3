#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Tests of scripts/dropin-prepare.sh on a miniature kernel tree: which
sections of the series it carries (a git rename included), the module's
objects from the patched Makefile, and what it refuses.  No kernel build."""
import os
import shutil
import subprocess
import tempfile
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "dropin-prepare.sh")

TYPE1 = "".join("/* line %d of the type1 driver */\n" % i for i in range(40))
FILES = {
    "Makefile": "VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 95\nEXTRAVERSION =\n",
    "drivers/vfio/vfio_iommu_type1.c": '#include "vfio.h"\n' + TYPE1,
    "drivers/vfio/vfio.h": "/* vfio.h */\n",
    "drivers/vfio/vfio_main.c": "/* vfio_main.c */\n",
    "drivers/vfio/Makefile": "obj-$(CONFIG_VFIO) += vfio.o\n"
                             "obj-$(CONFIG_VFIO_IOMMU_TYPE1) += vfio_iommu_type1.o\n",
    "include/uapi/linux/vfio.h": "#define VFIO_TYPE1v2_IOMMU 3\n",
    "Documentation/driver-api/vfio.rst": "VFIO\n",
}


def git(cwd, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                   cwd=cwd, check=True, capture_output=True)


@unittest.skipUnless(shutil.which("git") and shutil.which("patch"), "needs git and patch")
class DropinPrepareTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="dropin-test-")
        self.src = os.path.join(self.tmp, "linux")
        self.repo = os.path.join(self.tmp, "repo")
        self.out = os.path.join(self.tmp, "out")
        for path, text in FILES.items():
            self.write(self.src, path, text)
        os.makedirs(os.path.join(self.repo, "patches"))
        self.series = []

    def tearDown(self):
        shutil.rmtree(self.tmp)

    @staticmethod
    def write(top, path, text):
        os.makedirs(os.path.dirname(os.path.join(top, path)), exist_ok=True)
        with open(os.path.join(top, path), "w") as f:
            f.write(text)

    def read(self, path):
        with open(os.path.join(self.out, path)) as f:
            return f.read()

    def add_patch(self, name, change):
        """A git-format patch made by change(tree) on a copy of the source."""
        work = os.path.join(self.tmp, "git")
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(self.src, work)
        git(work, "init", "-q", ".")
        git(work, "add", "-A")
        git(work, "commit", "-qm", "base")
        change(work)
        git(work, "add", "-A")
        git(work, "commit", "-qm", name)
        diff = subprocess.run(["git", "format-patch", "-M", "--stdout", "-1"], cwd=work,
                              check=True, capture_output=True, text=True).stdout
        self.write(self.repo, "patches/" + name, diff)
        self.series.append(name)
        self.write(self.repo, "patches/series", "# test\n" + "\n".join(self.series) + "\n")

    def run_prepare(self, *args, ok=True):
        r = subprocess.run([SCRIPT, "--source", self.src, "--repo", self.repo,
                            "--out", self.out, *args], capture_output=True, text=True)
        if ok:
            self.assertEqual(r.returncode, 0, r.stderr)
        else:
            self.assertNotEqual(r.returncode, 0, r.stdout)
        return r

    def async_map(self, tree):
        """What the real series does: modify, rename, composite Makefile."""
        os.rename(os.path.join(tree, "drivers/vfio/vfio_iommu_type1.c"),
                  os.path.join(tree, "drivers/vfio/vfio_iommu_type1_main.c"))
        with open(os.path.join(tree, "drivers/vfio/vfio_iommu_type1_main.c"), "a") as f:
            f.write("/* deferred mapping */\n")
        self.write(tree, "drivers/vfio/Makefile",
                   "obj-$(CONFIG_VFIO) += vfio.o\n"
                   "vfio_iommu_type1-y := vfio_iommu_type1_main.o \\\n"
                   "\tvfio_async_map.o\n"
                   "obj-$(CONFIG_VFIO_IOMMU_TYPE1) += vfio_iommu_type1.o\n")
        with open(os.path.join(tree, "include/uapi/linux/vfio.h"), "a") as f:
            f.write("#define VFIO_TYPE1_DEFER_MAP 11\n")
        with open(os.path.join(tree, "drivers/vfio/vfio_main.c"), "a") as f:
            f.write("/* not carried */\n")
        with open(os.path.join(tree, "Documentation/driver-api/vfio.rst"), "a") as f:
            f.write("deferred\n")

    def test_stock_is_the_single_object_unchanged(self):
        self.add_patch("0001-x.patch", self.async_map)
        self.run_prepare("--stock")
        self.assertIn("obj-m := vfio_iommu_type1.o", self.read("Kbuild"))
        self.assertNotRegex(self.read("Kbuild"), r"(?m)^vfio_iommu_type1-y")
        self.assertEqual(self.read("vfio_iommu_type1.c"),
                         FILES["drivers/vfio/vfio_iommu_type1.c"])
        self.assertIn("objects: vfio_iommu_type1.o\n", self.read("DROPIN-INFO"))
        self.assertIn("NOSTDINC_FLAGS += -I$(src)/include", self.read("Kbuild"))

    def test_series_without_vfio_sections_builds_the_stock_driver(self):
        self.add_patch("0001-doc.patch", lambda t: self.write(
            t, "Documentation/driver-api/vfio.rst", "changed\n"))
        self.run_prepare()
        self.assertIn("patches: none", self.read("DROPIN-INFO"))
        self.assertTrue(os.path.exists(os.path.join(self.out, "vfio_iommu_type1.c")))

    def test_rename_composite_uapi_and_overlay(self):
        self.add_patch("0001-doc.patch", lambda t: self.write(
            t, "Documentation/driver-api/vfio.rst", "first\n"))
        self.add_patch("0002-async.patch", self.async_map)
        self.write(self.repo, "drivers/vfio/vfio_async_map.c", "/* new */\n")
        self.write(self.repo, "drivers/vfio/vfio_async_map.h", "/* new */\n")
        r = self.run_prepare()
        kbuild = self.read("Kbuild")
        self.assertRegex(kbuild, r"vfio_iommu_type1-y := vfio_iommu_type1_main\.o\s+"
                                 r"vfio_async_map\.o")
        self.assertFalse(os.path.exists(os.path.join(self.out, "vfio_iommu_type1.c")))
        self.assertTrue(self.read("vfio_iommu_type1_main.c").endswith("/* deferred mapping */\n"))
        self.assertIn("VFIO_TYPE1_DEFER_MAP", self.read("include/uapi/linux/vfio.h"))
        self.assertEqual(self.read("vfio_async_map.h"), "/* new */\n")
        info = self.read("DROPIN-INFO")
        self.assertIn("objects: vfio_iommu_type1_main.o vfio_async_map.o", info)
        self.assertIn("patches: 0002-async.patch\n", info)
        self.assertIn("left out: 0002-async.patch: drivers/vfio/vfio_main.c", info)
        self.assertIn("drivers/vfio/vfio_main.c", r.stderr)
        self.assertNotIn("Documentation", r.stderr)
        self.assertIn('MODULE_INFO(fastboot_dropin, "fastboot-vfio patched',
                      self.read("dropin-info.h"))

    def test_missing_part_of_the_composite_fails(self):
        self.add_patch("0001-async.patch", self.async_map)
        r = self.run_prepare(ok=False)
        self.assertIn("vfio_async_map.c", r.stderr)

    def test_patch_that_does_not_apply_fails(self):
        self.add_patch("0001-async.patch", self.async_map)
        self.write(self.src, "drivers/vfio/vfio_iommu_type1.c", "something else\n")
        r = self.run_prepare(ok=False)
        self.assertIn("0001-async.patch", r.stderr)

    def test_refuses_a_foreign_output_directory(self):
        self.write(self.out, "precious", "x")
        self.run_prepare("--stock", ok=False)
        self.assertTrue(os.path.exists(os.path.join(self.out, "precious")))

    def test_kernel_version_must_match_the_source(self):
        kdir = os.path.join(self.tmp, "kdir")
        self.write(kdir, "include/config/kernel.release", "6.12.117+deb12-amd64\n")
        r = self.run_prepare("--stock", "--kdir", kdir, ok=False)
        self.assertIn("6.12.95", r.stderr)
        self.run_prepare("--stock", "--kdir", kdir, "--force")
        self.write(kdir, "include/config/kernel.release", "6.12.95+deb12-amd64\n")
        self.run_prepare("--stock", "--kdir", kdir)


if __name__ == "__main__":
    unittest.main()
