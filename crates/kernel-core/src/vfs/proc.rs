//! procfs: /proc/self (→ the process), its exe, cwd, root and fd/N magic links, and the text files Linux
//! generates (cpuinfo, meminfo, maps, status...), made from the process and the machine when they are
//! opened, in Linux's formats (fs/proc/*.c).

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::fmt::Write;

use super::file::{AnonInode, ConsoleFile, DataFile, File};
use super::pipe::PipeEnd;
use super::{anon_dev, DirEntry, Env, FileType, Inode, InodeRef, Path, Stat, StatFs, Timespec};
use crate::errno::Errno;
use crate::mm::{AreaKind, PROT_EXEC, PROT_READ, PROT_WRITE};
use crate::process::Process;

/// What only the kernel knows about the machine, for /proc.
#[derive(Clone, Debug, Default)]
pub struct SystemInfo {
    pub cpu_vendor: String,
    pub cpu_model_name: String,
    pub cpu_family: u32,
    pub cpu_model: u32,
    pub cpu_stepping: u32,
    /// CPU clock in kHz.
    pub cpu_khz: u64,
    /// Linux's names of the CPU features (the flags line).
    pub cpu_flags: String,
    /// /proc/sys/kernel/random/boot_id.
    pub boot_id: String,
    /// Wall clock at boot, in seconds since the epoch (btime of /proc/stat).
    pub boot_time: u64,
}

/// What exec knows about the program, for /proc/self.
#[derive(Clone, Debug, Default)]
pub struct ExecInfo {
    /// argv strings, each NUL-terminated.
    pub cmdline: Vec<u8>,
    /// envp strings, each NUL-terminated.
    pub environ: Vec<u8>,
    /// The auxiliary vector as the stack holds it (pairs of u64, AT_NULL last).
    pub auxv: Vec<u8>,
    /// Where argv and envp strings are on the stack (for /proc/self/stat).
    pub arg_range: (u64, u64),
    pub env_range: (u64, u64),
}

/// The release uname reports.
pub const OSRELEASE: &str = "6.1.0-nutshell";
/// The version uname reports.
pub const KVERSION: &str = "#1 SMP nutshell";
pub const HOSTNAME: &str = "nutshell";

struct ProcShared {
    dev: u64,
    info: SystemInfo,
}

/// Generated files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum G {
    Cpuinfo,
    Meminfo,
    Stat,
    Uptime,
    Version,
    Filesystems,
    Loadavg,
    Osrelease,
    Hostname,
    Ostype,
    KVersion,
    BootId,
    Uuid,
    PidMax,
    Overcommit,
    MaxMapCount,
    Cmdline,
    Environ,
    Auxv,
    PStat,
    Statm,
    Status,
    Maps,
    Mounts,
    Mountinfo,
    Comm,
}

/// The nodes of /proc.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum N {
    Root,
    Sys,
    SysKernel,
    SysKernelRandom,
    SysVm,
    SelfLink,
    ThreadSelf,
    MountsLink,
    Pid,
    /// /proc/PID/task and /proc/PID/task/TID.
    Task,
    TaskTid(u32),
    FdDir,
    Fd(u32),
    Exe,
    Cwd,
    PidRoot,
    Gen(G),
}

const ROOT: &[(&str, N)] = &[
    ("cpuinfo", N::Gen(G::Cpuinfo)),
    ("filesystems", N::Gen(G::Filesystems)),
    ("loadavg", N::Gen(G::Loadavg)),
    ("meminfo", N::Gen(G::Meminfo)),
    ("mounts", N::MountsLink),
    ("self", N::SelfLink),
    ("stat", N::Gen(G::Stat)),
    ("sys", N::Sys),
    ("thread-self", N::ThreadSelf),
    ("uptime", N::Gen(G::Uptime)),
    ("version", N::Gen(G::Version)),
];
const SYS: &[(&str, N)] = &[("kernel", N::SysKernel), ("vm", N::SysVm)];
const SYS_KERNEL: &[(&str, N)] = &[
    ("hostname", N::Gen(G::Hostname)),
    ("osrelease", N::Gen(G::Osrelease)),
    ("ostype", N::Gen(G::Ostype)),
    ("pid_max", N::Gen(G::PidMax)),
    ("random", N::SysKernelRandom),
    ("version", N::Gen(G::KVersion)),
];
const SYS_KERNEL_RANDOM: &[(&str, N)] =
    &[("boot_id", N::Gen(G::BootId)), ("uuid", N::Gen(G::Uuid))];
