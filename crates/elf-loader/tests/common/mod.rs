//! Golden ELF64 images assembled in test code: an ELF header, program headers and a few
//! bytes of contents, described field by field so tests can corrupt one field at a time.

#![allow(dead_code)]

pub const PT_NULL: u32 = 0;
pub const PT_LOAD: u32 = 1;
pub const PT_INTERP: u32 = 3;
pub const PT_NOTE: u32 = 4;
pub const PT_PHDR: u32 = 6;
pub const PT_TLS: u32 = 7;
pub const PT_GNU_STACK: u32 = 0x6474_e551;

pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

pub const ET_EXEC: u16 = 2;
pub const ET_DYN: u16 = 3;

pub const INTERP: &[u8] = b"/lib64/ld-linux-x86-64.so.2\0";

/// One program header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ph {
    pub p_type: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub align: u64,
}

impl Ph {
    pub fn load(flags: u32, offset: u64, vaddr: u64, filesz: u64, memsz: u64) -> Self {
        Ph {
            p_type: PT_LOAD,
            flags,
            offset,
            vaddr,
            filesz,
            memsz,
            align: 0x1000,
        }
    }

    pub fn other(p_type: u32, flags: u32, offset: u64, vaddr: u64, size: u64, align: u64) -> Self {
        Ph {
            p_type,
            flags,
            offset,
            vaddr,
            filesz: size,
            memsz: size,
            align,
        }
    }

    pub fn gnu_stack(flags: u32) -> Self {
        Ph::other(PT_GNU_STACK, flags, 0, 0, 0, 16)
    }
}

/// An ELF64 image described by its fields; `bytes()` assembles it.
#[derive(Debug, Clone)]
pub struct Image {
    pub ident: [u8; 16],
    pub e_type: u16,
    pub machine: u16,
    pub version: u32,
    pub entry: u64,
    pub phoff: u64,
    pub phentsize: u16,
    /// `e_phnum`; `None` means `phdrs.len()`.
    pub phnum: Option<u16>,
    pub phdrs: Vec<Ph>,
    /// File length (grown if the headers or data need more).
    pub len: usize,
    /// Bytes to place at given offsets (after the headers are written).
    pub data: Vec<(usize, Vec<u8>)>,
}

impl Image {
    fn new(e_type: u16, entry: u64, phdrs: Vec<Ph>, len: usize) -> Self {
        let mut ident = [0u8; 16];
        ident[..4].copy_from_slice(b"\x7fELF");
        ident[4] = 2; // ELFCLASS64
        ident[5] = 1; // ELFDATA2LSB
        ident[6] = 1; // EV_CURRENT
        Image {
            ident,
            e_type,
            machine: 62,
            version: 1,
            entry,
            phoff: 64,
            phentsize: 56,
            phnum: None,
            phdrs,
            len,
            data: Vec::new(),
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        let phnum = self.phnum.unwrap_or(self.phdrs.len() as u16);
        let mut out = Vec::new();
        out.extend_from_slice(&self.ident);
        out.extend_from_slice(&self.e_type.to_le_bytes());
        out.extend_from_slice(&self.machine.to_le_bytes());
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.entry.to_le_bytes());
        out.extend_from_slice(&self.phoff.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
        out.extend_from_slice(&0u32.to_le_bytes()); // e_flags
        out.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
        out.extend_from_slice(&self.phentsize.to_le_bytes());
        out.extend_from_slice(&phnum.to_le_bytes());
        out.extend_from_slice(&64u16.to_le_bytes()); // e_shentsize
        out.extend_from_slice(&0u16.to_le_bytes()); // e_shnum
        out.extend_from_slice(&0u16.to_le_bytes()); // e_shstrndx
        assert_eq!(out.len(), 64);
        let table: Vec<u8> = self
            .phdrs
            .iter()
            .flat_map(|ph| {
                let mut b = Vec::with_capacity(56);
                b.extend_from_slice(&ph.p_type.to_le_bytes());
                b.extend_from_slice(&ph.flags.to_le_bytes());
                b.extend_from_slice(&ph.offset.to_le_bytes());
                b.extend_from_slice(&ph.vaddr.to_le_bytes());
                b.extend_from_slice(&ph.vaddr.to_le_bytes()); // p_paddr
                b.extend_from_slice(&ph.filesz.to_le_bytes());
                b.extend_from_slice(&ph.memsz.to_le_bytes());
                b.extend_from_slice(&ph.align.to_le_bytes());
                b
            })
            .collect();
        let mut file = vec![0u8; self.len];
        place(&mut file, 0, &out);
        if let Ok(phoff) = usize::try_from(self.phoff) {
            if phoff < (1 << 20) {
                place(&mut file, phoff, &table);
            }
        }
        for (at, bytes) in &self.data {
            place(&mut file, *at, bytes);
        }
        file.truncate(self.len.max(64));
        file
    }

    /// Index of the n-th PT_LOAD in `phdrs`.
    pub fn load_index(&self, n: usize) -> usize {
        self.phdrs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.p_type == PT_LOAD)
            .nth(n)
            .map(|(i, _)| i)
            .expect("no such PT_LOAD")
    }
}

