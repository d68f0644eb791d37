//! ELF64 parsing and validation: from the bytes of a program to a [`LoadPlan`].
//!
//! The checks mirror what Linux's `load_elf_binary` and `load_elf_phdrs` reject
//! ([fs/binfmt_elf.c](https://elixir.bootlin.com/linux/v6.8/source/fs/binfmt_elf.c)), and add a
//! few that Linux leaves to a later crash (entry point outside executable code, overlapping or
//! unsorted `PT_LOAD`s, bad `e_version`), so that the user gets one precise message per problem.
//!
//! Where the rules differ from Linux, the item documenting the rule says so.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Page size used for the mapping rules (`ELF_MIN_ALIGN` on x86_64).
pub const PAGE_SIZE: u64 = 4096;

/// First address above user space: every `PT_LOAD`/`PT_TLS` must end at or below it.
///
/// Linux's `TASK_SIZE` on x86_64 with 4-level paging is one page lower (`0x7fff_ffff_f000`), a
/// guard page the kernel keeps for itself; nutshell's kernel enforces its own layout after
/// adding the load bias.
pub const USER_ADDR_LIMIT: u64 = 0x0000_8000_0000_0000;

/// Longest `PT_INTERP` accepted, in bytes including the terminating NUL (`PATH_MAX`).
pub const MAX_INTERP_LEN: u64 = 4096;

/// Largest program header table accepted, in bytes.
///
/// Linux's `load_elf_phdrs` rejects `size == 0 || size > 65536 || size > ELF_MIN_ALIGN`; on
/// x86_64 `ELF_MIN_ALIGN` is the 4096-byte page, so at most 73 program headers are accepted.
pub const MAX_PHDR_TABLE_SIZE: u64 = 4096;

const EHDR_SIZE: usize = 64;
const PHDR_SIZE: u16 = 56;

const ELFCLASS32: u8 = 1;
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const ELFDATA2MSB: u8 = 2;
const EV_CURRENT: u8 = 1;

const ET_NONE: u16 = 0;
const ET_REL: u16 = 1;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const ET_CORE: u16 = 4;

const EM_X86_64: u16 = 62;

const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PT_PHDR: u32 = 6;
const PT_TLS: u32 = 7;
const PT_GNU_STACK: u32 = 0x6474_e551;

const PF_X: u32 = 1;
const PF_W: u32 = 2;
const PF_R: u32 = 4;

/// The kind of program, from `e_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElfKind {
    /// `ET_EXEC`: linked at fixed addresses; segments are mapped at their `p_vaddr`.
    Exec,
    /// `ET_DYN`: position independent (PIE, static-PIE, or an interpreter such as `ld.so`);
    /// the kernel chooses a load bias and adds it to every address in the plan.
    Dyn,
}

/// Access rights of a segment, from `p_flags` (`PF_R`, `PF_W`, `PF_X`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags {
    /// `PF_R`: readable.
    pub read: bool,
    /// `PF_W`: writable.
    pub write: bool,
    /// `PF_X`: executable.
    pub exec: bool,
}

impl Flags {
    fn from_p_flags(p_flags: u32) -> Self {
        Flags {
            read: p_flags & PF_R != 0,
            write: p_flags & PF_W != 0,
            exec: p_flags & PF_X != 0,
        }
    }
}

/// One segment of the program: `memsz` bytes at `vaddr`, of which the first `filesz` come
/// from the file at `offset` and the rest are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// `p_vaddr`, without load bias.
    pub vaddr: u64,
    /// `p_memsz`: size in memory (`>= filesz`).
    pub memsz: u64,
    /// `p_offset`: where the initialised bytes start in the file.
    pub offset: u64,
    /// `p_filesz`: how many bytes come from the file; `offset + filesz <= file length`.
    pub filesz: u64,
    /// Access rights.
    pub flags: Flags,
    /// `p_align`: 0 or 1 (no constraint) or a power of two.
    pub align: u64,
}

impl Segment {
    /// One past the last byte in memory (`vaddr + memsz`, which validation keeps from
    /// overflowing).
    pub fn end(&self) -> u64 {
        self.vaddr.saturating_add(self.memsz)
    }

