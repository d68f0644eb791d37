//! End-to-end tests: real Linux programs (built from `tests/guest/`) run by the
//! `nutshell` CLI, and the kernel image booted by QEMU directly.

mod common;

use common::*;
use std::ffi::OsStr;
use std::fs::{self, File};
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
    native("tty", &[], None)
        .expect_code(0)
        .expect_stdout_contains("isatty 0 0 0\n");
    native("getcpu", &[], None)
        .expect_code(0)
        .expect_stdout_contains("getcpu: cpu ");
    native("debugme", &[], None)
        .expect_code(0)
        .expect_stdout("result 110\n");
    let dir = TempDir::new("native-volume");
    fs::write(dir.join("from-host.txt"), "hi\n").unwrap();
    native("volume", &["write", dir.path().to_str().unwrap()], None)
        .expect_code(0)
        .expect_stdout("host says: hi\nvolume ok\n");
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

/// A few MiB in through stdin and back out through stdout, compared byte for byte (the console's
/// virtio-serial port both ways), with the bytes the protocol escapes; on both machines.
#[test]
fn copy_stdin_to_stdout() {
    let mut data = vec![0xFF, 0x01, 0xFF, 0x02, 0x02, 0x00, 0x04, 0x03];
    data.extend(pseudo_random_bytes(4 << 20, "copy"));
    data.extend([0xFF; 70_000]);
    data.extend([0xFF, 0x01]);
    let copy = guest("copy");
    for machine in ["microvm", "pc"] {
        let mut cmd = std::process::Command::new(nutshell_bin());
        cmd.args(["run", "--machine", machine]).arg(&copy);
        let out = run_with_timeout(cmd, Some(&data), 2 * TIMEOUT);
        out.expect_code(0).expect_stderr("");
        assert!(
            out.stdout == data,
            "{machine}: stdout differs from stdin: {} bytes out, {} in",
            out.stdout.len(),
            data.len()
        );
    }
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
    // The faulting function is named in the report (the symbol table is read), as
    // `symbol+offset`, and the stack trace leads back to main.
    out.expect_stderr_contains(" crash_here+0x")
        .expect_stderr_contains("stack trace:")
        .expect_stderr_contains(" main+0x");
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
// Signals sent to nutshell reach the program
// ---------------------------------------------------------------------------

/// `nutshell run signals MODE`, waited for until it printed "ready".
fn signals_guest(mode: &str) -> Running {
    let program = guest("signals");
    let mut running = spawn_nutshell(&[OsStr::new("run"), program.as_os_str(), OsStr::new(mode)]);
    running.wait_for("ready\n", false, TIMEOUT);
    running
}

#[test]
fn sigint_reaches_the_programs_handler() {
    let mut running = signals_guest("handler");
    running.signal(SIGUSR1);
    running.wait_for("caught SIGUSR1", false, TIMEOUT);
    running.signal(SIGINT);
    running
        .finish(TIMEOUT)
        .expect_code(42)
        .expect_stdout(
            "ready\nhandler: caught SIGUSR1\nhandler: caught SIGINT\nmain: done (SIGUSR1 seen)\n",
        )
        .expect_stderr("");
}

#[test]
fn sigterm_default_action_is_status_143() {
    let running = signals_guest("default");
    running.signal(SIGTERM);
    running
        .finish(TIMEOUT)
        .expect_code(143)
        .expect_stdout("ready\n")
        .expect_stderr_contains("killed by signal 15");
}

#[test]
fn sigint_default_action_is_status_130() {
    let running = signals_guest("default");
    running.signal(SIGINT);
    running
        .finish(TIMEOUT)
        .expect_code(130)
        .expect_stdout("ready\n");
}

#[test]
fn second_sigint_within_2s_stops_the_vm() {
    // The program ignores SIGINT: the second Ctrl-C is nutshell's way out.
    let running = signals_guest("ignore");
    running.signal(SIGINT);
    std::thread::sleep(Duration::from_millis(300));
    running.signal(SIGINT);
    running
        .finish(TIMEOUT)
        .expect_code(130)
        .expect_stdout("ready\n")
        .expect_stderr("nutshell: stopped the VM: a second SIGINT within 2 s\n");
}

// ---------------------------------------------------------------------------
// Terminals: tty= and TERM
// ---------------------------------------------------------------------------

/// `nutshell run ARGS` with stdout on a new pseudo-terminal of `rows` x `cols` and
/// TERM=`term`; returns what the terminal showed (CR LF turned into LF) and stderr.
fn run_on_a_terminal(args: &[&OsStr], term: &str, rows: u16, cols: u16) -> (String, String, i32) {
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors; the name and termios pointers may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: openpty returned two fresh descriptors that nothing else owns.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = std::process::Command::new(nutshell_bin());
    cmd.args(args)
        .env("TERM", term)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::from(slave))
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("start nutshell");
    drop(cmd); // our copy of the slave: the master reads EIO once the child closes it
    let mut stderr = child.stderr.take().expect("stderr");
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let mut screen = Vec::new();
    let mut master = File::from(master);
    let _ = std::io::Read::read_to_end(&mut master, &mut screen); // ends with EIO
    let status = child.wait().expect("wait");
    let stderr = err_reader.join().expect("stderr");
    let screen = String::from_utf8_lossy(&screen).replace("\r\n", "\n");
    (screen, stderr, status.code().unwrap_or(-1))
}