fn place(file: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    if file.len() < at + bytes.len() {
        file.resize(at + bytes.len(), 0);
    }
    file[at..at + bytes.len()].copy_from_slice(bytes);
}

/// A static-PIE like `gcc -static-pie` makes: ET_DYN, no PT_PHDR (the first PT_LOAD covers
/// the headers), R / RX / RW segments, PT_TLS, PT_GNU_STACK without X.
///
/// | index | type         | offset | vaddr  | filesz | memsz  |
/// |-------|--------------|--------|--------|--------|--------|
/// | 0     | LOAD R       | 0      | 0      | 0x400  | 0x400  |
/// | 1     | LOAD R X     | 0x1000 | 0x1000 | 0x200  | 0x200  |
/// | 2     | LOAD RW      | 0x2010 | 0x3010 | 0x100  | 0x1000 |
/// | 3     | TLS R        | 0x2010 | 0x3010 | 0x10   | 0x40   |
/// | 4     | GNU_STACK RW |        |        |        |        |
pub fn static_pie() -> Image {
    let phdrs = vec![
        Ph::load(PF_R, 0, 0, 0x400, 0x400),
        Ph::load(PF_R | PF_X, 0x1000, 0x1000, 0x200, 0x200),
        Ph::load(PF_R | PF_W, 0x2010, 0x3010, 0x100, 0x1000),
        Ph::other(PT_TLS, PF_R, 0x2010, 0x3010, 0x10, 8),
        Ph::gnu_stack(PF_R | PF_W),
    ];
    let mut img = Image::new(ET_DYN, 0x1020, phdrs, 0x2110);
    img.phdrs[3].memsz = 0x40;
    img.data.push((0x1020, vec![0x0f, 0x05])); // syscall, so the entry has some code
    img
}

/// A classic static ET_EXEC at 0x400000 without PT_GNU_STACK, PT_TLS or PT_PHDR.
///
/// | index | type     | offset | vaddr    | filesz | memsz  |
/// |-------|----------|--------|----------|--------|--------|
/// | 0     | LOAD R X | 0      | 0x400000 | 0x1000 | 0x1000 |
/// | 1     | LOAD RW  | 0x1000 | 0x401000 | 0x80   | 0x3000 |
pub fn exec() -> Image {
    let phdrs = vec![
        Ph::load(PF_R | PF_X, 0, 0x40_0000, 0x1000, 0x1000),
        Ph::load(PF_R | PF_W, 0x1000, 0x40_1000, 0x80, 0x3000),
    ];
    Image::new(ET_EXEC, 0x40_0100, phdrs, 0x1080)
}

/// A dynamically linked PIE: PT_PHDR, PT_INTERP, PT_GNU_STACK with X.
///
/// | index | type          | offset | vaddr  | size          |
/// |-------|---------------|--------|--------|---------------|
/// | 0     | PHDR R        | 64     | 64     | 6 * 56        |
/// | 1     | INTERP R      | 0x200  | 0x200  | 28            |
/// | 2     | LOAD R        | 0      | 0      | 0x400         |
/// | 3     | LOAD R X      | 0x1000 | 0x1000 | 0x100         |
/// | 4     | NOTE R        | 0x300  | 0x300  | 0x20          |
/// | 5     | GNU_STACK RWX |        |        |               |
pub fn dyn_interp() -> Image {
    let phdrs = vec![
        Ph::other(PT_PHDR, PF_R, 64, 64, 6 * 56, 8),
        Ph::other(PT_INTERP, PF_R, 0x200, 0x200, INTERP.len() as u64, 1),
        Ph::load(PF_R, 0, 0, 0x400, 0x400),
        Ph::load(PF_R | PF_X, 0x1000, 0x1000, 0x100, 0x100),
        Ph::other(PT_NOTE, PF_R, 0x300, 0x300, 0x20, 4),
        Ph::gnu_stack(PF_R | PF_W | PF_X),
    ];
    let mut img = Image::new(ET_DYN, 0x1000, phdrs, 0x1100);
    img.data.push((0x200, INTERP.to_vec()));
    img
}

/// Deterministic xorshift64* generator for the fuzz-style tests.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
