//! `build_stack` checked byte by byte against the layout of Linux's `create_elf_tables`.

mod common;

use common::Rng;
use elf_loader::*;

const TOP: u64 = 0x7fff_ffff_f000;

/// Reads the stack image as memory.
struct Mem<'a> {
    st: &'a InitialStack,
    top: u64,
}

impl Mem<'_> {
    fn offset(&self, addr: u64, len: usize) -> usize {
        assert!(
            addr >= self.st.sp && addr + len as u64 <= self.top,
            "{addr:#x}+{len} outside [sp, top)"
        );
        (addr - self.st.sp) as usize
    }

    fn u64(&self, addr: u64) -> u64 {
        let at = self.offset(addr, 8);
        u64::from_le_bytes(self.st.bytes[at..at + 8].try_into().unwrap())
    }

    fn bytes(&self, addr: u64, len: usize) -> &[u8] {
        let at = self.offset(addr, len);
        &self.st.bytes[at..at + len]
    }

    /// The NUL-terminated string at `addr`, without the NUL.
    fn cstr(&self, addr: u64) -> &[u8] {
        let at = self.offset(addr, 1);
        let len = self.st.bytes[at..]
            .iter()
            .position(|&b| b == 0)
            .expect("string not terminated inside the stack");
        &self.st.bytes[at..at + len]
    }
}

/// What a reader of the stack (a libc's `_start`) sees.
#[derive(Debug)]
struct Parsed {
    argv: Vec<u64>,
    envp: Vec<u64>,
    auxv: Vec<(u64, u64)>,
    /// Address just past AT_NULL's value.
    end: u64,
}

fn walk(m: &Mem) -> Parsed {
    let mut at = m.st.sp;
    let mut next = || {
        let v = m.u64(at);
        at += 8;
        v
    };
    let argc = next();
    let argv: Vec<u64> = (0..argc).map(|_| next()).collect();
    assert_eq!(next(), 0, "argv not NULL-terminated");
    let mut envp = Vec::new();
    loop {
        match next() {
            0 => break,
            p => envp.push(p),
        }
    }
    let mut auxv = Vec::new();
    loop {
        let (t, v) = (next(), next());
        if t == AT_NULL {
            assert_eq!(v, 0);
            break;
        }
        auxv.push((t, v));
    }
    Parsed {
        argv,
        envp,
        auxv,
        end: at,
    }
}

fn values() -> AuxvValues {
    AuxvValues {
        sysinfo_ehdr: Some(0x7fff_f7ff_d000),
        minsigstksz: 3632,
        hwcap: 0x178b_fbff,
        pagesz: 4096,
        clktck: 100,
        phdr: 0x5555_5555_4040,
        phent: 56,
        phnum: 12,
        base: 0x7fff_f7fc_3000,
        flags: 0,
        entry: 0x5555_5555_5100,
        uid: 1000,
        euid: 1001,
        gid: 100,
        egid: 101,
        secure: true,
        hwcap2: 2,
        execfd: None,
        rseq: Some((32, 32)),
    }
}

const RANDOM: [u8; 16] = [
    0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87, 0x98, 0xa9, 0xba, 0xcb, 0xdc, 0xed, 0xfe, 0x0f,
];