#[test]
fn terminal_fds_and_term_reach_the_program() {
    let tty = guest("tty");
    let (screen, stderr, code) = run_on_a_terminal(
        &[
            OsStr::new("run"),
            OsStr::new("--log=debug"),
            tty.as_os_str(),
        ],
        "xterm-nutshell",
        50,
        132,
    );
    assert_eq!(code, 0, "{screen}{stderr}");
    assert!(
        screen.contains("isatty 0 1 0\n"),
        "stdout only is a terminal: {screen}"
    );
    assert!(screen.contains("TERM=xterm-nutshell\n"), "{screen}");
    assert!(screen.contains("winsize "), "{screen}");
    assert!(
        stderr.contains("'tty=1' 'winsize=50x132'"),
        "the kernel command line: {stderr}"
    );

    // --env TERM wins over the host's.
    let (screen, _, code) = run_on_a_terminal(
        &[
            OsStr::new("run"),
            OsStr::new("--env"),
            OsStr::new("TERM=dumb"),
            tty.as_os_str(),
        ],
        "xterm-nutshell",
        24,
        80,
    );
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("TERM=dumb\n"), "{screen}");
}

#[test]
fn pipes_are_not_terminals() {
    let out = run_program(&[], &guest("tty"), &[]);
    out.expect_code(0).expect_stderr("");
    assert_eq!(out.lines()[0], "isatty 0 0 0", "{out}");
}

// ---------------------------------------------------------------------------
// Debugging: strace, the summary, missing syscalls, --strict, gdb
// ---------------------------------------------------------------------------

/// A trace line with addresses as `0x_` and random bytes as `"…"` (they change
/// from run to run).
fn normalize_trace(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find("0x") {
        out.push_str(&rest[..at]);
        let digits = rest[at + 2..]
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(rest.len() - at - 2);
        out.push_str("0x_");
        rest = &rest[at + 2 + digits..];
    }
    out.push_str(rest);
    if out.starts_with("getrandom(\"") {
        if let Some(end) = out.find("\", ") {
            out.replace_range(10..end + 1, "\"…\"");
        }
    }
    out
}

