//! End-to-end tests: real Linux programs (built from `tests/guest/`) run by the
//! `nutshell` CLI, and the kernel image booted by QEMU directly.

mod common;

use common::*;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::Duration;

/// Bad input must be rejected quickly.
const QUICK: Duration = Duration::from_secs(20);

fn name_of(path: &Path) -> String {
    path.to_str().expect("UTF-8 path").to_string()
}

// ---------------------------------------------------------------------------
// The guest programs themselves, run on the host: they must be right before
// they can judge nutshell.
// ---------------------------------------------------------------------------

#[track_caller]
fn native(program: &str, args: &[&str], stdin: Option<&[u8]>) -> Outcome {
    let mut cmd = std::process::Command::new(guest(program));
    cmd.args(args).env("FOO", "bar");
    run_with_timeout(cmd, stdin, TIMEOUT)
}

#[test]
fn native_guests_behave() {
    for (program, flavour) in [
        ("hello-glibc", "glibc"),
        ("hello-musl", "musl"),
        ("hello-cpp", "c++"),
        ("hello-rust", "rust"),
    ] {
        native(program, &[], None)
            .expect_code(0)
            .expect_stdout(&format!("hello from {flavour}\n"))
            .expect_stderr("");
    }
    for program in ["auxv", "auxv-musl"] {
        let out = native(program, &["a b", "it's", "x\"y"], None);
        out.expect_code(0);
        let argv0 = name_of(&guest(program));
        check_auxv_output(&out, &[&argv0, "a b", "it's", "x\"y"], &["FOO=bar"]);
    }
    native("memory", &[], None)
        .expect_code(0)
        .expect_stdout("memory ok\n");
    for code in [0, 1, 42, 255] {
        native("exitcode", &[&code.to_string()], None).expect_code(code);
    }
    native("streams", &[], None)
        .expect_stdout("to stdout\n")
        .expect_stderr("to stderr\n");
    let data = pseudo_random_bytes(300 * 1024, "native");
    native("cat", &[], Some(&data)).expect_stdout(&cat_expectation(&data));
    native("cat", &[], None).expect_stdout(&cat_expectation(&[]));
    native("time", &[], None)
        .expect_code(0)
        .expect_stdout("time ok\n");
    native("random", &[], None).expect_code(0);
    for (kind, signal) in [("segv", 11), ("ill", 4), ("fpe", 8)] {
        let out = native("fault", &[kind], None);
        assert_eq!(out.status.signal(), Some(signal), "fault {kind}\n{out}");
        out.expect_stdout("");
    }
}

// ---------------------------------------------------------------------------
// hello in four flavours
// ---------------------------------------------------------------------------

#[track_caller]
fn hello(guest_name: &str, options: &[&str], flavour: &str) {
    run_program(options, &guest(guest_name), &[])
        .expect_code(0)
        .expect_stdout(&format!("hello from {flavour}\n"))
        .expect_stderr("");
}

#[test]
fn hello_glibc() {
    hello("hello-glibc", &[], "glibc");
}

#[test]
fn hello_glibc_machine_pc() {
    hello("hello-glibc", &["--machine", "pc"], "glibc");
}

#[test]
fn hello_glibc_machine_microvm_accel_tcg() {
    hello(
        "hello-glibc",
        &["--machine", "microvm", "--accel", "tcg"],
        "glibc",
    );
}

#[test]
fn hello_glibc_accel_auto() {
    // On a host whose KVM cannot run the guest, auto must fall back to TCG.
    hello("hello-glibc", &["--accel", "auto"], "glibc");
}

#[test]
fn hello_musl() {
    hello("hello-musl", &[], "musl");
}

#[test]
fn hello_musl_machine_pc() {
    hello("hello-musl", &["--machine", "pc"], "musl");
}

#[test]
fn hello_cpp_iostream_and_exception() {
    hello("hello-cpp", &[], "c++");
}

#[test]
fn hello_rust() {
    hello("hello-rust", &[], "rust");
}

#[test]
fn double_dash_before_program() {
    let exitcode = guest("exitcode");
    let out = nutshell(
        &[
            OsStr::new("run"),
            OsStr::new("--"),
            exitcode.as_os_str(),
            OsStr::new("42"),
        ],
        None,
    );
    out.expect_code(42).expect_stdout("");
}