const SYS_VM: &[(&str, N)] = &[
    ("max_map_count", N::Gen(G::MaxMapCount)),
    ("overcommit_memory", N::Gen(G::Overcommit)),
];
const PID: &[(&str, N)] = &[
    ("auxv", N::Gen(G::Auxv)),
    ("cmdline", N::Gen(G::Cmdline)),
    ("comm", N::Gen(G::Comm)),
    ("cwd", N::Cwd),
    ("environ", N::Gen(G::Environ)),
    ("exe", N::Exe),
    ("fd", N::FdDir),
    ("maps", N::Gen(G::Maps)),
    ("mountinfo", N::Gen(G::Mountinfo)),
    ("mounts", N::Gen(G::Mounts)),
    ("root", N::PidRoot),
    ("stat", N::Gen(G::PStat)),
    ("statm", N::Gen(G::Statm)),
    ("status", N::Gen(G::Status)),
    ("task", N::Task),
];

impl N {
    fn ty(self) -> FileType {
        match self {
            N::Root
            | N::Sys
            | N::SysKernel
            | N::SysKernelRandom
            | N::SysVm
            | N::Pid
            | N::Task
            | N::TaskTid(_)
            | N::FdDir => FileType::Dir,
            N::SelfLink
            | N::ThreadSelf
            | N::MountsLink
            | N::Fd(_)
            | N::Exe
            | N::Cwd
            | N::PidRoot => FileType::Symlink,
            N::Gen(_) => FileType::Regular,
        }
    }

    fn children(self) -> &'static [(&'static str, N)] {
        match self {
            N::Root => ROOT,
            N::Sys => SYS,
            N::SysKernel => SYS_KERNEL,
            N::SysKernelRandom => SYS_KERNEL_RANDOM,
            N::SysVm => SYS_VM,
            N::Pid => PID,
            // A thread's directory: the process's files but `task`.
            N::TaskTid(_) => &PID[..PID.len() - 1],
            _ => &[],
        }
    }

    fn parent(self) -> Option<N> {
        match self {
            N::Root => None,
            N::Sys | N::Pid => Some(N::Root),
            N::SysKernel | N::SysVm => Some(N::Sys),
            N::SysKernelRandom => Some(N::SysKernel),
            N::FdDir | N::Task => Some(N::Pid),
            N::TaskTid(_) => Some(N::Task),
            _ => None,
        }
    }

    /// A stable inode number.
    fn ino(self) -> u64 {
        let static_index = |table: &[(&str, N)], base: u64| {
            table
                .iter()
                .position(|(_, n)| *n == self)
                .map(|i| base + i as u64)
        };
        match self {
            N::Root => 1,
            N::Pid => 2,
            N::FdDir => 3,
            N::Task => 4,
            N::TaskTid(tid) => 0x20000 + u64::from(tid),
            N::Fd(fd) => 0x10000 + u64::from(fd),
            _ => static_index(ROOT, 0x100)
                .or_else(|| static_index(SYS, 0x200))
                .or_else(|| static_index(SYS_KERNEL, 0x300))
                .or_else(|| static_index(SYS_KERNEL_RANDOM, 0x400))
                .or_else(|| static_index(SYS_VM, 0x500))
                .or_else(|| static_index(PID, 0x600))
                .unwrap_or(0xfff),
        }
    }

    fn perm(self) -> u32 {
        match self {
            N::Gen(G::Environ | G::Auxv) => 0o400,
            N::Gen(G::Comm) => 0o644,
            N::Gen(G::PidMax | G::Overcommit | G::MaxMapCount | G::Hostname) => 0o644,
            N::Gen(_) => 0o444,
            N::FdDir => 0o500,
            n if n.ty() == FileType::Dir => 0o555,
            N::Fd(_) => 0o700,
            _ => 0o777,
        }
    }
}

/// An inode of /proc.
pub struct ProcInode {
    fs: Arc<ProcShared>,
    n: N,
}