/// The trace of hello-glibc: every line looks like strace's, and the lines that do not
/// depend on addresses are those Linux's strace shows for the same program.
#[track_caller]
fn check_hello_trace(trace: &str) {
    let lines: Vec<String> = trace.lines().map(normalize_trace).collect();
    for line in &lines {
        let name_end = line.find('(').unwrap_or(0);
        assert!(
            name_end > 0
                && line[..name_end]
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                && line.contains(") = "),
            "not a trace line: {line:?}\n{trace}"
        );
    }
    let expected = [
        "brk(NULL) = 0x_",
        "arch_prctl(ARCH_SET_FS, 0x_) = 0",
        "set_robust_list(0x_, 24) = 0",
        "prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}) = 0",
        "readlink(\"/proc/self/exe\", \"/hello-glibc\", 4096) = 12",
        "getrandom(\"…\", 8, GRND_NONBLOCK) = 8",
        "write(1, \"hello from glibc\\n\", 17) = 17",
        "exit_group(0) = ?",
    ];
    let mut next = 0;
    for line in &lines {
        if next < expected.len() && *line == expected[next] {
            next += 1;
        }
    }
    assert_eq!(
        next,
        expected.len(),
        "missing (in this order) {:?}\n{}",
        &expected[next..],
        lines.join("\n")
    );
    assert_eq!(lines.last().map(String::as_str), Some("exit_group(0) = ?"));
}

#[test]
fn strace_lines_of_hello_and_stdout_unchanged() {
    let hello = guest("hello-glibc");
    let out = run_program(&["--strace"], &hello, &[]);
    out.expect_code(0).expect_stdout("hello from glibc\n");
    check_hello_trace(&out.stderr());

    // --strace=FILE: the same lines in the file, nothing on stderr.
    let dir = TempDir::new("strace-file");
    let file = dir.join("trace.txt");
    let option = format!("--strace={}", file.display());
    let out = run_program(&[&option], &hello, &[]);
    out.expect_code(0)
        .expect_stdout("hello from glibc\n")
        .expect_stderr("");
    check_hello_trace(&fs::read_to_string(&file).expect("the trace file"));
}

#[test]
fn strace_summary_table() {
    let out = run_program(&["--strace-summary"], &guest("hello-glibc"), &[]);
    out.expect_code(0)
        .expect_stdout("hello from glibc\n")
        .expect_stderr_contains("% time     seconds  usecs/call     calls    errors syscall");
    let stderr = out.stderr();
    assert!(
        stderr
            .lines()
            .any(|l| l.ends_with(" write") && l.contains(" 1 ")),
        "no row for write\n{out}"
    );
    assert!(
        stderr.lines().last().is_some_and(|l| l.ends_with(" total")),
        "{out}"
    );
}

#[test]
fn log_file_takes_the_kernel_log() {
    let dir = TempDir::new("log-file");
    let file = dir.join("log.txt");
    let option = format!("--log-file={}", file.display());
    let out = run_program(&["--log=debug", &option], &guest("getcpu"), &[]);
    out.expect_code(0).expect_stderr("");
    let log = fs::read_to_string(&file).expect("the log file");
    assert!(
        log.contains(" -append "),
        "nutshell's own debug line: {log}"
    );
    assert!(
        log.contains("nutshell: /getcpu: loaded at 0x"),
        "the kernel's debug line: {log}"
    );
    assert!(
        log.contains("nutshell: not implemented: getcpu(309) x2\n"),
        "{log}"
    );
}

#[test]
fn missing_syscall_is_reported_at_exit() {
    let out = run_program(&[], &guest("getcpu"), &[]);
    out.expect_code(0).expect_stdout(
        "calling getcpu\ngetcpu: Function not implemented\n\
         calling getcpu\ngetcpu: Function not implemented\n",
    );
    assert_eq!(
        out.stderr(),
        "nutshell: syscall getcpu (309) is not implemented\n\
         nutshell: not implemented: getcpu(309) x2\n",
        "{out}"
    );
}

#[test]
fn strict_stops_at_the_first_missing_syscall() {
    let out = run_program(&["--strict"], &guest("getcpu"), &[]);
    out.expect_code(125)
        .expect_stdout("calling getcpu\n")
        .expect_stderr_contains("getcpu (309) is not implemented; stopping (--strict)");
}

fn gdb_is_installed() {
    if std::process::Command::new("gdb")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .status()
        .is_err()
    {
        panic!("gdb is not installed: install it with `apt-get install gdb` (CI installs it)");
    }
}

