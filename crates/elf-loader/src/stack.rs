//! The initial stack of a new process, laid out as Linux lays it out.
//!
//! Linux builds it in two steps: `do_execveat_common` in
//! [fs/exec.c](https://elixir.bootlin.com/linux/v6.8/source/fs/exec.c) copies the strings
//! downward from 8 bytes below the top (the program path first, then the environment, then
//! the arguments, each list from its last string to its first), and `create_elf_tables` in
//! [fs/binfmt_elf.c](https://elixir.bootlin.com/linux/v6.8/source/fs/binfmt_elf.c) aligns down
//! to 16 bytes, copies the platform string and 16 random bytes, and writes argc, the argv and
//! envp pointer arrays and the auxiliary vector below them, rounding the final stack pointer
//! down to 16 bytes. [`build_stack`] does the same without the random offset Linux subtracts
//! (`arch_align_stack`):
//!
//! ```text
//!   stack_top ─► ┌──────────────────────────────┐  high addresses
//!                │ 8 zero bytes (end marker)    │
//!                ├──────────────────────────────┤
//!                │ execfn "/bin/prog\0"         │ ◄─ AT_EXECFN
//!                │ envp[envc-1] "K=V\0"         │ ◄─ env_end is just above the last one
//!                │ ...                          │
//!                │ envp[0]                      │ ◄─ env_start (= arg_end)
//!                │ argv[argc-1]                 │
//!                │ ...                          │
//!                │ argv[0] "prog\0"             │ ◄─ arg_start
//!                ├──────────────────────────────┤
//!                │ 0..15 bytes (align to 16)    │
//!                │ platform "x86_64\0"          │ ◄─ AT_PLATFORM
//!                │ 16 random bytes              │ ◄─ AT_RANDOM
//!                │ 0..15 bytes (so sp % 16 = 0) │
//!                ├──────────────────────────────┤
//!                │ AT_NULL, 0                   │
//!                │ auxv (type, value) pairs     │  8 + 8 bytes each
//!                │ NULL                         │
//!                │ envp[envc-1] ... envp[0]     │  pointers, envp[0] lowest
//!                │ NULL                         │
//!                │ argv[argc-1] ... argv[0]     │  pointers, argv[0] lowest
//!         sp ─►  │ argc                         │  sp % 16 == 0
//!                └──────────────────────────────┘  low addresses
//! ```
//!
//! The auxiliary vector is the caller's list (build it with [`linux_auxv`]) with `AT_RANDOM`,
//! `AT_EXECFN` and `AT_PLATFORM` inserted where Linux emits them; see [`StackInput::auxv`].

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

/// End of the auxiliary vector.
pub const AT_NULL: u64 = 0;
/// Entry to ignore.
pub const AT_IGNORE: u64 = 1;
/// File descriptor of the program (binfmt_misc with the `O` flag).
pub const AT_EXECFD: u64 = 2;
/// Address of the program headers in memory.
pub const AT_PHDR: u64 = 3;
/// Size of one program header (56).
pub const AT_PHENT: u64 = 4;
/// Number of program headers.
pub const AT_PHNUM: u64 = 5;
/// Page size (4096).
pub const AT_PAGESZ: u64 = 6;
/// Load address of the interpreter (0 without one).
pub const AT_BASE: u64 = 7;
/// Flags (`AT_FLAGS_PRESERVE_ARGV0` or 0).
pub const AT_FLAGS: u64 = 8;
/// Entry point of the program (with load bias).
pub const AT_ENTRY: u64 = 9;
/// Program is not ELF.
pub const AT_NOTELF: u64 = 10;
/// Real user id.
pub const AT_UID: u64 = 11;
/// Effective user id.
pub const AT_EUID: u64 = 12;
/// Real group id.
pub const AT_GID: u64 = 13;
/// Effective group id.
pub const AT_EGID: u64 = 14;
/// Address of the platform string ("x86_64").
pub const AT_PLATFORM: u64 = 15;
/// CPU capabilities (CPUID 1 EDX on x86).
pub const AT_HWCAP: u64 = 16;
/// Frequency of `times()` (100).
pub const AT_CLKTCK: u64 = 17;
/// Secure mode (setuid-like); 0 or 1.
pub const AT_SECURE: u64 = 23;
/// Address of the base platform string (not used on x86).
pub const AT_BASE_PLATFORM: u64 = 24;
/// Address of 16 random bytes.
pub const AT_RANDOM: u64 = 25;
/// More CPU capabilities (x86: `HWCAP2_RING3MWAIT`, `HWCAP2_FSGSBASE`).
pub const AT_HWCAP2: u64 = 26;
/// Size of `struct rseq` features the kernel supports.
pub const AT_RSEQ_FEATURE_SIZE: u64 = 27;
/// Alignment `struct rseq` needs.
pub const AT_RSEQ_ALIGN: u64 = 28;
/// Third word of CPU capabilities.
pub const AT_HWCAP3: u64 = 29;
/// Fourth word of CPU capabilities.
pub const AT_HWCAP4: u64 = 30;
/// Address of the program path string.
pub const AT_EXECFN: u64 = 31;
/// Entry of the vDSO system call page (i386 only).
pub const AT_SYSINFO: u64 = 32;
/// Address of the vDSO ELF header.
pub const AT_SYSINFO_EHDR: u64 = 33;
/// Minimal stack size for a signal handler (`get_sigframe_size()` on x86).
pub const AT_MINSIGSTKSZ: u64 = 51;

