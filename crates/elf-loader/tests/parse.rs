//! `parse` on golden images: the plans they give, and one corrupted field per validation
//! rule with the exact error it must produce.

mod common;

use common::*;
use elf_loader::{parse, ElfError, ElfKind, Flags, LoadPlan, Segment};

fn plan(img: &Image) -> LoadPlan {
    match parse(&img.bytes()) {
        Ok(plan) => plan,
        Err(e) => panic!("golden image rejected: {e}"),
    }
}

fn err(img: &Image) -> ElfError {
    match parse(&img.bytes()) {
        Ok(plan) => panic!("corrupt image accepted: {plan:?}"),
        Err(e) => e,
    }
}

fn err_bytes(bytes: &[u8]) -> ElfError {
    match parse(bytes) {
        Ok(plan) => panic!("corrupt image accepted: {plan:?}"),
        Err(e) => e,
    }
}

const R: Flags = Flags {
    read: true,
    write: false,
    exec: false,
};
const RX: Flags = Flags {
    read: true,
    write: false,
    exec: true,
};
const RW: Flags = Flags {
    read: true,
    write: true,
    exec: false,
};

// ---------------------------------------------------------------- golden images

#[test]
fn static_pie_plan() {
    let p = plan(&static_pie());
    assert_eq!(p.kind, ElfKind::Dyn);
    assert_eq!(p.entry, 0x1020);
    assert_eq!(
        p.segments,
        vec![
            Segment {
                vaddr: 0,
                memsz: 0x400,
                offset: 0,
                filesz: 0x400,
                flags: R,
                align: 0x1000
            },
            Segment {
                vaddr: 0x1000,
                memsz: 0x200,
                offset: 0x1000,
                filesz: 0x200,
                flags: RX,
                align: 0x1000
            },
            Segment {
                vaddr: 0x3010,
                memsz: 0x1000,
                offset: 0x2010,
                filesz: 0x100,
                flags: RW,
                align: 0x1000
            },
        ]
    );
    // No PT_PHDR: the first PT_LOAD (offset 0, vaddr 0) covers e_phoff = 64.
    assert_eq!(p.phdr_vaddr, Some(64));
    assert_eq!(p.phnum, 5);
    assert_eq!(p.phentsize, 56);
    assert_eq!(p.interp, None);
    assert!(!p.stack_exec);
    assert_eq!(
        p.tls,
        Some(Segment {
            vaddr: 0x3010,
            memsz: 0x40,
            offset: 0x2010,
            filesz: 0x10,
            flags: R,
            align: 8
        })
    );
    assert_eq!(p.min_vaddr, 0);
    assert_eq!(p.max_vaddr, 0x5000); // 0x3010 + 0x1000 rounded up
    assert_eq!(p.span(), 0x5000);
    let bytes = static_pie().bytes();
    assert_eq!(
        p.segments[1].file_bytes(&bytes).map(|b| &b[0x20..0x22]),
        Some(&[0x0f, 0x05][..])
    );
}

#[test]
fn exec_plan() {
    let p = plan(&exec());
    assert_eq!(p.kind, ElfKind::Exec);
    assert_eq!(p.entry, 0x40_0100);
    assert_eq!(p.segments.len(), 2);
    assert_eq!(p.segments[0].flags, RX);
    assert_eq!(p.segments[1].vaddr, 0x40_1000);
    assert_eq!(p.segments[1].memsz, 0x3000);
    assert_eq!(p.phdr_vaddr, Some(0x40_0040));
    assert_eq!(p.interp, None);
    assert_eq!(p.tls, None);
    // No PT_GNU_STACK: Linux >= 5.8 keeps a 64-bit program's stack non-executable.
    assert!(!p.stack_exec);
    assert_eq!((p.min_vaddr, p.max_vaddr), (0x40_0000, 0x40_4000));
}

#[test]
fn dyn_interp_plan() {
    let p = plan(&dyn_interp());
    assert_eq!(p.kind, ElfKind::Dyn);
    assert_eq!(p.interp.as_deref(), Some("/lib64/ld-linux-x86-64.so.2"));
    assert_eq!(p.phdr_vaddr, Some(64)); // from PT_PHDR
    assert_eq!(p.phnum, 6);
    assert!(p.stack_exec);
    assert_eq!(p.segments.len(), 2);
    assert_eq!((p.min_vaddr, p.max_vaddr), (0, 0x2000));
}