/// `nutshell run --gdb=PORT` of a static-PIE built with -g -O0, then gdb in batch
/// mode with the script: a breakpoint in a function, a local, a backtrace.
#[test]
fn gdb_batch_on_a_static_pie() {
    gdb_is_installed();
    let program = guest("debugme");
    let port = free_port();
    let option = format!("--gdb={port}");
    let mut running =
        spawn_nutshell(&[OsStr::new("run"), OsStr::new(&option), program.as_os_str()]);
    running.wait_for("the VM waits for gdb", true, TIMEOUT);
    let stderr = running.stderr_so_far();
    let script = stderr
        .lines()
        .find_map(|l| l.strip_prefix("nutshell: gdb script: "))
        .unwrap_or_else(|| panic!("no script path on stderr: {stderr}"))
        .to_owned();
    let mut gdb = std::process::Command::new("gdb");
    gdb.args(["-batch", "-nx", "-x", &script])
        .args(["-ex", "break checkpoint", "-ex", "continue", "-ex", "bt"])
        .args(["-ex", "frame 1", "-ex", "info locals", "-ex", "continue"]);
    let session = run_with_timeout(gdb, None, TIMEOUT);
    let text = session.stdout();
    for needle in [
        "Breakpoint 2, checkpoint (step=55) at ",
        "#1  0x",
        " in compute (n=10) at ",
        " in main (argc=1, ",
        "total = 55",
    ] {
        assert!(
            text.contains(needle),
            "gdb's output lacks {needle:?}\n{session}"
        );
    }
    // gdb let the program run to its end.
    running
        .finish(TIMEOUT)
        .expect_code(0)
        .expect_stdout("result 110\n");
}

/// A dynamically linked program (built here with -g -O0) in a `--rootfs` directory holding
/// the host's ld.so and libc: the script also loads the symbols of the libraries ld.so
/// loaded, at their real addresses, so a breakpoint in libc works.
#[test]
fn gdb_batch_on_a_dynamic_program() {
    gdb_is_installed();
    let dir = TempDir::new("gdb-dynamic");
    let root = dir.join("root");
    fs::create_dir_all(root.join("app")).unwrap();
    let program = root.join("app/debugme");
    let source = repo_root().join("tests/guest/debugme.c");
    let built = std::process::Command::new("gcc")
        .args(["-g", "-O0", "-o"])
        .arg(&program)
        .arg(&source)
        .status()
        .expect("gcc");
    assert!(built.success());
    // The interpreter and the libraries, at the paths ldd names.
    let ldd = std::process::Command::new("ldd")
        .arg(&program)
        .output()
        .expect("ldd");
    for line in String::from_utf8_lossy(&ldd.stdout).lines() {
        let Some(path) = line.split_whitespace().find(|word| word.starts_with('/')) else {
            continue; // linux-vdso.so.1
        };
        let copy = root.join(path.trim_start_matches('/'));
        fs::create_dir_all(copy.parent().unwrap()).unwrap();
        fs::copy(path, &copy).unwrap_or_else(|e| panic!("copying {path}: {e}"));
    }
    let port = free_port();
    let args = [
        "run".to_string(),
        format!("--gdb={port}"),
        format!("--rootfs={}", root.display()),
        "/app/debugme".to_string(),
    ];
    let mut running = spawn_nutshell(&args);
    running.wait_for("the VM waits for gdb", true, TIMEOUT);
    let stderr = running.stderr_so_far();
    let script = stderr
        .lines()
        .find_map(|l| l.strip_prefix("nutshell: gdb script: "))
        .unwrap_or_else(|| panic!("no script path on stderr: {stderr}"))
        .to_owned();
    let mut gdb = std::process::Command::new("gdb");
    gdb.args(["-batch", "-nx", "-x", &script])
        .args(["-ex", "break checkpoint", "-ex", "continue", "-ex", "bt"])
        .args(["-ex", "break printf", "-ex", "continue", "-ex", "bt"])
        .args(["-ex", "info symbol $pc", "-ex", "continue"]);
    let session = run_with_timeout(gdb, None, TIMEOUT);
    let text = session.stdout();
    let libc = format!("add symbol table from file \"{}/", root.display());
    for needle in [
        libc.as_str(),
        "libc.so.6\" with all sections offset by 0x7",
        "checkpoint (step=55) at ",
        " in compute (n=10) at ",
        "printf (",
        " in main (argc=1, ",
        " in section .text of ",
    ] {
        assert!(
            text.contains(needle),
            "gdb's output lacks {needle:?}\n{session}"
        );
    }
    running
        .finish(TIMEOUT)
        .expect_code(0)
        .expect_stdout("result 110\n");
}

