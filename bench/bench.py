#!/usr/bin/env python3
"""nutshell benchmarks: the same static programs under nutshell and under a Linux guest, booted by
the same QEMU with the same machine type, accelerator, CPU model and memory.

Usage: bench/run.sh [--quick] [options]        (see --help and BENCHMARKS.md)

Exit status: 0 when every row produced a number or an honest "n/a (reason)" for nutshell;
1 when the harness itself failed (a build, the Linux reference, a missing tool).
No benchmark asserts a time: the table is the result.

Only the Python standard library is used. Everything built goes to bench/.build/ (git-ignored).
"""

import argparse
import datetime
import glob
import json
import os
import random
import re
import select
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
GUEST = os.path.join(BENCH, "guest")

HELLO_TEXT = b"hello from nutshell-bench"
LINUX_EXIT_RE = re.compile(rb"@@BENCH-EXIT (\d+)@@")
RESULT_RE = re.compile(rb"RESULT ([^\r\n]*)")

# Sizes of the workloads: the full suite (what the issue asks for) and the quick mode (tests).
# nginx_conns: wrk's connections, the same on both sides; more than 2 overflow the accept queue
# of QEMU's hostfwd listener (libslirp listens with a backlog of 1) on the Linux side, and every
# connection then waits about 1 s for a SYN retransmission. nginx_secs: wrk's -d per file.
FULL = dict(reps=5, getppid=1_000_000, fs_files=10_000, fs_small=1024, fs_big_mib=100,
            compress_mib=50, sqlite_rows=200_000, console_bytes=64 << 20, nginx_secs=10,
            nginx_conns=2)
QUICK = dict(reps=1, getppid=100_000, fs_files=1_000, fs_small=1024, fs_big_mib=8,
             compress_mib=4, sqlite_rows=20_000, console_bytes=4 << 20, nginx_secs=3,
             nginx_conns=2)

# Guest programs: name -> (source, extra gcc flags before the source, libraries after it).
PROGRAMS = {
    "hello": ("hello.c", ["-static-pie"], []),
    "getppid": ("getppid.c", ["-static-pie"], []),
    "fsbench": ("fsbench.c", ["-static-pie"], []),
    "compress": ("compress.c", ["-static-pie"], ["-lz"]),
    "sqlite": ("sqlite.c", ["-static-pie"], ["-lsqlite3", "-lm"]),
    "console": ("console.c", ["-static-pie"], []),
}
# Static libraries some programs need, and the Debian package that has each.
STATIC_LIBS = {"-lz": ("libz.a", "zlib1g-dev"), "-lsqlite3": ("libsqlite3.a", "libsqlite3-dev")}


class HarnessError(Exception):
    """Something the harness needs is missing or broken: the run fails (exit 1)."""


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sh(cmd, cwd=None, timeout=1800, what=None):
    """Run a build command; on failure raise HarnessError with the tail of its output."""
    try:
        p = subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise HarnessError(f"{what or cmd[0]}: timed out after {timeout} s")
    except OSError as e:
        raise HarnessError(f"{what or cmd[0]}: {e}")
    if p.returncode != 0:
        tail = p.stdout.decode(errors="replace").strip().splitlines()[-15:]
        raise HarnessError(f"{what or ' '.join(cmd)} failed (status {p.returncode}):\n  "
                           + "\n  ".join(tail))
    return p.stdout.decode(errors="replace")


def apt_install(packages):
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise HarnessError(f"need the Debian packages {' '.join(packages)} "
                           "(not root or no apt-get: install them by hand)")
    log(f"apt-get install {' '.join(packages)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-q"],
                ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]):
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=env, timeout=1200)
        if p.returncode != 0:
            tail = p.stdout.decode(errors="replace").strip().splitlines()[-10:]
            raise HarnessError(f"{' '.join(cmd)} failed:\n  " + "\n  ".join(tail))


# ---------------------------------------------------------------------------------------------
# Building

def multiarch_libdirs():
    return ["/usr/lib/x86_64-linux-gnu", "/usr/lib", "/lib/x86_64-linux-gnu", "/usr/local/lib"]


def have_static_lib(name):
    return any(os.path.exists(os.path.join(d, name)) for d in multiarch_libdirs())


def build_guests(build):
    for tool in ("gcc", "strip"):
        if not shutil.which(tool):
            raise HarnessError(f"{tool} not found (apt-get install gcc binutils)")
    missing = sorted({pkg for _, _, libs in PROGRAMS.values() for lib in libs
                      if lib in STATIC_LIBS and not have_static_lib(STATIC_LIBS[lib][0])
                      for pkg in [STATIC_LIBS[lib][1]]})
    if missing:
        apt_install(missing)
    out = {}
    for name, (src, flags, libs) in PROGRAMS.items():
        src_path = os.path.join(GUEST, src)
        dst = os.path.join(build, "guest", name)
        out[name] = dst
        if os.path.exists(dst) and os.path.getmtime(dst) >= os.path.getmtime(src_path):
            continue
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        sh(["gcc", "-O2", "-Wall", *flags, "-o", dst, src_path, *libs], what=f"gcc {src}")
    init_src = os.path.join(GUEST, "init.c")
    init = os.path.join(build, "guest", "init")
    if not (os.path.exists(init) and os.path.getmtime(init) >= os.path.getmtime(init_src)):
        sh(["gcc", "-O2", "-Wall", "-static", "-o", init, init_src], what="gcc init.c")
    out["init"] = init
    netinit_src = os.path.join(GUEST, "netinit.c")
    netinit = os.path.join(build, "guest", "netinit")
    if not (os.path.exists(netinit) and
            os.path.getmtime(netinit) >= os.path.getmtime(netinit_src)):
        sh(["gcc", "-O2", "-Wall", "-static", "-o", netinit, netinit_src], what="gcc netinit.c")
    out["netinit"] = netinit
    tsc_src = os.path.join(BENCH, "host", "tsc_khz.c")
    tsc = os.path.join(build, "host", "tsc_khz")
    if not (os.path.exists(tsc) and os.path.getmtime(tsc) >= os.path.getmtime(tsc_src)):
        os.makedirs(os.path.dirname(tsc), exist_ok=True)
        sh(["gcc", "-O2", "-Wall", "-o", tsc, tsc_src], what="gcc tsc_khz.c")
    out["tsc_khz"] = tsc
    return out


def cpio_newc(entries):
    """A cpio archive, newc format. entries: (name, mode, data, (rdev_major, rdev_minor))."""
    out = bytearray()

    def add(ino, name, mode, data=b"", rdev=(0, 0)):
        nb = name.encode() + b"\0"
        fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(nb), 0]
        out.extend(b"070701" + "".join(f"{v:08X}" for v in fields).encode() + nb)
        out.extend(b"\0" * (-len(out) % 4))
        out.extend(data)
        out.extend(b"\0" * (-len(out) % 4))

    for ino, (name, mode, data, rdev) in enumerate(entries, start=1):
        add(ino, name, mode, data, rdev)
    add(0, "TRAILER!!!", 0)
    return bytes(out)


