//! Shared support for the end-to-end tests: building the guest programs of
//! `tests/guest/`, running processes under a hard timeout, temporary
//! directories, the kernel image and QEMU command lines, and a tiny cpio writer.
#![allow(dead_code)]

use std::collections::hash_map::DefaultHasher;
use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

/// Default limit for one run of nutshell or QEMU.
pub const TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------
// Guest programs
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Toolchain {
    /// `gcc -static-pie` against glibc.
    Glibc,
    /// musl's objects compiled with `musl-gcc -fPIE`, linked as a real static-PIE.
    Musl,
    /// `g++ -static-pie` against glibc and libstdc++.
    Cxx,
    /// `rustc` with a static C runtime, position independent.
    Rust,
    /// `gcc -static-pie -g -O0` against glibc (for gdb).
    GlibcDebug,
}

struct GuestSpec {
    /// File name of the built program (and so its path `/<name>` in the guest).
    name: &'static str,
    /// Source file in `tests/guest/`.
    source: &'static str,
    toolchain: Toolchain,
}

const GUESTS: &[GuestSpec] = &[
    guest_spec("hello-glibc", "hello.c", Toolchain::Glibc),
    guest_spec("hello-musl", "hello.c", Toolchain::Musl),
    guest_spec("hello-cpp", "hello.cpp", Toolchain::Cxx),
    guest_spec("hello-rust", "hello.rs", Toolchain::Rust),
    guest_spec("auxv", "auxv.c", Toolchain::Glibc),
    guest_spec("auxv-musl", "auxv.c", Toolchain::Musl),
    guest_spec("memory", "memory.c", Toolchain::Glibc),
    guest_spec("exitcode", "exitcode.c", Toolchain::Glibc),
    guest_spec("streams", "streams.c", Toolchain::Glibc),
    guest_spec("cat", "cat.c", Toolchain::Glibc),
    guest_spec("copy", "copy.c", Toolchain::Glibc),
    guest_spec("time", "time.c", Toolchain::Glibc),
    guest_spec("random", "random.c", Toolchain::Glibc),
    guest_spec("fault", "fault.c", Toolchain::Glibc),
    guest_spec("signals", "signals.c", Toolchain::Glibc),
    guest_spec("tty", "tty.c", Toolchain::Glibc),
    guest_spec("getcpu", "getcpu.c", Toolchain::Glibc),
    guest_spec("debugme", "debugme.c", Toolchain::GlibcDebug),
    guest_spec("volume", "volume.c", Toolchain::Glibc),
];

const fn guest_spec(name: &'static str, source: &'static str, toolchain: Toolchain) -> GuestSpec {
    GuestSpec {
        name,
        source,
        toolchain,
    }
}

static BUILT: [OnceLock<Result<PathBuf, String>>; GUESTS.len()] =
    [const { OnceLock::new() }; GUESTS.len()];

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// Where the guest programs are built: `<target dir>/guest/`.
pub fn guest_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("guest")
}

/// The path of guest program `name` (see `GUESTS`), built on first use in this
/// process and only when its source or its build command changed.
#[track_caller]
pub fn guest(name: &str) -> PathBuf {
    let index = GUESTS
        .iter()
        .position(|g| g.name == name)
        .unwrap_or_else(|| panic!("no guest program named {name:?}"));
    match BUILT[index].get_or_init(|| build_guest(&GUESTS[index])) {
        Ok(path) => path.clone(),
        Err(message) => panic!("building guest program {name}: {message}"),
    }
}

/// A command line to run, with the package that provides its program.
struct Step {
    program: String,
    args: Vec<String>,
    package: &'static str,
}

impl Step {
    fn new(program: &str, package: &'static str) -> Self {
        Step {
            program: program.to_string(),
            args: Vec::new(),
            package,
        }
    }

    fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_string_lossy().into_owned());
        self
    }

    fn line(&self) -> String {
        format!("{} {}", self.program, self.args.join(" "))
    }

    fn run(&self) -> Result<(), String> {
        let output = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| missing_tool(&self.program, self.package, &e))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "`{}` failed ({}):\n{}{}",
                self.line(),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

