//! Character devices, found by device number when a device node is opened (as Linux's chrdev table):
//! null (1,3), zero (1,5), full (1,7), random (1,8), urandom (1,9), tty (5,0), console (5,1) and the
//! terminal /dev/pts/N (136,N), the last three being the program's console.

use alloc::sync::Arc;
use core::any::Any;
use linux_raw_sys::general as g;

use super::file::{seek_in, ConsoleFile, DeviceFile, File, InodeFile};
use super::{major, makedev, minor, Env, FileType, InodeRef, NewNode, Path, Stat};
use crate::errno::Errno;
use crate::platform::Platform;

/// The memory devices of major 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemDev {
    Null,
    Zero,
    Full,
    Random,
    Urandom,
}

impl File for MemDev {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn read(&self, plat: &mut dyn Platform, _pos: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        match self {
            MemDev::Null => Ok(0),
            MemDev::Zero | MemDev::Full => {
                buf.fill(0);
                Ok(buf.len())
            }
            MemDev::Random | MemDev::Urandom => {
                plat.fill_random(buf);
                Ok(buf.len())
            }
        }
    }
    fn write(&self, _plat: &mut dyn Platform, _pos: u64, data: &[u8]) -> Result<usize, Errno> {
        match self {
            MemDev::Full => Err(Errno::ENOSPC),
            _ => Ok(data.len()),
        }
    }
    fn positional(&self) -> bool {
        true
    }
    fn seek(&self, cur: u64, off: i64, whence: u32) -> Result<u64, Errno> {
        match self {
            // null_lseek: always 0; the others keep the position (noop_llseek).
            MemDev::Null => Ok(0),
            MemDev::Full | MemDev::Zero => Ok(cur),
            MemDev::Random | MemDev::Urandom => match whence {
                g::SEEK_SET | g::SEEK_CUR | g::SEEK_END => Ok(cur),
                _ => seek_in(cur, off, whence, 0, || Ok(0)).map(|_| cur),
            },
        }
    }
    fn stat(&self, _env: &Env) -> Result<Stat, Errno> {
        let minor = match self {
            MemDev::Null => 3,
            MemDev::Zero => 5,
            MemDev::Full => 7,
            MemDev::Random => 8,
            MemDev::Urandom => 9,
        };
        Ok(Stat {
            mode: 0o020666,
            nlink: 1,
            rdev: makedev(1, minor),
            blksize: 4096,
            ..Stat::default()
        })
    }
}

/// The driver of device number `rdev`: ENXIO when there is none.
pub fn driver(rdev: u64) -> Result<Arc<dyn File>, Errno> {
    Ok(match (major(rdev), minor(rdev)) {
        (1, 3) => Arc::new(MemDev::Null),
        (1, 5) => Arc::new(MemDev::Zero),
        (1, 7) => Arc::new(MemDev::Full),
        (1, 8) => Arc::new(MemDev::Random),
        (1, 9) => Arc::new(MemDev::Urandom),
        (5, 0) | (5, 1) | (136, _) => ConsoleFile::new(0),
        _ => return Err(Errno::ENXIO),
    })
}

/// The open file for the node at `path`: the inode's own (devices, /proc), a device driver, or the plain
/// file/directory.
pub fn open_node(env: &Env, path: &Path, flags: u32) -> Result<Arc<dyn File>, Errno> {
    if let Some(f) = path.inode.open(env, flags) {
        return f;
    }
    match path.inode.file_type() {
        FileType::CharDev => {
            let rdev = path.inode.stat()?.rdev;
            Ok(Arc::new(DeviceFile {
                node: path.clone(),
                dev: driver(rdev)?,
            }))
        }
        FileType::BlockDev | FileType::Socket => Err(Errno::ENXIO),
        // A fifo of a filesystem without fifos.
        FileType::Fifo => Err(Errno::ENXIO),
        _ => Ok(InodeFile::new(path.clone())),
    }
}