#[test]
fn pt_phdr_wins_over_covering_load() {
    let mut img = dyn_interp();
    img.phdrs[0].vaddr = 0x1040; // inside the RX segment's memory, unlike the file layout
    assert_eq!(plan(&img).phdr_vaddr, Some(0x1040));
}

#[test]
fn phdr_vaddr_none_when_nothing_covers_the_table() {
    let mut img = exec();
    img.phoff = 0x1000 + 0x40; // inside segment 1's file range: covered
    img.len = 0x1100;
    assert_eq!(plan(&img).phdr_vaddr, Some(0x40_1040));
    let mut img = static_pie();
    img.phdrs[0].offset = 0x1000; // segment 0 moves away from the header
    img.phdrs[0].vaddr = 0;
    img.phdrs[0].filesz = 0;
    assert_eq!(plan(&img).phdr_vaddr, None);
}

#[test]
fn gnu_stack_last_one_wins() {
    let mut img = static_pie();
    img.phdrs.push(Ph::gnu_stack(PF_R | PF_W | PF_X));
    assert!(plan(&img).stack_exec);
    img.phdrs.push(Ph::gnu_stack(PF_R | PF_W));
    assert!(!plan(&img).stack_exec);
}

#[test]
fn first_interp_and_tls_are_used() {
    let mut img = dyn_interp();
    img.phdrs[4] = Ph::other(PT_INTERP, PF_R, 0x300, 0x300, 4, 1);
    img.data.push((0x300, b"/x\x01\x01".to_vec())); // invalid, but ignored: not the first
    assert_eq!(
        plan(&img).interp.as_deref(),
        Some("/lib64/ld-linux-x86-64.so.2")
    );

    let mut img = static_pie();
    img.phdrs[4] = Ph::other(PT_TLS, PF_R, 0, 0, 8, 3); // second PT_TLS is not looked at
    assert_eq!(plan(&img).tls.map(|t| t.memsz), Some(0x40));
}

#[test]
fn adjacent_segments_sharing_a_page_are_fine() {
    let mut img = static_pie();
    // Segment 2 starts right where segment 1 ends, in the same page.
    img.phdrs[2].vaddr = 0x1200;
    img.phdrs[2].offset = 0x1200;
    img.phdrs[2].filesz = 0x100;
    img.phdrs[3].vaddr = 0x1200;
    img.phdrs[3].offset = 0x1200;
    let p = plan(&img);
    assert_eq!(p.max_vaddr, 0x3000); // 0x1200 + 0x1000
}

#[test]
fn zero_filesz_segment_needs_no_file_range_nor_congruence() {
    let mut img = exec();
    img.phdrs[1].filesz = 0;
    img.phdrs[1].offset = 0xdead_beef; // unused: nothing comes from the file
    let p = plan(&img);
    assert_eq!(p.segments[1].filesz, 0);
}

#[test]
fn zero_memsz_segment_does_not_overlap() {
    let mut img = exec();
    img.phdrs.insert(1, Ph::load(PF_R, 0, 0x40_0800, 0, 0));
    assert_eq!(plan(&img).segments.len(), 3);
}

#[test]
fn alignment_zero_and_one_mean_none() {
    for align in [0, 1, 2, 0x20_0000] {
        let mut img = exec();
        img.phdrs[0].align = align;
        assert!(parse(&img.bytes()).is_ok(), "align {align:#x}");
    }
}

#[test]
fn max_program_headers() {
    // 73 * 56 = 4088 <= 4096 bytes: accepted; 74 is over Linux's limit.
    let mut img = exec();
    img.len = 0x2000;
    img.phdrs[1].offset = 0x1000;
    while img.phdrs.len() < 73 {
        img.phdrs.push(Ph::other(PT_NULL, 0, 0, 0, 0, 0));
    }
    assert_eq!(plan(&img).phnum, 73);
    img.phdrs.push(Ph::other(PT_NULL, 0, 0, 0, 0, 0));
    assert_eq!(err(&img), ElfError::TooManyProgramHeaders(74));
}

#[test]
fn segment_at_the_user_limit_is_fine() {
    let mut img = exec();
    img.phdrs[1].vaddr = 0x7fff_ffff_d000;
    img.phdrs[1].memsz = 0x3000; // ends exactly at 0x8000_0000_0000
    let p = plan(&img);
    assert_eq!(p.max_vaddr, 0x8000_0000_0000);
}

// ---------------------------------------------------------------- header corruptions

fn with_byte(img: &Image, at: usize, value: u8) -> Vec<u8> {
    let mut b = img.bytes();
    b[at] = value;
    b
}

