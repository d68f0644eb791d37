#!/usr/bin/env bash
# The whole test suite: formatting, lints (workspace and kernel), unit and end-to-end tests.
# Needs qemu-system-x86_64, gcc, g++, musl-tools, cpio, gdb and strace (see README.md; .ci/run
# installs them), and busybox-static (/bin/busybox) for the --rootfs tests. Tests marked #[ignore]
# wait for kernel features (9p volumes, workdir=); run them with `cargo test -- --ignored`.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "cargo fmt --all --check"
cargo fmt --all --check
step "kernel: cargo fmt --check"
(cd kernel && cargo fmt --check)
step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
step "kernel: cargo clippy --release -- -D warnings"
(cd kernel && cargo clippy --release -- -D warnings)
step "cargo test --workspace"
cargo test --workspace
step "bench/run.sh --quick (the benchmark suite in quick mode, so that it cannot rot)"
bench/run.sh --quick