/// A new procfs; returns its root.
pub fn new(info: SystemInfo) -> Arc<ProcInode> {
    Arc::new(ProcInode {
        fs: Arc::new(ProcShared {
            dev: anon_dev(),
            info,
        }),
        n: N::Root,
    })
}

impl ProcInode {
    fn node(&self, n: N) -> Arc<ProcInode> {
        Arc::new(ProcInode {
            fs: self.fs.clone(),
            n,
        })
    }

    fn boot_time(&self) -> Timespec {
        Timespec {
            sec: self.fs.info.boot_time as i64,
            nsec: 0,
        }
    }

    /// Children of a directory node with their names (the pid directory and fds depend on the process).
    fn entries(&self, env: &Env) -> Vec<(Vec<u8>, N)> {
        let mut out: Vec<(Vec<u8>, N)> = self
            .n
            .children()
            .iter()
            .map(|(name, n)| (name.as_bytes().to_vec(), *n))
            .collect();
        match (self.n, env.proc) {
            (N::Root, Some(p)) => out.push((format!("{}", p.pid).into_bytes(), N::Pid)),
            (N::Task, Some(p)) => {
                // Thread ids are handed out upwards from the process id.
                let mut found = 0;
                let mut tid = 1;
                while found < p.threads.live && tid < 1 << 22 {
                    if tid == p.tid || p.threads.is_live(tid) {
                        out.push((format!("{tid}").into_bytes(), N::TaskTid(tid)));
                        found += 1;
                    }
                    tid += 1;
                }
            }
            (N::FdDir, Some(p)) => {
                for (i, f) in p.fds.iter().enumerate() {
                    if f.is_some() {
                        out.push((format!("{i}").into_bytes(), N::Fd(i as u32)));
                    }
                }
            }
            _ => {}
        }
        out
    }

    /// What /proc/self/fd/N shows for the open file.
    fn fd_target(env: &Env, p: &Process, fd: u32) -> Result<Vec<u8>, Errno> {
        let f = p.file(u64::from(fd)).map_err(|_| Errno::ENOENT)?;
        let f = f.lock();
        let any = f.file.as_any();
        if let Some(c) = any.downcast_ref::<ConsoleFile>() {
            let tty = env.plat.is_none_or(|pl| pl.is_tty(c.fd));
            return Ok(if tty {
                b"/dev/pts/0".to_vec()
            } else {
                format!("pipe:[{}]", 3 + c.fd).into_bytes()
            });
        }
        if any.downcast_ref::<PipeEnd>().is_some() {
            let ino = f.file.stat(env)?.ino;
            return Ok(format!("pipe:[{ino}]").into_bytes());
        }
        Ok(f.path.as_bytes().to_vec())
    }

