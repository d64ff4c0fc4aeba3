#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Boot the fastboot test kernel under QEMU (TCG) and run one command in it.

    scripts/vm.py [options] -- CMD [ARG...]

The guest is a q35 machine with an emulated Intel IOMMU (interrupt
remapping, caching mode), QEMU's ``edu`` PCI device (a DMA engine to prove
IOVA mappings with) and a virtio-balloon device.  CMD runs as root in the
guest's initramfs under /bin/sh, in the shared directory (--share, default:
the current directory, mounted at /host over 9p).  Its output is printed
here as it comes and its exit status is ours.

Channels (serial ports, so nothing depends on guest networking):
  ttyS0  kernel console            -> <logdir>/console.log
  ttyS1  CMD's stdout and stderr   -> here (and <logdir>/output.log)
  ttyS2  hypervisor requests: the guest writes one QMP command (JSON) per
         line, we run it on QEMU's monitor and answer with the reply line
         (tools/testing/selftests/fastboot/lib/hv.c is the guest side)
QEMU's QMP socket is <logdir>/qmp.sock for anything else on the host.

--balloon-target BYTES starts QEMU paused (-S), sets the balloon target
over QMP and only then lets the guest run, so that the balloon driver finds
the target in the device's config at probe; the guest's command line gets
fastboot.balloon_target=BYTES.  --balloon-opts adds properties to the
balloon device (e.g. deflate-on-oom=on).

--l0 runs the QEMU that scripts/build-qemu.sh --l0 builds instead of the
installed one: the same QEMU 10 with test-only fixes to its SVM emulation,
for guests that run KVM themselves (the nested boots).

