//! tmpfs: files in memory, as Linux's shmem. The root filesystem (filled from the initrd, whose file data
//! is borrowed in place until first written), `/dev`, `/dev/shm` and `/sys` are instances.
//!
//! Directory positions (getdents d_off) are sequence numbers given to entries when they are created, so
//! removing entries while a directory is being read does not skip the others. Sizes and st_blocks are
//! Linux's: a directory is 40 bytes plus 20 per entry, data takes whole pages. A file grown by truncate
//! stores nothing past its data: reads there give zeros (a hole, as SEEK_HOLE reports).

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;

use super::{
    anon_dev, Clock, DirEntry, Env, FileType, Inode, InodeRef, NewNode, SetAttr, Stat, StatFs,
    Timespec, NAME_MAX, PATH_MAX,
};
use crate::errno::Errno;

/// Size Linux's shmem gives each directory entry.
const BOGO_DIRENT_SIZE: u64 = 20;
/// Largest file size (Linux's MAX_LFS_FILESIZE).
const MAX_FILE_SIZE: u64 = i64::MAX as u64;

/// What all inodes of one tmpfs share.
struct Shared {
    dev: u64,
    next_ino: AtomicU64,
    clock: Clock,
}

/// What an archive entry says about a file besides its type, permissions and data.
#[derive(Clone, Copy, Debug, Default)]
pub struct ArchiveMeta {
    pub uid: u32,
    pub gid: u32,
    /// Modification (and access) time, seconds since the epoch; None: now.
    pub mtime: Option<i64>,
    /// Device number of a device node.
    pub rdev: u64,
}

impl ArchiveMeta {
    fn apply(&self, n: &mut Node) {
        n.uid = self.uid;
        n.gid = self.gid;
        if let Some(t) = self.mtime {
            let t = Timespec { sec: t, nsec: 0 };
            n.mtime = t;
            n.atime = t;
        }
    }
}

/// A new, empty tmpfs; returns its root directory (inode 1) with permissions `perm`.
pub fn new_fs(clock: Clock, perm: u32) -> Arc<TmpInode> {
    let shared = Arc::new(Shared {
        dev: anon_dev(),
        next_ino: AtomicU64::new(2),
        clock,
    });
    TmpInode::new(shared, 1, FileType::Dir, perm, Data::new_dir(Weak::new()))
}

struct DirData {
    /// name → (position, inode)
    entries: BTreeMap<Vec<u8>, (u64, Arc<TmpInode>)>,
    /// position → name, for readdir
    order: BTreeMap<u64, Vec<u8>>,
    next_pos: u64,
    parent: Weak<TmpInode>,
}

/// One page of a file.
enum Page {
    /// Never written: zeros.
    Hole,
    /// Still the initrd's bytes (shorter than a page only at the end of the data).
    Static(&'static [u8]),
    Owned(Box<[u8]>),
}

/// A regular file's data: pages, each copied from the initrd or allocated when first written.
struct FileData {
    pages: Vec<Page>,
    size: u64,
    /// The whole initrd data the file was made from, while no byte of it changed (exec borrows it).
    origin: Option<&'static [u8]>,
}

impl FileData {
    fn new(data: Cow<'static, [u8]>) -> Result<FileData, Errno> {
        let size = data.len() as u64;
        Ok(match data {
            Cow::Borrowed(b) => FileData {
                pages: b.chunks(PAGE).map(Page::Static).collect(),
                size,
                origin: Some(b),
            },
            Cow::Owned(v) => {
                let mut pages = Vec::new();
                for c in v.chunks(PAGE) {
                    let mut p = zeroed_page()?;
                    p[..c.len()].copy_from_slice(c);
                    pages.push(Page::Owned(p));
                }
                FileData {
                    pages,
                    size,
                    origin: None,
                }
            }
        })
    }

