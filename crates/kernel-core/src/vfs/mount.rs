//! The mount table and Linux's path walk (fs/namei.c): components one by one, `.` and `..` (which leave a
//! mount at its root for the mount point's parent, and stay at `/`), symbolic links spliced into the rest
//! of the path (at most [`MAX_SYMLINKS`] per walk: ELOOP), mount points crossed on the way down.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::tmpfs::{self, TmpInode};
use super::{
    same_inode, Clock, Env, FileType, InodeRef, NewNode, MAX_SYMLINKS, NAME_MAX, PATH_MAX,
};
use crate::errno::Errno;

/// The mount id of inodes that live in no mount (the console, pipes reached through /proc/self/fd).
pub const ANON_MOUNT: u32 = u32::MAX;

/// A place in the tree: an inode and the mount it was reached through (for `..` and mount flags).
#[derive(Clone)]
pub struct Path {
    pub mnt: u32,
    pub inode: InodeRef,
}

impl Path {
    pub fn is_dir(&self) -> bool {
        self.inode.file_type() == FileType::Dir
    }
}

/// Mount options nutshell knows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MountFlags {
    pub read_only: bool,
}

/// One mounted filesystem.
#[derive(Clone)]
pub struct Mount {
    pub id: u32,
    /// The mount this one is mounted in (itself for the root mount).
    pub parent: u32,
    /// The directory of the parent mount it covers (None for the root mount).
    pub point: Option<InodeRef>,
    pub root: InodeRef,
    pub fstype: String,
    pub source: String,
    /// Absolute path of the mount point.
    pub target: Vec<u8>,
    pub flags: MountFlags,
}

/// The last component of a path whose parent was resolved (Linux's LAST_NORM, LAST_DOT, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Last {
    Norm(Vec<u8>),
    Dot,
    DotDot,
    /// The path was `/` (or only slashes).
    Root,
}

/// A resolved parent directory and the last component.
#[derive(Clone)]
pub struct Parent {
    pub dir: Path,
    pub last: Last,
    /// The path ended with `/`.
    pub trailing_slash: bool,
}

/// The mount table of a process (all processes share one for now) and the clock for timestamps.
#[derive(Clone)]
pub struct Fs {
    mounts: Vec<Mount>,
    pub clock: Clock,
    /// The root directory of the tree.
    pub root: Path,
}

impl Default for Fs {
    fn default() -> Self {
        Self::new()
    }
}

/// The components of a path, empty ones removed.
fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    path.split(|c| *c == b'/').filter(|c| !c.is_empty())
}

impl Fs {
    /// A tree holding only an empty tmpfs at `/` (mode 0755).
    pub fn new() -> Fs {
        let clock = Clock::new();
        let root = tmpfs::new_fs(clock.clone(), 0o755);
        let root: InodeRef = root;
        Fs {
            mounts: alloc::vec![Mount {
                id: 0,
                parent: 0,
                point: None,
                root: root.clone(),
                // Not "rootfs": tools like df skip that name, as the hidden rootfs below the root.
                fstype: String::from("tmpfs"),
                source: String::from("tmpfs"),
                target: b"/".to_vec(),
                flags: MountFlags::default(),
            }],
            clock,
            root: Path {
                mnt: 0,
                inode: root,
            },
        }
    }

    /// The root tmpfs (for filling it from the initrd).
    fn root_tmpfs(&self) -> Result<&TmpInode, Errno> {
        self.mounts[0]
            .root
            .as_any()
            .downcast_ref::<TmpInode>()
            .ok_or(Errno::EINVAL)
    }

    /// Create `path` in the root filesystem with `mode` (file type and permissions, as cpio gives them)
    /// and `data`, creating missing parent directories. An existing entry is replaced, except a directory,
    /// which only gets its permissions updated.
    pub fn insert(&mut self, path: &[u8], mode: u32, data: &[u8]) -> Result<(), Errno> {
        self.root_tmpfs()?
            .insert_path(path, mode, Cow::Owned(data.to_vec()))
    }

    /// Like [`Fs::insert`], with data that lives as long as the kernel (the initrd): not copied.
    pub fn insert_static(
        &mut self,
        path: &[u8],
        mode: u32,
        data: &'static [u8],
    ) -> Result<(), Errno> {
        self.root_tmpfs()?
            .insert_path(path, mode, Cow::Borrowed(data))
    }

    /// Create what a cpio entry of the initrd describes in the root filesystem: file data is borrowed
    /// from the archive, owner and modification time are kept, device nodes are made.
    pub fn insert_entry(&mut self, e: &crate::cpio::Entry<'static>) -> Result<(), Errno> {
        let meta = super::tmpfs::ArchiveMeta {
            uid: e.uid,
            gid: e.gid,
            mtime: Some(i64::from(e.mtime)),
            rdev: super::makedev(e.rdev.0, e.rdev.1),
        };
        self.root_tmpfs()?
            .insert_archive(e.name, e.mode, Cow::Borrowed(e.data), &meta)
    }