def linux_initramfs(build, init, prog, name):
    """The Linux reference initrd: /init (runs the program, prints its status, powers off),
    the program as /<name>, /dev/console (the initial console of init) and /tmp."""
    path = os.path.join(build, "linux", f"{name}.cpio")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(init, "rb") as f:
        init_data = f.read()
    with open(prog, "rb") as f:
        prog_data = f.read()
    data = cpio_newc([
        ("dev", 0o40755, b"", (0, 0)),
        ("dev/console", 0o20600, b"", (5, 1)),
        ("tmp", 0o41777, b"", (0, 0)),
        ("init", 0o100755, init_data, (0, 0)),
        (name, 0o100755, prog_data, (0, 0)),
    ])
    with open(path, "wb") as f:
        f.write(data)
    return path


def find_linux_kernel(install):
    def newest():
        found = sorted(glob.glob("/boot/vmlinuz-*cloud*"), key=natural_key)
        return found[-1] if found else None

    k = newest()
    if k is None and install:
        apt_install(["linux-image-cloud-amd64"])
        k = newest()
    if k is None:
        raise HarnessError("no /boot/vmlinuz-*cloud* (apt-get install linux-image-cloud-amd64)")
    if not os.access(k, os.R_OK):
        raise HarnessError(f"{k} is not readable")
    return k


def natural_key(s):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


# ---------------------------------------------------------------------------------------------
# Running a VM and capturing its output with timestamps

class Run:
    """One VM run: output bytes, arrival time of each chunk, exit time and status."""

    def __init__(self, cmd, timeout):
        self.cmd = cmd
        self.timeout = timeout
        self.out = bytearray()
        self.marks = []  # (offset of the chunk's first byte, arrival time since start)
        self.timed_out = False
        self.rc = None
        self.exit_s = None
        self.spawn_error = None
        self._go()

    def _go(self):
        t0 = time.monotonic()
        try:
            p = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as e:
            self.spawn_error = str(e)
            return
        fd = p.stdout.fileno()
        deadline = t0 + self.timeout
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.timed_out = True
                    break
                ready, _, _ = select.select([fd], [], [], min(left, 1.0))
                if not ready:
                    continue
                data = os.read(fd, 1 << 20)
                now = time.monotonic() - t0
                if not data:
                    break
                self.marks.append((len(self.out), now))
                self.out.extend(data)
            if not self.timed_out:
                try:
                    self.rc = p.wait(timeout=max(0.5, deadline - time.monotonic()))
                    self.exit_s = time.monotonic() - t0
                except subprocess.TimeoutExpired:
                    self.timed_out = True
        finally:
            if p.poll() is None:
                stop(p)
            p.stdout.close()
        self.wall_s = time.monotonic() - t0

    def time_at(self, offset):
        """Arrival time (s since QEMU start) of the byte at offset."""
        t = None
        for off, when in self.marks:
            if off > offset:
                break
            t = when
        return t


def stop(p):
    """Stop a process we started, and its process group (it leads its own session)."""
    for sig, wait in ((signal.SIGTERM, 3), (signal.SIGKILL, 10)):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def qemu_base(machine, mem_mib):
    args = ["qemu-system-x86_64", "-M", machine, "-accel", "tcg", "-cpu", "max",
            "-m", f"{mem_mib}M", "-nodefaults", "-no-user-config", "-no-reboot",
            "-display", "none", "-serial", "stdio"]
    if machine == "pc":  # keep SeaBIOS off the serial console, as the nutshell CLI does
        args += ["-fw_cfg", "name=etc/sercon-port,string=0"]
    return args


class Outcome:
    """What one program run gave: metrics, or a reason it failed."""

    def __init__(self, run, status, metrics=None, reason=None):
        self.run = run
        self.status = status
        self.metrics = metrics or {}
        self.reason = reason
        self.clock_bad = False

    @property
    def ok(self):
        return self.reason is None


def error_line(text, skip=()):
    """The first line that says what went wrong."""
    lines = [ln.strip() for ln in text.replace("\r", "").splitlines() if ln.strip()]
    lines = [ln for ln in lines if not any(s in ln for s in skip)]
    for ln in lines:
        if ln.startswith("nutshell:") or "error" in ln.lower() or "not implemented" in ln:
            return ln
    return lines[0] if lines else None


class Side:
    name = "?"

    def outcome(self, run, expect_result=True, expect_text=None):
        raise NotImplementedError

    def _judge(self, run, status, program_text, expect_result, expect_text, skip=()):
        if run.spawn_error:
            return Outcome(run, None, reason=f"cannot start: {run.spawn_error}")
        metrics = {}
        for m in RESULT_RE.finditer(run.out):  # every RESULT line; later ones win
            for kv in m.group(1).decode(errors="replace").split():
                k, _, v = kv.partition("=")
                try:
                    metrics[k] = float(v)
                except ValueError:
                    pass
        why = None
        if run.timed_out:
            why = f"timed out after {run.timeout:.0f} s"
        elif status is None:
            why = "the VM stopped without the program's exit status"
        elif status != 0:
            why = f"exit status {status}"
        elif expect_result and not metrics:
            why = "no RESULT line"
        elif expect_text and expect_text not in run.out:
            why = f"no {expect_text.decode()!r} in the output"
        # The program timed itself with the guest kernel's clock; if its whole VM lived less
        # than that on the host, the guest's clock runs fast and its figures mean nothing.
        clock_bad = metrics.get("total_ms", 0) > run.wall_s * 1000 * 1.02 + 20
        if why is None and clock_bad:
            why = (f"guest clock runs fast: the program measured {metrics['total_ms']:,.0f} ms "
                   f"in a VM that lived {run.wall_s * 1000:,.0f} ms on the host")
            oc = Outcome(run, status, metrics, reason=why)
            oc.clock_bad = True
            return oc
        if why is None:
            return Outcome(run, status, metrics)
        first = error_line(program_text, skip)
        reason = f"{first} [{why}]" if first else why
        oc = Outcome(run, status, metrics, reason=reason)
        oc.clock_bad = clock_bad
        return oc


class NutshellCli(Side):
    name = "nutshell"

    def __init__(self, binary, machine):
        self.binary = binary
        self.machine = machine
        self.mode = "cli"

    def describe(self):
        return f"`nutshell run --machine {self.machine} --accel tcg --mem M` ({rel(self.binary)})"

    def command(self, prog, args, mem):
        return [self.binary, "run", "--mem", f"{mem}M", "--machine", self.machine,
                "--accel", "tcg", prog, *map(str, args)]

    def server_command(self, prog, args, host_port, guest_port, mem, volumes=(), adds=()):
        """A server: host_port of 127.0.0.1 published as the guest's guest_port, host
        directories shared as volumes (virtio-9p) or copied into the VM (--add, same path)."""
        files = [a for host, guest in volumes for a in ("--volume", f"{host}:{guest}")]
        files += [a for host in adds for a in ("--add", host)]
        return [self.binary, "run", "--mem", f"{mem}M", "--machine", self.machine,
                "--accel", "tcg", "-p", f"127.0.0.1:{host_port}:{guest_port}", *files,
                prog, *map(str, args)]

    def outcome(self, run, expect_result=True, expect_text=None):
        # nutshell run exits with the program's status; its own failures are 125-127 with a
        # message on stderr (merged into the output here).
        status = run.rc if run.rc is not None and run.rc >= 0 else None
        return self._judge(run, status, run.out.decode(errors="replace"), expect_result,
                           expect_text)

    def initrd_for(self, prog):
        """What the CLI gives QEMU: a cpio newc with the program as /<name>."""
        with open(prog, "rb") as f:
            return len(cpio_newc([(os.path.basename(prog), 0o100755, f.read(), (0, 0))]))

    def initrd_what(self):
        return "cpio newc holding the program (what `nutshell run` packs)"


