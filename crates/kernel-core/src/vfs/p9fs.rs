//! 9p: a host directory shared through virtio-9p (QEMU's 9P2000.L server), as Linux's v9fs in its
//! uncached mode: every operation is a request, nothing is cached but the open fids.
//!
//! Each inode holds a walked fid (never opened, so it can be walked from) and, once used, fids opened
//! for reading, writing and listing. Fids of dropped inodes are clunked at the next request (an inode
//! may be dropped while the client is busy). `..` never goes to the server: the VFS handles it with the
//! parent each directory inode keeps, and stops at the mount's root, so nothing outside the shared
//! directory is reachable. A read-only share refuses every change with EROFS.

use alloc::boxed::Box;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use spin::Mutex;

use super::{
    anon_dev, DirEntry, Env, FileType, Inode, InodeRef, NewNode, SetAttr, Stat, StatFs, Timespec,
    NAME_MAX,
};
use crate::errno::Errno;
use linux_raw_sys::general as g;

/// Largest message asked for (the server may choose less).
pub const MSIZE: u32 = 512 << 10;

/// A transport as a boxed trait object (what the kernel hands over).
pub struct BoxedTransport(pub Box<dyn p9::Transport + Send>);

impl p9::Transport for BoxedTransport {
    fn rpc(&mut self, request: &[u8], reply: &mut Vec<u8>) -> Result<(), p9::Errno> {
        self.0.rpc(request, reply)
    }
}

type Client = p9::Client<BoxedTransport>;

struct Shared {
    client: Mutex<Client>,
    dev: u64,
    read_only: bool,
    /// Fids of dropped inodes, clunked before the next request.
    dead: Mutex<Vec<u32>>,
}

impl Shared {
    /// Run requests with the client (after clunking dead fids); 9P errors are Linux errnos.
    fn with<R>(&self, f: impl FnOnce(&mut Client) -> Result<R, p9::Errno>) -> Result<R, Errno> {
        let mut c = self.client.lock();
        let dead: Vec<u32> = core::mem::take(&mut *self.dead.lock());
        for fid in dead {
            let _ = c.clunk(fid);
        }
        f(&mut c).map_err(Errno)
    }
}

/// Fids opened for I/O, made when first needed.
#[derive(Default)]
struct OpenFids {
    read: Option<u32>,
    write: Option<u32>,
    dir: Option<u32>,
}

/// An inode of a 9p share.
pub struct P9Inode {
    fs: Arc<Shared>,
    fid: u32,
    qid: p9::Qid,
    ty: FileType,
    /// The directory it was found in (None at the root).
    parent: Option<Arc<P9Inode>>,
    me: Weak<P9Inode>,
    open: Mutex<OpenFids>,
}

/// Connect over `transport` and attach to the export; returns the root of the share.
pub fn mount(
    transport: Box<dyn p9::Transport + Send>,
    read_only: bool,
) -> Result<Arc<P9Inode>, Errno> {
    let client = p9::Client::connect(BoxedTransport(transport), MSIZE, b"").map_err(Errno)?;
    let fs = Arc::new(Shared {
        client: Mutex::new(client),
        dev: anon_dev(),
        read_only,
        dead: Mutex::new(Vec::new()),
    });
    let (fid, qid) = fs.with(|c| {
        let (fid, _) = c.walk(p9::ROOT_FID, &[])?;
        let attr = c.getattr(fid)?;
        Ok((fid, attr.qid))
    })?;
    Ok(P9Inode::new(fs, fid, qid, None))
}

fn type_of(qid: &p9::Qid) -> FileType {
    if qid.ty & p9::QTDIR != 0 {
        FileType::Dir
    } else if qid.ty & p9::QTSYMLINK != 0 {
        FileType::Symlink
    } else {
        FileType::Regular
    }
}

fn ts((sec, nsec): (u64, u64)) -> Timespec {
    Timespec {
        sec: sec as i64,
        nsec: nsec as u32,
    }
}

impl P9Inode {
    fn new(fs: Arc<Shared>, fid: u32, qid: p9::Qid, parent: Option<Arc<P9Inode>>) -> Arc<P9Inode> {
        Arc::new_cyclic(|me| P9Inode {
            fs,
            fid,
            qid,
            ty: type_of(&qid),
            parent,
            me: me.clone(),
            open: Mutex::new(OpenFids::default()),
        })
    }

    fn writable(&self) -> Result<(), Errno> {
        if self.fs.read_only {
            Err(Errno::EROFS)
        } else {
            Ok(())
        }
    }

    /// The child `name` as a new inode.
    fn child(&self, name: &[u8]) -> Result<Arc<P9Inode>, Errno> {
        let (fid, qid) = self.fs.with(|c| {
            let (fid, qid) = c.walk(self.fid, &[name])?;
            Ok((fid, qid.unwrap_or_default()))
        })?;
        Ok(P9Inode::new(self.fs.clone(), fid, qid, self.me.upgrade()))
    }