/// `AT_FLAGS` bit: the interpreter was started with the original `argv[0]` (binfmt_misc `P`).
pub const AT_FLAGS_PRESERVE_ARGV0: u64 = 1;

/// Longest single argument or environment string, NUL included (`MAX_ARG_STRLEN`, 32 pages).
pub const MAX_ARG_STRLEN: usize = 131_072;

/// Space for the argument and environment strings plus their pointers: Linux's
/// `bprm_stack_limits` allows a quarter of `RLIMIT_STACK` (8 MiB by default), i.e. 2 MiB.
pub const ARG_SPACE_LIMIT: usize = 2 * 1024 * 1024;

/// What goes on the initial stack.
#[derive(Debug, Clone, Copy)]
pub struct StackInput<'a> {
    /// One past the highest address of the stack area (page aligned in Linux; any value
    /// works).
    pub stack_top: u64,
    /// Arguments, without NUL terminators. An empty list gets one empty string as `argv[0]`,
    /// as Linux does since 5.18.
    pub argv: &'a [&'a [u8]],
    /// Environment strings (`KEY=value`), without NUL terminators.
    pub envp: &'a [&'a [u8]],
    /// Path of the program, the string `AT_EXECFN` points to.
    pub execfn: &'a [u8],
    /// The string `AT_PLATFORM` points to (`b"x86_64"`); empty means no `AT_PLATFORM` entry
    /// and no string, as Linux does for architectures without `ELF_PLATFORM`.
    pub platform: &'a [u8],
    /// The 16 bytes `AT_RANDOM` points to (the libc's stack protector and pointer guard seed).
    pub random: [u8; 16],
    /// The auxiliary entries, in order, without `AT_RANDOM`, `AT_EXECFN`, `AT_PLATFORM` and
    /// `AT_NULL`, which [`build_stack`] adds:
    /// - `AT_RANDOM` right before the first of `AT_HWCAP2`, `AT_HWCAP3`, `AT_HWCAP4`,
    ///   `AT_BASE_PLATFORM`, `AT_EXECFD`, `AT_RSEQ_FEATURE_SIZE`, `AT_RSEQ_ALIGN`
    ///   (that is, right after `AT_SECURE` in Linux's list), or at the end;
    /// - `AT_EXECFN` then `AT_PLATFORM` right before the first of `AT_BASE_PLATFORM`,
    ///   `AT_EXECFD`, `AT_RSEQ_FEATURE_SIZE`, `AT_RSEQ_ALIGN` (after `AT_HWCAP2`), or at the end;
    /// - `AT_NULL` last.
    ///
    /// With the list from [`linux_auxv`] the result is exactly Linux's order.
    pub auxv: &'a [(u64, u64)],
}