fn missing_tool(program: &str, package: &str, e: &std::io::Error) -> String {
    if e.kind() == ErrorKind::NotFound {
        format!(
            "`{program}` is not installed: install it with `apt-get install {package}` \
             (the tests need it, CI installs it)"
        )
    } else {
        format!("cannot run `{program}`: {e}")
    }
}

/// Output of `program args...`, failing with an install hint if it is missing.
fn query(program: &str, package: &'static str, args: &[&str]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| missing_tool(program, package, &e))?;
    if !output.status.success() {
        return Err(format!(
            "`{program} {}` failed: {}",
            args.join(" "),
            output.status
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

const MUSL_LIB: &str = "/usr/lib/x86_64-linux-musl";

fn build_steps(spec: &GuestSpec, source: &Path, out: &Path) -> Result<Vec<Step>, String> {
    let warnings = ["-Wall", "-Wextra", "-Werror"];
    let steps = match spec.toolchain {
        Toolchain::Glibc => {
            let mut step = Step::new("gcc", "gcc").arg("-static-pie").arg("-O2");
            for w in warnings {
                step = step.arg(w);
            }
            vec![step.arg("-o").arg(out).arg(source)]
        }
        Toolchain::GlibcDebug => {
            let mut step = Step::new("gcc", "gcc")
                .arg("-static-pie")
                .arg("-g")
                .arg("-O0");
            for w in warnings {
                step = step.arg(w);
            }
            vec![step.arg("-o").arg(out).arg(source)]
        }
        Toolchain::Cxx => {
            let mut step = Step::new("g++", "g++").arg("-static-pie").arg("-O2");
            for w in warnings {
                step = step.arg(w);
            }
            vec![step.arg("-o").arg(out).arg(source)]
        }
        Toolchain::Musl => {
            // Debian's `musl-gcc -static-pie` silently links a dynamic PIE that
            // needs /lib/ld-musl-x86_64.so.1: link musl's static-PIE start files
            // and libc.a by hand instead.
            let object = out.with_extension("o");
            let libgcc = query("gcc", "gcc", &["-print-libgcc-file-name"])?;
            for file in ["rcrt1.o", "crti.o", "crtn.o", "libc.a"] {
                let path = Path::new(MUSL_LIB).join(file);
                if !path.exists() {
                    return Err(format!(
                        "{} is missing: install it with `apt-get install musl-tools musl-dev`",
                        path.display()
                    ));
                }
            }
            let mut compile = Step::new("musl-gcc", "musl-tools").arg("-fPIE").arg("-O2");
            for w in warnings {
                compile = compile.arg(w);
            }
            let compile = compile.arg("-c").arg("-o").arg(&object).arg(source);
            let link = Step::new("gcc", "gcc")
                .arg("-static-pie")
                .arg("-nostdlib")
                .arg("-o")
                .arg(out)
                .arg(format!("{MUSL_LIB}/rcrt1.o"))
                .arg(format!("{MUSL_LIB}/crti.o"))
                .arg(&object)
                .arg(format!("{MUSL_LIB}/libc.a"))
                .arg(libgcc)
                .arg(format!("{MUSL_LIB}/crtn.o"));
            vec![compile, link]
        }
        Toolchain::Rust => {
            let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
            vec![Step::new(&rustc, "rustc (or install Rust with rustup)")
                .arg("--edition=2021")
                .arg("-O")
                .arg("-C")
                .arg("target-feature=+crt-static")
                .arg("-C")
                .arg("relocation-model=pie")
                .arg("-C")
                .arg("strip=debuginfo")
                .arg("--target")
                .arg("x86_64-unknown-linux-gnu")
                .arg("-o")
                .arg(out)
                .arg(source)]
        }
    };
    Ok(steps)
}

fn mtime(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn build_guest(spec: &GuestSpec) -> Result<PathBuf, String> {
    let source = repo_root().join("tests/guest").join(spec.source);
    let dir = guest_dir();
    fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let out = dir.join(spec.name);
    let stamp = dir.join(format!("{}.cmd", spec.name));

    // The recipe as it would build `out` in place; a change of it rebuilds.
    let recipe: Vec<String> = build_steps(spec, &source, &out)?
        .iter()
        .map(Step::line)
        .collect();
    let recipe = recipe.join("\n") + "\n";
    let src_time = mtime(&source).ok_or_else(|| format!("missing source {}", source.display()))?;
    let up_to_date = match (mtime(&out), fs::read_to_string(&stamp)) {
        (Some(out_time), Ok(old)) => out_time >= src_time && old == recipe,
        _ => false,
    };
    if up_to_date {
        return Ok(out);
    }

    // Build under a name unique to this process, then rename into place: another
    // test process may be building or running the same program.
    let temp = dir.join(format!(".{}.{}.tmp", spec.name, std::process::id()));
    let result = build_steps(spec, &source, &temp)?
        .iter()
        .try_for_each(Step::run)
        .and_then(|()| check_static_pie(&temp));
    let _ = fs::remove_file(temp.with_extension("o"));
    if let Err(e) = result {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    fs::rename(&temp, &out).map_err(|e| format!("renaming {}: {e}", temp.display()))?;
    let stamp_temp = dir.join(format!(".{}.{}.cmd.tmp", spec.name, std::process::id()));
    fs::write(&stamp_temp, &recipe).map_err(|e| format!("writing stamp: {e}"))?;
    fs::rename(&stamp_temp, &stamp).map_err(|e| format!("writing stamp: {e}"))?;
    Ok(out)
}

/// Every guest must be a static-PIE: ELF64 x86-64, `ET_DYN`, no `PT_INTERP`.
fn check_static_pie(path: &Path) -> Result<(), String> {
    let data = fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let elf = Elf64::parse(&data).ok_or_else(|| format!("{} is not an ELF64", path.display()))?;
    if elf.e_type != 3 {
        return Err(format!(
            "{} has e_type {}, not ET_DYN",
            path.display(),
            elf.e_type
        ));
    }
    if elf.e_machine != 62 {
        return Err(format!("{} is not x86-64", path.display()));
    }
    if elf.phdrs.iter().any(|p| p.p_type == 3) {
        return Err(format!(
            "{} has a PT_INTERP: it is a dynamic PIE, not a static-PIE",
            path.display()
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Minimal ELF64 reading (for checks and for making broken copies)
// ---------------------------------------------------------------------------

pub struct Elf64 {
    pub e_type: u16,
    pub e_machine: u16,
    pub e_entry: u64,
    pub phdrs: Vec<Phdr>,
}

pub struct Phdr {
    pub p_type: u32,
    pub p_offset: u64,
    pub p_vaddr: u64,
    pub p_filesz: u64,
}

fn le16(d: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(d[at..at + 2].try_into().unwrap())
}

fn le32(d: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(d[at..at + 4].try_into().unwrap())
}

fn le64(d: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(d[at..at + 8].try_into().unwrap())
}

impl Elf64 {
    pub fn parse(d: &[u8]) -> Option<Elf64> {
        if d.len() < 64 || &d[..4] != b"\x7fELF" || d[4] != 2 || d[5] != 1 {
            return None;
        }
        let phoff = le64(d, 32) as usize;
        let phentsize = le16(d, 54) as usize;
        let phnum = le16(d, 56) as usize;
        let mut phdrs = Vec::new();
        for i in 0..phnum {
            let at = phoff.checked_add(i.checked_mul(phentsize)?)?;
            if phentsize < 56 || at.checked_add(56)? > d.len() {
                return None;
            }
            phdrs.push(Phdr {
                p_type: le32(d, at),
                p_offset: le64(d, at + 8),
                p_vaddr: le64(d, at + 16),
                p_filesz: le64(d, at + 32),
            });
        }
        Some(Elf64 {
            e_type: le16(d, 16),
            e_machine: le16(d, 18),
            e_entry: le64(d, 24),
            phdrs,
        })
    }
}

// ---------------------------------------------------------------------------
// Temporary directories
// ---------------------------------------------------------------------------

/// A fresh directory under the target dir, removed on drop unless the test is
/// failing (then it is kept for inspection).
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("e2e-{}-{n}-{label}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("creating a temporary directory");
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes `data` to `name` in this directory, with mode 0755.
    pub fn write_exec(&self, name: &str, data: &[u8]) -> PathBuf {
        let path = self.join(name);
        fs::write(&path, data).expect("writing a test file");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !thread::panicking() {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

// ---------------------------------------------------------------------------
// Running processes under a timeout
// ---------------------------------------------------------------------------

/// What a finished process did.
pub struct Outcome {
    pub what: String,
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub elapsed: Duration,
}

impl Outcome {
    /// The exit code; fails the test if the process died of a signal.
    #[track_caller]
    pub fn code(&self) -> i32 {
        match self.status.code() {
            Some(code) => code,
            None => panic!(
                "{} died of signal {:?}\n{self}",
                self.what,
                self.status.signal()
            ),
        }
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// Fails the test unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code(), code, "unexpected exit status\n{self}");
        self
    }

    #[track_caller]
    pub fn expect_stdout(&self, expected: &str) -> &Self {
        assert_eq!(self.stdout(), expected, "unexpected stdout\n{self}");
        self
    }

    #[track_caller]
    pub fn expect_stderr(&self, expected: &str) -> &Self {
        assert_eq!(self.stderr(), expected, "unexpected stderr\n{self}");
        self
    }

    #[track_caller]
    pub fn expect_stdout_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stdout().contains(needle),
            "stdout lacks {needle:?}\n{self}"
        );
        self
    }

    #[track_caller]
    pub fn expect_stderr_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stderr().contains(needle),
            "stderr lacks {needle:?}\n{self}"
        );
        self
    }

    /// Lines of stdout.
    pub fn lines(&self) -> Vec<String> {
        self.stdout().lines().map(str::to_string).collect()
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "command: {}", self.what)?;
        writeln!(f, "status: {} after {:?}", self.status, self.elapsed)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout())?;
        write!(f, "--- stderr ---\n{}--------------", self.stderr())
    }
}

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}
pub const SIGKILL: i32 = 9;
pub const SIGINT: i32 = 2;
pub const SIGUSR1: i32 = 10;
pub const SIGTERM: i32 = 15;

/// Runs `cmd` in its own process group with `stdin` piped in (then closed; no
/// stdin means /dev/null). Past `timeout` the whole group is killed and the
/// test fails. It also fails if processes of the group outlive the command.
#[track_caller]
pub fn run_with_timeout(cmd: Command, stdin: Option<&[u8]>, timeout: Duration) -> Outcome {
    Running::start(cmd, stdin).finish(timeout)
}

/// A command started in its own process group, its stdout and stderr collected
/// as they come (so a test can wait for a line, then send a signal).
pub struct Running {
    what: String,
    child: std::process::Child,
    pgid: i32,
    start: Instant,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    threads: Vec<thread::JoinHandle<()>>,
}

fn collect(
    mut pipe: impl Read + Send + 'static,
    into: Arc<Mutex<Vec<u8>>>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => into.lock().unwrap().extend_from_slice(&buf[..n]),
            }
        }
    })
}

impl Running {
    #[track_caller]
    pub fn start(mut cmd: Command, stdin: Option<&[u8]>) -> Running {
        let what = format!("{cmd:?}");
        cmd.process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let start = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let pgid = child.id() as i32;
        let mut threads = Vec::new();
        if let Some(mut pipe) = child.stdin.take() {
            let data = stdin.unwrap_or_default().to_vec();
            // An early exit of the program closes the pipe: not an error here.
            threads.push(thread::spawn(move || {
                let _ = pipe.write_all(&data);
            }));
        }
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        threads.push(collect(child.stdout.take().unwrap(), Arc::clone(&stdout)));
        threads.push(collect(child.stderr.take().unwrap(), Arc::clone(&stderr)));
        Running {
            what,
            child,
            pgid,
            start,
            stdout,
            stderr,
            threads,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn stdout_so_far(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    pub fn stderr_so_far(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// Waits until stdout (or stderr) contains `needle`; fails the test after `timeout`
    /// or when the process exits first.
    #[track_caller]
    pub fn wait_for(&mut self, needle: &str, on_stderr: bool, timeout: Duration) {
        let begin = Instant::now();
        loop {
            let text = if on_stderr {
                self.stderr_so_far()
            } else {
                self.stdout_so_far()
            };
            if text.contains(needle) {
                return;
            }
            let exited = matches!(self.child.try_wait(), Ok(Some(_)));
            if exited || begin.elapsed() > timeout {
                // SAFETY: kill(2) with a negative pid signals the process group we created.
                unsafe { kill(-self.pgid, SIGKILL) };
                let _ = self.child.wait();
                panic!(
                    "{} {needle:?} never appeared ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
                    self.what,
                    if exited {
                        "the process exited"
                    } else {
                        "timed out"
                    },
                    self.stdout_so_far(),
                    self.stderr_so_far()
                );
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends `signal` to the process itself (not its group).
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid, which is not reaped yet.
        unsafe { kill(self.pid(), signal) };
    }

    /// Waits for the exit (killing the whole group past `timeout`, which fails the
    /// test), then checks that nothing of the group is left.
    #[track_caller]
    pub fn finish(mut self, timeout: Duration) -> Outcome {
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if self.start.elapsed() < timeout => {
                    thread::sleep(Duration::from_millis(5))
                }
                Ok(None) => break None,
                Err(e) => panic!("waiting for {}: {e}", self.what),
            }
        };
        let elapsed = self.start.elapsed();
        // Whatever is left of the group (QEMU, say) goes now; kill() says if
        // anything was there.
        // SAFETY: kill(2) with a negative pid signals the process group we created.
        let leftovers = unsafe { kill(-self.pgid, SIGKILL) } == 0;
        if status.is_none() {
            let _ = self.child.wait();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let outcome = Outcome {
            what: self.what.clone(),
            status: status.unwrap_or_else(|| ExitStatus::from_raw(SIGKILL)),
            stdout: std::mem::take(&mut *self.stdout.lock().unwrap()),
            stderr: std::mem::take(&mut *self.stderr.lock().unwrap()),
            elapsed,
        };
        if status.is_none() {
            panic!("timed out after {timeout:?}, killed\n{outcome}");
        }
        if leftovers {
            panic!(
                "processes of the command's group were still running after it exited\n{outcome}"
            );
        }
        outcome
    }
}

/// `nutshell ARGS...` started (stdin /dev/null), for tests that talk to it while
/// it runs.
pub fn spawn_nutshell<S: AsRef<OsStr>>(args: &[S]) -> Running {
    let mut cmd = Command::new(nutshell_bin());
    cmd.args(args);
    Running::start(cmd, None)
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

// ---------------------------------------------------------------------------
// The nutshell CLI
// ---------------------------------------------------------------------------

pub fn nutshell_bin() -> &'static str {
    env!("CARGO_BIN_EXE_nutshell")
}

/// `nutshell ARGS...` with `stdin`, under `TIMEOUT`.
#[track_caller]
pub fn nutshell<S: AsRef<OsStr>>(args: &[S], stdin: Option<&[u8]>) -> Outcome {
    nutshell_timeout(args, stdin, TIMEOUT)
}

#[track_caller]
pub fn nutshell_timeout<S: AsRef<OsStr>>(
    args: &[S],
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Outcome {
    let mut cmd = Command::new(nutshell_bin());
    cmd.args(args);
    run_with_timeout(cmd, stdin, timeout)
}

/// `nutshell run ARGS...` where `ARGS` are nutshell's options, then `program`
/// and `program_args`.
#[track_caller]
pub fn run_program(options: &[&str], program: &Path, program_args: &[&str]) -> Outcome {
    let mut args: Vec<&OsStr> = vec![OsStr::new("run")];
    args.extend(options.iter().map(OsStr::new));
    args.push(program.as_os_str());
    args.extend(program_args.iter().map(OsStr::new));
    nutshell(&args, None)
}

/// The kernel image from `nutshell kernel -o`, written once per test process.
#[track_caller]
pub fn kernel_image() -> PathBuf {
    static KERNEL: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let result = KERNEL.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("e2e-kernel-{}", std::process::id()));
        fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let path = dir.join("nutshell.elf");
        let out = nutshell(
            &[OsStr::new("kernel"), OsStr::new("-o"), path.as_os_str()],
            None,
        );
        if out.status.code() != Some(0) {
            return Err(format!("`nutshell kernel -o` failed\n{out}"));
        }
        let data = fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        if !data.starts_with(b"\x7fELF") {
            return Err(format!("{} is not an ELF file", path.display()));
        }
        Ok(path)
    });
    match result {
        Ok(path) => path.clone(),
        Err(e) => panic!("{e}"),
    }
}

// ---------------------------------------------------------------------------
// QEMU run directly (the classic path)
// ---------------------------------------------------------------------------

/// Exit status of QEMU when the kernel wrote `status` to isa-debug-exit.
pub fn qemu_status(status: u8) -> i32 {
    (((status as i32) << 1) | 1) & 0xff
}

/// QEMU on microvm with TCG booting the nutshell kernel, serial on stdio.
pub fn qemu_command(kernel: &Path, initrd: Option<&Path>, append: Option<&str>) -> Command {
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args([
        "-M", "microvm", "-accel", "tcg", "-cpu", "max", "-m", "128M",
    ])
    .args([
        "-nodefaults",
        "-no-reboot",
        "-nographic",
        "-serial",
        "stdio",
    ])
    .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"])
    .arg("-kernel")
    .arg(kernel);
    if let Some(initrd) = initrd {
        cmd.arg("-initrd").arg(initrd);
    }
    if let Some(append) = append {
        cmd.arg("-append").arg(append);
    }
    cmd
}

/// Runs the kernel directly under QEMU. Fails with an install hint when QEMU is
/// missing.
#[track_caller]
pub fn qemu(initrd: Option<&Path>, append: Option<&str>) -> Outcome {
    qemu_timeout(initrd, append, TIMEOUT)
}

#[track_caller]
pub fn qemu_timeout(initrd: Option<&Path>, append: Option<&str>, timeout: Duration) -> Outcome {
    if let Err(e) = Command::new("qemu-system-x86_64")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
    {
        panic!(
            "{}",
            missing_tool("qemu-system-x86_64", "qemu-system-x86", &e)
        );
    }
    let kernel = kernel_image();
    run_with_timeout(qemu_command(&kernel, initrd, append), None, timeout)
}

// ---------------------------------------------------------------------------
// cpio (newc) archives
// ---------------------------------------------------------------------------

/// A cpio "newc" archive writer: directories and regular files.
#[derive(Default)]
pub struct Cpio {
    data: Vec<u8>,
    ino: u32,
}

impl Cpio {
    pub fn new() -> Cpio {
        Cpio::default()
    }

    fn entry(&mut self, name: &str, mode: u32, body: &[u8]) {
        self.ino += 1;
        let namesize = name.len() + 1;
        let fields = [
            self.ino,
            mode,
            0, // uid
            0, // gid
            if mode & 0o170000 == 0o040000 { 2 } else { 1 },
            0, // mtime
            body.len() as u32,
            0,
            0,
            0,
            0,
            namesize as u32,
            0, // check
        ];
        self.data.extend_from_slice(b"070701");
        for field in fields {
            self.data
                .extend_from_slice(format!("{field:08x}").as_bytes());
        }
        self.data.extend_from_slice(name.as_bytes());
        self.data.push(0);
        self.pad();
        self.data.extend_from_slice(body);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.data.len().is_multiple_of(4) {
            self.data.push(0);
        }
    }

    /// Adds a directory (`name` without a leading slash, like cpio writes it).
    pub fn dir(mut self, name: &str) -> Self {
        self.entry(name, 0o040755, &[]);
        self
    }

    /// Adds an executable regular file.
    pub fn file(mut self, name: &str, body: &[u8]) -> Self {
        self.entry(name, 0o100755, body);
        self
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, &[]);
        while !self.data.len().is_multiple_of(512) {
            self.data.push(0);
        }
        self.data
    }
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

/// 64-bit FNV-1a, as computed by the `cat` guest.
pub fn fnv1a(data: &[u8]) -> u64 {
    let mut hash = 0xcbf29ce484222325u64;
    for &b in data {
        hash ^= b as u64;
        hash = hash.wrapping_mul(0x100000001b3);
    }
    hash
}

/// Deterministic pseudo-random bytes (xorshift), seeded from `seed`.
pub fn pseudo_random_bytes(len: usize, seed: &str) -> Vec<u8> {
    let mut hasher = DefaultHasher::new();
    seed.hash(&mut hasher);
    let mut x = hasher.finish() | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
