//! Links the kernel with linker.ld, and builds the vDSO (vdso/vdso.c, a tiny shared object the kernel
//! maps into every program) with the host's gcc; the kernel embeds it.
use std::process::Command;

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    println!("cargo:rustc-link-arg-bins=-T{dir}/linker.ld");
    println!("cargo:rerun-if-changed=linker.ld");
    for f in [
        "vdso/vdso.c",
        "vdso/vdso.h",
        "vdso/vdso.lds",
        "vdso/vdso.map",
    ] {
        println!("cargo:rerun-if-changed={f}");
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| String::from("gcc"));
    let status = Command::new(&cc)
        .current_dir(format!("{dir}/vdso"))
        .args([
            "-O2",
            "-fPIC",
            "-shared",
            "-nostdlib",
            "-fno-stack-protector",
            "-fno-asynchronous-unwind-tables",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-Wl,-T,vdso.lds",
            "-Wl,--version-script=vdso.map",
            "-Wl,-soname=linux-vdso.so.1",
            "-Wl,--hash-style=both",
            "-Wl,-Bsymbolic",
            "-Wl,--build-id=none",
            "-o",
        ])
        .arg(format!("{out}/vdso.so"))
        .arg("vdso.c")
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("building the vDSO with {cc} failed ({s})"),
        Err(e) => panic!("building the vDSO needs a C compiler ({cc}: {e}); install gcc"),
    }
}