/// The initial stack: `bytes` is the memory image of `[sp, stack_top)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialStack {
    /// The stack pointer to start the program with (points at argc; 16-byte aligned).
    pub sp: u64,
    /// Contents of `[sp, stack_top)`; copy them to `sp`.
    pub bytes: Vec<u8>,
    /// Address of `argv[0]`'s string (Linux's `mm->arg_start`, for `/proc/self/cmdline`).
    pub arg_start: u64,
    /// One past the last argument string's NUL (`mm->arg_end`).
    pub arg_end: u64,
    /// Address of `envp[0]`'s string (`mm->env_start`, equal to `arg_end`).
    pub env_start: u64,
    /// One past the last environment string's NUL (`mm->env_end`).
    pub env_end: u64,
    /// The complete auxiliary vector as written, without the final `AT_NULL` (for
    /// `/proc/self/auxv` and `getauxval`-like needs).
    pub auxv: Vec<(u64, u64)>,
}

/// Which string an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringKind {
    /// `argv[i]`.
    Argv(usize),
    /// `envp[i]`.
    Envp(usize),
    /// The program path.
    Execfn,
    /// The platform string.
    Platform,
}

impl fmt::Display for StringKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StringKind::Argv(i) => write!(f, "argv[{i}]"),
            StringKind::Envp(i) => write!(f, "envp[{i}]"),
            StringKind::Execfn => write!(f, "the program path"),
            StringKind::Platform => write!(f, "the platform string"),
        }
    }
}

/// Why the initial stack cannot be built. `Display` gives the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackError {
    /// The caller passed `AT_NULL`, `AT_RANDOM`, `AT_EXECFN` or `AT_PLATFORM` in
    /// [`StackInput::auxv`]; [`build_stack`] places those itself.
    ReservedAuxEntry(u64),
    /// A string contains a NUL byte (C strings cannot).
    StringHasNul(StringKind),
    /// One string is longer than [`MAX_ARG_STRLEN`] with its NUL (Linux: `E2BIG`).
    StringTooLong {
        /// Which string.
        which: StringKind,
        /// Its length without the NUL.
        len: usize,
    },
    /// Strings and pointers exceed [`ARG_SPACE_LIMIT`] (Linux: `E2BIG`, "Argument list too
    /// long").
    ArgsTooLarge {
        /// Bytes needed: every argv/envp/execfn string with its NUL, plus 8 per pointer.
        needed: usize,
    },
    /// The stack does not fit below `stack_top` (it would wrap below address 0).
    NoRoom {
        /// `StackInput::stack_top`.
        stack_top: u64,
        /// Bytes needed.
        needed: u64,
    },
}

impl StackError {
    /// Whether Linux's `execve` would report this as `E2BIG` ("Argument list too long").
    pub fn is_e2big(&self) -> bool {
        matches!(
            self,
            StackError::StringTooLong { .. } | StackError::ArgsTooLarge { .. }
        )
    }
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StackError::ReservedAuxEntry(t) => write!(
                f,
                "auxiliary entry type {t} is placed by the stack builder itself and must not \
                 be passed in"
            ),
            StackError::StringHasNul(which) => write!(f, "{which} contains a NUL byte"),
            StackError::StringTooLong { which, len } => write!(
                f,
                "argument list too long: {which} is {len} bytes, the limit is {} bytes",
                MAX_ARG_STRLEN - 1
            ),
            StackError::ArgsTooLarge { needed } => write!(
                f,
                "argument list too long: arguments and environment need {needed} bytes, the \
                 limit is {ARG_SPACE_LIMIT} bytes"
            ),
            StackError::NoRoom { stack_top, needed } => write!(
                f,
                "initial stack needs {needed} bytes, more than there is below {stack_top:#x}"
            ),
        }
    }
}

impl core::error::Error for StackError {}

