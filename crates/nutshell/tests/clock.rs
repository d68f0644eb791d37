//! The guest's clocks run at the host's pace: a program's own measure of how long it ran (through the
//! vDSO and through the syscall) fits inside the host's measure of the whole run, and its wall clock
//! agrees with the host's.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

fn build() -> PathBuf {
    let out =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("clock-{}", std::process::id()));
    let src = common::repo_root().join("tests/guest/clock.c");
    let ok = Command::new("gcc")
        .args(["-static-pie", "-O2", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("gcc (apt-get install gcc)")
        .success();
    assert!(ok, "building {}", src.display());
    out
}

fn value(out: &str, key: &str) -> f64 {
    out.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {key} in {out}"))
}

#[test]
fn guest_clocks_keep_the_hosts_pace() {
    let program = build();
    let start = Instant::now();
    let r = common::run_program(&[], &program, &[]);
    let host = start.elapsed().as_secs_f64();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64();
    r.expect_code(0);
    let out = r.stdout();
    for key in ["monotonic", "syscall"] {
        let guest = value(&out, key);
        assert!(
            guest >= 0.3,
            "{key}: the program slept 300 ms but measured {guest} s"
        );
        assert!(
            guest <= host,
            "{key}: the program measured {guest} s inside a run of {host} s on the host"
        );
    }
    let wall = value(&out, "realtime");
    assert!(
        (wall - now).abs() < 5.0,
        "guest wall clock {wall}, host {now}"
    );
}