class NutshellQemu(Side):
    name = "nutshell"

    def __init__(self, kernel, machine):
        self.kernel = kernel
        self.machine = machine
        self.mode = "qemu"

    def describe(self):
        return f"QEMU driven directly: `-kernel {rel(self.kernel)} -initrd PROGRAM`"

    def command(self, prog, args, mem):
        return qemu_base(self.machine, mem) + [
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-kernel", self.kernel, "-initrd", prog,
            "-append", " ".join(shlex.quote(a) for a in [os.path.basename(prog), *map(str, args)])]

    def outcome(self, run, expect_result=True, expect_text=None):
        status = None
        if run.rc is not None and run.rc > 0 and run.rc & 1:
            status = run.rc >> 1
        return self._judge(run, status, run.out.decode(errors="replace"), expect_result,
                           expect_text)

    def initrd_for(self, prog):
        return os.path.getsize(prog)

    def initrd_what(self):
        return "the program's ELF file itself"


class Linux(Side):
    name = "Linux"

    def __init__(self, vmlinuz, machine, tsc_khz, initramfs):
        self.vmlinuz = vmlinuz
        self.machine = machine
        self.tsc_khz = tsc_khz
        self.initramfs = initramfs  # program path -> initramfs path

    def cmdline(self, prog, args):
        words = " ".join(shlex.quote(a) for a in [f"/{os.path.basename(prog)}", *map(str, args)])
        return f"console=ttyS0 quiet tsc_early_khz={self.tsc_khz} panic=-1 -- {words}"

    def command(self, prog, args, mem):
        return qemu_base(self.machine, mem) + [
            "-kernel", self.vmlinuz, "-initrd", self.initramfs[prog],
            "-append", self.cmdline(prog, args)]

    def server_command(self, initramfs, argv, host_port, guest_port, mem):
        """A server: its initramfs (/init is netinit.c), QEMU's user-mode network with
        host_port of 127.0.0.1 forwarded to the guest's guest_port, the same netdev nutshell's
        CLI gives QEMU."""
        words = " ".join(shlex.quote(a) for a in argv)
        nic = "virtio-net-device" if self.machine == "microvm" else "virtio-net-pci"
        return qemu_base(self.machine, mem) + [
            "-kernel", self.vmlinuz, "-initrd", initramfs,
            "-append", f"console=ttyS0 quiet tsc_early_khz={self.tsc_khz} panic=-1 -- {words}",
            "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{host_port}-:{guest_port}",
            "-device", f"{nic},netdev=n0"]

    def outcome(self, run, expect_result=True, expect_text=None):
        m = LINUX_EXIT_RE.search(run.out)
        status = int(m.group(1)) if m else None
        text = run.out.decode(errors="replace")
        return self._judge(run, status, text, expect_result, expect_text,
                           skip=("PCI: Fatal", "reboot: Power down"))

    def initrd_for(self, prog):
        return os.path.getsize(self.initramfs[prog])


def rel(path):
    try:
        r = os.path.relpath(path, ROOT)
        return path if r.startswith("..") else r
    except ValueError:
        return path


# ---------------------------------------------------------------------------------------------
# nginx over the network: the same Debian nginx served to a load generator on the host through
# QEMU's user-mode network, under nutshell and under the Linux guest.

NGINX = "/usr/sbin/nginx"
NGINX_GUEST_PORT = 8080
# Files served (name in /www -> size); the rows measure each one on its own.
NGINX_FILES = {"1k.bin": 1024, "1m.bin": 1 << 20}
NGINX_CONF = """\
daemon off; master_process off; worker_processes 1; error_log stderr warn; pid /tmp/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path /tmp/body; proxy_temp_path /tmp/proxy; fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi; scgi_temp_path /tmp/scgi;
    sendfile on; tcp_nopush on; keepalive_timeout 65; default_type application/octet-stream;
    server { listen %d reuseport; root /www; }
}
""" % NGINX_GUEST_PORT
NGINX_ARGS = ["-e", "stderr", "-c", "/conf/nginx.conf"]
# getpwnam("www-data") at start-up when nginx runs as root without a `user` directive.
ETC_PASSWD = b"root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/sh\n" \
             b"nobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n"
ETC_GROUP = b"root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n"
NET_UP = b"@@NET-UP@@"


def nginx_tree(build):
    """bench/.build/nginx/{conf,www}: the configuration and the files served (the same bytes on
    both sides: nutshell gets them as volumes, the Linux guest in its initramfs)."""
    root = os.path.join(build, "nginx")
    conf, www = os.path.join(root, "conf"), os.path.join(root, "www")
    os.makedirs(conf, exist_ok=True)
    os.makedirs(www, exist_ok=True)
    with open(os.path.join(conf, "nginx.conf"), "w") as f:
        f.write(NGINX_CONF)
    rnd = random.Random(9)
    for name, size in NGINX_FILES.items():
        path = os.path.join(www, name)
        if not (os.path.exists(path) and os.path.getsize(path) == size):
            with open(path, "wb") as f:
                f.write(rnd.randbytes(size))
    return conf, www


def elf_libraries(prog):
    """The shared libraries and the dynamic loader of prog, as paths ldd names them."""
    text = sh(["ldd", prog], what=f"ldd {prog}")
    libs = []
    for line in text.splitlines():
        m = re.search(r"=>\s*(/\S+)", line) or re.match(r"\s*(/\S+)", line)
        if m:
            libs.append(m.group(1))
    if not libs:
        raise HarnessError(f"ldd {prog}: no libraries found")
    return libs


def kernel_modules(vmlinuz, names):
    """The module files (dependencies first) that give the Linux guest the drivers names, none
    for a driver built into the kernel. Modules come from /lib/modules/VERSION of the kernel."""
    version = os.path.basename(vmlinuz).split("-", 1)[-1]
    moddir = os.path.join("/lib/modules", version)

    def mod(path):
        return os.path.basename(path).split(".ko")[0].replace("-", "_")

    builtin = set()
    try:
        with open(os.path.join(moddir, "modules.builtin")) as f:
            builtin = {mod(ln.strip()) for ln in f if ln.strip()}
    except OSError:
        pass
    deps, by_name = {}, {}
    try:
        with open(os.path.join(moddir, "modules.dep")) as f:
            for line in f:
                path, _, rest = line.partition(":")
                deps[path] = rest.split()
                by_name[mod(path)] = path
    except OSError:
        if all(n in builtin for n in names):
            return []
        raise HarnessError(f"{moddir}/modules.dep not found: the modules of {vmlinuz} "
                           "are needed for its virtio network driver")
    order = []

    def visit(path):
        if path in order:
            return
        for d in deps.get(path, []):
            visit(d)
        order.append(path)

    for n in names:
        if n in builtin:
            continue
        if n not in by_name:
            raise HarnessError(f"kernel module {n} not found in {moddir}")
        visit(by_name[n])
    return [os.path.join(moddir, p) for p in order]