    /// The file bytes of the segment within `image`, if `image` is the parsed file.
    pub fn file_bytes<'a>(&self, image: &'a [u8]) -> Option<&'a [u8]> {
        let start = usize::try_from(self.offset).ok()?;
        let len = usize::try_from(self.filesz).ok()?;
        image.get(start..start.checked_add(len)?)
    }
}

/// Everything the kernel needs to map and start a program; addresses are as in the file
/// (for [`ElfKind::Dyn`] add the load bias).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadPlan {
    /// `ET_EXEC` or `ET_DYN`.
    pub kind: ElfKind,
    /// `e_entry`, checked to lie inside an executable `PT_LOAD`.
    pub entry: u64,
    /// The `PT_LOAD` segments in file order (which validation requires to be ascending
    /// `vaddr` order, without overlaps).
    pub segments: Vec<Segment>,
    /// Address of the program header table in memory (for `AT_PHDR`): `PT_PHDR`'s `p_vaddr`
    /// if present, else the address of `e_phoff` inside the `PT_LOAD` whose file range covers
    /// it (as Linux does), else `None`.
    pub phdr_vaddr: Option<u64>,
    /// `e_phnum` (for `AT_PHNUM`).
    pub phnum: u16,
    /// `e_phentsize`, always 56 (for `AT_PHENT`).
    pub phentsize: u16,
    /// The `PT_INTERP` path (first `PT_INTERP`, like Linux), without its NUL.
    pub interp: Option<String>,
    /// Whether the stack must be executable.
    ///
    /// `PT_GNU_STACK` with `PF_X` gives `true`, without it `false` (the last `PT_GNU_STACK`
    /// wins, like Linux). Without `PT_GNU_STACK`, Linux on x86_64 since 5.8 leaves the stack
    /// non-executable for 64-bit programs (`elf_read_implies_exec` is
    /// `mmap_is_ia32() && executable_stack == EXSTACK_DEFAULT`), so this is `false` too.
    pub stack_exec: bool,
    /// The `PT_TLS` segment (the TLS initialisation image), if any (the first one).
    pub tls: Option<Segment>,
    /// Lowest `PT_LOAD` address rounded down to [`PAGE_SIZE`].
    pub min_vaddr: u64,
    /// Highest `PT_LOAD` end (`vaddr + memsz`) rounded up to [`PAGE_SIZE`].
    pub max_vaddr: u64,
}

impl LoadPlan {
    /// Bytes of address space the segments span (`max_vaddr - min_vaddr`).
    pub fn span(&self) -> u64 {
        self.max_vaddr - self.min_vaddr
    }
}

