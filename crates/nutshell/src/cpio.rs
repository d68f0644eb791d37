//! A writer for cpio archives in the "newc" format (`cpio -H newc`, the Linux initramfs format).
//!
//! Each entry is a 110-byte ASCII header — the magic `070701` and 13 fields of 8 hex digits —
//! followed by the NUL-terminated name padded with NULs to a multiple of 4 bytes (counting from
//! the header's start), then the data padded likewise. The archive ends with an entry named
//! `TRAILER!!!`. Names are written as given: nutshell uses relative names (`hello`, not
//! `/hello`), like `find . | cpio -o -H newc` run from the root, and the kernel reads `name` as
//! `/name` (see docs/PROTOCOL.md).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::os::unix::fs::FileExt;

/// `S_IFMT`: the file type bits of `c_mode`.
pub const S_IFMT: u32 = 0o170_000;
/// `S_IFREG`: regular file type bits of `c_mode`.
pub const S_IFREG: u32 = 0o100_000;
/// `S_IFDIR`: directory type bits of `c_mode`.
pub const S_IFDIR: u32 = 0o040_000;
/// `S_IFLNK`: symbolic link type bits of `c_mode` (the data is the target).
pub const S_IFLNK: u32 = 0o120_000;

/// Owner, permissions and time of an entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Meta {
    /// Permission bits (`0o7777` at most; the type bits are added by the writer).
    pub perm: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: u32,
}

/// The name of the last entry.
const TRAILER: &[u8] = b"TRAILER!!!";

/// Why an entry could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CpioError {
    /// newc stores sizes in 32 bits.
    #[error("{size} bytes is too large for a cpio (newc) archive entry (the limit is 4 GiB - 1)")]
    TooLarge {
        /// The entry's size in bytes.
        size: u64,
    },
    /// An empty name, or a name with a NUL byte.
    #[error("invalid cpio entry name {0:?}")]
    BadName(String),
    /// The underlying writer failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Writes a newc archive to `W`, entry by entry; [`CpioWriter::finish`] writes the trailer.
#[derive(Debug)]
pub struct CpioWriter<W: Write> {
    out: W,
    /// Bytes written so far, for the padding.
    offset: u64,
    /// The next inode number (each entry gets its own, from 1).
    next_ino: u32,
    /// Where the data of the last file written starts.
    last_data: u64,
}

impl<W: Write> CpioWriter<W> {
    /// A writer that appends to `out`.
    pub fn new(out: W) -> Self {
        CpioWriter {
            out,
            offset: 0,
            next_ino: 1,
            last_data: 0,
        }
    }

    /// Add a regular file with permission bits `perm` (e.g. `0o755`) and modification time
    /// `mtime` (seconds since the epoch).
    pub fn file(
        &mut self,
        name: &[u8],
        perm: u32,
        mtime: u32,
        data: &[u8],
    ) -> Result<(), CpioError> {
        let meta = Meta {
            perm,
            mtime,
            ..Meta::default()
        };
        let copied = self.file_from(name, meta, data.len() as u64, &mut &data[..])?;
        debug_assert_eq!(copied, data.len() as u64);
        Ok(())
    }

    /// Add a regular file of `size` bytes read from `data`; returns how many bytes `data`
    /// gave. When it gave fewer (a file that shrank while it was read), the entry is still
    /// completed with NULs to keep the archive well formed, and the caller reports the error.
    pub fn file_from(
        &mut self,
        name: &[u8],
        meta: Meta,
        size: u64,
        data: &mut impl Read,
    ) -> Result<u64, CpioError> {
        let size32 = u32::try_from(size).map_err(|_| CpioError::TooLarge { size })?;
        let ino = self.take_ino();
        self.entry(name, ino, S_IFREG | (meta.perm & 0o7777), 1, meta, size32)?;
        self.last_data = self.offset;
        // io::copy moves file data in the kernel (copy_file_range) when it can.
        let copied = io::copy(&mut data.take(size), &mut self.out)?;
        self.offset += copied;
        let mut missing = size - copied;
        while missing > 0 {
            let n = missing.min(4096);
            self.write(&[0; 4096][..n as usize])?;
            missing -= n;
        }
        self.pad()?;
        Ok(copied)
    }

