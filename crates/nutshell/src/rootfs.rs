//! `--rootfs DIR|FILE.cpio|FILE.tar[.gz]`: the initrd holding a whole root file system, and
//! PROGRAM found inside it.
//!
//! - A directory is packed into a newc archive with the same relative paths, permission bits,
//!   owners, modification times, symbolic links and empty directories. Hard links become
//!   separate copies; FIFOs, sockets and devices are skipped with a warning.
//! - A cpio archive (newc) is passed to QEMU as it is.
//! - A tar file (plain or gzip-compressed, e.g. from `docker export`) is converted entry by
//!   entry, with the same rules; tar hard links are copies of their target's data.
//!
//! Packing reports progress on stderr once it has taken a second, and stops at a signal.
//! Then the archive is indexed ([`Archive`]) to find PROGRAM the way the kernel will
//! (symbolic links followed, a name without a slash looked up in the guest's PATH) and check
//! that it is a runnable ELF before anything boots.

use std::cell::Cell;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::cpio::{self, Archive, CpioError, CpioWriter, LookupError, Meta, Node};
use crate::program::{describe, ProgramError};

/// The guest's PATH when `--env PATH=...` does not set one (the kernel's default).
pub const DEFAULT_GUEST_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// How many skipped special files are named one by one.
const WARN_LIMIT: usize = 10;

/// Why the root file system cannot be used. The `Display` text follows `nutshell: `.
#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    /// The directory or file does not exist.
    #[error("--rootfs {0}: no such file or directory")]
    NotFound(String),
    /// Not a directory, a newc archive or a tar file; or a damaged archive.
    #[error("--rootfs {path}: {reason}")]
    Format {
        /// The source as given.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A file or directory of the tree could not be read.
    #[error("cannot pack {path}: {}", describe(.error))]
    Read {
        /// The file.
        path: String,
        /// The error.
        error: io::Error,
    },
    /// A file too large for newc (4 GiB - 1).
    #[error(
        "cannot pack {path}: {size} bytes is too large for a cpio (newc) entry (4 GiB - 1 at most)"
    )]
    TooLarge {
        /// The file.
        path: String,
        /// Its size.
        size: u64,
    },
    /// A file shrank while it was packed.
    #[error("cannot pack {0}: it changed while it was packed")]
    Changed(String),
    /// The initrd could not be written.
    #[error("cannot write the initrd: {}", describe(.0))]
    Write(io::Error),
    /// A signal stopped the packing.
    #[error("interrupted by signal {0}")]
    Interrupted(i32),
}

/// What kind of root file system a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A directory to pack.
    Dir,
    /// A newc archive, used as it is.
    Cpio,
    /// A tar file.
    Tar,
    /// A gzip-compressed tar file.
    TarGz,
}

/// Where packing reports progress and warnings (stderr), and how it learns of signals.
pub struct Reporter<'a> {
    out: &'a mut dyn Write,
    /// Progress overwrites one line (stderr is a terminal) or prints a line per second.
    tty: bool,
    /// A signal received, if any: packing stops.
    cancelled: &'a dyn Fn() -> Option<i32>,
    start: Instant,
    last: Option<Instant>,
    /// Whether a progress line is on screen without its newline (tty mode).
    open_line: bool,
    shown: bool,
    warnings: usize,
}

impl<'a> Reporter<'a> {
    /// Report to `out`; `tty` says whether it is a terminal.
    pub fn new(out: &'a mut dyn Write, tty: bool, cancelled: &'a dyn Fn() -> Option<i32>) -> Self {
        Reporter {
            out,
            tty,
            cancelled,
            start: Instant::now(),
            last: None,
            open_line: false,
            shown: false,
            warnings: 0,
        }
    }

    fn check(&self) -> Result<(), RootfsError> {
        match (self.cancelled)() {
            Some(signal) => Err(RootfsError::Interrupted(signal)),
            None => Ok(()),
        }
    }

