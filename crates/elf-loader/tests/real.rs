//! Real programs from the host toolchain: `gcc` builds tiny C programs into a temporary
//! directory; their load plans are checked, and a static program run under
//! `setarch -R` (no stack randomisation) dumps its initial stack, which `build_stack`
//! must reproduce byte for byte. Each test prints why it skips when a tool is missing.

use elf_loader::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "elf-loader-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Compiles `source` with `gcc <flags>`; `None` (with a printed reason) if gcc is missing
/// or cannot produce this kind of binary.
fn gcc(dir: &Path, name: &str, source: &str, flags: &[&str]) -> Option<PathBuf> {
    let src = dir.join(format!("{name}.c"));
    let out = dir.join(name);
    std::fs::write(&src, source).unwrap();
    match Command::new("gcc")
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .output()
    {
        Err(e) => {
            println!("skipped: gcc not runnable: {e}");
            None
        }
        Ok(o) if !o.status.success() => {
            println!(
                "skipped: gcc {flags:?} failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            None
        }
        Ok(_) => Some(out),
    }
}

const HELLO: &str = "#include <stdio.h>\n\
    __thread int counter = 1;\n\
    int main(void) { printf(\"hello %d\\n\", counter); return 0; }\n";

fn check_common(plan: &LoadPlan) {
    assert!(plan
        .segments
        .iter()
        .any(|s| s.flags.exec && s.vaddr <= plan.entry && plan.entry < s.vaddr + s.memsz));
    assert!(plan.phdr_vaddr.is_some());
    assert_eq!(plan.phentsize, 56);
    assert!(plan.segments.windows(2).all(|w| w[0].end() <= w[1].vaddr));
    assert!(plan.min_vaddr.is_multiple_of(4096) && plan.max_vaddr.is_multiple_of(4096));
    // Modern toolchains always emit PT_GNU_STACK without X.
    assert!(!plan.stack_exec);
    // __thread variable: a PT_TLS with a 4-byte initialised image.
    let tls = plan.tls.expect("PT_TLS");
    assert!(tls.filesz >= 4 && tls.memsz >= tls.filesz);
}

#[test]
fn gcc_static_pie() {
    let dir = TempDir::new("spie");
    let Some(exe) = gcc(&dir.0, "hello", HELLO, &["-static-pie", "-O1"]) else {
        return;
    };
    let plan = parse(&std::fs::read(exe).unwrap()).unwrap();
    assert_eq!(plan.kind, ElfKind::Dyn);
    assert_eq!(plan.interp, None);
    assert_eq!(plan.min_vaddr, 0);
    check_common(&plan);
}

#[test]
fn gcc_static_exec() {
    let dir = TempDir::new("static");
    let Some(exe) = gcc(&dir.0, "hello", HELLO, &["-static", "-no-pie", "-O1"]) else {
        return;
    };
    let plan = parse(&std::fs::read(exe).unwrap()).unwrap();
    assert_eq!(plan.kind, ElfKind::Exec);
    assert_eq!(plan.interp, None);
    assert!(plan.min_vaddr >= 0x40_0000);
    check_common(&plan);
}

#[test]
fn gcc_dynamic_pie() {
    let dir = TempDir::new("dyn");
    let Some(exe) = gcc(&dir.0, "hello", HELLO, &["-pie", "-fPIE", "-O1"]) else {
        return;
    };
    let plan = parse(&std::fs::read(exe).unwrap()).unwrap();
    assert_eq!(plan.kind, ElfKind::Dyn);
    let interp = plan.interp.clone().expect("PT_INTERP");
    assert!(interp.starts_with('/') && interp.contains("ld"), "{interp}");
    check_common(&plan);
}

#[test]
fn gcc_executable_stack() {
    let dir = TempDir::new("execstack");
    let Some(exe) = gcc(&dir.0, "hello", HELLO, &["-static-pie", "-z", "execstack"]) else {
        return;
    };
    assert!(parse(&std::fs::read(exe).unwrap()).unwrap().stack_exec);
}

#[test]
fn this_test_binary() {
    // Rust test binaries are dynamically linked PIEs (or static ones on musl hosts).
    let Ok(image) = std::fs::read("/proc/self/exe") else {
        println!("skipped: /proc/self/exe is not readable");
        return;
    };
    let plan = parse(&image).unwrap();
    assert!(plan.phdr_vaddr.is_some());
    assert!(plan.segments.iter().any(|s| s.flags.exec));
}

#[test]
fn host_system_programs() {
    for path in ["/bin/busybox", "/bin/ls", "/bin/sh", "/usr/bin/env"] {
        let Ok(image) = std::fs::read(path) else {
            println!("skipped {path}: not present");
            continue;
        };
        if image.get(4) != Some(&2) || image.get(18) != Some(&62) {
            println!("skipped {path}: not an x86_64 ELF64");
            continue;
        }
        match parse(&image) {
            Ok(plan) => println!("{path}: {:?}, interp {:?}", plan.kind, plan.interp),
            Err(e) => panic!("{path}: {e}"),
        }
    }
}

/// A static program that writes its initial sp, the stack top and the bytes in between.
const DUMP: &str = r#"
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/auxv.h>
int main(int argc, char **argv) {
    uint64_t sp = (uint64_t)argv - 8;
    const char *fn = (const char *)getauxval(AT_EXECFN);
    uint64_t top = (uint64_t)fn + strlen(fn) + 1 + 8;
    write(1, &sp, 8);
    write(1, &top, 8);
    write(1, (void *)sp, top - sp);
    return 0;
}
"#;

#[test]
fn matches_the_linux_initial_stack_byte_for_byte() {
    let dir = TempDir::new("dump");
    let Some(exe) = gcc(&dir.0, "dump", DUMP, &["-static", "-O1"]) else {
        return;
    };
    let argv: [&[u8]; 4] = [b"first", b"", b"third arg", b"4"];
    let env: [(&str, &str); 3] = [("A", "1"), ("LONGER_NAME", "some value"), ("E", "")];
    let run = Command::new("setarch")
        .args(["x86_64", "-R"])
        .arg(&exe)
        .args(argv[1..].iter().map(|a| std::str::from_utf8(a).unwrap()))
        .env_clear()
        .envs(env)
        .output();
    let out = match run {
        Ok(o) if o.status.success() && o.stdout.len() > 16 => o.stdout,
        Ok(o) => {
            println!(
                "skipped: setarch -R failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            return;
        }
        Err(e) => {
            println!("skipped: setarch not runnable: {e}");
            return;
        }
    };
    let word = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let (sp, top) = (word(&out, 0), word(&out, 8));
    let linux = &out[16..];
    assert_eq!(linux.len() as u64, top - sp);
    let cstr = |addr: u64| -> Vec<u8> {
        let at = (addr - sp) as usize;
        let len = linux[at..].iter().position(|&b| b == 0).unwrap();
        linux[at..at + len].to_vec()
    };

    // Read back what Linux wrote, and feed the same inputs to build_stack.
    let argc = word(linux, 0) as usize;
    let mut at = 8;
    let argv_got: Vec<Vec<u8>> = (0..argc).map(|i| cstr(word(linux, 8 + 8 * i))).collect();
    at += 8 * argc + 8;
    let mut envp_got = Vec::new();
    while word(linux, at) != 0 {
        envp_got.push(cstr(word(linux, at)));
        at += 8;
    }
    at += 8;
    let mut auxv = Vec::new();
    let (mut random, mut execfn, mut platform) = ([0u8; 16], Vec::new(), Vec::new());
    loop {
        let (t, v) = (word(linux, at), word(linux, at + 8));
        at += 16;
        match t {
            AT_NULL => break,
            AT_RANDOM => {
                let r = (v - sp) as usize;
                random.copy_from_slice(&linux[r..r + 16]);
            }
            AT_EXECFN => execfn = cstr(v),
            AT_PLATFORM => platform = cstr(v),
            _ => auxv.push((t, v)),
        }
    }
    assert_eq!(
        argv_got,
        [exe.as_os_str().as_encoded_bytes(), b"", b"third arg", b"4"]
    );
    let envp_want: Vec<Vec<u8>> = env
        .iter()
        .map(|(k, v)| format!("{k}={v}").into_bytes())
        .collect();
    let mut envp_sorted = envp_got.clone();
    envp_sorted.sort();
    let mut want_sorted = envp_want.clone();
    want_sorted.sort();
    assert_eq!(envp_sorted, want_sorted);

    let argv_refs: Vec<&[u8]> = argv_got.iter().map(|s| s.as_slice()).collect();
    let envp_refs: Vec<&[u8]> = envp_got.iter().map(|s| s.as_slice()).collect();
    let ours = build_stack(&StackInput {
        stack_top: top,
        argv: &argv_refs,
        envp: &envp_refs,
        execfn: &execfn,
        platform: &platform,
        random,
        auxv: &auxv,
    })
    .unwrap();
    assert_eq!(ours.sp, sp, "stack pointer differs from Linux's");
    assert_eq!(ours.bytes, linux, "stack bytes differ from Linux's");
}