    /// Add a directory with permission bits `perm`.
    pub fn dir(&mut self, name: &[u8], perm: u32, mtime: u32) -> Result<(), CpioError> {
        let meta = Meta {
            perm,
            mtime,
            ..Meta::default()
        };
        self.dir_meta(name, meta)
    }

    /// Add a directory.
    pub fn dir_meta(&mut self, name: &[u8], meta: Meta) -> Result<(), CpioError> {
        let ino = self.take_ino();
        self.entry(name, ino, S_IFDIR | (meta.perm & 0o7777), 2, meta, 0)
    }

    /// Add a symbolic link to `target` (stored as the entry's data, like GNU cpio does).
    pub fn symlink(&mut self, name: &[u8], meta: Meta, target: &[u8]) -> Result<(), CpioError> {
        let size = u32::try_from(target.len()).map_err(|_| CpioError::TooLarge {
            size: target.len() as u64,
        })?;
        let ino = self.take_ino();
        self.entry(name, ino, S_IFLNK | 0o777, 1, meta, size)?;
        self.write(target)?;
        self.pad()
    }

    /// Where the data of the last file added starts in the archive.
    pub fn last_data_offset(&self) -> u64 {
        self.last_data
    }

    /// Bytes written so far (where the next entry starts).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The underlying writer (to flush it, say).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Write the trailer and return the underlying writer (not flushed).
    pub fn finish(mut self) -> Result<W, CpioError> {
        self.entry(TRAILER, 0, 0, 1, Meta::default(), 0)?;
        Ok(self.out)
    }

    fn take_ino(&mut self) -> u32 {
        let ino = self.next_ino;
        self.next_ino += 1;
        ino
    }

    /// Write a header and the padded name.
    fn entry(
        &mut self,
        name: &[u8],
        ino: u32,
        mode: u32,
        nlink: u32,
        meta: Meta,
        filesize: u32,
    ) -> Result<(), CpioError> {
        if name.is_empty() || name.contains(&0) {
            return Err(CpioError::BadName(
                String::from_utf8_lossy(name).into_owned(),
            ));
        }
        let namesize = u32::try_from(name.len() + 1).map_err(|_| CpioError::TooLarge {
            size: name.len() as u64,
        })?;
        let fields: [u32; 13] = [
            ino, mode, meta.uid, meta.gid, nlink, meta.mtime, filesize, 0, // devmajor
            0, // devminor
            0, // rdevmajor
            0, // rdevminor
            namesize, 0, // check (unused by newc)
        ];
        let mut header = String::with_capacity(110);
        header.push_str("070701");
        for field in fields {
            header.push_str(&format!("{field:08x}"));
        }
        self.write(header.as_bytes())?;
        self.write(name)?;
        self.write(&[0])?;
        self.pad()
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// NULs up to the next multiple of 4.
    fn pad(&mut self) -> Result<(), CpioError> {
        let padding = (4 - self.offset % 4) % 4;
        self.write(&[0; 3][..padding as usize])?;
        Ok(())
    }
}

/// An entry of an archive read back by [`Archive::open`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    /// `c_mode`: type and permission bits.
    pub mode: u32,
    /// Where the entry's data starts in the archive file.
    pub offset: u64,
    /// The data's size.
    pub size: u64,
}

impl IndexEntry {
    /// The file type bits.
    pub fn kind(&self) -> u32 {
        self.mode & S_IFMT
    }
}

/// What a path names in an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    /// An entry of the archive.
    Entry(IndexEntry),
    /// A directory that has no entry of its own but is the parent of entries (or the root).
    ImplicitDir,
}

/// Why a path cannot be resolved in an archive.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// No entry.
    #[error("no such file or directory")]
    NotFound,
    /// A component that is not a directory.
    #[error("not a directory")]
    NotDir,
    /// More than 40 symbolic links.
    #[error("too many levels of symbolic links")]
    Loop,
    /// A symbolic link's target could not be read.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// A newc archive on disk, indexed by path (names read as absolute: `a/b`, `./a/b` and `/a/b`