    /// The whole content of the regular file `path` (absolute). Data of the initrd comes back borrowed.
    pub fn read_file(&self, path: &[u8]) -> Result<Cow<'static, [u8]>, Errno> {
        let p = self.resolve(&Env::none(), &self.root, path, true)?;
        match p.inode.file_type() {
            FileType::Regular => {}
            FileType::Dir => return Err(Errno::EISDIR),
            _ => return Err(Errno::EACCES),
        }
        if let Some(t) = p.inode.as_any().downcast_ref::<TmpInode>() {
            if let Some(d) = t.file_data() {
                return Ok(d);
            }
        }
        let size = p.inode.stat()?.size;
        let mut buf = alloc::vec![0u8; usize::try_from(size).map_err(|_| Errno::EFBIG)?];
        let mut done = 0;
        while done < buf.len() {
            let n = p.inode.read_at(done as u64, &mut buf[done..])?;
            if n == 0 {
                break;
            }
            done += n;
        }
        buf.truncate(done);
        Ok(Cow::Owned(buf))
    }

    /// Create the directories of absolute `path` that are missing (mode `perm`), like `mkdir -p`.
    pub fn mkdir_p(&mut self, path: &[u8], perm: u32) -> Result<Path, Errno> {
        let env = Env::none();
        let mut cur = self.root.clone();
        for c in components(path) {
            cur = match self.step(&env, &cur, c) {
                Ok(p) => p,
                Err(Errno::ENOENT) => {
                    cur.inode.create(c, NewNode::Dir, perm)?;
                    self.step(&env, &cur, c)?
                }
                Err(e) => return Err(e),
            };
        }
        Ok(cur)
    }

    /// Mount the filesystem whose root is `root` on the existing directory `target`; returns its id.
    pub fn mount(
        &mut self,
        target: &[u8],
        root: InodeRef,
        fstype: &str,
        source: &str,
        flags: MountFlags,
    ) -> Result<u32, Errno> {
        let at = self.resolve(&Env::none(), &self.root, target, true)?;
        if !at.is_dir() || root.file_type() != FileType::Dir {
            return Err(Errno::ENOTDIR);
        }
        let id = self.mounts.iter().map(|m| m.id).max().unwrap_or(0) + 1;
        let target = self.path_of(&Env::none(), &at)?;
        self.mounts.push(Mount {
            id,
            parent: at.mnt,
            point: Some(at.inode),
            root,
            fstype: String::from(fstype),
            source: String::from(source),
            target,
            flags,
        });
        Ok(id)
    }

    /// The mounts, in the order they were made (the root first).
    pub fn mounts(&self) -> &[Mount] {
        &self.mounts
    }

    /// The mount with id `id`.
    pub fn mount_of(&self, id: u32) -> Option<&Mount> {
        self.mounts.iter().find(|m| m.id == id)
    }

    /// Whether `p` lies on a read-only mount.
    pub fn read_only(&self, p: &Path) -> bool {
        self.mount_of(p.mnt).is_some_and(|m| m.flags.read_only)
    }

    fn is_root(&self, p: &Path) -> bool {
        p.mnt == 0 && same_inode(&p.inode, &self.root.inode)
    }

    /// `..` of directory `p`: stays at `/`, leaves a mount at its root for the mount point's parent.
    pub fn dotdot(&self, p: &Path) -> Path {
        let mut cur = p.clone();
        loop {
            if self.is_root(&cur) {
                return cur;
            }
            let Some(m) = self.mount_of(cur.mnt) else {
                return self.root.clone();
            };
            match &m.point {
                Some(point) if same_inode(&cur.inode, &m.root) => {
                    cur = Path {
                        mnt: m.parent,
                        inode: point.clone(),
                    };
                }
                _ => break,
            }
        }
        let parent = cur.inode.parent().unwrap_or_else(|| cur.inode.clone());
        Path {
            mnt: cur.mnt,
            inode: parent,
        }
    }

    /// The entry `name` of directory `dir`, through any mount on it.
    pub fn step(&self, env: &Env, dir: &Path, name: &[u8]) -> Result<Path, Errno> {
        let inode = dir.inode.lookup(env, name)?;
        let mut p = Path {
            mnt: dir.mnt,
            inode,
        };
        while let Some(m) = self.mounts.iter().find(|m| {
            m.id != 0
                && m.parent == p.mnt
                && m.point.as_ref().is_some_and(|pt| same_inode(pt, &p.inode))
        }) {
            p = Path {
                mnt: m.id,
                inode: m.root.clone(),
            };
        }
        Ok(p)
    }

    /// Resolve `path` from `start` (absolute paths from the root). `follow`: whether a symbolic link as
    /// the last component is followed (a trailing slash always follows). Errors as Linux: ENOENT,
    /// ENOTDIR, ELOOP, ENAMETOOLONG.
    pub fn resolve(
        &self,
        env: &Env,
        start: &Path,
        path: &[u8],
        follow: bool,
    ) -> Result<Path, Errno> {
        let mut links = 0;
        self.walk(env, start, path, follow, &mut links)
    }

    /// The walk itself, counting symbolic links in `links` (shared with the caller's other walks).
    pub fn walk(
        &self,
        env: &Env,
        start: &Path,
        path: &[u8],
        follow: bool,
        links: &mut usize,
    ) -> Result<Path, Errno> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let mut cur = if path[0] == b'/' {
            self.root.clone()
        } else {
            start.clone()
        };
        let mut must_dir = path.ends_with(b"/");
        // The components still to walk, the next one last.
        let mut pending: Vec<Vec<u8>> = components(path).rev().map(|c| c.to_vec()).collect();
        while let Some(c) = pending.pop() {
            let last = pending.is_empty();
            if !cur.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            if c == b"." {
                continue;
            }
            if c == b".." {
                cur = self.dotdot(&cur);
                continue;
            }
            if c.len() > NAME_MAX {
                return Err(Errno::ENAMETOOLONG);
            }
            let child = self.step(env, &cur, &c)?;
            if child.inode.file_type() == FileType::Symlink && (!last || follow || must_dir) {
                *links += 1;
                if *links > MAX_SYMLINKS {
                    return Err(Errno::ELOOP);
                }
                if let Some(target) = child.inode.magic_link(env) {
                    cur = target?;
                    continue;
                }
                let target = child.inode.readlink(env)?;
                if target.is_empty() {
                    return Err(Errno::ENOENT);
                }
                if target[0] == b'/' {
                    cur = self.root.clone();
                }
                if last && target.ends_with(b"/") {
                    must_dir = true;
                }
                pending.extend(components(&target).rev().map(|c| c.to_vec()));
                continue;
            }
            cur = child;
        }
        if must_dir && !cur.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok(cur)
    }

    /// Resolve all but the last component of `path` (which must then name a directory: ENOTDIR).
    pub fn resolve_parent(
        &self,
        env: &Env,
        start: &Path,
        path: &[u8],
        links: &mut usize,
    ) -> Result<Parent, Errno> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let end = path.iter().rposition(|c| *c != b'/').map_or(0, |i| i + 1);
        let trailing_slash = end < path.len();
        let trimmed = &path[..end];
        if trimmed.is_empty() {
            return Ok(Parent {
                dir: self.root.clone(),
                last: Last::Root,
                trailing_slash,
            });
        }
        let (dir, name) = match trimmed.iter().rposition(|c| *c == b'/') {
            None => (start.clone(), trimmed),
            Some(i) => {
                let dir_part = &trimmed[..i + 1];
                let dir = if dir_part.iter().all(|c| *c == b'/') {
                    self.root.clone()
                } else {
                    self.walk(env, start, dir_part, true, links)?
                };
                (dir, &trimmed[i + 1..])
            }
        };
        if !dir.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let last = match name {
            b"." => Last::Dot,
            b".." => Last::DotDot,
            n if n.len() > NAME_MAX => return Err(Errno::ENAMETOOLONG),
            n => Last::Norm(n.to_vec()),
        };
        Ok(Parent {
            dir,
            last,
            trailing_slash,
        })
    }

    /// The absolute path of `p` (a directory, or anything reached from the root), found by walking up
    /// and looking for each inode in its parent.
    pub fn path_of(&self, env: &Env, p: &Path) -> Result<Vec<u8>, Errno> {
        let mut names: Vec<Vec<u8>> = Vec::new();
        let mut cur = p.clone();
        for _ in 0..PATH_MAX {
            if self.is_root(&cur) {
                break;
            }
            let Some(m) = self.mount_of(cur.mnt) else {
                return Err(Errno::ENOENT);
            };
            if let Some(point) = &m.point {
                if same_inode(&cur.inode, &m.root) {
                    cur = Path {
                        mnt: m.parent,
                        inode: point.clone(),
                    };
                    continue;
                }
            }
            let Some(parent) = cur.inode.parent() else {
                break;
            };
            let ino = cur.inode.ino();
            let mut found = None;
            parent.readdir(env, 0, &mut |e, _| {
                if e.ino == ino && e.name != b"." && e.name != b".." {
                    found = Some(e.name.clone());
                    false
                } else {
                    true
                }
            })?;
            names.push(found.ok_or(Errno::ENOENT)?);
            cur = Path {
                mnt: cur.mnt,
                inode: parent,
            };
        }
        if names.is_empty() {
            return Ok(b"/".to_vec());
        }
        let mut out = Vec::new();
        for n in names.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(n);
        }
        Ok(out)
    }

    /// A mount of a new tmpfs at `target` (created if missing) with root permissions `perm`.
    pub fn mount_tmpfs(
        &mut self,
        target: &[u8],
        fstype: &str,
        perm: u32,
    ) -> Result<Arc<TmpInode>, Errno> {
        self.mkdir_p(target, 0o755)?;
        let fs = tmpfs::new_fs(self.clock.clone(), perm);
        self.mount(target, fs.clone(), fstype, fstype, MountFlags::default())?;
        Ok(fs)
    }
}