#[test]
fn bad_magic() {
    for at in 0..4 {
        assert_eq!(
            err_bytes(&with_byte(&static_pie(), at, b'X')),
            ElfError::BadMagic
        );
    }
    assert_eq!(err_bytes(b""), ElfError::BadMagic);
    assert_eq!(err_bytes(b"#!/bin/sh\necho hi\n"), ElfError::BadMagic);
    assert_eq!(err_bytes(b"MZ"), ElfError::BadMagic);
}

#[test]
fn class() {
    let img = static_pie();
    assert_eq!(err_bytes(&with_byte(&img, 4, 1)), ElfError::Class32);
    assert_eq!(err_bytes(&with_byte(&img, 4, 0)), ElfError::BadClass(0));
    assert_eq!(err_bytes(&with_byte(&img, 4, 3)), ElfError::BadClass(3));
    // A 52-byte ELF32 header is reported as 32-bit, not as truncated.
    let mut short = with_byte(&img, 4, 1);
    short.truncate(52);
    assert_eq!(err_bytes(&short), ElfError::Class32);
}

#[test]
fn data_encoding() {
    let img = static_pie();
    assert_eq!(err_bytes(&with_byte(&img, 5, 2)), ElfError::BigEndian);
    assert_eq!(
        err_bytes(&with_byte(&img, 5, 0)),
        ElfError::BadDataEncoding(0)
    );
    assert_eq!(
        err_bytes(&with_byte(&img, 5, 9)),
        ElfError::BadDataEncoding(9)
    );
}

#[test]
fn truncated_header() {
    let bytes = static_pie().bytes();
    for len in [1, 2, 4, 5, 6, 16, 63] {
        assert_eq!(
            err_bytes(&bytes[..len]),
            ElfError::TruncatedHeader { len },
            "len {len}"
        );
    }
}

#[test]
fn versions() {
    let img = static_pie();
    assert_eq!(
        err_bytes(&with_byte(&img, 6, 0)),
        ElfError::BadIdentVersion(0)
    );
    assert_eq!(
        err_bytes(&with_byte(&img, 6, 2)),
        ElfError::BadIdentVersion(2)
    );
    let mut img = static_pie();
    img.version = 0;
    assert_eq!(err(&img), ElfError::BadVersion(0));
    img.version = 0x100;
    assert_eq!(err(&img), ElfError::BadVersion(0x100));
}

#[test]
fn machine() {
    for m in [0u16, 3, 8, 21, 22, 40, 183, 243, 1234] {
        let mut img = static_pie();
        img.machine = m;
        assert_eq!(err(&img), ElfError::WrongMachine(m));
    }
}

#[test]
fn elf_type() {
    let mut img = static_pie();
    img.e_type = 1;
    assert_eq!(err(&img), ElfError::Relocatable);
    img.e_type = 4;
    assert_eq!(err(&img), ElfError::CoreDump);
    img.e_type = 0;
    assert_eq!(err(&img), ElfError::BadType(0));
    img.e_type = 0xfe00;
    assert_eq!(err(&img), ElfError::BadType(0xfe00));
}

#[test]
fn phentsize() {
    let mut img = static_pie();
    img.phentsize = 32;
    assert_eq!(err(&img), ElfError::BadPhentsize(32));
    img.phentsize = 64;
    assert_eq!(err(&img), ElfError::BadPhentsize(64));
}

#[test]
fn phnum() {
    let mut img = static_pie();
    img.phnum = Some(0);
    assert_eq!(err(&img), ElfError::NoProgramHeaders);
    img.phnum = Some(0xffff); // PN_XNUM
    assert_eq!(err(&img), ElfError::TooManyProgramHeaders(0xffff));
}

#[test]
fn program_headers_out_of_file() {
    let mut img = static_pie();
    img.phoff = img.len as u64 - 100;
    assert_eq!(
        err(&img),
        ElfError::ProgramHeadersOutOfFile {
            phoff: img.len as u64 - 100,
            size: 5 * 56,
            len: img.len
        }
    );
    img.phoff = u64::MAX - 8; // phoff + size overflows
    assert_eq!(
        err(&img),
        ElfError::ProgramHeadersOutOfFile {
            phoff: u64::MAX - 8,
            size: 5 * 56,
            len: img.len
        }
    );
    // The table cut off by the end of the file.
    let bytes = static_pie().bytes();
    assert_eq!(
        err_bytes(&bytes[..64 + 5 * 56 - 1]),
        ElfError::ProgramHeadersOutOfFile {
            phoff: 64,
            size: 5 * 56,
            len: 64 + 5 * 56 - 1
        }
    );
}