    fn read(&self, off: u64, buf: &mut [u8]) -> usize {
        if off >= self.size {
            return 0;
        }
        let len = (buf.len() as u64).min(self.size - off) as usize;
        let mut done = 0;
        while done < len {
            let at = off as usize + done;
            let (i, in_page) = (at / PAGE, at % PAGE);
            let n = (PAGE - in_page).min(len - done);
            let dst = &mut buf[done..done + n];
            match self.pages.get(i) {
                Some(Page::Static(s)) => {
                    let have = s.len().saturating_sub(in_page).min(n);
                    dst[..have].copy_from_slice(&s[in_page..in_page + have]);
                    dst[have..].fill(0);
                }
                Some(Page::Owned(p)) => dst.copy_from_slice(&p[in_page..in_page + n]),
                Some(Page::Hole) | None => dst.fill(0),
            }
            done += n;
        }
        len
    }

    fn write(&mut self, off: u64, data: &[u8]) -> Result<(), Errno> {
        let end = off as usize + data.len();
        let npages = end.div_ceil(PAGE);
        if self.pages.len() < npages {
            self.pages
                .try_reserve(npages - self.pages.len())
                .map_err(|_| Errno::ENOSPC)?;
            self.pages.resize_with(npages, || Page::Hole);
        }
        self.origin = None;
        let mut done = 0;
        while done < data.len() {
            let at = off as usize + done;
            let (i, in_page) = (at / PAGE, at % PAGE);
            let n = (PAGE - in_page).min(data.len() - done);
            let page = &mut self.pages[i];
            let owned = match page {
                Page::Owned(p) => p,
                _ => {
                    let p = if n == PAGE {
                        // A whole page: no need to zero it first.
                        let mut v: Vec<u8> = Vec::new();
                        v.try_reserve_exact(PAGE).map_err(|_| Errno::ENOSPC)?;
                        v.extend_from_slice(&data[done..done + n]);
                        v.into_boxed_slice()
                    } else {
                        let mut p = zeroed_page()?;
                        if let Page::Static(s) = page {
                            p[..s.len()].copy_from_slice(s);
                        }
                        p
                    };
                    *page = Page::Owned(p);
                    match page {
                        Page::Owned(p) => p,
                        _ => return Err(Errno::EIO),
                    }
                }
            };
            owned[in_page..in_page + n].copy_from_slice(&data[done..done + n]);
            done += n;
        }
        self.size = self.size.max(end as u64);
        Ok(())
    }

    fn truncate(&mut self, size: u64) {
        if size < self.size {
            self.origin = None;
            let keep = (size as usize).div_ceil(PAGE);
            self.pages.truncate(keep);
            self.pages.shrink_to(keep);
            let tail = size as usize % PAGE;
            if tail != 0 {
                if let Some(last) = self.pages.last_mut() {
                    match last {
                        Page::Static(s) => *s = &s[..tail.min(s.len())],
                        Page::Owned(p) => p[tail..].fill(0),
                        Page::Hole => {}
                    }
                }
            }
        }
        self.size = size;
    }

    /// Pages holding data (for st_blocks).
    fn stored_pages(&self) -> u64 {
        self.pages
            .iter()
            .filter(|p| !matches!(p, Page::Hole))
            .count() as u64
    }

    /// Where the data ends: the end of the last stored page (a hole follows), or the size.
    fn data_end(&self) -> u64 {
        let last = self.pages.iter().rposition(|p| !matches!(p, Page::Hole));
        last.map_or(0, |i| ((i + 1) * PAGE) as u64).min(self.size)
    }
}

const PAGE: usize = 4096;

/// A zero-filled page, or ENOSPC when memory runs out.
fn zeroed_page() -> Result<Box<[u8]>, Errno> {
    let mut v: Vec<u8> = Vec::new();
    v.try_reserve_exact(PAGE).map_err(|_| Errno::ENOSPC)?;
    v.resize(PAGE, 0);
    Ok(v.into_boxed_slice())
}

enum Data {
    Dir(DirData),
    File(FileData),
    Symlink(Vec<u8>),
    /// A device node (its number), fifo or socket; a fifo's buffer while some end of it is open.
    Special(u64, Weak<super::pipe::Pipe>),
}

impl Data {
    fn new_dir(parent: Weak<TmpInode>) -> Data {
        Data::Dir(DirData {
            entries: BTreeMap::new(),
            order: BTreeMap::new(),
            next_pos: 2,
            parent,
        })
    }
}

struct Node {
    perm: u32,
    uid: u32,
    gid: u32,
    nlink: u64,
    atime: Timespec,
    mtime: Timespec,
    ctime: Timespec,
    btime: Timespec,
    data: Data,
}

/// An inode of a tmpfs.
pub struct TmpInode {
    ino: u64,
    ty: FileType,
    shared: Arc<Shared>,
    me: Weak<TmpInode>,
    node: Mutex<Node>,
}

impl TmpInode {
    fn new(shared: Arc<Shared>, ino: u64, ty: FileType, perm: u32, data: Data) -> Arc<TmpInode> {
        let now = shared.clock.now();
        let nlink = if ty == FileType::Dir { 2 } else { 1 };
        Arc::new_cyclic(|me| TmpInode {
            ino,
            ty,
            shared,
            me: me.clone(),
            node: Mutex::new(Node {
                perm: perm & 0o7777,
                uid: 0,
                gid: 0,
                nlink,
                atime: now,
                mtime: now,
                ctime: now,
                btime: now,
                data,
            }),
        })
    }