#[test]
fn strace_option_traces_to_stderr() {
    let out = run_program(&["--strace"], &guest("hello-glibc"), &[]);
    out.expect_code(0)
        .expect_stdout("hello from glibc\n")
        .expect_stderr_contains(r#"write(1, "hello from glibc\n", 17) = 17"#)
        .expect_stderr_contains("exit_group(0)");
}

// ---------------------------------------------------------------------------
// argv, envp, auxv
// ---------------------------------------------------------------------------

/// Checks the output of the `auxv` guest: every check passed, argv is exactly
/// `argv`, the environment holds each of `env` and PATH and HOME, ids are 0.
#[track_caller]
fn check_auxv(out: &Outcome, argv: &[&str], env: &[&str]) {
    check_auxv_output(out, argv, env);
    assert!(
        out.lines()
            .contains(&"info AT_UID=0 AT_EUID=0 AT_GID=0 AT_EGID=0".to_string()),
        "the program does not run as uid/gid 0\n{out}"
    );
}

#[track_caller]
fn check_auxv_output(out: &Outcome, argv: &[&str], env: &[&str]) {
    let lines = out.lines();
    let failed: Vec<&String> = lines.iter().filter(|l| l.starts_with("FAIL")).collect();
    assert!(failed.is_empty(), "auxv checks failed: {failed:?}\n{out}");
    assert_eq!(
        lines.last().map(String::as_str),
        Some("auxv ok"),
        "auxv did not finish\n{out}"
    );

    let mut expected = vec![format!("argc {}", argv.len())];
    expected.extend(
        argv.iter()
            .enumerate()
            .map(|(i, a)| format!("argv[{i}]=[{a}]")),
    );
    let got: Vec<String> = lines
        .iter()
        .filter(|l| l.starts_with("argc ") || l.starts_with("argv["))
        .cloned()
        .collect();
    assert_eq!(got, expected, "argv differs\n{out}");

    let environment: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("env=[")?.strip_suffix(']'))
        .collect();
    for var in env {
        assert!(
            environment.contains(var),
            "environment lacks {var:?}: {environment:?}\n{out}"
        );
    }
    for default in ["PATH=", "HOME="] {
        assert!(
            environment
                .iter()
                .any(|e| e.starts_with(default) && e.len() > default.len()),
            "environment lacks a default {default}: {environment:?}\n{out}"
        );
    }
}

#[test]
fn auxv_args_with_quotes_and_env() {
    let auxv = guest("auxv");
    let args = ["a b", "it's", "x\"y"];
    let out = run_program(&["--env", "FOO=bar"], &auxv, &args);
    out.expect_code(0).expect_stderr("");
    let argv0 = name_of(&auxv);
    check_auxv(&out, &[&argv0, "a b", "it's", "x\"y"], &["FOO=bar"]);
}

#[test]
fn auxv_musl() {
    let auxv = guest("auxv-musl");
    let out = run_program(&["--env", "FOO=bar"], &auxv, &["a b", "it's"]);
    out.expect_code(0).expect_stderr("");
    check_auxv(&out, &[&name_of(&auxv), "a b", "it's"], &["FOO=bar"]);
}

#[test]
fn auxv_awkward_arguments_and_env_values() {
    let auxv = guest("auxv");
    // Everything after PROGRAM is the program's, even what looks like options.
    let args = [
        "--env",
        "X=1",
        "--strace",
        "--",
        "",
        r"back\slash",
        "$HOME",
        "'single'",
        "\"double\"",
        "tab\there",
        "héllo wörld",
        "  spaces  ",
    ];
    let out = run_program(
        &[
            "--env",
            "SPACED=a b  c",
            "--env",
            "QUOTED='x' \"y\"",
            "--env",
            "EMPTY=",
        ],
        &auxv,
        &args,
    );
    out.expect_code(0).expect_stderr("");
    let argv0 = name_of(&auxv);
    let mut argv = vec![argv0.as_str()];
    argv.extend(args);
    check_auxv(
        &out,
        &argv,
        &["SPACED=a b  c", "QUOTED='x' \"y\"", "EMPTY="],
    );
    assert!(
        !out.lines().iter().any(|l| l == "env=[X=1]"),
        "an argument after PROGRAM was taken as nutshell's --env\n{out}"
    );
}