/// are all `/a/b`, stored as `a/b`; a later entry of the same name wins, as the kernel's
/// loader does).
#[derive(Debug)]
pub struct Archive {
    file: File,
    entries: HashMap<Vec<u8>, IndexEntry>,
    /// Every parent directory of an entry, stored as `a/b` (the root is the empty name).
    parents: HashSet<Vec<u8>>,
}

/// `./a//b/` → `a/b`: the name relative to the root, without empty or `.` components.
pub fn normalize_name(name: &[u8]) -> Vec<u8> {
    let parts: Vec<&[u8]> = name
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .collect();
    parts.join(&b'/')
}

impl Archive {
    /// Read the headers of the newc archive in `file` (the data is skipped, not read).
    pub fn open(file: File) -> Result<Archive, String> {
        let mut entries = HashMap::new();
        let mut parents = HashSet::new();
        parents.insert(Vec::new());
        let file_len = file
            .metadata()
            .map_err(|e| format!("cannot read the archive: {e}"))?
            .len();
        let mut reader = BufReader::with_capacity(64 * 1024, &file);
        let mut at: u64 = 0;
        let mut count = 0u64;
        loop {
            let mut header = [0u8; 110];
            read_all(&mut reader, &mut header).map_err(|e| {
                format!(
                    "truncated archive: header of entry {} at byte {at}: {e}",
                    count + 1
                )
            })?;
            if &header[..6] != b"070701" && &header[..6] != b"070702" {
                return Err(format!(
                    "byte {at}: not a newc header (magic {:?}; only the newc format, \
                     cpio -H newc, is read)",
                    String::from_utf8_lossy(&header[..6])
                ));
            }
            let field = |i: usize| -> Result<u32, String> {
                let hex = &header[6 + 8 * i..14 + 8 * i];
                std::str::from_utf8(hex)
                    .ok()
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("byte {at}: bad header field {hex:?}"))
            };
            let mode = field(1)?;
            let size = u64::from(field(6)?);
            let namesize = field(11)? as usize;
            if namesize == 0 {
                return Err(format!("byte {at}: entry without a name"));
            }
            let mut name = vec![0u8; namesize];
            read_all(&mut reader, &mut name)
                .map_err(|e| format!("truncated archive: name at byte {at}: {e}"))?;
            name.pop(); // the NUL
            let name_end = at + 110 + namesize as u64;
            let data_at = name_end.next_multiple_of(4);
            let next = (data_at + size).next_multiple_of(4);
            if name == TRAILER {
                break;
            }
            let skip = i64::try_from(next - name_end).map_err(|_| "entry too large")?;
            reader
                .seek_relative(skip)
                .map_err(|e| format!("cannot read the archive: {e}"))?;
            if data_at + size > file_len {
                return Err(format!(
                    "truncated archive: {} needs {size} bytes at byte {data_at}",
                    String::from_utf8_lossy(&name)
                ));
            }
            at = next;
            count += 1;
            let name = normalize_name(&name);
            if name.is_empty() {
                continue; // "." : the root itself
            }
            let mut parent = name.as_slice();
            while let Some(slash) = parent.iter().rposition(|&b| b == b'/') {
                parent = &parent[..slash];
                if !parents.insert(parent.to_vec()) {
                    break;
                }
            }
            entries.insert(
                name,
                IndexEntry {
                    mode,
                    offset: data_at,
                    size,
                },
            );
        }
        drop(reader);
        Ok(Archive {
            file,
            entries,
            parents,
        })
    }

    /// The number of entries (without the root and the trailer).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the archive has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The data of an entry.
    pub fn read(&self, entry: &IndexEntry) -> io::Result<Vec<u8>> {
        let mut data = vec![0u8; entry.size as usize];
        self.file.read_exact_at(&mut data, entry.offset)?;
        Ok(data)
    }

    /// Resolve `path` (absolute; `..` and `.` allowed) as the kernel would: symbolic links in
    /// the middle are followed (absolute targets from the root), the last one only when
    /// `follow_last`. Returns the resolved name (`a/b`, root = empty) and what it is.
    pub fn resolve(&self, path: &[u8], follow_last: bool) -> Result<(Vec<u8>, Node), LookupError> {
        let mut todo: Vec<Vec<u8>> = components(path);
        todo.reverse(); // a stack: the next component last
        let mut current: Vec<Vec<u8>> = Vec::new();
        let mut links = 0;
        while let Some(part) = todo.pop() {
            if part == b".." {
                current.pop();
                continue;
            }
            current.push(part);
            let name = current.join(&b'/');
            match self.entries.get(&name) {
                Some(entry) if entry.kind() == S_IFLNK && (follow_last || !todo.is_empty()) => {
                    links += 1;
                    if links > 40 {
                        return Err(LookupError::Loop);
                    }
                    let target = self.read(entry)?;
                    current.pop();
                    if target.starts_with(b"/") {
                        current.clear();
                    }
                    let mut more = components(&target);
                    more.reverse();
                    todo.extend(more);
                }
                Some(entry) if !todo.is_empty() && entry.kind() != S_IFDIR => {
                    return Err(LookupError::NotDir);
                }
                Some(_) => {}
                None if self.parents.contains(&name) => {}
                None => return Err(LookupError::NotFound),
            }
        }
        let name = current.join(&b'/');
        let node = match self.entries.get(&name) {
            Some(entry) => Node::Entry(*entry),
            None => Node::ImplicitDir,
        };
        Ok((name, node))
    }
}