    fn now(&self) -> Timespec {
        self.shared.clock.now()
    }

    fn this(&self) -> Arc<TmpInode> {
        self.me.upgrade().expect("a live inode")
    }

    /// A new inode of this filesystem (not yet linked anywhere).
    fn new_inode(&self, kind: NewNode, perm: u32) -> Result<Arc<TmpInode>, Errno> {
        let ino = self.shared.next_ino.fetch_add(1, Ordering::Relaxed);
        let (ty, data) = match kind {
            NewNode::File => (
                FileType::Regular,
                Data::File(FileData {
                    pages: Vec::new(),
                    size: 0,
                    origin: None,
                }),
            ),
            NewNode::Dir => (FileType::Dir, Data::new_dir(self.me.clone())),
            NewNode::Symlink(t) => {
                if t.len() >= PATH_MAX {
                    return Err(Errno::ENAMETOOLONG);
                }
                (FileType::Symlink, Data::Symlink(t.to_vec()))
            }
            NewNode::Special(ty, rdev) => (ty, Data::Special(rdev, Weak::new())),
        };
        let perm = if ty == FileType::Symlink { 0o777 } else { perm };
        Ok(TmpInode::new(self.shared.clone(), ino, ty, perm, data))
    }

    /// The data of a regular file, borrowed when it still comes from the initrd.
    pub fn file_data(&self) -> Option<Cow<'static, [u8]>> {
        let n = self.node.lock();
        match &n.data {
            Data::File(f) => f.origin.map(Cow::Borrowed),
            _ => None,
        }
    }