// ---------------------------------------------------------------- segment corruptions

#[test]
fn no_load_segment() {
    let mut img = static_pie();
    for ph in &mut img.phdrs {
        if ph.p_type == PT_LOAD {
            ph.p_type = PT_NULL;
        }
    }
    assert_eq!(err(&img), ElfError::NoLoadSegment);
}

#[test]
fn segment_out_of_file() {
    let mut img = static_pie();
    img.phdrs[2].filesz = 0x101; // 0x2010 + 0x101 > 0x2110
    assert_eq!(
        err(&img),
        ElfError::SegmentOutOfFile {
            index: 2,
            offset: 0x2010,
            filesz: 0x101,
            len: 0x2110
        }
    );
    let mut img = static_pie();
    img.phdrs[1].offset = u64::MAX - 0xff; // offset + filesz overflows (keeps page offset)
    img.phdrs[1].vaddr = 0x1f00;
    assert_eq!(
        err(&img),
        ElfError::SegmentOutOfFile {
            index: 1,
            offset: u64::MAX - 0xff,
            filesz: 0x200,
            len: 0x2110
        }
    );
    // The file cut one byte short of the last segment.
    let bytes = static_pie().bytes();
    assert_eq!(
        err_bytes(&bytes[..0x210f]),
        ElfError::SegmentOutOfFile {
            index: 2,
            offset: 0x2010,
            filesz: 0x100,
            len: 0x210f
        }
    );
}

#[test]
fn tls_out_of_file() {
    let mut img = static_pie();
    img.phdrs[3].offset = 0x2200;
    assert_eq!(
        err(&img),
        ElfError::SegmentOutOfFile {
            index: 3,
            offset: 0x2200,
            filesz: 0x10,
            len: 0x2110
        }
    );
}

#[test]
fn filesz_exceeds_memsz() {
    let mut img = static_pie();
    img.phdrs[1].memsz = 0x1ff;
    assert_eq!(
        err(&img),
        ElfError::FileSizeExceedsMemSize {
            index: 1,
            filesz: 0x200,
            memsz: 0x1ff
        }
    );
    let mut img = static_pie();
    img.phdrs[3].memsz = 0x8; // PT_TLS
    assert_eq!(
        err(&img),
        ElfError::FileSizeExceedsMemSize {
            index: 3,
            filesz: 0x10,
            memsz: 0x8
        }
    );
}

#[test]
fn beyond_user_space() {
    let mut img = exec();
    img.phdrs[1].vaddr = 0x7fff_ffff_f000;
    img.phdrs[1].memsz = 0x1001;
    assert_eq!(
        err(&img),
        ElfError::SegmentBeyondUserSpace {
            index: 1,
            vaddr: 0x7fff_ffff_f000,
            memsz: 0x1001
        }
    );
    let mut img = exec();
    img.phdrs[1].vaddr = u64::MAX - 0xfff; // vaddr + memsz overflows
    assert_eq!(
        err(&img),
        ElfError::SegmentBeyondUserSpace {
            index: 1,
            vaddr: u64::MAX - 0xfff,
            memsz: 0x3000
        }
    );
    let mut img = exec();
    img.phdrs[1].vaddr = 0xffff_8000_0000_1000; // a kernel address
    img.phdrs[1].memsz = 0x80;
    assert_eq!(
        err(&img),
        ElfError::SegmentBeyondUserSpace {
            index: 1,
            vaddr: 0xffff_8000_0000_1000,
            memsz: 0x80
        }
    );
}

#[test]
fn bad_alignment() {
    let mut img = static_pie();
    img.phdrs[1].align = 0x1800;
    assert_eq!(
        err(&img),
        ElfError::BadAlignment {
            index: 1,
            align: 0x1800
        }
    );
    let mut img = static_pie();
    img.phdrs[3].align = 12; // PT_TLS
    assert_eq!(
        err(&img),
        ElfError::BadAlignment {
            index: 3,
            align: 12
        }
    );
}

#[test]
fn misaligned_segment() {
    let mut img = static_pie();
    img.phdrs[2].vaddr = 0x3020; // offset 0x2010: page offsets 0x020 vs 0x010
    img.phdrs[3].vaddr = 0x3020;
    assert_eq!(
        err(&img),
        ElfError::MisalignedSegment {
            index: 2,
            vaddr: 0x3020,
            offset: 0x2010
        }
    );
    // Congruent modulo the page but not modulo p_align = 2 MiB: Linux maps it, so do we.
    let mut img = static_pie();
    img.phdrs[2].align = 0x20_0000;
    assert!(parse(&img.bytes()).is_ok());
}