/// Values for the standard auxiliary vector; see [`linux_auxv`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuxvValues {
    /// `AT_SYSINFO_EHDR`: address of the vDSO, if one is mapped (first entry when present).
    pub sysinfo_ehdr: Option<u64>,
    /// `AT_MINSIGSTKSZ`: the signal frame size (depends on the XSAVE area size).
    pub minsigstksz: u64,
    /// `AT_HWCAP`: CPUID leaf 1 EDX.
    pub hwcap: u64,
    /// `AT_PAGESZ`: 4096.
    pub pagesz: u64,
    /// `AT_CLKTCK`: 100.
    pub clktck: u64,
    /// `AT_PHDR`: program headers in memory, load bias included.
    pub phdr: u64,
    /// `AT_PHENT`: 56.
    pub phent: u64,
    /// `AT_PHNUM`.
    pub phnum: u64,
    /// `AT_BASE`: interpreter load address, 0 without interpreter.
    pub base: u64,
    /// `AT_FLAGS`: 0 (or [`AT_FLAGS_PRESERVE_ARGV0`]).
    pub flags: u64,
    /// `AT_ENTRY`: program entry, load bias included.
    pub entry: u64,
    /// `AT_UID`.
    pub uid: u64,
    /// `AT_EUID`.
    pub euid: u64,
    /// `AT_GID`.
    pub gid: u64,
    /// `AT_EGID`.
    pub egid: u64,
    /// `AT_SECURE`.
    pub secure: bool,
    /// `AT_HWCAP2` (always present on x86_64).
    pub hwcap2: u64,
    /// `AT_EXECFD`, if the program file is passed as a descriptor.
    pub execfd: Option<u64>,
    /// `AT_RSEQ_FEATURE_SIZE` and `AT_RSEQ_ALIGN` (Linux 6.3+ with `CONFIG_RSEQ`), if the
    /// kernel implements `rseq`.
    pub rseq: Option<(u64, u64)>,
}

impl AuxvValues {
    /// Values for a program described by `plan`, loaded with `load_bias` (0 for
    /// [`crate::ElfKind::Exec`]) and an interpreter at `interp_base` (0 if none): page size
    /// 4096, 100 clock ticks, 56-byte program headers, everything else 0 / absent.
    pub fn for_plan(plan: &crate::LoadPlan, load_bias: u64, interp_base: u64) -> Self {
        AuxvValues {
            sysinfo_ehdr: None,
            minsigstksz: 0,
            hwcap: 0,
            pagesz: crate::PAGE_SIZE,
            clktck: 100,
            phdr: plan.phdr_vaddr.map_or(0, |p| p.wrapping_add(load_bias)),
            phent: u64::from(plan.phentsize),
            phnum: u64::from(plan.phnum),
            base: interp_base,
            flags: 0,
            entry: plan.entry.wrapping_add(load_bias),
            uid: 0,
            euid: 0,
            gid: 0,
            egid: 0,
            secure: false,
            hwcap2: 0,
            execfd: None,
            rseq: None,
        }
    }
}

/// The auxiliary entries in the order of Linux's `create_elf_tables` on x86_64 (`ARCH_DLINFO`
/// first), without the ones [`build_stack`] adds (`AT_RANDOM`, `AT_EXECFN`, `AT_PLATFORM`,
/// `AT_NULL`):
///
/// `AT_SYSINFO_EHDR` (if any), `AT_MINSIGSTKSZ`, `AT_HWCAP`, `AT_PAGESZ`, `AT_CLKTCK`,
/// `AT_PHDR`, `AT_PHENT`, `AT_PHNUM`, `AT_BASE`, `AT_FLAGS`, `AT_ENTRY`, `AT_UID`, `AT_EUID`,
/// `AT_GID`, `AT_EGID`, `AT_SECURE`, \[`AT_RANDOM`\], `AT_HWCAP2`, \[`AT_EXECFN`,
/// `AT_PLATFORM`\], `AT_EXECFD` (if any), `AT_RSEQ_FEATURE_SIZE` and `AT_RSEQ_ALIGN` (if any).
pub fn linux_auxv(v: &AuxvValues) -> Vec<(u64, u64)> {
    let mut auxv = Vec::with_capacity(22);
    if let Some(vdso) = v.sysinfo_ehdr {
        auxv.push((AT_SYSINFO_EHDR, vdso));
    }
    auxv.extend_from_slice(&[
        (AT_MINSIGSTKSZ, v.minsigstksz),
        (AT_HWCAP, v.hwcap),
        (AT_PAGESZ, v.pagesz),
        (AT_CLKTCK, v.clktck),
        (AT_PHDR, v.phdr),
        (AT_PHENT, v.phent),
        (AT_PHNUM, v.phnum),
        (AT_BASE, v.base),
        (AT_FLAGS, v.flags),
        (AT_ENTRY, v.entry),
        (AT_UID, v.uid),
        (AT_EUID, v.euid),
        (AT_GID, v.gid),
        (AT_EGID, v.egid),
        (AT_SECURE, u64::from(v.secure)),
        (AT_HWCAP2, v.hwcap2),
    ]);
    if let Some(fd) = v.execfd {
        auxv.push((AT_EXECFD, fd));
    }
    if let Some((feature_size, align)) = v.rseq {
        auxv.push((AT_RSEQ_FEATURE_SIZE, feature_size));
        auxv.push((AT_RSEQ_ALIGN, align));
    }
    auxv
}

