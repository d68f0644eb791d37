//! Starting the program: find it in the initrd, load its ELF segments into a fresh address space at a
//! random base, build the Linux initial stack and enter ring 3.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use elf_loader::{AuxvValues, ElfKind, LoadPlan, StackInput};
use kernel_core::cmdline::Cmdline;
use kernel_core::errno::Errno;
use kernel_core::mm::{
    page_ceil, page_floor, AddressSpace, AreaKind, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE,
};
use kernel_core::process::Process;
use kernel_core::uaccess::UserMemory;
use kernel_core::vfs::Fs;

use crate::arch::mem::X86PageTable;
use crate::arch::pvh::BootInfo;
use crate::arch::setup::CpuInfo;
use crate::platform::random_u64;
use crate::{fail, STATUS_KERNEL, STATUS_NOEXEC, STATUS_NOTFOUND};

/// Highest stack top (Linux's STACK_TOP on x86_64 with 4-level paging).
const STACK_TOP_MAX: u64 = 0x7fff_ffff_f000;
/// Where Linux puts a PIE program before randomisation (ELF_ET_DYN_BASE, page aligned).
const ET_DYN_BASE: u64 = 0x5555_5555_4000;
/// Randomisation, in bits of pages, as Linux x86_64 defaults: stack 22, mmap and PIE 28, brk 13.
const STACK_RND_BITS: u32 = 22;
const MMAP_RND_BITS: u32 = 28;
const BRK_RND_BITS: u32 = 13;

fn rnd_pages(bits: u32) -> u64 {
    (random_u64() & ((1 << bits) - 1)) * PAGE_SIZE
}

/// Boot options that matter to exec.
struct Options {
    /// Map no vDSO (for comparing with the syscall path).
    novdso: bool,
    strace: bool,
    strict: bool,
    summary: bool,
    env: Vec<Vec<u8>>,
    argv0: Option<Vec<u8>>,
    /// Fixed load address for a PIE program (for debuggers); random when absent.
    load_base: Option<u64>,
}

