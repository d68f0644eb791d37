//! The virtual filesystem: inodes behind one trait, open files behind another, a mount table and Linux's
//! path walk (`.`/`..`, symbolic links with ELOOP after 40, mount points, trailing slashes).
//!
//! Filesystems: [`tmpfs`] (the writable root filled from the initrd, `/dev`, `/dev/shm`, `/sys`), [`proc`]
//! (generated from the process at open time), [`p9fs`] (host directories over 9P2000.L). Open files that
//! are not inodes of a filesystem (the console, pipes, devices) implement [`File`] directly.
//!
//! One user exists: root. Permission bits are kept and reported; root may read and write anything, and
//! may execute a regular file only when some execute bit is set (Linux's CAP_DAC_OVERRIDE rules).

pub mod dev;
pub mod file;
mod mount;
pub mod p9fs;
pub mod pipe;
pub mod proc;
pub mod tmpfs;

#[cfg(test)]
mod tests;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::errno::Errno;
use crate::platform::Platform;
use crate::process::Process;

pub use file::{File, InodeFile};
pub use mount::{Fs, Last, Mount, MountFlags, Parent, Path, ANON_MOUNT};

/// Linux's limit on symbolic links followed in one path walk.
pub const MAX_SYMLINKS: usize = 40;
/// Linux's PATH_MAX (with the terminating NUL).
pub const PATH_MAX: usize = 4096;
/// Longest name of one directory entry.
pub const NAME_MAX: usize = 255;

/// The type of a file, as the S_IFMT bits of st_mode say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    Regular,
    Dir,
    Symlink,
    CharDev,
    BlockDev,
    Fifo,
    Socket,
}

impl FileType {
    /// The type of an st_mode value (0 counts as a regular file, as mknod and cpio treat it).
    pub fn from_mode(mode: u32) -> Option<FileType> {
        Some(match mode & 0o170000 {
            0o100000 | 0 => FileType::Regular,
            0o040000 => FileType::Dir,
            0o120000 => FileType::Symlink,
            0o020000 => FileType::CharDev,
            0o060000 => FileType::BlockDev,
            0o010000 => FileType::Fifo,
            0o140000 => FileType::Socket,
            _ => return None,
        })
    }

    /// The S_IFMT bits.
    pub fn mode_bits(self) -> u32 {
        match self {
            FileType::Regular => 0o100000,
            FileType::Dir => 0o040000,
            FileType::Symlink => 0o120000,
            FileType::CharDev => 0o020000,
            FileType::BlockDev => 0o060000,
            FileType::Fifo => 0o010000,
            FileType::Socket => 0o140000,
        }
    }

    /// The d_type of getdents64.
    pub fn dtype(self) -> u8 {
        match self {
            FileType::Regular => 8,
            FileType::Dir => 4,
            FileType::Symlink => 10,
            FileType::CharDev => 2,
            FileType::BlockDev => 6,
            FileType::Fifo => 1,
            FileType::Socket => 12,
        }
    }
}

/// A point in time (seconds and nanoseconds since the Unix epoch).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: u32,
}

impl Timespec {
    pub fn from_ns(ns: u64) -> Timespec {
        Timespec {
            sec: (ns / 1_000_000_000) as i64,
            nsec: (ns % 1_000_000_000) as u32,
        }
    }
}

/// What stat reports about a file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    /// File type and permission bits.
    pub mode: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: u64,
    pub blksize: u64,
    /// In 512-byte units.
    pub blocks: u64,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
    /// Creation time, when the filesystem knows it.
    pub btime: Option<Timespec>,
}

impl Stat {
    pub fn file_type(&self) -> Option<FileType> {
        FileType::from_mode(self.mode)
    }
}

/// Attribute changes (chmod, chown, truncate, utimensat); ctime is updated by the filesystem.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetAttr {
    /// Permission bits (07777).
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<Timespec>,
    pub mtime: Option<Timespec>,
}

/// One directory entry as readdir gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub ino: u64,
    pub ty: FileType,
    pub name: Vec<u8>,
}

/// What to create in a directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewNode<'a> {
    File,
    Dir,
    Symlink(&'a [u8]),
    /// A device node, fifo or socket: its type and device number.
    Special(FileType, u64),
}

/// What statfs reports about a filesystem.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatFs {
    pub magic: u64,
    pub bsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub fsid: u64,
    pub namelen: u64,
}

/// The wall clock as the filesystems see it, for timestamps. The syscall handlers refresh it from the
/// platform before each filesystem operation; clones share the same time.
#[derive(Clone, Default, Debug)]
pub struct Clock(Arc<AtomicU64>);