#[test]
fn overlapping_segments() {
    let mut img = static_pie();
    img.phdrs[2].vaddr = 0x1010; // inside segment 1's [0x1000, 0x1200)
    img.phdrs[3].vaddr = 0x1010;
    assert_eq!(err(&img), ElfError::SegmentsOverlap { index: 2, other: 1 });
    // Overlap by a single byte.
    let mut img = static_pie();
    img.phdrs[2].vaddr = 0x11ff;
    img.phdrs[2].offset = 0x1ff;
    img.phdrs[2].filesz = 0x10;
    assert_eq!(err(&img), ElfError::SegmentsOverlap { index: 2, other: 1 });
    // Same start address.
    let mut img = exec();
    img.phdrs[1].vaddr = 0x40_0000;
    img.phdrs[1].offset = 0x1000;
    assert_eq!(err(&img), ElfError::SegmentsOverlap { index: 1, other: 0 });
}

#[test]
fn overlap_reports_the_segment_that_reaches_furthest() {
    let mut img = exec();
    img.phdrs[0].memsz = 0x10_0000; // segment 0 now covers segment 1 entirely
    assert_eq!(err(&img), ElfError::SegmentsOverlap { index: 1, other: 0 });
}

#[test]
fn segments_out_of_order() {
    let mut img = static_pie();
    img.phdrs.swap(1, 2);
    assert_eq!(
        err(&img),
        ElfError::SegmentsOutOfOrder {
            index: 2,
            previous: 1
        }
    );
}

// ---------------------------------------------------------------- PT_INTERP corruptions

#[test]
fn interp_out_of_file() {
    let mut img = dyn_interp();
    img.phdrs[1].offset = 0x10f0; // 0x10f0 + 28 > 0x1100
    assert_eq!(
        err(&img),
        ElfError::InterpOutOfFile {
            offset: 0x10f0,
            filesz: 28,
            len: 0x1100
        }
    );
    img.phdrs[1].offset = u64::MAX - 4;
    assert_eq!(
        err(&img),
        ElfError::InterpOutOfFile {
            offset: u64::MAX - 4,
            filesz: 28,
            len: 0x1100
        }
    );
}

#[test]
fn interp_lengths() {
    let mut img = dyn_interp();
    img.phdrs[1].filesz = 4097;
    assert_eq!(err(&img), ElfError::InterpTooLong(4097));
    img.phdrs[1].filesz = 1;
    assert_eq!(err(&img), ElfError::InterpEmpty);
    img.phdrs[1].filesz = 0;
    assert_eq!(err(&img), ElfError::InterpEmpty);
    // 4096 bytes with the NUL is the longest accepted.
    let mut img = dyn_interp();
    img.len = 0x3000;
    img.phdrs[1].offset = 0x2000;
    img.phdrs[1].filesz = 4096;
    let mut path = vec![b'a'; 4095];
    path[0] = b'/';
    path.push(0);
    img.data.push((0x2000, path));
    assert_eq!(plan(&img).interp.map(|s| s.len()), Some(4095));
}

#[test]
fn interp_not_terminated() {
    let mut img = dyn_interp();
    img.phdrs[1].filesz -= 1; // drop the NUL
    assert_eq!(err(&img), ElfError::InterpNotTerminated);
}

#[test]
fn interp_inner_nul() {
    let mut img = dyn_interp();
    img.data.push((0x205, vec![0]));
    assert_eq!(err(&img), ElfError::InterpInnerNul);
}

#[test]
fn interp_not_utf8() {
    let mut img = dyn_interp();
    img.data.push((0x205, vec![0xff]));
    assert_eq!(err(&img), ElfError::InterpNotUtf8);
}

// ---------------------------------------------------------------- entry point

#[test]
fn entry_not_executable() {
    for entry in [0x3010, 0x1200, 0x0fff, 0, u64::MAX] {
        let mut img = static_pie();
        img.entry = entry;
        assert_eq!(err(&img), ElfError::EntryNotExecutable(entry), "{entry:#x}");
    }
    // Last byte of the executable segment is fine.
    let mut img = static_pie();
    img.entry = 0x11ff;
    assert!(parse(&img.bytes()).is_ok());
    // An executable segment made writable-only loses its X: entry rejected.
    let mut img = exec();
    img.phdrs[0].flags = PF_R;
    assert_eq!(err(&img), ElfError::EntryNotExecutable(0x40_0100));
}

