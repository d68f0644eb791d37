//! Issue 7: a kernel panic prints its message, its location and a backtrace named from the kernel's
//! symbols, then nutshell exits with status 125 (no hang).

mod common;

#[test]
fn kernel_panic_is_reported_with_a_symbolized_backtrace() {
    let hello = common::guest("hello-glibc");
    let r = common::run_program(&["--kernel-opt", "debug-panic"], &hello, &[]);
    r.expect_code(125);
    let err = r.stderr();
    assert!(
        err.contains("nutshell: kernel panic: requested by the debug-panic option at src/exec.rs:"),
        "{err}"
    );
    assert!(
        err.lines().any(
            |l| l.starts_with("nutshell: kernel backtrace: #") && l.contains("kernel_entry+0x")
        ),
        "the backtrace names the kernel's functions: {err}"
    );
}