impl Clock {
    pub fn new() -> Clock {
        Clock::default()
    }
    pub fn set(&self, realtime_ns: u64) {
        self.0.store(realtime_ns, Ordering::Relaxed);
    }
    pub fn now(&self) -> Timespec {
        Timespec::from_ns(self.0.load(Ordering::Relaxed))
    }
}

/// A device number as Linux's `makedev`.
pub const fn makedev(major: u32, minor: u32) -> u64 {
    ((major as u64 & 0xffff_f000) << 32)
        | ((major as u64 & 0xfff) << 8)
        | ((minor as u64 & 0xffff_ff00) << 12)
        | (minor as u64 & 0xff)
}

/// The major number of a device number.
pub const fn major(dev: u64) -> u32 {
    (((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0xfff)) as u32
}

/// The minor number of a device number.
pub const fn minor(dev: u64) -> u32 {
    (((dev >> 12) & 0xffff_ff00) | (dev & 0xff)) as u32
}

/// A fresh anonymous device number (0:N) for a filesystem instance.
pub fn anon_dev() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0x20);
    makedev(0, NEXT.fetch_add(1, Ordering::Relaxed) as u32)
}

/// Who is asking: the process (for /proc) and the machine (clocks, memory). Filesystems that do not
/// depend on the caller ignore it; with [`Env::none`] /proc has nothing to show about a process.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    pub proc: Option<&'a Process>,
    pub plat: Option<&'a dyn Platform>,
}

impl<'a> Env<'a> {
    pub fn none() -> Env<'static> {
        Env {
            proc: None,
            plat: None,
        }
    }
    pub fn new(proc: &'a Process, plat: &'a dyn Platform) -> Env<'a> {
        Env {
            proc: Some(proc),
            plat: Some(plat),
        }
    }
}

/// A shared reference to an inode.
pub type InodeRef = Arc<dyn Inode>;

/// An inode of some filesystem. Directory operations on a non-directory give ENOTDIR, file operations on
/// a directory EISDIR; what a filesystem does not support gives EPERM (Linux's default for most).
pub trait Inode: Send + Sync + Any {
    fn as_any(&self) -> &dyn Any;
    fn file_type(&self) -> FileType;
    fn ino(&self) -> u64;
    /// The device number of the filesystem (st_dev).
    fn dev(&self) -> u64;
    fn stat(&self) -> Result<Stat, Errno>;
    fn setattr(&self, _a: &SetAttr) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }
    fn statfs(&self) -> Result<StatFs, Errno> {
        Ok(StatFs {
            bsize: 4096,
            namelen: NAME_MAX as u64,
            ..StatFs::default()
        })
    }

    // ---- directories ----
    /// The entry `name` (never `.` or `..`; the walk handles those).
    fn lookup(&self, _env: &Env, _name: &[u8]) -> Result<InodeRef, Errno> {
        Err(Errno::ENOTDIR)
    }
    /// The parent directory (`None` at the filesystem's root, and for non-directories).
    fn parent(&self) -> Option<InodeRef> {
        None
    }
    fn create(&self, _name: &[u8], _kind: NewNode, _perm: u32) -> Result<InodeRef, Errno> {
        Err(self.not_dir_or(Errno::EPERM))
    }
    /// A new hard link `name` to `target` (of the same filesystem).
    fn link(&self, _name: &[u8], _target: &InodeRef) -> Result<(), Errno> {
        Err(self.not_dir_or(Errno::EPERM))
    }
    /// Remove `name`: a directory (must be empty) when `dir`, anything else otherwise.
    fn unlink(&self, _name: &[u8], _dir: bool) -> Result<(), Errno> {
        Err(self.not_dir_or(Errno::EPERM))
    }
    /// Move `old` to `new` in `new_dir` (of the same filesystem); `flags` RENAME_NOREPLACE/EXCHANGE.
    fn rename(
        &self,
        _old: &[u8],
        _new_dir: &InodeRef,
        _new: &[u8],
        _flags: u32,
    ) -> Result<(), Errno> {
        Err(self.not_dir_or(Errno::EPERM))
    }
    /// Call `f` with the entries from position `pos` on (including `.` and `..`) and the position after
    /// each, until it returns false or the directory ends.
    fn readdir(
        &self,
        _env: &Env,
        _pos: u64,
        _f: &mut dyn FnMut(&DirEntry, u64) -> bool,
    ) -> Result<(), Errno> {
        Err(Errno::ENOTDIR)
    }

    // ---- symbolic links ----
    fn readlink(&self, _env: &Env) -> Result<Vec<u8>, Errno> {
        Err(Errno::EINVAL)
    }
    /// For /proc's magic links (fd/N, exe, cwd): where following the link leads, without a path.
    fn magic_link(&self, _env: &Env) -> Option<Result<Path, Errno>> {
        None
    }

    // ---- regular files ----
    fn read_at(&self, _off: u64, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(self.is_dir_or(Errno::EINVAL))
    }
    fn write_at(&self, _off: u64, _data: &[u8]) -> Result<usize, Errno> {
        Err(self.is_dir_or(Errno::EINVAL))
    }
    /// Where data and holes are, for SEEK_DATA/SEEK_HOLE: the end of the data that is stored (a file
    /// grown by truncate has a hole from there to its size). Default: all data.
    fn data_end(&self) -> Result<u64, Errno> {
        Ok(self.stat()?.size)
    }
    /// Write the file to stable storage.
    fn sync(&self, _data_only: bool) -> Result<(), Errno> {
        Ok(())
    }
    /// The open file for this inode, when it is not plain data (devices, fifos, generated /proc files).
    /// `None`: an ordinary file or directory ([`file::InodeFile`]).
    fn open(&self, _env: &Env, _flags: u32) -> Option<Result<Arc<dyn File>, Errno>> {
        None
    }

    /// ENOTDIR unless this is a directory, else `e`.
    fn not_dir_or(&self, e: Errno) -> Errno {
        if self.file_type() == FileType::Dir {
            e
        } else {
            Errno::ENOTDIR
        }
    }
    /// EISDIR for a directory, else `e`.
    fn is_dir_or(&self, e: Errno) -> Errno {
        if self.file_type() == FileType::Dir {
            Errno::EISDIR
        } else {
            e
        }
    }
}

