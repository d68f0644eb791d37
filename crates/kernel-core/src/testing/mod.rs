//! Fakes for the host tests: page tables in a hash map (with a frame budget, to provoke ENOMEM) and a
//! machine with captured output, scripted input, a settable clock and deterministic randomness.
//!
//! The fakes are strict: a misuse of the [`PageTable`] contract by `mm` (unaligned address, mapping a page
//! twice, moving onto present pages, copying across a page or from an absent page) panics, so a test fails.

pub(crate) mod p9server;

use std::collections::{HashMap, VecDeque};
use std::string::String;
use std::sync::{Arc, Mutex, MutexGuard};
use std::vec::Vec;

use crate::errno::Errno;
use crate::mm::{AddressSpace, AreaKind, PageTable, PAGE_SIZE, PROT_READ, PROT_WRITE};
use crate::platform::Platform;
use crate::process::Process;
use crate::vfs::Fs;

/// One present page: its bytes and its protection.
pub(crate) struct Page {
    pub data: Box<[u8; 4096]>,
    pub prot: u32,
}

/// What the fake page table holds; shared between the `AddressSpace` and the test through [`PtHandle`].
#[derive(Default)]
pub(crate) struct PtState {
    pub pages: HashMap<u64, Page>,
    /// Frames that may still be allocated; `map_zeroed` fails with ENOMEM at zero.
    pub free_frames: usize,
}

/// The test's view of the fake page table after it was handed to an `AddressSpace`.
#[derive(Clone)]
pub(crate) struct PtHandle(Arc<Mutex<PtState>>);

impl PtHandle {
    pub fn state(&self) -> MutexGuard<'_, PtState> {
        self.0.lock().expect("page table lock")
    }
    /// Number of present pages.
    pub fn pages(&self) -> usize {
        self.state().pages.len()
    }
    pub fn is_present(&self, va: u64) -> bool {
        self.state().pages.contains_key(&va)
    }
    /// Protection of the present page at `va`.
    pub fn prot(&self, va: u64) -> Option<u32> {
        self.state().pages.get(&va).map(|p| p.prot)
    }
    /// A byte of a present page (None when absent), read behind the back of the address space.
    pub fn byte(&self, va: u64) -> Option<u8> {
        let off = (va % PAGE_SIZE) as usize;
        self.state()
            .pages
            .get(&(va - va % PAGE_SIZE))
            .map(|p| p.data[off])
    }
    pub fn free_frames(&self) -> usize {
        self.state().free_frames
    }
    pub fn set_free_frames(&self, n: usize) {
        self.state().free_frames = n;
    }
}

/// A `PageTable` over a hash map of 4 KiB pages.
pub(crate) struct FakePageTable(Arc<Mutex<PtState>>);

/// A fresh fake page table with `frames` frames of physical memory, and the handle to inspect it.
pub(crate) fn fake_page_table(frames: usize) -> (Box<dyn PageTable>, PtHandle) {
    let st = Arc::new(Mutex::new(PtState {
        pages: HashMap::new(),
        free_frames: frames,
    }));
    (Box::new(FakePageTable(st.clone())), PtHandle(st))
}

fn assert_aligned(what: &str, va: u64) {
    assert_eq!(
        va % PAGE_SIZE,
        0,
        "{what}: address {va:#x} is not page aligned"
    );
}

impl FakePageTable {
    fn st(&self) -> MutexGuard<'_, PtState> {
        self.0.lock().expect("page table lock")
    }
}

impl PageTable for FakePageTable {
    fn map_zeroed(&mut self, va: u64, prot: u32) -> Result<(), Errno> {
        assert_aligned("map_zeroed", va);
        let mut st = self.st();
        assert!(
            !st.pages.contains_key(&va),
            "map_zeroed: page {va:#x} is already present (a frame would leak)"
        );
        if st.free_frames == 0 {
            return Err(Errno::ENOMEM);
        }
        st.free_frames -= 1;
        st.pages.insert(
            va,
            Page {
                data: Box::new([0; 4096]),
                prot,
            },
        );
        Ok(())
    }

    fn unmap(&mut self, start: u64, end: u64) {
        assert_aligned("unmap start", start);
        assert_aligned("unmap end", end);
        let mut st = self.st();
        let before = st.pages.len();
        st.pages.retain(|va, _| !(start..end).contains(va));
        st.free_frames += before - st.pages.len();
    }

    fn protect(&mut self, start: u64, end: u64, prot: u32) {
        assert_aligned("protect start", start);
        assert_aligned("protect end", end);
        for (_, p) in self
            .st()
            .pages
            .iter_mut()
            .filter(|(va, _)| (start..end).contains(*va))
        {
            p.prot = prot;
        }
    }