    /// A fid of this file opened with `flags` (cached by kind).
    fn opened(&self, write: bool) -> Result<u32, Errno> {
        let mut o = self.open.lock();
        let slot = if write { &mut o.write } else { &mut o.read };
        if let Some(f) = *slot {
            return Ok(f);
        }
        let flags = if write { g::O_WRONLY } else { g::O_RDONLY };
        let fid = self.fs.with(|c| {
            let (fid, _) = c.walk(self.fid, &[])?;
            if let Err(e) = c.lopen(fid, flags) {
                let _ = c.clunk(fid);
                return Err(e);
            }
            Ok(fid)
        })?;
        *slot = Some(fid);
        Ok(fid)
    }

    fn dir_fid(&self) -> Result<u32, Errno> {
        let mut o = self.open.lock();
        if let Some(f) = o.dir {
            return Ok(f);
        }
        let fid = self.fs.with(|c| {
            let (fid, _) = c.walk(self.fid, &[])?;
            if let Err(e) = c.lopen(fid, g::O_RDONLY | g::O_DIRECTORY) {
                let _ = c.clunk(fid);
                return Err(e);
            }
            Ok(fid)
        })?;
        o.dir = Some(fid);
        Ok(fid)
    }

    fn same_fs(&self, other: &InodeRef) -> Result<Arc<P9Inode>, Errno> {
        other
            .as_any()
            .downcast_ref::<P9Inode>()
            .filter(|o| Arc::ptr_eq(&o.fs, &self.fs))
            .and_then(|o| o.me.upgrade())
            .ok_or(Errno::EXDEV)
    }

