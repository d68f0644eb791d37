//! The in-memory root filesystem (a tmpfs), filled from the cpio initrd. Paths resolve with `.`, `..` and
//! symbolic links (ELOOP after 40), as Linux's path walk does.

use alloc::borrow::Cow;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use spin::Mutex;

use crate::errno::Errno;

/// Linux's limit on symbolic links followed in one path walk.
pub const MAX_SYMLINKS: usize = 40;
/// Linux's PATH_MAX.
pub const PATH_MAX: usize = 4096;

/// What an inode holds. File data borrowed from the initrd stays in place until first written.
pub enum Content {
    Dir(BTreeMap<Vec<u8>, Inode>),
    File(Cow<'static, [u8]>),
    Symlink(Vec<u8>),
}

/// An inode: content plus metadata.
pub struct Node {
    pub ino: u64,
    /// Permission bits (the file type comes from `content`).
    pub perm: u32,
    pub content: Content,
}

/// A shared reference to an inode.
pub type Inode = Arc<Mutex<Node>>;

impl Node {
    /// st_mode: file type bits and permissions.
    pub fn mode(&self) -> u32 {
        let t = match self.content {
            Content::Dir(_) => 0o040000,
            Content::File(_) => 0o100000,
            Content::Symlink(_) => 0o120000,
        };
        t | (self.perm & 0o7777)
    }

    /// Size in bytes as stat reports it.
    pub fn size(&self) -> u64 {
        match &self.content {
            Content::Dir(_) => 4096,
            Content::File(d) => d.len() as u64,
            Content::Symlink(d) => d.len() as u64,
        }
    }
}

/// The filesystem: a tree of inodes.
pub struct Fs {
    pub root: Inode,
    next_ino: u64,
}

impl Default for Fs {
    fn default() -> Self {
        Self::new()
    }
}

impl Fs {
    /// An empty filesystem: just `/`.
    pub fn new() -> Fs {
        let root = Arc::new(Mutex::new(Node { ino: 1, perm: 0o755, content: Content::Dir(BTreeMap::new()) }));
        Fs { root, next_ino: 2 }
    }

    fn new_node(&mut self, perm: u32, content: Content) -> Inode {
        self.next_ino += 1;
        Arc::new(Mutex::new(Node { ino: self.next_ino, perm, content }))
    }

    /// Create `path` (absolute or relative to `/`) with `mode` (file type and permissions from a cpio or
    /// stat mode) and `data`, creating missing parent directories. An existing entry is replaced, except a
    /// directory which only gets its permissions updated.
    pub fn insert(&mut self, path: &[u8], mode: u32, data: &[u8]) -> Result<(), Errno> {
        self.insert_data(path, mode, Cow::Owned(data.to_vec()))
    }

    /// Like [`Fs::insert`], with data that lives as long as the kernel (the initrd): not copied.
    pub fn insert_static(&mut self, path: &[u8], mode: u32, data: &'static [u8]) -> Result<(), Errno> {
        self.insert_data(path, mode, Cow::Borrowed(data))
    }

    fn insert_data(&mut self, path: &[u8], mode: u32, data: Cow<'static, [u8]>) -> Result<(), Errno> {
        let comps: Vec<&[u8]> = path.split(|c| *c == b'/').filter(|c| !c.is_empty() && *c != b".").collect();
        let Some((last, parents)) = comps.split_last() else { return Ok(()) };
        let mut dir = self.root.clone();
        for c in parents {
            let next = {
                let node = dir.lock();
                match &node.content {
                    Content::Dir(m) => m.get(*c).cloned(),
                    _ => return Err(Errno::ENOTDIR),
                }
            };
            let next = match next {
                Some(n) => n,
                None => {
                    let n = self.new_node(0o755, Content::Dir(BTreeMap::new()));
                    if let Content::Dir(m) = &mut dir.lock().content {
                        m.insert(c.to_vec(), n.clone());
                    }
                    n
                }
            };
            dir = next;
        }
        let content = match mode & 0o170000 {
            0o040000 => Content::Dir(BTreeMap::new()),
            0o120000 => Content::Symlink(data.into_owned()),
            0o100000 | 0 => Content::File(data),
            _ => return Ok(()), // devices, fifos and sockets from an archive are skipped
        };
        let is_dir = matches!(content, Content::Dir(_));
        let mut d = dir.lock();
        let Content::Dir(m) = &mut d.content else { return Err(Errno::ENOTDIR) };
        if is_dir {
            if let Some(existing) = m.get(*last) {
                existing.lock().perm = mode & 0o7777;
                return Ok(());
            }
        }
        self.next_ino += 1;
        let node = Arc::new(Mutex::new(Node { ino: self.next_ino, perm: mode & 0o7777, content }));
        m.insert(last.to_vec(), node);
        Ok(())
    }