def nginx_initramfs(build, netinit, vmlinuz, machine, conf, www):
    """The Linux guest's initramfs for nginx: /init (netinit.c), nginx and its libraries at their
    host paths, the virtio network modules with /modules.list, /etc/passwd and group, /conf and
    /www (the files served), /dev/console, /tmp."""
    transport = "virtio_mmio" if machine == "microvm" else "virtio_pci"
    modules = kernel_modules(vmlinuz, [transport, "virtio_net"])
    files = {"init": netinit, NGINX.lstrip("/"): NGINX}
    for lib in elf_libraries(NGINX):
        files[lib.lstrip("/")] = lib
    for m in modules:
        files["modules/" + os.path.basename(m)] = m
    for d, guest in ((conf, "conf"), (www, "www")):
        for name in sorted(os.listdir(d)):
            files[f"{guest}/{name}"] = os.path.join(d, name)
    data = {"etc/passwd": ETC_PASSWD, "etc/group": ETC_GROUP,
            "modules.list": "".join(f"/modules/{os.path.basename(m)}\n"
                                    for m in modules).encode()}
    entries, dirs = [], set()

    def parents(name):
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in dirs:
                dirs.add(d)
                entries.append((d, 0o40755, b"", (0, 0)))

    for d, mode in (("dev", 0o40755), ("tmp", 0o41777), ("proc", 0o40555)):
        dirs.add(d)
        entries.append((d, mode, b"", (0, 0)))
    entries.append(("dev/console", 0o20600, b"", (5, 1)))
    for name, src in sorted(files.items()):
        parents(name)
        with open(src, "rb") as f:  # follows symlinks: the library itself
            entries.append((name, 0o100755, f.read(), (0, 0)))
    for name, content in sorted(data.items()):
        parents(name)
        entries.append((name, 0o100644, content, (0, 0)))
    path = os.path.join(build, "linux", f"nginx-{machine}.cpio")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(cpio_newc(entries))
    return path, [os.path.basename(m) for m in modules]


def free_port():
    """A TCP port of 127.0.0.1 free right now (the kernel's choice)."""
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, timeout):
    """(status, body) of GET http://127.0.0.1:port/path; raises OSError."""
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    except http.client.HTTPException as e:
        raise OSError(f"HTTP: {e!r}")
    finally:
        c.close()


class Server:
    """A VM running a server: output to a log file, started in its own session."""

    def __init__(self, cmd, log_path):
        self.cmd = cmd
        self.log_path = log_path
        self.t0 = time.monotonic()
        self.spawn_error = None
        self.p = None
        self.rc = None
        with open(log_path, "wb") as log_file:
            log_file.write(("$ " + " ".join(shlex.quote(c) for c in cmd) + "\n").encode())
            log_file.flush()
            try:
                self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log_file,
                                          stderr=subprocess.STDOUT, start_new_session=True)
            except OSError as e:
                self.spawn_error = str(e)

    def output(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()
        except OSError:
            return b""

    def wait_ready(self, port, path, size, timeout):
        """(seconds from start to the first right answer to GET path, None) or (None, why)."""
        if self.spawn_error:
            return None, f"cannot start: {self.spawn_error}"
        deadline = self.t0 + timeout
        last = "no answer"
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None, f"no HTTP answer within {timeout:.0f} s ({last})"
            if self.p.poll() is not None:
                self.rc = self.p.returncode
                return None, f"exited with status {self.rc} before answering"
            try:
                # Short attempts: before the guest's eth0 is up, slirp's SYN to it is lost and an
                # attempt would wait for slirp's retransmission (seconds).
                status, body = http_get(port, path, timeout=min(left, 1.0))
                if status == 200 and len(body) == size:
                    return time.monotonic() - self.t0, None
                last = f"HTTP {status}, {len(body)} bytes"
            except OSError as e:
                last = str(e) or type(e).__name__
            time.sleep(0.1)

    def stop(self, graceful):
        """graceful: SIGTERM to the main process only (nutshell run stops its VM and exits with
        the program's status); else (or if that does not end it) the whole process group."""
        if self.p is None:
            return
        if self.p.poll() is None and graceful:
            try:
                self.p.send_signal(signal.SIGTERM)
                self.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        if self.p.poll() is None:
            stop(self.p)
        self.rc = self.p.returncode


WRK_RPS_RE = re.compile(r"Requests/sec:\s*([\d.]+)")
WRK_REQS_RE = re.compile(r"(\d+) requests in ([\d.]+)(\w+), ([\d.]+)(\w+) read")
WRK_ERR_RE = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
WRK_NON2XX_RE = re.compile(r"Non-2xx or 3xx responses: (\d+)")


def wrk(port, path, conns, secs):
    """Run wrk against 127.0.0.1:port; (requests/s, details) or (None, reason)."""
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{secs}s", "--timeout", "30s",
           f"http://127.0.0.1:{port}{path}"]
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=secs + 60, text=True)
    except subprocess.TimeoutExpired:
        return None, {"reason": f"wrk did not finish within {secs + 60} s"}
    out = p.stdout
    details = {"cmd": " ".join(cmd), "output": out}
    m = WRK_RPS_RE.search(out)
    n = WRK_REQS_RE.search(out)
    e = WRK_ERR_RE.search(out)
    bad = WRK_NON2XX_RE.search(out)
    if e:
        details["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"),
                                            map(int, e.groups())))
    if p.returncode != 0 or not m or not n:
        first = out.strip().splitlines()[-1] if out.strip() else f"status {p.returncode}"
        return None, dict(details, reason=f"wrk failed: {first}")
    details["requests"] = int(n.group(1))
    if bad:
        return None, dict(details, reason=f"{bad.group(1)} non-2xx/3xx responses")
    if details["requests"] == 0:
        return None, dict(details, reason=f"no request completed in {secs} s")
    return float(m.group(1)), details


# ---------------------------------------------------------------------------------------------
# The benchmarks