/// Load the program named by the command line and run it. Never returns.
pub fn start(boot: BootInfo, cpu: &CpuInfo) -> ! {
    let cmd = Cmdline::parse(&boot.cmdline);
    if let Some(level) = cmd.value("log") {
        crate::set_log_level(level);
    }

    if cmd.value("console") == Some("framed") {
        crate::console::set_framed();
    }
    if cmd.flag("debug-panic") {
        // For testing the panic report: message, location, backtrace, status 125.
        panic!("requested by the debug-panic option");
    }
    if let Some(t) = cmd.value("tty") {
        crate::platform::set_tty_mask(
            t.bytes()
                .filter(|b| b.is_ascii_digit())
                .fold(0, |m, b| m | 1 << (b - b'0')),
        );
    }
    let opts = Options {
        novdso: cmd.flag("novdso"),
        strace: cmd.flag("strace"),
        strict: cmd.flag("strict"),
        summary: cmd.flag("strace-summary"),
        env: cmd.values("env").map(|e| e.as_bytes().to_vec()).collect(),
        argv0: cmd.value("argv0").map(|a| a.as_bytes().to_vec()),
        load_base: cmd
            .value("load_base")
            .and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok()),
    };
    let Some((pa, size)) = boot.initrd.filter(|(_, s)| *s > 0) else {
        fail(
            STATUS_KERNEL,
            "nutshell: no initrd: pass the program with -initrd (or a cpio root filesystem)",
        )
    };
    let initrd = crate::arch::pvh::initrd_bytes(pa, size);
    let mut fs = Fs::new();
    fs.clock.set(kernel_core::platform::Platform::realtime_ns(
        &crate::platform::KernelPlatform,
    ));
    let mut argv = cmd.argv.clone();
    let path: Vec<u8>;
    if initrd.starts_with(b"\x7fELF") {
        // The classic path: the initrd is the program; argv[0] only names it.
        if argv.is_empty() {
            argv.push(b"/init".to_vec());
        }
        let base = argv[0]
            .rsplit(|c| *c == b'/')
            .next()
            .filter(|b| !b.is_empty())
            .unwrap_or(b"init");
        let mut p = b"/".to_vec();
        p.extend_from_slice(base);
        if fs.insert_static(&p, 0o100755, initrd).is_err() {
            fail(
                STATUS_KERNEL,
                "nutshell: cannot store the program in the root filesystem",
            );
        }
        path = p;
    } else if kernel_core::cpio::is_newc(initrd) {
        for e in kernel_core::cpio::entries(initrd) {
            match e {
                Ok(e) => {
                    let _ = fs.insert_entry(&e);
                }
                Err(err) => fail(STATUS_KERNEL, &format!("nutshell: initrd: {err}")),
            }
        }
        if argv.is_empty() {
            argv.push(b"/init".to_vec());
        }
        path = argv[0].clone();
    } else {
        let head: Vec<String> = initrd.iter().take(4).map(|b| format!("{b:02x}")).collect();
        fail(
            STATUS_NOEXEC,
            &format!(
                "nutshell: initrd is neither an ELF program nor a cpio (newc) archive (starts with {})",
                head.join(" ")
            ),
        );
    }
    if let Some(a0) = opts.argv0.clone() {
        argv[0] = a0;
    }
    let shown = String::from_utf8_lossy(&path).into_owned();
    crate::fs::mount_all(&mut fs, &cmd);
    // File data from the initrd is borrowed, so this copies nothing.
    let image: alloc::borrow::Cow<'static, [u8]> = match fs.read_file(&path) {
        Ok(d) => d,
        Err(e) if e == Errno::EISDIR => {
            fail(STATUS_NOEXEC, &format!("nutshell: {shown}: is a directory"))
        }
        Err(e) if e == Errno::EACCES => fail(
            STATUS_NOEXEC,
            &format!("nutshell: {shown}: not a regular file"),
        ),
        Err(_) => fail(
            STATUS_NOTFOUND,
            &format!("nutshell: {shown}: no such file in the root filesystem"),
        ),
    };
    let plan = match elf_loader::parse(&image) {
        Ok(p) => p,
        Err(e) => fail(STATUS_NOEXEC, &format!("nutshell: {shown}: {e}")),
    };
    // A dynamically linked program: its interpreter (ld.so) comes from the same root filesystem.
    let interp = plan.interp.as_ref().map(|ipath| {
        let data = match fs.read_file(ipath.as_bytes()) {
            Ok(d) => d,
            Err(_) => fail(
                STATUS_NOTFOUND,
                &format!("nutshell: {shown}: its interpreter {ipath} is not in the root filesystem"),
            ),
        };
        let iplan = match elf_loader::parse(&data) {
            Ok(p) if p.interp.is_none() && p.kind == ElfKind::Dyn => p,
            Ok(_) => fail(
                STATUS_NOEXEC,
                &format!("nutshell: {shown}: its interpreter {ipath} is not a position-independent ELF without an interpreter"),
            ),
            Err(e) => fail(STATUS_NOEXEC, &format!("nutshell: {ipath}: {e}")),
        };
        (ipath.clone(), data, iplan)
    });
    load_and_run(fs, shown, &image, &plan, interp, argv, opts, cpu)
}

fn prot_of(f: &elf_loader::Flags) -> u32 {
    (if f.read { PROT_READ } else { 0 })
        | (if f.write { PROT_WRITE } else { 0 })
        | (if f.exec { PROT_EXEC } else { 0 })
}

/// Map the PT_LOAD segments of `image` at `bias`; the tail past each segment's file size stays zero.
fn map_segments(mm: &mut AddressSpace, image: &[u8], plan: &LoadPlan, bias: u64, name: &str) {
    for seg in &plan.segments {
        let start = page_floor(bias + seg.vaddr);
        let end = page_ceil(bias + seg.vaddr + seg.memsz).unwrap_or(start);
        if end > start {
            mm.map_fixed(
                start,
                end - start,
                prot_of(&seg.flags),
                false,
                AreaKind::Image(String::from(name)),
            );
        }
    }
    for seg in &plan.segments {
        let data = &image[seg.offset as usize..(seg.offset + seg.filesz) as usize];
        if mm.write_force(bias + seg.vaddr, data).is_err() {
            crate::fail(
                crate::STATUS_KERNEL,
                &format!("nutshell: {name}: out of memory loading the program"),
            );
        }
    }
}