/// Why an image cannot be loaded. `Display` gives the message shown to the user.
///
/// Segment indexes are indexes into the program header table (as printed by
/// `readelf -l`), counting from 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElfError {
    /// The file does not start with `\x7fELF`.
    BadMagic,
    /// `EI_CLASS` is `ELFCLASS32`.
    Class32,
    /// `EI_CLASS` is neither `ELFCLASS32` nor `ELFCLASS64`.
    BadClass(u8),
    /// `EI_DATA` is `ELFDATA2MSB`.
    BigEndian,
    /// `EI_DATA` is neither `ELFDATA2LSB` nor `ELFDATA2MSB`.
    BadDataEncoding(u8),
    /// The file is shorter than the 64-byte ELF64 header.
    TruncatedHeader {
        /// File length in bytes.
        len: usize,
    },
    /// `e_ident[EI_VERSION]` is not `EV_CURRENT` (1).
    BadIdentVersion(u8),
    /// `e_version` is not `EV_CURRENT` (1).
    BadVersion(u32),
    /// `e_machine` is not `EM_X86_64`.
    WrongMachine(u16),
    /// `e_type` is `ET_REL`.
    Relocatable,
    /// `e_type` is `ET_CORE`.
    CoreDump,
    /// `e_type` is something else than `ET_EXEC`/`ET_DYN`/`ET_REL`/`ET_CORE`.
    BadType(u16),
    /// `e_phentsize` is not 56.
    BadPhentsize(u16),
    /// `e_phnum` is 0.
    NoProgramHeaders,
    /// `e_phnum * 56` exceeds [`MAX_PHDR_TABLE_SIZE`].
    TooManyProgramHeaders(u16),
    /// The program header table does not fit in the file.
    ProgramHeadersOutOfFile {
        /// `e_phoff`.
        phoff: u64,
        /// `e_phnum * 56`.
        size: u64,
        /// File length.
        len: usize,
    },
    /// There is no `PT_LOAD` segment.
    NoLoadSegment,
    /// `p_offset + p_filesz` overflows or exceeds the file (`PT_LOAD` or `PT_TLS`).
    SegmentOutOfFile {
        /// Program header index.
        index: usize,
        /// `p_offset`.
        offset: u64,
        /// `p_filesz`.
        filesz: u64,
        /// File length.
        len: usize,
    },
    /// `p_filesz > p_memsz` (`PT_LOAD` or `PT_TLS`).
    FileSizeExceedsMemSize {
        /// Program header index.
        index: usize,
        /// `p_filesz`.
        filesz: u64,
        /// `p_memsz`.
        memsz: u64,
    },
    /// `p_vaddr + p_memsz` overflows or exceeds [`USER_ADDR_LIMIT`] (`PT_LOAD` or `PT_TLS`).
    SegmentBeyondUserSpace {
        /// Program header index.
        index: usize,
        /// `p_vaddr`.
        vaddr: u64,
        /// `p_memsz`.
        memsz: u64,
    },
    /// `p_align` is neither 0 nor a power of two (`PT_LOAD` or `PT_TLS`).
    ///
    /// Linux skips such alignments when choosing the load bias rather than failing; the ELF
    /// specification forbids them and no linker emits them.
    BadAlignment {
        /// Program header index.
        index: usize,
        /// `p_align`.
        align: u64,
    },
    /// A `PT_LOAD` with file contents whose `p_vaddr` and `p_offset` differ modulo the page
    /// size: it cannot be mapped from the file (Linux's `mmap` fails with `EINVAL`).
    MisalignedSegment {
        /// Program header index.
        index: usize,
        /// `p_vaddr`.
        vaddr: u64,
        /// `p_offset`.
        offset: u64,
    },
    /// Two `PT_LOAD` address ranges `[vaddr, vaddr + memsz)` overlap. Sharing a page is fine.
    SegmentsOverlap {
        /// Program header index of the later segment.
        index: usize,
        /// Program header index of the earlier segment it overlaps.
        other: usize,
    },
    /// A `PT_LOAD` has a lower `p_vaddr` than the one before it (the ELF specification
    /// requires ascending order).
    SegmentsOutOfOrder {
        /// Program header index of the later segment.
        index: usize,
        /// Program header index of the earlier segment.
        previous: usize,
    },
    /// The `PT_INTERP` path is not inside the file.
    InterpOutOfFile {
        /// `p_offset`.
        offset: u64,
        /// `p_filesz`.
        filesz: u64,
        /// File length.
        len: usize,
    },
    /// The `PT_INTERP` path is longer than [`MAX_INTERP_LEN`].
    InterpTooLong(u64),
    /// The `PT_INTERP` path is empty (`p_filesz < 2`, as Linux checks).
    InterpEmpty,
    /// The `PT_INTERP` bytes do not end with NUL.
    InterpNotTerminated,
    /// The `PT_INTERP` path has a NUL before its end.
    InterpInnerNul,
    /// The `PT_INTERP` path is not UTF-8.
    InterpNotUtf8,
    /// `e_entry` is not inside an executable `PT_LOAD` (Linux would start the program and
    /// let it crash).
    EntryNotExecutable(u64),
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ElfError::*;
        match self {
            BadMagic => write!(f, "not an ELF file (bad magic)"),
            Class32 => write!(
                f,
                "32-bit ELF (ELFCLASS32) is not supported: nutshell runs x86_64 programs"
            ),
            BadClass(c) => write!(
                f,
                "invalid ELF class {c} in e_ident[EI_CLASS] (expected ELFCLASS64 = 2)"
            ),
            BigEndian => write!(f, "big-endian ELF is not supported"),
            BadDataEncoding(d) => write!(
                f,
                "invalid ELF data encoding {d} in e_ident[EI_DATA] (expected ELFDATA2LSB = 1)"
            ),
            TruncatedHeader { len } => write!(
                f,
                "ELF file is truncated: header needs {EHDR_SIZE} bytes, file has {len}"
            ),
            BadIdentVersion(v) => write!(
                f,
                "unsupported ELF identification version {v} (e_ident[EI_VERSION] must be 1)"
            ),
            BadVersion(v) => write!(f, "unsupported ELF version {v} (e_version must be 1)"),
            WrongMachine(m) => match machine_name(*m) {
                Some(name) => write!(f, "ELF for machine {name} ({m}), not x86_64"),
                None => write!(f, "ELF for machine {m}, not x86_64"),
            },
            Relocatable => write!(
                f,
                "relocatable object (ET_REL) is not a program: link it into an executable first"
            ),
            CoreDump => write!(f, "core dump (ET_CORE) is not a program"),
            BadType(t) => match *t {
                ET_NONE => write!(f, "ELF type ET_NONE (0) is not a program"),
                t => write!(
                    f,
                    "ELF type {t:#x} is not a program (expected ET_EXEC or ET_DYN)"
                ),
            },
            BadPhentsize(s) => write!(
                f,
                "program header entries are {s} bytes, expected {PHDR_SIZE} (Elf64_Phdr)"
            ),
            NoProgramHeaders => write!(f, "ELF file has no program headers (e_phnum is 0)"),
            TooManyProgramHeaders(n) => write!(
                f,
                "too many program headers: {n} of {PHDR_SIZE} bytes exceed Linux's limit of \
                 {MAX_PHDR_TABLE_SIZE} bytes ({} headers)",
                MAX_PHDR_TABLE_SIZE / PHDR_SIZE as u64
            ),
            ProgramHeadersOutOfFile { phoff, size, len } => write!(
                f,
                "program header table ({size} bytes at offset {phoff:#x}) lies outside the \
                 file ({len} bytes); the file is truncated or corrupt"
            ),
            NoLoadSegment => write!(f, "ELF file has no PT_LOAD segment: nothing to load"),
            SegmentOutOfFile {
                index,
                offset,
                filesz,
                len,
            } => write!(
                f,
                "segment {index}: file range {offset:#x}+{filesz:#x} lies outside the file \
                 ({len} bytes); the file is truncated or corrupt"
            ),
            FileSizeExceedsMemSize {
                index,
                filesz,
                memsz,
            } => write!(
                f,
                "segment {index}: file size {filesz:#x} is larger than memory size {memsz:#x}"
            ),
            SegmentBeyondUserSpace {
                index,
                vaddr,
                memsz,
            } => write!(
                f,
                "segment {index}: {memsz:#x} bytes at {vaddr:#x} reach beyond the user \
                 address limit {USER_ADDR_LIMIT:#x}"
            ),
            BadAlignment { index, align } => write!(
                f,
                "segment {index}: alignment {align:#x} is not a power of two"
            ),
            MisalignedSegment {
                index,
                vaddr,
                offset,
            } => write!(
                f,
                "segment {index}: address {vaddr:#x} and file offset {offset:#x} differ \
                 modulo the {PAGE_SIZE}-byte page size, so it cannot be mapped"
            ),
            SegmentsOverlap { index, other } => {
                write!(f, "segment {index} overlaps segment {other} in memory")
            }
            SegmentsOutOfOrder { index, previous } => write!(
                f,
                "segment {index} has a lower address than segment {previous}: PT_LOAD \
                 segments must be sorted by address"
            ),
            InterpOutOfFile {
                offset,
                filesz,
                len,
            } => write!(
                f,
                "interpreter path (PT_INTERP {offset:#x}+{filesz:#x}) lies outside the file \
                 ({len} bytes); the file is truncated or corrupt"
            ),
            InterpTooLong(n) => write!(
                f,
                "interpreter path is {n} bytes long, more than the {MAX_INTERP_LEN} allowed"
            ),
            InterpEmpty => write!(f, "interpreter path (PT_INTERP) is empty"),
            InterpNotTerminated => write!(f, "interpreter path (PT_INTERP) is not NUL-terminated"),
            InterpInnerNul => write!(
                f,
                "interpreter path (PT_INTERP) contains a NUL byte before its end"
            ),
            InterpNotUtf8 => write!(f, "interpreter path (PT_INTERP) is not valid UTF-8"),
            EntryNotExecutable(e) => write!(
                f,
                "entry point {e:#x} is not inside an executable PT_LOAD segment"
            ),
        }
    }
}