class Bench:
    def __init__(self, opts, sides, progs):
        self.opts = opts
        self.size = QUICK if opts.quick else FULL
        self.reps = opts.reps or self.size["reps"]
        self.sides = sides  # [nutshell, linux]
        self.progs = progs
        self.samples = {}  # (row key, side name) -> [values]
        self.failures = {}  # (row key, side name) -> [reasons]
        self.raw = []  # every run, for results.json
        self.harness_errors = []
        self.progs_extra = {}  # other guest programs: netinit

    def one(self, side, prog, args, timeout, mem=None, expect_result=True, expect_text=None,
            retry=None):
        mem = mem or self.opts.mem
        retry = (side.name == "Linux") if retry is None else retry
        for attempt in (1, 2):
            cmd = side.command(self.progs[prog], args, mem)
            run = Run(cmd, timeout)
            oc = side.outcome(run, expect_result, expect_text)
            self.raw.append({"side": side.name, "program": prog, "args": list(map(str, args)),
                             "mem_mib": mem, "ok": oc.ok, "reason": oc.reason,
                             "status": oc.status, "metrics": oc.metrics,
                             "wall_s": round(run.wall_s, 4) if hasattr(run, "wall_s") else None,
                             "attempt": attempt})
            if not oc.ok:
                self.save_failed(side, prog, run)
            if oc.ok or not retry:
                return oc
            log(f"  {side.name} {prog}: {oc.reason}; retrying once")
        return oc

    def save_failed(self, side, prog, run):
        """Keep the output of a failed run (the last one of each kind) for a look by hand."""
        path = os.path.join(self.opts.build, "failed", f"{side.name}-{prog}.out")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(("$ " + " ".join(shlex.quote(c) for c in run.cmd) + "\n").encode())
            f.write(run.out)

    def record(self, key, side, value=None, reason=None):
        if reason is not None:
            self.failures.setdefault((key, side.name), []).append(reason)
            if side.name == "Linux":
                self.harness_errors.append(f"Linux reference failed in '{key}': {reason}")
        else:
            self.samples.setdefault((key, side.name), []).append(value)

    def alternate(self, rep):
        return self.sides if rep % 2 == 0 else list(reversed(self.sides))

    def repeat(self, label, prog, args, timeout, extract, expect_result=True, expect_text=None,
               partial=None):
        """Run prog on both sides reps times, alternating; extract(outcome) -> {key: value}.
        partial(outcome) -> {key: value}: the figures a failed run still gave (its reason then
        goes to the other keys of the row), when the guest's clock is not the problem."""
        for rep in range(self.reps):
            for side in self.alternate(rep):
                oc = self.one(side, prog, args, timeout, expect_result=expect_result,
                              expect_text=expect_text)
                vals = {}
                if oc.ok:
                    try:
                        vals = extract(oc)
                    except (KeyError, ValueError) as e:
                        oc.reason = f"unexpected output ({e})"
                        self.save_failed(side, prog, oc.run)
                elif partial and not oc.clock_bad:
                    vals = partial(oc)
                for k in self.row_keys[label]:
                    if k in vals:
                        self.record(k, side, vals[k])
                    else:
                        self.record(k, side, reason=oc.reason or "no figure")
                shown = ", ".join(f"{k}={v:.6g}" for k, v in vals.items())
                if not oc.ok:
                    shown = (shown + "; " if shown else "") + f"FAILED: {oc.reason}"
                log(f"{label} [{rep + 1}/{self.reps}] {side.name}: {shown}")

    # Row keys each benchmark fills (also used for failures).
    row_keys = {
        "hello": ["first_ms", "exit_ms"],
        "getppid": ["getppid_ns"],
        "fs": ["fs_small_ms", "fs_big_ms"],
        "compress": ["compress_ms"],
        "sqlite": ["sqlite_insert_ms", "sqlite_query_ms"],
        "console": ["console_mib_s"],
        "nginx": ["nginx_ready_ms", "nginx_1k_rps", "nginx_1m_rps"],
    }

    def hello(self):
        def extract(oc):
            r = oc.run
            at = r.out.find(HELLO_TEXT)
            return {"first_ms": r.time_at(at) * 1000, "exit_ms": r.exit_s * 1000}

        self.repeat("hello", "hello", [], self.opts.timeout or 120, extract,
                    expect_result=False, expect_text=HELLO_TEXT)

    def getppid(self):
        n = self.size["getppid"]
        self.repeat("getppid", "getppid", [n], self.opts.timeout or 300,
                    lambda oc: {"getppid_ns": oc.metrics["getppid_ns"]})

    def fs(self):
        s = self.size
        self.repeat("fs", "fsbench", [s["fs_files"], s["fs_small"], s["fs_big_mib"], "/tmp"],
                    self.opts.timeout or 600,
                    lambda oc: {"fs_small_ms": oc.metrics["small_ms"],
                                "fs_big_ms": oc.metrics["big_ms"]},
                    partial=lambda oc: {k: oc.metrics[m] for k, m in
                                        (("fs_small_ms", "small_ms"), ("fs_big_ms", "big_ms"))
                                        if m in oc.metrics})

    def compress(self):
        self.repeat("compress", "compress", [self.size["compress_mib"]], self.opts.timeout or 600,
                    lambda oc: {"compress_ms": oc.metrics["compress_ms"]})

    def sqlite(self):
        self.repeat("sqlite", "sqlite", [self.size["sqlite_rows"]], self.opts.timeout or 600,
                    lambda oc: {"sqlite_insert_ms": oc.metrics["insert_ms"],
                                "sqlite_query_ms": oc.metrics["query_ms"]})

    def console(self):
        nbytes = self.size["console_bytes"]
        begin, end = b"@@CONSOLE-BEGIN@@", b"@@CONSOLE-END@@"

        def extract(oc):
            out = oc.run.out
            b = out.find(begin)
            e = out.find(end, b + 1)
            if b < 0 or e < 0:
                raise ValueError("payload markers missing")
            first, last = b + len(begin), e - 1
            while first < last and out[first] in b"\r\n":  # a Linux tty sends CR LF
                first += 1
            while last > first and out[last] in b"\r\n":  # the newline before the end marker
                last -= 1
            got = last - first + 1
            if got != nbytes:
                raise ValueError(f"received {got} payload bytes, expected {nbytes}")
            dt = oc.run.time_at(last) - oc.run.time_at(first)
            if dt <= 0:  # everything arrived in one read
                dt = 1e-6
            return {"console_mib_s": nbytes / (1 << 20) / dt}

        self.repeat("console", "console", [nbytes], self.opts.timeout or 1800, extract,
                    expect_result=False)

    def memory(self):
        """Smallest -m (MiB) in which the glibc hello runs, by binary search, once per side."""
        timeout = self.opts.timeout or 30
        for side in self.sides:
            def ok(mem):
                oc = self.one(side, "hello", [], timeout, mem=mem, expect_result=False,
                              expect_text=HELLO_TEXT, retry=False)
                log(f"memory {side.name} -m {mem}M: {'runs' if oc.ok else oc.reason}")
                return oc

            hi = self.opts.mem
            top = ok(hi)
            if not top.ok:
                self.record("min_mem_mib", side, reason=f"does not run in {hi} MiB: {top.reason}")
                continue
            lo = 0  # the largest size known to fail (0: none yet)
            if ok(1).ok:
                hi = 1
            else:
                lo = 1
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    if ok(mid).ok:
                        hi = mid
                    else:
                        lo = mid
            self.record("min_mem_mib", side, hi)

    def nginx(self):
        """Debian's nginx serving two files to wrk on the host, through QEMU's user-mode network
        with a port of 127.0.0.1 forwarded to the guest's port 8080. One VM per side and
        repetition: start, wait for the first right answer, wrk on each file, stop."""
        keys = self.row_keys["nginx"]
        missing = [what for what, ok in ((f"{NGINX} (apt-get install nginx-light)",
                                          os.access(NGINX, os.X_OK)),
                                         ("wrk (apt-get install wrk)", shutil.which("wrk")),
                                         ("ldd", shutil.which("ldd"))) if not ok]
        if missing:
            reason = "not installed: " + ", ".join(missing)
            log(f"nginx: skipped ({reason})")
            for side in self.sides:
                for k in keys:
                    self.failures.setdefault((k, side.name), []).append(reason)
            return
        build = self.opts.build
        conf, www = nginx_tree(build)
        nut, lin = self.sides
        cpio, modules = nginx_initramfs(build, self.progs_extra["netinit"], lin.vmlinuz,
                                        self.opts.machine, conf, www)
        log(f"nginx: Linux initramfs {rel(cpio)} ({os.path.getsize(cpio):,} bytes, modules "
            f"{' '.join(modules) or 'none'})")
        secs, conns = self.size["nginx_secs"], self.size["nginx_conns"]
        mem = self.opts.mem
        for rep in range(self.reps):
            for side in self.alternate(rep):
                for attempt in (1, 2):
                    vals, reason, raw = self.nginx_once(side, cpio, conf, www, secs, conns, mem)
                    raw["attempt"] = attempt
                    self.raw.append(raw)
                    if reason is None or side.name != "Linux" or attempt == 2 or \
                            reason.startswith("needs"):
                        break
                    log(f"  Linux nginx: {reason}; retrying once")
                for k in keys:
                    if k in vals:
                        self.record(k, side, vals[k])
                    else:
                        self.record(k, side, reason=reason or "no figure")
                shown = ", ".join(f"{k}={v:.6g}" for k, v in vals.items())
                if reason:
                    shown = (shown + "; " if shown else "") + f"FAILED: {reason}"
                log(f"nginx [{rep + 1}/{self.reps}] {side.name}: {shown}")

    def nginx_once(self, side, cpio, conf, www, secs, conns, mem):
        """One VM: (figures, reason of a failure or None, raw record)."""
        port = free_port()
        raw = {"side": side.name, "program": "nginx", "port": port, "mem_mib": mem}
        if side.name == "Linux":
            cmd = side.server_command(cpio, [NGINX, *NGINX_ARGS], port, NGINX_GUEST_PORT, mem)
        elif isinstance(side, NutshellCli) and self.opts.nginx_files == "add":
            # The files in the VM's memory at their host paths, like the Linux initramfs.
            add_conf = os.path.join(self.opts.build, "nginx", "add-conf")
            os.makedirs(add_conf, exist_ok=True)
            with open(os.path.join(add_conf, "nginx.conf"), "w") as f:
                f.write(NGINX_CONF.replace("root /www;", f"root {www};"))
            args = [a if a != "/conf/nginx.conf" else os.path.join(add_conf, "nginx.conf")
                    for a in NGINX_ARGS]
            cmd = side.server_command(NGINX, args, port, NGINX_GUEST_PORT, mem,
                                      adds=[add_conf, www])
        elif isinstance(side, NutshellCli):
            cmd = side.server_command(NGINX, NGINX_ARGS, port, NGINX_GUEST_PORT, mem,
                                      volumes=[(conf, "/conf"), (www, "/www")])
        else:
            reason = "needs the nutshell CLI (-p, --volume): not measured with --nutshell qemu"
            return {}, reason, dict(raw, ok=False, reason=reason)
        build_dir = self.opts.build
        log_path = os.path.join(build_dir, "nginx", f"{side.name}.log")
        srv = Server(cmd, log_path)
        vals, reason = {}, None
        try:
            ready, reason = srv.wait_ready(port, "/1k.bin", NGINX_FILES["1k.bin"],
                                           self.opts.timeout or 120)
            if ready is not None:
                vals["nginx_ready_ms"] = ready * 1000
                raw["wrk"] = {}
                for name, key in (("1k.bin", "nginx_1k_rps"), ("1m.bin", "nginx_1m_rps")):
                    rps, details = wrk(port, "/" + name, conns, secs)
                    raw["wrk"][name] = {k: v for k, v in details.items() if k != "output"}
                    if rps is None:
                        reason = details["reason"]
                        break
                    vals[key] = rps
        finally:
            srv.stop(graceful=side.name != "Linux")
        raw.update(ok=reason is None, reason=reason, metrics=vals, status=srv.rc,
                   wall_s=round(time.monotonic() - srv.t0, 4))
        if reason is not None:
            first = error_line(srv.output().decode(errors="replace").split("\n", 1)[-1],
                               skip=("PCI: Fatal", "terminating on signal"))
            if first and first not in reason:
                reason = f"{first} [{reason}]"
            raw["reason"] = reason
            failed = os.path.join(build_dir, "failed", f"{side.name}-nginx.out")
            os.makedirs(os.path.dirname(failed), exist_ok=True)
            shutil.copyfile(log_path, failed)
        return vals, reason, raw

    def sizes(self, nutshell_kernel_file):
        """Kernel image (stripped copy) and the initrd each side is given for the hello."""
        build = self.opts.build
        nut, lin = self.sides
        stripped = os.path.join(build, "nutshell-kernel.stripped")
        sh(["strip", "-o", stripped, nutshell_kernel_file], what="strip the nutshell kernel")
        self.record("kernel_bytes", nut, os.path.getsize(stripped))
        # The Linux image QEMU is given is a compressed bzImage: its size is what is loaded.
        self.record("kernel_bytes", lin, os.path.getsize(lin.vmlinuz))
        self.record("initrd_bytes", nut, nut.initrd_for(self.progs["hello"]))
        self.record("initrd_bytes", lin, lin.initrd_for(self.progs["hello"]))