/// Entries Linux emits after `AT_RANDOM`.
fn after_random(t: u64) -> bool {
    matches!(t, AT_HWCAP2 | AT_HWCAP3 | AT_HWCAP4) || after_platform(t)
}

/// Entries Linux emits after `AT_EXECFN` and `AT_PLATFORM`.
fn after_platform(t: u64) -> bool {
    matches!(
        t,
        AT_BASE_PLATFORM | AT_EXECFD | AT_RSEQ_FEATURE_SIZE | AT_RSEQ_ALIGN
    )
}

/// Merges the caller's entries with the three [`build_stack`] places (see
/// [`StackInput::auxv`]).
fn full_auxv(
    given: &[(u64, u64)],
    random: u64,
    execfn: u64,
    platform: Option<u64>,
) -> Vec<(u64, u64)> {
    let mut out = Vec::with_capacity(given.len() + 3);
    let mut random_done = false;
    let mut execfn_done = false;
    let mut push_random = |out: &mut Vec<(u64, u64)>| {
        if !random_done {
            out.push((AT_RANDOM, random));
            random_done = true;
        }
    };
    let mut push_execfn = |out: &mut Vec<(u64, u64)>| {
        if !execfn_done {
            out.push((AT_EXECFN, execfn));
            if let Some(p) = platform {
                out.push((AT_PLATFORM, p));
            }
            execfn_done = true;
        }
    };
    for &(t, value) in given {
        if after_random(t) {
            push_random(&mut out);
        }
        if after_platform(t) {
            push_execfn(&mut out);
        }
        out.push((t, value));
    }
    push_random(&mut out);
    push_execfn(&mut out);
    out
}

fn check_string(s: &[u8], which: StringKind) -> Result<usize, StackError> {
    if s.contains(&0) {
        return Err(StackError::StringHasNul(which));
    }
    let size = s.len() + 1;
    if size > MAX_ARG_STRLEN && !matches!(which, StringKind::Platform) {
        return Err(StackError::StringTooLong {
            which,
            len: s.len(),
        });
    }
    Ok(size)
}