/// Whether two inodes are the same file.
pub fn same_inode(a: &InodeRef, b: &InodeRef) -> bool {
    a.dev() == b.dev() && a.ino() == b.ino()
}

impl Fs {
    /// Mount what programs expect around the root filesystem: `/dev` (devices, fd links, `shm`), `/proc`,
    /// `/sys` (the CPU lists), `/tmp`, `/root`, and the files of `/etc` that a system has (passwd, group,
    /// hostname, hosts, nsswitch.conf, resolv.conf) when the root filesystem lacks them.
    pub fn mount_standard(&mut self, info: proc::SystemInfo) -> Result<(), Errno> {
        // Each part on its own: a root filesystem that gets one wrong still gets the others.
        let mut first_error = Ok(());
        let mut note = |r: Result<(), Errno>| {
            if first_error.is_ok() {
                first_error = r;
            }
        };
        note(
            self.mount_tmpfs(b"/dev", "devtmpfs", 0o755)
                .and_then(|dev| {
                    let dev: InodeRef = dev;
                    dev::populate(&dev)
                }),
        );
        note(self.mount_tmpfs(b"/dev/shm", "tmpfs", 0o1777).map(|_| ()));
        note(
            self.mkdir_p(b"/dev/pts", 0o755)
                .and_then(|_| {
                    self.mount(
                        b"/dev/pts",
                        dev::devpts(),
                        "devpts",
                        "devpts",
                        MountFlags::default(),
                    )
                })
                .map(|_| ()),
        );
        note(
            self.mkdir_p(b"/proc", 0o555)
                .and_then(|_| {
                    self.mount(
                        b"/proc",
                        proc::new(info),
                        "proc",
                        "proc",
                        MountFlags::default(),
                    )
                })
                .map(|_| ()),
        );
        note(self.mount_tmpfs(b"/sys", "sysfs", 0o555).and_then(|sys| {
            for f in [&b"online"[..], b"possible", b"present"] {
                let mut path = b"devices/system/cpu/".to_vec();
                path.extend_from_slice(f);
                sys.insert_path(&path, 0o100444, alloc::borrow::Cow::Borrowed(b"0\n"))?;
            }
            sys.insert_path(
                b"devices/system/cpu/cpu0",
                0o040755,
                alloc::borrow::Cow::Borrowed(b""),
            )
        }));
        for (dir, perm) in [(&b"/tmp"[..], 0o1777), (b"/root", 0o700)] {
            if self.resolve(&Env::none(), &self.root, dir, true).is_err() {
                note(self.mkdir_p(dir, perm).and_then(|p| {
                    p.inode.setattr(&SetAttr {
                        mode: Some(perm),
                        ..SetAttr::default()
                    })
                }));
            }
        }
        let defaults: [(&[u8], &[u8]); 5] = [
            (
                b"/etc/passwd",
                b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
            ),
            (b"/etc/group", b"root:x:0:\ntty:x:5:\nnogroup:x:65534:\n"),
            (b"/etc/hostname", b"nutshell\n"),
            (
                b"/etc/hosts",
                b"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tnutshell\n",
            ),
            (
                b"/etc/nsswitch.conf",
                b"passwd:\tfiles\ngroup:\tfiles\nshadow:\tfiles\nhosts:\tfiles dns\nnetworks:\tfiles\n\
                  protocols:\tfiles\nservices:\tfiles\nethers:\tfiles\nrpc:\tfiles\n",
            ),
        ];
        for (path, data) in defaults {
            if let Err(Errno::ENOENT) = self.resolve(&Env::none(), &self.root, path, true) {
                note(self.insert_static(path, 0o100644, data));
            }
        }
        let resolv: &[u8] = b"/etc/resolv.conf";
        if let Err(Errno::ENOENT) = self.resolve(&Env::none(), &self.root, resolv, true) {
            let mut rc = RESOLV_CONF.lock();
            let text = rc.text.clone().unwrap_or_else(|| QEMU_RESOLV_CONF.to_vec());
            note(
                self.insert(resolv, 0o100644, &text)
                    .and_then(|()| self.resolve(&Env::none(), &self.root, resolv, true))
                    .map(|p| rc.files.push(Arc::downgrade(&p.inode))),
            );
        }
        first_error
    }
}