    fn generate(&self, env: &Env, g: G) -> Result<Vec<u8>, Errno> {
        let info = &self.fs.info;
        let mut s = String::new();
        let proc_ = || env.proc.ok_or(Errno::ENOENT);
        match g {
            G::Cpuinfo => cpuinfo(&mut s, info),
            G::Meminfo => {
                let (total, free) = env.plat.map_or((0, 0), |p| p.memory());
                meminfo(&mut s, total >> 10, free >> 10);
            }
            G::Stat => {
                let up = env.plat.map_or(0, |p| p.monotonic_ns()) / 10_000_000;
                let _ = writeln!(s, "cpu  {up} 0 0 0 0 0 0 0 0 0");
                let _ = writeln!(s, "cpu0 {up} 0 0 0 0 0 0 0 0 0");
                let _ = writeln!(s, "intr 0");
                let _ = writeln!(s, "ctxt 0");
                let _ = writeln!(s, "btime {}", info.boot_time);
                let _ = writeln!(s, "processes 1");
                let _ = writeln!(s, "procs_running 1");
                let _ = writeln!(s, "procs_blocked 0");
                let _ = writeln!(s, "softirq 0 0 0 0 0 0 0 0 0 0 0");
            }
            G::Uptime => {
                let ns = env.plat.map_or(0, |p| p.monotonic_ns());
                let cs = ns / 10_000_000;
                let _ = writeln!(s, "{}.{:02} 0.00", cs / 100, cs % 100);
            }
            G::Version => {
                let _ = writeln!(
                    s,
                    "Linux version {OSRELEASE} (nutshell@nutshell) (rustc) {KVERSION}"
                );
            }
            G::Filesystems => {
                for fs in [
                    "sysfs", "tmpfs", "proc", "devtmpfs", "9p", "ramfs", "rootfs",
                ] {
                    let _ = writeln!(s, "nodev\t{fs}");
                }
            }
            G::Loadavg => {
                let _ = writeln!(s, "0.00 0.00 0.00 1/1 {}", env.proc.map_or(1, |p| p.pid));
            }
            G::Osrelease => s.push_str(OSRELEASE),
            G::Hostname => s.push_str(HOSTNAME),
            G::Ostype => s.push_str("Linux"),
            G::KVersion => s.push_str(KVERSION),
            G::BootId => s.push_str(&info.boot_id),
            G::Uuid => {
                let mut b = [0u8; 16];
                if let Some(p) = env.plat {
                    // fill_random needs &mut; a uuid from the clock is fine for /proc's uuid file.
                    let t = p.monotonic_ns() ^ p.realtime_ns().rotate_left(17);
                    b[..8].copy_from_slice(&t.to_le_bytes());
                    b[8..].copy_from_slice(&t.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_le_bytes());
                }
                s.push_str(&uuid(&b));
            }
            G::PidMax => s.push_str("4194304"),
            G::Overcommit => s.push('0'),
            G::MaxMapCount => s.push_str("65530"),
            G::Cmdline => return Ok(proc_()?.exec_info.cmdline.clone()),
            G::Environ => return Ok(proc_()?.exec_info.environ.clone()),
            G::Auxv => return Ok(proc_()?.exec_info.auxv.clone()),
            G::Comm => {
                let _ = writeln!(s, "{}", proc_()?.comm);
            }
            G::Maps => maps(&mut s, proc_()?),
            G::Mounts => mounts(&mut s, proc_()?),
            G::Mountinfo => mountinfo(&mut s, proc_()?),
            G::PStat => pid_stat(&mut s, proc_()?, env),
            G::Statm => {
                let p = proc_()?;
                let pages = vm_size(p) / 4096;
                let _ = writeln!(s, "{pages} {pages} 0 0 0 {pages} 0");
            }
            G::Status => status(&mut s, proc_()?),
        }
        if matches!(
            g,
            G::Osrelease
                | G::Hostname
                | G::Ostype
                | G::KVersion
                | G::BootId
                | G::Uuid
                | G::PidMax
                | G::Overcommit
                | G::MaxMapCount
        ) {
            s.push('\n');
        }
        Ok(s.into_bytes())
    }
}

