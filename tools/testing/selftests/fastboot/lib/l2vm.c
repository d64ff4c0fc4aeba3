// SPDX-License-Identifier: GPL-2.0
/* Start and watch the nested scenario's L2 from L1.  See l2vm.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "l2vm.h"
#include "sysfs.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define L2VM_POLL_US	5000
#define L2VM_MAX_ARGS	96
/* How long l2vm_start() gives a QEMU that closed QMP to exit. */
#define L2VM_EXIT_MS	5000

long long l2vm_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

int l2vm_hold_kvm(void)
{
	static int held_vm = -1;
	int kvm, vm, vcpu, ret = 0;

	if (held_vm >= 0)
		return 0;
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return -errno;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		ret = -errno;
		goto out;
	}
	/* The irqchip first: the vCPU then gets a local APIC in the kernel. */
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0)) {
		ret = -errno;
		close(vm);
		goto out;
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0) {
		ret = -errno;
		close(vm);
		goto out;
	}
	/* Both descriptors stay open (close-on-exec) for good. */
	held_vm = vm;
out:
	close(kvm);
	return ret;
}

int l2vm_find_edu(char *bdf, size_t len)
{
	char path[512];
	unsigned long vendor, device;
	struct dirent *de;
	int ret = -ENODEV;
	DIR *d;

	d = opendir(L2VM_VFIO_DRIVER);
	if (!d)
		return errno == ENOENT ? -ENODEV : -errno;
	while ((de = readdir(d))) {
		/* Devices are links named by their BDF: 0000:00:04.0 */
		if (!strchr(de->d_name, ':') || !strchr(de->d_name, '.'))
			continue;
		snprintf(path, sizeof(path), L2VM_VFIO_DRIVER "/%s/vendor",
			 de->d_name);
		if (sysfs_read_ulong(path, 16, &vendor) || vendor != 0x1234)
			continue;
		snprintf(path, sizeof(path), L2VM_VFIO_DRIVER "/%s/device",
			 de->d_name);
		if (sysfs_read_ulong(path, 16, &device) || device != 0x11e8)
			continue;
		ret = snprintf(bdf, len, "%s", de->d_name) >= (int)len ?
		      -ENAMETOOLONG : 0;
		break;
	}
	closedir(d);
	return ret;
}

void l2vm_init(struct l2vm *vm)
{
	memset(vm, 0, sizeof(*vm));
	qmp_init(&vm->qmp);
	vm->serial_fd = -1;
}

/* The per-VM file @name into @buf. */
static void vm_path(const struct l2vm *vm, const char *name, char *buf,
		    size_t len)
{
	snprintf(buf, len, "%s/%s", vm->dir, name);
}

static bool reap(struct l2vm *vm, int flags)
{
	pid_t r;
	int st;

	if (!vm->pid || vm->reaped)
		return vm->reaped;
	do {
		r = waitpid(vm->pid, &st, flags);
	} while (r < 0 && errno == EINTR);
	if (r == vm->pid || (r < 0 && errno == ECHILD)) {
		vm->reaped = true;
		vm->status = r == vm->pid ? st : -1;
	}
	return vm->reaped;
}

bool l2vm_running(struct l2vm *vm)
{
	return vm->pid && !reap(vm, WNOHANG);
}

static bool alive_cb(void *arg)
{
	return l2vm_running(arg);
}

