//! End-to-end tests of memory (issue 3) and of threads, signals, timers and
//! waiting (issue 6).
//!
//! Every guest program of `tests/guest/mem/` and `tests/guest/threads/` runs
//! natively on the host and in nutshell; stdout and the exit status (128+N for
//! a death by signal N) must be identical, and the native output is checked
//! too, so that a broken guest cannot pass by being broken the same way twice.
//! Nothing is normalized unless it is truly variable (see the comments there).
//!
//! Needs gcc, g++, rustc, golang-go (Go), busybox-static (/bin/busybox) and
//! QEMU.

mod common;

use common::*;
use std::collections::hash_map::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

// ---------------------------------------------------------------------------
// Building the guest programs
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// `gcc -static-pie -O2 -g -pthread`.
    C,
    /// `gcc -static -no-pie -O2 -g -pthread`: an ET_EXEC at fixed addresses.
    CNoPie,
    /// `g++ -static-pie -O2 -g -pthread`.
    Cxx,
    /// `rustc -C target-feature=+crt-static` (a static-PIE).
    Rust,
    /// `go build` with CGO_ENABLED=0 (a static ET_EXEC).
    Go,
}

struct Guest {
    name: &'static str,
    /// Relative to `tests/guest/`.
    source: &'static str,
    kind: Kind,
}

const GUESTS: &[Guest] = &[
    guest("mem-reserve", "mem/reserve.c", Kind::C),
    guest("mem-split", "mem/split.c", Kind::C),
    guest("mem-mremap", "mem/mremap.c", Kind::C),
    guest("mem-dontneed", "mem/dontneed.c", Kind::C),
    guest("mem-stackguard", "mem/stackguard.c", Kind::C),
    guest("mem-protfault", "mem/protfault.c", Kind::C),
    guest("mem-efault", "mem/efault.c", Kind::C),
    guest("mem-enomem", "mem/enomem.c", Kind::C),
    guest("mem-aslr", "mem/aslr.c", Kind::C),
    guest("mem-arena", "mem/arena.c", Kind::C),
    guest("mem-nopie", "mem/nopie.c", Kind::CNoPie),
    guest("thr-counter", "threads/counter.c", Kind::C),
    guest("thr-condvar", "threads/condvar.c", Kind::C),
    guest("thr-tls", "threads/tls.c", Kind::C),
    guest("thr-join", "threads/join.c", Kind::C),
    guest("thr-spin", "threads/spin.c", Kind::C),
    guest("thr-segv", "threads/segv.c", Kind::C),
    guest("thr-alarm", "threads/alarm.c", Kind::C),
    guest("thr-timer-thread", "threads/timer_thread.c", Kind::C),
    guest("thr-sigwait", "threads/sigwait.c", Kind::C),
    guest("thr-tgkill", "threads/tgkill.c", Kind::C),
    guest("thr-epoll", "threads/epoll.c", Kind::C),
    guest("thr-poll", "threads/poll.c", Kind::C),
    guest("thr-rust", "threads/rust_threads.rs", Kind::Rust),
    guest("thr-cpp", "threads/cpp_threads.cpp", Kind::Cxx),
    guest("thr-go", "threads/goroutines.go", Kind::Go),
];

const fn guest(name: &'static str, source: &'static str, kind: Kind) -> Guest {
    Guest { name, source, kind }
}

/// Where these guests are built.
fn build_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("mem_threads-guests")
}

/// One command of a build: program, arguments, extra environment, the Debian
/// package to install when the program is missing.
struct BuildStep {
    program: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    package: &'static str,
}

impl BuildStep {
    fn line(&self) -> String {
        let env: Vec<String> = self.env.iter().map(|(k, v)| format!("{k}={v} ")).collect();
        format!("{}{} {}", env.concat(), self.program, self.args.join(" "))
    }

    fn run(&self) -> Result<(), String> {
        let output = Command::new(&self.program)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                if e.kind() == ErrorKind::NotFound {
                    format!(
                        "`{}` is not installed: install it with `apt-get install {}`",
                        self.program, self.package
                    )
                } else {
                    format!("cannot run `{}`: {e}", self.program)
                }
            })?;
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

