# SPDX-License-Identifier: GPL-2.0
#
# fastboot: entry points only; each target delegates to a script.
#
#   make              out-of-tree modules (Kbuild) against KDIR
#   make kernel       patched Linux 6.12 test kernel (bzImage + modules)
#   make qemu         patched QEMU 10.0.2 (patches/qemu/series), only
#                     qemu-system-x86_64, in build/qemu/obj/
#   make check        build, boot under QEMU, run every test: 'N passed, N failed'
#   make demo         boot and print the baseline table (RESULT lines)
#   make bench        every benchmark, larger sizes (RESULT lines)
#   make run CMD=...  run any command in the test kernel (cwd shared at /host)
#   make lint         checkpatch --strict and sparse over patches and overlay
#   make dropin       the patched vfio_iommu_type1.ko against KDIR (a
#                     distribution's 6.12 headers); dkms.conf does the same
#   make check-dropin boot Debian's stock 6.12 with the drop-in and
#                     virtio_balloon_2m, run the VFIO and balloon tests
#   make balloon-dkms the virtio_balloon_2m DKMS source tree, in build/dkms/
#   make balloon-dkms-install
#                     install it with DKMS for the running kernel (root)
#   make check-balloon-build
#                     build virtio_balloon_2m against Debian's 6.1 headers
#                     (BALLOON_SERIES), W=1, as a TAP line
#   make deps         install build and test dependencies (root)

BUILD ?= $(CURDIR)/build
KDIR ?= $(BUILD)/obj
export BUILD

SCRIPTS := $(CURDIR)/scripts

.PHONY: modules modules_install deps kernel qemu selftests initramfs \
	check demo bench run lint clean dropin dropin-stock check-dropin \
	balloon-dkms balloon-dkms-install check-balloon-build

modules:
	@$(SCRIPTS)/check-kdir.sh "$(KDIR)"
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)" modules

modules_install:
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)" modules_install

deps:
	$(SCRIPTS)/install-deps.sh

kernel:
	$(SCRIPTS)/build-kernel.sh

qemu:
	$(SCRIPTS)/build-qemu.sh

selftests: kernel
	$(SCRIPTS)/build-selftests.sh

initramfs:
	$(SCRIPTS)/prepare.sh

check:
	$(SCRIPTS)/check.sh

demo:
	$(SCRIPTS)/demo.sh

bench:
	$(SCRIPTS)/bench.sh

run:
	$(SCRIPTS)/prepare.sh
	python3 $(SCRIPTS)/vm.py $(VM_ARGS) -- sh -c '$(CMD)'

lint:
	$(SCRIPTS)/lint.sh

dropin:
	$(SCRIPTS)/dropin-prepare.sh --kdir "$(KDIR)" --build

dropin-stock:
	$(SCRIPTS)/dropin-prepare.sh --stock --kdir "$(KDIR)" --build

check-dropin:
	$(SCRIPTS)/prepare.sh
	$(SCRIPTS)/check-dropin.sh

balloon-dkms:
	$(SCRIPTS)/balloon-dkms.sh

balloon-dkms-install:
	$(SCRIPTS)/balloon-dkms.sh --install

BALLOON_SERIES ?= 6.1
check-balloon-build:
	$(SCRIPTS)/check-balloon-build.sh --series "$(BALLOON_SERIES)"

clean:
	rm -rf "$(BUILD)"