#[test]
fn full_layout_byte_by_byte() {
    let argv: [&[u8]; 3] = [b"/bin/prog", b"-v", b""];
    let envp: [&[u8]; 2] = [b"HOME=/", b"PATH=/bin:/usr/bin"];
    let auxv = linux_auxv(&values());
    let input = StackInput {
        stack_top: TOP,
        argv: &argv,
        envp: &envp,
        execfn: b"/usr/local/bin/prog",
        platform: b"x86_64",
        random: RANDOM,
        auxv: &auxv,
    };
    let st = build_stack(&input).unwrap();
    let m = Mem { st: &st, top: TOP };

    assert_eq!(st.sp % 16, 0);
    assert_eq!(st.bytes.len() as u64, TOP - st.sp);
    // 8 zero bytes at the very top, the program path right below.
    assert_eq!(m.bytes(TOP - 8, 8), &[0; 8]);
    let execfn_addr = TOP - 8 - 20;
    assert_eq!(m.bytes(execfn_addr, 20), b"/usr/local/bin/prog\0");

    let p = walk(&m);
    assert_eq!(p.argv.len(), 3);
    assert_eq!(p.envp.len(), 2);
    // Strings are contiguous: argv[0] lowest, then argv[1..], envp[..], then execfn.
    let mut expect = st.arg_start;
    for (addr, s) in p.argv.iter().zip(argv) {
        assert_eq!(*addr, expect);
        assert_eq!(m.cstr(*addr), s);
        expect += s.len() as u64 + 1;
    }
    assert_eq!(st.arg_end, expect);
    assert_eq!(st.env_start, expect);
    for (addr, s) in p.envp.iter().zip(envp) {
        assert_eq!(*addr, expect);
        assert_eq!(m.cstr(*addr), s);
        expect += s.len() as u64 + 1;
    }
    assert_eq!(st.env_end, expect);
    assert_eq!(expect, execfn_addr);

    // Below the strings: align down to 16, platform string, 16 random bytes.
    let platform_addr = (st.arg_start & !15) - 7;
    let random_addr = platform_addr - 16;
    assert_eq!(m.bytes(platform_addr, 7), b"x86_64\0");
    assert_eq!(m.bytes(random_addr, 16), &RANDOM);
    assert!(m
        .bytes(
            platform_addr + 7,
            (st.arg_start - platform_addr - 7) as usize
        )
        .iter()
        .all(|&b| b == 0));

    // The auxiliary vector in Linux's order with the three inserted entries.
    let v = values();
    let expected_auxv = vec![
        (AT_SYSINFO_EHDR, 0x7fff_f7ff_d000),
        (AT_MINSIGSTKSZ, 3632),
        (AT_HWCAP, v.hwcap),
        (AT_PAGESZ, 4096),
        (AT_CLKTCK, 100),
        (AT_PHDR, v.phdr),
        (AT_PHENT, 56),
        (AT_PHNUM, 12),
        (AT_BASE, v.base),
        (AT_FLAGS, 0),
        (AT_ENTRY, v.entry),
        (AT_UID, 1000),
        (AT_EUID, 1001),
        (AT_GID, 100),
        (AT_EGID, 101),
        (AT_SECURE, 1),
        (AT_RANDOM, random_addr),
        (AT_HWCAP2, 2),
        (AT_EXECFN, execfn_addr),
        (AT_PLATFORM, platform_addr),
        (AT_RSEQ_FEATURE_SIZE, 32),
        (AT_RSEQ_ALIGN, 32),
    ];
    assert_eq!(p.auxv, expected_auxv);
    assert_eq!(st.auxv, expected_auxv);

    // Between AT_NULL and the random bytes: less than 16 bytes of zero padding.
    assert!(p.end <= random_addr && random_addr - p.end < 16);
    assert!(m
        .bytes(p.end, (random_addr - p.end) as usize)
        .iter()
        .all(|&b| b == 0));
    // Exactly Linux's rounding: sp = (random_addr - 8 * words) & !15.
    let words = 1 + 4 + 3 + (expected_auxv.len() as u64 + 1) * 2;
    assert_eq!(st.sp, (random_addr - 8 * words) & !15);
}

#[test]
fn empty_argv_gets_an_empty_argv0() {
    let envp: [&[u8]; 1] = [b"A=1"];
    let st = build_stack(&StackInput {
        stack_top: TOP,
        argv: &[],
        envp: &envp,
        execfn: b"/prog",
        platform: b"x86_64",
        random: RANDOM,
        auxv: &[],
    })
    .unwrap();
    let m = Mem { st: &st, top: TOP };
    let p = walk(&m);
    assert_eq!(p.argv.len(), 1);
    assert_eq!(m.cstr(p.argv[0]), b"");
    assert_eq!(p.argv[0], st.arg_start);
    assert_eq!(p.envp, vec![st.arg_start + 1]);
    assert_eq!(m.cstr(p.envp[0]), b"A=1");
}

#[test]
fn no_platform_means_no_at_platform() {
    let argv: [&[u8]; 1] = [b"p"];
    let st = build_stack(&StackInput {
        stack_top: TOP,
        argv: &argv,
        envp: &[],
        execfn: b"p",
        platform: b"",
        random: RANDOM,
        auxv: &[(AT_PAGESZ, 4096)],
    })
    .unwrap();
    let m = Mem { st: &st, top: TOP };
    let p = walk(&m);
    let random_addr = (st.arg_start & !15) - 16;
    assert_eq!(
        p.auxv,
        vec![
            (AT_PAGESZ, 4096),
            (AT_RANDOM, random_addr),
            (AT_EXECFN, TOP - 10)
        ]
    );
    assert_eq!(m.bytes(random_addr, 16), &RANDOM);
    assert_eq!(p.envp, Vec::<u64>::new());
    assert_eq!(st.env_start, st.env_end);
}