int l2vm_start(struct l2vm *vm, const struct l2vm_opts *o)
{
	char mem[32], smp_m[160], vfio[512], balloon[256], append[1024];
	char backend[256], serial[160], qmp_arg[160], logpath[128];
	const char *argv[L2VM_MAX_ARGS];
	unsigned long target, threshold;
	int argc = 0, i, ret, fd;
	size_t off = 0;
	pid_t parent, pid;

	l2vm_init(vm);
	if (!o->mem_mib)
		return -EINVAL;
	if (o->no_vfio) {
		if (o->fastboot || o->vfio_props || o->bdf)
			return -EINVAL;
	} else if (o->bdf) {
		if (snprintf(vm->bdf, sizeof(vm->bdf), "%s", o->bdf) >=
		    (int)sizeof(vm->bdf))
			return -EINVAL;
	} else {
		ret = l2vm_find_edu(vm->bdf, sizeof(vm->bdf));
		if (ret)
			return ret;
	}
	snprintf(vm->dir, sizeof(vm->dir), "/tmp/l2vm.XXXXXX");
	if (!mkdtemp(vm->dir)) {
		vm->dir[0] = '\0';
		return -errno;
	}

	/* By default no initial target where the guest is not larger. */
	target = o->target_mib;
	if (!target && o->mem_mib > L2VM_TARGET_MIB)
		target = L2VM_TARGET_MIB;
	threshold = o->threshold_mib ? o->threshold_mib : L2VM_THRESHOLD_MIB;

	snprintf(mem, sizeof(mem), "%lum", o->mem_mib);
	snprintf(serial, sizeof(serial), "file,id=con,path=%s/serial.log",
		 vm->dir);
	snprintf(qmp_arg, sizeof(qmp_arg), "unix:%s/qmp.sock,server=on,wait=off",
		 vm->dir);
	snprintf(append, sizeof(append),
		 "console=ttyS0 loglevel=1 kunit.enable=0 panic=-1 l2.mode=%s%s%s",
		 o->mode ? o->mode : "marker", o->append ? " " : "",
		 o->append ? o->append : "");
	snprintf(vfio, sizeof(vfio), "vfio-pci,host=%s", vm->bdf);
	if (o->fastboot)
		snprintf(vfio + strlen(vfio), sizeof(vfio) - strlen(vfio),
			 ",x-defer-map=on,x-defer-map-threshold=%lum",
			 threshold);
	if (o->vfio_props)
		snprintf(vfio + strlen(vfio), sizeof(vfio) - strlen(vfio),
			 ",%s", o->vfio_props);
	snprintf(balloon, sizeof(balloon), "virtio-balloon-pci,id=balloon0");
	if (o->fastboot && target)
		snprintf(balloon + strlen(balloon),
			 sizeof(balloon) - strlen(balloon),
			 ",x-initial-target=%lum", target);
	if (o->balloon_props)
		snprintf(balloon + strlen(balloon),
			 sizeof(balloon) - strlen(balloon), ",%s",
			 o->balloon_props);
	snprintf(smp_m, sizeof(smp_m), "q35%s",
		 o->hugetlb ? ",memory-backend=ram0" : "");
	snprintf(backend, sizeof(backend),
		 "memory-backend-file,id=ram0,size=%lum,mem-path=%s,prealloc=off",
		 o->mem_mib, L2VM_HUGEPAGES);

	argv[argc++] = L2VM_QEMU;
	argv[argc++] = "-accel";
	argv[argc++] = "kvm";
	argv[argc++] = "-M";
	argv[argc++] = smp_m;
	argv[argc++] = "-cpu";
	argv[argc++] = "host";
	argv[argc++] = "-smp";
	argv[argc++] = "1";
	argv[argc++] = "-m";
	argv[argc++] = mem;
	if (o->hugetlb) {
		argv[argc++] = "-object";
		argv[argc++] = backend;
	}
	argv[argc++] = "-nodefaults";
	argv[argc++] = "-no-user-config";
	argv[argc++] = "-display";
	argv[argc++] = "none";
	argv[argc++] = "-vga";
	argv[argc++] = "none";
	argv[argc++] = "-nic";
	argv[argc++] = "none";
	argv[argc++] = "-no-reboot";
	argv[argc++] = "-L";
	argv[argc++] = L2VM_SHARE;
	argv[argc++] = "-chardev";
	argv[argc++] = serial;
	argv[argc++] = "-serial";
	argv[argc++] = "chardev:con";
	argv[argc++] = "-qmp";
	argv[argc++] = qmp_arg;
	argv[argc++] = "-kernel";
	argv[argc++] = L2VM_KERNEL;
	argv[argc++] = "-initrd";
	argv[argc++] = L2VM_INITRD;
	argv[argc++] = "-append";
	argv[argc++] = append;
	if (!o->no_vfio) {
		argv[argc++] = "-device";
		argv[argc++] = vfio;
	}
	argv[argc++] = "-device";
	argv[argc++] = balloon;
	for (i = 0; o->extra && o->extra[i]; i++) {
		if (argc >= L2VM_MAX_ARGS - 1)
			return -E2BIG;
		argv[argc++] = o->extra[i];
	}
	argv[argc] = NULL;

	for (i = 0; i < argc && off < sizeof(vm->cmdline); i++)
		off += snprintf(vm->cmdline + off, sizeof(vm->cmdline) - off,
				"%s%s", i ? " " : "", argv[i]);

	vm_path(vm, "qemu.log", logpath, sizeof(logpath));
	parent = getpid();
	fflush(NULL);
	vm->launch_us = l2vm_now_us();
	/*
	 * The child must not write to *vm: it may live in memory shared
	 * with other processes (a kselftest fixture's MAP_SHARED data).
	 */
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		/* QEMU must not outlive the test or benchmark. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			if (fd > STDERR_FILENO)
				close(fd);
		}
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			if (fd > STDIN_FILENO)
				close(fd);
		}
		execv(L2VM_QEMU, (char * const *)argv);
		fprintf(stderr, "l2vm: exec %s: %s\n", L2VM_QEMU,
			strerror(errno));
		_exit(127);
	}
	vm->pid = pid;
	if (o->no_qmp)
		return 0;

	vm_path(vm, "qmp.sock", qmp_arg, sizeof(qmp_arg));
	ret = qmp_connect(&vm->qmp, qmp_arg, L2VM_QMP_TIMEOUT_MS, alive_cb, vm);
	/* A QEMU that fails may close the socket just before it exits. */
	if (ret && !l2vm_wait_exit(vm, L2VM_EXIT_MS))
		return -ECHILD;
	return ret;
}