    /// Resolve `path` from `cwd` (absolute paths start at the root). `follow` says whether a symlink as the
    /// last component is followed. Errors as Linux: ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG.
    pub fn lookup(&self, cwd: &Inode, path: &[u8], follow: bool) -> Result<Inode, Errno> {
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let mut links = 0;
        self.walk(cwd, path, follow, &mut links, &mut Vec::new())
    }

    fn walk(
        &self,
        cwd: &Inode,
        path: &[u8],
        follow: bool,
        links: &mut usize,
        stack: &mut Vec<Inode>,
    ) -> Result<Inode, Errno> {
        // `stack` holds the directories from the root to the current one, for `..`.
        let mut cur = if path.starts_with(b"/") {
            stack.clear();
            self.root.clone()
        } else {
            cwd.clone()
        };
        let comps: Vec<&[u8]> = path.split(|c| *c == b'/').filter(|c| !c.is_empty()).collect();
        let trailing_slash = path.ends_with(b"/");
        for (i, c) in comps.iter().enumerate() {
            if c.len() > 255 {
                return Err(Errno::ENAMETOOLONG);
            }
            let last = i + 1 == comps.len();
            if *c == b"." {
                if !matches!(cur.lock().content, Content::Dir(_)) {
                    return Err(Errno::ENOTDIR);
                }
                continue;
            }
            if *c == b".." {
                if !matches!(cur.lock().content, Content::Dir(_)) {
                    return Err(Errno::ENOTDIR);
                }
                cur = stack.pop().unwrap_or_else(|| self.root.clone());
                continue;
            }
            let next = {
                let node = cur.lock();
                match &node.content {
                    Content::Dir(m) => m.get(*c).cloned().ok_or(Errno::ENOENT)?,
                    _ => return Err(Errno::ENOTDIR),
                }
            };
            let target = match &next.lock().content {
                Content::Symlink(t) if !last || follow || trailing_slash => Some(t.clone()),
                _ => None,
            };
            match target {
                Some(t) => {
                    *links += 1;
                    if *links > MAX_SYMLINKS {
                        return Err(Errno::ELOOP);
                    }
                    let resolved = self.walk(&cur, &t, true, links, stack)?;
                    stack.push(cur);
                    cur = resolved;
                    // `stack` now ends with the link's directory; `..` after a link goes to the
                    // target's parent only approximately (as the parent of the link).
                    stack.pop();
                }
                None => {
                    stack.push(cur);
                    cur = next;
                }
            }
        }
        if trailing_slash && !matches!(cur.lock().content, Content::Dir(_)) {
            return Err(Errno::ENOTDIR);
        }
        Ok(cur)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_and_lookup() {
        let mut fs = Fs::new();
        fs.insert(b"/bin/app", 0o100755, b"ELF").expect("insert");
        fs.insert(b"usr/bin", 0o040755, b"").expect("insert");
        fs.insert(b"/usr/bin/app", 0o120777, b"../../bin/app").expect("insert");
        fs.insert(b"/loop", 0o120777, b"/loop").expect("insert");
        let root = fs.root.clone();
        let n = fs.lookup(&root, b"/usr/bin/app", true).expect("follows the link");
        assert_eq!(n.lock().mode(), 0o100755);
        assert_eq!(fs.lookup(&root, b"/usr/bin/app", false).expect("link").lock().mode(), 0o120777);
        assert_eq!(fs.lookup(&root, b"/bin/./../bin/app", true).expect("dots").lock().size(), 3);
        assert_eq!(fs.lookup(&root, b"/nope", true).err(), Some(Errno::ENOENT));
        assert_eq!(fs.lookup(&root, b"/bin/app/x", true).err(), Some(Errno::ENOTDIR));
        assert_eq!(fs.lookup(&root, b"/bin/app/", true).err(), Some(Errno::ENOTDIR));
        assert_eq!(fs.lookup(&root, b"/loop", true).err(), Some(Errno::ELOOP));
        assert_eq!(fs.lookup(&root, b"", true).err(), Some(Errno::ENOENT));
    }
}