/// Builds the initial stack of a program (see the [module documentation](self) for the
/// layout).
///
/// Fails like Linux's `execve` with `E2BIG` when a string exceeds [`MAX_ARG_STRLEN`] or the
/// strings plus their pointers exceed [`ARG_SPACE_LIMIT`]; also when a string contains NUL,
/// the caller passes an entry [`build_stack`] places itself, or the stack would not fit below
/// `stack_top`.
pub fn build_stack(input: &StackInput) -> Result<InitialStack, StackError> {
    if let Some(&(t, _)) = input
        .auxv
        .iter()
        .find(|(t, _)| matches!(*t, AT_NULL | AT_RANDOM | AT_EXECFN | AT_PLATFORM))
    {
        return Err(StackError::ReservedAuxEntry(t));
    }
    const EMPTY_ARGV: &[&[u8]] = &[b""];
    let argv = if input.argv.is_empty() {
        EMPTY_ARGV
    } else {
        input.argv
    };
    let envp = input.envp;

    // Sizes and limits, in the order Linux checks them (bprm_stack_limits, then the strings).
    let pointers = argv.len().saturating_add(envp.len()).saturating_mul(8);
    let mut needed = pointers;
    needed = needed.saturating_add(check_string(input.execfn, StringKind::Execfn)?);
    for (i, s) in envp.iter().enumerate() {
        needed = needed.saturating_add(check_string(s, StringKind::Envp(i))?);
    }
    for (i, s) in argv.iter().enumerate() {
        needed = needed.saturating_add(check_string(s, StringKind::Argv(i))?);
    }
    // Linux: E2BIG if limit <= ptr_size, then if the strings go below argmin.
    if pointers >= ARG_SPACE_LIMIT || needed > ARG_SPACE_LIMIT {
        return Err(StackError::ArgsTooLarge { needed });
    }
    check_string(input.platform, StringKind::Platform)?;
    let strings_size = (needed - pointers) as u64;
    let platform_size = if input.platform.is_empty() {
        0
    } else {
        input.platform.len() as u64 + 1
    };
    // Upper bound of the whole area, to fail before any address arithmetic can wrap.
    let aux_words = (input.auxv.len() as u64 + 4) * 2;
    let vector_words = 1 + argv.len() as u64 + 1 + envp.len() as u64 + 1;
    let bound = 8 + strings_size + 15 + platform_size + 16 + (aux_words + vector_words) * 8 + 15;
    let no_room = StackError::NoRoom {
        stack_top: input.stack_top,
        needed: bound,
    };
    if input.stack_top < bound {
        return Err(no_room);
    }
    // From here on nothing can go below 0: every subtraction is part of `bound`.
    let top = input.stack_top;

    // Strings, downward: end marker, execfn, envp (last first), argv (last first).
    let mut strings: Vec<(u64, &[u8])> = Vec::with_capacity(argv.len() + envp.len() + 2);
    let mut p = top - 8;
    p -= input.execfn.len() as u64 + 1;
    let execfn_addr = p;
    strings.push((p, input.execfn));
    // The environment strings end where the program path starts.
    let env_end = p;
    let mut envp_addrs = vec![0u64; envp.len()];
    for (addr, s) in envp_addrs.iter_mut().zip(envp).rev() {
        p -= s.len() as u64 + 1;
        *addr = p;
        strings.push((p, s));
    }
    let env_start = p;
    let mut argv_addrs = vec![0u64; argv.len()];
    for (addr, s) in argv_addrs.iter_mut().zip(argv).rev() {
        p -= s.len() as u64 + 1;
        *addr = p;
        strings.push((p, s));
    }
    let arg_start = p;

    // create_elf_tables: align, platform, random bytes, then the vectors.
    p &= !15;
    let platform_addr = if platform_size > 0 {
        p -= platform_size;
        strings.push((p, input.platform));
        Some(p)
    } else {
        None
    };
    p -= 16;
    let random_addr = p;

    let auxv = full_auxv(input.auxv, random_addr, execfn_addr, platform_addr);
    let words = vector_words + (auxv.len() as u64 + 1) * 2;
    let sp = (p - words * 8) & !15;

    let size = usize::try_from(top - sp).map_err(|_| no_room.clone())?;
    let mut bytes = vec![0u8; size];
    let mut put = |addr: u64, data: &[u8]| {
        // Every address is in [sp, top) by construction; `get_mut` keeps a mistake from
        // becoming a panic in the kernel (the tests check every byte).
        let at = usize::try_from(addr.wrapping_sub(sp)).unwrap_or(usize::MAX);
        let dst = at
            .checked_add(data.len())
            .and_then(|end| bytes.get_mut(at..end));
        debug_assert!(dst.is_some(), "stack layout out of bounds");
        if let Some(dst) = dst {
            dst.copy_from_slice(data);
        }
    };
    for &(addr, s) in &strings {
        put(addr, s); // the NUL is already there: `bytes` starts zeroed
    }
    put(random_addr, &input.random);

    let mut cursor = sp;
    let mut push = |value: u64| {
        put(cursor, &value.to_le_bytes());
        cursor += 8;
    };
    push(argv.len() as u64);
    argv_addrs.iter().for_each(|&a| push(a));
    push(0);
    envp_addrs.iter().for_each(|&a| push(a));
    push(0);
    for &(t, v) in &auxv {
        push(t);
        push(v);
    }
    push(AT_NULL);
    push(0);

    Ok(InitialStack {
        sp,
        bytes,
        arg_start,
        arg_end: env_start,
        env_start,
        env_end,
        auxv,
    })
}