impl Inode for ProcInode {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn file_type(&self) -> FileType {
        self.n.ty()
    }
    fn ino(&self) -> u64 {
        self.n.ino()
    }
    fn dev(&self) -> u64 {
        self.fs.dev
    }
    fn stat(&self) -> Result<Stat, Errno> {
        let t = self.boot_time();
        let size = match self.n {
            N::SelfLink => 1,
            _ => 0,
        };
        Ok(Stat {
            dev: self.fs.dev,
            ino: self.n.ino(),
            mode: self.n.ty().mode_bits() | self.n.perm(),
            nlink: if self.n.ty() == FileType::Dir { 2 } else { 1 },
            size,
            blksize: 1024,
            atime: t,
            mtime: t,
            ctime: t,
            ..Stat::default()
        })
    }
    fn statfs(&self) -> Result<StatFs, Errno> {
        Ok(StatFs {
            magic: u64::from(linux_raw_sys::general::PROC_SUPER_MAGIC),
            bsize: 4096,
            namelen: 255,
            ..StatFs::default()
        })
    }
    fn lookup(&self, env: &Env, name: &[u8]) -> Result<InodeRef, Errno> {
        if self.n.ty() != FileType::Dir {
            return Err(Errno::ENOTDIR);
        }
        self.entries(env)
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, n)| self.node(n) as InodeRef)
            .ok_or(Errno::ENOENT)
    }
    fn parent(&self) -> Option<InodeRef> {
        self.n.parent().map(|n| self.node(n) as InodeRef)
    }
    fn readdir(
        &self,
        env: &Env,
        pos: u64,
        f: &mut dyn FnMut(&DirEntry, u64) -> bool,
    ) -> Result<(), Errno> {
        if self.n.ty() != FileType::Dir {
            return Err(Errno::ENOTDIR);
        }
        let parent = self.n.parent().unwrap_or(self.n);
        let mut all = alloc::vec![(b".".to_vec(), self.n), (b"..".to_vec(), parent),];
        all.extend(self.entries(env));
        for (i, (name, n)) in all.into_iter().enumerate().skip(pos as usize) {
            let e = DirEntry {
                ino: n.ino(),
                ty: n.ty(),
                name,
            };
            if !f(&e, i as u64 + 1) {
                break;
            }
        }
        Ok(())
    }
    fn readlink(&self, env: &Env) -> Result<Vec<u8>, Errno> {
        let p = env.proc.ok_or(Errno::ENOENT);
        match self.n {
            N::SelfLink => Ok(format!("{}", p?.pid).into_bytes()),
            N::ThreadSelf => {
                let p = p?;
                Ok(format!("{}/task/{}", p.pid, p.tid).into_bytes())
            }
            N::MountsLink => Ok(b"self/mounts".to_vec()),
            N::Exe => {
                // Always absolute, as Linux shows it.
                let exe = p?.exe.as_bytes();
                let mut out = if exe.starts_with(b"/") {
                    Vec::new()
                } else {
                    b"/".to_vec()
                };
                out.extend_from_slice(exe);
                Ok(out)
            }
            N::Cwd => {
                let p = p?;
                p.fs.path_of(env, &p.cwd)
            }
            N::PidRoot => Ok(b"/".to_vec()),
            N::Fd(fd) => Self::fd_target(env, p?, fd),
            _ => Err(Errno::EINVAL),
        }
    }
    fn magic_link(&self, env: &Env) -> Option<Result<Path, Errno>> {
        let p = match env.proc {
            Some(p) => p,
            None => {
                return matches!(self.n, N::Exe | N::Cwd | N::Fd(_)).then_some(Err(Errno::ENOENT))
            }
        };
        match self.n {
            N::Exe => Some(p.fs.resolve(env, &p.fs.root, p.exe.as_bytes(), true)),
            N::Cwd => Some(Ok(p.cwd.clone())),
            N::PidRoot => Some(Ok(p.fs.root.clone())),
            N::Fd(fd) => Some((|| {
                let f = p.file(u64::from(fd)).map_err(|_| Errno::ENOENT)?;
                let file = f.lock().file.clone();
                Ok(match file.location() {
                    Some(path) => path,
                    None => Path {
                        mnt: super::ANON_MOUNT,
                        inode: Arc::new(AnonInode { file }),
                    },
                })
            })()),
            _ => None,
        }
    }
    fn open(&self, env: &Env, _flags: u32) -> Option<Result<Arc<dyn File>, Errno>> {
        let N::Gen(g) = self.n else { return None };
        Some(self.generate(env, g).map(|data| {
            Arc::new(DataFile {
                data,
                node: self.node(self.n),
            }) as Arc<dyn File>
        }))
    }
}

/// Format 16 bytes as a version-4 UUID.
pub fn uuid(b: &[u8; 16]) -> String {
    let mut b = *b;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        h[0..4].concat(),
        h[4..6].concat(),
        h[6..8].concat(),
        h[8..10].concat(),
        h[10..16].concat()
    )
}

fn cpuinfo(s: &mut String, i: &SystemInfo) {
    let _ = writeln!(s, "processor\t: 0");
    let _ = writeln!(s, "vendor_id\t: {}", i.cpu_vendor);
    let _ = writeln!(s, "cpu family\t: {}", i.cpu_family);
    let _ = writeln!(s, "model\t\t: {}", i.cpu_model);
    let _ = writeln!(s, "model name\t: {}", i.cpu_model_name);
    let _ = writeln!(s, "stepping\t: {}", i.cpu_stepping);
    let _ = writeln!(
        s,
        "cpu MHz\t\t: {}.{:03}",
        i.cpu_khz / 1000,
        i.cpu_khz % 1000
    );
    let _ = writeln!(s, "cache size\t: 512 KB");
    let _ = writeln!(s, "physical id\t: 0");
    let _ = writeln!(s, "siblings\t: 1");
    let _ = writeln!(s, "core id\t\t: 0");
    let _ = writeln!(s, "cpu cores\t: 1");
    let _ = writeln!(s, "apicid\t\t: 0");
    let _ = writeln!(s, "initial apicid\t: 0");
    let _ = writeln!(s, "fpu\t\t: yes");
    let _ = writeln!(s, "fpu_exception\t: yes");
    let _ = writeln!(s, "cpuid level\t: 13");
    let _ = writeln!(s, "wp\t\t: yes");
    let _ = writeln!(s, "flags\t\t: {}", i.cpu_flags);
    let _ = writeln!(s, "bugs\t\t:");
    let bogo = i.cpu_khz * 2;
    let _ = writeln!(s, "bogomips\t: {}.{:02}", bogo / 1000, (bogo % 1000) / 10);
    let _ = writeln!(s, "clflush size\t: 64");
    let _ = writeln!(s, "cache_alignment\t: 64");
    let _ = writeln!(s, "address sizes\t: 48 bits physical, 48 bits virtual");
    let _ = writeln!(s, "power management:");
    let _ = writeln!(s);
}