    /// Show `text` as the progress line, at most every 100 ms (terminal) or every second,
    /// and only once packing has taken a second.
    fn progress(&mut self, text: impl FnOnce() -> String) {
        let now = Instant::now();
        if now.duration_since(self.start) < Duration::from_secs(1) {
            return;
        }
        let every = if self.tty {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(1)
        };
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < every)
        {
            return;
        }
        self.last = Some(now);
        self.shown = true;
        let line = text();
        if self.tty {
            let _ = write!(self.out, "\r\x1b[Knutshell: {line}");
            self.open_line = true;
        } else {
            let _ = writeln!(self.out, "nutshell: {line}");
        }
        let _ = self.out.flush();
    }

    /// The last line, when progress was shown.
    fn finish(&mut self, text: impl FnOnce(Duration) -> String) {
        if self.shown {
            let line = text(self.start.elapsed());
            self.end_line();
            let _ = writeln!(self.out, "nutshell: {line}");
        }
    }

    fn end_line(&mut self) {
        if self.open_line {
            let _ = write!(self.out, "\r\x1b[K");
            self.open_line = false;
        }
    }

    /// A skipped special file: named for the first few, counted after that.
    fn skipped(&mut self, path: &str, what: &str) {
        self.warnings += 1;
        if self.warnings <= WARN_LIMIT {
            self.end_line();
            let _ = writeln!(
                self.out,
                "nutshell: warning: skipping {path}: {what} (special files are not packed)"
            );
        }
    }

    fn skipped_total(&mut self) {
        if self.warnings > WARN_LIMIT {
            self.end_line();
            let _ = writeln!(
                self.out,
                "nutshell: warning: {} more special files skipped",
                self.warnings - WARN_LIMIT
            );
        }
    }
}

/// What `source` is, from its type and first bytes.
pub fn detect(source: &Path) -> Result<Kind, RootfsError> {
    let shown = source.display().to_string();
    let meta = match fs::metadata(source) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(RootfsError::NotFound(shown));
        }
        Err(error) => return Err(RootfsError::Read { path: shown, error }),
    };
    if meta.is_dir() {
        return Ok(Kind::Dir);
    }
    let format = |reason: &str| RootfsError::Format {
        path: shown.clone(),
        reason: reason.to_owned(),
    };
    if !meta.is_file() {
        return Err(format("not a directory nor a regular file"));
    }
    let mut head = Vec::with_capacity(512);
    File::open(source)
        .and_then(|f| f.take(512).read_to_end(&mut head))
        .map_err(|error| RootfsError::Read {
            path: shown.clone(),
            error,
        })?;
    if head.starts_with(b"070701") || head.starts_with(b"070702") {
        Ok(Kind::Cpio)
    } else if head.starts_with(b"070707") {
        Err(format(
            "a cpio archive in the old portable (odc) format: repack it with `cpio -o -H newc`",
        ))
    } else if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Kind::TarGz)
    } else if (head.len() >= 262 && &head[257..262] == b"ustar")
        // A v7 tar, without the ustar magic.
        || (source.extension() == Some(OsStr::new("tar")) && head.len() == 512)
    {
        Ok(Kind::Tar)
    } else {
        Err(format(
            "not a directory, a cpio (newc) archive or a tar file (.tar, .tar.gz)",
        ))
    }
}

/// The initrd for `source`, written into `dir` unless it already is a newc archive, and its
/// index. `exclude` (nutshell's temporary directory) is never packed.
pub fn prepare(
    source: &Path,
    dir: &Path,
    exclude: &Path,
    reporter: &mut Reporter<'_>,
) -> Result<(PathBuf, Archive), RootfsError> {
    let kind = detect(source)?;
    let initrd = match kind {
        Kind::Cpio => source.to_path_buf(),
        Kind::Dir => {
            let out = dir.join("rootfs.cpio");
            pack_dir(source, &out, exclude, reporter)?;
            out
        }
        Kind::Tar | Kind::TarGz => {
            let out = dir.join("rootfs.cpio");
            pack_tar(source, kind == Kind::TarGz, &out, reporter)?;
            out
        }
    };
    let file = File::open(&initrd).map_err(|error| RootfsError::Read {
        path: initrd.display().to_string(),
        error,
    })?;
    let archive = Archive::open(file).map_err(|reason| RootfsError::Format {
        path: source.display().to_string(),
        reason: format!("bad cpio archive: {reason}"),
    })?;
    Ok((initrd, archive))
}

/// One thing to pack from a directory tree.
struct Item {
    /// The name in the archive (relative, `a/b`).
    name: Vec<u8>,
    /// The host path.
    path: PathBuf,
    meta: fs::Metadata,
}

