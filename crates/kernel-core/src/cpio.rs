//! A reader for cpio archives in the "newc" format (magic 070701, or 070702 with checksums), as built by
//! `cpio -H newc` and the Linux kernel's initramfs tools.

/// One entry of the archive.
#[derive(Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    pub name: &'a [u8],
    pub mode: u32,
    pub data: &'a [u8],
    pub uid: u32,
    pub gid: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: u32,
    /// Device number of a device node (major, minor).
    pub rdev: (u32, u32),
}

/// Why an archive could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum CpioError {
    /// The header at this offset is truncated or has a bad magic or a bad hex field.
    BadHeader(usize),
    /// An entry's name or data runs past the end of the archive.
    Truncated(usize),
}

impl core::fmt::Display for CpioError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CpioError::BadHeader(o) => write!(f, "cpio archive: bad header at offset {o}"),
            CpioError::Truncated(o) => write!(f, "cpio archive: entry at offset {o} is truncated"),
        }
    }
}

/// Whether `data` starts like a newc archive.
pub fn is_newc(data: &[u8]) -> bool {
    data.starts_with(b"070701") || data.starts_with(b"070702")
}

fn hex(field: &[u8]) -> Option<u32> {
    let mut v: u32 = 0;
    for &c in field {
        v = v.checked_mul(16)? + (c as char).to_digit(16)?;
    }
    Some(v)
}

fn align4(x: usize) -> usize {
    (x + 3) & !3
}

/// Iterate over the entries of an archive, up to the `TRAILER!!!` entry.
pub fn entries(data: &[u8]) -> impl Iterator<Item = Result<Entry<'_>, CpioError>> {
    let mut off = 0usize;
    let mut done = false;
    core::iter::from_fn(move || {
        if done {
            return None;
        }
        let res = (|| {
            let h = data.get(off..off + 110).ok_or(CpioError::BadHeader(off))?;
            if !is_newc(h) {
                return Err(CpioError::BadHeader(off));
            }
            let field = |i: usize| hex(&h[6 + i * 8..14 + i * 8]).ok_or(CpioError::BadHeader(off));
            let mode = field(1)?;
            let (uid, gid, mtime) = (field(2)?, field(3)?, field(5)?);
            let rdev = (field(9)?, field(10)?);
            let filesize = field(6)? as usize;
            let namesize = field(11)? as usize;
            let name_start = off + 110;
            let name = data
                .get(name_start..name_start + namesize.saturating_sub(1))
                .ok_or(CpioError::Truncated(off))?;
            let data_start = align4(name_start + namesize);
            let body = data
                .get(data_start..data_start + filesize)
                .ok_or(CpioError::Truncated(off))?;
            let entry_off = off;
            off = align4(data_start + filesize);
            let _ = entry_off;
            Ok(Entry {
                name,
                mode,
                data: body,
                uid,
                gid,
                mtime,
                rdev,
            })
        })();
        match res {
            Ok(e) if e.name == b"TRAILER!!!" => {
                done = true;
                None
            }
            Ok(e) => Some(Ok(e)),
            Err(e) => {
                done = true;
                Some(Err(e))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn entry(out: &mut Vec<u8>, name: &[u8], mode: u32, data: &[u8]) {
        let hdr =
            alloc::format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            1, mode, 0, 0, 1, 0, data.len(), 0, 0, 0, 0, name.len() + 1, 0
        );
        out.extend_from_slice(hdr.as_bytes());
        out.extend_from_slice(name);
        out.push(0);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        out.extend_from_slice(data);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }

    #[test]
    fn reads_entries_until_trailer() {
        let mut a = Vec::new();
        entry(&mut a, b"bin", 0o040755, b"");
        entry(&mut a, b"bin/app", 0o100755, b"hello");
        entry(&mut a, b"TRAILER!!!", 0, b"");
        let e: Vec<_> = entries(&a)
            .collect::<Result<_, _>>()
            .expect("valid archive");
        assert_eq!(e.len(), 2);
        assert_eq!(
            e[1],
            Entry {
                name: b"bin/app",
                mode: 0o100755,
                data: b"hello",
                uid: 0,
                gid: 0,
                mtime: 0,
                rdev: (0, 0)
            }
        );
        a.truncate(200);
        assert!(entries(&a).any(|r| r.is_err()));
        assert_eq!(entries(b"0707").next(), Some(Err(CpioError::BadHeader(0))));
    }
}