fn meminfo(s: &mut String, total_kb: u64, free_kb: u64) {
    let lines: &[(&str, u64)] = &[
        ("MemTotal", total_kb),
        ("MemFree", free_kb),
        ("MemAvailable", free_kb),
        ("Buffers", 0),
        ("Cached", 0),
        ("SwapCached", 0),
        ("Active", 0),
        ("Inactive", 0),
        ("Active(anon)", 0),
        ("Inactive(anon)", 0),
        ("Active(file)", 0),
        ("Inactive(file)", 0),
        ("Unevictable", 0),
        ("Mlocked", 0),
        ("SwapTotal", 0),
        ("SwapFree", 0),
        ("Dirty", 0),
        ("Writeback", 0),
        ("AnonPages", total_kb.saturating_sub(free_kb)),
        ("Mapped", 0),
        ("Shmem", 0),
        ("KReclaimable", 0),
        ("Slab", 0),
        ("SReclaimable", 0),
        ("SUnreclaim", 0),
        ("KernelStack", 0),
        ("PageTables", 0),
        ("NFS_Unstable", 0),
        ("Bounce", 0),
        ("WritebackTmp", 0),
        ("CommitLimit", total_kb),
        ("Committed_AS", total_kb.saturating_sub(free_kb)),
        ("VmallocTotal", 34359738367),
        ("VmallocUsed", 0),
        ("VmallocChunk", 0),
        ("Percpu", 0),
        ("HugePages_Total", u64::MAX),
        ("HugePages_Free", u64::MAX),
        ("HugePages_Rsvd", u64::MAX),
        ("HugePages_Surp", u64::MAX),
        ("Hugepagesize", 2048),
        ("Hugetlb", 0),
    ];
    for (name, v) in lines {
        let label = format!("{name}:");
        if *v == u64::MAX {
            // The HugePages_* counts are plain numbers.
            let _ = writeln!(s, "{label:<16}{:>8}", 0);
        } else {
            let _ = writeln!(s, "{label:<16}{v:>8} kB");
        }
    }
}

/// Total size of the areas.
fn vm_size(p: &Process) -> u64 {
    p.mm.vmas().map(|v| v.end - v.start).sum()
}

/// One line of /proc/PID/maps per area, as show_map_vma: the name starts at column 73.
pub fn maps(s: &mut String, p: &Process) {
    // An ELF image (the program, the interpreter) as exec loaded it: offsets from its first area, the
    // file's device and inode from the tree.
    let image_of = |path: &str| -> (u64, u64, u64) {
        let start =
            p.mm.vmas()
                .find(|v| matches!(&v.kind, AreaKind::Image(q) if q == path))
                .map_or(0, |v| v.start);
        let (dev, ino) =
            p.fs.resolve(&Env::none(), &p.fs.root, path.as_bytes(), true)
                .ok()
                .and_then(|e| e.inode.stat().ok())
                .map_or((0, 0), |st| (st.dev, st.ino));
        (start, dev, ino)
    };
    let mut images: Vec<(String, (u64, u64, u64))> = Vec::new();
    for v in p.mm.vmas() {
        let (off, dev, ino, name): (u64, u64, u64, Option<String>) = match &v.kind {
            AreaKind::Anon => (0, 0, 0, None),
            AreaKind::Heap => (0, 0, 0, Some(String::from("[heap]"))),
            AreaKind::Stack => (0, 0, 0, Some(String::from("[stack]"))),
            AreaKind::Image(path) => {
                let known = images.iter().find(|(q, _)| q == path).map(|(_, i)| *i);
                let (start, dev, ino) = match known {
                    Some(i) => i,
                    None => {
                        let i = image_of(path);
                        images.push((path.clone(), i));
                        i
                    }
                };
                (v.start - start, dev, ino, Some(path.clone()))
            }
            AreaKind::File(f) => (f.offset, f.inode.dev(), f.inode.ino(), Some(f.path.clone())),
        };
        let mut line = format!(
            "{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {} ",
            v.start,
            v.end,
            if v.prot & PROT_READ != 0 { 'r' } else { '-' },
            if v.prot & PROT_WRITE != 0 { 'w' } else { '-' },
            if v.prot & PROT_EXEC != 0 { 'x' } else { '-' },
            if v.shared { 's' } else { 'p' },
            off,
            super::major(dev),
            super::minor(dev),
            ino
        );
        if let Some(name) = name {
            while line.len() < 72 {
                line.push(' ');
            }
            line.push(' ');
            line.push_str(&name);
        }
        s.push_str(&line);
        s.push('\n');
    }
}