#[test]
fn inserted_entries_follow_linux_positions() {
    let argv: [&[u8]; 1] = [b"p"];
    let run = |auxv: &[(u64, u64)]| {
        let st = build_stack(&StackInput {
            stack_top: TOP,
            argv: &argv,
            envp: &[],
            execfn: b"p",
            platform: b"x86_64",
            random: RANDOM,
            auxv,
        })
        .unwrap();
        st.auxv.iter().map(|&(t, _)| t).collect::<Vec<_>>()
    };
    assert_eq!(run(&[]), vec![AT_RANDOM, AT_EXECFN, AT_PLATFORM]);
    assert_eq!(
        run(&[(AT_SECURE, 0), (AT_HWCAP2, 0), (AT_EXECFD, 3)]),
        vec![
            AT_SECURE,
            AT_RANDOM,
            AT_HWCAP2,
            AT_EXECFN,
            AT_PLATFORM,
            AT_EXECFD
        ]
    );
    assert_eq!(
        run(&[
            (AT_SECURE, 0),
            (AT_RSEQ_FEATURE_SIZE, 32),
            (AT_RSEQ_ALIGN, 32)
        ]),
        vec![
            AT_SECURE,
            AT_RANDOM,
            AT_EXECFN,
            AT_PLATFORM,
            AT_RSEQ_FEATURE_SIZE,
            AT_RSEQ_ALIGN
        ]
    );
    // Unknown entries stay where the caller put them.
    assert_eq!(
        run(&[(AT_HWCAP2, 0), (99, 1)]),
        vec![AT_RANDOM, AT_HWCAP2, 99, AT_EXECFN, AT_PLATFORM]
    );
}

#[test]
fn linux_auxv_order_and_options() {
    let mut v = values();
    v.sysinfo_ehdr = None;
    v.rseq = None;
    v.execfd = Some(5);
    let types: Vec<u64> = linux_auxv(&v).iter().map(|&(t, _)| t).collect();
    assert_eq!(
        types,
        vec![
            AT_MINSIGSTKSZ,
            AT_HWCAP,
            AT_PAGESZ,
            AT_CLKTCK,
            AT_PHDR,
            AT_PHENT,
            AT_PHNUM,
            AT_BASE,
            AT_FLAGS,
            AT_ENTRY,
            AT_UID,
            AT_EUID,
            AT_GID,
            AT_EGID,
            AT_SECURE,
            AT_HWCAP2,
            AT_EXECFD
        ]
    );
}

#[test]
fn auxv_order_matches_the_host_kernel() {
    // The host kernel's own auxiliary vector for this process, type by type.
    let Ok(raw) = std::fs::read("/proc/self/auxv") else {
        println!("skipped: /proc/self/auxv is not readable");
        return;
    };
    let host: Vec<u64> = raw
        .chunks_exact(16)
        .map(|c| u64::from_le_bytes(c[..8].try_into().unwrap()))
        .take_while(|&t| t != AT_NULL)
        .collect();
    let known = [
        AT_SYSINFO_EHDR,
        AT_MINSIGSTKSZ,
        AT_HWCAP,
        AT_PAGESZ,
        AT_CLKTCK,
        AT_PHDR,
        AT_PHENT,
        AT_PHNUM,
        AT_BASE,
        AT_FLAGS,
        AT_ENTRY,
        AT_UID,
        AT_EUID,
        AT_GID,
        AT_EGID,
        AT_SECURE,
        AT_RANDOM,
        AT_HWCAP2,
        AT_EXECFN,
        AT_PLATFORM,
        AT_EXECFD,
        AT_RSEQ_FEATURE_SIZE,
        AT_RSEQ_ALIGN,
    ];
    if let Some(t) = host.iter().find(|t| !known.contains(t)) {
        println!("skipped: the host kernel emits auxiliary type {t}, unknown here");
        return;
    }
    let mut v = values();
    v.sysinfo_ehdr = host.contains(&AT_SYSINFO_EHDR).then_some(1);
    v.execfd = host.contains(&AT_EXECFD).then_some(3);
    v.rseq = host.contains(&AT_RSEQ_FEATURE_SIZE).then_some((32, 32));
    let mut auxv = linux_auxv(&v);
    if !host.contains(&AT_MINSIGSTKSZ) {
        auxv.retain(|&(t, _)| t != AT_MINSIGSTKSZ); // kernels before 5.14
    }
    let argv: [&[u8]; 1] = [b"p"];
    let st = build_stack(&StackInput {
        stack_top: TOP,
        argv: &argv,
        envp: &[],
        execfn: b"p",
        platform: if host.contains(&AT_PLATFORM) {
            b"x86_64"
        } else {
            b""
        },
        random: RANDOM,
        auxv: &auxv,
    })
    .unwrap();
    let ours: Vec<u64> = st.auxv.iter().map(|&(t, _)| t).collect();
    assert_eq!(ours, host);
}

