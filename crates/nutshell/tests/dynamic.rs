//! Issue 5: Debian's own dynamically linked binaries, run natively and in nutshell, must print
//! the same stdout and exit with the same status.
//!
//! Until `nutshell run` collects libraries itself, each test builds the initrd directly: the
//! files [`nutshell::deps`] collects for the program (program, ld.so, libraries, /etc files,
//! locale) plus the test's working directory, packed with [`nutshell::cpio`]; then it boots the
//! kernel image under QEMU with the framed console (docs/PROTOCOL.md), so stdout, stderr, the
//! kernel's log lines and the exit status come apart.
//!
//! The working directory: the test creates it on the host in a tmpfs (`/dev/shm` when it
//! exists) and runs the native command there; the guest gets a copy at `/w` (`workdir=/w`).
//! Commands name files relatively, so both print the same names, and both file systems are
//! tmpfs, so sizes and block counts of directories and files follow the same rules.
//!
//! Nothing is normalized: the initrd carries the host's modes and modification times (the
//! kernel keeps them), so even `ls -la` prints the same dates.
//!
//! The packages: coreutils, bc, gzip, bzip2, sqlite3, lua5.4, openssl, python3, g++, rustc,
//! qemu-system-x86 (a missing one fails the test with an install hint).

mod common;