impl core::error::Error for ElfError {}

/// Name of common `e_machine` values, for error messages.
fn machine_name(machine: u16) -> Option<&'static str> {
    Some(match machine {
        0 => "EM_NONE",
        2 => "EM_SPARC",
        3 => "EM_386",
        8 => "EM_MIPS",
        20 => "EM_PPC",
        21 => "EM_PPC64",
        22 => "EM_S390",
        40 => "EM_ARM",
        43 => "EM_SPARCV9",
        50 => "EM_IA_64",
        62 => "EM_X86_64",
        183 => "EM_AARCH64",
        243 => "EM_RISCV",
        247 => "EM_BPF",
        258 => "EM_LOONGARCH",
        _ => return None,
    })
}

fn u16_at<const N: usize>(b: &[u8; N], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at<const N: usize>(b: &[u8; N], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at<const N: usize>(b: &[u8; N], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}

/// A raw `Elf64_Phdr`.
struct Phdr {
    p_type: u32,
    p_flags: u32,
    p_offset: u64,
    p_vaddr: u64,
    p_filesz: u64,
    p_memsz: u64,
    p_align: u64,
}

impl Phdr {
    fn read(b: &[u8; PHDR_SIZE as usize]) -> Self {
        Phdr {
            p_type: u32_at(b, 0),
            p_flags: u32_at(b, 4),
            p_offset: u64_at(b, 8),
            p_vaddr: u64_at(b, 16),
            // p_paddr at 24 is unused.
            p_filesz: u64_at(b, 32),
            p_memsz: u64_at(b, 40),
            p_align: u64_at(b, 48),
        }
    }

    fn segment(&self) -> Segment {
        Segment {
            vaddr: self.p_vaddr,
            memsz: self.p_memsz,
            offset: self.p_offset,
            filesz: self.p_filesz,
            flags: Flags::from_p_flags(self.p_flags),
            align: self.p_align,
        }
    }

    /// `Some(end offset)` if `[p_offset, p_offset + p_filesz)` is inside a file of `len` bytes.
    fn file_end(&self, len: usize) -> Option<u64> {
        let end = self.p_offset.checked_add(self.p_filesz)?;
        (end <= len as u64).then_some(end)
    }

    /// Checks shared by `PT_LOAD` and `PT_TLS`: file range, sizes, address range, alignment.
    fn check_common(&self, index: usize, len: usize) -> Result<(), ElfError> {
        if self.p_filesz > 0 && self.file_end(len).is_none() {
            return Err(ElfError::SegmentOutOfFile {
                index,
                offset: self.p_offset,
                filesz: self.p_filesz,
                len,
            });
        }
        if self.p_filesz > self.p_memsz {
            return Err(ElfError::FileSizeExceedsMemSize {
                index,
                filesz: self.p_filesz,
                memsz: self.p_memsz,
            });
        }
        match self.p_vaddr.checked_add(self.p_memsz) {
            Some(end) if end <= USER_ADDR_LIMIT => {}
            _ => {
                return Err(ElfError::SegmentBeyondUserSpace {
                    index,
                    vaddr: self.p_vaddr,
                    memsz: self.p_memsz,
                })
            }
        }
        if self.p_align > 1 && !self.p_align.is_power_of_two() {
            return Err(ElfError::BadAlignment {
                index,
                align: self.p_align,
            });
        }
        Ok(())
    }
}

/// Reads and checks the 64-byte ELF header; returns it as an array.
fn check_header(image: &[u8]) -> Result<&[u8; EHDR_SIZE], ElfError> {
    const MAGIC: &[u8; 4] = b"\x7fELF";
    let prefix = image.get(..MAGIC.len()).unwrap_or(image);
    if prefix.is_empty() || !MAGIC.starts_with(prefix) {
        return Err(ElfError::BadMagic);
    }
    // Identify class and byte order as soon as the bytes exist, so a short 32-bit or
    // big-endian file is reported for what it is rather than as truncated.
    match image.get(4) {
        Some(&ELFCLASS64) | None => {}
        Some(&ELFCLASS32) => return Err(ElfError::Class32),
        Some(&c) => return Err(ElfError::BadClass(c)),
    }
    match image.get(5) {
        Some(&ELFDATA2LSB) | None => {}
        Some(&ELFDATA2MSB) => return Err(ElfError::BigEndian),
        Some(&d) => return Err(ElfError::BadDataEncoding(d)),
    }
    let header: &[u8; EHDR_SIZE] = image
        .get(..EHDR_SIZE)
        .and_then(|h| h.try_into().ok())
        .ok_or(ElfError::TruncatedHeader { len: image.len() })?;
    if header[6] != EV_CURRENT {
        return Err(ElfError::BadIdentVersion(header[6]));
    }
    let e_type = u16_at(header, 16);
    let e_machine = u16_at(header, 18);
    let e_version = u32_at(header, 20);
    if e_machine != EM_X86_64 {
        return Err(ElfError::WrongMachine(e_machine));
    }
    if e_version != u32::from(EV_CURRENT) {
        return Err(ElfError::BadVersion(e_version));
    }
    match e_type {
        ET_EXEC | ET_DYN => Ok(header),
        ET_REL => Err(ElfError::Relocatable),
        ET_CORE => Err(ElfError::CoreDump),
        t => Err(ElfError::BadType(t)),
    }
}

/// Reads `PT_INTERP`: `p_filesz` in `2..=4096`, inside the file, NUL-terminated, UTF-8.
fn read_interp(ph: &Phdr, image: &[u8]) -> Result<String, ElfError> {
    if ph.p_filesz > MAX_INTERP_LEN {
        return Err(ElfError::InterpTooLong(ph.p_filesz));
    }
    if ph.p_filesz < 2 {
        return Err(ElfError::InterpEmpty);
    }
    let bytes = ph
        .file_end(image.len())
        .and_then(|_| ph.segment().file_bytes(image))
        .ok_or(ElfError::InterpOutOfFile {
            offset: ph.p_offset,
            filesz: ph.p_filesz,
            len: image.len(),
        })?;
    let path = match bytes.split_last() {
        Some((0, path)) => path,
        _ => return Err(ElfError::InterpNotTerminated),
    };
    if path.contains(&0) {
        return Err(ElfError::InterpInnerNul);
    }
    core::str::from_utf8(path)
        .map(String::from)
        .map_err(|_| ElfError::InterpNotUtf8)
}

/// Parses and validates an ELF64 x86_64 program and returns its [`LoadPlan`].
///
/// Checks, in order (the first failure is returned): magic, class, byte order, header
/// length, `EI_VERSION`, machine, `e_version`, type, `e_phentsize`, `e_phnum` (1 to 73),
/// program header table inside the file; then each program header in file order
/// (`PT_LOAD`: file range, `filesz <= memsz`, address range, alignment, page congruence of
/// `vaddr` and `offset` when it has file contents, ascending order, no overlap; `PT_INTERP`
/// on the first one: length, bounds, NUL, UTF-8; `PT_TLS`: like a `PT_LOAD` except order and
/// congruence); then the presence of a `PT_LOAD` and the entry point.
pub fn parse(image: &[u8]) -> Result<LoadPlan, ElfError> {
    let header = check_header(image)?;
    let kind = if u16_at(header, 16) == ET_EXEC {
        ElfKind::Exec
    } else {
        ElfKind::Dyn
    };
    let entry = u64_at(header, 24);
    let phoff = u64_at(header, 32);
    let phentsize = u16_at(header, 54);
    let phnum = u16_at(header, 56);

    if phentsize != PHDR_SIZE {
        return Err(ElfError::BadPhentsize(phentsize));
    }
    if phnum == 0 {
        return Err(ElfError::NoProgramHeaders);
    }
    let table_size = u64::from(phnum) * u64::from(PHDR_SIZE);
    if table_size > MAX_PHDR_TABLE_SIZE {
        return Err(ElfError::TooManyProgramHeaders(phnum));
    }
    let table = phoff
        .checked_add(table_size)
        .filter(|&end| end <= image.len() as u64)
        .and_then(|end| image.get(usize::try_from(phoff).ok()?..usize::try_from(end).ok()?))
        .ok_or(ElfError::ProgramHeadersOutOfFile {
            phoff,
            size: table_size,
            len: image.len(),
        })?;

    let mut segments = Vec::new();
    // Address and index of the previous PT_LOAD, for the order check.
    let mut prev_load: Option<(u64, usize)> = None;
    let mut interp = None;
    let mut tls = None;
    let mut pt_phdr = None;
    let mut stack_exec = false;
    // Highest end so far and the segment it belongs to, for the overlap check.
    let mut highest: Option<(u64, usize)> = None;

    for (index, raw) in table.chunks_exact(PHDR_SIZE as usize).enumerate() {
        let raw: &[u8; PHDR_SIZE as usize] = match raw.try_into() {
            Ok(raw) => raw,
            Err(_) => continue, // chunks_exact yields only full chunks
        };
        let ph = Phdr::read(raw);
        match ph.p_type {
            PT_LOAD => {
                ph.check_common(index, image.len())?;
                if ph.p_filesz > 0 && (ph.p_vaddr % PAGE_SIZE) != (ph.p_offset % PAGE_SIZE) {
                    return Err(ElfError::MisalignedSegment {
                        index,
                        vaddr: ph.p_vaddr,
                        offset: ph.p_offset,
                    });
                }
                if let Some((prev_vaddr, previous)) = prev_load {
                    if ph.p_vaddr < prev_vaddr {
                        return Err(ElfError::SegmentsOutOfOrder { index, previous });
                    }
                }
                if ph.p_memsz > 0 {
                    if let Some((end, other)) = highest {
                        if ph.p_vaddr < end {
                            return Err(ElfError::SegmentsOverlap { index, other });
                        }
                    }
                    // vaddr + memsz was checked by check_common.
                    highest = Some((ph.p_vaddr + ph.p_memsz, index));
                }
                segments.push(ph.segment());
                prev_load = Some((ph.p_vaddr, index));
            }
            PT_INTERP if interp.is_none() => interp = Some(read_interp(&ph, image)?),
            PT_TLS if tls.is_none() => {
                ph.check_common(index, image.len())?;
                tls = Some(ph.segment());
            }
            PT_PHDR if pt_phdr.is_none() => pt_phdr = Some(ph.p_vaddr),
            PT_GNU_STACK => stack_exec = ph.p_flags & PF_X != 0,
            _ => {}
        }
    }

    let (first, last_end) = match (segments.first(), highest) {
        (Some(first), Some((end, _))) => (first.vaddr, end),
        (Some(first), None) => (first.vaddr, first.vaddr),
        (None, _) => return Err(ElfError::NoLoadSegment),
    };

    if !segments
        .iter()
        .any(|s| s.flags.exec && s.vaddr <= entry && entry < s.end())
    {
        return Err(ElfError::EntryNotExecutable(entry));
    }

    let phdr_vaddr = pt_phdr.or_else(|| {
        segments.iter().find_map(|s| {
            let covers = s.offset <= phoff && phoff - s.offset < s.filesz;
            covers.then(|| s.vaddr + (phoff - s.offset))
        })
    });

    Ok(LoadPlan {
        kind,
        entry,
        segments,
        phdr_vaddr,
        phnum,
        phentsize,
        interp,
        stack_exec,
        tls,
        min_vaddr: first & !(PAGE_SIZE - 1),
        // last_end <= USER_ADDR_LIMIT, so rounding up cannot overflow.
        max_vaddr: (last_end + PAGE_SIZE - 1) & !(PAGE_SIZE - 1),
    })
}