fn build_step(kind: Kind, source: &Path, out: &Path) -> BuildStep {
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let strings = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match kind {
        Kind::C | Kind::CNoPie | Kind::Cxx => {
            let (program, package) = match kind {
                Kind::Cxx => ("g++", "g++"),
                _ => ("gcc", "gcc"),
            };
            let link: &[&str] = match kind {
                Kind::CNoPie => &["-static", "-no-pie"],
                _ => &["-static-pie"],
            };
            let mut args = strings(link);
            args.extend(strings(&["-O2", "-g", "-pthread", "-o"]));
            args.push(path(out));
            args.push(path(source));
            BuildStep {
                program: program.to_string(),
                args,
                env: Vec::new(),
                package,
            }
        }
        Kind::Rust => {
            let mut args = strings(&[
                "--edition=2021",
                "-O",
                "-C",
                "target-feature=+crt-static",
                "--target",
                "x86_64-unknown-linux-gnu",
                "-o",
            ]);
            args.push(path(out));
            args.push(path(source));
            BuildStep {
                program: std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string()),
                args,
                env: Vec::new(),
                package: "rustc (or install Rust with rustup)",
            }
        }
        Kind::Go => {
            let dir = build_dir();
            let mut args = strings(&["build", "-o"]);
            args.push(path(out));
            args.push(path(source));
            BuildStep {
                program: "go".to_string(),
                args,
                env: vec![
                    ("CGO_ENABLED".to_string(), "0".to_string()),
                    ("GOCACHE".to_string(), path(&dir.join("go-cache"))),
                    ("GOPATH".to_string(), path(&dir.join("go-path"))),
                    ("GOTOOLCHAIN".to_string(), "local".to_string()),
                    ("GOFLAGS".to_string(), String::new()),
                ],
                package: "golang-go",
            }
        }
    }
}