#[test]
fn auxv_relative_program_path_is_argv0() {
    let auxv = guest("auxv");
    let dir = auxv.parent().unwrap();
    let mut cmd = std::process::Command::new(nutshell_bin());
    cmd.current_dir(dir).args(["run", "./auxv", "one"]);
    let out = run_with_timeout(cmd, None, TIMEOUT);
    out.expect_code(0);
    check_auxv(&out, &["./auxv", "one"], &[]);
}

// ---------------------------------------------------------------------------
// Memory, exit codes, streams, stdin, time, randomness
// ---------------------------------------------------------------------------

#[test]
fn memory() {
    run_program(&["--mem", "512M"], &guest("memory"), &[])
        .expect_code(0)
        .expect_stdout("memory ok\n")
        .expect_stderr("");
}

#[test]
fn exit_codes() {
    let exitcode = guest("exitcode");
    for code in [0, 1, 42, 255] {
        run_program(&[], &exitcode, &[&code.to_string()])
            .expect_code(code)
            .expect_stdout("")
            .expect_stderr("");
    }
}

#[test]
fn stdout_and_stderr_are_separate() {
    run_program(&[], &guest("streams"), &[])
        .expect_code(0)
        .expect_stdout("to stdout\n")
        .expect_stderr("to stderr\n");
}

fn cat_expectation(data: &[u8]) -> String {
    format!("bytes {} fnv1a {:016x}\n", data.len(), fnv1a(data))
}

#[test]
fn cat_piped_stdin() {
    // Bytes that a console protocol may treat specially, at the start, in the
    // middle and at the end: EOT (Ctrl-D), NUL, 0xFF and the `FF 01` EOF escape.
    let mut data = vec![0x04, 0x00, 0xFF, 0x01, 0xFF, 0xFF, 0x04, b'\n', b'\r', 0x03];
    data.extend(pseudo_random_bytes(200 * 1024, "cat"));
    data.extend([0xFF; 4096]);
    data.extend([0x00; 4096]);
    data.extend([0x04; 64]);
    data.extend([0xFF, 0x01, 0xFF]);
    let cat = guest("cat");
    let mut cmd = std::process::Command::new(nutshell_bin());
    cmd.arg("run").arg(&cat);
    // A generous limit: this is about bytes arriving intact, not about speed.
    run_with_timeout(cmd, Some(&data), 2 * TIMEOUT)
        .expect_code(0)
        .expect_stdout(&cat_expectation(&data))
        .expect_stderr("");
}

#[test]
fn cat_small_stdin() {
    // The first bytes must not be lost while the VM boots.
    for data in [&b"abc"[..], b"x", b"line\n"] {
        let mut cmd = std::process::Command::new(nutshell_bin());
        cmd.arg("run").arg(guest("cat"));
        run_with_timeout(cmd, Some(data), TIMEOUT)
            .expect_code(0)
            .expect_stdout(&cat_expectation(data))
            .expect_stderr("");
    }
}

#[test]
fn cat_empty_stdin() {
    let cat = guest("cat");
    // An empty pipe...
    let mut cmd = std::process::Command::new(nutshell_bin());
    cmd.arg("run").arg(&cat);
    run_with_timeout(cmd, Some(&[]), TIMEOUT)
        .expect_code(0)
        .expect_stdout(&cat_expectation(&[]))
        .expect_stderr("");
    // ...and /dev/null.
    run_program(&[], &cat, &[])
        .expect_code(0)
        .expect_stdout(&cat_expectation(&[]))
        .expect_stderr("");
}

#[test]
fn time() {
    run_program(&[], &guest("time"), &[])
        .expect_code(0)
        .expect_stdout("time ok\n")
        .expect_stderr("");
}

#[test]
fn random_differs_between_runs() {
    let random = guest("random");
    let sample = |out: &Outcome, key: &str| -> String {
        out.lines()
            .iter()
            .find_map(|l| l.strip_prefix(key).map(str::to_string))
            .unwrap_or_else(|| panic!("no {key:?} line\n{out}"))
    };
    let first = run_program(&[], &random, &[]);
    let second = run_program(&[], &random, &[]);
    for out in [&first, &second] {
        out.expect_code(0).expect_stderr("");
        assert_eq!(
            out.lines().last().map(String::as_str),
            Some("random ok"),
            "{out}"
        );
    }
    for key in ["sample1 ", "at_random "] {
        assert_ne!(
            sample(&first, key),
            sample(&second, key),
            "{key}is the same in two runs\n{first}\n{second}"
        );
    }
}