fn mount_options(m: &super::Mount) -> &'static str {
    if m.flags.read_only {
        "ro,relatime"
    } else {
        "rw,relatime"
    }
}

fn mounts(s: &mut String, p: &Process) {
    for m in p.fs.mounts() {
        let _ = writeln!(
            s,
            "{} {} {} {} 0 0",
            m.source,
            String::from_utf8_lossy(&m.target),
            m.fstype,
            mount_options(m)
        );
    }
}

fn mountinfo(s: &mut String, p: &Process) {
    for m in p.fs.mounts() {
        let dev = m.root.dev();
        let _ = writeln!(
            s,
            "{} {} {}:{} / {} {} - {} {} {}",
            m.id + 20,
            m.parent + 20,
            super::major(dev),
            super::minor(dev),
            String::from_utf8_lossy(&m.target),
            mount_options(m),
            m.fstype,
            m.source,
            if m.flags.read_only { "ro" } else { "rw" }
        );
    }
}

fn sig_sets(p: &Process) -> (u64, u64) {
    let mut ign = 0u64;
    let mut cgt = 0u64;
    for (i, a) in p.sigactions.iter().enumerate() {
        match a.handler {
            0 => {}
            1 => ign |= 1 << i,
            _ => cgt |= 1 << i,
        }
    }
    (ign, cgt)
}

fn pid_stat(s: &mut String, p: &Process, env: &Env) {
    let vsize = vm_size(p);
    let (ign, cgt) = sig_sets(p);
    let start =
        p.mm.vmas()
            .find(|v| matches!(v.kind, AreaKind::Image(_)))
            .map_or(0, |v| v.start);
    let end_code =
        p.mm.vmas()
            .filter(|v| matches!(v.kind, AreaKind::Image(_)) && v.prot & PROT_EXEC != 0)
            .map(|v| v.end)
            .max()
            .unwrap_or(0);
    let stack =
        p.mm.vmas()
            .filter(|v| v.kind == AreaKind::Stack)
            .map(|v| v.end)
            .max()
            .unwrap_or(0);
    let ticks = env.plat.map_or(0, |pl| pl.monotonic_ns()) / 10_000_000;
    let i = &p.exec_info;
    let _ = writeln!(
        s,
        "{pid} ({comm}) R 0 {pid} {pid} 0 -1 4194304 0 0 0 0 {ticks} 0 0 0 20 0 {threads} 0 0 {vsize} {rss} \
         18446744073709551615 {start} {end_code} {stack} 0 0 0 {mask} {ign} {cgt} 0 0 0 17 0 0 0 0 0 0 \
         0 0 {brk_start} {a0} {a1} {e0} {e1} 0",
        pid = p.pid,
        comm = p.comm,
        threads = p.threads.live,
        rss = vsize / 4096,
        mask = p.sigmask,
        brk_start = p.mm.brk_start,
        a0 = i.arg_range.0,
        a1 = i.arg_range.1,
        e0 = i.env_range.0,
        e1 = i.env_range.1,
    );
}