fn build(guest: &Guest) -> Result<PathBuf, String> {
    let source = repo_root().join("tests/guest").join(guest.source);
    let dir = build_dir();
    fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let out = dir.join(guest.name);
    let stamp = dir.join(format!("{}.stamp", guest.name));
    let text = fs::read(&source).map_err(|e| format!("reading {}: {e}", source.display()))?;
    // The recipe and the source's hash: a change of either rebuilds.
    let recipe = format!(
        "{}\nsource fnv1a {:016x}\n",
        build_step(guest.kind, &source, &out).line(),
        fnv1a(&text)
    );
    if out.exists() && fs::read_to_string(&stamp).ok().as_deref() == Some(recipe.as_str()) {
        return Ok(out);
    }
    // Built under a name unique to this process, then renamed into place:
    // another test process may be building or running the same program.
    let temp = dir.join(format!(".{}.{}.tmp", guest.name, std::process::id()));
    if let Err(e) = build_step(guest.kind, &source, &temp).run() {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    fs::rename(&temp, &out).map_err(|e| format!("renaming {}: {e}", temp.display()))?;
    let stamp_temp = dir.join(format!(".{}.{}.stamp.tmp", guest.name, std::process::id()));
    fs::write(&stamp_temp, &recipe).map_err(|e| format!("writing stamp: {e}"))?;
    fs::rename(&stamp_temp, &stamp).map_err(|e| format!("writing stamp: {e}"))?;
    Ok(out)
}

type Built = Arc<OnceLock<Result<PathBuf, String>>>;

/// The path of guest `name`, built once per test process (and only when its
/// source or its recipe changed since the last build).
#[track_caller]
fn program(name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<&'static str, Built>>> = OnceLock::new();
    let guest = GUESTS
        .iter()
        .find(|g| g.name == name)
        .unwrap_or_else(|| panic!("no guest program named {name:?}"));
    let cell = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(guest.name)
        .or_default()
        .clone();
    match cell.get_or_init(|| build(guest)) {
        Ok(path) => path.clone(),
        Err(message) => panic!("building guest program {name}: {message}"),
    }
}

// ---------------------------------------------------------------------------
// Running natively and in nutshell
// ---------------------------------------------------------------------------

/// Limit for most runs (nutshell under TCG, and the host).
const RUN: Duration = Duration::from_secs(60);

/// The status as `nutshell run` reports it: the exit code, or 128+N for a
/// death by signal N.
fn status_of(out: &Outcome) -> i32 {
    match (out.status.code(), out.status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => panic!("no status\n{out}"),
    }
}

/// Runs `program args` on the host, without core dumps, with RLIMIT_AS set
/// to `address_space` bytes if given.
#[track_caller]
fn native_with(
    program: &Path,
    args: &[&str],
    stdin: Option<&[u8]>,
    address_space: Option<u64>,
    timeout: Duration,
) -> Outcome {
    let mut cmd = Command::new(program);
    cmd.args(args);
    // SAFETY: only async-signal-safe calls (setrlimit) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let none = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::setrlimit(libc::RLIMIT_CORE, &none) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(bytes) = address_space {
                let limit = libc::rlimit {
                    rlim_cur: bytes,
                    rlim_max: bytes,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    run_with_timeout(cmd, stdin, timeout)
}

#[track_caller]
fn native(program: &Path, args: &[&str]) -> Outcome {
    native_with(program, args, None, None, RUN)
}

/// `nutshell run OPTIONS... PROGRAM ARGS...` under `timeout`.
#[track_caller]
fn in_nutshell(
    options: &[&str],
    program: &Path,
    args: &[&str],
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Outcome {
    let mut all: Vec<&OsStr> = vec![OsStr::new("run")];
    all.extend(options.iter().map(OsStr::new));
    all.push(program.as_os_str());
    all.extend(args.iter().map(OsStr::new));
    nutshell_timeout(&all, stdin, timeout)
}

/// Fails unless nutshell's run matches the native one: same status, same
/// stdout.
#[track_caller]
fn same(host: &Outcome, nut: &Outcome) {
    let (a, b) = (status_of(host), status_of(nut));
    if a != b || host.stdout != nut.stdout {
        let diff: Vec<String> = diff_lines(&host.stdout(), &nut.stdout());
        panic!(
            "nutshell differs from the host (status {a} natively, {b} in nutshell)\n\
             first differing lines (host | nutshell):\n{}\n\
             === native ===\n{host}\n=== nutshell ===\n{nut}",
            diff.join("\n")
        );
    }
}

/// Up to 10 lines that differ, as `line N: host | nutshell`.
fn diff_lines(host: &str, nut: &str) -> Vec<String> {
    let (h, n): (Vec<&str>, Vec<&str>) = (host.lines().collect(), nut.lines().collect());
    (0..h.len().max(n.len()))
        .filter(|&i| h.get(i) != n.get(i))
        .take(10)
        .map(|i| {
            format!(
                "  line {}: {:?} | {:?}",
                i + 1,
                h.get(i).unwrap_or(&"<none>"),
                n.get(i).unwrap_or(&"<none>")
            )
        })
        .collect()
}

/// The checks every native run of a self-checking guest must pass: no `FAIL`
/// line, and the last line is `last` when given.
#[track_caller]
fn native_sane(out: &Outcome, last: Option<&str>) {
    let lines = out.lines();
    let failed: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("FAIL") || l.contains("CORRUPT") || l.contains("WRONG"))
        .collect();
    assert!(
        failed.is_empty(),
        "the guest fails natively: {failed:?}\n{out}"
    );
    if let Some(last) = last {
        assert_eq!(
            lines.last().map(String::as_str),
            Some(last),
            "the guest did not finish natively\n{out}"
        );
    }
}

/// Runs guest `name` natively and in nutshell, requires the same status and
/// stdout, and returns both runs (native first).
#[track_caller]
fn compare(name: &str, args: &[&str], options: &[&str], timeout: Duration) -> (Outcome, Outcome) {
    let path = program(name);
    let host = native_with(&path, args, None, None, timeout);
    let nut = in_nutshell(options, &path, args, None, timeout);
    same(&host, &nut);
    (host, nut)
}

/// A self-checking guest that must exit 0 and print `last` last: natively
/// right, and the same in nutshell.
#[track_caller]
fn check(name: &str, args: &[&str], options: &[&str], last: &str, timeout: Duration) -> Outcome {
    let path = program(name);
    let host = native_with(&path, args, None, None, timeout);
    host.expect_code(0);
    native_sane(&host, Some(last));
    let nut = in_nutshell(options, &path, args, None, timeout);
    same(&host, &nut);
    host
}

/// A guest mode that must die of SIGSEGV (status 139) after printing the same
/// thing in both; nutshell's report goes to stderr.
#[track_caller]
fn segfaults(name: &str, args: &[&str], first_line: &str) {
    let (host, nut) = compare(name, args, &[], RUN);
    assert_eq!(
        host.status.signal(),
        Some(11),
        "the guest should die of SIGSEGV natively\n{host}"
    );
    host.expect_stdout(&format!("{first_line}\n"));
    nut.expect_code(139);
    // nutshell's report: `nutshell: /PROGRAM: segmentation fault at 0x... (rip
    // 0x...)`, maybe followed by more `nutshell: ` lines.
    let stderr = nut.stderr();
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("nutshell: ")
            && first.to_lowercase().contains("segmentation fault at 0x")
            && first.contains("(rip 0x"),
        "nutshell should report `nutshell: ...: segmentation fault at 0x... (rip 0x...)`\n{nut}"
    );
    assert!(
        stderr.lines().all(|l| l.starts_with("nutshell: ")),
        "stderr holds more than nutshell's report\n{nut}"
    );
}

// ---------------------------------------------------------------------------
// Issue 3: memory
// ---------------------------------------------------------------------------

#[test]
fn mem_reserve_64_gib_then_commit_pieces() {
    let host = check("mem-reserve", &[], &[], "reserve ok", RUN);
    host.expect_stdout_contains("reserved start readable: no\n")
        .expect_stdout_contains(
            "piece 2 (4096 KiB): pattern ok, page before readable: no, page after readable: no\n",
        )
        .expect_stdout_contains("4 more 64 GiB reservations: ok\n");
}

#[test]
fn mem_split_with_munmap_and_mprotect() {
    let host = check("mem-split", &[], &[], "split ok", RUN);
    host.expect_stdout_contains("  page  6: r- G (ACCERR)\n")
        .expect_stdout_contains("  page  9: -- (ACCERR)\n")
        .expect_stdout_contains("  page 12: rw M\n")
        .expect_stdout_contains("MAP_FIXED_NOREPLACE over page 5: EEXIST\n")
        .expect_stdout_contains("mprotect(pages 3-5, READ) from a hole = -1 ENOMEM\n");
}

#[test]
fn mem_mremap_grow_in_place_and_move() {
    let host = check("mem-mremap", &[], &[], "mremap ok", RUN);
    host.expect_stdout_contains("grow in place: same address, contents kept, new pages zero\n")
        .expect_stdout_contains("grow without MREMAP_MAYMOVE when blocked: ENOMEM\n")
        .expect_stdout_contains("grow with MREMAP_MAYMOVE: moved, contents kept, new pages zero\n")
        .expect_stdout_contains("1 MiB grown to 64 MiB: contents kept\n");
}

#[test]
fn mem_madv_dontneed_zeroes() {
    let host = check("mem-dontneed", &[], &[], "dontneed ok", RUN);
    host.expect_stdout_contains(
        "after DONTNEED 8-23            abcdefgh0000000000000000yzabcdefghijklmnopqrstuvwxyzabcdefghijkl\n",
    );
}

#[test]
fn mem_stack_grows_on_demand() {
    let host = check(
        "mem-stackguard",
        &["grow"],
        &[],
        "recursed 256 levels of 16 KiB: the stack grew",
        RUN,
    );
    host.expect_stdout("recursed 256 levels of 16 KiB: the stack grew\n");
}

#[test]
fn mem_stack_guard_endless_recursion_is_sigsegv() {
    segfaults("mem-stackguard", &["recurse"], "recursing without end");
}

#[test]
fn mem_touch_below_the_stack_limit_is_sigsegv() {
    segfaults(
        "mem-stackguard",
        &["below"],
        "touching 64 KiB below the stack limit",
    );
}

#[test]
fn mem_write_to_read_only_page_is_sigsegv() {
    segfaults("mem-protfault", &["rowrite"], "read back 1, now writing");
}

#[test]
fn mem_write_to_rodata_is_sigsegv() {
    segfaults("mem-protfault", &["rodata"], "writing to a string literal");
}

#[test]
fn mem_execute_anonymous_rw_page_is_sigsegv() {
    segfaults("mem-protfault", &["exec"], "calling a read+write page");
}

#[test]
fn mem_execute_writable_data_is_sigsegv() {
    segfaults("mem-protfault", &["execdata"], "calling a global array");
}

#[test]
fn mem_jit_flips_write_and_exec() {
    let host = check(
        "mem-protfault",
        &["jit"],
        &[],
        "jit call after patching: 43",
        RUN,
    );
    host.expect_stdout("jit call: 42\njit call after patching: 43\n");
}

#[test]
fn mem_bad_pointers_give_efault() {
    // Bad read buffers must fail on a descriptor with data to copy: stdin
    // holds more than the failed reads ask for, and must be intact after them.
    let path = program("mem-efault");
    let input = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let host = native_with(&path, &[], Some(input), None, RUN);
    host.expect_code(0);
    native_sane(&host, Some("efault ok"));
    let efaults = host
        .lines()
        .iter()
        .filter(|l| l.ends_with("= -1 EFAULT"))
        .count();
    assert!(efaults >= 40, "the guest expects EFAULT everywhere\n{host}");
    host.expect_stdout_contains(&format!(
        "stdin left after the failed reads: {} bytes [{}]\n",
        input.len(),
        String::from_utf8_lossy(input)
    ));
    let nut = in_nutshell(&[], &path, &[], Some(input), RUN);
    same(&host, &nut);
}

/// `enomem mmap`: 1 MiB mappings with MAP_POPULATE until ENOMEM; nutshell
/// with `--mem 64M`, natively the same program under a 64 MiB RLIMIT_AS. How
/// much each got differs and is not printed.
#[test]
fn mem_enomem_mmap_populate() {
    let path = program("mem-enomem");
    let host = native_with(&path, &["mmap"], None, Some(64 << 20), RUN);
    host.expect_code(0).expect_stdout(
        "mmap: got ENOMEM\nmmap: at least 16 MiB before it: yes\n\
         mmap: contents intact: yes\nmmap: 8 MiB after freeing: ok\n",
    );
    let nut = in_nutshell(&["--mem", "64M"], &path, &["mmap"], None, RUN);
    same(&host, &nut);
    assert!(
        !nut.stderr().to_lowercase().contains("out of memory"),
        "the program should see ENOMEM, not be killed\n{nut}"
    );
}

/// `enomem malloc|brk`: memory obtained without MAP_POPULATE and then
/// written. A kernel that commits memory lazily (Linux by default, and
/// nutshell with demand paging) cannot refuse the allocation; when the page
/// fault cannot be served the program must end with nutshell's clear report
/// (`nutshell: out of memory: 64 MiB guest, raise --mem`) and status 137
/// (SIGKILL, as Linux's OOM killer does), never a kernel panic. A kernel that
/// accounts commitments gives ENOMEM instead, and then the output must be the
/// native one under a 64 MiB RLIMIT_AS. Either is accepted.
#[track_caller]
fn out_of_memory(mode: &str) {
    let path = program("mem-enomem");
    let host = native_with(&path, &[mode], None, Some(64 << 20), RUN);
    host.expect_code(0).expect_stdout(&format!(
        "{mode}: got ENOMEM\n{mode}: at least 16 MiB before it: yes\n\
         {mode}: contents intact: yes\n{mode}: 8 MiB after freeing: ok\n"
    ));
    let nut = in_nutshell(&["--mem", "64M"], &path, &[mode], None, RUN);
    if status_of(&nut) == 0 {
        same(&host, &nut);
        return;
    }
    nut.expect_code(137);
    let stderr = nut.stderr();
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("nutshell: out of memory: 64 MiB guest, raise --mem")),
        "the report should say `nutshell: out of memory: 64 MiB guest, raise --mem`\n{nut}"
    );
}