    fn exists(&self, name: &[u8]) -> Result<bool, Errno> {
        match self.child(name) {
            Ok(_) => Ok(true),
            Err(Errno::ENOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

impl Drop for P9Inode {
    fn drop(&mut self) {
        let o = self.open.lock();
        let mut dead = self.fs.dead.lock();
        dead.push(self.fid);
        dead.extend(
            o.read
                .iter()
                .chain(o.write.iter())
                .chain(o.dir.iter())
                .copied(),
        );
    }
}

impl Inode for P9Inode {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn file_type(&self) -> FileType {
        self.ty
    }
    fn ino(&self) -> u64 {
        self.qid.path
    }
    fn dev(&self) -> u64 {
        self.fs.dev
    }
    fn stat(&self) -> Result<Stat, Errno> {
        let a = self.fs.with(|c| c.getattr(self.fid))?;
        Ok(Stat {
            dev: self.fs.dev,
            ino: a.qid.path,
            mode: a.mode,
            nlink: a.nlink,
            uid: a.uid,
            gid: a.gid,
            rdev: a.rdev,
            size: a.size,
            blksize: a.blksize,
            blocks: a.blocks,
            atime: ts(a.atime),
            mtime: ts(a.mtime),
            ctime: ts(a.ctime),
            btime: None,
        })
    }
    fn setattr(&self, a: &SetAttr) -> Result<(), Errno> {
        self.writable()?;
        let t = |t: Option<Timespec>| t.map(|t| Some((t.sec as u64, u64::from(t.nsec))));
        let s = p9::SetAttr {
            mode: a.mode,
            uid: a.uid,
            gid: a.gid,
            size: a.size,
            atime: t(a.atime),
            mtime: t(a.mtime),
        };
        self.fs.with(|c| c.setattr(self.fid, &s))
    }
    fn statfs(&self) -> Result<StatFs, Errno> {
        let s = self.fs.with(|c| c.statfs(self.fid))?;
        Ok(StatFs {
            magic: u64::from(s.ty),
            bsize: u64::from(s.bsize),
            blocks: s.blocks,
            bfree: s.bfree,
            bavail: s.bavail,
            files: s.files,
            ffree: s.ffree,
            fsid: s.fsid,
            namelen: u64::from(s.namelen),
        })
    }

    fn lookup(&self, _env: &Env, name: &[u8]) -> Result<InodeRef, Errno> {
        if self.ty != FileType::Dir {
            return Err(Errno::ENOTDIR);
        }
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        Ok(self.child(name)?)
    }
    fn parent(&self) -> Option<InodeRef> {
        self.parent.clone().map(|p| p as InodeRef)
    }
    fn create(&self, name: &[u8], kind: NewNode, perm: u32) -> Result<InodeRef, Errno> {
        if self.ty != FileType::Dir {
            return Err(Errno::ENOTDIR);
        }
        self.writable()?;
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        match kind {
            NewNode::File => {
                let opened = self.fs.with(|c| {
                    let (fid, _) = c.walk(self.fid, &[])?;
                    match c.lcreate(fid, name, g::O_WRONLY | g::O_CREAT | g::O_EXCL, perm) {
                        Ok(_) => Ok(fid),
                        Err(e) => {
                            let _ = c.clunk(fid);
                            Err(e)
                        }
                    }
                })?;
                let child = match self.child(name) {
                    Ok(c) => c,
                    Err(e) => {
                        self.fs.dead.lock().push(opened);
                        return Err(e);
                    }
                };
                child.open.lock().write = Some(opened);
                Ok(child)
            }
            NewNode::Dir => {
                self.fs.with(|c| c.mkdir(self.fid, name, perm))?;
                Ok(self.child(name)?)
            }
            NewNode::Symlink(target) => {
                self.fs.with(|c| c.symlink(self.fid, name, target))?;
                Ok(self.child(name)?)
            }
            NewNode::Special(..) => Err(Errno::EPERM),
        }
    }
    fn link(&self, name: &[u8], target: &InodeRef) -> Result<(), Errno> {
        if self.ty != FileType::Dir {
            return Err(Errno::ENOTDIR);
        }
        self.writable()?;
        let t = self.same_fs(target)?;
        if t.ty == FileType::Dir {
            return Err(Errno::EPERM);
        }
        self.fs.with(|c| c.link(self.fid, t.fid, name))
    }
    fn unlink(&self, name: &[u8], dir: bool) -> Result<(), Errno> {
        if self.ty != FileType::Dir {
            return Err(Errno::ENOTDIR);
        }
        self.writable()?;
        let flags = if dir { g::AT_REMOVEDIR } else { 0 };
        self.fs.with(|c| c.unlinkat(self.fid, name, flags))
    }
    fn rename(&self, old: &[u8], new_dir: &InodeRef, new: &[u8], flags: u32) -> Result<(), Errno> {
        self.writable()?;
        let nd = self.same_fs(new_dir)?;
        if flags & g::RENAME_EXCHANGE != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & g::RENAME_NOREPLACE != 0 {
            if !self.exists(old)? {
                return Err(Errno::ENOENT);
            }
            if nd.exists(new)? {
                return Err(Errno::EEXIST);
            }
        }
        self.fs.with(|c| c.renameat(self.fid, old, nd.fid, new))
    }
    fn readdir(
        &self,
        _env: &Env,
        pos: u64,
        f: &mut dyn FnMut(&DirEntry, u64) -> bool,
    ) -> Result<(), Errno> {
        if self.ty != FileType::Dir {
            return Err(Errno::ENOTDIR);
        }
        let fid = self.dir_fid()?;
        let mut at = pos;
        loop {
            let batch = self.fs.with(|c| c.readdir(fid, at))?;
            if batch.is_empty() {
                return Ok(());
            }
            for e in batch {
                let ty = match u32::from(e.ty) {
                    g::DT_DIR => FileType::Dir,
                    g::DT_LNK => FileType::Symlink,
                    g::DT_CHR => FileType::CharDev,
                    g::DT_BLK => FileType::BlockDev,
                    g::DT_FIFO => FileType::Fifo,
                    g::DT_SOCK => FileType::Socket,
                    _ => FileType::Regular,
                };
                let entry = DirEntry {
                    ino: e.qid.path,
                    ty,
                    name: e.name,
                };
                if !f(&entry, e.offset) {
                    return Ok(());
                }
                at = e.offset;
            }
        }
    }
    fn readlink(&self, _env: &Env) -> Result<Vec<u8>, Errno> {
        if self.ty != FileType::Symlink {
            return Err(Errno::EINVAL);
        }
        self.fs.with(|c| c.readlink(self.fid))
    }
    fn read_at(&self, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if self.ty == FileType::Dir {
            return Err(Errno::EISDIR);
        }
        let fid = self.opened(false)?;
        self.fs.with(|c| {
            let mut done = 0;
            while done < buf.len() {
                let n = c.read(fid, off + done as u64, &mut buf[done..])?;
                if n == 0 {
                    break;
                }
                done += n;
            }
            Ok(done)
        })
    }
    fn write_at(&self, off: u64, data: &[u8]) -> Result<usize, Errno> {
        if self.ty == FileType::Dir {
            return Err(Errno::EISDIR);
        }
        self.writable()?;
        let fid = self.opened(true)?;
        self.fs.with(|c| {
            let mut done = 0;
            while done < data.len() {
                let n = c.write(fid, off + done as u64, &data[done..])?;
                if n == 0 {
                    break;
                }
                done += n;
            }
            Ok(done)
        })
    }
    fn sync(&self, data_only: bool) -> Result<(), Errno> {
        let fid = {
            let o = self.open.lock();
            o.write.or(o.read)
        };
        let fid = match fid {
            Some(f) => f,
            None if self.ty == FileType::Dir => self.dir_fid()?,
            None => self.opened(false)?,
        };
        self.fs.with(|c| c.fsync(fid, data_only))
    }
    fn open(&self, _env: &Env, flags: u32) -> Option<Result<Arc<dyn super::File>, Errno>> {
        // Check access now, as Linux's open does: the host decides who may read and write.
        if self.ty != FileType::Regular {
            return None;
        }
        let acc = flags & g::O_ACCMODE;
        if flags & g::O_PATH != 0 {
            return None;
        }
        if acc != g::O_WRONLY {
            if let Err(e) = self.opened(false) {
                return Some(Err(e));
            }
        }
        if acc != g::O_RDONLY {
            if let Err(e) = self.writable().and_then(|_| self.opened(true)) {
                return Some(Err(e));
            }
        }
        None
    }
}