fn status(s: &mut String, p: &Process) {
    let kb = |b: u64| b >> 10;
    let total = vm_size(p);
    let size_of = |pred: &dyn Fn(&crate::mm::Vma) -> bool| -> u64 {
        p.mm.vmas()
            .filter(|v| pred(v))
            .map(|v| v.end - v.start)
            .sum()
    };
    let stack = size_of(&|v| v.kind == AreaKind::Stack);
    let exe = size_of(&|v| matches!(v.kind, AreaKind::Image(_)) && v.prot & PROT_EXEC != 0);
    let data = size_of(&|v| v.prot & PROT_WRITE != 0 && !v.shared && v.kind != AreaKind::Stack);
    let (ign, cgt) = sig_sets(p);
    let fdsize = p.fds.len().next_power_of_two().max(64);
    let _ = writeln!(s, "Name:\t{}", p.comm);
    let _ = writeln!(s, "Umask:\t{:04o}", p.umask);
    let _ = writeln!(s, "State:\tR (running)");
    let _ = writeln!(s, "Tgid:\t{}", p.pid);
    let _ = writeln!(s, "Ngid:\t0");
    let _ = writeln!(s, "Pid:\t{}", p.pid);
    let _ = writeln!(s, "PPid:\t0");
    let _ = writeln!(s, "TracerPid:\t0");
    let _ = writeln!(s, "Uid:\t0\t0\t0\t0");
    let _ = writeln!(s, "Gid:\t0\t0\t0\t0");
    let _ = writeln!(s, "FDSize:\t{fdsize}");
    let _ = writeln!(s, "Groups:\t ");
    let _ = writeln!(s, "NStgid:\t{}", p.pid);
    let _ = writeln!(s, "NSpid:\t{}", p.pid);
    let _ = writeln!(s, "NSpgid:\t{}", p.pid);
    let _ = writeln!(s, "NSsid:\t{}", p.pid);
    for (name, v) in [
        ("VmPeak", total),
        ("VmSize", total),
        ("VmLck", 0),
        ("VmPin", 0),
        ("VmHWM", total),
        ("VmRSS", total),
        ("RssAnon", total),
        ("RssFile", 0),
        ("RssShmem", 0),
        ("VmData", data),
        ("VmStk", stack),
        ("VmExe", exe),
        ("VmLib", 0),
        ("VmPTE", 0),
        ("VmSwap", 0),
        ("HugetlbPages", 0),
    ] {
        let _ = writeln!(s, "{name}:\t{:>8} kB", kb(v));
    }
    let _ = writeln!(s, "CoreDumping:\t0");
    let _ = writeln!(s, "THP_enabled:\t1");
    let _ = writeln!(s, "Threads:\t{}", p.threads.live);
    let _ = writeln!(s, "SigQ:\t0/63432");
    let _ = writeln!(s, "SigPnd:\t0000000000000000");
    let _ = writeln!(s, "ShdPnd:\t0000000000000000");
    let _ = writeln!(s, "SigBlk:\t{:016x}", p.sigmask);
    let _ = writeln!(s, "SigIgn:\t{ign:016x}");
    let _ = writeln!(s, "SigCgt:\t{cgt:016x}");
    let _ = writeln!(s, "CapInh:\t0000000000000000");
    let _ = writeln!(s, "CapPrm:\t000001ffffffffff");
    let _ = writeln!(s, "CapEff:\t000001ffffffffff");
    let _ = writeln!(s, "CapBnd:\t000001ffffffffff");
    let _ = writeln!(s, "CapAmb:\t0000000000000000");
    let _ = writeln!(s, "NoNewPrivs:\t0");
    let _ = writeln!(s, "Seccomp:\t0");
    let _ = writeln!(s, "Seccomp_filters:\t0");
    let _ = writeln!(s, "Speculation_Store_Bypass:\tthread vulnerable");
    let _ = writeln!(s, "SpeculationIndirectBranch:\tconditional enabled");
    let _ = writeln!(s, "Cpus_allowed:\t1");
    let _ = writeln!(s, "Cpus_allowed_list:\t0");
    let _ = writeln!(s, "Mems_allowed:\t1");
    let _ = writeln!(s, "Mems_allowed_list:\t0");
    let _ = writeln!(s, "voluntary_ctxt_switches:\t0");
    let _ = writeln!(s, "nonvoluntary_ctxt_switches:\t0");
}