#[test]
fn mem_out_of_memory_malloc_memset() {
    out_of_memory("malloc");
}

#[test]
fn mem_out_of_memory_brk() {
    out_of_memory("brk");
}

#[test]
fn mem_randomization_of_main_heap_mmap_stack() {
    let path = program("mem-aslr");
    let keys = ["main", "heap", "mmap", "stack"];
    let parse = |out: &Outcome| -> Vec<String> {
        out.expect_code(0);
        let lines = out.lines();
        assert_eq!(lines.len(), keys.len(), "unexpected output\n{out}");
        keys.iter()
            .zip(&lines)
            .map(|(key, line)| {
                line.strip_prefix(&format!("{key} 0x"))
                    .unwrap_or_else(|| panic!("expected `{key} 0x...`\n{out}"))
                    .to_string()
            })
            .collect()
    };
    // Natively only as a check of the guest (addresses are not compared).
    parse(&native(&path, &[]));
    let runs: Vec<(Vec<String>, Outcome)> = (0..3)
        .map(|_| {
            let out = in_nutshell(&[], &path, &[], None, RUN);
            (parse(&out), out)
        })
        .collect();
    for (i, key) in keys.iter().enumerate() {
        let values: Vec<&String> = runs.iter().map(|(v, _)| &v[i]).collect();
        assert!(
            values.iter().any(|v| *v != values[0]),
            "the address of {key} is the same in 3 runs: {values:?}\n{}",
            runs.iter()
                .map(|(_, o)| o.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[test]
fn mem_go_like_arena() {
    let host = check("mem-arena", &[], &[], "arena ok", RUN);
    host.expect_stdout_contains("pieces reading zero: 50 of 50\n")
        .expect_stdout_contains("pieces keeping the pattern: 50 of 50\n")
        .expect_stdout_contains("pieces right after reuse: 100 of 100\n")
        .expect_stdout_contains("first uncommitted byte readable: no\n");
}

#[test]
fn mem_static_non_pie() {
    let path = program("mem-nopie");
    let data = fs::read(&path).expect("reading the program");
    let elf = Elf64::parse(&data).expect("an ELF64");
    assert_eq!(elf.e_type, 2, "gcc -static -no-pie should make an ET_EXEC");
    // Fixed addresses: main's address is printed and must be the same.
    check("mem-nopie", &["a b", "c"], &[], "static non-PIE ok", RUN);
}

// busybox-static (Debian's /bin/busybox, a static ET_EXEC).

const BUSYBOX: &str = "/bin/busybox";

#[track_caller]
fn busybox(args: &[&str], status: i32, stdout: &str) {
    let path = Path::new(BUSYBOX);
    assert!(
        path.exists(),
        "{BUSYBOX} is missing: install it with `apt-get install busybox-static`"
    );
    let host = native(path, args);
    host.expect_code(status).expect_stdout(stdout);
    let nut = in_nutshell(&[], path, args, None, RUN);
    same(&host, &nut);
}

#[test]
fn busybox_echo() {
    busybox(
        &["echo", "hello", "from", "busybox"],
        0,
        "hello from busybox\n",
    );
}

#[test]
fn busybox_true_and_false() {
    busybox(&["true"], 0, "");
    busybox(&["false"], 1, "");
}

#[test]
fn busybox_sh_loop() {
    busybox(
        &[
            "sh",
            "-c",
            "i=0; while [ $i -lt 100 ]; do i=$((i+1)); done; echo $i",
        ],
        0,
        "100\n",
    );
}

#[test]
fn busybox_seq() {
    busybox(&["seq", "1", "10"], 0, "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n");
}

#[test]
fn busybox_expr() {
    busybox(&["expr", "6", "*", "7"], 0, "42\n");
}

#[test]
fn busybox_printf() {
    busybox(&["printf", "%05d\\n", "42"], 0, "00042\n");
}

// ---------------------------------------------------------------------------
// Issue 6: threads, signals, timers, waiting
// ---------------------------------------------------------------------------

#[test]
fn threads_mutex_counter_8_threads() {
    // 8 threads x 1,000,000 increments, as the issue asks; under TCG this
    // takes a few seconds.
    let host = check(
        "thr-counter",
        &[],
        &[],
        "8 threads x 1000000 increments: counter 8000000",
        Duration::from_secs(180),
    );
    host.expect_stdout("8 threads x 1000000 increments: counter 8000000\n");
}

#[test]
fn threads_condvar_producer_consumer() {
    let host = check(
        "thr-condvar",
        &[],
        &[],
        "timed wait: ETIMEDOUT, not before the deadline: yes",
        RUN,
    );
    host.expect_stdout_contains(
        "1 producer, 1 consumer: 10000 items, sum 50005000, out of order 0\n",
    )
    .expect_stdout_contains("3 producers, 3 consumers: 30000 items, sum 450015000\n");
}

#[test]
fn threads_thread_local_variables() {
    let host = check("thr-tls", &[], &[], "destructor calls: 126", RUN);
    host.expect_stdout_contains("thread 5: initial 7, final 7000, errno 105, arrays and key ok\n")
        .expect_stdout_contains("main: tls_value 5, errno 0, addresses distinct: yes\n");
}

#[test]
fn threads_join_return_values() {
    let host = check("thr-join", &[], &[], "detached thread ran", RUN);
    host.expect_stdout_contains("thread 9: join ok, returned 1009\n")
        .expect_stdout_contains("thread 8: join ok, returned 64\n")
        .expect_stdout_contains("cancelled thread returned PTHREAD_CANCELED: yes\n");
}

#[test]
fn threads_spinning_thread_is_preempted() {
    let host = check(
        "thr-spin",
        &[],
        &[],
        "first spinner still runs while main spins: yes",
        RUN,
    );
    host.expect_stdout_contains("main woke up after the 100 ms sleep: yes\n");
}

#[test]
fn threads_sigsegv_handler_recovers_with_siglongjmp() {
    let host = check("thr-segv", &[], &[], "segv ok", RUN);
    host.expect_stdout_contains("recovered from a NULL read: addr (nil), SEGV_MAPERR\n")
        .expect_stdout_contains("recovered 102 times\n")
        .expect_stdout_contains("main: stack overflow caught, on the alternate stack: yes\n");
}

#[test]
fn threads_sigalrm_from_alarm_setitimer_and_timer_create() {
    let host = check(
        "thr-alarm",
        &[],
        &[],
        "pause() interrupted by SIGALRM, 8 alarms in all",
        RUN,
    );
    host.expect_stdout_contains("SIGALRM from alarm(1): after >= 1 s: yes, si_code SI_KERNEL\n")
        .expect_stdout_contains(
            "first timer expiry: after >= 100 ms: yes, si_code SI_TIMER, sival_int 4242\n",
        );
}

#[test]
fn threads_timer_create_sigev_thread() {
    let host = check(
        "thr-timer-thread",
        &[],
        &[],
        "absolute REALTIME one-shot: value 100, not before the deadline: yes",
        RUN,
    );
    host.expect_stdout_contains(
        "SIGEV_THREAD timer: callback ran at least 5 times: yes, in another thread: yes\n",
    );
}

#[test]
fn threads_sigwait_in_a_thread() {
    let host = check(
        "thr-sigwait",
        &[],
        &[],
        "sigtimedwait(50 ms): -1 EAGAIN, waited >= 50 ms: yes",
        RUN,
    );
    host.expect_stdout_contains("waiter got SIGTERM\nwaiter finished: 1\n")
        .expect_stdout_contains("sigtimedwait: SIGRTMIN+2 value 23 code SI_QUEUE\n");
}

#[test]
fn threads_sigusr1_to_a_chosen_thread() {
    let host = check("thr-tgkill", &[], &[], "tgkill ok", RUN);
    host.expect_stdout_contains("pthread_kill(thread 2, SIGUSR1): handled by thread 2\n")
        .expect_stdout_contains("tgkill(tid of thread 0, SIGUSR1): handled by thread 0\n")
        .expect_stdout_contains("kill(getpid(), SIGUSR2): handled by thread 3 (SIGUSR2)\n");
}

#[test]
fn threads_epoll_pipe_and_eventfd_edge_triggered() {
    let host = check("thr-epoll", &[], &[], "epoll ok", RUN);
    host.expect_stdout_contains("again, no new data                       -> nothing\n")
        .expect_stdout_contains("blocking, woken by a thread              -> eventfd: IN\n");
}

#[test]
fn threads_poll_timeouts() {
    let host = check("thr-poll", &[], &[], "poll ok", RUN);
    host.expect_stdout_contains("poll(no fds, 200 ms): returned 0, waited >= 200 ms: yes\n")
        .expect_stdout_contains("poll(empty pipe, 100 ms): returned 0, waited >= 100 ms: yes\n");
}

#[test]
fn threads_rust_std_thread_mpsc_mutex() {
    let host = check("thr-rust", &[], &[], "rust threads ok", RUN);
    host.expect_stdout_contains("counter: 80000\n")
        .expect_stdout_contains("sum of squares 1..=100 through a pipeline: 338350\n");
}

#[test]
fn threads_cpp_std_thread_and_async() {
    let host = check("thr-cpp", &[], &[], "c++ threads ok", RUN);
    host.expect_stdout_contains("async sum 1..1000000 = 500000500000\n")
        .expect_stdout_contains("exception from async: boom\n");
}

#[test]
fn threads_go_goroutines() {
    let host = check("thr-go", &[], &[], "go ok", RUN);
    host.expect_stdout_contains("ring of 100 goroutines: 4950\n")
        .expect_stdout_contains("sleeper finished beside a spinner: true\n");
}