/// The vDSO image, built from kernel/vdso/vdso.c by build.rs.
static VDSO: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/vdso.so"));
/// `VDSO_MAGIC` of kernel/vdso/vdso.h.
const VDSO_MAGIC: u64 = 0x6e75_7473_6865_6c6c;

/// Map the vDSO with its data page just below it (clock factors, read-only); returns its address.
fn map_vdso(mm: &mut AddressSpace) -> Option<u64> {
    let len = page_ceil(VDSO.len() as u64)?;
    let base = mm.find_free(0, len + PAGE_SIZE)?;
    let (tsc_boot, mult, shift, realtime) = crate::platform::clock_factors();
    let mut data = Vec::with_capacity(40);
    for v in [VDSO_MAGIC, tsc_boot, mult, shift, realtime] {
        data.extend_from_slice(&v.to_le_bytes());
    }
    mm.map_fixed(
        base,
        PAGE_SIZE,
        PROT_READ,
        false,
        AreaKind::Image(String::from("[vvar]")),
    );
    mm.map_fixed(
        base + PAGE_SIZE,
        len,
        PROT_READ | PROT_EXEC,
        false,
        AreaKind::Image(String::from("[vdso]")),
    );
    mm.write_force(base, &data).ok()?;
    mm.write_force(base + PAGE_SIZE, VDSO).ok()?;
    Some(base + PAGE_SIZE)
}