#[test]
fn for_plan_fills_the_program_values() {
    let plan = parse(&common::static_pie().bytes()).unwrap();
    let v = AuxvValues::for_plan(&plan, 0x5555_0000_0000, 0);
    assert_eq!(v.phdr, 0x5555_0000_0040);
    assert_eq!(v.entry, 0x5555_0000_1020);
    assert_eq!(
        (v.phent, v.phnum, v.pagesz, v.clktck, v.base),
        (56, 5, 4096, 100, 0)
    );
}

// ---------------------------------------------------------------- errors

fn stack_with(argv: &[&[u8]], envp: &[&[u8]], execfn: &[u8]) -> Result<InitialStack, StackError> {
    build_stack(&StackInput {
        stack_top: TOP,
        argv,
        envp,
        execfn,
        platform: b"x86_64",
        random: RANDOM,
        auxv: &[],
    })
}

#[test]
fn string_length_limit() {
    let ok = vec![b'a'; MAX_ARG_STRLEN - 1];
    let long = vec![b'a'; MAX_ARG_STRLEN];
    assert!(stack_with(&[&ok], &[], b"p").is_ok());
    let e = stack_with(&[b"p", &long], &[], b"p").unwrap_err();
    assert_eq!(
        e,
        StackError::StringTooLong {
            which: StringKind::Argv(1),
            len: MAX_ARG_STRLEN
        }
    );
    assert!(e.is_e2big());
    assert_eq!(
        stack_with(&[b"p"], &[&long], b"p").unwrap_err(),
        StackError::StringTooLong {
            which: StringKind::Envp(0),
            len: MAX_ARG_STRLEN
        }
    );
    assert_eq!(
        stack_with(&[b"p"], &[], &long).unwrap_err(),
        StackError::StringTooLong {
            which: StringKind::Execfn,
            len: MAX_ARG_STRLEN
        }
    );
}

#[test]
fn total_size_limit() {
    // 16 argv strings + execfn "" exactly fill ARG_SPACE_LIMIT with their pointers.
    let full = vec![b'a'; MAX_ARG_STRLEN - 1];
    let rest_len = ARG_SPACE_LIMIT - 15 * MAX_ARG_STRLEN - 16 * 8 - 1 - 1;
    let rest = vec![b'b'; rest_len];
    let mut argv: Vec<&[u8]> = vec![&full; 15];
    argv.push(&rest);
    let st = stack_with(&argv, &[], b"").unwrap();
    assert_eq!(st.sp % 16, 0);
    let m = Mem { st: &st, top: TOP };
    assert_eq!(walk(&m).argv.len(), 16);

    let over = vec![b'b'; rest_len + 1];
    argv[15] = &over;
    let e = stack_with(&argv, &[], b"").unwrap_err();
    assert_eq!(
        e,
        StackError::ArgsTooLarge {
            needed: ARG_SPACE_LIMIT + 1
        }
    );
    assert!(e.is_e2big());
    // Pointers alone over the limit (an environment of 262144 empty strings).
    let envp: Vec<&[u8]> = vec![b""; ARG_SPACE_LIMIT / 8];
    assert!(matches!(
        stack_with(&[b"p"], &envp, b"p"),
        Err(StackError::ArgsTooLarge { .. })
    ));
}

#[test]
fn nul_inside_a_string() {
    assert_eq!(
        stack_with(&[b"p", b"a\0b"], &[], b"p").unwrap_err(),
        StackError::StringHasNul(StringKind::Argv(1))
    );
    assert_eq!(
        stack_with(&[b"p"], &[b"A=\0"], b"p").unwrap_err(),
        StackError::StringHasNul(StringKind::Envp(0))
    );
    assert_eq!(
        stack_with(&[b"p"], &[], b"\0").unwrap_err(),
        StackError::StringHasNul(StringKind::Execfn)
    );
}