use nutshell::cpio::{CpioWriter, Meta};
use nutshell::deps::{self, Collector, Deps};
use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// One boot, start to exit, under TCG (Python's start-up is the slowest).
const GUEST_TIMEOUT: Duration = Duration::from_secs(300);
/// The guest's working directory.
const GUEST_WORKDIR: &str = "/w";
/// What the kernel gives the program when nothing is said (kernel/src/exec.rs); the native run
/// gets the same.
const GUEST_ENV: &[(&str, &str)] = &[
    (
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
    ("HOME", "/root"),
    ("TERM", "linux"),
];

// ---------------------------------------------------------------------------------------------
// The working directory
// ---------------------------------------------------------------------------------------------

/// What the test puts in the working directory.
enum Item {
    File(&'static str, Vec<u8>),
    Exec(&'static str, Vec<u8>),
    Dir(&'static str),
    Link(&'static str, &'static str),
}

fn file(name: &'static str, data: impl Into<Vec<u8>>) -> Item {
    Item::File(name, data.into())
}

/// A fresh directory in a tmpfs with `items`.
fn workdir(label: &str, items: &[Item]) -> tempfile::TempDir {
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = tempfile::Builder::new()
        .prefix(&format!("nutshell-dynamic-{label}."))
        .tempdir_in(base)
        .expect("temporary directory");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    for item in items {
        match item {
            Item::File(name, data) => {
                fs::write(dir.path().join(name), data).expect("write");
                fs::set_permissions(dir.path().join(name), fs::Permissions::from_mode(0o644))
                    .expect("chmod");
            }
            Item::Exec(name, data) => {
                fs::write(dir.path().join(name), data).expect("write");
                fs::set_permissions(dir.path().join(name), fs::Permissions::from_mode(0o755))
                    .expect("chmod");
            }
            Item::Dir(name) => {
                fs::create_dir(dir.path().join(name)).expect("mkdir");
                fs::set_permissions(dir.path().join(name), fs::Permissions::from_mode(0o755))
                    .expect("chmod");
            }
            Item::Link(name, target) => {
                std::os::unix::fs::symlink(target, dir.path().join(name)).expect("symlink")
            }
        }
    }
    dir
}

/// Add the host directory `host` (recursively) as `guest` (a relative cpio name).
fn pack_tree<W: Write>(cpio: &mut CpioWriter<W>, host: &Path, guest: &str) {
    let meta = fs::symlink_metadata(host).expect("lstat");
    let m = Meta {
        perm: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        mtime: meta.mtime() as u32,
    };
    let ft = meta.file_type();
    if ft.is_symlink() {
        let target = fs::read_link(host).expect("readlink");
        cpio.symlink(guest.as_bytes(), m, target.as_os_str().as_bytes())
            .expect("cpio symlink");
    } else if ft.is_dir() {
        cpio.dir_meta(guest.as_bytes(), m).expect("cpio dir");
        let mut names: Vec<_> = fs::read_dir(host)
            .expect("readdir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        names.sort();
        for name in names {
            let child = format!("{guest}/{}", name.to_str().expect("UTF-8 name"));
            pack_tree(cpio, &host.join(&name), &child);
        }
    } else {
        let data = fs::read(host).expect("read");
        cpio.file(guest.as_bytes(), m.perm, m.mtime, &data)
            .expect("cpio file");
    }
}

// ---------------------------------------------------------------------------------------------
// Native and guest runs
// ---------------------------------------------------------------------------------------------

/// What a run produced.
#[derive(Debug)]
struct Run {
    /// The exit status (None: the guest stopped without an exit record).
    status: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// Kernel log lines (guest only).
    log: Vec<String>,
    /// QEMU's own messages and exit status (guest only).
    qemu: String,
    elapsed: Duration,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "status {:?} after {:?}", self.status, self.elapsed)?;
        writeln!(
            f,
            "--- stdout ---\n{}",
            String::from_utf8_lossy(&self.stdout)
        )?;
        writeln!(
            f,
            "--- stderr ---\n{}",
            String::from_utf8_lossy(&self.stderr)
        )?;
        if !self.log.is_empty() || !self.qemu.is_empty() {
            writeln!(f, "--- kernel log ---\n{}", self.log.join("\n"))?;
            writeln!(f, "--- qemu ---\n{}", self.qemu)?;
        }
        write!(f, "--------------")
    }
}

/// `program args` on the host, in `dir`, with the guest's environment.
fn native(program: &Path, args: &[&str], stdin: Option<&[u8]>, dir: &Path) -> Run {
    let start = Instant::now();
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .envs(GUEST_ENV.iter().copied())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    if let Some(data) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        let data = data.to_vec();
        thread::spawn(move || {
            let _ = pipe.write_all(&data);
        });
    }
    let out = child.wait_with_output().expect("wait");
    Run {
        status: out.status.code(),
        stdout: out.stdout,
        stderr: out.stderr,
        log: Vec::new(),
        qemu: String::new(),
        elapsed: start.elapsed(),
    }
}

/// A token of the kernel command line, quoted as the CLI does (docs/PROTOCOL.md).
fn quote(token: &str) -> String {
    format!("'{}'", token.replace('\'', r"'\''"))
}

/// The framed console, guest → host.
#[derive(Default)]
struct Frames {
    buf: Vec<u8>,
    synced: bool,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    log: Vec<String>,
    /// strace lines (with NUTSHELL_TEST_STRACE=1).
    trace: Vec<String>,
    exit: Option<i32>,
    /// Bytes before the marker (firmware noise, or a kernel that died early).
    preamble: Vec<u8>,
}

const MARKER: &[u8] = b"\0NUTSHL\n";

impl Frames {
    /// Feed bytes; returns true when the marker has just been seen.
    fn feed(&mut self, data: &[u8]) -> bool {
        self.buf.extend_from_slice(data);
        let mut just_synced = false;
        if !self.synced {
            match self.buf.windows(MARKER.len()).position(|w| w == MARKER) {
                Some(at) => {
                    self.preamble.extend_from_slice(&self.buf[..at]);
                    self.buf.drain(..at + MARKER.len());
                    self.synced = true;
                    just_synced = true;
                }
                None => return false,
            }
        }
        while self.buf.len() >= 3 {
            let len = u16::from_le_bytes([self.buf[1], self.buf[2]]) as usize;
            if self.buf.len() < 3 + len {
                break;
            }
            let payload = self.buf[3..3 + len].to_vec();
            match self.buf[0] {
                1 => self.stdout.extend_from_slice(&payload),
                2 => self.stderr.extend_from_slice(&payload),
                3 => self
                    .log
                    .push(String::from_utf8_lossy(&payload).into_owned()),
                4 => self
                    .trace
                    .push(String::from_utf8_lossy(&payload).into_owned()),
                5 => {
                    let text = String::from_utf8_lossy(&payload).into_owned();
                    self.exit = text.strip_prefix("exit ").and_then(|n| n.parse().ok());
                }
                _ => {}
            }
            self.buf.drain(..3 + len);
        }
        just_synced
    }
}

/// The kernel image, once per test process.
fn kernel() -> PathBuf {
    static KERNEL: OnceLock<PathBuf> = OnceLock::new();
    KERNEL.get_or_init(common::kernel_image).clone()
}

/// Boot `initrd` with `program args` (guest paths), stdin relayed after the marker.
fn boot(initrd: &Path, program: &str, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut cmdline = vec![
        quote("console=framed"),
        // Like the native runs, no standard stream is a terminal.
        quote("tty="),
        quote(&format!("workdir={GUEST_WORKDIR}")),
    ];
    if std::env::var_os("NUTSHELL_TEST_STRACE").is_some_and(|v| v == "1") {
        cmdline.push(quote("strace"));
    }
    cmdline.push("--".to_string());
    cmdline.push(quote(program));
    cmdline.extend(args.iter().map(|a| quote(a)));
    let start = Instant::now();
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args([
        "-M", "microvm", "-accel", "tcg", "-cpu", "max", "-m", "512M",
    ])
    .args([
        "-nodefaults",
        "-no-user-config",
        "-no-reboot",
        "-display",
        "none",
    ])
    .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"])
    .args([
        "-chardev",
        "stdio,id=con,signal=off",
        "-serial",
        "chardev:con",
    ])
    .arg("-kernel")
    .arg(kernel())
    .arg("-initrd")
    .arg(initrd)
    .arg("-append")
    .arg(cmdline.join(" "))
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .process_group(0);
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => panic!(
            "cannot start qemu-system-x86_64 ({e}): install it with `apt-get install qemu-system-x86`"
        ),
    };
    let pgid = child.id() as i32;
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let mut out = child.stdout.take().expect("stdout");
    thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        loop {
            match out.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let mut err = child.stderr.take().expect("stderr");
    let err_thread = thread::spawn(move || {
        let mut text = Vec::new();
        let _ = err.read_to_end(&mut text);
        text
    });
    let mut stdin_pipe = child.stdin.take();
    let mut frames = Frames::default();
    let mut timed_out = false;
    loop {
        let left = GUEST_TIMEOUT.saturating_sub(start.elapsed());
        match rx.recv_timeout(left) {
            Ok(data) => {
                if frames.feed(&data) {
                    // Now the guest listens: stdin (0xFF escaped), then end of file.
                    if let Some(mut pipe) = stdin_pipe.take() {
                        let mut bytes = Vec::new();
                        for &b in stdin.unwrap_or_default() {
                            bytes.push(b);
                            if b == 0xFF {
                                bytes.push(0xFF);
                            }
                        }
                        bytes.extend_from_slice(&[0xFF, 0x01]);
                        thread::spawn(move || {
                            let _ = pipe.write_all(&bytes);
                            let _ = pipe.flush();
                            // Keep the pipe open: QEMU's stdio chardev must not see EOF early.
                            thread::sleep(GUEST_TIMEOUT);
                            drop(pipe);
                        });
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                timed_out = true;
                break;
            }
        }
    }
    if timed_out {
        // SAFETY: kill(2) on the process group of the QEMU we started.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
    let status: ExitStatus = child.wait().expect("wait for qemu");
    let qemu_err = String::from_utf8_lossy(&err_thread.join().unwrap_or_default()).into_owned();
    let mut qemu = format!("qemu exit status {status}");
    if timed_out {
        qemu.push_str(&format!(" (killed after {GUEST_TIMEOUT:?})"));
    }
    if !frames.synced {
        qemu.push_str(&format!(
            "; no marker, console said: {}",
            String::from_utf8_lossy(&frames.buf)
        ));
    }
    if !qemu_err.is_empty() {
        qemu.push('\n');
        qemu.push_str(&qemu_err);
    }
    // With NUTSHELL_TEST_STRACE=1: the calls that failed with ENOSYS, for the record.
    let enosys = frames
        .trace
        .iter()
        .filter(|l| l.contains("ENOSYS"))
        .cloned();
    Run {
        status: frames.exit,
        stdout: frames.stdout,
        stderr: frames.stderr,
        log: frames.log.iter().cloned().chain(enosys).collect(),
        qemu,
        elapsed: start.elapsed(),
    }
}

/// A collector whose cache is under the target directory (not the user's ~/.cache).
fn collector() -> Collector {
    let mut c = Collector::new();
    c.cache_dir(Some(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("deps-cache"),
    ));
    c
}

/// What a guest needs besides the program's own files.
#[derive(Default)]
struct Extra {
    /// Host files or directories added (with their libraries) through the deps API.
    adds: Vec<PathBuf>,
    /// Host directories added as empty directories (landmarks, like Python's lib-dynload).
    dirs: Vec<PathBuf>,
}

/// Collect `program`'s files, then write the initrd: those files, `extra`, and the working
/// directory `work` as `/w`.
fn build_initrd(program: &Path, extra: &Extra, work: &Path) -> (PathBuf, Deps) {
    let mut collector = collector();
    for add in &extra.adds {
        collector.add(add);
    }
    let deps = collector
        .collect(program)
        .unwrap_or_else(|e| panic!("collecting {}: {e}", program.display()));
    let initrd = work.with_extension("cpio");
    let out = fs::File::create(&initrd).expect("create initrd");
    let mut cpio = CpioWriter::new(std::io::BufWriter::new(out));
    deps::write_cpio(&deps.files, &mut cpio).expect("pack the collected files");
    let listed: BTreeSet<&Path> = deps.files.iter().map(|f| f.guest.as_path()).collect();
    for dir in &extra.dirs {
        if !listed.contains(dir.as_path()) {
            let meta = fs::metadata(dir).expect("landmark directory");
            let name = dir.strip_prefix("/").expect("absolute");
            let m = Meta {
                perm: meta.mode() & 0o7777,
                ..Meta::default()
            };
            cpio.dir_meta(name.as_os_str().as_bytes(), m).expect("dir");
        }
    }
    pack_tree(&mut cpio, work, GUEST_WORKDIR.trim_start_matches('/'));
    let mut out = cpio.finish().expect("finish the initrd");
    out.flush().expect("flush the initrd");
    (initrd, deps)
}

/// A command to compare.
struct Case<'a> {
    label: &'a str,
    program: &'a str,
    args: &'a [&'a str],
    stdin: Option<&'a [u8]>,
    items: Vec<Item>,
    extra: Extra,
}

impl<'a> Case<'a> {
    fn new(label: &'a str, program: &'a str, args: &'a [&'a str]) -> Self {
        Case {
            label,
            program,
            args,
            stdin: None,
            items: Vec::new(),
            extra: Extra::default(),
        }
    }

    fn stdin(mut self, data: &'a [u8]) -> Self {
        self.stdin = Some(data);
        self
    }

    fn items(mut self, items: Vec<Item>) -> Self {
        self.items = items;
        self
    }

    fn extra(mut self, extra: Extra) -> Self {
        self.extra = extra;
        self
    }
}

/// Both runs of a case, after checking they agree.
struct Compared {
    native: Run,
    guest: Run,
}

/// Skip-free check that a program exists, with the package to install.
#[track_caller]
fn require(program: &str, package: &str) {
    assert!(
        Path::new(program).exists(),
        "{program} is not installed: `apt-get install {package}` (CI installs it)"
    );
}

/// Run `case` natively and in nutshell; both must give the same stdout and status.
/// `NUTSHELL_TEST_STRACE=1` boots with `strace` and prints the calls that returned ENOSYS.
#[track_caller]
fn compare(case: Case<'_>) -> Compared {
    let program = Path::new(case.program);
    let work = workdir(case.label, &case.items);
    // Packed before the native run, which may write into the directory.
    let (initrd, _deps) = build_initrd(program, &case.extra, work.path());
    let native_run = native(program, case.args, case.stdin, work.path());
    let guest_run = boot(&initrd, case.program, case.args, case.stdin);
    let _ = fs::remove_file(&initrd);
    let (n, g) = (&native_run.stdout, &guest_run.stdout);
    let line = format!("{} {}", case.program, case.args.join(" "));
    assert!(
        n == g && native_run.status == guest_run.status,
        "`{line}` differs\n=== native ===\n{native_run}\n=== nutshell ===\n{guest_run}"
    );
    eprintln!(
        "`{line}`: same stdout ({} bytes) and status {:?}; native {:?}, nutshell {:?}",
        n.len(),
        native_run.status,
        native_run.elapsed,
        guest_run.elapsed
    );
    // Syscalls the kernel does not implement yet (the program coped), for the record.
    for log in &guest_run.log {
        eprintln!("`{line}`: kernel: {log}");
    }
    Compared {
        native: native_run,
        guest: guest_run,
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

/// Lines of words, some repeated, unsorted.
fn words() -> Vec<u8> {
    let animals = [
        "zebra", "apple", "mango", "kiwi", "banana", "cherry", "date", "fig",
    ];
    let mut out = String::new();
    let mut x = 7u32;
    for i in 0..200 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let a = animals[(x >> 16) as usize % animals.len()];
        out.push_str(&format!("{a}:{}:{}\n", i % 13, (x >> 8) % 1000));
    }
    out.into_bytes()
}

fn sorted_words() -> Vec<u8> {
    let mut lines: Vec<&str> = std::str::from_utf8(&WORDS).unwrap().lines().collect();
    lines.sort();
    let mut out = lines
        .iter()
        .map(|l| l.split(':').next().unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    out.push('\n');
    out.into_bytes()
}

static WORDS: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(words);

fn binary_data(len: usize) -> Vec<u8> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let text = b"nutshell runs unmodified Linux programs. ";
    (0..len)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Half text (compressible), half noise.
            if (i / 4096) % 2 == 0 {
                text[i % text.len()]
            } else {
                (x >> 24) as u8
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// coreutils
// ---------------------------------------------------------------------------------------------

#[test]
fn coreutils_ls_la() {
    let items = vec![
        Item::Dir("d"),
        file("d/a.txt", "alpha\n"),
        file("d/b.dat", vec![7u8; 5000]),
        Item::Exec("d/run.sh", b"#!/bin/sh\necho hi\n".to_vec()),
        Item::Dir("d/sub"),
        file("d/sub/inner", "x"),
        Item::Link("d/link", "a.txt"),
        file("d/.hidden", ""),
    ];
    compare(Case::new("ls", "/usr/bin/ls", &["-la", "d"]).items(items));
}

#[test]
fn coreutils_cat() {
    compare(
        Case::new("cat", "/usr/bin/cat", &["one.txt", "two.txt"]).items(vec![
            file("one.txt", "first file\n"),
            file("two.txt", WORDS.clone()),
        ]),
    );
}

#[test]
fn coreutils_cat_stdin() {
    let data = binary_data(100_000);
    compare(Case::new("cat-stdin", "/usr/bin/cat", &[]).stdin(&data));
}

#[test]
fn coreutils_echo() {
    compare(Case::new(
        "echo",
        "/usr/bin/echo",
        &["hello", "nutshell", "it's", "-n-", "a  b"],
    ));
}

#[test]
fn coreutils_sort() {
    compare(
        Case::new(
            "sort",
            "/usr/bin/sort",
            &["-t:", "-k2,2n", "-k1,1", "words"],
        )
        .items(vec![file("words", WORDS.clone())]),
    );
}

#[test]
fn coreutils_sort_stdin() {
    compare(Case::new("sort-stdin", "/usr/bin/sort", &["-r"]).stdin(&WORDS));
}

#[test]
fn coreutils_uniq_c() {
    compare(
        Case::new("uniq", "/usr/bin/uniq", &["-c", "sorted"])
            .items(vec![file("sorted", sorted_words())]),
    );
}

#[test]
fn coreutils_wc() {
    compare(
        Case::new("wc", "/usr/bin/wc", &["words", "bin"]).items(vec![
            file("words", WORDS.clone()),
            file("bin", binary_data(30_000)),
        ]),
    );
}

#[test]
fn coreutils_md5sum() {
    compare(
        Case::new("md5sum", "/usr/bin/md5sum", &["words", "bin"]).items(vec![
            file("words", WORDS.clone()),
            file("bin", binary_data(70_000)),
        ]),
    );
}

#[test]
fn coreutils_sha256sum() {
    compare(
        Case::new("sha256sum", "/usr/bin/sha256sum", &["words", "bin"]).items(vec![
            file("words", WORDS.clone()),
            file("bin", binary_data(70_000)),
        ]),
    );
}

#[test]
fn coreutils_head() {
    compare(
        Case::new("head", "/usr/bin/head", &["-n", "7", "words"])
            .items(vec![file("words", WORDS.clone())]),
    );
}

#[test]
fn coreutils_tail() {
    compare(
        Case::new("tail", "/usr/bin/tail", &["-n", "5", "words"])
            .items(vec![file("words", WORDS.clone())]),
    );
}

#[test]
fn coreutils_cut() {
    compare(
        Case::new("cut", "/usr/bin/cut", &["-d:", "-f1,3", "words"])
            .items(vec![file("words", WORDS.clone())]),
    );
}

#[test]
fn coreutils_tr() {
    compare(Case::new("tr", "/usr/bin/tr", &["a-z:", "A-Z_"]).stdin(&WORDS));
}

#[test]
fn coreutils_seq() {
    compare(Case::new(
        "seq",
        "/usr/bin/seq",
        &["-s", ",", "1", "7", "1000"],
    ));
}

#[test]
fn coreutils_date() {
    compare(Case::new("date", "/usr/bin/date", &["-d", "@0", "-u"]));
}

#[test]
fn coreutils_du_s() {
    compare(Case::new("du", "/usr/bin/du", &["-s", "d"]).items(vec![
        Item::Dir("d"),
        file("d/small", "x"),
        file("d/big", binary_data(50_000)),
        Item::Dir("d/sub"),
        file("d/sub/f", binary_data(9000)),
    ]));
}

#[test]
fn coreutils_stat_c() {
    compare(
        Case::new(
            "stat",
            "/usr/bin/stat",
            &["-c", "%n %s %a %A %F %h %U %G", "f", "x", "d", "l"],
        )
        .items(vec![
            file("f", "twelve bytes"),
            Item::Exec("x", b"\x7fELF".to_vec()),
            Item::Dir("d"),
            Item::Link("l", "f"),
        ]),
    );
}

// ---------------------------------------------------------------------------------------------
// bc, gzip, bzip2
// ---------------------------------------------------------------------------------------------

#[test]
fn bc_scale_50() {
    require("/usr/bin/bc", "bc");
    let script = b"scale=50\n4*a(1)\nsqrt(2)\ne(1)\nl(10)\ns(1)+c(1)\n2^100/3\nquit\n";
    compare(
        Case::new("bc", "/usr/bin/bc", &["-l", "calc.bc"])
            .items(vec![file("calc.bc", &script[..])]),
    );
}

/// Compress in the guest (same bytes as natively), then decompress the guest's output in
/// the guest: the original comes back. (No fork yet: two boots instead of one shell.)
fn round_trip(program: &str, package: &str, compress: &[&str], decompress: &[&str], ext: &str) {
    require(program, package);
    let original = binary_data(200_000);
    let packed = compare(Case::new(&format!("{ext}-c"), program, compress).stdin(&original));
    assert_eq!(packed.native.status, Some(0));
    let name: &'static str = Box::leak(format!("data.{ext}").into_boxed_str());
    let mut args: Vec<&str> = decompress.to_vec();
    args.push(name);
    let unpacked = compare(
        Case::new(&format!("{ext}-d"), program, &args)
            .items(vec![file(name, packed.guest.stdout.clone())]),
    );
    assert!(
        unpacked.guest.stdout == original,
        "the round trip changed the data"
    );
}

#[test]
fn gzip_round_trip() {
    round_trip(
        "/usr/bin/gzip",
        "gzip",
        &["-9", "-n", "-c"],
        &["-d", "-c"],
        "gz",
    );
}

#[test]
fn bzip2_round_trip() {
    round_trip(
        "/usr/bin/bzip2",
        "bzip2",
        &["-9", "-c"],
        &["-d", "-c"],
        "bz2",
    );
}

// ---------------------------------------------------------------------------------------------
// sqlite3
// ---------------------------------------------------------------------------------------------

fn sql_script() -> Vec<u8> {
    let mut s = String::from(
        "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT);\n\
         CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INTEGER REFERENCES customers(id), amount INTEGER, item TEXT);\n\
         BEGIN;\n",
    );
    let cities = ["Paris", "Lyon", "Oslo", "Lima", "Kyiv"];
    for c in 0..100 {
        s.push_str(&format!(
            "INSERT INTO customers VALUES({c}, 'customer {c}', '{}');\n",
            cities[c % cities.len()]
        ));
    }
    for o in 0..10_000 {
        s.push_str(&format!(
            "INSERT INTO orders(customer, amount, item) VALUES({}, {}, 'item {}');\n",
            (o * 7) % 100,
            (o * 37) % 1000,
            o % 50
        ));
    }
    s.push_str(
        "COMMIT;\n\
         CREATE INDEX orders_customer ON orders(customer);\n\
         SELECT count(*), sum(amount), min(amount), max(amount) FROM orders;\n\
         SELECT c.city, count(*), sum(o.amount), round(avg(o.amount), 3) FROM orders o JOIN customers c ON o.customer = c.id GROUP BY c.city ORDER BY c.city;\n\
         SELECT c.name, sum(o.amount) AS total FROM customers c JOIN orders o ON o.customer = c.id GROUP BY c.id ORDER BY total DESC, c.name LIMIT 5;\n\
         SELECT item, count(*) FROM orders WHERE customer IN (SELECT id FROM customers WHERE city = 'Oslo') GROUP BY item HAVING count(*) > 40 ORDER BY 2 DESC, 1;\n\
         EXPLAIN QUERY PLAN SELECT * FROM orders WHERE customer = 5;\n\
         PRAGMA integrity_check;\n",
    );
    s.into_bytes()
}

#[test]
fn sqlite3_on_a_file() {
    require("/usr/bin/sqlite3", "sqlite3");
    let script = sql_script();
    compare(Case::new("sqlite-file", "/usr/bin/sqlite3", &["test.db"]).stdin(&script));
}

#[test]
fn sqlite3_in_memory() {
    require("/usr/bin/sqlite3", "sqlite3");
    let script = sql_script();
    compare(Case::new("sqlite-mem", "/usr/bin/sqlite3", &[":memory:"]).stdin(&script));
}

// ---------------------------------------------------------------------------------------------
// python3, lua, openssl
// ---------------------------------------------------------------------------------------------

/// The files Python reads besides its libraries (its standard library is data, invisible to
/// an ELF walk): every file `python3 -v` names when running the same command natively, plus
/// the landmarks its start-up looks for (`os.py`, `lib-dynload/`).
fn python_extra(args: &[&str], dir: &Path) -> Extra {
    let out = Command::new("/usr/bin/python3")
        .arg("-v")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(GUEST_ENV.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("python3 -v");
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    let mut files = BTreeSet::new();
    for token in text.split(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
        if token.starts_with('/') && Path::new(token).is_file() {
            files.insert(PathBuf::from(token));
        }
    }
    let version = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')",
        ])
        .output()
        .expect("python3 version");
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    let lib = PathBuf::from(format!("/usr/lib/python{version}"));
    files.insert(lib.join("os.py"));
    Extra {
        adds: files.into_iter().collect(),
        dirs: vec![lib.join("lib-dynload")],
    }
}

#[test]
fn python3_script() {
    require("/usr/bin/python3", "python3");
    let script =
        fs::read(common::repo_root().join("tests/guest/dynamic/script.py")).expect("script.py");
    // The Python -v run needs the same directory content as the real ones.
    let probe = workdir(
        "python-probe",
        &[file("script.py", script.clone()), file("data.txt", "x")],
    );
    let extra = python_extra(&["script.py"], probe.path());
    compare(
        Case::new("python", "/usr/bin/python3", &["script.py"])
            .items(vec![file("script.py", script), file("data.txt", "x")])
            .extra(extra),
    );
}

#[test]
fn python3_c() {
    require("/usr/bin/python3", "python3");
    // The issue's benchmark: QEMU start to exit, Python's whole start-up included.
    let probe = workdir("python-c-probe", &[]);
    let extra = python_extra(&["-c", "print(1)"], probe.path());
    let c =
        compare(Case::new("python-print", "/usr/bin/python3", &["-c", "print(1)"]).extra(extra));
    eprintln!(
        "python3 -c 'print(1)': nutshell {:?} (QEMU start to exit), native {:?}",
        c.guest.elapsed, c.native.elapsed
    );
    let code = "import sys; print(1); print(sum(range(10**5)), sys.argv, sys.platform)";
    let extra = python_extra(&["-c", code, "arg"], probe.path());
    compare(Case::new("python-c", "/usr/bin/python3", &["-c", code, "arg"]).extra(extra));
}

#[test]
fn lua_script() {
    require("/usr/bin/lua5.4", "lua5.4");
    let script =
        fs::read(common::repo_root().join("tests/guest/dynamic/script.lua")).expect("script.lua");
    compare(
        Case::new("lua", "/usr/bin/lua5.4", &["script.lua"])
            .items(vec![file("script.lua", script)]),
    );
}

/// OpenSSL reads its configuration file (a link into /etc/ssl on Debian).
fn openssl_extra() -> Extra {
    let mut extra = Extra::default();
    if Path::new("/usr/lib/ssl/openssl.cnf").exists() {
        extra.adds.push("/usr/lib/ssl/openssl.cnf".into());
    }
    extra
}

#[test]
fn openssl_dgst_sha256() {
    require("/usr/bin/openssl", "openssl");
    compare(
        Case::new(
            "openssl-dgst",
            "/usr/bin/openssl",
            &["dgst", "-sha256", "bin", "words"],
        )
        .items(vec![
            file("bin", binary_data(100_000)),
            file("words", WORDS.clone()),
        ])
        .extra(openssl_extra()),
    );
}

#[test]
fn openssl_enc_round_trip() {
    require("/usr/bin/openssl", "openssl");
    let original = binary_data(50_000);
    // A fixed salt makes the output deterministic, so it can be compared with the native one.
    // (With -S, OpenSSL 3 writes no salt header: decrypting needs it too.)
    let key = [
        "-pass",
        "pass:nutshell",
        "-pbkdf2",
        "-iter",
        "1000",
        "-aes-256-cbc",
        "-S",
        "0123456789abcdef",
    ];
    let mut enc = vec!["enc", "-e", "-in", "plain"];
    enc.extend_from_slice(&key);
    let encrypted = compare(
        Case::new("openssl-enc", "/usr/bin/openssl", &enc)
            .items(vec![file("plain", original.clone())])
            .extra(openssl_extra()),
    );
    let mut dec = vec!["enc", "-d", "-in", "cipher"];
    dec.extend_from_slice(&key);
    let decrypted = compare(
        Case::new("openssl-dec", "/usr/bin/openssl", &dec)
            .items(vec![file("cipher", encrypted.guest.stdout.clone())])
            .extra(openssl_extra()),
    );
    assert!(
        decrypted.guest.stdout == original,
        "the round trip changed the data"
    );
}

// ---------------------------------------------------------------------------------------------
// Programs built here: C++, Rust, a missing library
// ---------------------------------------------------------------------------------------------

/// Where this file's programs are built.
fn build_dir() -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dynamic-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("build dir");
    dir
}

#[track_caller]
fn run_tool(cmd: &mut Command, package: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (install it: `apt-get install {package}`)"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn source(name: &str) -> PathBuf {
    common::repo_root().join("tests/guest/dynamic").join(name)
}

#[test]
fn cxx_exceptions_dynamic() {
    let out = build_dir().join("exceptions");
    run_tool(
        Command::new("g++")
            .args(["-O2", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(&out)
            .arg(source("exceptions.cpp")),
        "g++",
    );
    let program = out.to_str().expect("UTF-8 path").to_string();
    let c = compare(Case::new("cxx", &program, &["x"]));
    assert!(c.guest.stdout.ends_with(b"c++ dynamic ok\n"));
}

#[test]
fn rust_dynamic() {
    let out = build_dir().join("hello-rust-dynamic");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    run_tool(
        Command::new(rustc)
            .args([
                "--edition=2021",
                "-O",
                "--target",
                "x86_64-unknown-linux-gnu",
                "-o",
            ])
            .arg(&out)
            .arg(source("hello.rs")),
        "rustc",
    );
    let program = out.to_str().expect("UTF-8 path").to_string();
    let c = compare(Case::new("rust", &program, &["a b", "c"]));
    assert!(c.guest.stdout.ends_with(b"rust dynamic ok\n"));
}

/// `usegreet` linked against `lib/libgreet.so` with `-rpath '$ORIGIN/lib'`, in a fresh directory.
fn build_usegreet(label: &str) -> PathBuf {
    let dir = build_dir().join(label);
    fs::create_dir_all(dir.join("lib")).expect("mkdir");
    run_tool(
        Command::new("gcc")
            .args(["-shared", "-fPIC", "-O2", "-o"])
            .arg(dir.join("lib/libgreet.so"))
            .arg(source("greet.c")),
        "gcc",
    );
    run_tool(
        Command::new("gcc")
            .args(["-O2", "-o"])
            .arg(dir.join("usegreet"))
            .arg(source("usegreet.c"))
            .arg("-L")
            .arg(dir.join("lib"))
            .args(["-lgreet", "-Wl,-rpath,$ORIGIN/lib"]),
        "gcc",
    );
    dir.join("usegreet")
}

#[test]
fn origin_relative_library() {
    let program = build_usegreet("origin");
    let program = program.to_str().expect("UTF-8").to_string();
    let c = compare(Case::new("origin", &program, &["nutshell"]));
    assert_eq!(c.guest.stdout, b"hello, nutshell, from libgreet\n");
}

/// A library that is gone: the collection names it and who needs it (status 127, before
/// anything boots); and if such an initrd were booted anyway, ld.so in the guest says what it
/// says natively, with the same status.
#[test]
fn missing_library() {
    let program = build_usegreet("missing");
    let dir = program.parent().expect("dir").to_path_buf();
    // Collected while the library is there...
    let complete = collector().collect(&program).expect("collect");
    fs::remove_file(dir.join("lib/libgreet.so")).expect("rm");
    // ...and now it is gone.
    let err = collector()
        .collect(&program)
        .expect_err("libgreet.so is gone");
    assert_eq!(
        err.to_string(),
        format!(
            "{0}: libgreet.so (needed by {0}) not found",
            program.display()
        )
    );
    assert_eq!(err.status(), 127);

    let native_run = native(&program, &[], None, &dir);
    assert_eq!(native_run.status, Some(127), "{native_run}");
    let files: Vec<_> = complete
        .files
        .into_iter()
        .filter(|f| !f.guest.ends_with("libgreet.so"))
        .collect();
    let work = workdir("missing", &[]);
    let initrd = work.path().with_extension("cpio");
    let out = fs::File::create(&initrd).expect("initrd");
    let mut cpio = CpioWriter::new(std::io::BufWriter::new(out));
    deps::write_cpio(&files, &mut cpio).expect("pack");
    pack_tree(&mut cpio, work.path(), "w");
    cpio.finish().expect("finish").flush().expect("flush");
    let guest_run = boot(&initrd, program.to_str().expect("UTF-8"), &[], None);
    let _ = fs::remove_file(&initrd);
    assert_eq!(guest_run.status, Some(127), "{guest_run}");
    assert_eq!(guest_run.stdout, native_run.stdout);
    assert_eq!(
        String::from_utf8_lossy(&guest_run.stderr),
        String::from_utf8_lossy(&native_run.stderr),
        "ld.so's message"
    );
}

/// The same through the CLI, once `nutshell run` collects libraries: the message, 127, and no
/// QEMU started.
#[test]
fn missing_library_through_the_cli() {
    let program = build_usegreet("missing-cli");
    fs::remove_file(program.parent().unwrap().join("lib/libgreet.so")).expect("rm");
    let out = common::run_program(&[], &program, &[]);
    out.expect_code(127)
        .expect_stdout("")
        .expect_stderr(&format!(
            "nutshell: {0}: libgreet.so (needed by {0}) not found\n",
            program.display()
        ));
    assert!(
        out.elapsed < Duration::from_secs(2),
        "nothing was booted: {:?}",
        out.elapsed
    );
}

/// Resolution is cached: the second collection of the same program is a cache hit.
#[test]
fn resolution_is_cached() {
    let cache = tempfile::tempdir().expect("tempdir");
    let mut c = Collector::new();
    c.cache_dir(Some(cache.path().to_path_buf()));
    let first = c.collect(Path::new("/usr/bin/ls")).expect("collect");
    let second = c.collect(Path::new("/usr/bin/ls")).expect("collect");
    assert!(!first.from_cache && second.from_cache);
    assert_eq!(first.files, second.files);
}