/// `nutshell debug`: gdb reads its commands from stdin here (a terminal in real use).
#[test]
fn nutshell_debug_starts_gdb() {
    gdb_is_installed();
    let program = guest("debugme");
    let port = format!("--gdb={}", free_port());
    let mut cmd = std::process::Command::new(nutshell_bin());
    cmd.arg("debug").arg(&port).arg(&program).args(["x", "y"]);
    let out = run_with_timeout(
        cmd,
        Some(b"break compute\ncontinue\ninfo args\ncontinue\n"),
        TIMEOUT,
    );
    out.expect_code(0)
        .expect_stdout_contains("compute (n=12) at ")
        .expect_stdout_contains("n = 12")
        .expect_stdout_contains("result 156\n");
}

#[test]
fn nutshell_debug_without_gdb() {
    let dir = TempDir::new("no-gdb");
    // A PATH with QEMU but no gdb.
    let qemu = std::process::Command::new("sh")
        .args(["-c", "command -v qemu-system-x86_64"])
        .output()
        .expect("sh");
    let qemu = String::from_utf8_lossy(&qemu.stdout).trim().to_string();
    std::os::unix::fs::symlink(&qemu, dir.join("qemu-system-x86_64")).expect("symlink");
    let mut cmd = std::process::Command::new(nutshell_bin());
    cmd.env("PATH", dir.path())
        .arg("debug")
        .arg(guest("debugme"));
    run_with_timeout(cmd, None, QUICK)
        .expect_code(125)
        .expect_stderr("nutshell: gdb not found: install it with 'apt-get install gdb'\n");
}

// ---------------------------------------------------------------------------
// Root file systems: --rootfs DIR, FILE.cpio, FILE.tar; --workdir
// ---------------------------------------------------------------------------

const BUSYBOX: &str = "/bin/busybox";