// ---------------------------------------------------------------- messages

#[test]
fn messages() {
    let cases: Vec<(ElfError, &str)> = vec![
        (ElfError::BadMagic, "not an ELF file (bad magic)"),
        (
            ElfError::Class32,
            "32-bit ELF (ELFCLASS32) is not supported: nutshell runs x86_64 programs",
        ),
        (ElfError::BigEndian, "big-endian ELF is not supported"),
        (
            ElfError::WrongMachine(183),
            "ELF for machine EM_AARCH64 (183), not x86_64",
        ),
        (
            ElfError::WrongMachine(3),
            "ELF for machine EM_386 (3), not x86_64",
        ),
        (
            ElfError::WrongMachine(40),
            "ELF for machine EM_ARM (40), not x86_64",
        ),
        (
            ElfError::WrongMachine(243),
            "ELF for machine EM_RISCV (243), not x86_64",
        ),
        (
            ElfError::WrongMachine(21),
            "ELF for machine EM_PPC64 (21), not x86_64",
        ),
        (
            ElfError::WrongMachine(22),
            "ELF for machine EM_S390 (22), not x86_64",
        ),
        (
            ElfError::WrongMachine(8),
            "ELF for machine EM_MIPS (8), not x86_64",
        ),
        (
            ElfError::WrongMachine(4321),
            "ELF for machine 4321, not x86_64",
        ),
        (
            ElfError::TruncatedHeader { len: 10 },
            "ELF file is truncated: header needs 64 bytes, file has 10",
        ),
        (
            ElfError::Relocatable,
            "relocatable object (ET_REL) is not a program: link it into an executable first",
        ),
        (ElfError::CoreDump, "core dump (ET_CORE) is not a program"),
        (
            ElfError::EntryNotExecutable(0x1234),
            "entry point 0x1234 is not inside an executable PT_LOAD segment",
        ),
        (
            ElfError::SegmentsOverlap { index: 3, other: 2 },
            "segment 3 overlaps segment 2 in memory",
        ),
    ];
    for (e, msg) in cases {
        assert_eq!(e.to_string(), msg);
    }
}

#[test]
fn every_error_has_a_distinct_message() {
    let all = [
        ElfError::BadMagic,
        ElfError::Class32,
        ElfError::BadClass(3),
        ElfError::BigEndian,
        ElfError::BadDataEncoding(3),
        ElfError::TruncatedHeader { len: 3 },
        ElfError::BadIdentVersion(3),
        ElfError::BadVersion(3),
        ElfError::WrongMachine(3),
        ElfError::Relocatable,
        ElfError::CoreDump,
        ElfError::BadType(3),
        ElfError::BadPhentsize(3),
        ElfError::NoProgramHeaders,
        ElfError::TooManyProgramHeaders(3),
        ElfError::ProgramHeadersOutOfFile {
            phoff: 3,
            size: 3,
            len: 3,
        },
        ElfError::NoLoadSegment,
        ElfError::SegmentOutOfFile {
            index: 3,
            offset: 3,
            filesz: 3,
            len: 3,
        },
        ElfError::FileSizeExceedsMemSize {
            index: 3,
            filesz: 3,
            memsz: 3,
        },
        ElfError::SegmentBeyondUserSpace {
            index: 3,
            vaddr: 3,
            memsz: 3,
        },
        ElfError::BadAlignment { index: 3, align: 3 },
        ElfError::MisalignedSegment {
            index: 3,
            vaddr: 3,
            offset: 3,
        },
        ElfError::SegmentsOverlap { index: 3, other: 3 },
        ElfError::SegmentsOutOfOrder {
            index: 3,
            previous: 3,
        },
        ElfError::InterpOutOfFile {
            offset: 3,
            filesz: 3,
            len: 3,
        },
        ElfError::InterpTooLong(3),
        ElfError::InterpEmpty,
        ElfError::InterpNotTerminated,
        ElfError::InterpInnerNul,
        ElfError::InterpNotUtf8,
        ElfError::EntryNotExecutable(3),
    ];
    let mut messages: Vec<String> = all.iter().map(|e| e.to_string()).collect();
    for m in &messages {
        assert!(!m.is_empty() && !m.ends_with('.'), "{m:?}");
    }
    messages.sort();
    messages.dedup();
    assert_eq!(messages.len(), all.len());
}
