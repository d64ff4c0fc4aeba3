/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The nested scenario's L2: start QEMU inside the test guest (L1) with KVM,
 * the edu device passed through with vfio-pci and a virtio balloon, running
 * the test kernel with the tiny initramfs of scripts/mkinitramfs-l2.sh, all
 * from /opt/l2 (scripts/nested-payload.sh puts it into L1's initramfs).
 * Watch its serial console for the markers L2's /init prints, talk QMP to
 * it (lib/qmp.h), and stop or kill it.
 *
 * The command line (Documentation/fastboot/qemu-code-map.rst, "The nested
 * scenario"):
 *
 *   /opt/l2/qemu -accel kvm -M q35 -cpu host -smp 1 -m SIZEm -nodefaults
 *     -no-user-config -display none -vga none -nic none -no-reboot
 *     -L /opt/l2/share -chardev file,id=con,path=DIR/serial.log
 *     -serial chardev:con -qmp unix:DIR/qmp.sock,server=on,wait=off
 *     -kernel /opt/l2/bzImage -initrd /opt/l2/initramfs.cpio.gz
 *     -append "console=ttyS0 loglevel=1 kunit.enable=0 panic=-1 l2.mode=MODE"
 *     -device vfio-pci,host=BDF[,x-defer-map=on,x-defer-map-threshold=THRm]
 *     -device virtio-balloon-pci,id=balloon0[,x-initial-target=TGTm]
 *
 * (no_vfio: without the vfio-pci device, a VM without passthrough)
 * and with hugetlb backing -object memory-backend-file,id=ram0,size=SIZEm,
 * mem-path=/dev/hugepages,prealloc=off with -M q35,memory-backend=ram0.
 * QEMU's output goes to DIR/qemu.log; DIR is a fresh directory under /tmp.
 */
#ifndef FASTBOOT_L2VM_H
#define FASTBOOT_L2VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "qmp.h"

#define L2VM_ROOT		"/opt/l2"
#define L2VM_QEMU		L2VM_ROOT "/qemu"
#define L2VM_SHARE		L2VM_ROOT "/share"
#define L2VM_KERNEL		L2VM_ROOT "/bzImage"
#define L2VM_INITRD		L2VM_ROOT "/initramfs.cpio.gz"
#define L2VM_HUGEPAGES		"/dev/hugepages"
#define L2VM_VFIO_DRIVER	"/sys/bus/pci/drivers/vfio-pci"

/* What L2's /init (scripts/l2-init.sh) prints on its serial console. */
#define L2VM_UP			"FASTBOOT-L2-UP"
#define L2VM_DEFLATED		"FASTBOOT-L2-DEFLATED"
/* The 2 MiB balloon's probe line from L2's kernel log (l2.mode=dma). */
#define L2VM_PROBE		"FASTBOOT-L2-PROBE"
#define L2VM_DMA		"FASTBOOT-L2-DMA-"	/* OK or FAIL follows */
#define L2VM_DMA_OK		"FASTBOOT-L2-DMA-OK"
/* The patched QEMU's event once the deferred mapping is complete. */
#define L2VM_EV_COMPLETE	"FASTBOOT_COMPLETE"

#define L2VM_TARGET_MIB		512	/* default initial balloon target */
#define L2VM_THRESHOLD_MIB	64	/* default x-defer-map-threshold */
#define L2VM_QMP_TIMEOUT_MS	(60 * 1000)

struct l2vm_opts {
	unsigned long mem_mib;		/* L2's RAM */
	bool hugetlb;			/* backed by /dev/hugepages */
	bool fastboot;			/* x-defer-map=on, x-initial-target */
	const char *mode;		/* l2.mode: "marker" (NULL) or "dma" */
	/*
	 * x-initial-target with fastboot; 0: L2VM_TARGET_MIB if mem_mib is
	 * larger, else none (the guest starts with all of its RAM).
	 */
	unsigned long target_mib;
	unsigned long threshold_mib;	/* 0: L2VM_THRESHOLD_MIB */
	const char *vfio_props;		/* appended to -device vfio-pci,... */
	const char *balloon_props;	/* appended to the balloon device */
	const char *append;		/* more of L2's kernel command line */
	const char * const *extra;	/* more QEMU arguments, NULL-terminated */
	const char *bdf;		/* edu's BDF in L1; NULL: l2vm_find_edu() */
	bool no_vfio;			/* no -device vfio-pci (and no bdf) */
	bool no_qmp;			/* l2vm_start() does not connect QMP */
};

struct l2vm {
	pid_t pid;			/* 0: not started */
	bool reaped;			/* exited, status valid */
	int status;			/* wait status */
	long long launch_us;		/* CLOCK_MONOTONIC right before fork() */
	char dir[64];			/* per-VM directory under /tmp */
	char bdf[32];
	struct qmp qmp;
	int serial_fd;			/* DIR/serial.log, -1 until it exists */
	char *serial;			/* everything read from it, NUL-terminated */
	size_t serial_len, serial_cap;
	char cmdline[4096];		/* for messages: QEMU's arguments */
};

/* The x-query-fastboot reply (times: CLOCK_MONOTONIC us, 0 = not yet). */
struct l2vm_fastboot {
	char phase[32];
	int64_t deferred, mapped, failed;
	int64_t initial_target, balloon_target, balloon_actual;
	int64_t start_us, machine_ready_us, fence_us, complete_us;
};

/* CLOCK_MONOTONIC in microseconds (the clock of x-query-fastboot). */
long long l2vm_now_us(void);

/*
 * The BDF of the edu device (1234:11e8) bound to vfio-pci in this guest,
 * into @bdf.  0, -ENODEV if there is none, or -errno.
 */
int l2vm_find_edu(char *bdf, size_t len);

/*
 * Keep one idle VM, with an in-kernel irqchip and one vCPU that never
 * runs, open in this process (and its children) until it exits.  KVM
 * flips static keys when the first VM or local APIC comes and when the
 * last goes: the scheduler's preempt notifiers (finish_task_switch()),
 * the APIC's software-disabled count.  Each flip is cross-CPU text
 * patching, and multi-threaded TCG has been seen to run a stale
 * translation of patched code, an "Oops: int3" in L1
 * (Documentation/fastboot/testing.rst).  With this VM open, starting and
 * stopping L2s patches no code.  0 (also when already held), or -errno.
 */
int l2vm_hold_kvm(void);

/* Zero @vm so that l2vm_cleanup() on it is a no-op. */
void l2vm_init(struct l2vm *vm);

/*
 * Create the VM's directory and start QEMU as in the header comment;
 * unless @o->no_qmp, connect to its QMP socket (events are queued from
 * then on).  0; -ECHILD if QEMU exited meanwhile (vm->status has why);
 * or -errno.  QEMU gets SIGKILL if the process that started it dies.
 */
int l2vm_start(struct l2vm *vm, const struct l2vm_opts *o);

/*
 * Wait, reading DIR/serial.log every 5 ms, until it contains @needle
 * (anywhere, also if it was there before the call).  *@at_us, if not
 * NULL, gets the time of the read that found it.  0, -ETIMEDOUT after
 * @timeout_ms, -ECHILD if QEMU exited without printing it, or -errno.
 */
int l2vm_wait_line(struct l2vm *vm, const char *needle, int timeout_ms,
		   long long *at_us);

/* Whether the serial console has shown @needle so far (reads it first). */
bool l2vm_serial_has(struct l2vm *vm, const char *needle);

/* The line of the serial console that contains @needle, into @buf. */
int l2vm_serial_line(struct l2vm *vm, const char *needle, char *buf,
		     size_t len);

/* Run one QMP command (qmp_execute() with L2VM_QMP_TIMEOUT_MS). */
int l2vm_qmp(struct l2vm *vm, const char *cmd_json, char *reply, size_t len);

/*
 * x-query-fastboot into @f.  0, -EPROTO if QEMU answered with an error
 * (a QEMU without the fastboot patches), or -errno.
 */
int l2vm_query_fastboot(struct l2vm *vm, struct l2vm_fastboot *f);

/* Wait for QMP event @name (qmp_wait_event()). */
int l2vm_wait_event(struct l2vm *vm, const char *name, char *ev, size_t len,
		    int timeout_ms);

/* Whether QEMU is still running (reaps it if not). */
bool l2vm_running(struct l2vm *vm);

/*
 * Wait for QEMU to exit, for at most @timeout_ms.  0 (vm->status holds
 * the wait status), -ETIMEDOUT, or -errno.
 */
int l2vm_wait_exit(struct l2vm *vm, int timeout_ms);

/*
 * QMP "quit", then wait up to @timeout_ms for QEMU to exit, SIGKILL if it
 * did not.  0 if it exited by itself with status 0, -ETIMEDOUT if it had
 * to be killed, -EIO for another exit status (vm->status).
 */
int l2vm_stop(struct l2vm *vm, int timeout_ms);

/* SIGKILL and reap.  Idempotent. */
void l2vm_kill(struct l2vm *vm);

/* QEMU's command line, qemu.log and the serial console's tail, to @f. */
void l2vm_dump(struct l2vm *vm, FILE *f);

/* Kill QEMU if it runs, close QMP, remove the directory.  Idempotent. */
void l2vm_cleanup(struct l2vm *vm);

#endif /* FASTBOOT_L2VM_H */