/// The default `/etc/resolv.conf` (made for a root filesystem without one): its text (`None`: QEMU user
/// networking's DNS server) and the files made from it, which follow changes.
struct ResolvConf {
    text: Option<Vec<u8>>,
    files: Vec<alloc::sync::Weak<dyn Inode>>,
}

static RESOLV_CONF: spin::Mutex<ResolvConf> = spin::Mutex::new(ResolvConf {
    text: None,
    files: Vec::new(),
});

const QEMU_RESOLV_CONF: &[u8] = b"nameserver 10.0.2.3\n";

/// Set the DNS servers of the default `/etc/resolv.conf` from the network configuration (an empty list:
/// none known). Files already made get the new text too (as a DHCP client rewrites the file).
pub fn set_nameservers(servers: &[core::net::IpAddr]) {
    let text: Vec<u8> = if servers.is_empty() {
        b"# no DNS server known\n".to_vec()
    } else {
        servers
            .iter()
            .flat_map(|s| alloc::format!("nameserver {s}\n").into_bytes())
            .collect()
    };
    let mut rc = RESOLV_CONF.lock();
    rc.files.retain(|f| f.strong_count() > 0);
    for f in rc.files.iter().filter_map(alloc::sync::Weak::upgrade) {
        let _ = f.setattr(&SetAttr {
            size: Some(0),
            ..SetAttr::default()
        });
        let _ = f.write_at(0, &text);
    }
    rc.text = Some(text);
}

#[cfg(test)]
mod resolv_conf_tests {
    use super::*;

    fn read(fs: &Fs) -> Vec<u8> {
        fs.read_file(b"/etc/resolv.conf")
            .expect("resolv.conf")
            .into_owned()
    }

    /// One test for all of it: the text is global.
    #[test]
    fn default_resolv_conf_follows_the_network_configuration() {
        let mut fs = Fs::new();
        fs.mount_standard(proc::SystemInfo::default())
            .expect("mount");
        assert_eq!(read(&fs), b"nameserver 10.0.2.3\n");
        // A root filesystem's own file is left alone.
        let mut own = Fs::new();
        own.insert(b"/etc/resolv.conf", 0o100644, b"nameserver 192.0.2.1\n")
            .expect("insert");
        own.mount_standard(proc::SystemInfo::default())
            .expect("mount");

        set_nameservers(&[]);
        assert_eq!(read(&fs), b"# no DNS server known\n");
        let servers = [
            core::net::IpAddr::V4(core::net::Ipv4Addr::new(10, 0, 2, 3)),
            "fec0::3".parse().expect("ipv6"),
        ];
        set_nameservers(&servers);
        assert_eq!(read(&fs), b"nameserver 10.0.2.3\nnameserver fec0::3\n");
        assert_eq!(read(&own), b"nameserver 192.0.2.1\n");
        // A filesystem set up later starts with the current text.
        set_nameservers(&servers[..1]);
        let mut later = Fs::new();
        later
            .mount_standard(proc::SystemInfo::default())
            .expect("mount");
        assert_eq!(read(&later), b"nameserver 10.0.2.3\n");
        assert_eq!(read(&fs), b"nameserver 10.0.2.3\n");
        let st = fs
            .resolve(&Env::none(), &fs.root, b"/etc/resolv.conf", true)
            .expect("resolve")
            .inode
            .stat()
            .expect("stat");
        assert_eq!((st.size, st.mode), (20, 0o100644));
    }
}