fn meta_of(m: &fs::Metadata) -> Meta {
    Meta {
        perm: m.mode() & 0o7777,
        uid: m.uid(),
        gid: m.gid(),
        mtime: u32::try_from(m.mtime().max(0)).unwrap_or(u32::MAX),
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

/// Pack the tree under `root` into the newc archive `out`.
fn pack_dir(
    root: &Path,
    out: &Path,
    exclude: &Path,
    reporter: &mut Reporter<'_>,
) -> Result<(), RootfsError> {
    let mut items = Vec::new();
    let mut total = 0u64;
    walk(root, &[], exclude, &mut items, &mut total, reporter)?;
    let shown_root = root.display().to_string();
    let file = File::create(out).map_err(RootfsError::Write)?;
    let mut writer = CpioWriter::new(BufWriter::with_capacity(1 << 20, file));
    let (mut files, mut bytes) = (0u64, 0u64);
    let count = items.len();
    for item in &items {
        reporter.check()?;
        let shown = || item.path.display().to_string();
        let meta = meta_of(&item.meta);
        let kind = item.meta.file_type();
        if kind.is_dir() {
            writer.dir_meta(&item.name, meta).map_err(write_error)?;
        } else if kind.is_symlink() {
            let target = fs::read_link(&item.path).map_err(|error| RootfsError::Read {
                path: shown(),
                error,
            })?;
            writer
                .symlink(&item.name, meta, target.as_os_str().as_bytes())
                .map_err(write_error)?;
        } else {
            let size = item.meta.len();
            if u32::try_from(size).is_err() {
                return Err(RootfsError::TooLarge {
                    path: shown(),
                    size,
                });
            }
            let mut data = File::open(&item.path).map_err(|error| RootfsError::Read {
                path: shown(),
                error,
            })?;
            let copied = writer
                .file_from(&item.name, meta, size, &mut data)
                .map_err(|e| match e {
                    CpioError::Io(error) => RootfsError::Read {
                        path: shown(),
                        error,
                    },
                    other => write_error(other),
                })?;
            if copied < size {
                return Err(RootfsError::Changed(shown()));
            }
            bytes += size;
        }
        files += 1;
        reporter.progress(|| {
            format!(
                "packing {shown_root}: {:3.0}% ({files}/{count} files, {:.0}/{:.0} MiB)",
                if total > 0 {
                    100.0 * bytes as f64 / total as f64
                } else {
                    100.0
                },
                mib(bytes),
                mib(total),
            )
        });
    }
    writer
        .finish()
        .map_err(write_error)?
        .flush()
        .map_err(RootfsError::Write)?;
    reporter.skipped_total();
    reporter.finish(|elapsed| {
        format!(
            "packed {shown_root}: {files} files, {:.0} MiB in {:.1} s",
            mib(total),
            elapsed.as_secs_f64()
        )
    });
    Ok(())
}

fn write_error(e: CpioError) -> RootfsError {
    match e {
        CpioError::Io(e) => RootfsError::Write(e),
        other => RootfsError::Write(io::Error::other(other.to_string())),
    }
}

/// Collect the entries below `dir` (whose archive name is `prefix`), sorted by name, parents
/// before children.
fn walk(
    dir: &Path,
    prefix: &[u8],
    exclude: &Path,
    items: &mut Vec<Item>,
    total: &mut u64,
    reporter: &mut Reporter<'_>,
) -> Result<(), RootfsError> {
    reporter.check()?;
    let read_error = |error| RootfsError::Read {
        path: dir.display().to_string(),
        error,
    };
    let mut entries: Vec<fs::DirEntry> = fs::read_dir(dir)
        .map_err(read_error)?
        .collect::<Result<_, _>>()
        .map_err(read_error)?;
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        if path == exclude {
            continue;
        }
        let meta = fs::symlink_metadata(&path).map_err(|error| RootfsError::Read {
            path: path.display().to_string(),
            error,
        })?;
        let mut name = prefix.to_vec();
        if !name.is_empty() {
            name.push(b'/');
        }
        name.extend_from_slice(entry.file_name().as_bytes());
        let kind = meta.file_type();
        let special = if kind.is_fifo() {
            Some("a FIFO")
        } else if kind.is_socket() {
            Some("a socket")
        } else if kind.is_char_device() {
            Some("a character device")
        } else if kind.is_block_device() {
            Some("a block device")
        } else {
            None
        };
        if let Some(what) = special {
            reporter.skipped(&path.display().to_string(), what);
            continue;
        }
        if kind.is_file() {
            *total += meta.len();
        }
        let is_dir = kind.is_dir();
        items.push(Item {
            name: name.clone(),
            path: path.clone(),
            meta,
        });
        if is_dir {
            walk(&path, &name, exclude, items, total, reporter)?;
        }
        let count = items.len();
        reporter.progress(|| format!("reading {}: {count} files", dir.display()));
    }
    Ok(())
}

/// A reader that counts the bytes read (for the progress of a tar file).
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Convert the tar file `source` (gzip-compressed when `gzip`) into the newc archive `out`.
fn pack_tar(
    source: &Path,
    gzip: bool,
    out: &Path,
    reporter: &mut Reporter<'_>,
) -> Result<(), RootfsError> {
    let shown = source.display().to_string();
    let bad = |e: io::Error| RootfsError::Format {
        path: shown.clone(),
        reason: format!("bad tar file: {}", describe(&e)),
    };
    let input = File::open(source).map_err(|error| RootfsError::Read {
        path: shown.clone(),
        error,
    })?;
    let total = input.metadata().map(|m| m.len()).unwrap_or(0);
    let count = Rc::new(Cell::new(0u64));
    let counting = Counting {
        inner: BufReader::with_capacity(1 << 20, input),
        count: Rc::clone(&count),
    };
    let reader: Box<dyn Read> = if gzip {
        Box::new(flate2::read::GzDecoder::new(counting))
    } else {
        Box::new(counting)
    };
    let mut tar = tar::Archive::new(reader);
    let file = File::create(out).map_err(RootfsError::Write)?;
    let mut writer = CpioWriter::new(BufWriter::with_capacity(1 << 20, file));
    // Regular files written so far: name → (data offset, size), for hard links.
    let mut files: HashMap<Vec<u8>, (u64, u64)> = HashMap::new();
    let mut reread: Option<File> = None;
    let mut packed = 0u64;
    for entry in tar.entries().map_err(bad)? {
        reporter.check()?;
        let mut entry = entry.map_err(bad)?;
        let raw = entry.path_bytes().into_owned();
        let name = cpio::normalize_name(&raw);
        let shown_entry = || format!("{shown}: {}", String::from_utf8_lossy(&raw));
        if name.is_empty() {
            continue; // "./": the root
        }
        if name.split(|&b| b == b'/').any(|c| c == b"..") {
            reporter.skipped(&shown_entry(), "a path with `..`");
            continue;
        }
        let header = entry.header();
        let meta = Meta {
            perm: header.mode().unwrap_or(0o644) & 0o7777,
            uid: header
                .uid()
                .ok()
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(0),
            gid: header
                .gid()
                .ok()
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(0),
            mtime: header
                .mtime()
                .ok()
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(0),
        };
        let kind = header.entry_type();
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let size = entry.size();
                if u32::try_from(size).is_err() {
                    return Err(RootfsError::TooLarge {
                        path: shown_entry(),
                        size,
                    });
                }
                let copied =
                    writer
                        .file_from(&name, meta, size, &mut entry)
                        .map_err(|e| match e {
                            CpioError::Io(e) => bad(e),
                            other => write_error(other),
                        })?;
                if copied < size {
                    return Err(RootfsError::Format {
                        path: shown.clone(),
                        reason: "bad tar file: it ends in the middle of a file".into(),
                    });
                }
                files.insert(name, (writer.last_data_offset(), size));
            }
            tar::EntryType::Directory => writer.dir_meta(&name, meta).map_err(write_error)?,
            tar::EntryType::Symlink => {
                let target = entry.link_name_bytes().unwrap_or_default().into_owned();
                writer.symlink(&name, meta, &target).map_err(write_error)?;
            }
            tar::EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .map(|t| cpio::normalize_name(&t))
                    .unwrap_or_default();
                let Some(&(offset, size)) = files.get(&target) else {
                    reporter.skipped(&shown_entry(), "a hard link to a file not in the archive");
                    continue;
                };
                // The target's data is already in the output: read it back from there.
                writer.get_mut().flush().map_err(RootfsError::Write)?;
                let copy = match &mut reread {
                    Some(file) => file,
                    None => reread.insert(File::open(out).map_err(RootfsError::Write)?),
                };
                copy.seek(SeekFrom::Start(offset))
                    .map_err(RootfsError::Write)?;
                let mut data = Vec::new();
                copy.take(size)
                    .read_to_end(&mut data)
                    .map_err(RootfsError::Write)?;
                writer
                    .file_from(&name, meta, size, &mut &data[..])
                    .map_err(write_error)?;
                files.insert(name, (writer.last_data_offset(), size));
            }
            tar::EntryType::Char => reporter.skipped(&shown_entry(), "a character device"),
            tar::EntryType::Block => reporter.skipped(&shown_entry(), "a block device"),
            tar::EntryType::Fifo => reporter.skipped(&shown_entry(), "a FIFO"),
            _ => {} // pax and GNU extension headers, volume labels
        }
        packed += 1;
        let read = count.get();
        reporter.progress(|| {
            format!(
                "converting {shown}: {:3.0}% ({packed} files, {:.0}/{:.0} MiB read)",
                if total > 0 {
                    100.0 * read as f64 / total as f64
                } else {
                    100.0
                },
                mib(read),
                mib(total)
            )
        });
    }
    writer
        .finish()
        .map_err(write_error)?
        .flush()
        .map_err(RootfsError::Write)?;
    reporter.skipped_total();
    reporter.finish(|elapsed| {
        format!(
            "converted {shown}: {packed} entries in {:.1} s",
            elapsed.as_secs_f64()
        )
    });
    Ok(())
}

