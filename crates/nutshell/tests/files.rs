//! Issue 4 end to end: the file guest programs (tests/guest/files) natively and in nutshell with the same
//! output, 9p volumes (read-write, read-only, no escape), /proc and /dev seen by real tools, and
//! busybox applets on a root filesystem.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::{run_program, TempDir};

/// Build tests/guest/files/NAME.c once per test process (`gcc -static-pie -O1 -Wall`).
fn guest(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("files-guests-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("guest build directory");
        d
    });
    let out = dir.join(name);
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if !out.exists() {
        let src = common::repo_root()
            .join("tests/guest/files")
            .join(format!("{name}.c"));
        let st = Command::new("gcc")
            .args(["-static-pie", "-O1", "-Wall", "-o"])
            .arg(&out)
            .arg(&src)
            .status()
            .expect("gcc (apt-get install gcc)");
        assert!(st.success(), "building {}", src.display());
    }
    out
}

fn native(program: &Path, args: &[&str]) -> (i32, String) {
    let o = Command::new(program)
        .args(args)
        .output()
        .expect("run natively");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn fileops_same_output_as_linux() {
    let tmp = TempDir::new("fileops");
    let scratch = tmp.join("fileops");
    let p = guest("fileops");
    let (code, out) = native(&p, &[scratch.to_str().expect("utf-8 path")]);
    assert_eq!(code, 0, "native run: {out}");
    assert!(out.ends_with("ok\n"), "native output: {out}");
    let r = run_program(&[], &p, &["/tmp/fileops"]);
    r.expect_code(0).expect_stdout(&out);
}

#[test]
fn errnos_same_as_linux() {
    let tmp = TempDir::new("errnos");
    let scratch = tmp.join("errnos");
    let p = guest("errnos");
    let (code, out) = native(&p, &[scratch.to_str().expect("utf-8 path")]);
    assert_eq!(code, 0, "native run: {out}");
    assert!(out.lines().count() >= 80, "native output: {out}");
    run_program(&[], &p, &["/tmp/errnos"])
        .expect_code(0)
        .expect_stdout(&out);
}

#[test]
fn volume_read_write_and_no_escape() {
    let host = TempDir::new("volume-rw");
    std::os::unix::fs::symlink("/etc", host.join("escape")).expect("symlink");
    let vol = format!("{}:/mnt", host.path().display());
    let r = run_program(
        &["--mem", "256M", "--volume", &vol],
        &guest("volume"),
        &["/mnt"],
    );
    r.expect_code(0);
    let out = r.stdout();
    for line in [
        "entries: 1003",
        "hostname through ..: nutshell",
        "through the escape link: nutshell",
        "ok",
    ] {
        assert!(out.lines().any(|l| l == line), "missing {line:?} in {out}");
    }
    for i in [0usize, 1, 500, 999] {
        let body = std::fs::read_to_string(host.join(&format!("vol/f{i:04}")))
            .expect("file written by the guest");
        assert_eq!(body, format!("file {i}\n"));
    }
    let big = std::fs::read(host.join("vol/big")).expect("big file");
    assert_eq!(big.len(), 50 << 20);
    assert!(
        big.iter()
            .enumerate()
            .all(|(i, b)| *b == ((i * 7 + i / 4096) & 0xff) as u8),
        "big file bytes"
    );
}

#[test]
fn volume_read_only_refuses_writes() {
    let host = TempDir::new("volume-ro");
    std::fs::write(host.join("existing"), "first line\nsecond\n").expect("write");
    let vol = format!("{}:/data:ro", host.path().display());
    let r = run_program(&["--volume", &vol], &guest("volume"), &["/data", "ro"]);
    r.expect_code(0);
    assert!(r.stdout().lines().any(|l| l == "ok"), "{}", r.stdout());
    let names: Vec<_> = std::fs::read_dir(host.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, ["existing"], "the read-only volume is unchanged");
    assert_eq!(
        std::fs::read_to_string(host.join("existing")).expect("read"),
        "first line\nsecond\n"
    );
}

/// A root filesystem with busybox-static and a few files.
fn busybox_root(tmp: &TempDir) -> PathBuf {
    let root = tmp.join("root");
    std::fs::create_dir_all(root.join("bin")).expect("bin");
    std::fs::create_dir_all(root.join("data/sub")).expect("data");
    std::fs::copy("/bin/busybox", root.join("bin/busybox"))
        .expect("busybox-static (apt-get install busybox-static)");
    std::fs::write(root.join("data/b.txt"), "banana\napple\ncherry\napple\n").expect("write");
    std::fs::write(root.join("data/sub/c.txt"), "nested\n").expect("write");
    root
}

fn busybox(root: &Path, args: &[&str]) -> common::Outcome {
    let mut opts = vec!["--rootfs", root.to_str().expect("utf-8 path")];
    opts.extend_from_slice(&["--"]);
    let mut all: Vec<&str> = vec!["/bin/busybox"];
    all.extend_from_slice(args);
    let mut cmd: Vec<std::ffi::OsString> = vec!["run".into()];
    cmd.extend(opts.iter().map(|s| s.into()));
    cmd.extend(all.iter().map(|s| s.into()));
    common::nutshell(&cmd, None)
}

#[test]
fn busybox_applets_on_a_rootfs() {
    let tmp = TempDir::new("busybox-root");
    let root = busybox_root(&tmp);
    busybox(&root, &["sort", "/data/b.txt"])
        .expect_code(0)
        .expect_stdout("apple\napple\nbanana\ncherry\n");
    busybox(&root, &["md5sum", "/data/sub/c.txt"])
        .expect_code(0)
        .expect_stdout("6983b4cd210aab338877de6d3b33c926  /data/sub/c.txt\n");
    let r = busybox(&root, &["find", "/data"]);
    r.expect_code(0);
    let mut found: Vec<String> = r.stdout().lines().map(String::from).collect();
    found.sort();
    assert_eq!(
        found,
        ["/data", "/data/b.txt", "/data/sub", "/data/sub/c.txt"]
    );
    // Shell scripts with redirections (builtins only: running other programs needs fork, which
    // comes later).
    let script =
        "cd /tmp; echo one > f; echo two >> f; exec 3< f; read a <&3; read b <&3; echo $b $a; \
                  printf '%s\\n' x y > g; while read l; do echo got $l; done < g";
    busybox(&root, &["sh", "-c", script])
        .expect_code(0)
        .expect_stdout("two one\ngot x\ngot y\n");
    // cp -r, then ls -la of the copy (one applet per run).
    busybox(&root, &["cp", "-r", "/data", "/tmp/d2"]).expect_code(0);
    let r = busybox(&root, &["ls", "-la", "/data/sub"]);
    r.expect_code(0);
    let ls = r.stdout();
    assert!(
        ls.lines()
            .any(|l| l.starts_with("-rw-r--r--") && l.ends_with(" c.txt")),
        "{ls}"
    );
    // tar: create (verbose lists what it packs), extract an archive made on the host.
    let r = busybox(&root, &["tar", "-cvf", "/tmp/t.tar", "/data/sub"]);
    r.expect_code(0);
    assert!(r.stdout().contains("data/sub/c.txt"), "{}", r.stdout());
    let st = Command::new("tar")
        .args(["-cf"])
        .arg(root.join("t.tar"))
        .args(["-C", root.to_str().expect("utf-8 path"), "data"])
        .status()
        .expect("tar on the host");
    assert!(st.success());
    let r = busybox(&root, &["tar", "-xvf", "/t.tar", "-C", "/tmp"]);
    r.expect_code(0);
    let out = r.stdout();
    let mut names: Vec<&str> = out.lines().collect();
    names.sort();
    assert_eq!(
        names,
        ["data/", "data/b.txt", "data/sub/", "data/sub/c.txt"]
    );
}

#[test]
fn proc_and_dev_read_by_real_tools() {
    let tmp = TempDir::new("proc-root");
    let root = busybox_root(&tmp);
    let r = busybox(&root, &["cat", "/proc/self/maps"]);
    r.expect_code(0);
    let maps = r.stdout();
    assert!(
        maps.lines()
            .any(|l| l.contains("r-xp") && l.ends_with("/bin/busybox")),
        "{maps}"
    );
    assert!(maps.lines().any(|l| l.ends_with("[stack]")), "{maps}");
    busybox(&root, &["readlink", "/proc/self/exe"])
        .expect_code(0)
        .expect_stdout("/bin/busybox\n");
    let r = busybox(&root, &["grep", "-c", "^processor", "/proc/cpuinfo"]);
    r.expect_code(0).expect_stdout("1\n");
    let r = busybox(&root, &["grep", "MemTotal", "/proc/meminfo"]);
    r.expect_code(0);
    assert!(
        r.stdout().starts_with("MemTotal:") && r.stdout().trim_end().ends_with("kB"),
        "{}",
        r.stdout()
    );
    let a = busybox(&root, &["od", "-An", "-N16", "-tx1", "/dev/urandom"]);
    let b = busybox(&root, &["od", "-An", "-N16", "-tx1", "/dev/urandom"]);
    a.expect_code(0);
    assert_ne!(a.stdout(), b.stdout(), "/dev/urandom gives varying bytes");
}