/* Append what DIR/serial.log gained since the last read. */
static int serial_read(struct l2vm *vm)
{
	char path[128];
	ssize_t n;
	char *p;

	if (vm->serial_fd < 0) {
		if (!vm->dir[0])
			return -ENOENT;
		vm_path(vm, "serial.log", path, sizeof(path));
		vm->serial_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (vm->serial_fd < 0)
			return errno == ENOENT ? 0 : -errno;
	}
	for (;;) {
		if (vm->serial_cap - vm->serial_len < 4096 + 1) {
			size_t cap = vm->serial_cap ? 2 * vm->serial_cap : 65536;

			p = realloc(vm->serial, cap);
			if (!p)
				return -ENOMEM;
			vm->serial = p;
			vm->serial_cap = cap;
		}
		n = read(vm->serial_fd, vm->serial + vm->serial_len,
			 vm->serial_cap - vm->serial_len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		vm->serial[vm->serial_len + n] = '\0';
		if (!n)
			return 0;
		vm->serial_len += n;
	}
}

static bool serial_find(struct l2vm *vm, const char *needle, size_t from)
{
	if (!vm->serial || from >= vm->serial_len + 1)
		return false;
	return memmem(vm->serial + from, vm->serial_len - from, needle,
		      strlen(needle));
}

bool l2vm_serial_has(struct l2vm *vm, const char *needle)
{
	serial_read(vm);
	return serial_find(vm, needle, 0);
}

int l2vm_serial_line(struct l2vm *vm, const char *needle, char *buf,
		     size_t len)
{
	const char *p, *s, *e;

	serial_read(vm);
	if (!vm->serial)
		return -ENOENT;
	p = memmem(vm->serial, vm->serial_len, needle, strlen(needle));
	if (!p)
		return -ENOENT;
	for (s = p; s > vm->serial && s[-1] != '\n'; s--)
		;
	for (e = p; *e && *e != '\n' && *e != '\r'; e++)
		;
	snprintf(buf, len, "%.*s", (int)(e - s), s);
	return 0;
}

int l2vm_wait_line(struct l2vm *vm, const char *needle, int timeout_ms,
		   long long *at_us)
{
	long long deadline = l2vm_now_us() + timeout_ms * 1000LL, t;
	size_t nlen = strlen(needle), from = 0;
	bool exited;
	int ret;

	for (;;) {
		exited = !l2vm_running(vm);
		ret = serial_read(vm);
		t = l2vm_now_us();
		if (ret)
			return ret;
		if (serial_find(vm, needle, from)) {
			if (at_us)
				*at_us = t;
			return 0;
		}
		if (exited)
			return -ECHILD;
		if (t > deadline)
			return -ETIMEDOUT;
		from = vm->serial_len >= nlen ? vm->serial_len - nlen + 1 : 0;
		usleep(L2VM_POLL_US);
	}
}

int l2vm_qmp(struct l2vm *vm, const char *cmd_json, char *reply, size_t len)
{
	return qmp_execute(&vm->qmp, cmd_json, reply, len, L2VM_QMP_TIMEOUT_MS);
}

int l2vm_query_fastboot(struct l2vm *vm, struct l2vm_fastboot *f)
{
	static const struct {
		const char *key;
		size_t off;
	} fields[] = {
		{ "deferred", offsetof(struct l2vm_fastboot, deferred) },
		{ "mapped", offsetof(struct l2vm_fastboot, mapped) },
		{ "failed", offsetof(struct l2vm_fastboot, failed) },
		{ "initial-target", offsetof(struct l2vm_fastboot, initial_target) },
		{ "balloon-target", offsetof(struct l2vm_fastboot, balloon_target) },
		{ "balloon-actual", offsetof(struct l2vm_fastboot, balloon_actual) },
		{ "start-us", offsetof(struct l2vm_fastboot, start_us) },
		{ "machine-ready-us", offsetof(struct l2vm_fastboot, machine_ready_us) },
		{ "fence-us", offsetof(struct l2vm_fastboot, fence_us) },
		{ "complete-us", offsetof(struct l2vm_fastboot, complete_us) },
	};
	char reply[2048];
	size_t i;
	int ret;

	memset(f, 0, sizeof(*f));
	ret = l2vm_qmp(vm, "{\"execute\": \"x-query-fastboot\"}", reply,
		       sizeof(reply));
	if (ret)
		return ret;
	if (!qmp_reply_ok(reply)) {
		fprintf(stderr, "# l2vm: x-query-fastboot: %s\n", reply);
		return -EPROTO;
	}
	ret = qmp_json_str(reply, "phase", f->phase, sizeof(f->phase));
	for (i = 0; !ret && i < ARRAY_SIZE(fields); i++)
		ret = qmp_json_int(reply, fields[i].key,
				   (int64_t *)((char *)f + fields[i].off));
	if (ret)
		fprintf(stderr, "# l2vm: x-query-fastboot: unexpected reply %s\n",
			reply);
	return ret ? -EPROTO : 0;
}

int l2vm_wait_event(struct l2vm *vm, const char *name, char *ev, size_t len,
		    int timeout_ms)
{
	return qmp_wait_event(&vm->qmp, name, ev, len, timeout_ms);
}

int l2vm_wait_exit(struct l2vm *vm, int timeout_ms)
{
	long long deadline = l2vm_now_us() + timeout_ms * 1000LL;

	if (!vm->pid)
		return -ECHILD;
	while (l2vm_running(vm)) {
		if (l2vm_now_us() > deadline)
			return -ETIMEDOUT;
		usleep(L2VM_POLL_US);
	}
	return 0;
}

void l2vm_kill(struct l2vm *vm)
{
	if (!l2vm_running(vm))
		return;
	kill(vm->pid, SIGKILL);
	reap(vm, 0);
}

int l2vm_stop(struct l2vm *vm, int timeout_ms)
{
	char reply[512];

	if (!vm->pid)
		return -ECHILD;
	if (l2vm_running(vm) && vm->qmp.fd >= 0)
		qmp_execute(&vm->qmp, "{\"execute\": \"quit\"}", reply,
			    sizeof(reply), timeout_ms);
	qmp_close(&vm->qmp);
	if (l2vm_wait_exit(vm, timeout_ms)) {
		l2vm_kill(vm);
		return -ETIMEDOUT;
	}
	return WIFEXITED(vm->status) && !WEXITSTATUS(vm->status) ? 0 : -EIO;
}

static void dump_file(const char *path, FILE *f, size_t tail)
{
	char buf[4096], *line, *save;
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(f, "# (%s: %s)\n", path, strerror(errno));
		return;
	}
	if (!fstat(fd, &st) && (size_t)st.st_size > tail)
		lseek(fd, st.st_size - tail, SEEK_SET);
	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		/* One "# " per line, so that TAP readers skip it. */
		for (line = strtok_r(buf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			fprintf(f, "#   %s\n", line);
	}
	close(fd);
}

void l2vm_dump(struct l2vm *vm, FILE *f)
{
	char path[128];

	if (!vm->dir[0])
		return;
	fprintf(f, "# l2vm: %s\n", vm->cmdline);
	if (vm->reaped) {
		if (WIFEXITED(vm->status))
			fprintf(f, "# l2vm: QEMU exited with status %d\n",
				WEXITSTATUS(vm->status));
		else if (WIFSIGNALED(vm->status))
			fprintf(f, "# l2vm: QEMU killed by signal %d\n",
				WTERMSIG(vm->status));
	}
	fprintf(f, "# l2vm: %s/qemu.log:\n", vm->dir);
	vm_path(vm, "qemu.log", path, sizeof(path));
	dump_file(path, f, 4096);
	fprintf(f, "# l2vm: %s/serial.log (tail):\n", vm->dir);
	vm_path(vm, "serial.log", path, sizeof(path));
	dump_file(path, f, 2048);
}

void l2vm_cleanup(struct l2vm *vm)
{
	static const char * const files[] = {
		"qemu.log", "serial.log", "qmp.sock"
	};
	char path[128];
	size_t i;

	l2vm_kill(vm);
	qmp_close(&vm->qmp);
	if (vm->serial_fd >= 0)
		close(vm->serial_fd);
	vm->serial_fd = -1;
	free(vm->serial);
	vm->serial = NULL;
	vm->serial_len = 0;
	vm->serial_cap = 0;
	if (vm->dir[0]) {
		for (i = 0; i < ARRAY_SIZE(files); i++) {
			vm_path(vm, files[i], path, sizeof(path));
			unlink(path);
		}
		rmdir(vm->dir);
		vm->dir[0] = '\0';
	}
}