// ---------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------

/// A fatal signal: the status is 128+N and stderr holds only nutshell's report,
/// whose first line is `nutshell: /fault: <what> ... (rip 0x...)`; more lines
/// (symbol, registers) may follow.
#[track_caller]
fn fault(kind: &str, status: i32, message: &str) -> Outcome {
    let out = run_program(&[], &guest("fault"), &[kind]);
    out.expect_code(status).expect_stdout("");
    let stderr = out.stderr();
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(!lines.is_empty(), "no report on stderr\n{out}");
    assert!(
        lines[0].starts_with("nutshell: /fault: "),
        "the report should name the program as `nutshell: /fault: `\n{out}"
    );
    assert!(
        lines[0].to_lowercase().contains(message),
        "the report should say {message:?}\n{out}"
    );
    assert!(
        lines[0].contains("(rip 0x"),
        "the report should give rip\n{out}"
    );
    assert!(
        lines.iter().all(|l| l.starts_with("nutshell: ")),
        "stderr holds more than nutshell's report\n{out}"
    );
    out
}

#[test]
fn fault_segv() {
    let out = fault("segv", 128 + 11, "segmentation fault at 0x0 ");
    // The faulting function is named in the report (the symbol table is read).
    out.expect_stderr_contains("crash_here");
}

#[test]
fn fault_ill() {
    fault("ill", 128 + 4, "illegal instruction");
}

#[test]
fn fault_fpe() {
    fault("fpe", 128 + 8, "floating point exception");
}

// ---------------------------------------------------------------------------
// Bad programs through the CLI
// ---------------------------------------------------------------------------

#[track_caller]
fn rejected(program: &Path, status: i32, mention: &str) {
    let out = nutshell_timeout(&[OsStr::new("run"), program.as_os_str()], None, QUICK);
    out.expect_code(status).expect_stdout("");
    assert!(
        out.stderr()
            .to_lowercase()
            .contains(&mention.to_lowercase()),
        "stderr should mention {mention:?}\n{out}"
    );
}

fn hello_bytes() -> Vec<u8> {
    fs::read(guest("hello-glibc")).expect("reading hello")
}

#[test]
fn reject_truncated_elf() {
    let dir = TempDir::new("truncated");
    let program = dir.write_exec("truncated", &hello_bytes()[..100]);
    rejected(&program, 126, "truncated");
}

#[test]
fn reject_32_bit_elf() {
    let dir = TempDir::new("elf32");
    let mut data = hello_bytes();
    data[4] = 1; // EI_CLASS = ELFCLASS32
    let program = dir.write_exec("elf32", &data);
    rejected(&program, 126, "32-bit");
}

#[test]
fn reject_aarch64_elf() {
    let dir = TempDir::new("aarch64");
    let mut data = hello_bytes();
    data[18..20].copy_from_slice(&183u16.to_le_bytes()); // e_machine = EM_AARCH64
    let program = dir.write_exec("aarch64", &data);
    rejected(&program, 126, "AARCH64");
}

#[test]
fn reject_text_file() {
    let dir = TempDir::new("text");
    let program = dir.write_exec("notes.txt", b"this is not a program\n");
    rejected(&program, 126, "not an ELF");
}

#[test]
fn missing_program() {
    let dir = TempDir::new("missing");
    let out = nutshell_timeout(
        &[OsStr::new("run"), dir.join("no-such-program").as_os_str()],
        None,
        QUICK,
    );
    out.expect_code(127).expect_stdout("");
    assert!(!out.stderr().is_empty(), "no message on stderr\n{out}");
}

// ---------------------------------------------------------------------------
// The kernel image
// ---------------------------------------------------------------------------