/// PROGRAM found in the root file system.
#[derive(Debug)]
pub struct GuestProgram {
    /// The absolute path the kernel is given (as found, not symlink-resolved: busybox
    /// applets reached through a link keep their name).
    pub path: Vec<u8>,
    /// The program's bytes (the resolved file), checked by the ELF loader.
    pub image: Vec<u8>,
}

/// Find PROGRAM in `archive` as the kernel will run it: a path with a slash is taken from
/// `workdir` (default `/`) when relative; a name without one is looked up in `guest_path`
/// (a PATH value). `rootfs` is how the source is shown in messages.
pub fn find_program(
    archive: &Archive,
    program: &OsStr,
    workdir: Option<&str>,
    guest_path: &[u8],
    rootfs: &str,
) -> Result<GuestProgram, ProgramError> {
    let shown = program.to_string_lossy().into_owned();
    let bytes = program.as_bytes();
    let not_found = || ProgramError::NotInRootfs {
        program: shown.clone(),
        rootfs: rootfs.to_owned(),
    };
    if bytes.is_empty() {
        return Err(not_found());
    }
    let workdir = workdir.unwrap_or("/").as_bytes();
    let absolute = |path: &[u8]| -> Vec<u8> {
        let joined = if path.starts_with(b"/") {
            path.to_vec()
        } else {
            [workdir, b"/", path].concat()
        };
        let mut clean = b"/".to_vec();
        clean.extend(cpio::normalize_name(&joined));
        clean
    };
    let candidates: Vec<Vec<u8>> = if bytes.contains(&b'/') {
        vec![absolute(bytes)]
    } else {
        guest_path
            .split(|&b| b == b':')
            .map(|dir| absolute(&[if dir.is_empty() { b"." } else { dir }, b"/", bytes].concat()))
            .collect()
    };
    let only = candidates.len() == 1;
    for path in candidates {
        let entry = match archive.resolve(&path, true) {
            Ok((_, Node::Entry(entry))) => entry,
            Ok((_, Node::ImplicitDir)) if only => return Err(ProgramError::IsDirectory(shown)),
            Err(LookupError::Io(error)) => {
                return Err(ProgramError::Unreadable {
                    program: shown,
                    error,
                })
            }
            _ if only => return Err(not_found()),
            _ => continue,
        };
        match entry.kind() {
            cpio::S_IFREG if only || entry.mode & 0o111 != 0 => {}
            cpio::S_IFDIR if only => return Err(ProgramError::IsDirectory(shown)),
            _ if only => return Err(ProgramError::NotRegular(shown)),
            _ => continue,
        }
        let image = archive
            .read(&entry)
            .map_err(|error| ProgramError::Unreadable {
                program: shown.clone(),
                error,
            })?;
        if let Err(error) = elf_loader::parse(&image) {
            return Err(ProgramError::NotRunnable {
                program: shown,
                error,
            });
        }
        return Ok(GuestProgram { path, image });
    }
    Err(not_found())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn never() -> Option<i32> {
        None
    }

    /// A tree with a program, a symlink to it, a file, an empty directory, a FIFO.
    fn tree(root: &Path) {
        let exe = std::env::current_exe().expect("current_exe");
        fs::create_dir_all(root.join("bin")).expect("mkdir");
        fs::create_dir_all(root.join("etc/empty")).expect("mkdir");
        fs::copy(&exe, root.join("bin/prog")).expect("copy");
        symlink("prog", root.join("bin/link")).expect("symlink");
        fs::write(root.join("etc/x"), b"hello rootfs\n").expect("write");
        fs::set_permissions(root.join("etc/x"), fs::Permissions::from_mode(0o640)).expect("chmod");
        fs::set_permissions(root.join("etc/empty"), fs::Permissions::from_mode(0o700))
            .expect("chmod");
        let fifo = std::ffi::CString::new(root.join("fifo").as_os_str().as_bytes()).expect("path");
        // SAFETY: mkfifo reads a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    }

    fn listing(archive_path: &Path) -> Vec<(String, u32, Vec<u8>)> {
        let archive = Archive::open(File::open(archive_path).expect("open")).expect("archive");
        let mut names = Vec::new();
        for name in ["bin", "bin/prog", "bin/link", "etc", "etc/x", "etc/empty"] {
            match archive.resolve(name.as_bytes(), false) {
                Ok((_, Node::Entry(e))) => {
                    let data = if e.kind() == cpio::S_IFREG && e.size > 100 {
                        e.size.to_le_bytes().to_vec()
                    } else {
                        archive.read(&e).expect("read")
                    };
                    names.push((name.to_owned(), e.mode, data));
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        assert!(
            archive.resolve(b"fifo", false).is_err(),
            "the FIFO is skipped"
        );
        names
    }

    #[test]
    fn directory_tar_and_cpio_agree() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root");
        tree(&root);
        let out = dir.path().join("out");
        fs::create_dir(&out).expect("mkdir");
        let mut stderr = Vec::new();
        let cancel = never;
        let mut reporter = Reporter::new(&mut stderr, false, &cancel);
        let (initrd, archive) =
            prepare(&root, &out, Path::new("/nonexistent"), &mut reporter).expect("packs");
        let from_dir = listing(&initrd);
        assert_eq!(from_dir[0].1, 0o040_755);
        assert_eq!(
            from_dir[2],
            ("bin/link".into(), 0o120_777, b"prog".to_vec())
        );
        assert_eq!(
            from_dir[4],
            ("etc/x".into(), 0o100_640, b"hello rootfs\n".to_vec())
        );
        assert_eq!(from_dir[5].1, 0o040_700);
        let text = String::from_utf8_lossy(&stderr).into_owned();
        assert!(
            text.contains("warning: skipping ") && text.contains("fifo: a FIFO"),
            "{text}"
        );

        let found = find_program(&archive, OsStr::new("/bin/link"), None, b"", "r").expect("found");
        assert_eq!(found.path, b"/bin/link");
        let found =
            find_program(&archive, OsStr::new("link"), None, b"/usr/bin:/bin", "r").expect("PATH");
        assert_eq!(found.path, b"/bin/link");
        let found = find_program(&archive, OsStr::new("./prog"), Some("/bin"), b"", "r")
            .expect("relative to the workdir");
        assert_eq!(found.path, b"/bin/prog");
        let err = find_program(&archive, OsStr::new("nope"), None, b"/bin", "r").expect_err("x");
        assert_eq!(err.status(), 127);
        assert_eq!(err.to_string(), "nope: not found in the root file system r");
        let err = find_program(&archive, OsStr::new("/etc"), None, b"", "r").expect_err("dir");
        assert_eq!(err.status(), 126);
        let err = find_program(&archive, OsStr::new("/etc/x"), None, b"", "r").expect_err("text");
        assert_eq!(err.status(), 126);

        // The same tree as a tar (GNU tar, when installed) and as a cpio (from the first).
        let tar_path = dir.path().join("root.tar");
        let tar_ok = std::process::Command::new("tar")
            .arg("-cf")
            .arg(&tar_path)
            .arg("-C")
            .arg(&root)
            .arg(".")
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if tar_ok {
            let out2 = dir.path().join("out2");
            fs::create_dir(&out2).expect("mkdir");
            let mut reporter = Reporter::new(&mut stderr, false, &cancel);
            let (initrd, _) =
                prepare(&tar_path, &out2, Path::new("/x"), &mut reporter).expect("tar");
            assert_eq!(listing(&initrd), from_dir);
            // Compressed too.
            let gz = dir.path().join("root.tar.gz");
            let mut encoder = flate2::write::GzEncoder::new(
                File::create(&gz).expect("create"),
                Default::default(),
            );
            io::copy(&mut File::open(&tar_path).expect("open"), &mut encoder).expect("gzip");
            encoder.finish().expect("finish");
            let mut reporter = Reporter::new(&mut stderr, false, &cancel);
            let (initrd, _) = prepare(&gz, &out2, Path::new("/x"), &mut reporter).expect("tar.gz");
            assert_eq!(listing(&initrd), from_dir);
        } else {
            eprintln!("tar is not installed: skipping the tar cross-check");
        }
        let copy = dir.path().join("copy.cpio");
        fs::copy(&initrd, &copy).expect("copy");
        let mut reporter = Reporter::new(&mut stderr, false, &cancel);
        let (same, _) = prepare(&copy, &out, Path::new("/x"), &mut reporter).expect("cpio");
        assert_eq!(same, copy, "a cpio is used as it is");
    }

    #[test]
    fn tar_hard_links_and_escapes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tar_path = dir.path().join("t.tar");
        let mut builder = tar::Builder::new(File::create(&tar_path).expect("create"));
        let mut header = tar::Header::new_gnu();
        header.set_size(5);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, "./a/file", &b"hello"[..])
            .expect("file");
        let mut link = tar::Header::new_gnu();
        link.set_size(0);
        link.set_mode(0o600);
        link.set_entry_type(tar::EntryType::Link);
        builder
            .append_link(&mut link, "a/hard", "./a/file")
            .expect("link");
        let mut dev = tar::Header::new_gnu();
        dev.set_size(0);
        dev.set_entry_type(tar::EntryType::Char);
        builder
            .append_data(&mut dev, "dev/null", &b""[..])
            .expect("dev");
        builder.finish().expect("finish");
        drop(builder);

        let mut stderr = Vec::new();
        let cancel = never;
        let mut reporter = Reporter::new(&mut stderr, false, &cancel);
        let (_, archive) =
            prepare(&tar_path, dir.path(), Path::new("/x"), &mut reporter).expect("converts");
        match archive.resolve(b"/a/hard", true) {
            Ok((_, Node::Entry(e))) => {
                assert_eq!(e.mode, 0o100_600);
                assert_eq!(archive.read(&e).expect("read"), b"hello");
            }
            other => panic!("{other:?}"),
        }
        assert!(archive.resolve(b"/dev/null", true).is_err());
        let text = String::from_utf8_lossy(&stderr).into_owned();
        assert!(text.contains("dev/null: a character device"), "{text}");
    }

    #[test]
    fn errors_name_the_source() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing");
        assert_eq!(
            detect(&missing).expect_err("missing").to_string(),
            format!("--rootfs {}: no such file or directory", missing.display())
        );
        let text = dir.path().join("notes.txt");
        fs::write(&text, b"just text").expect("write");
        assert!(detect(&text)
            .expect_err("text")
            .to_string()
            .contains("not a directory, a cpio (newc) archive or a tar file"));
        let odc = dir.path().join("old.cpio");
        fs::write(&odc, b"070707000000").expect("write");
        assert!(detect(&odc)
            .expect_err("odc")
            .to_string()
            .contains("-H newc"));
        let bad = dir.path().join("bad.cpio");
        fs::write(&bad, b"070701zzzz").expect("write");
        let mut stderr = Vec::new();
        let cancel = never;
        let mut reporter = Reporter::new(&mut stderr, false, &cancel);
        let err = prepare(&bad, dir.path(), Path::new("/x"), &mut reporter).expect_err("bad");
        assert!(err.to_string().contains("bad cpio archive"), "{err}");
        // A signal stops the packing.
        let cancel = || Some(2);
        let mut reporter = Reporter::new(&mut stderr, false, &cancel);
        let out = dir.path().join("o");
        fs::create_dir(&out).expect("mkdir");
        assert!(matches!(
            prepare(dir.path(), &out, Path::new("/x"), &mut reporter),
            Err(RootfsError::Interrupted(2))
        ));
    }
}