# Table rows: (key, label, unit format, which way is better)
def row_specs(size, quick):
    s = size
    return [
        ("first_ms", "1. glibc static-PIE hello: QEMU start → first output byte (ms)", "{:,.0f}",
         "lower"),
        ("exit_ms", "1. glibc static-PIE hello: QEMU start → QEMU exit (ms)", "{:,.0f}", "lower"),
        ("getppid_ns", f"2. syscall round trip, {s['getppid']:,} × getppid (ns/call)", "{:,.0f}",
         "lower"),
        ("fs_small_ms", f"3. fs: create+write+read+delete {s['fs_files']:,} files of "
         f"{s['fs_small']} B in /tmp (ms)", "{:,.0f}", "lower"),
        ("fs_big_ms", f"3. fs: write+read+delete one {s['fs_big_mib']} MiB file in /tmp (ms)",
         "{:,.0f}", "lower"),
        ("compress_ms", f"4. zlib deflate (level 6) of {s['compress_mib']} MiB generated text (ms)",
         "{:,.0f}", "lower"),
        ("sqlite_insert_ms", f"4. sqlite3 :memory: insert {s['sqlite_rows']:,} rows + index (ms)",
         "{:,.0f}", "lower"),
        ("sqlite_query_ms", "4. sqlite3 :memory: queries (aggregate, GROUP BY, 10,000 lookups) (ms)",
         "{:,.0f}", "lower"),
        ("console_mib_s", f"5. console: {s['console_bytes'] >> 20} MiB to stdout, captured by the "
         "host (MiB/s)", "{:,.2f}", "higher"),
        ("min_mem_mib", "6. smallest -m in which the hello runs (MiB)", "{:,.0f}", "lower"),
        ("kernel_bytes", "7. kernel image given to QEMU (bytes; nutshell stripped ELF, Linux bzImage)",
         "{:,.0f}", "lower"),
        ("initrd_bytes", "7. initrd given with the hello (bytes)", "{:,.0f}", "lower"),
        ("nginx_ready_ms", "8. nginx (Debian's, dynamic): QEMU start → first HTTP answer (ms)",
         "{:,.0f}", "lower"),
        ("nginx_1k_rps", f"8. nginx: 1 KiB file, wrk -t1 -c{s['nginx_conns']} -d{s['nginx_secs']}s "
         "via QEMU user-net hostfwd (requests/s)", "{:,.1f}", "higher"),
        ("nginx_1m_rps", f"8. nginx: 1 MiB file, wrk -t1 -c{s['nginx_conns']} -d{s['nginx_secs']}s "
         "via QEMU user-net hostfwd (requests/s)", "{:,.2f}", "higher"),
    ]


