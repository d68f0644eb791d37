//! Builds the nutshell kernel (`<repo>/kernel`, a workspace of its own) and leaves the image in
//! `OUT_DIR/nutshell-kernel`, where `src/kernel_image.rs` embeds it with `include_bytes!`.
//!
//! The kernel is built by a nested `cargo build --release` run in `<repo>/kernel`, so that
//! `kernel/.cargo/config.toml` (target, rustflags, linker script) applies, with its own target
//! directory `<outer target dir>/kernel` so that it never fights the outer build over locks and
//! fingerprints. Everything the outer cargo puts in a build script's environment that would
//! change the nested build (rustflags, `RUSTC`, clippy's `RUSTC_WORKSPACE_WRAPPER`, the
//! jobserver, profile and target settings) is removed first.
//!
//! `NUTSHELL_KERNEL=/path/to/image` skips the nested build and embeds that file instead.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Name of the kernel binary in `kernel/Cargo.toml`, and of the copy in `OUT_DIR`.
const KERNEL_BIN: &str = "nutshell-kernel";
/// The kernel's target (`kernel/.cargo/config.toml`'s `build.target`).
const KERNEL_TARGET: &str = "x86_64-unknown-linux-gnu";

fn main() -> ExitCode {
    match build() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // Cargo shows a failed build script's stderr; `cargo:warning` would be cut to one line.
            eprintln!("error: could not build the nutshell kernel\n{message}");
            ExitCode::FAILURE
        }
    }
}

fn build() -> Result<(), String> {
    let manifest_dir = PathBuf::from(var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(var("OUT_DIR")?);
    let repo = manifest_dir
        .parent()
        .and_then(Path::parent)
        .ok_or("CARGO_MANIFEST_DIR has no grandparent")?
        .to_path_buf();
    let kernel_dir = repo.join("kernel");
    let embedded = out_dir.join(KERNEL_BIN);

    println!("cargo:rerun-if-env-changed=NUTSHELL_KERNEL");
    if let Some(prebuilt) = env::var_os("NUTSHELL_KERNEL").filter(|p| !p.is_empty()) {
        println!("cargo:rerun-if-changed={}", Path::new(&prebuilt).display());
        copy(Path::new(&prebuilt), &embedded)?;
        return Ok(());
    }

    let mut inputs: Vec<PathBuf> = [
        "kernel/src",
        "kernel/Cargo.toml",
        "kernel/Cargo.lock",
        "kernel/linker.ld",
        "kernel/build.rs",
        "kernel/.cargo/config.toml",
        "crates/kernel-core/src",
        "crates/kernel-core/Cargo.toml",
        "crates/elf-loader/src",
        "crates/elf-loader/Cargo.toml",
    ]
    .iter()
    .map(|input| repo.join(input))
    .collect();
    // Any other path dependency the kernel gains.
    let manifest = std::fs::read_to_string(kernel_dir.join("Cargo.toml"))
        .map_err(|e| format!("cannot read kernel/Cargo.toml: {e}"))?;
    for dependency in path_dependencies(&manifest) {
        let dir = normalize(&kernel_dir.join(dependency));
        for input in ["src", "Cargo.toml", "build.rs"] {
            inputs.push(dir.join(input));
        }
    }
    inputs.sort();
    inputs.dedup();
    for input in inputs {
        // A directory makes cargo rerun this script when any file below it changes.
        println!("cargo:rerun-if-changed={}", input.display());
    }

    let target_dir = outer_target_dir(&out_dir).join("kernel");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(&cargo);
    command
        .current_dir(&kernel_dir)
        .args(["build", "--release", "--bin", KERNEL_BIN, "--target-dir"])
        .arg(&target_dir);
    for (key, _) in env::vars_os() {
        if let Some(key) = key.to_str() {
            if breaks_nested_build(key) {
                command.env_remove(key);
            }
        }
    }
    let output = command
        .output()
        .map_err(|e| format!("cannot run {}: {e}", Path::new(&cargo).display()))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo build --release` in {} failed ({}):\n{}",
            kernel_dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let image = target_dir
        .join(KERNEL_TARGET)
        .join("release")
        .join(KERNEL_BIN);
    copy(&image, &embedded)
}

/// Whether the outer cargo's variable `key` must not reach the nested kernel build.
///
/// Kept: `CARGO_HOME` and the network/registry/terminal settings (`CARGO_NET_*`,
/// `CARGO_HTTP_*`, `CARGO_REGISTRIES_*`, `CARGO_REGISTRY_*`, `CARGO_TERM_*`), `RUSTUP_*` (the
/// same toolchain), and everything unrelated to cargo.
fn breaks_nested_build(key: &str) -> bool {
    const KEEP: [&str; 6] = [
        "CARGO_HOME",
        "CARGO_NET_",
        "CARGO_HTTP_",
        "CARGO_REGISTRIES_",
        "CARGO_REGISTRY_",
        "CARGO_TERM_",
    ];
    const DROP: [&str; 19] = [
        // The outer build's flags would replace kernel/.cargo/config.toml's rustflags.
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        // `cargo clippy` points these at clippy-driver; the kernel is built with plain rustc.
        "RUSTC",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_LINKER",
        "RUSTDOC",
        "CLIPPY_ARGS",
        "CLIPPY_CONF_DIR",
        // The outer jobserver: the nested cargo uses its own job count.
        "MAKEFLAGS",
        "MFLAGS",
        // Build-script variables describing the outer package and profile.
        "OUT_DIR",
        "TARGET",
        "HOST",
        "NUM_JOBS",
        "OPT_LEVEL",
        "DEBUG",
        "PROFILE",
        "DEP_",
    ];
    if KEEP.iter().any(|k| key.starts_with(k)) {
        return false;
    }
    key.starts_with("CARGO_")
        || key.starts_with("__CARGO")
        || DROP
            .iter()
            .any(|d| key == *d || (d.ends_with('_') && key.starts_with(d)))
}

/// The `path = "..."` values of `{ path = "..." }` dependencies in a manifest (a plain text
/// scan; `[[bin]] path = "src/main.rs"` lines, which have no brace, are skipped).
fn path_dependencies(manifest: &str) -> Vec<&str> {
    manifest
        .lines()
        .filter(|line| line.contains('{'))
        .filter_map(|line| {
            let rest = &line[line.find("path")? + 4..];
            let rest = rest.trim_start().strip_prefix('=')?.trim_start();
            let rest = rest.strip_prefix('"')?;
            Some(&rest[..rest.find('"')?])
        })
        .collect()
}

/// `a/b/../c` → `a/c`, lexically (so that the same file is not listed twice).
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The outer build's target directory, derived from `OUT_DIR`
/// (`<target>/[<triple>/]<profile>/build/<pkg>-<hash>/out`): the nearest ancestor holding the
/// `CACHEDIR.TAG` cargo writes at the root of every target directory, else four levels up.
fn outer_target_dir(out_dir: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .or_else(|| out_dir.ancestors().nth(4))
        .unwrap_or(out_dir)
        .to_path_buf()
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
}

fn var(key: &str) -> Result<String, String> {
    env::var(key).map_err(|_| format!("cargo did not set {key}"))
}