    fn is_mapped(&self, va: u64) -> bool {
        assert_aligned("is_mapped", va);
        self.st().pages.contains_key(&va)
    }

    fn move_pages(&mut self, old: u64, new: u64, len: u64) {
        assert_aligned("move_pages old", old);
        assert_aligned("move_pages new", new);
        assert_aligned("move_pages len", len);
        let mut st = self.st();
        assert!(
            !st.pages.keys().any(|va| (new..new + len).contains(va)),
            "move_pages: destination {new:#x}+{len:#x} holds pages"
        );
        let moving: Vec<u64> = st
            .pages
            .keys()
            .copied()
            .filter(|va| (old..old + len).contains(va))
            .collect();
        for va in moving {
            let p = st.pages.remove(&va).expect("present");
            st.pages.insert(va - old + new, p);
        }
    }

    fn read_page(&self, va: u64, buf: &mut [u8]) {
        let page = va - va % PAGE_SIZE;
        let off = (va - page) as usize;
        assert!(
            off + buf.len() <= PAGE_SIZE as usize,
            "read_page: {va:#x}+{} crosses a page",
            buf.len()
        );
        let st = self.st();
        let p = st
            .pages
            .get(&page)
            .unwrap_or_else(|| panic!("read_page: page {page:#x} is not present"));
        buf.copy_from_slice(&p.data[off..off + buf.len()]);
    }

    fn write_page(&mut self, va: u64, data: &[u8]) {
        let page = va - va % PAGE_SIZE;
        let off = (va - page) as usize;
        assert!(
            off + data.len() <= PAGE_SIZE as usize,
            "write_page: {va:#x}+{} crosses a page",
            data.len()
        );
        let mut st = self.st();
        let p = st
            .pages
            .get_mut(&page)
            .unwrap_or_else(|| panic!("write_page: page {page:#x} is not present"));
        p.data[off..off + data.len()].copy_from_slice(data);
    }
}

/// The fake machine.
pub(crate) struct FakePlatform {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub logs: Vec<String>,
    pub traces: Vec<String>,
    /// Scripted input: each `console_read` returns (part of) the first chunk; empty queue = end of file.
    pub stdin: VecDeque<Vec<u8>>,
    pub reads: usize,
    /// Whether fd 0, 1, 2 are terminals.
    pub tty: [bool; 3],
    /// The monotonic clock, in ns since boot.
    pub mono_ns: u64,
    /// Realtime = `epoch_ns + mono_ns`.
    pub epoch_ns: u64,
    /// Deadlines passed to `sleep_until`, in order.
    pub sleeps: Vec<u64>,
    /// State of the deterministic random generator.
    pub rng: u64,
    /// Values passed to `set_fs_base`, in order.
    pub fs_bases: Vec<u64>,
    pub mem: (u64, u64),
}

/// Seed of the fake random generator.
pub(crate) const RNG_SEED: u64 = 0x1234_5678_9abc_def1;