/// An interpreter to load with the program: its path, image and plan.
type Interp = (String, alloc::borrow::Cow<'static, [u8]>, LoadPlan);

#[allow(clippy::too_many_arguments)]
fn load_and_run(
    fs: Fs,
    exe: String,
    image: &[u8],
    plan: &LoadPlan,
    interp: Option<Interp>,
    argv: Vec<Vec<u8>>,
    opts: Options,
    cpu: &CpuInfo,
) -> ! {
    let Some(pt) = X86PageTable::new() else {
        fail(STATUS_KERNEL, "nutshell: out of memory for page tables")
    };
    pt.activate();
    let stack_top = STACK_TOP_MAX - rnd_pages(STACK_RND_BITS);
    let stack_rlimit: u64 = 8 << 20;
    // Leave the stack its rlimit plus a gap, then randomise the mmap base below it.
    let mmap_base = page_floor(stack_top - stack_rlimit - (128 << 20) - rnd_pages(MMAP_RND_BITS));
    let mut mm = AddressSpace::new(Box::new(pt), mmap_base);

    let bias = match (plan.kind, opts.load_base) {
        (ElfKind::Dyn, Some(base)) => page_floor(base).wrapping_sub(plan.min_vaddr),
        (ElfKind::Dyn, None) => ET_DYN_BASE + rnd_pages(MMAP_RND_BITS) - plan.min_vaddr,
        (ElfKind::Exec, _) => 0,
    };
    let (total, free) = crate::arch::mem::memory_stats();
    crate::log_at(
        crate::LOG_DEBUG,
        &format!(
            "nutshell: {exe}: loaded at {:#x} (entry {:#x}), stack top {stack_top:#x}, mmap base {mmap_base:#x}; \
             memory {} MiB, {} MiB free; TSC {} MHz",
            bias + plan.min_vaddr,
            bias + plan.entry,
            total >> 20,
            free >> 20,
            crate::platform::tsc_per_us()
        ),
    );
    map_segments(&mut mm, image, plan, bias, &exe);
    let image_end = plan
        .segments
        .iter()
        .map(|s| bias + s.vaddr + s.memsz)
        .max()
        .unwrap_or(bias);
    let brk = page_ceil(image_end).unwrap_or(image_end) + rnd_pages(BRK_RND_BITS);
    mm.brk_start = brk;
    mm.brk = brk;
    mm.commit_limit = crate::arch::mem::memory_stats().0;

    // The stack: 128 KiB now, growing on demand down to the rlimit.
    let stack_prot = PROT_READ | PROT_WRITE | if plan.stack_exec { PROT_EXEC } else { 0 };
    let initial = 128 << 10;
    mm.map_fixed(
        stack_top - initial,
        initial,
        stack_prot,
        false,
        AreaKind::Stack,
    );
    mm.stack_limit = stack_top - stack_rlimit;

    let mut envp: Vec<Vec<u8>> = Vec::new();
    let has = |envp: &Vec<Vec<u8>>, k: &[u8]| envp.iter().any(|e| e.starts_with(k));
    for e in &opts.env {
        envp.push(e.clone());
    }
    for d in [
        &b"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"[..],
        b"HOME=/root",
        b"TERM=linux",
    ] {
        let key = &d[..d.iter().position(|c| *c == b'=').unwrap_or(0) + 1];
        if !has(&envp, key) {
            envp.push(d.to_vec());
        }
    }
    let mut random = [0u8; 16];
    random[..8].copy_from_slice(&random_u64().to_le_bytes());
    random[8..].copy_from_slice(&random_u64().to_le_bytes());
    // The interpreter goes where mmap would put it (below the mmap base), as Linux does.
    let interp_loaded = interp.as_ref().map(|(ipath, data, iplan)| {
        let span = iplan.max_vaddr - iplan.min_vaddr;
        let Some(base) = mm.find_free(0, span) else {
            fail(
                STATUS_KERNEL,
                &format!("nutshell: {exe}: no room to load {ipath}"),
            )
        };
        let ibias = base - iplan.min_vaddr;
        map_segments(&mut mm, data, iplan, ibias, ipath);
        crate::log_at(
            crate::LOG_DEBUG,
            &format!("nutshell: {ipath}: loaded at {base:#x}"),
        );
        (ibias, ibias + iplan.entry)
    });
    let mut aux = AuxvValues::for_plan(plan, bias, interp_loaded.map_or(0, |(b, _)| b));
    if !opts.novdso {
        aux.sysinfo_ehdr = map_vdso(&mut mm);
    }
    aux.hwcap = cpu.hwcap;
    aux.minsigstksz = (cpu.fpu_size as u64 + 1024).max(2048);
    let auxv = elf_loader::linux_auxv(&aux);
    let argv_refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
    let envp_refs: Vec<&[u8]> = envp.iter().map(|a| a.as_slice()).collect();
    let input = StackInput {
        stack_top,
        argv: &argv_refs,
        envp: &envp_refs,
        execfn: exe.as_bytes(),
        platform: b"x86_64",
        random,
        auxv: &auxv,
    };
    let stack = match elf_loader::build_stack(&input) {
        Ok(s) => s,
        Err(e) => fail(STATUS_NOEXEC, &format!("nutshell: {exe}: {e}")),
    };
    if stack.sp < stack_top - initial {
        mm.map_fixed(
            page_floor(stack.sp),
            stack_top - page_floor(stack.sp),
            stack_prot,
            false,
            AreaKind::Stack,
        );
    }
    if mm.write(stack.sp, &stack.bytes).is_err() {
        fail(
            STATUS_KERNEL,
            &format!("nutshell: {exe}: out of memory building the stack"),
        );
    }
    *IMAGE.lock() = Some(LoadedImage {
        symbols: elf_loader::symbols::Symbols::from_image(image),
        bias,
        path: exe.clone(),
        exec_ranges: plan
            .segments
            .iter()
            .filter(|s| s.flags.exec)
            .map(|s| (bias + s.vaddr, bias + s.vaddr + s.memsz))
            .collect(),
    });
    let entry = interp_loaded.map_or(bias + plan.entry, |(_, e)| e);
    let mut process = Process::new(mm, fs, exe);
    process.exec_info = crate::fs::exec_info(&stack);
    crate::fs::enter_workdir(&mut process);
    process.strace = opts.strace;
    process.strict = opts.strict;
    if opts.summary {
        process.stats = Some(alloc::collections::BTreeMap::new());
    }
    *crate::PROCESS.lock() = Some(process);
    crate::sched::init();
    crate::arch::trap::enter_user(entry, stack.sp)
}

/// What crash reports need to know about the loaded program.
struct LoadedImage {
    symbols: elf_loader::symbols::Symbols,
    bias: u64,
    path: String,
    exec_ranges: Vec<(u64, u64)>,
}

static IMAGE: spin::Mutex<Option<LoadedImage>> = spin::Mutex::new(None);

/// `0x55d4c3a1b139 crash_here+0x9 (/fault)` for a code address of the program.
fn describe(img: &LoadedImage, addr: u64) -> String {
    match img.symbols.lookup(addr.wrapping_sub(img.bias)) {
        Some((name, off)) => format!("{addr:#x} {name}+{off:#x} ({})", img.path),
        None if img
            .exec_ranges
            .iter()
            .any(|(s, e)| (*s..*e).contains(&addr)) =>
        {
            format!(
                "{addr:#x} ({}+{:#x})",
                img.path,
                addr.wrapping_sub(img.bias)
            )
        }
        None => format!("{addr:#x}"),
    }
}

/// The lines of a crash report: location, registers, stack trace (frame-pointer chain when there is one,
/// else return-address candidates found on the stack).
pub fn crash_report(p: &Process, f: &crate::arch::trap::TrapFrame) -> Vec<String> {
    let guard = IMAGE.lock();
    let Some(img) = guard.as_ref() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    out.push(format!("nutshell:   at {}", describe(img, f.rip)));
    out.push(format!(
        "nutshell:   rax {:016x} rbx {:016x} rcx {:016x} rdx {:016x}",
        f.rax, f.rbx, f.rcx, f.rdx
    ));
    out.push(format!(
        "nutshell:   rsi {:016x} rdi {:016x} rbp {:016x} rsp {:016x}",
        f.rsi, f.rdi, f.rbp, f.rsp
    ));
    out.push(format!(
        "nutshell:   r8  {:016x} r9  {:016x} r10 {:016x} r11 {:016x}",
        f.r8, f.r9, f.r10, f.r11
    ));
    out.push(format!(
        "nutshell:   r12 {:016x} r13 {:016x} r14 {:016x} r15 {:016x}",
        f.r12, f.r13, f.r14, f.r15
    ));
    out.push(format!(
        "nutshell:   rip {:016x} rflags {:08x} error {:x}",
        f.rip, f.rflags, f.error
    ));
    let read = |addr: u64| {
        let mut b = [0u8; 8];
        p.mm.read(addr, &mut b).ok().map(|_| u64::from_le_bytes(b))
    };
    let in_code = |a: u64| img.exec_ranges.iter().any(|(s, e)| (*s..*e).contains(&a));
    let mut frames = Vec::new();
    // Frame-pointer chain.
    let mut rbp = f.rbp;
    while frames.len() < 16 && rbp >= f.rsp && rbp.is_multiple_of(8) {
        let (Some(next), Some(ret)) = (read(rbp), read(rbp + 8)) else {
            break;
        };
        if !in_code(ret) {
            break;
        }
        frames.push(ret);
        if next <= rbp {
            break;
        }
        rbp = next;
    }
    // Without frame pointers: words on the stack that point into the program's code.
    if frames.is_empty() {
        let mut sp = f.rsp;
        for _ in 0..512 {
            if frames.len() >= 8 {
                break;
            }
            let Some(v) = read(sp) else { break };
            // A return address never points at the first byte of a function.
            let at_start = img
                .symbols
                .lookup(v.wrapping_sub(img.bias))
                .is_some_and(|(_, off)| off == 0);
            if in_code(v) && !at_start {
                frames.push(v);
            }
            sp += 8;
        }
    }
    out.push(String::from("nutshell:   stack trace:"));
    out.push(format!("nutshell:     #0 {}", describe(img, f.rip)));
    for (i, a) in frames.iter().enumerate() {
        out.push(format!("nutshell:     #{} {}", i + 1, describe(img, *a)));
    }
    out
}