#[test]
fn kernel_image_is_a_pvh_elf() {
    let data = fs::read(kernel_image()).unwrap();
    let elf = Elf64::parse(&data).expect("the kernel is an ELF64 file");
    assert_eq!(elf.e_machine, 62, "the kernel is not x86-64");
    let mut found = false;
    for note in elf.phdrs.iter().filter(|p| p.p_type == 4) {
        let notes = &data[note.p_offset as usize..(note.p_offset + note.p_filesz) as usize];
        let mut at = 0;
        while at + 12 <= notes.len() {
            let word = |i: usize| u32::from_le_bytes(notes[i..i + 4].try_into().unwrap()) as usize;
            let (namesz, descsz, kind) = (word(at), word(at + 4), word(at + 8));
            let name = &notes[at + 12..(at + 12 + namesz).min(notes.len())];
            // XEN_ELFNOTE_PHYS32_ENTRY
            if kind == 18 && name == b"Xen\0" {
                found = true;
            }
            at += 12 + namesz.div_ceil(4) * 4 + descsz.div_ceil(4) * 4;
        }
    }
    assert!(
        found,
        "no Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY) in the kernel"
    );
}

// ---------------------------------------------------------------------------
// The classic path: QEMU run directly, the program (or a cpio) as the initrd
// ---------------------------------------------------------------------------

fn serial_lines(out: &Outcome) -> Vec<String> {
    out.lines()
}

#[test]
fn classic_hello() {
    qemu(Some(&guest("hello-glibc")), Some("hello a b"))
        .expect_code(qemu_status(0))
        .expect_stdout_contains("hello from glibc\n");
}

#[test]
fn classic_hello_without_append() {
    qemu(Some(&guest("hello-glibc")), None)
        .expect_code(qemu_status(0))
        .expect_stdout_contains("hello from glibc\n");
}

#[test]
fn classic_exit_status() {
    qemu(Some(&guest("exitcode")), Some("exitcode 42")).expect_code(qemu_status(42));
}

#[test]
fn classic_auxv_argv() {
    let out = qemu(Some(&guest("auxv")), Some("hello a b"));
    out.expect_code(qemu_status(0));
    check_auxv(&out, &["hello", "a", "b"], &[]);
}

#[test]
fn classic_auxv_without_append_is_init() {
    let out = qemu(Some(&guest("auxv")), None);
    out.expect_code(qemu_status(0));
    check_auxv(&out, &["/init"], &[]);
}