/// The bytes the fake's random generator produces from `state`, advancing it (xorshift64*).
pub(crate) fn random_bytes(state: &mut u64, buf: &mut [u8]) {
    for b in buf {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        *b = (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8;
    }
}

impl Default for FakePlatform {
    fn default() -> Self {
        FakePlatform {
            stdout: Vec::new(),
            stderr: Vec::new(),
            logs: Vec::new(),
            traces: Vec::new(),
            stdin: VecDeque::new(),
            reads: 0,
            tty: [false; 3],
            mono_ns: 5_000_000_123,
            epoch_ns: 1_700_000_000_000_000_000,
            sleeps: Vec::new(),
            rng: RNG_SEED,
            fs_bases: Vec::new(),
            mem: (256 << 20, 200 << 20),
        }
    }
}

impl Platform for FakePlatform {
    fn console_write(&mut self, fd: u32, data: &[u8]) {
        match fd {
            1 => self.stdout.extend_from_slice(data),
            2 => self.stderr.extend_from_slice(data),
            _ => panic!("console_write to fd {fd}: only 1 and 2 are outputs"),
        }
    }

    fn console_read(&mut self, buf: &mut [u8]) -> usize {
        self.reads += 1;
        let Some(chunk) = self.stdin.front_mut() else {
            return 0;
        };
        let n = chunk.len().min(buf.len());
        buf[..n].copy_from_slice(&chunk[..n]);
        chunk.drain(..n);
        if chunk.is_empty() {
            self.stdin.pop_front();
        }
        n
    }

    fn console_input_ready(&mut self) -> bool {
        true
    }

    fn is_tty(&self, fd: u32) -> bool {
        self.tty.get(fd as usize).copied().unwrap_or(false)
    }

    fn monotonic_ns(&self) -> u64 {
        self.mono_ns
    }

    fn realtime_ns(&self) -> u64 {
        self.epoch_ns + self.mono_ns
    }

    fn sleep_until(&mut self, deadline: u64) {
        self.sleeps.push(deadline);
        self.mono_ns = self.mono_ns.max(deadline);
    }

    fn fill_random(&mut self, buf: &mut [u8]) {
        random_bytes(&mut self.rng, buf);
    }

    fn log(&mut self, line: &str) {
        self.logs.push(line.into());
    }

    fn trace(&mut self, line: &str) {
        self.traces.push(line.into());
    }

    fn set_fs_base(&mut self, base: u64) {
        self.fs_bases.push(base);
    }

    fn memory(&self) -> (u64, u64) {
        self.mem
    }
}

/// Layout of the test address space, like a PIE under Linux without randomisation.
pub(crate) const STACK_TOP: u64 = 0x7fff_ffff_e000;
pub(crate) const STACK_INITIAL: u64 = 128 << 10;
pub(crate) const STACK_RLIMIT: u64 = 8 << 20;
pub(crate) const MMAP_BASE: u64 = STACK_TOP - STACK_RLIMIT - (128 << 20);
pub(crate) const BRK_START: u64 = 0x5555_5557_9000;

/// An address space with a heap start, a 128 KiB stack that may grow to 8 MiB, and `frames` frames.
pub(crate) fn address_space(frames: usize) -> (AddressSpace, PtHandle) {
    let (pt, h) = fake_page_table(frames);
    let mut mm = AddressSpace::new(pt, MMAP_BASE);
    mm.brk_start = BRK_START;
    mm.brk = BRK_START;
    mm.map_fixed(
        STACK_TOP - STACK_INITIAL,
        STACK_INITIAL,
        PROT_READ | PROT_WRITE,
        false,
        AreaKind::Stack,
    );
    mm.stack_limit = STACK_TOP - STACK_RLIMIT;
    (mm, h)
}

/// Scratch memory of the sys tests: read-write, 64 KiB.
pub(crate) const SCRATCH: u64 = 0x1000_0000;
pub(crate) const SCRATCH_LEN: u64 = 64 << 10;

/// A process on the fakes, and a way to make syscalls through the real `dispatch`.
pub(crate) struct Harness {
    pub p: Process,
    pub plat: FakePlatform,
    pub pt: PtHandle,
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with_fs(Fs::new())
    }

    pub fn with_fs(fs: Fs) -> Harness {
        let (mut mm, pt) = address_space(4096);
        mm.map_fixed(
            SCRATCH,
            SCRATCH_LEN,
            PROT_READ | PROT_WRITE,
            false,
            AreaKind::Anon,
        );
        let p = Process::new(mm, fs, String::from("/bin/test"));
        Harness {
            p,
            plat: FakePlatform::default(),
            pt,
        }
    }

    /// Syscall `nr` with `args` (missing ones are 0); rax as a signed value (`-errno` on failure).
    pub fn call(&mut self, nr: u32, args: &[u64]) -> i64 {
        let mut a = [0u64; 6];
        a[..args.len()].copy_from_slice(args);
        // Like the kernel: a waiting syscall runs again once its deadline has passed (the fake clock
        // jumps there). One that waits for an event with no deadline is returned as -ERESTARTSYS.
        loop {
            let mut cx = crate::sys::Ctx {
                p: &mut self.p,
                plat: &mut self.plat,
            };
            let ret = crate::sys::dispatch(&mut cx, u64::from(nr), a) as i64;
            match self.p.wait {
                Some(crate::process::Wait { deadline: Some(d) }) => {
                    use crate::platform::Platform;
                    self.plat.sleep_until(d);
                }
                _ => return ret,
            }
        }
    }

    /// Put bytes into user memory.
    pub fn poke(&mut self, addr: u64, data: &[u8]) {
        use crate::uaccess::UserMemory;
        self.p.mm.write(addr, data).expect("poke");
    }

    /// Read `n` bytes of user memory.
    pub fn peek(&mut self, addr: u64, n: usize) -> Vec<u8> {
        let mut b = vec![0; n];
        self.p.mm.read_user(addr, &mut b).expect("peek");
        b
    }

    pub fn peek_u64(&mut self, addr: u64) -> u64 {
        u64::from_le_bytes(self.peek(addr, 8).try_into().expect("8 bytes"))
    }

    pub fn peek_u32(&mut self, addr: u64) -> u32 {
        u32::from_le_bytes(self.peek(addr, 4).try_into().expect("4 bytes"))
    }
}

/// `-errno` as a syscall returns it.
pub(crate) fn neg(e: Errno) -> i64 {
    -i64::from(e.0)
}