/// A root tree with busybox (Debian's busybox-static), /etc/x and an empty directory.
fn busybox_tree(dir: &TempDir) -> std::path::PathBuf {
    assert!(
        Path::new(BUSYBOX).exists(),
        "{BUSYBOX} is missing: install it with `apt-get install busybox-static`"
    );
    let root = dir.join("root");
    fs::create_dir_all(root.join("bin")).unwrap();
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::create_dir_all(root.join("var/empty")).unwrap();
    fs::copy(BUSYBOX, root.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", root.join("bin/cat")).unwrap();
    fs::write(root.join("etc/x"), "hello rootfs\n").unwrap();
    root
}

#[test]
fn rootfs_dir_cpio_and_tar_give_the_same_result() {
    let dir = TempDir::new("rootfs");
    let root = busybox_tree(&dir);
    let cpio = dir.join("root.cpio");
    let tar = dir.join("root.tar");
    let shell = |line: String| {
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(&line)
            .status()
            .expect("sh");
        assert!(status.success(), "{line}");
    };
    shell(format!(
        "cd {} && find . | cpio -o -H newc --quiet > {}",
        root.display(),
        cpio.display()
    ));
    shell(format!("tar -cf {} -C {} .", tar.display(), root.display()));
    for source in [&root, &cpio, &tar] {
        for program in ["/bin/busybox", "/bin/cat", "cat"] {
            let mut args = vec![program];
            if program.ends_with("busybox") {
                args.push("cat");
            }
            args.push("/etc/x");
            let options = ["--rootfs", source.to_str().unwrap()];
            let out = run_program(&options, Path::new(args[0]), &args[1..]);
            out.expect_code(0).expect_stdout("hello rootfs\n");
            assert!(
                out.stderr().lines().all(|l| l.starts_with("nutshell: ")),
                "only kernel messages on stderr\n{out}"
            );
        }
    }
}

#[test]
fn rootfs_program_not_found() {
    let dir = TempDir::new("rootfs-missing");
    let root = busybox_tree(&dir);
    let out = run_program(
        &["--rootfs", root.to_str().unwrap()],
        Path::new("/bin/nope"),
        &[],
    );
    out.expect_code(127).expect_stderr(&format!(
        "nutshell: /bin/nope: not found in the root file system {}\n",
        root.display()
    ));
    let out = run_program(
        &["--rootfs", "/nonexistent/root"],
        Path::new("/bin/sh"),
        &[],
    );
    out.expect_code(125)
        .expect_stderr("nutshell: --rootfs /nonexistent/root: no such file or directory\n");
}

#[test]
fn rootfs_workdir() {
    let dir = TempDir::new("rootfs-workdir");
    let root = busybox_tree(&dir);
    let options = ["--rootfs", root.to_str().unwrap(), "--workdir", "/etc"];
    run_program(&options, Path::new("/bin/busybox"), &["cat", "x"])
        .expect_code(0)
        .expect_stdout("hello rootfs\n");
    run_program(&options, Path::new("/bin/busybox"), &["pwd"])
        .expect_code(0)
        .expect_stdout("/etc\n");
}

// ---------------------------------------------------------------------------
// Volumes: --volume HOSTDIR:GUESTDIR[:ro]
// ---------------------------------------------------------------------------

#[test]
fn volume_device_tokens_do_not_reach_argv() {
    // With a volume, QEMU appends `virtio_mmio.device=...` to the command line.
    let dir = TempDir::new("volume-argv");
    let auxv = guest("auxv");
    let volume = format!("{}:/data", dir.path().display());
    let out = run_program(&["--volume", &volume], &auxv, &["a b", "c"]);
    out.expect_code(0);
    check_auxv(&out, &[&name_of(&auxv), "a b", "c"], &[]);
}

#[test]
fn volume_needs_microvm() {
    let dir = TempDir::new("volume-pc");
    let volume = format!("{}:/data", dir.path().display());
    run_program(
        &["--machine", "pc", "--volume", &volume],
        &guest("hello-glibc"),
        &[],
    )
    .expect_code(125)
    .expect_stderr_contains("--volume needs --machine microvm");
}

#[test]
fn volume_files_written_by_the_guest_are_on_the_host() {
    let dir = TempDir::new("volume");
    let shared = dir.join("shared");
    fs::create_dir(&shared).unwrap();
    fs::write(shared.join("from-host.txt"), "hi guest\n").unwrap();
    let volume = format!("{}:/data", shared.display());
    run_program(
        &["--volume", &volume],
        &guest("volume"),
        &["write", "/data"],
    )
    .expect_code(0)
    .expect_stdout("host says: hi guest\nvolume ok\n");
    assert_eq!(
        fs::read_to_string(shared.join("hello.txt")).unwrap(),
        "hello from the guest\n"
    );
    let data = fs::read(shared.join("sub/data.bin")).unwrap();
    assert_eq!(data.len(), 1 << 20);
    assert!(data
        .iter()
        .enumerate()
        .all(|(i, &b)| b == (i * 7 % 251) as u8));
    for i in 0..100 {
        assert_eq!(
            fs::read_to_string(shared.join(format!("many/f{i:03}"))).unwrap(),
            format!("file {i}\n")
        );
    }

    // Read-only: the program reads, and cannot write.
    let volume = format!("{}:/in:ro", shared.display());
    run_program(
        &["--volume", &volume],
        &guest("volume"),
        &["readonly", "/in"],
    )
    .expect_code(0)
    .expect_stdout("host says: hi guest\ncreate: Read-only file system\n");
    assert!(!shared.join("x").exists());
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