    /// An entry of this directory.
    fn get(&self, name: &[u8]) -> Result<Arc<TmpInode>, Errno> {
        let n = self.node.lock();
        match &n.data {
            Data::Dir(d) => d
                .entries
                .get(name)
                .map(|e| e.1.clone())
                .ok_or(Errno::ENOENT),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// Link `child` as `name` (no checks), updating sizes, link counts and times.
    fn attach(n: &mut Node, name: &[u8], child: Arc<TmpInode>, now: Timespec) {
        if let Data::Dir(d) = &mut n.data {
            let pos = d.next_pos;
            d.next_pos += 1;
            d.order.insert(pos, name.to_vec());
            if child.ty == FileType::Dir {
                n.nlink += 1;
            }
            d.entries.insert(name.to_vec(), (pos, child));
            n.mtime = now;
            n.ctime = now;
        }
    }

    /// Unlink `name` (no checks).
    fn detach(n: &mut Node, name: &[u8], now: Timespec) -> Option<Arc<TmpInode>> {
        if let Data::Dir(d) = &mut n.data {
            let (pos, child) = d.entries.remove(name)?;
            d.order.remove(&pos);
            if child.ty == FileType::Dir {
                n.nlink -= 1;
            }
            n.mtime = now;
            n.ctime = now;
            return Some(child);
        }
        None
    }

    /// Create `path` (relative to this directory) with `mode` and `data`, creating missing parent
    /// directories. An existing entry is replaced, except a directory, which only gets its permissions
    /// updated.
    pub fn insert_path(
        &self,
        path: &[u8],
        mode: u32,
        data: Cow<'static, [u8]>,
    ) -> Result<(), Errno> {
        self.insert_archive(path, mode, data, &ArchiveMeta::default())
    }

    /// Fill from an archive entry: like [`TmpInode::insert_path`], with the owner, modification time and
    /// device number the archive records.
    pub fn insert_archive(
        &self,
        path: &[u8],
        mode: u32,
        data: Cow<'static, [u8]>,
        meta: &ArchiveMeta,
    ) -> Result<(), Errno> {
        let comps: Vec<&[u8]> = path
            .split(|c| *c == b'/')
            .filter(|c| !c.is_empty() && *c != b".")
            .collect();
        let Some((last, parents)) = comps.split_last() else {
            if mode & 0o170000 == 0o040000 {
                self.node.lock().perm = mode & 0o7777;
            }
            return Ok(());
        };
        let mut dir = self.this();
        for c in parents {
            dir = match dir.get(c) {
                Ok(d) => d,
                Err(Errno::ENOENT) => {
                    let d = dir.new_inode(NewNode::Dir, 0o755)?;
                    let now = dir.now();
                    Self::attach(&mut dir.node.lock(), c, d.clone(), now);
                    d
                }
                Err(e) => return Err(e),
            };
        }
        let ty = FileType::from_mode(mode);
        let child = match ty {
            Some(FileType::Dir) => {
                if let Ok(existing) = dir.get(last) {
                    if existing.ty == FileType::Dir {
                        let mut n = existing.node.lock();
                        n.perm = mode & 0o7777;
                        meta.apply(&mut n);
                        return Ok(());
                    }
                }
                dir.new_inode(NewNode::Dir, mode)?
            }
            Some(FileType::Symlink) => dir.new_inode(NewNode::Symlink(&data), 0o777)?,
            Some(FileType::Regular) => {
                let f = dir.new_inode(NewNode::File, mode)?;
                if let Data::File(d) = &mut f.node.lock().data {
                    *d = FileData::new(data)?;
                }
                f
            }
            Some(t) => dir.new_inode(NewNode::Special(t, meta.rdev), mode)?,
            None => return Ok(()),
        };
        meta.apply(&mut child.node.lock());
        // Filling from an archive keeps the directory's own times (an archive lists a directory before
        // its entries, as Linux's initramfs unpacking keeps them too).
        let mut n = dir.node.lock();
        let (mtime, ctime) = (n.mtime, n.ctime);
        Self::detach(&mut n, last, mtime);
        Self::attach(&mut n, last, child, mtime);
        n.ctime = ctime;
        Ok(())
    }

    /// Whether `self` is `other` or one of its ancestors.
    fn is_ancestor_of(&self, other: &Arc<TmpInode>) -> bool {
        let mut cur = Some(other.clone());
        while let Some(c) = cur {
            if c.ino == self.ino {
                return true;
            }
            cur = match &c.node.lock().data {
                Data::Dir(d) => d.parent.upgrade(),
                _ => None,
            };
        }
        false
    }

    fn set_parent(child: &Arc<TmpInode>, parent: &Arc<TmpInode>) {
        if let Data::Dir(d) = &mut child.node.lock().data {
            d.parent = Arc::downgrade(parent);
        }
    }

    fn is_empty_dir(&self) -> bool {
        matches!(&self.node.lock().data, Data::Dir(d) if d.entries.is_empty())
    }
}

impl Inode for TmpInode {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn file_type(&self) -> FileType {
        self.ty
    }

    fn ino(&self) -> u64 {
        self.ino
    }

    fn dev(&self) -> u64 {
        self.shared.dev
    }

    fn stat(&self) -> Result<Stat, Errno> {
        let n = self.node.lock();
        let (size, blocks, rdev) = match &n.data {
            Data::Dir(d) => (
                2 * BOGO_DIRENT_SIZE + d.entries.len() as u64 * BOGO_DIRENT_SIZE,
                0,
                0,
            ),
            Data::File(f) => (f.size, f.stored_pages() * 8, 0),
            Data::Symlink(t) => (t.len() as u64, 0, 0),
            Data::Special(rdev, _) => (0, 0, *rdev),
        };
        Ok(Stat {
            dev: self.shared.dev,
            ino: self.ino,
            mode: self.ty.mode_bits() | n.perm,
            nlink: n.nlink,
            uid: n.uid,
            gid: n.gid,
            rdev,
            size,
            blksize: 4096,
            blocks,
            atime: n.atime,
            mtime: n.mtime,
            ctime: n.ctime,
            btime: Some(n.btime),
        })
    }

    fn setattr(&self, a: &SetAttr) -> Result<(), Errno> {
        let now = self.now();
        let mut n = self.node.lock();
        if let Some(size) = a.size {
            match &mut n.data {
                Data::File(f) => {
                    if size > MAX_FILE_SIZE {
                        return Err(Errno::EFBIG);
                    }
                    f.truncate(size);
                }
                Data::Dir(_) => return Err(Errno::EISDIR),
                _ => return Err(Errno::EINVAL),
            }
            n.mtime = now;
        }
        if let Some(m) = a.mode {
            n.perm = m & 0o7777;
        }
        if let Some(u) = a.uid {
            n.uid = u;
        }
        if let Some(g) = a.gid {
            n.gid = g;
        }
        if let Some(t) = a.atime {
            n.atime = t;
        }
        if let Some(t) = a.mtime {
            n.mtime = t;
        }
        n.ctime = now;
        Ok(())
    }

    fn statfs(&self) -> Result<StatFs, Errno> {
        Ok(StatFs {
            magic: u64::from(linux_raw_sys::general::TMPFS_MAGIC),
            bsize: 4096,
            blocks: 0,
            bfree: 0,
            bavail: 0,
            files: 0,
            ffree: 0,
            fsid: 0,
            namelen: NAME_MAX as u64,
        })
    }

    fn lookup(&self, _env: &Env, name: &[u8]) -> Result<InodeRef, Errno> {
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        Ok(self.get(name)?)
    }

    fn parent(&self) -> Option<InodeRef> {
        match &self.node.lock().data {
            Data::Dir(d) => d.parent.upgrade().map(|p| p as InodeRef),
            _ => None,
        }
    }

    fn create(&self, name: &[u8], kind: NewNode, perm: u32) -> Result<InodeRef, Errno> {
        if self.ty != FileType::Dir {
            return Err(Errno::ENOTDIR);
        }
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        {
            let n = self.node.lock();
            if n.nlink == 0 {
                return Err(Errno::ENOENT);
            }
            if let Data::Dir(d) = &n.data {
                if d.entries.contains_key(name) {
                    return Err(Errno::EEXIST);
                }
            }
        }
        let child = self.new_inode(kind, perm)?;
        let now = self.now();
        Self::attach(&mut self.node.lock(), name, child.clone(), now);
        Ok(child)
    }

    fn link(&self, name: &[u8], target: &InodeRef) -> Result<(), Errno> {
        if self.ty != FileType::Dir {
            return Err(Errno::ENOTDIR);
        }
        let t = target
            .as_any()
            .downcast_ref::<TmpInode>()
            .filter(|t| Arc::ptr_eq(&t.shared, &self.shared))
            .ok_or(Errno::EXDEV)?;
        if t.ty == FileType::Dir {
            return Err(Errno::EPERM);
        }
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let t = t.this();
        let now = self.now();
        let mut n = self.node.lock();
        if let Data::Dir(d) = &n.data {
            if d.entries.contains_key(name) {
                return Err(Errno::EEXIST);
            }
        }
        {
            let mut tn = t.node.lock();
            if tn.nlink == 0 {
                return Err(Errno::ENOENT);
            }
            tn.nlink += 1;
            tn.ctime = now;
        }
        Self::attach(&mut n, name, t, now);
        Ok(())
    }

    fn unlink(&self, name: &[u8], dir: bool) -> Result<(), Errno> {
        let child = self.get(name)?;
        if dir {
            if child.ty != FileType::Dir {
                return Err(Errno::ENOTDIR);
            }
            if !child.is_empty_dir() {
                return Err(Errno::ENOTEMPTY);
            }
        } else if child.ty == FileType::Dir {
            return Err(Errno::EISDIR);
        }
        let now = self.now();
        Self::detach(&mut self.node.lock(), name, now);
        let mut cn = child.node.lock();
        cn.nlink = if dir { 0 } else { cn.nlink.saturating_sub(1) };
        cn.ctime = now;
        Ok(())
    }

    fn rename(&self, old: &[u8], new_dir: &InodeRef, new: &[u8], flags: u32) -> Result<(), Errno> {
        use linux_raw_sys::general::{RENAME_EXCHANGE, RENAME_NOREPLACE};
        let nd = new_dir
            .as_any()
            .downcast_ref::<TmpInode>()
            .filter(|t| Arc::ptr_eq(&t.shared, &self.shared))
            .ok_or(Errno::EXDEV)?
            .this();
        if new.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let src = self.get(old)?;
        let dst = match nd.get(new) {
            Ok(d) => Some(d),
            Err(Errno::ENOENT) => None,
            Err(e) => return Err(e),
        };
        let exchange = flags & RENAME_EXCHANGE != 0;
        if flags & RENAME_NOREPLACE != 0 && dst.is_some() {
            return Err(Errno::EEXIST);
        }
        if exchange && dst.is_none() {
            return Err(Errno::ENOENT);
        }
        // A directory cannot move below itself; a target that is an ancestor of the source is not empty.
        let me = self.this();
        if src.ty == FileType::Dir && src.is_ancestor_of(&nd) {
            return Err(Errno::EINVAL);
        }
        if let Some(d) = &dst {
            if d.ty == FileType::Dir && d.is_ancestor_of(&me) {
                return Err(if exchange {
                    Errno::EINVAL
                } else {
                    Errno::ENOTEMPTY
                });
            }
        }
        if let Some(d) = &dst {
            if Arc::ptr_eq(d, &src) {
                return Ok(());
            }
            if !exchange {
                if src.ty == FileType::Dir && d.ty != FileType::Dir {
                    return Err(Errno::ENOTDIR);
                }
                if src.ty != FileType::Dir && d.ty == FileType::Dir {
                    return Err(Errno::EISDIR);
                }
                if d.ty == FileType::Dir && !d.is_empty_dir() {
                    return Err(Errno::ENOTEMPTY);
                }
            }
        }
        let now = self.now();
        let same_dir = Arc::ptr_eq(&me, &nd);
        if exchange {
            let dst = dst.expect("checked above");
            if same_dir {
                let mut n = self.node.lock();
                if let Data::Dir(d) = &mut n.data {
                    if let Some(e) = d.entries.get_mut(old) {
                        e.1 = dst.clone();
                    }
                    if let Some(e) = d.entries.get_mut(new) {
                        e.1 = src.clone();
                    }
                }
                n.mtime = now;
                n.ctime = now;
            } else {
                {
                    let mut n = self.node.lock();
                    let dirs =
                        i64::from(dst.ty == FileType::Dir) - i64::from(src.ty == FileType::Dir);
                    n.nlink = (n.nlink as i64 + dirs) as u64;
                    if let Data::Dir(d) = &mut n.data {
                        if let Some(e) = d.entries.get_mut(old) {
                            e.1 = dst.clone();
                        }
                    }
                    n.mtime = now;
                    n.ctime = now;
                }
                {
                    let mut n = nd.node.lock();
                    let dirs =
                        i64::from(src.ty == FileType::Dir) - i64::from(dst.ty == FileType::Dir);
                    n.nlink = (n.nlink as i64 + dirs) as u64;
                    if let Data::Dir(d) = &mut n.data {
                        if let Some(e) = d.entries.get_mut(new) {
                            e.1 = src.clone();
                        }
                    }
                    n.mtime = now;
                    n.ctime = now;
                }
                Self::set_parent(&src, &nd);
                Self::set_parent(&dst, &me);
            }
            src.node.lock().ctime = now;
            dst.node.lock().ctime = now;
            return Ok(());
        }
        if let Some(d) = &dst {
            let mut dn = d.node.lock();
            dn.nlink = if d.ty == FileType::Dir {
                0
            } else {
                dn.nlink.saturating_sub(1)
            };
            dn.ctime = now;
        }
        if same_dir {
            let mut n = self.node.lock();
            Self::detach(&mut n, new, now);
            Self::detach(&mut n, old, now);
            Self::attach(&mut n, new, src.clone(), now);
        } else {
            Self::detach(&mut self.node.lock(), old, now);
            let mut n = nd.node.lock();
            Self::detach(&mut n, new, now);
            Self::attach(&mut n, new, src.clone(), now);
            drop(n);
            Self::set_parent(&src, &nd);
        }
        src.node.lock().ctime = now;
        Ok(())
    }

    fn readdir(
        &self,
        _env: &Env,
        pos: u64,
        f: &mut dyn FnMut(&DirEntry, u64) -> bool,
    ) -> Result<(), Errno> {
        let parent_ino = match &self.node.lock().data {
            Data::Dir(d) => d.parent.upgrade().map_or(self.ino, |p| p.ino),
            _ => return Err(Errno::ENOTDIR),
        };
        let dot = |name: &[u8], ino| DirEntry {
            ino,
            ty: FileType::Dir,
            name: name.to_vec(),
        };
        if pos == 0 && !f(&dot(b".", self.ino), 1) {
            return Ok(());
        }
        if pos <= 1 && !f(&dot(b"..", parent_ino), 2) {
            return Ok(());
        }
        let mut at = pos.max(2);
        loop {
            // Entries are copied out a few at a time, so that `f` runs without the lock.
            let batch: Vec<(u64, DirEntry)> = match &self.node.lock().data {
                Data::Dir(d) => d
                    .order
                    .range(at..)
                    .take(64)
                    .filter_map(|(p, name)| {
                        let e = d.entries.get(name)?;
                        Some((
                            *p,
                            DirEntry {
                                ino: e.1.ino,
                                ty: e.1.ty,
                                name: name.clone(),
                            },
                        ))
                    })
                    .collect(),
                _ => return Err(Errno::ENOTDIR),
            };
            if batch.is_empty() {
                return Ok(());
            }
            for (p, e) in batch {
                if !f(&e, p + 1) {
                    return Ok(());
                }
                at = p + 1;
            }
        }
    }

    fn readlink(&self, _env: &Env) -> Result<Vec<u8>, Errno> {
        match &self.node.lock().data {
            Data::Symlink(t) => Ok(t.clone()),
            _ => Err(Errno::EINVAL),
        }
    }

    fn read_at(&self, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut n = self.node.lock();
        let read = match &n.data {
            Data::File(f) => f.read(off, buf),
            Data::Dir(_) => return Err(Errno::EISDIR),
            _ => return Err(Errno::EINVAL),
        };
        // relatime: the access time moves when it is not newer than the last change.
        if n.atime <= n.mtime || n.atime <= n.ctime {
            n.atime = self.shared.clock.now();
        }
        Ok(read)
    }

    fn write_at(&self, off: u64, data: &[u8]) -> Result<usize, Errno> {
        let now = self.now();
        let mut n = self.node.lock();
        let Data::File(f) = &mut n.data else {
            return Err(self.is_dir_or(Errno::EINVAL));
        };
        let end = off.checked_add(data.len() as u64).ok_or(Errno::EFBIG)?;
        if end > MAX_FILE_SIZE || usize::try_from(end).is_err() {
            return Err(Errno::EFBIG);
        }
        if !data.is_empty() {
            f.write(off, data)?;
        }
        n.mtime = now;
        n.ctime = now;
        Ok(data.len())
    }

    fn open(&self, _env: &Env, flags: u32) -> Option<Result<Arc<dyn super::File>, Errno>> {
        use linux_raw_sys::general as g;
        if self.ty != FileType::Fifo || flags & g::O_PATH != 0 {
            return None;
        }
        let mut n = self.node.lock();
        let Data::Special(_, fifo) = &mut n.data else {
            return None;
        };
        let pipe = fifo.upgrade().unwrap_or_else(|| {
            let p = super::pipe::fifo(self.shared.clock.now());
            *fifo = Arc::downgrade(&p);
            p
        });
        drop(n);
        let acc = flags & g::O_ACCMODE;
        let end = super::pipe::open_fifo(
            &pipe,
            acc != g::O_WRONLY,
            acc != g::O_RDONLY,
            flags & g::O_NONBLOCK != 0,
        );
        Some(end.map(|e| {
            Arc::new(super::file::DeviceFile {
                node: super::Path {
                    mnt: super::ANON_MOUNT,
                    inode: self.this(),
                },
                dev: e,
            }) as Arc<dyn super::File>
        }))
    }

    fn data_end(&self) -> Result<u64, Errno> {
        match &self.node.lock().data {
            Data::File(f) => Ok(f.data_end()),
            _ => Ok(0),
        }
    }
}