Exit status: CMD's, or 124 if --timeout expired, 125 if the kernel logged a
warning, BUG, oops, lockdep, KASAN or UBSAN report, hung task or RCU stall,
or tainted itself with one of those (even if CMD passed; a splat on the
console also stops the guest VM_SPLAT_GRACE seconds later, 120 by
default, if CMD has not finished by then), 126 if the guest
stopped before CMD finished, 127 if QEMU could not be started (or refused
the --balloon-target command).
"""

import argparse
import json
import os
import re
import selectors
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", os.path.join(TOP, "build"))
EXIT_MARK = "@@FASTBOOT-EXIT "
# Taint flags that mean a splat: bad page (5), died (7), warning (9),
# soft lockup (14).  Module taints (out of tree, unsigned) do not count.
TAINT_SPLAT = (1 << 5) | (1 << 7) | (1 << 9) | (1 << 14)
QEMU_MIN = 10           # 7.2 executes stale code after text patching

# The nested boots' L1 runs here (--l0), see testing.rst, "Interrupts after
# VMRUN"; it has no firmware of its own (DFSG tarball), so it gets Debian's.
L0_QEMU = os.path.join(BUILD, "qemu-l0/obj/qemu-system-x86_64")
L0_FIRMWARE = ["-L", "/usr/share/seabios", "-L", "/usr/share/qemu"]

# Seconds a guest may run on after a splat before it is stopped.
SPLAT_GRACE = int(os.environ.get("VM_SPLAT_GRACE", "120"))

# Console lines that fail a run whatever the command returned.
SPLATS = re.compile(
    r"WARNING:|BUG:|\bOops\b|Kernel panic|kernel BUG at|general protection"
    r"|possible circular locking|possible recursive locking"
    r"|inconsistent lock state|suspicious RCU usage|KASAN|UBSAN"
    r"|INFO: task .* blocked for more than|rcu: INFO: .* detected stalls"
    r"|Call Trace:")


def newc_entry(name, data, mode):
    """One entry of a cpio 'newc' archive (what the kernel unpacks)."""
    name_b = name.encode() + b"\0"
    hdr = "070701" + "".join("%08X" % v for v in (
        0, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0))
    out = hdr.encode() + name_b
    out += b"\0" * (-len(out) % 4)
    out += data + b"\0" * (-len(data) % 4)
    return out


def command_cpio(cmd, workdir):
    """A small archive, appended to the initramfs, carrying CMD."""
    script = "#!/bin/sh\n"
    if workdir:
        script += "cd %s || exit 1\n" % shlex.quote(workdir)
    script += " ".join(shlex.quote(a) for a in cmd) + "\n"
    out = newc_entry("fastboot", b"", 0o040755)
    out += newc_entry("fastboot/cmd", script.encode(), 0o100755)
    out += newc_entry("TRAILER!!!", b"", 0)
    return out + b"\0" * (-len(out) % 512)


class Qmp:
    """Minimal synchronous QMP client over an accepted socket."""

    def __init__(self, sock, events_log):
        self.sock = sock
        self.buf = b""
        self.events = events_log
        self._read()                    # greeting
        self.call({"execute": "qmp_capabilities"})

    def _read(self, timeout=60):
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("QMP closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, cmd):
        self.sock.sendall(json.dumps(cmd).encode() + b"\n")
        while True:
            msg = self._read()
            if "event" in msg:
                self.events.write(json.dumps(msg) + "\n")
                self.events.flush()
                continue
            return msg


SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_bytes(text):
    """A size in bytes: a positive integer, optionally with K, M, G or T
    (binary units, as QEMU's -m); argparse type of --balloon-target."""
    m = re.fullmatch(r"\s*(\d+)\s*(?:([KMGT])(?:i?B)?|B)?\s*", text, re.IGNORECASE)
    if not m or int(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError("not a positive size: %r" % text)
    return int(m.group(1)) * SIZE_UNITS[(m.group(2) or "").upper()]


def balloon_device(opts=""):
    """The -device string of the balloon, with --balloon-opts appended."""
    dev = "virtio-balloon-pci,id=balloon0"
    opts = (opts or "").strip().strip(",")
    return dev + "," + opts if opts else dev


def startup_commands(balloon_target=None):
    """QMP commands run on the private monitor before the guest may run:
    with a balloon target, QEMU starts paused (-S), gets the target, and
    is let go.  [] means QEMU starts running (no -S)."""
    if balloon_target is None:
        return []
    return [{"execute": "balloon", "arguments": {"value": balloon_target}},
            {"execute": "cont"}]


def kernel_append(extra="", balloon_target=None):
    """The guest's kernel command line: ours, then --append.  A preset
    balloon target is announced as fastboot.balloon_target=BYTES, for the
    tests that check what the guest did with it."""
    # ignore_loglevel: every warning reaches the console, whatever CMD or
    # --append does to the log level.
    append = ("console=ttyS0,115200 ignore_loglevel panic=-1 rdinit=/init intel_iommu=on "
              "fastboot.out=ttyS1 fastboot.hv=ttyS2 ")
    if balloon_target is not None:
        append += "fastboot.balloon_target=%d " % balloon_target
    return (append + (extra or "")).strip()


def remove_stale(paths):
    """Remove what an earlier run left at each of @paths.  QEMU creates them
    anew, but only once it runs: until then the splat scan would read the
    previous run's console and stop this run for its splats."""
    for p in paths:
        if os.path.lexists(p):
            os.unlink(p)


def triple_fault(reset_log):
    """A note for the exit message if QEMU logged a triple fault, else ""."""
    try:
        with open(reset_log, errors="replace") as f:
            if any(ln.startswith("Triple fault") for ln in f):
                return ", after a triple fault (CPU state in %s)" % reset_log
    except OSError:
        pass
    return ""


def listen(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(1)
    return s


def splats(console_path):
    try:
        with open(console_path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    return [ln for ln in lines if SPLATS.search(ln)]


def parser():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernel", default=os.path.join(BUILD, "obj/arch/x86/boot/bzImage"))
    ap.add_argument("--initrd", default=os.path.join(BUILD, "initramfs.cpio.gz"))
    ap.add_argument("--qemu", default=os.environ.get("QEMU", "qemu-system-x86_64"))
    ap.add_argument("--l0", action="store_true",
                    help="run %s (scripts/build-qemu.sh --l0: QEMU 10.0.2 with the "
                    "test-only SVM fixes the nested boots need) with the installed "
                    "firmware, instead of --qemu" % L0_QEMU)
    ap.add_argument("--accel", default=os.environ.get("VM_ACCEL", "tcg,thread=multi,tb-size=256"),
                    help="QEMU -accel (multi-threaded TCG: a host thread per vCPU)")
    ap.add_argument("--mem", default=os.environ.get("VM_MEM", "2G"), help="guest RAM (2G)")
    ap.add_argument("--smp", default=os.environ.get("VM_SMP", "2"), help="vCPUs (2)")
    ap.add_argument("--append", default=os.environ.get("VM_APPEND", ""),
                    help="extra kernel command-line arguments")
    ap.add_argument("--share", default=os.getcwd(),
                    help="host directory mounted at /host, CMD's working directory")
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("VM_TIMEOUT", "1800")),
                    help="seconds before the guest is killed (1800)")
    ap.add_argument("--logdir", default=os.path.join(BUILD, "vm"),
                    help="console.log, output.log, qmp.sock, qemu.log, "
                    "qemu-reset.log (-d cpu_reset) go here")
    ap.add_argument("--console", action="store_true", help="also print the kernel console")
    ap.add_argument("--allow-splats", action="store_true",
                    help="do not fail the run on kernel warnings in the console")
    ap.add_argument("--qemu-arg", action="append", default=[],
                    help="extra QEMU argument (repeatable)")
    ap.add_argument("--balloon-target", type=parse_bytes, metavar="BYTES",
                    help="balloon target set while QEMU is paused, before the guest "
                    "runs (bytes, or with K/M/G: the guest's size after inflating)")
    ap.add_argument("--balloon-opts", default="", metavar="STR",
                    help="appended to -device virtio-balloon-pci,id=balloon0 "
                    "(e.g. deflate-on-oom=on)")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    return ap


def main():
    ap = parser()
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("no command given (vm.py [options] -- CMD)")
    for f in (a.kernel, a.initrd):
        if not os.path.exists(f):
            sys.exit("vm.py: %s missing (make kernel initramfs)" % f)
    if a.l0:
        if not os.access(L0_QEMU, os.X_OK):
            sys.exit("vm.py: %s missing (scripts/build-qemu.sh --l0)" % L0_QEMU)
        a.qemu = L0_QEMU
        a.qemu_arg = L0_FIRMWARE + a.qemu_arg

    try:
        ver = subprocess.run([a.qemu, "--version"], capture_output=True, text=True).stdout
    except OSError as e:
        sys.stderr.write("vm.py: cannot run %s: %s (make deps)\n" % (a.qemu, e.strerror))
        return 127
    m = re.search(r"version (\d+)\.", ver)
    if not m or int(m.group(1)) < QEMU_MIN:
        sys.stderr.write("vm.py: warning: %s is not QEMU %d or later; see "
                         "Documentation/fastboot/testing.rst (int3 oops)\n"
                         % (ver.splitlines()[0] if ver else a.qemu, QEMU_MIN))

    os.makedirs(a.logdir, exist_ok=True)
    console_log = os.path.join(a.logdir, "console.log")
    output_log = open(os.path.join(a.logdir, "output.log"), "w")
    events_log = open(os.path.join(a.logdir, "qmp-events.log"), "w")
    qemu_log = open(os.path.join(a.logdir, "qemu.log"), "w")
    qmp_path = os.path.join(a.logdir, "qmp.sock")
    reset_log = os.path.join(a.logdir, "qemu-reset.log")
    remove_stale([console_log, qmp_path, reset_log])
    # Socket paths must be short (108 bytes): keep the private ones in /tmp.
    sockdir = tempfile.mkdtemp(prefix="fastboot-vm-")
    out_path = os.path.join(sockdir, "out")
    hv_path = os.path.join(sockdir, "hv")
    qmp_priv = os.path.join(sockdir, "qmp")

    initrd = os.path.join(sockdir, "initrd")
    with open(initrd, "wb") as f:
        with open(a.initrd, "rb") as base:
            shutil.copyfileobj(base, f)
        # The kernel only takes an uncompressed archive that starts on a
        # 4-byte boundary; zeros between archives are skipped.
        f.write(b"\0" * (-f.tell() % 4))
        f.write(command_cpio(cmd, "/host" if a.share else None))

    append = kernel_append(a.append, a.balloon_target)
    qemu = [a.qemu, "-nodefaults", "-display", "none", "-no-reboot",
            "-accel", a.accel,
            "-M", "q35,kernel-irqchip=split", "-cpu", "max",
            "-m", a.mem, "-smp", str(a.smp),
            "-device", "intel-iommu,intremap=on,caching-mode=on",
            "-device", "edu,dma_mask=0xffffffffffffffff",
            "-device", balloon_device(a.balloon_opts),
            "-kernel", a.kernel, "-initrd", initrd, "-append", append,
            "-chardev", "file,id=con,path=" + console_log, "-serial", "chardev:con",
            "-chardev", "socket,id=out,path=" + out_path, "-serial", "chardev:out",
            "-chardev", "socket,id=hv,path=" + hv_path, "-serial", "chardev:hv",
            "-chardev", "socket,id=qmp,path=" + qmp_priv,
            "-mon", "chardev=qmp,mode=control",
            # A second monitor for the user's own tools (qmp-shell, socat).
            "-qmp", "unix:%s,server=on,wait=off" % qmp_path,
            # Each vCPU reset, with the state before it: a triple fault
            # ends a -no-reboot guest without a word on its console.
            "-d", "cpu_reset", "-D", reset_log]
    if a.share:
        qemu += ["-virtfs", "local,path=%s,mount_tag=host,security_model=none,id=host"
                 % os.path.abspath(a.share)]
    startup = startup_commands(a.balloon_target)
    if startup:
        qemu.append("-S")
    qemu += a.qemu_arg

    listeners = {name: listen(p) for name, p in
                 (("out", out_path), ("hv", hv_path), ("qmp", qmp_priv))}
    proc = subprocess.Popen(qemu, stdin=subprocess.DEVNULL, stdout=qemu_log,
                            stderr=subprocess.STDOUT)
    # A cancelled job (SIGTERM) still stops QEMU, through the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sel = selectors.DefaultSelector()
    for name, s in listeners.items():
        sel.register(s, selectors.EVENT_READ, ("listen", name))

    deadline = time.monotonic() + a.timeout
    status = None
    taint = 0
    conns = {}
    qmp = None
    startup_error = None
    hv_buf = b""
    out_buf = b""
    con_pos = 0
    # A splat on the console fails the run anyway; once one is seen, give
    # the guest SPLAT_GRACE seconds to finish (and the trace to be
    # printed), then stop: a guest that splatted may never finish, and
    # --timeout can be most of CI's budget.
    scan_pos = 0
    next_scan = 0.0
    splat_seen = None
    stopped_on_splat = False
    try:
        exited = False
        while (status is None and startup_error is None
               and time.monotonic() < deadline):
            if not a.allow_splats and time.monotonic() >= next_scan:
                next_scan = time.monotonic() + 2
                if splat_seen is None and os.path.exists(console_log):
                    with open(console_log, "rb") as f:
                        f.seek(scan_pos)
                        chunk = f.read()
                    # Only whole lines; a partial one is read again.
                    chunk = chunk[:chunk.rfind(b"\n") + 1]
                    scan_pos += len(chunk)
                    lines = chunk.decode(errors="replace").splitlines()
                    if any(SPLATS.search(ln) for ln in lines):
                        splat_seen = time.monotonic()
                        sys.stderr.write(
                            "vm.py: kernel splat on the console; stopping "
                            "in %d s unless the guest finishes first\n"
                            % SPLAT_GRACE)
                elif (splat_seen is not None
                      and time.monotonic() - splat_seen > SPLAT_GRACE):
                    stopped_on_splat = True
                    break
            # Once QEMU has exited, read what it left in the sockets.
            exited = exited or proc.poll() is not None
            events = sel.select(timeout=0.2 if exited else 0.5)
            if exited and not events:
                break
            for key, _ in events:
                kind, name = key.data
                if kind == "listen":
                    c, _ = key.fileobj.accept()
                    sel.unregister(key.fileobj)
                    conns[name] = c
                    if name == "qmp":
                        try:
                            qmp = Qmp(c, events_log)
                            for sc in startup:
                                r = qmp.call(sc)
                                if "return" not in r:
                                    startup_error = "%s: %s" % (
                                        sc["execute"], json.dumps(r))
                                    break
                        except (OSError, ValueError):
                            break       # QEMU died: reported below
                        if startup_error:
                            break
                    else:
                        sel.register(c, selectors.EVENT_READ, ("conn", name))
                    continue
                try:
                    data = key.fileobj.recv(65536)
                except OSError:
                    data = b""          # QEMU went away: same as EOF
                if not data:
                    sel.unregister(key.fileobj)
                    continue
                if name == "out":
                    out_buf += data
                    while b"\n" in out_buf:
                        line, out_buf = out_buf.split(b"\n", 1)
                        text = line.decode(errors="replace").rstrip("\r")
                        if text.startswith(EXIT_MARK):
                            fields = text[len(EXIT_MARK):].split()
                            status = int(fields[0]) if fields[0].isdigit() else 126
                            taint = int(fields[1]) if len(fields) > 1 else 0
                            continue
                        print(text, flush=True)
                        output_log.write(text + "\n")
                        output_log.flush()
                elif name == "hv":
                    hv_buf += data
                    while b"\n" in hv_buf:
                        line, hv_buf = hv_buf.split(b"\n", 1)
                        try:
                            reply = qmp.call(json.loads(line))
                        except (ValueError, AttributeError, OSError) as e:
                            reply = {"error": {"class": "HarnessError", "desc": str(e)}}
                        try:
                            key.fileobj.sendall(json.dumps(reply).encode() + b"\n")
                        except OSError:
                            pass        # the guest is gone
            if a.console and os.path.exists(console_log):
                with open(console_log, errors="replace") as f:
                    f.seek(con_pos)
                    chunk = f.read()
                    con_pos = f.tell()
                sys.stderr.write(chunk)
    finally:
        if proc.poll() is None:
            # The guest powers off after CMD; give it a moment, then stop it.
            try:
                proc.wait(timeout=30 if status is not None else 0.1)
            except subprocess.TimeoutExpired:
                pass
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for c in list(conns.values()) + list(listeners.values()):
            c.close()
        shutil.rmtree(sockdir, ignore_errors=True)
        if os.path.exists(qmp_path):
            os.unlink(qmp_path)
        output_log.close()
        events_log.close()
        qemu_log.close()

    def tail(path, n=40):
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])

    if startup_error:
        sys.stderr.write("vm.py: QEMU refused a start-up command: %s\n" % startup_error)
        return 127
    if status is None and stopped_on_splat:
        found = splats(console_log)[:20]
        sys.stderr.write("vm.py: stopped %d s after a kernel splat; splat "
                         "lines in %s:\n  %s\n"
                         % (SPLAT_GRACE, console_log, "\n  ".join(found)))
        return 125
    if status is None:
        timed_out = time.monotonic() > deadline
        sys.stderr.write("vm.py: %s; last console lines (%s):\n%s\n" % (
            "timeout after %d s" % a.timeout if timed_out else
            "guest stopped before the command finished",
            console_log, tail(console_log)))
        sys.stderr.write("vm.py: qemu said:\n%s" % tail(qemu_log.name, 10))
        if not timed_out:
            sys.stderr.write("vm.py: QEMU exited with status %s%s\n" % (
                proc.returncode, triple_fault(reset_log)))
        return 124 if timed_out else 126
    found = [] if a.allow_splats else splats(console_log)
    if taint & TAINT_SPLAT and not a.allow_splats:
        found.append("kernel tainted: %#x (see Documentation/admin-guide/tainted-kernels.rst)"
                     % taint)
    if found:
        sys.stderr.write("vm.py: kernel splat in %s:\n  %s\n" % (
            console_log, "\n  ".join(found[:20])))
        return 125
    return status


if __name__ == "__main__":
    sys.exit(main())