#[test]
fn classic_command_line_quoting() {
    let out = qemu(
        Some(&guest("auxv")),
        Some(r#"prog 'a b' "c d" e\ f 'it"s' "x'y" """#),
    );
    out.expect_code(qemu_status(0));
    check_auxv(
        &out,
        &["prog", "a b", "c d", "e f", "it\"s", "x'y", ""],
        &[],
    );
}

#[test]
fn classic_kernel_options_env() {
    let out = qemu(
        Some(&guest("auxv")),
        Some("env=FOO=bar 'env=SPACED=a b' -- prog x"),
    );
    out.expect_code(qemu_status(0));
    check_auxv(&out, &["prog", "x"], &["FOO=bar", "SPACED=a b"]);
}

#[test]
fn classic_fault_status() {
    qemu(Some(&guest("fault")), Some("fault segv"))
        .expect_code(qemu_status(128 + 11))
        .expect_stdout_contains("segmentation fault");
}

#[test]
fn classic_rejects_aarch64_elf_initrd() {
    let dir = TempDir::new("classic-aarch64");
    let mut data = hello_bytes();
    data[18..20].copy_from_slice(&183u16.to_le_bytes());
    let initrd = dir.write_exec("aarch64", &data);
    let out = qemu_timeout(Some(&initrd), Some("app"), QUICK);
    out.expect_code(qemu_status(126));
    assert!(out.stdout().to_lowercase().contains("aarch64"), "{out}");
}

#[test]
fn initrd_cpio_missing_program() {
    let dir = TempDir::new("cpio-missing");
    let cpio = Cpio::new()
        .dir("bin")
        .file("bin/other", &hello_bytes())
        .finish();
    let initrd = dir.write_exec("root.cpio", &cpio);
    let out = qemu_timeout(Some(&initrd), Some("/bin/app x y"), QUICK);
    out.expect_code(qemu_status(127))
        .expect_stdout_contains("/bin/app");
    assert!(!out.stdout().contains("hello from"), "{out}");
}

#[test]
fn initrd_empty() {
    let dir = TempDir::new("initrd-empty");
    let initrd = dir.write_exec("empty", b"");
    qemu_timeout(Some(&initrd), Some("/bin/app"), QUICK)
        .expect_code(qemu_status(125))
        .expect_stdout_contains("initrd");
}

#[test]
fn initrd_missing() {
    qemu_timeout(None, Some("/bin/app"), QUICK)
        .expect_code(qemu_status(125))
        .expect_stdout_contains("initrd");
}

#[test]
fn initrd_garbage() {
    let dir = TempDir::new("initrd-garbage");
    let mut data = pseudo_random_bytes(10000, "garbage");
    data[..4].copy_from_slice(b"GARB");
    let initrd = dir.write_exec("garbage", &data);
    qemu_timeout(Some(&initrd), Some("/bin/app"), QUICK)
        .expect_code(qemu_status(126))
        .expect_stdout_contains("neither an ELF program nor a cpio");
}

fn app_cpio(dir: &TempDir, program: &str) -> std::path::PathBuf {
    let body = fs::read(guest(program)).unwrap();
    let cpio = Cpio::new().dir("bin").file("bin/app", &body).finish();
    dir.write_exec("root.cpio", &cpio)
}

#[test]
fn initrd_cpio_runs_program() {
    let dir = TempDir::new("cpio-app");
    let initrd = app_cpio(&dir, "hello-glibc");
    qemu(Some(&initrd), Some("/bin/app x y"))
        .expect_code(qemu_status(0))
        .expect_stdout_contains("hello from glibc\n");
}

#[test]
fn initrd_cpio_argv() {
    let dir = TempDir::new("cpio-auxv");
    let initrd = app_cpio(&dir, "auxv");
    let out = qemu(Some(&initrd), Some("/bin/app x y"));
    out.expect_code(qemu_status(0));
    check_auxv(&out, &["/bin/app", "x", "y"], &[]);
}

#[test]
fn initrd_cpio_default_init() {
    let dir = TempDir::new("cpio-init");
    let cpio = Cpio::new().file("init", &hello_bytes()).finish();
    let initrd = dir.write_exec("root.cpio", &cpio);
    qemu(Some(&initrd), None)
        .expect_code(qemu_status(0))
        .expect_stdout_contains("hello from glibc\n");
}

#[test]
fn initrd_cpio_strace() {
    let dir = TempDir::new("cpio-strace");
    let initrd = app_cpio(&dir, "hello-glibc");
    let out = qemu(Some(&initrd), Some("strace -- /bin/app x y"));
    out.expect_code(qemu_status(0))
        .expect_stdout_contains("hello from glibc\n")
        .expect_stdout_contains(r#"write(1, "hello from glibc\n", 17) = 17"#);
    assert!(
        serial_lines(&out)
            .iter()
            .any(|l| l.starts_with("exit_group(0)")),
        "no exit_group line in the trace\n{out}"
    );
}

// ---------------------------------------------------------------------------
// The harness itself
// ---------------------------------------------------------------------------

#[test]
fn harness_timeout_kills_the_process_group() {
    let dir = TempDir::new("harness");
    let marker = dir.join("grandchild-alive");
    let mut cmd = std::process::Command::new("sh");
    // A grandchild that would outlive its parent, then a hang.
    cmd.arg("-c")
        .arg(format!("(sleep 3; touch {}) & sleep 100", marker.display()));
    let start = std::time::Instant::now();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_with_timeout(cmd, None, Duration::from_millis(500));
    }));
    assert!(result.is_err(), "a hanging command must fail the test");
    assert!(start.elapsed() < Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(4));
    assert!(!marker.exists(), "the grandchild survived the timeout");
}

#[test]
fn harness_cpio_layout() {
    let cpio = Cpio::new().dir("bin").file("bin/app", b"abcde").finish();
    assert!(cpio.len().is_multiple_of(512));
    // First header: magic, ino 1, mode 040755, then the name right after the
    // 110-byte header, padded to 4.
    assert_eq!(&cpio[..6], b"070701");
    assert_eq!(&cpio[14..22], b"000041ed");
    assert_eq!(&cpio[110..114], b"bin\0");
    // Second entry at 116 (110 + 4 rounded up to 4), its data 4-aligned.
    let second = 116;
    assert_eq!(&cpio[second..second + 6], b"070701");
    assert_eq!(&cpio[second + 54..second + 62], b"00000005"); // filesize
    assert_eq!(&cpio[second + 110..second + 118], b"bin/app\0");
    assert_eq!(&cpio[second + 120..second + 125], b"abcde");
    let trailer = second + 128;
    assert_eq!(&cpio[trailer + 110..trailer + 121], b"TRAILER!!!\0");
}
