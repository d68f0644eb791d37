//! A writer for cpio archives in the "newc" format (`cpio -H newc`, the Linux initramfs format).
//!
//! Each entry is a 110-byte ASCII header — the magic `070701` and 13 fields of 8 hex digits —
//! followed by the NUL-terminated name padded with NULs to a multiple of 4 bytes (counting from
//! the header's start), then the data padded likewise. The archive ends with an entry named
//! `TRAILER!!!`. Names are written as given: nutshell uses relative names (`hello`, not
//! `/hello`), like `find . | cpio -o -H newc` run from the root, and the kernel reads `name` as
//! `/name` (see docs/PROTOCOL.md).

use std::io::{self, Write};

/// `S_IFREG`: regular file type bits of `c_mode`.
pub const S_IFREG: u32 = 0o100_000;
/// `S_IFDIR`: directory type bits of `c_mode`.
pub const S_IFDIR: u32 = 0o040_000;

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
}

impl<W: Write> CpioWriter<W> {
    /// A writer that appends to `out`.
    pub fn new(out: W) -> Self {
        CpioWriter {
            out,
            offset: 0,
            next_ino: 1,
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
        let size = u32::try_from(data.len()).map_err(|_| CpioError::TooLarge {
            size: data.len() as u64,
        })?;
        let ino = self.take_ino();
        self.entry(name, ino, S_IFREG | (perm & 0o7777), 1, mtime, size)?;
        self.write(data)?;
        self.pad()
    }

    /// Add a directory with permission bits `perm`.
    pub fn dir(&mut self, name: &[u8], perm: u32, mtime: u32) -> Result<(), CpioError> {
        let ino = self.take_ino();
        self.entry(name, ino, S_IFDIR | (perm & 0o7777), 2, mtime, 0)
    }

    /// Write the trailer and return the underlying writer (not flushed).
    pub fn finish(mut self) -> Result<W, CpioError> {
        self.entry(TRAILER, 0, 0, 1, 0, 0)?;
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
        mtime: u32,
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
            ino, mode, 0, // uid
            0, // gid
            nlink, mtime, filesize, 0, // devmajor
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