def md_escape(s):
    return s.replace("|", "\\|").replace("\n", " ")


def cell(values, fmt, failures):
    if not values:
        reason = failures[0] if failures else "not measured"
        reason = reason if len(reason) <= 140 else reason[:137] + "..."
        return f"n/a ({md_escape(reason)})"
    med = statistics.median(values)
    text = fmt.format(med)
    if len(values) > 1:
        text += f" ({fmt.format(min(values))}–{fmt.format(max(values))})"
    if failures:
        text += f" [{len(failures)} of {len(values) + len(failures)} runs failed: " \
                f"{md_escape(failures[0][:80])}]"
    return text


def table(bench):
    nut, lin = bench.sides
    lines = ["| measurement | nutshell: median (min–max) | Linux: median (min–max) | "
             "nutshell/Linux | better |",
             "|---|---|---|---|---|"]
    for key, label, fmt, better in row_specs(bench.size, bench.opts.quick):
        nv = bench.samples.get((key, nut.name), [])
        lv = bench.samples.get((key, lin.name), [])
        nf = bench.failures.get((key, nut.name), [])
        lf = bench.failures.get((key, lin.name), [])
        if not (nv or nf or lv or lf):
            continue
        ratio = "–"
        if nv and lv and statistics.median(lv) != 0:
            ratio = f"{statistics.median(nv) / statistics.median(lv):.3g}"
        lines.append(f"| {label} | {cell(nv, fmt, nf)} | {cell(lv, fmt, lf)} | {ratio} | "
                     f"{better} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------

def machine_facts():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        qemu = subprocess.run(["qemu-system-x86_64", "--version"], stdout=subprocess.PIPE,
                              text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        qemu = "?"
    return {"date": subprocess.run(["date"], stdout=subprocess.PIPE, text=True).stdout.strip(),
            "nproc": os.cpu_count(), "cpu": cpu, "qemu": qemu}


def source_tree(opts):
    """The tree nutshell is built from, and words saying which version it is."""
    def git(*a):
        p = subprocess.run(["git", "-C", ROOT, *a], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
        return p.stdout.strip() if p.returncode == 0 else None

    if opts.git_rev:
        commit = git("rev-parse", "--verify", opts.git_rev + "^{commit}")
        if not commit:
            raise HarnessError(f"--git-rev {opts.git_rev}: no such commit")
        src = os.path.join(opts.build, "src")
        shutil.rmtree(src, ignore_errors=True)
        os.makedirs(src)
        log(f"git archive {commit[:12]} into {rel(src)}")
        archive = subprocess.Popen(["git", "-C", ROOT, "archive", "--format=tar", commit],
                                   stdout=subprocess.PIPE)
        untar = subprocess.run(["tar", "-x", "-C", src], stdin=archive.stdout)
        archive.stdout.close()
        if archive.wait() != 0 or untar.returncode != 0:
            raise HarnessError(f"git archive {commit} failed")
        # Its own target dir, kept between runs (incremental), outside the extracted tree.
        return src, os.path.join(opts.build, "target-src"), f"commit {commit[:12]}"
    commit = git("rev-parse", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "crates", "kernel",
                "Cargo.toml", "Cargo.lock")
    what = f"working tree at commit {commit[:12]}" if commit else "working tree"
    if dirty:
        what += " with uncommitted changes"
    return ROOT, os.path.join(ROOT, "target"), what


def setup_nutshell(opts):
    """The nutshell side: the CLI (preferred: what users run) or QEMU driven directly."""
    note = None
    src, target, opts.nutshell_version = source_tree(opts)
    if opts.nutshell_bin and opts.nutshell != "qemu":
        opts.nutshell_version = f"the binary {rel(os.path.abspath(opts.nutshell_bin))}"
    if opts.nutshell in ("auto", "cli"):
        binary = opts.nutshell_bin or os.path.join(target, "release", "nutshell")
        try:
            if not opts.nutshell_bin and not opts.no_build:
                log(f"cargo build --release -p nutshell ({opts.nutshell_version})")
                sh(["cargo", "build", "--release", "-p", "nutshell", "--target-dir", target],
                   cwd=src, what="cargo build --release -p nutshell")
            if not os.access(binary, os.X_OK):
                raise HarnessError(f"{binary} not found")
            # Run a private copy: a rebuild of target/ during a long run must not change the
            # program under test half-way (the CLI embeds its kernel, so the copy is whole).
            frozen = os.path.join(opts.build, "nutshell")
            shutil.copy2(binary, frozen)
            binary = frozen
            kernel_file = os.path.join(opts.build, "nutshell-kernel.elf")
            sh([binary, "kernel", "-o", kernel_file], what="nutshell kernel -o")
            return NutshellCli(binary, opts.machine), kernel_file, note
        except HarnessError as e:
            if opts.nutshell == "cli":
                raise
            note = f"the nutshell CLI is not usable ({str(e).splitlines()[0]}): QEMU driven directly"
            log(note)
    kernel = opts.kernel or os.path.join(src, "kernel", "target", "x86_64-unknown-linux-gnu",
                                         "release", "nutshell-kernel")
    if not opts.kernel and not opts.no_build:
        log(f"cargo build --release in kernel/ ({opts.nutshell_version})")
        sh(["cargo", "build", "--release"], cwd=os.path.join(src, "kernel"),
           what="cargo build --release in kernel/")
    if not os.path.exists(kernel):
        raise HarnessError(f"nutshell kernel {kernel} not found")
    frozen = os.path.join(opts.build, "nutshell-kernel")
    shutil.copy2(kernel, frozen)
    kernel = frozen
    return NutshellQemu(kernel, opts.machine), kernel, note


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="bench/run.sh", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="one repetition, small sizes (the test-suite mode, a few minutes)")
    ap.add_argument("--reps", type=int, help="repetitions per measurement (default 5, quick 1)")
    ap.add_argument("--only", help="comma-separated subset of: hello,getppid,fs,compress,sqlite,"
                    "console,nginx,memory,sizes")
    ap.add_argument("--nutshell", choices=["auto", "cli", "qemu"], default="auto",
                    help="measure nutshell through `nutshell run` (cli), by driving QEMU with the "
                    "kernel image directly (qemu), or cli when it builds and runs the hello (auto)")
    ap.add_argument("--nutshell-bin", help="use this nutshell binary (no cargo build)")
    ap.add_argument("--kernel", help="nutshell kernel image for --nutshell qemu (no cargo build)")
    ap.add_argument("--no-build", action="store_true", help="do not run cargo (use what is built)")
    ap.add_argument("--git-rev", help="build nutshell from this commit (git archive into "
                    "bench/.build/src) instead of the working tree, e.g. HEAD: concurrent edits "
                    "of the tree then do not matter")
    ap.add_argument("--linux-kernel", help="Linux bzImage (default: newest /boot/vmlinuz-*cloud*, "
                    "installing linux-image-cloud-amd64 when there is none)")
    ap.add_argument("--machine", choices=["microvm", "pc"], default="microvm",
                    help="QEMU machine type for both sides (default microvm)")
    ap.add_argument("--mem", type=int, default=256, help="guest memory in MiB for both sides "
                    "(default 256; also the top of the memory search)")
    ap.add_argument("--nginx-files", choices=["volume", "add"], default="volume",
                    help="how nutshell's nginx gets its configuration and files: --volume "
                    "(virtio-9p, the default) or --add (copied into the VM's memory, as the Linux "
                    "guest has them in its initramfs)")
    ap.add_argument("--timeout", type=float, help="override every per-run timeout (s)")
    ap.add_argument("--build", default=os.path.join(BENCH, ".build"), help="build directory")
    ap.add_argument("--markdown", help="also write the report (markdown) to this file")
    return ap.parse_args(argv)


def main(argv):
    opts = parse_args(argv)
    # SIGTERM (a test runner's timeout) unwinds like Ctrl-C, so the VM being run is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    opts.build = os.path.abspath(opts.build)
    os.makedirs(opts.build, exist_ok=True)
    started = time.monotonic()
    all_parts = ["hello", "getppid", "fs", "compress", "sqlite", "console", "nginx", "memory",
                 "sizes"]
    parts = all_parts if not opts.only else [p.strip() for p in opts.only.split(",")]
    for p in parts:
        if p not in all_parts:
            print(f"bench: unknown part {p!r} (known: {', '.join(all_parts)})", file=sys.stderr)
            return 2
    try:
        if not shutil.which("qemu-system-x86_64"):
            raise HarnessError("qemu-system-x86_64 not found (apt-get install qemu-system-x86)")
        progs = build_guests(opts.build)
        vmlinuz = opts.linux_kernel or find_linux_kernel(install=True)
        tsc_khz = int(sh([progs["tsc_khz"]], what="tsc_khz").strip())
        nut, nut_kernel_file, note = setup_nutshell(opts)
        initramfs = {progs[n]: linux_initramfs(opts.build, progs["init"], progs[n], n)
                     for n in PROGRAMS}
        lin = Linux(vmlinuz, opts.machine, tsc_khz, initramfs)
    except HarnessError as e:
        print(f"bench: harness failure: {e}", file=sys.stderr)
        return 1

    bench = Bench(opts, [nut, lin], {n: progs[n] for n in PROGRAMS})
    bench.progs_extra = {"netinit": progs["netinit"]}
    facts = machine_facts()
    log(f"nutshell: {nut.describe()}; Linux: {vmlinuz}; machine {opts.machine}, "
        f"-m {opts.mem}M, {bench.reps} repetition(s)")
    mode = "quick" if opts.quick else "full"

    def report(final):
        elapsed = time.monotonic() - started
        header = [
            f"- date: {facts['date']}",
            f"- machine: {facts['nproc']} cores, {facts['cpu']}; {facts['qemu']}",
            f"- mode: {mode}, {bench.reps} repetition(s) per measurement, alternating "
            f"nutshell/Linux; harness time {elapsed:.0f} s" + ("" if final else " (in progress)"),
            f"- both sides: `qemu-system-x86_64 -M {opts.machine} -accel tcg -cpu max "
            f"-m {opts.mem}M -nodefaults -no-user-config -no-reboot -display none`",
            f"- nutshell ({opts.nutshell_version}): {nut.describe()}; initrd: {nut.initrd_what()}",
            f"- Linux: `{os.path.basename(vmlinuz)}`, `-serial stdio`, initramfs (cpio newc) with "
            f"a static /init that runs the program, prints its status and powers off; "
            f"`-append '{lin.cmdline('/PROGRAM', ['ARGS'])}'`",
        ]
        if "nginx" in parts:
            nic = "virtio-net-device" if opts.machine == "microvm" else "virtio-net-pci"
            files = ("`--volume CONF:/conf --volume WWW:/www` (virtio-9p)"
                     if opts.nginx_files == "volume" else "`--add CONF --add WWW` (in memory)")
            header.append(
                f"- nginx (row 8): `{NGINX} {' '.join(NGINX_ARGS)}`, one worker, sendfile, no "
                f"access log; nutshell: `-p 127.0.0.1:PORT:{NGINX_GUEST_PORT}` (the CLI's relay "
                f"to QEMU's hostfwd) and {files}; Linux: initramfs with nginx, its libraries, "
                f"the virtio-net modules, the files, and /init = bench/guest/netinit.c, "
                f"`-netdev user,id=n0,hostfwd=tcp:127.0.0.1:PORT-:{NGINX_GUEST_PORT} -device "
                f"{nic},netdev=n0`; load: `wrk -t1 -c{bench.size['nginx_conns']} "
                f"-d{bench.size['nginx_secs']}s` on the host, keep-alive, one VM per side and "
                f"repetition")
        if note:
            header.append(f"- note: {note}")
        text = "\n".join(header) + "\n\n" + table(bench) + "\n"
        with open(os.path.join(opts.build, f"results-{mode}.json"), "w") as f:
            json.dump({"facts": facts, "mode": mode, "reps": bench.reps, "size": bench.size,
                       "samples": {f"{k[0]}/{k[1]}": v for k, v in bench.samples.items()},
                       "failures": {f"{k[0]}/{k[1]}": v for k, v in bench.failures.items()},
                       "runs": bench.raw}, f, indent=1)
        with open(os.path.join(opts.build, f"table-{mode}.md"), "w") as f:
            f.write(text)
        if final and opts.markdown:
            with open(opts.markdown, "w") as f:
                f.write(text)
        return text, elapsed

    try:
        for p in parts:
            if p == "sizes":
                bench.sizes(nut_kernel_file)
            else:
                getattr(bench, p)()
            report(final=False)  # a partial table after each part (bench/.build/table-MODE.md)
    except HarnessError as e:
        bench.harness_errors.append(str(e))
    text, elapsed = report(final=True)
    print(text)
    if bench.harness_errors:
        for e in bench.harness_errors:
            print(f"bench: harness failure: {e}", file=sys.stderr)
        return 1
    log(f"done in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