#[test]
fn reserved_aux_entries_are_refused() {
    for t in [AT_NULL, AT_RANDOM, AT_EXECFN, AT_PLATFORM] {
        let e = build_stack(&StackInput {
            stack_top: TOP,
            argv: &[b"p"],
            envp: &[],
            execfn: b"p",
            platform: b"x86_64",
            random: RANDOM,
            auxv: &[(AT_PAGESZ, 4096), (t, 1)],
        })
        .unwrap_err();
        assert_eq!(e, StackError::ReservedAuxEntry(t));
        assert!(!e.is_e2big());
    }
}

#[test]
fn no_room_below_stack_top() {
    let e = build_stack(&StackInput {
        stack_top: 256,
        argv: &[b"program"],
        envp: &[b"A=1"],
        execfn: b"program",
        platform: b"x86_64",
        random: RANDOM,
        auxv: &linux_auxv(&values()),
    })
    .unwrap_err();
    assert!(
        matches!(e, StackError::NoRoom { stack_top: 256, .. }),
        "{e:?}"
    );
}

#[test]
fn messages() {
    assert_eq!(
        StackError::StringTooLong {
            which: StringKind::Argv(2),
            len: 200_000
        }
        .to_string(),
        "argument list too long: argv[2] is 200000 bytes, the limit is 131071 bytes"
    );
    assert_eq!(
        StackError::ArgsTooLarge { needed: 3_000_000 }.to_string(),
        "argument list too long: arguments and environment need 3000000 bytes, the limit is \
         2097152 bytes"
    );
    assert_eq!(
        StackError::StringHasNul(StringKind::Envp(1)).to_string(),
        "envp[1] contains a NUL byte"
    );
}

// ---------------------------------------------------------------- property test

#[test]
fn random_inputs_keep_every_invariant() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..500 {
        let strings: Vec<Vec<u8>> = (0..rng.below(20))
            .map(|_| {
                (0..rng.below(40))
                    .map(|_| 1 + rng.below(255) as u8)
                    .collect()
            })
            .collect();
        let split = rng.below(strings.len() + 1);
        let argv: Vec<&[u8]> = strings[..split].iter().map(|s| s.as_slice()).collect();
        let envp: Vec<&[u8]> = strings[split..].iter().map(|s| s.as_slice()).collect();
        let execfn: Vec<u8> = (0..rng.below(30))
            .map(|_| b'a' + rng.below(26) as u8)
            .collect();
        let platform: &[u8] = if rng.below(4) == 0 { b"" } else { b"x86_64" };
        let mut random = [0u8; 16];
        random.iter_mut().for_each(|b| *b = rng.next() as u8);
        let mut v = values();
        v.sysinfo_ehdr = (rng.below(2) == 0).then_some(rng.next());
        v.rseq = (rng.below(2) == 0).then_some((32, 32));
        let auxv = linux_auxv(&v);
        // Any top, not only page-aligned ones.
        let top = 0x7fff_ffff_f000 - rng.below(64) as u64;
        let st = build_stack(&StackInput {
            stack_top: top,
            argv: &argv,
            envp: &envp,
            execfn: &execfn,
            platform,
            random,
            auxv: &auxv,
        })
        .unwrap_or_else(|e| panic!("round {round}: {e}"));
        let m = Mem { st: &st, top };
        assert_eq!(st.sp % 16, 0, "round {round}");
        assert_eq!(m.bytes(top - 8, 8), &[0; 8]);
        let p = walk(&m);
        let want_argv: Vec<&[u8]> = if argv.is_empty() {
            vec![b""]
        } else {
            argv.clone()
        };
        assert_eq!(p.argv.len(), want_argv.len());
        for (a, s) in p.argv.iter().zip(&want_argv) {
            assert_eq!(m.cstr(*a), *s);
        }
        assert_eq!(p.envp.len(), envp.len());
        for (a, s) in p.envp.iter().zip(&envp) {
            assert_eq!(m.cstr(*a), *s);
        }
        let aux = |t| p.auxv.iter().find(|&&(k, _)| k == t).map(|&(_, v)| v);
        assert_eq!(m.bytes(aux(AT_RANDOM).unwrap(), 16), &random);
        assert_eq!(m.cstr(aux(AT_EXECFN).unwrap()), execfn.as_slice());
        assert_eq!(aux(AT_EXECFN).unwrap() + execfn.len() as u64 + 1 + 8, top);
        match aux(AT_PLATFORM) {
            Some(a) => assert_eq!(m.cstr(a), platform),
            None => assert!(platform.is_empty()),
        }
        assert_eq!(p.auxv, st.auxv);
    }
}