/// The components of a path, without empty and `.` ones (`..` kept).
fn components(path: &[u8]) -> Vec<Vec<u8>> {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .map(<[u8]>::to_vec)
        .collect()
}

/// `read_exact` with a clearer message at the end of the file.
fn read_all(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<()> {
    reader.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            io::Error::new(io::ErrorKind::UnexpectedEof, "the file ends early")
        } else {
            e
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One parsed entry: (fields, name, data).
    type Parsed = ([u32; 13], Vec<u8>, Vec<u8>);

    /// An independent newc reader that insists on every byte: magic, hex digits, NUL padding.
    fn parse(archive: &[u8]) -> Vec<Parsed> {
        let mut entries = Vec::new();
        let mut at: usize = 0;
        loop {
            assert!(at.is_multiple_of(4), "entry at {at} not aligned");
            let header = &archive[at..at + 110];
            assert_eq!(&header[..6], b"070701");
            let mut fields = [0u32; 13];
            for (i, field) in fields.iter_mut().enumerate() {
                let hex = std::str::from_utf8(&header[6 + 8 * i..14 + 8 * i]).expect("ascii");
                assert!(hex
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
                *field = u32::from_str_radix(hex, 16).expect("hex");
            }
            let namesize = fields[11] as usize;
            let name = &archive[at + 110..at + 110 + namesize];
            assert_eq!(name.last(), Some(&0), "name not NUL-terminated");
            let name = name[..namesize - 1].to_vec();
            let mut data_at = at + 110 + namesize;
            while !data_at.is_multiple_of(4) {
                assert_eq!(archive[data_at], 0, "name padding must be NUL");
                data_at += 1;
            }
            let size = fields[6] as usize;
            let data = archive[data_at..data_at + size].to_vec();
            at = data_at + size;
            while !at.is_multiple_of(4) {
                assert_eq!(archive[at], 0, "data padding must be NUL");
                at += 1;
            }
            let last = name == TRAILER;
            entries.push((fields, name, data));
            if last {
                assert_eq!(at, archive.len(), "bytes after the trailer");
                return entries;
            }
        }
    }

    fn sample() -> Vec<u8> {
        let mut w = CpioWriter::new(Vec::new());
        w.dir(b"bin", 0o755, 7).expect("dir");
        w.file(b"hello", 0o755, 1_700_000_000, b"\x7fELF and more")
            .expect("file");
        w.file(b"bin/a", 0o644, 0, b"").expect("empty file");
        w.file(b"bin/abc", 0o4755, 0, b"xyz").expect("file");
        w.finish().expect("finish")
    }

    #[test]
    fn archive_parses_back_byte_by_byte() {
        let archive = sample();
        let entries = parse(&archive);
        let names: Vec<&[u8]> = entries.iter().map(|e| e.1.as_slice()).collect();
        assert_eq!(
            names,
            [&b"bin"[..], b"hello", b"bin/a", b"bin/abc", TRAILER]
        );

        let (fields, _, data) = &entries[1];
        assert_eq!(fields[0], 2, "inode");
        assert_eq!(fields[1], 0o100_755, "mode");
        assert_eq!(fields[4], 1, "nlink");
        assert_eq!(fields[5], 1_700_000_000, "mtime");
        assert_eq!(fields[6], 13, "filesize");
        assert_eq!(fields[11], 6, "namesize");
        assert_eq!(data, b"\x7fELF and more");
        assert_eq!(entries[0].0[1], 0o040_755);
        assert_eq!(entries[0].0[4], 2);
        assert_eq!(entries[3].0[1], 0o104_755);
        assert_eq!(entries[4].0, [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 11, 0]);
    }

    #[test]
    fn exact_bytes_of_a_small_archive() {
        let mut w = CpioWriter::new(Vec::new());
        w.file(b"ab", 0o755, 0, b"x").expect("file");
        let archive = w.finish().expect("finish");
        let header = concat!(
            "070701", "00000001", "000081ed", "00000000", "00000000", "00000001", "00000000",
            "00000001", "00000000", "00000000", "00000000", "00000000", "00000003", "00000000",
        );
        let mut expected = header.as_bytes().to_vec();
        expected.extend_from_slice(b"ab\0\0\0\0"); // 110 + 3 = 113, padded to 116
        expected.extend_from_slice(b"x\0\0\0");
        assert_eq!(&archive[..expected.len()], &expected[..]);
        assert_eq!(archive.len() % 4, 0);
    }

    #[test]
    fn rejects_bad_names() {
        let mut w = CpioWriter::new(Vec::new());
        assert!(matches!(
            w.file(b"", 0o644, 0, b""),
            Err(CpioError::BadName(_))
        ));
        assert!(matches!(
            w.file(b"a\0b", 0o644, 0, b""),
            Err(CpioError::BadName(_))
        ));
    }

    #[test]
    fn symlinks_owners_and_streamed_files() {
        let mut w = CpioWriter::new(Vec::new());
        let meta = Meta {
            perm: 0o640,
            uid: 1000,
            gid: 100,
            mtime: 5,
        };
        w.symlink(b"bin/sh", meta, b"busybox").expect("symlink");
        let copied = w
            .file_from(b"short", meta, 6, &mut &b"abc"[..])
            .expect("file");
        assert_eq!(copied, 3, "the source gave 3 bytes");
        let entries = parse(&w.finish().expect("finish"));
        let (fields, name, data) = &entries[0];
        assert_eq!(name, b"bin/sh");
        assert_eq!(fields[1], 0o120_777);
        assert_eq!((fields[2], fields[3], fields[5]), (1000, 100, 5));
        assert_eq!(data, b"busybox");
        assert_eq!(entries[1].0[1], 0o100_640);
        assert_eq!(entries[1].2, b"abc\0\0\0", "completed with NULs");
    }

    fn archive_file(bytes: &[u8]) -> (tempfile::TempDir, Archive) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.cpio");
        std::fs::write(&path, bytes).expect("write");
        let archive = Archive::open(File::open(&path).expect("open")).expect("valid archive");
        (dir, archive)
    }

    #[test]
    fn archive_index_and_resolution() {
        let mut w = CpioWriter::new(Vec::new());
        let meta = Meta {
            perm: 0o755,
            ..Meta::default()
        };
        w.dir(b".", 0o755, 0).expect("root");
        w.file(b"./usr/bin/busybox", 0o755, 0, b"ELF!")
            .expect("file");
        w.symlink(b"bin", meta, b"usr/bin").expect("symlink");
        w.symlink(b"usr/bin/sh", meta, b"busybox").expect("symlink");
        w.symlink(b"usr/bin/abs", meta, b"/usr/bin/sh")
            .expect("symlink");
        w.symlink(b"loop", meta, b"loop").expect("symlink");
        w.file(b"etc/x", 0o644, 0, b"x\n").expect("file");
        w.dir(b"empty", 0o700, 0).expect("dir");
        let (_dir, archive) = archive_file(&w.finish().expect("finish"));
        assert_eq!(archive.len(), 7);

        let file = |path: &str| match archive.resolve(path.as_bytes(), true) {
            Ok((name, Node::Entry(e))) => (
                String::from_utf8(name).expect("utf8"),
                archive.read(&e).expect("read"),
            ),
            other => panic!("{path}: {other:?}"),
        };
        assert_eq!(
            file("/bin/sh"),
            ("usr/bin/busybox".into(), b"ELF!".to_vec())
        );
        assert_eq!(file("/bin/abs").0, "usr/bin/busybox");
        assert_eq!(file("/etc/../bin/./busybox").0, "usr/bin/busybox");
        assert_eq!(file("etc/x").1, b"x\n");
        assert!(matches!(
            archive.resolve(b"/usr", true),
            Ok((_, Node::ImplicitDir))
        ));
        assert!(matches!(archive.resolve(b"/", true), Ok((n, Node::ImplicitDir)) if n.is_empty()));
        match archive.resolve(b"/bin/sh", false) {
            Ok((name, Node::Entry(e))) => {
                assert_eq!(name, b"usr/bin/sh");
                assert_eq!(e.kind(), S_IFLNK);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(archive.resolve(b"/empty", true), Ok((_, Node::Entry(e))) if e.kind() == S_IFDIR)
        );
        assert!(matches!(
            archive.resolve(b"/nope", true),
            Err(LookupError::NotFound)
        ));
        assert!(matches!(
            archive.resolve(b"/etc/x/y", true),
            Err(LookupError::NotDir)
        ));
        assert!(matches!(
            archive.resolve(b"/loop", true),
            Err(LookupError::Loop)
        ));
    }

    #[test]
    fn archive_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad");
        let open = |bytes: &[u8]| {
            std::fs::write(&path, bytes).expect("write");
            Archive::open(File::open(&path).expect("open")).expect_err("invalid")
        };
        assert!(open(b"070707").contains("truncated"), "{}", open(b"070707"));
        let mut odc = b"070707".to_vec();
        odc.resize(200, b'0');
        assert!(open(&odc).contains("not a newc header"), "{}", open(&odc));
        let good = sample();
        assert!(open(&good[..good.len() - 20]).contains("truncated"));
        let mut cut = CpioWriter::new(Vec::new());
        cut.file(b"big", 0o644, 0, &[7; 1000]).expect("file");
        let cut = cut.finish().expect("finish");
        assert!(
            open(&cut[..500]).contains("truncated"),
            "{}",
            open(&cut[..500])
        );
    }

    /// GNU cpio, when installed, lists the archive with the same names, modes and sizes.
    #[test]
    fn gnu_cpio_agrees() {
        use std::process::{Command, Stdio};
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.cpio");
        std::fs::write(&path, sample()).expect("write");
        let output = match Command::new("cpio")
            .args(["-itv", "--quiet", "-F"])
            .arg(&path)
            .stdin(Stdio::null())
            .output()
        {
            Ok(output) => output,
            Err(_) => {
                eprintln!("cpio is not installed: skipping the cross-check");
                return;
            }
        };
        assert!(output.status.success(), "{output:?}");
        let listing = String::from_utf8_lossy(&output.stdout);
        let lines: Vec<Vec<&str>> = listing
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(lines.len(), 4, "{listing}");
        let summary: Vec<(&str, &str, &str)> = lines
            .iter()
            .map(|f| (f[0], f[4], *f.last().expect("name")))
            .collect();
        assert_eq!(
            summary,
            [
                ("drwxr-xr-x", "0", "bin"),
                ("-rwxr-xr-x", "13", "hello"),
                ("-rw-r--r--", "0", "bin/a"),
                ("-rwsr-xr-x", "3", "bin/abc"),
            ]
        );
    }
}