/// Fill a fresh /dev: the device nodes, the links to /proc/self/fd, and the directories shm and pts.
pub fn populate(d: &InodeRef) -> Result<(), Errno> {
    for (name, rdev, perm) in [
        (&b"null"[..], makedev(1, 3), 0o666),
        (b"zero", makedev(1, 5), 0o666),
        (b"full", makedev(1, 7), 0o666),
        (b"random", makedev(1, 8), 0o666),
        (b"urandom", makedev(1, 9), 0o666),
        (b"tty", makedev(5, 0), 0o666),
        (b"console", makedev(5, 1), 0o600),
    ] {
        d.create(name, NewNode::Special(FileType::CharDev, rdev), perm)?;
    }
    for (name, target) in [
        (&b"fd"[..], &b"/proc/self/fd"[..]),
        (b"stdin", b"/proc/self/fd/0"),
        (b"stdout", b"/proc/self/fd/1"),
        (b"stderr", b"/proc/self/fd/2"),
    ] {
        d.create(name, NewNode::Symlink(target), 0o777)?;
    }
    d.create(b"shm", NewNode::Dir, 0o1777)?;
    d.create(b"pts", NewNode::Dir, 0o755)?;
    Ok(())
}

/// devpts, as much of it as the console needs: `/dev/pts/0` is the terminal the program's fds 0-2
/// show (same device, inode and st_rdev as their fstat, so ttyname finds it), and `ptmx`.
pub struct DevPts {
    /// None: the directory; Some(0): the terminal; Some(1): ptmx.
    node: Option<u8>,
}

/// The root of a new devpts.
pub fn devpts() -> Arc<DevPts> {
    Arc::new(DevPts { node: None })
}

impl DevPts {
    fn entries() -> [(&'static [u8], u8); 2] {
        [(b"0", 0), (b"ptmx", 1)]
    }
}

impl super::Inode for DevPts {
    fn as_any(&self) -> &dyn core::any::Any {
        self
    }
    fn file_type(&self) -> FileType {
        match self.node {
            None => FileType::Dir,
            Some(_) => FileType::CharDev,
        }
    }
    fn ino(&self) -> u64 {
        match self.node {
            None => 1,
            Some(0) => 3,
            Some(_) => 2,
        }
    }
    fn dev(&self) -> u64 {
        makedev(0, 0x16)
    }
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(match self.node {
            None => Stat {
                dev: self.dev(),
                ino: 1,
                mode: 0o040755,
                nlink: 2,
                blksize: 1024,
                ..Stat::default()
            },
            Some(0) => ConsoleFile::new(0).stat(&Env::none())?,
            Some(_) => Stat {
                dev: self.dev(),
                ino: 2,
                mode: 0o020000,
                nlink: 1,
                rdev: makedev(5, 2),
                blksize: 1024,
                ..Stat::default()
            },
        })
    }
    fn lookup(&self, _env: &Env, name: &[u8]) -> Result<super::InodeRef, Errno> {
        if self.node.is_some() {
            return Err(Errno::ENOTDIR);
        }
        Self::entries()
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, i)| Arc::new(DevPts { node: Some(*i) }) as super::InodeRef)
            .ok_or(Errno::ENOENT)
    }
    fn readdir(
        &self,
        _env: &Env,
        pos: u64,
        f: &mut dyn FnMut(&super::DirEntry, u64) -> bool,
    ) -> Result<(), Errno> {
        if self.node.is_some() {
            return Err(Errno::ENOTDIR);
        }
        let mut all = alloc::vec![
            (b".".to_vec(), 1, FileType::Dir),
            (b"..".to_vec(), 1, FileType::Dir),
        ];
        all.push((b"0".to_vec(), 3, FileType::CharDev));
        all.push((b"ptmx".to_vec(), 2, FileType::CharDev));
        for (i, (name, ino, ty)) in all.into_iter().enumerate().skip(pos as usize) {
            if !f(&super::DirEntry { ino, ty, name }, i as u64 + 1) {
                break;
            }
        }
        Ok(())
    }
    fn open(&self, _env: &Env, _flags: u32) -> Option<Result<Arc<dyn File>, Errno>> {
        match self.node {
            Some(0) => Some(Ok(ConsoleFile::new(0))),
            // No pseudo-terminal pairs: opening ptmx fails as on a system without devpts.
            Some(_) => Some(Err(Errno::ENODEV)),
            None => None,
        }
    }
}
