//! What a dynamically linked program needs in the guest: the host files to copy into the
//! initrd, at the same paths as on the host.
//!
//! The kernel maps the program and its `PT_INTERP` (ld.so) from the root file system; ld.so
//! then opens and maps the libraries itself. So [`collect`] returns
//! - the program;
//! - its interpreter (`PT_INTERP`);
//! - every `DT_NEEDED` library, recursively (breadth first, as ld.so loads them), resolved as
//!   the interpreter would resolve it:
//!   - glibc (`ld-linux-x86-64.so.2`, 2.36 as on Debian 12): a name with a `/` is a path; a
//!     name already loaded (by the name it was asked for, or its `DT_SONAME`; ld.so itself is
//!     loaded as its SONAME) is not searched again; otherwise `DT_RPATH` of the object that
//!     needs it, then of the object that loaded that one, and so on up to the program (only
//!     when the needing object has no `DT_RUNPATH`), then the program's `DT_RPATH`;
//!     `LD_LIBRARY_PATH` is ignored (the guest's environment is not the host's); then the
//!     needing object's `DT_RUNPATH`; then `/etc/ld.so.cache` (format
//!     `glibc-ld.so.cache1.1`, entries flagged `libc6,x86-64`, see [`LdCache`]); then the
//!     system directories `/lib/x86_64-linux-gnu`, `/usr/lib/x86_64-linux-gnu`, `/lib`,
//!     `/usr/lib` (the cache and these are skipped for an object with `DF_1_NODEFLIB`).
//!     `$ORIGIN`, `$LIB` (`lib/x86_64-linux-gnu`, Debian's multiarch value) and `$PLATFORM`
//!     (`x86_64`) are expanded, also in the `${NAME}` form. In each directory ld.so first tries
//!     the subdirectories `glibc-hwcaps/x86-64-v4`, `-v3`, `-v2`, `tls/x86_64/x86_64`,
//!     `tls/x86_64`, `tls`, `x86_64/x86_64`, `x86_64` (those the CPU supports): every such
//!     variant that exists is included, since the guest CPU decides which one is used. Files
//!     that are not x86-64 ELF64 objects are skipped, like ld.so skips other classes.
//!     `/lib64` and `/usr/lib64` are NOT searched: Debian's ld.so does not search them
//!     (`LD_DEBUG=libs` shows the system search path above), so a library found only there
//!     would fail in the guest anyway.
//!   - musl (an interpreter named `ld-musl-*`): `libc.*`, `libm.*`, `libpthread.*`, `librt.*`,
//!     `libdl.*`, `libutil.*`, `libxnet.*` are the interpreter itself; a name already loaded
//!     is not searched again; then the `DT_RUNPATH` (or, without one, `DT_RPATH`) of the
//!     needing object and of every object up the chain that loaded it (`$ORIGIN` expanded);
//!     then the directories of `/etc/ld-musl-x86_64.path` (lines or `:`-separated), or
//!     `/lib:/usr/local/lib:/usr/lib` when that file does not exist.
//! - symbolic links as symbolic links: every link met on the way to a file is included with
//!   its target (e.g. `/lib64/ld-linux-x86-64.so.2 → /lib/x86_64-linux-gnu/...`, and `/lib →
//!   usr/lib` on a merged-/usr system), and every directory on the way as a directory;
//! - for a dynamically linked program, these small files when they exist ([`EXTRA_FILES`],
//!   about 500 KB on Debian 12): `/etc/ld.so.cache`, `/etc/passwd`, `/etc/group`,
//!   `/etc/nsswitch.conf`, `/etc/localtime` (and the zoneinfo file it links to), the gconv
//!   configuration (`gconv-modules`, `gconv-modules.cache`, `gconv-modules.d/`: not the
//!   conversion modules, which are dlopen'ed: add them when needed) and the C.utf8 locale
//!   (`/usr/lib/locale/C.utf8/`); for musl also `/etc/ld-musl-x86_64.path`.
//!
//! A program without `PT_INTERP` (static) needs only itself. A script (`#!INTERPRETER [ARG]`)
//! needs itself, its interpreter and what the interpreter needs (up to 4 levels of scripts,
//! like Linux); [`Deps::shebang`] says what to run, because the kernel does not support `#!`
//! yet: the CLI can boot `INTERPRETER [ARG] SCRIPT ARGS...` instead.
//!
//! What a program finds only at run time cannot be seen here: libraries it `dlopen`s (NSS
//! modules, gconv modules, Python extension modules...) and data files (Python's standard
//! library, terminfo...). [`Collector::add`] adds a host file or directory (an ELF object's
//! own `DT_NEEDED` are resolved as if the program had `dlopen`ed it) and
//! [`Collector::add_library`] a library by name, searched like a `dlopen("libfoo.so.1")` from
//! the program. Relative directories in `DT_RPATH`/`DT_RUNPATH` (relative to the process's
//! current directory at run time) are skipped.
//!
//! Results are cached (see [`Collector::cache_dir`]): a file per program (and set of
//! additions) under `$XDG_CACHE_HOME/nutshell/` or `~/.cache/nutshell/`, holding the result and
//! the `lstat` of every path the resolution looked at, present or not (mtime in ns, size,
//! inode): any change of these, a new library appearing earlier in a search path included,
//! invalidates it. A hit costs one `lstat` per path instead of reading and parsing the ELF
//! files and the ld.so cache (measured on Debian 12, warm page cache, release build: 1.1 to
//! 2 ms → 0.12 to 0.35 ms for ls, python3, sqlite3, openssl; up to 26 ms → 0.14 ms cold).
//!
//! [`write_cpio`] and [`write_initrd`] pack the result (directories, links and files with the
//! host's modes, owners and modification times) with [`crate::cpio`].

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

use crate::cpio::{CpioError, CpioWriter, Meta};

/// The small files a dynamically linked program commonly reads, included when they exist
/// (a directory with its content).
pub const EXTRA_FILES: &[&str] = &[
    "/etc/ld.so.cache",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/localtime",
    "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules",
    "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache",
    "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.d",
    "/usr/lib/locale/C.utf8",
];

/// glibc's ld.so cache.
pub const LD_SO_CACHE: &str = "/etc/ld.so.cache";
/// musl's library path file (for an interpreter in `/lib`).
pub const MUSL_PATH_FILE: &str = "/etc/ld-musl-x86_64.path";
/// glibc's system directories, in ld.so's order (Debian 12, x86_64).
pub const GLIBC_SYSTEM_DIRS: &[&str] = &[
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib",
    "/usr/lib",
];
/// musl's library path when [`MUSL_PATH_FILE`] does not exist.
pub const MUSL_DEFAULT_PATH: &str = "/lib:/usr/local/lib:/usr/lib";
/// What `$LIB` expands to (Debian's multiarch ld.so).
pub const DST_LIB: &str = "lib/x86_64-linux-gnu";
/// What `$PLATFORM` expands to (AT_PLATFORM on x86_64).
pub const DST_PLATFORM: &str = "x86_64";
/// The subdirectories ld.so tries in each directory before the directory itself, best first.
const GLIBC_SUBDIRS: &[&str] = &[
    "glibc-hwcaps/x86-64-v4",
    "glibc-hwcaps/x86-64-v3",
    "glibc-hwcaps/x86-64-v2",
    "tls/x86_64/x86_64",
    "tls/x86_64",
    "tls",
    "x86_64/x86_64",
    "x86_64",
];
/// Linux follows at most 4 levels of `#!` (BINPRM_MAX_RECURSION).
const MAX_SCRIPT_DEPTH: usize = 4;
/// Symbolic links followed in one path walk at most (Linux's limit).
const MAX_LINKS: usize = 40;
/// Version of the cache file format.
const CACHE_FORMAT: &str = "nutshell-deps 1";

/// What a guest path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A regular file: the content of `host`.
    File {
        /// Its size in bytes when it was collected.
        size: u64,
    },
    /// A symbolic link to `target` (as the host link says it, relative or absolute); the
    /// target is in the list too.
    Symlink {
        /// The link's content.
        target: PathBuf,
    },
    /// A directory (its entries are listed separately).
    Directory,
}

/// One entry of the guest's root file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestFile {
    /// The absolute path in the guest (the same as `host` here).
    pub guest: PathBuf,
    /// The absolute path on the host (for a link: the link itself).
    pub host: PathBuf,
    /// File, link or directory.
    pub kind: Kind,
    /// Permission bits (`0o7777` at most).
    pub perm: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
}

/// A script's `#!` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shebang {
    /// The interpreter's path.
    pub interpreter: PathBuf,
    /// The optional single argument (the rest of the line, trimmed, like Linux).
    pub arg: Option<OsString>,
}

/// The result of a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deps {
    /// Everything the guest needs, sorted by guest path (a directory before its entries).
    pub files: Vec<GuestFile>,
    /// The program's absolute path in the guest (PROGRAM made absolute, symbolic links kept).
    pub program: PathBuf,
    /// The program's `PT_INTERP` (None for a static program or a script).
    pub interpreter: Option<PathBuf>,
    /// For a script: its `#!` line (the kernel does not run scripts yet).
    pub shebang: Option<Shebang>,
    /// Whether the result came from the cache.
    pub from_cache: bool,
}

impl Deps {
    /// The total size of the regular files.
    pub fn total_size(&self) -> u64 {
        self.files
            .iter()
            .map(|f| match f.kind {
                Kind::File { size } => size,
                _ => 0,
            })
            .sum()
    }
}

/// Why the files cannot be collected. The `Display` text follows `nutshell: `.
#[derive(Debug, thiserror::Error)]
pub enum DepsError {
    /// The program does not exist.
    #[error("{0}: no such file or directory")]
    ProgramNotFound(String),
    /// A library cannot be found where ld.so would look (status 127).
    #[error("{program}: {library} (needed by {needed_by}) not found")]
    LibraryNotFound {
        /// The program, as given.
        program: String,
        /// The `DT_NEEDED` name.
        library: String,
        /// The object that needs it (the path it was found at).
        needed_by: String,
    },
    /// The interpreter (`PT_INTERP` or a script's `#!`) does not exist (status 127).
    #[error("{program}: interpreter {interpreter} not found")]
    InterpreterNotFound {
        /// The program, as given.
        program: String,
        /// The interpreter's path.
        interpreter: String,
    },
    /// A file that was asked for with [`Collector::add`] does not exist (status 127).
    #[error("{0}: no such file or directory (added to the guest)")]
    AddedNotFound(String),
    /// A file is not something the program can run (status 126).
    #[error("{path}: {reason}")]
    NotRunnable {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A file could not be read (status 126).
    #[error("{path}: {}", crate::program::describe(.error))]
    Io {
        /// The file.
        path: String,
        /// The error.
        error: io::Error,
    },
    /// Writing the initrd failed.
    #[error("{path}: {error}")]
    Pack {
        /// The file being packed.
        path: String,
        /// The error.
        error: CpioError,
    },
}

impl DepsError {
    /// The exit status of `nutshell run` for this error: 127 when something is missing, like
    /// a shell or ld.so; 126 otherwise.
    pub fn status(&self) -> u8 {
        match self {
            DepsError::ProgramNotFound(_)
            | DepsError::LibraryNotFound { .. }
            | DepsError::InterpreterNotFound { .. }
            | DepsError::AddedNotFound(_) => 127,
            _ => 126,
        }
    }
}

fn io_error(path: &Path, error: io::Error) -> DepsError {
    DepsError::Io {
        path: path.display().to_string(),
        error,
    }
}

/// Where the cache lives.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CacheSetting {
    /// `$XDG_CACHE_HOME/nutshell` or `~/.cache/nutshell`.
    Default,
    /// This directory.
    Dir(PathBuf),
    /// No cache.
    Off,
}

/// A collection with options; [`collect`] is `Collector::new().collect(program)`.
#[derive(Debug, Clone)]
pub struct Collector {
    adds: Vec<PathBuf>,
    libraries: Vec<OsString>,
    extras: bool,
    cache: CacheSetting,
}

impl Default for Collector {
    fn default() -> Self {
        Collector::new()
    }
}

/// The files `program` (a host path) needs in the guest, with the cache in its default place.
pub fn collect(program: &Path) -> Result<Vec<GuestFile>, DepsError> {
    Ok(Collector::new().collect(program)?.files)
}

impl Collector {
    /// Defaults: the extra files, the default cache directory, nothing added.
    pub fn new() -> Self {
        Collector {
            adds: Vec::new(),
            libraries: Vec::new(),
            extras: true,
            cache: CacheSetting::Default,
        }
    }

    /// Add a host file or directory (with its content) at the same path in the guest (for
    /// `--add HOSTPATH`). An ELF shared object or executable among them brings its own
    /// libraries, resolved as if the program had `dlopen`ed it.
    pub fn add(&mut self, host_path: impl Into<PathBuf>) -> &mut Self {
        self.adds.push(host_path.into());
        self
    }

    /// Add a library by name (e.g. `libnss_dns.so.2`), found as `dlopen(name)` from the
    /// program would find it (a name with a `/` is a path), with its libraries.
    pub fn add_library(&mut self, name: impl Into<OsString>) -> &mut Self {
        self.libraries.push(name.into());
        self
    }

    /// Include [`EXTRA_FILES`] (the default) or not.
    pub fn extras(&mut self, on: bool) -> &mut Self {
        self.extras = on;
        self
    }

    /// Keep the cache in `dir` (`Some`), or use no cache (`None`). By default it is
    /// `$XDG_CACHE_HOME/nutshell`, or `$HOME/.cache/nutshell`.
    pub fn cache_dir(&mut self, dir: Option<PathBuf>) -> &mut Self {
        self.cache = match dir {
            Some(dir) => CacheSetting::Dir(dir),
            None => CacheSetting::Off,
        };
        self
    }

    /// The cache directory in use, if any.
    pub fn cache_location(&self) -> Option<PathBuf> {
        match &self.cache {
            CacheSetting::Off => None,
            CacheSetting::Dir(dir) => Some(dir.clone()),
            CacheSetting::Default => default_cache_dir(),
        }
    }

    /// Collect what `program` (a host path; relative to the current directory unless
    /// absolute) needs.
    pub fn collect(&self, program: &Path) -> Result<Deps, DepsError> {
        let absolute = absolute_lexical(program).map_err(|e| io_error(program, e))?;
        let cache_file = self
            .cache_location()
            .map(|dir| dir.join(format!("deps-{:016x}", self.key_hash(&absolute))));
        if let Some(file) = &cache_file {
            if let Some(deps) = self.load_cache(file, &absolute) {
                return Ok(deps);
            }
        }
        let (deps, checks) = self.collect_fresh(program, &absolute)?;
        if let Some(file) = &cache_file {
            // A cache that cannot be written only costs time.
            let _ = self.store_cache(file, &absolute, &deps, &checks);
        }
        Ok(deps)
    }

    fn collect_fresh(
        &self,
        shown: &Path,
        absolute: &Path,
    ) -> Result<(Deps, BTreeMap<PathBuf, Stamp>), DepsError> {
        let mut walk = Walk::new(shown.display().to_string());
        let mut shebang = None;
        let mut interpreter = None;
        // The program, then the interpreters of scripts.
        let mut current = absolute.to_path_buf();
        let mut depth = 0;
        let flavour = loop {
            let canonical = match walk.add_path(&current, false) {
                Ok(canonical) => canonical,
                Err(e) if depth == 0 && is_missing(&e) => {
                    return Err(DepsError::ProgramNotFound(walk.program.clone()))
                }
                Err(e) if is_missing(&e) => {
                    return Err(DepsError::InterpreterNotFound {
                        program: walk.program.clone(),
                        interpreter: current.display().to_string(),
                    })
                }
                Err(e) => return Err(io_error(&current, e)),
            };
            if fs::metadata(&canonical)
                .map(|m| m.is_dir())
                .unwrap_or(false)
            {
                return Err(DepsError::NotRunnable {
                    path: current.display().to_string(),
                    reason: "is a directory".into(),
                });
            }
            match read_elf(&canonical).map_err(|e| io_error(&current, e))? {
                Elf::Object(info) => {
                    if depth == 0 {
                        interpreter = info.interp.clone();
                    }
                    break walk.load_program(&current, &canonical, info)?;
                }
                Elf::WrongKind(reason) => {
                    return Err(DepsError::NotRunnable {
                        path: current.display().to_string(),
                        reason,
                    })
                }
                Elf::NotElf(head) => match parse_shebang(&head) {
                    Some(line) if depth < MAX_SCRIPT_DEPTH => {
                        if depth == 0 {
                            shebang = Some(line.clone());
                        }
                        current = line.interpreter;
                        depth += 1;
                    }
                    Some(_) => {
                        return Err(DepsError::NotRunnable {
                            path: current.display().to_string(),
                            reason: "too many levels of #! interpreters".into(),
                        })
                    }
                    None => {
                        return Err(DepsError::NotRunnable {
                            path: current.display().to_string(),
                            reason: "not an ELF file nor a #! script".into(),
                        })
                    }
                },
            }
        };
        for add in &self.adds {
            let add = absolute_lexical(add).map_err(|e| io_error(add, e))?;
            walk.add_extra(&add)?;
        }
        for name in &self.libraries {
            walk.add_library(name.as_bytes())?;
        }
        if flavour.is_some() && self.extras {
            for extra in EXTRA_FILES {
                walk.add_optional(Path::new(extra))?;
            }
            if flavour == Some(Flavour::Musl) {
                walk.add_optional(Path::new(MUSL_PATH_FILE))?;
            }
        }
        let deps = Deps {
            files: walk.tree.into_values().collect(),
            program: absolute.to_path_buf(),
            interpreter,
            shebang,
            from_cache: false,
        };
        Ok((deps, walk.checks))
    }

    /// What identifies a collection: the program's absolute path, the additions, the options.
    fn key_text(&self, absolute: &Path) -> Vec<u8> {
        let mut key = Vec::new();
        key.extend_from_slice(CACHE_FORMAT.as_bytes());
        key.extend_from_slice(b"\nprogram ");
        key.extend_from_slice(&escape(absolute.as_os_str().as_bytes()));
        for add in &self.adds {
            // Made absolute: the same relative path from another directory is another file.
            let add = absolute_lexical(add).unwrap_or_else(|_| add.clone());
            key.extend_from_slice(b"\nadd ");
            key.extend_from_slice(&escape(add.as_os_str().as_bytes()));
        }
        for lib in &self.libraries {
            key.extend_from_slice(b"\nlibrary ");
            key.extend_from_slice(&escape(lib.as_bytes()));
        }
        key.extend_from_slice(if self.extras {
            b"\nextras 1"
        } else {
            b"\nextras 0"
        });
        key.push(b'\n');
        key
    }

    fn key_hash(&self, absolute: &Path) -> u64 {
        fnv1a(&self.key_text(absolute))
    }

    fn load_cache(&self, file: &Path, absolute: &Path) -> Option<Deps> {
        let text = fs::read(file).ok()?;
        let key = self.key_text(absolute);
        let body = text.strip_prefix(&key[..])?;
        let mut deps = Deps {
            files: Vec::new(),
            program: absolute.to_path_buf(),
            interpreter: None,
            shebang: None,
            from_cache: true,
        };
        let mut complete = false;
        for line in body.split(|&b| b == b'\n') {
            let fields: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
            match fields[..] {
                [b"check", path, exists, mtime, size, ino] => {
                    let want = Stamp {
                        exists: exists == b"1",
                        mtime_ns: parse_num(mtime)?,
                        size: parse_num(size)?,
                        ino: parse_num(ino)?,
                    };
                    if Stamp::of(Path::new(OsStr::from_bytes(&unescape(path)?))) != want {
                        return None;
                    }
                }
                [b"interp", path] => deps.interpreter = Some(path_of(path)?),
                [b"shebang", interp] => {
                    deps.shebang = Some(Shebang {
                        interpreter: path_of(interp)?,
                        arg: None,
                    })
                }
                [b"shebang", interp, arg] => {
                    deps.shebang = Some(Shebang {
                        interpreter: path_of(interp)?,
                        arg: Some(OsString::from_vec(unescape(arg)?)),
                    })
                }
                [kind, guest, host, extra, perm, uid, gid, mtime] => {
                    let kind = match kind {
                        b"F" => Kind::File {
                            size: parse_num(extra)?,
                        },
                        b"L" => Kind::Symlink {
                            target: path_of(extra)?,
                        },
                        b"D" => Kind::Directory,
                        _ => return None,
                    };
                    deps.files.push(GuestFile {
                        guest: path_of(guest)?,
                        host: path_of(host)?,
                        kind,
                        perm: parse_num(perm)?,
                        uid: parse_num(uid)?,
                        gid: parse_num(gid)?,
                        mtime: parse_num(mtime)?,
                    });
                }
                [b"end"] => {
                    complete = true;
                    break;
                }
                _ => return None,
            }
        }
        complete.then_some(deps)
    }

    fn store_cache(
        &self,
        file: &Path,
        absolute: &Path,
        deps: &Deps,
        checks: &BTreeMap<PathBuf, Stamp>,
    ) -> io::Result<()> {
        let dir = file.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir)?;
        let mut out = self.key_text(absolute);
        for (path, stamp) in checks {
            out.extend_from_slice(b"check ");
            out.extend_from_slice(&escape(path.as_os_str().as_bytes()));
            out.extend_from_slice(
                format!(
                    " {} {} {} {}\n",
                    u8::from(stamp.exists),
                    stamp.mtime_ns,
                    stamp.size,
                    stamp.ino
                )
                .as_bytes(),
            );
        }
        if let Some(interp) = &deps.interpreter {
            out.extend_from_slice(b"interp ");
            out.extend_from_slice(&escape(interp.as_os_str().as_bytes()));
            out.push(b'\n');
        }
        if let Some(shebang) = &deps.shebang {
            out.extend_from_slice(b"shebang ");
            out.extend_from_slice(&escape(shebang.interpreter.as_os_str().as_bytes()));
            if let Some(arg) = &shebang.arg {
                out.push(b' ');
                out.extend_from_slice(&escape(arg.as_bytes()));
            }
            out.push(b'\n');
        }
        for f in &deps.files {
            let (kind, extra) = match &f.kind {
                Kind::File { size } => ("F", size.to_string().into_bytes()),
                Kind::Symlink { target } => ("L", escape(target.as_os_str().as_bytes())),
                Kind::Directory => ("D", b"-".to_vec()),
            };
            out.extend_from_slice(kind.as_bytes());
            out.push(b' ');
            out.extend_from_slice(&escape(f.guest.as_os_str().as_bytes()));
            out.push(b' ');
            out.extend_from_slice(&escape(f.host.as_os_str().as_bytes()));
            out.push(b' ');
            out.extend_from_slice(&extra);
            out.extend_from_slice(
                format!(" {} {} {} {}\n", f.perm, f.uid, f.gid, f.mtime).as_bytes(),
            );
        }
        out.extend_from_slice(b"end\n");
        // Written aside, then renamed: concurrent runs see the old file or the new one.
        let temp = dir.join(format!(
            ".{}.{}.tmp",
            file.file_name().and_then(OsStr::to_str).unwrap_or("deps"),
            std::process::id()
        ));
        fs::write(&temp, &out)?;
        fs::rename(&temp, file).inspect_err(|_| {
            let _ = fs::remove_file(&temp);
        })
    }
}

/// `$XDG_CACHE_HOME/nutshell` (when absolute), else `$HOME/.cache/nutshell`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME") {
        let xdg = PathBuf::from(xdg);
        if xdg.is_absolute() {
            return Some(xdg.join("nutshell"));
        }
    }
    let home = PathBuf::from(std::env::var_os("HOME").filter(|h| !h.is_empty())?);
    Some(home.join(".cache").join("nutshell"))
}

/// Write `files` into a cpio archive (names relative, like the rest of the initrd; owners
/// kept, as on the host).
pub fn write_cpio<W: Write>(
    files: &[GuestFile],
    cpio: &mut CpioWriter<W>,
) -> Result<(), DepsError> {
    for f in files {
        let name = f
            .guest
            .strip_prefix("/")
            .unwrap_or(&f.guest)
            .as_os_str()
            .as_bytes();
        if name.is_empty() {
            continue;
        }
        let meta = Meta {
            perm: f.perm,
            uid: f.uid,
            gid: f.gid,
            mtime: u32::try_from(f.mtime.max(0)).unwrap_or(u32::MAX),
        };
        let pack_error = |error| DepsError::Pack {
            path: f.host.display().to_string(),
            error,
        };
        match &f.kind {
            Kind::Directory => cpio.dir_meta(name, meta).map_err(pack_error)?,
            Kind::Symlink { target } => cpio
                .symlink(name, meta, target.as_os_str().as_bytes())
                .map_err(pack_error)?,
            Kind::File { .. } => {
                let mut file = File::open(&f.host).map_err(|e| io_error(&f.host, e))?;
                let size = file.metadata().map_err(|e| io_error(&f.host, e))?.len();
                let copied = cpio
                    .file_from(name, meta, size, &mut file)
                    .map_err(pack_error)?;
                if copied != size {
                    return Err(io_error(
                        &f.host,
                        io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the file shrank while it was read",
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Write a whole initrd holding `files` to `path`.
pub fn write_initrd(path: &Path, files: &[GuestFile]) -> Result<(), DepsError> {
    let file = File::create(path).map_err(|e| io_error(path, e))?;
    let mut cpio = CpioWriter::new(BufWriter::new(file));
    write_cpio(files, &mut cpio)?;
    let pack_error = |error| DepsError::Pack {
        path: path.display().to_string(),
        error,
    };
    let mut out = cpio.finish().map_err(pack_error)?;
    out.flush().map_err(|e| io_error(path, e))
}

// ---------------------------------------------------------------------------------------------
// Path walking
// ---------------------------------------------------------------------------------------------

/// What `lstat` said about a path (or that it did not exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    exists: bool,
    mtime_ns: i64,
    size: u64,
    ino: u64,
}

impl Stamp {
    fn of(path: &Path) -> Stamp {
        match fs::symlink_metadata(path) {
            Ok(m) => Stamp::from_meta(&m),
            Err(_) => Stamp::ABSENT,
        }
    }

    const ABSENT: Stamp = Stamp {
        exists: false,
        mtime_ns: 0,
        size: 0,
        ino: 0,
    };

    fn from_meta(m: &fs::Metadata) -> Stamp {
        Stamp {
            exists: true,
            mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
            size: m.size(),
            ino: m.ino(),
        }
    }
}

fn is_missing(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    ) || e.raw_os_error() == Some(libc::ENOTDIR)
}

/// `path` made absolute against the current directory, without resolving anything.
fn absolute_lexical(path: &Path) -> io::Result<PathBuf> {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    // Drop `.` components (and repeated slashes); keep `..`, which the guest resolves like
    // the host does.
    let mut out = PathBuf::from("/");
    for c in joined.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => out.push(".."),
            _ => {}
        }
    }
    Ok(out)
}

/// Which dynamic linker rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    Glibc,
    Musl,
}

/// One loaded ELF object.
#[derive(Debug)]
struct Obj {
    /// The path it was found at (ld.so's `l_name`).
    path: PathBuf,
    /// The directory `$ORIGIN` names.
    origin: PathBuf,
    info: ElfInfo,
    /// The object whose `DT_NEEDED` (or dlopen) loaded it.
    loader: Option<usize>,
}

/// The state of one collection.
struct Walk {
    /// The program as given (for messages).
    program: String,
    tree: BTreeMap<PathBuf, GuestFile>,
    checks: BTreeMap<PathBuf, Stamp>,
    objs: Vec<Obj>,
    /// Names (requested names, SONAMEs, paths) of the loaded objects.
    loaded: HashMap<Vec<u8>, usize>,
    /// Objects whose dependencies are still to be resolved.
    queue: VecDeque<usize>,
    flavour: Flavour,
    ld_cache: Option<Option<LdCache>>,
    musl_path: Option<Vec<PathBuf>>,
    /// For each directory searched: which of [`GLIBC_SUBDIRS`] exist.
    subdirs: HashMap<PathBuf, Vec<PathBuf>>,
    /// Canonical paths of the objects already queued.
    seen: HashSet<PathBuf>,
}

impl Walk {
    fn new(program: String) -> Walk {
        Walk {
            program,
            tree: BTreeMap::new(),
            checks: BTreeMap::new(),
            objs: Vec::new(),
            loaded: HashMap::new(),
            queue: VecDeque::new(),
            flavour: Flavour::Glibc,
            ld_cache: None,
            musl_path: None,
            subdirs: HashMap::new(),
            seen: HashSet::new(),
        }
    }

    /// `lstat`, recorded for the cache.
    fn lstat(&mut self, path: &Path) -> io::Result<fs::Metadata> {
        let result = fs::symlink_metadata(path);
        let stamp = match &result {
            Ok(m) => Stamp::from_meta(m),
            Err(_) => Stamp::ABSENT,
        };
        self.checks.insert(path.to_path_buf(), stamp);
        result
    }

    /// Whether `path` exists (following links), recorded for the cache.
    fn exists(&mut self, path: &Path) -> bool {
        let _ = self.lstat(path);
        fs::metadata(path).is_ok()
    }

    fn insert(&mut self, path: &Path, kind: Kind, meta: &fs::Metadata) {
        self.tree
            .entry(path.to_path_buf())
            .or_insert_with(|| GuestFile {
                guest: path.to_path_buf(),
                host: path.to_path_buf(),
                kind,
                perm: meta.mode() & 0o7777,
                uid: meta.uid(),
                gid: meta.gid(),
                mtime: meta.mtime(),
            });
    }

    /// Add `path` (absolute) as the kernel would walk it: every symbolic link on the way with
    /// its target, every directory on the way, and the file at the end (with its content, when
    /// it is a directory and `recursive`). Returns the canonical path.
    fn add_path(&mut self, path: &Path, recursive: bool) -> io::Result<PathBuf> {
        let mut todo: Vec<OsString> = components(path);
        todo.reverse();
        let mut current = PathBuf::from("/");
        let mut links = 0;
        while let Some(name) = todo.pop() {
            if name == ".." {
                current.pop();
                continue;
            }
            let next = current.join(&name);
            let last = todo.is_empty();
            // Only the last component's stamp matters for the cache: directories on the way
            // (like /tmp) change all the time without changing what is found.
            let meta = if last {
                self.lstat(&next)?
            } else {
                fs::symlink_metadata(&next)?
            };
            if meta.file_type().is_symlink() {
                links += 1;
                if links > MAX_LINKS {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                let target = fs::read_link(&next)?;
                if !last {
                    self.checks.insert(next.clone(), Stamp::from_meta(&meta));
                }
                self.insert(
                    &next,
                    Kind::Symlink {
                        target: target.clone(),
                    },
                    &meta,
                );
                if target.is_absolute() {
                    current = PathBuf::from("/");
                }
                let mut more = components(&target);
                more.reverse();
                todo.extend(more);
            } else if meta.is_dir() {
                self.insert(&next, Kind::Directory, &meta);
                current = next;
                if last && recursive {
                    self.add_dir_content(&current)?;
                }
            } else if last {
                self.insert(&next, Kind::File { size: meta.len() }, &meta);
                current = next;
            } else {
                return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
            }
        }
        Ok(current)
    }

    fn add_dir_content(&mut self, dir: &Path) -> io::Result<()> {
        let mut names: Vec<OsString> = fs::read_dir(dir)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<io::Result<_>>()?;
        names.sort();
        for name in names {
            let child = dir.join(name);
            let meta = self.lstat(&child)?;
            if meta.file_type().is_symlink() {
                // The target too (which may be outside the directory), unless it dangles.
                match self.add_path(&child, true) {
                    Ok(_) => {}
                    Err(e) if is_missing(&e) => {
                        let target = fs::read_link(&child)?;
                        self.insert(&child, Kind::Symlink { target }, &meta);
                    }
                    Err(e) => return Err(e),
                }
            } else if meta.is_dir() {
                self.insert(&child, Kind::Directory, &meta);
                self.add_dir_content(&child)?;
            } else if meta.is_file() {
                self.insert(&child, Kind::File { size: meta.len() }, &meta);
            }
            // Devices, FIFOs and sockets are left out.
        }
        Ok(())
    }

    /// Add a file if it exists.
    fn add_optional(&mut self, path: &Path) -> Result<(), DepsError> {
        match self.add_path(path, true) {
            Ok(_) => Ok(()),
            Err(e) if is_missing(&e) => Ok(()),
            Err(e) => Err(io_error(path, e)),
        }
    }

    /// The program (an ELF object), its interpreter and its libraries. Returns the flavour of
    /// dynamic linking (None for a static program).
    fn load_program(
        &mut self,
        path: &Path,
        canonical: &Path,
        info: ElfInfo,
    ) -> Result<Option<Flavour>, DepsError> {
        let interp = info.interp.clone();
        // $ORIGIN of the program comes from /proc/self/exe: the canonical path.
        let origin = canonical.parent().unwrap_or(Path::new("/")).to_path_buf();
        self.objs.push(Obj {
            path: path.to_path_buf(),
            origin,
            info,
            loader: None,
        });
        self.seen.insert(canonical.to_path_buf());
        let Some(interp) = interp else {
            return Ok(None);
        };
        let interp_canonical = match self.add_path(&interp, false) {
            Ok(c) => c,
            Err(e) if is_missing(&e) => {
                return Err(DepsError::InterpreterNotFound {
                    program: self.program.clone(),
                    interpreter: interp.display().to_string(),
                })
            }
            Err(e) => return Err(io_error(&interp, e)),
        };
        let is_musl = interp
            .file_name()
            .is_some_and(|n| n.as_bytes().starts_with(b"ld-musl"));
        self.flavour = if is_musl {
            Flavour::Musl
        } else {
            Flavour::Glibc
        };
        match read_elf(&interp_canonical).map_err(|e| io_error(&interp, e))? {
            Elf::Object(info) => {
                // ld.so is loaded first, under its PT_INTERP path and its SONAME.
                let index = self.objs.len();
                if let Some(soname) = &info.soname {
                    self.loaded.insert(soname.clone(), index);
                }
                self.loaded
                    .insert(interp.as_os_str().as_bytes().to_vec(), index);
                self.objs.push(Obj {
                    origin: interp.parent().unwrap_or(Path::new("/")).to_path_buf(),
                    path: interp.clone(),
                    info,
                    loader: None,
                });
                self.seen.insert(interp_canonical);
            }
            Elf::WrongKind(reason) => {
                return Err(DepsError::NotRunnable {
                    path: interp.display().to_string(),
                    reason,
                })
            }
            Elf::NotElf(_) => {
                return Err(DepsError::NotRunnable {
                    path: interp.display().to_string(),
                    reason: "the interpreter is not an ELF file".into(),
                })
            }
        }
        self.queue.push_back(0);
        self.resolve_queue()?;
        Ok(Some(self.flavour))
    }

    /// Resolve the `DT_NEEDED` of every queued object, breadth first.
    fn resolve_queue(&mut self) -> Result<(), DepsError> {
        while let Some(index) = self.queue.pop_front() {
            let needed = self.objs[index].info.needed.clone();
            for name in needed {
                if self.find_loaded(&name).is_some() {
                    continue;
                }
                let found = match self.flavour {
                    Flavour::Glibc => self.search_glibc(&name, index)?,
                    Flavour::Musl => self.search_musl(&name, index)?,
                };
                match found {
                    Some(paths) => self.load(&name, paths, Some(index))?,
                    None => {
                        return Err(DepsError::LibraryNotFound {
                            program: self.program.clone(),
                            library: String::from_utf8_lossy(&name).into_owned(),
                            needed_by: self.objs[index].path.display().to_string(),
                        })
                    }
                }
            }
        }
        Ok(())
    }

    /// An object already loaded under `name`.
    fn find_loaded(&self, name: &[u8]) -> Option<usize> {
        if self.flavour == Flavour::Musl && musl_reserved(name) {
            return Some(1); // the interpreter is libc
        }
        self.loaded.get(name).copied()
    }

    /// Load the object found for `name` (`paths[0]`; the rest are variants for other CPUs).
    fn load(
        &mut self,
        name: &[u8],
        paths: Vec<PathBuf>,
        loader: Option<usize>,
    ) -> Result<(), DepsError> {
        for (i, path) in paths.into_iter().enumerate() {
            let canonical = self
                .add_path(&path, false)
                .map_err(|e| io_error(&path, e))?;
            let info = match read_elf(&canonical).map_err(|e| io_error(&path, e))? {
                Elf::Object(info) => info,
                // Checked by the search.
                _ => continue,
            };
            let index = self.objs.len();
            if i == 0 {
                self.loaded.insert(name.to_vec(), index);
                self.loaded
                    .entry(path.as_os_str().as_bytes().to_vec())
                    .or_insert(index);
                if let Some(soname) = &info.soname {
                    // glibc matches SONAMEs; musl only the names asked for.
                    if self.flavour == Flavour::Glibc {
                        self.loaded.entry(soname.clone()).or_insert(index);
                    }
                }
            }
            if !self.seen.insert(canonical) {
                continue;
            }
            // Both ld.so's take $ORIGIN of a library from the path it opened, unresolved.
            let origin = path.parent().unwrap_or(Path::new("/")).to_path_buf();
            self.objs.push(Obj {
                path,
                origin,
                info,
                loader,
            });
            self.queue.push_back(index);
        }
        Ok(())
    }

    /// glibc's `_dl_map_object` search for `name` needed by object `index`.
    fn search_glibc(
        &mut self,
        name: &[u8],
        index: usize,
    ) -> Result<Option<Vec<PathBuf>>, DepsError> {
        if name.contains(&b'/') {
            return Ok(self.direct_path(name));
        }
        let loader = &self.objs[index];
        let nodeflib = loader.info.nodeflib;
        if loader.info.runpath.is_none() {
            let mut did_main = false;
            let mut current = Some(index);
            while let Some(i) = current {
                if let Some(rpath) = self.objs[i].info.rpath.clone() {
                    let dirs = expand_path_list(&rpath, &self.objs[i].origin, true);
                    if let Some(found) = self.search_dirs(name, &dirs) {
                        return Ok(Some(found));
                    }
                    did_main |= i == 0;
                }
                current = self.objs[i].loader;
            }
            if !did_main {
                if let Some(rpath) = self.objs[0].info.rpath.clone() {
                    let dirs = expand_path_list(&rpath, &self.objs[0].origin, true);
                    if let Some(found) = self.search_dirs(name, &dirs) {
                        return Ok(Some(found));
                    }
                }
            }
        }
        if let Some(runpath) = self.objs[index].info.runpath.clone() {
            let dirs = expand_path_list(&runpath, &self.objs[index].origin, true);
            if let Some(found) = self.search_dirs(name, &dirs) {
                return Ok(Some(found));
            }
        }
        if nodeflib {
            return Ok(None);
        }
        let cached: Vec<PathBuf> = self
            .ld_cache()
            .map(|cache| {
                cache
                    .lookup(name)
                    .into_iter()
                    .map(|e| e.path.clone())
                    .collect()
            })
            .unwrap_or_default();
        let mut usable = Vec::new();
        for path in cached {
            if self.exists(&path) && matches!(read_elf(&path), Ok(Elf::Object(_))) {
                usable.push(path);
            }
        }
        if !usable.is_empty() {
            return Ok(Some(usable));
        }
        let dirs: Vec<PathBuf> = GLIBC_SYSTEM_DIRS.iter().map(PathBuf::from).collect();
        Ok(self.search_dirs(name, &dirs))
    }

    /// musl's `load_library` search for `name` needed by object `index`.
    fn search_musl(
        &mut self,
        name: &[u8],
        index: usize,
    ) -> Result<Option<Vec<PathBuf>>, DepsError> {
        if name.contains(&b'/') {
            return Ok(self.direct_path(name));
        }
        let mut current = Some(index);
        while let Some(i) = current {
            let obj = &self.objs[i];
            let rpath = obj.info.runpath.clone().or_else(|| obj.info.rpath.clone());
            let dirs = rpath.map(|r| expand_path_list(&r, &obj.origin, false));
            current = obj.loader;
            if let Some(path) = dirs.and_then(|dirs| self.first_in(name, &dirs)) {
                return Ok(Some(vec![path]));
            }
        }
        let dirs = self.musl_path();
        Ok(self.first_in(name, &dirs).map(|p| vec![p]))
    }

    /// A `DT_NEEDED` with a slash: a path, relative to the current directory (`/` in the guest).
    fn direct_path(&mut self, name: &[u8]) -> Option<Vec<PathBuf>> {
        let path = Path::new("/").join(OsStr::from_bytes(name));
        (self.exists(&path) && matches!(read_elf(&path), Ok(Elf::Object(_)))).then(|| vec![path])
    }

    /// musl: the first `dir/name` that exists.
    fn first_in(&mut self, name: &[u8], dirs: &[PathBuf]) -> Option<PathBuf> {
        for dir in dirs {
            let candidate = dir.join(OsStr::from_bytes(name));
            if self.exists(&candidate) {
                return Some(candidate);
            }
        }
        None
    }

    /// glibc: the first directory of `dirs` holding `name` (in one of the CPU-specific
    /// subdirectories or in the directory itself) as an x86-64 ELF object; every such variant
    /// there, the directory's own file first.
    fn search_dirs(&mut self, name: &[u8], dirs: &[PathBuf]) -> Option<Vec<PathBuf>> {
        for dir in dirs {
            let subdirs = self.subdirs_of(dir);
            let mut found = Vec::new();
            for sub in subdirs.iter().chain(std::iter::once(dir)) {
                let candidate = sub.join(OsStr::from_bytes(name));
                if self.exists(&candidate) && matches!(read_elf(&candidate), Ok(Elf::Object(_))) {
                    found.push(candidate);
                }
            }
            if !found.is_empty() {
                // The directory's own file decides the dependencies; variants follow.
                let last = found.len() - 1;
                if found[last].parent() == Some(dir.as_path()) {
                    found.rotate_right(1);
                }
                return Some(found);
            }
        }
        None
    }

    fn subdirs_of(&mut self, dir: &Path) -> Vec<PathBuf> {
        if let Some(known) = self.subdirs.get(dir) {
            return known.clone();
        }
        let mut present = Vec::new();
        // Most directories have none of them: look for the three roots first.
        for root in ["glibc-hwcaps", "tls", "x86_64"] {
            let root_path = dir.join(root);
            if !self.exists(&root_path) {
                continue;
            }
            for sub in GLIBC_SUBDIRS
                .iter()
                .filter(|s| s.split('/').next() == Some(root))
            {
                let path = dir.join(sub);
                if self.exists(&path) {
                    present.push(path);
                }
            }
        }
        // Keep ld.so's order.
        present.sort_by_key(|p| {
            GLIBC_SUBDIRS
                .iter()
                .position(|s| dir.join(s) == *p)
                .unwrap_or(usize::MAX)
        });
        self.subdirs.insert(dir.to_path_buf(), present.clone());
        present
    }

    fn ld_cache(&mut self) -> Option<&LdCache> {
        if self.ld_cache.is_none() {
            let path = Path::new(LD_SO_CACHE);
            let _ = self.lstat(path);
            let cache = fs::read(path)
                .ok()
                .and_then(|data| LdCache::parse(&data).ok());
            self.ld_cache = Some(cache);
        }
        self.ld_cache.as_ref().and_then(Option::as_ref)
    }

    fn musl_path(&mut self) -> Vec<PathBuf> {
        if let Some(path) = &self.musl_path {
            return path.clone();
        }
        let file = Path::new(MUSL_PATH_FILE);
        let _ = self.lstat(file);
        let text = fs::read(file).unwrap_or_else(|_| MUSL_DEFAULT_PATH.as_bytes().to_vec());
        let dirs: Vec<PathBuf> = text
            .split(|&b| b == b':' || b == b'\n')
            .filter(|d| d.first() == Some(&b'/'))
            .map(|d| PathBuf::from(OsStr::from_bytes(d)))
            .collect();
        self.musl_path = Some(dirs.clone());
        dirs
    }

    /// An addition: a file or directory; ELF objects bring their libraries (as if the program
    /// `dlopen`ed them).
    fn add_extra(&mut self, path: &Path) -> Result<(), DepsError> {
        let canonical = match self.add_path(path, true) {
            Ok(c) => c,
            Err(e) if is_missing(&e) => {
                return Err(DepsError::AddedNotFound(path.display().to_string()))
            }
            Err(e) => return Err(io_error(path, e)),
        };
        let mut objects = Vec::new();
        if canonical.is_dir() {
            // ELF objects inside an added directory bring their libraries too.
            let inside: Vec<PathBuf> = self
                .tree
                .range(canonical.clone()..)
                .take_while(|(p, _)| p.starts_with(&canonical))
                .filter(|(_, f)| matches!(f.kind, Kind::File { size } if size >= 64))
                .map(|(p, _)| p.clone())
                .collect();
            objects.extend(inside);
        } else {
            objects.push(path.to_path_buf());
        }
        for object in objects {
            if let Ok(Elf::Object(info)) = read_elf(&object) {
                if info.needed.is_empty() {
                    continue;
                }
                let resolved = fs::canonicalize(&object).unwrap_or(object.clone());
                if !self.seen.insert(resolved) {
                    continue;
                }
                let index = self.objs.len();
                self.objs.push(Obj {
                    origin: object.parent().unwrap_or(Path::new("/")).to_path_buf(),
                    path: object,
                    info,
                    loader: Some(0),
                });
                self.queue.push_back(index);
            }
        }
        self.resolve_queue()
    }

    /// A library by name, as `dlopen(name)` from the program finds it.
    fn add_library(&mut self, name: &[u8]) -> Result<(), DepsError> {
        // (For a static program, glibc's rules.)
        if self.find_loaded(name).is_some() {
            return Ok(());
        }
        let found = match self.flavour {
            Flavour::Glibc => self.search_glibc(name, 0)?,
            Flavour::Musl => self.search_musl(name, 0)?,
        };
        match found {
            Some(paths) => {
                self.load(name, paths, Some(0))?;
                self.resolve_queue()
            }
            None => Err(DepsError::LibraryNotFound {
                program: self.program.clone(),
                library: String::from_utf8_lossy(name).into_owned(),
                needed_by: format!("{} (added)", self.objs[0].path.display()),
            }),
        }
    }
}

/// musl's names for itself.
fn musl_reserved(name: &[u8]) -> bool {
    let Some(rest) = name.strip_prefix(b"lib") else {
        return false;
    };
    ["c.", "pthread.", "rt.", "m.", "dl.", "util.", "xnet."]
        .iter()
        .any(|r| rest.starts_with(r.as_bytes()))
}

/// A path's components as names (`..` kept, `.` and the root dropped).
fn components(path: &Path) -> Vec<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

/// Split a `DT_RPATH`/`DT_RUNPATH` list and expand its tokens; `glibc` also knows `$LIB` and
/// `$PLATFORM` (musl only `$ORIGIN`). Relative and empty elements (relative to the process's
/// current directory) are dropped, as are elements with a token that cannot be expanded.
fn expand_path_list(list: &[u8], origin: &Path, glibc: bool) -> Vec<PathBuf> {
    let separators: &[u8] = if glibc { b":" } else { b":\n" };
    list.split(|b| separators.contains(b))
        .filter_map(|element| expand_tokens(element, origin, glibc))
        .filter(|d| d.first() == Some(&b'/'))
        .map(|d| {
            let mut d = d;
            while d.len() > 1 && d.ends_with(b"/") {
                d.pop();
            }
            PathBuf::from(OsString::from_vec(d))
        })
        .collect()
}

/// Expand `$ORIGIN`, `$LIB`, `$PLATFORM` (and `${...}`) in one path element.
pub fn expand_tokens(element: &[u8], origin: &Path, glibc: bool) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < element.len() {
        if element[i] != b'$' {
            out.push(element[i]);
            i += 1;
            continue;
        }
        let rest = &element[i + 1..];
        let (name, len) = if let Some(braced) = rest.strip_prefix(b"{") {
            match braced.iter().position(|&b| b == b'}') {
                Some(end) => (&braced[..end], end + 2),
                None => {
                    out.push(b'$');
                    i += 1;
                    continue;
                }
            }
        } else {
            let end = rest
                .iter()
                .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_'))
                .unwrap_or(rest.len());
            (&rest[..end], end)
        };
        let value: Option<&[u8]> = match name {
            b"ORIGIN" => Some(origin.as_os_str().as_bytes()),
            b"LIB" if glibc => Some(DST_LIB.as_bytes()),
            b"PLATFORM" if glibc => Some(DST_PLATFORM.as_bytes()),
            _ => None,
        };
        match value {
            Some(v) => out.extend_from_slice(v),
            // glibc copies an unknown `$NAME` as it is; so does musl.
            None => out.extend_from_slice(&element[i..i + 1 + len]),
        }
        i += 1 + len;
    }
    Some(out)
}

/// Parse a `#!` line: `#!` + optional blanks + the interpreter + optional blanks + the rest
/// of the line (trimmed) as one argument, as Linux does.
pub fn parse_shebang(head: &[u8]) -> Option<Shebang> {
    let line = head.strip_prefix(b"#!")?;
    let line = match line.iter().position(|&b| b == b'\n') {
        Some(end) => &line[..end],
        None => line,
    };
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let start = line.iter().position(|b| !blank(b))?;
    let line = &line[start..];
    let end = line.iter().position(blank).unwrap_or(line.len());
    let interpreter = &line[..end];
    let rest = &line[end..];
    let arg_start = rest.iter().position(|b| !blank(b));
    let arg = arg_start.map(|s| {
        let mut a = &rest[s..];
        while let Some((last, init)) = a.split_last() {
            if blank(last) || *last == b'\r' {
                a = init;
            } else {
                break;
            }
        }
        OsString::from_vec(a.to_vec())
    });
    let mut interpreter = interpreter.to_vec();
    if interpreter.last() == Some(&b'\r') {
        interpreter.pop();
    }
    if interpreter.is_empty() {
        return None;
    }
    Some(Shebang {
        interpreter: PathBuf::from(OsString::from_vec(interpreter)),
        arg: arg.filter(|a| !a.is_empty()),
    })
}

fn escape(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_graphic() && b != b'%' {
            out.push(b);
        } else {
            out.extend_from_slice(format!("%{b:02x}").as_bytes());
        }
    }
    if out.is_empty() {
        out.extend_from_slice(b"%");
    }
    out
}

fn unescape(text: &[u8]) -> Option<Vec<u8>> {
    if text == b"%" {
        return Some(Vec::new());
    }
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'%' {
            let hex = std::str::from_utf8(text.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    Some(out)
}

fn path_of(text: &[u8]) -> Option<PathBuf> {
    Some(PathBuf::from(OsString::from_vec(unescape(text)?)))
}

fn parse_num<T: std::str::FromStr>(text: &[u8]) -> Option<T> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

fn fnv1a(data: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for &b in data {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

// ---------------------------------------------------------------------------------------------
// ELF dynamic sections
// ---------------------------------------------------------------------------------------------

/// What the resolution needs from an ELF object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ElfInfo {
    /// `PT_INTERP`.
    pub interp: Option<PathBuf>,
    /// `DT_NEEDED`, in order.
    pub needed: Vec<Vec<u8>>,
    /// `DT_RPATH`.
    pub rpath: Option<Vec<u8>>,
    /// `DT_RUNPATH`.
    pub runpath: Option<Vec<u8>>,
    /// `DT_SONAME`.
    pub soname: Option<Vec<u8>>,
    /// `DF_1_NODEFLIB` in `DT_FLAGS_1`.
    pub nodeflib: bool,
}

/// What a file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elf {
    /// An ELF64 x86-64 object.
    Object(ElfInfo),
    /// An ELF file of another class or machine, or a broken one: why.
    WrongKind(String),
    /// Not ELF: the first bytes (for `#!`).
    NotElf(Vec<u8>),
}

const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const PT_LOAD: u32 = 1;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;
const DT_STRSZ: u64 = 10;
const DT_SONAME: u64 = 14;
const DT_RPATH: u64 = 15;
const DT_RUNPATH: u64 = 29;
const DT_FLAGS_1: u64 = 0x6fff_fffb;
const DF_1_NODEFLIB: u64 = 0x800;
/// Tables larger than this are refused (a sanity limit).
const MAX_TABLE: u64 = 64 << 20;

fn le16(d: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([d[at], d[at + 1]])
}
fn le32(d: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(d[at..at + 4].try_into().expect("4 bytes"))
}
fn le64(d: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(d[at..at + 8].try_into().expect("8 bytes"))
}

fn read_at(file: &File, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    if len > MAX_TABLE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "table too large",
        ));
    }
    let mut buf = vec![0u8; len as usize];
    file.read_exact_at(&mut buf, offset)?;
    Ok(buf)
}

/// Read the interpreter and dynamic section of the ELF file at `path` (only the headers and
/// tables, with `pread`: a large program is not read whole).
pub fn read_elf(path: &Path) -> io::Result<Elf> {
    let file = File::open(path)?;
    let mut head = vec![0u8; 256];
    let mut got = 0;
    while got < head.len() {
        match file.read_at(&mut head[got..], got as u64)? {
            0 => break,
            n => got += n,
        }
    }
    head.truncate(got);
    if !head.starts_with(b"\x7fELF") {
        return Ok(Elf::NotElf(head));
    }
    if head.len() < 64 {
        return Ok(Elf::WrongKind("truncated ELF header".into()));
    }
    if head[4] != 2 || head[5] != 1 {
        return Ok(Elf::WrongKind("not a 64-bit little-endian ELF file".into()));
    }
    if le16(&head, 18) != 62 {
        return Ok(Elf::WrongKind(format!(
            "not an x86-64 ELF file (machine {})",
            le16(&head, 18)
        )));
    }
    let bad = |what: &str| Ok(Elf::WrongKind(format!("malformed ELF file: {what}")));
    let phoff = le64(&head, 32);
    let phentsize = u64::from(le16(&head, 54));
    let phnum = u64::from(le16(&head, 56));
    if phentsize < 56 {
        return bad("program header size");
    }
    let phdrs = match read_at(&file, phoff, phentsize * phnum) {
        Ok(p) => p,
        Err(_) => return bad("program headers"),
    };
    let mut info = ElfInfo::default();
    let mut loads = Vec::new();
    let mut dynamic = None;
    for i in 0..phnum as usize {
        let p = &phdrs[i * phentsize as usize..];
        let (p_type, offset, vaddr, filesz) = (le32(p, 0), le64(p, 8), le64(p, 16), le64(p, 32));
        match p_type {
            PT_LOAD => loads.push((vaddr, offset, filesz)),
            PT_DYNAMIC => dynamic = Some((offset, filesz)),
            PT_INTERP => {
                let Ok(mut name) = read_at(&file, offset, filesz) else {
                    return bad("PT_INTERP");
                };
                if let Some(nul) = name.iter().position(|&b| b == 0) {
                    name.truncate(nul);
                }
                info.interp = Some(PathBuf::from(OsString::from_vec(name)));
            }
            _ => {}
        }
    }
    let Some((dyn_offset, dyn_size)) = dynamic else {
        return Ok(Elf::Object(info));
    };
    let Ok(table) = read_at(&file, dyn_offset, dyn_size) else {
        return bad("PT_DYNAMIC");
    };
    let mut strtab = None;
    let mut strsz = 0;
    let mut needed = Vec::new();
    let (mut rpath, mut runpath, mut soname) = (None, None, None);
    for entry in table.chunks_exact(16) {
        let (tag, val) = (le64(entry, 0), le64(entry, 8));
        match tag {
            0 => break,
            DT_NEEDED => needed.push(val),
            DT_STRTAB => strtab = Some(val),
            DT_STRSZ => strsz = val,
            DT_SONAME => soname = Some(val),
            DT_RPATH => rpath = Some(val),
            DT_RUNPATH => runpath = Some(val),
            DT_FLAGS_1 => info.nodeflib = val & DF_1_NODEFLIB != 0,
            _ => {}
        }
    }
    if needed.is_empty() && rpath.is_none() && runpath.is_none() && soname.is_none() {
        return Ok(Elf::Object(info));
    }
    // DT_STRTAB is an address: find the file offset through the PT_LOAD segments.
    let Some(strtab) = strtab else {
        return bad("DT_STRTAB missing");
    };
    let Some(str_offset) = loads
        .iter()
        .find(|(vaddr, _, filesz)| strtab >= *vaddr && strtab < vaddr + filesz)
        .map(|(vaddr, offset, _)| strtab - vaddr + offset)
    else {
        return bad("DT_STRTAB outside the file");
    };
    let Ok(strings) = read_at(&file, str_offset, strsz) else {
        return bad("string table");
    };
    let string = |at: u64| -> Option<Vec<u8>> {
        let tail = strings.get(at as usize..)?;
        let end = tail.iter().position(|&b| b == 0)?;
        Some(tail[..end].to_vec())
    };
    for at in needed {
        match string(at) {
            Some(name) => info.needed.push(name),
            None => return bad("DT_NEEDED outside the string table"),
        }
    }
    info.rpath = rpath.and_then(string);
    info.runpath = runpath.and_then(string);
    info.soname = soname.and_then(string);
    Ok(Elf::Object(info))
}

// ---------------------------------------------------------------------------------------------
// /etc/ld.so.cache
// ---------------------------------------------------------------------------------------------

/// `FLAG_ELF_LIBC6 | FLAG_X8664_LIB64`: what glibc's x86_64 ld.so accepts.
pub const FLAGS_X86_64: i32 = 0x0303;
const OLD_MAGIC: &[u8] = b"ld.so-1.7.0";
const NEW_MAGIC: &[u8] = b"glibc-ld.so.cache1.1";
const EXTENSION_MAGIC: u32 = 0xeaa4_2174;
const HWCAP_EXTENSION: u64 = 1 << 62;
const HWCAP_ISA_LEVEL_MASK: u64 = (1 << 10) - 1;

/// One entry of the ld.so cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    /// The library name (e.g. `libc.so.6`).
    pub name: Vec<u8>,
    /// Where it is.
    pub path: PathBuf,
    /// `FLAG_*` bits: type (`0x0003` libc6) and architecture (`0x0300` x86-64).
    pub flags: i32,
    /// The hwcap field.
    pub hwcap: u64,
    /// The glibc-hwcaps subdirectory name for an entry of a `glibc-hwcaps/NAME` directory.
    pub hwcaps_name: Option<String>,
}

impl CacheEntry {
    /// Whether glibc's x86_64 ld.so uses this entry.
    pub fn is_x86_64(&self) -> bool {
        self.flags == FLAGS_X86_64
    }
}

/// A parsed `/etc/ld.so.cache`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdCache {
    /// The entries, in the file's order (sorted by ldconfig, best first for equal names).
    pub entries: Vec<CacheEntry>,
    /// The generator string of the extension section ("ldconfig (Debian GLIBC ...)").
    pub generator: Option<String>,
}

impl LdCache {
    /// Parse the new format (`glibc-ld.so.cache1.1`), alone or after the old one.
    pub fn parse(data: &[u8]) -> Result<LdCache, String> {
        let mut start = 0usize;
        if data.starts_with(OLD_MAGIC) {
            // struct cache_file: magic[11], pad, nlibs (u32), 12-byte entries.
            if data.len() < 16 {
                return Err("truncated old-format header".into());
            }
            let nlibs = le32(data, 12) as usize;
            start = (16 + nlibs * 12).next_multiple_of(8);
        }
        let d = data.get(start..).ok_or("truncated cache")?;
        if !d.starts_with(NEW_MAGIC) {
            return Err("not a glibc-ld.so.cache1.1 file".into());
        }
        if d.len() < 48 {
            return Err("truncated header".into());
        }
        let nlibs = le32(d, 20) as usize;
        let extension_offset = le32(d, 32) as usize;
        let string_at = |offset: u32| -> Result<Vec<u8>, String> {
            let tail = d
                .get(offset as usize..)
                .ok_or_else(|| format!("string offset {offset} outside the file"))?;
            let end = tail
                .iter()
                .position(|&b| b == 0)
                .ok_or("unterminated string")?;
            Ok(tail[..end].to_vec())
        };
        // The glibc-hwcaps names, from the extension section.
        let mut hwcaps_names: Vec<String> = Vec::new();
        let mut generator = None;
        if extension_offset != 0
            && extension_offset + 8 <= d.len()
            && le32(d, extension_offset) == EXTENSION_MAGIC
        {
            let count = le32(d, extension_offset + 4) as usize;
            for s in 0..count {
                let at = extension_offset + 8 + s * 16;
                if at + 16 > d.len() {
                    break;
                }
                let (tag, offset, size) = (
                    le32(d, at),
                    le32(d, at + 8) as usize,
                    le32(d, at + 12) as usize,
                );
                let Some(section) = d.get(offset..offset + size) else {
                    continue;
                };
                match tag {
                    0 => generator = Some(String::from_utf8_lossy(section).into_owned()),
                    1 => {
                        for chunk in section.chunks_exact(4) {
                            let name = string_at(le32(chunk, 0))?;
                            hwcaps_names.push(String::from_utf8_lossy(&name).into_owned());
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut entries = Vec::with_capacity(nlibs);
        for i in 0..nlibs {
            let at = 48 + i * 24;
            if at + 24 > d.len() {
                return Err(format!("truncated entry {i}"));
            }
            let flags = le32(d, at) as i32;
            let name = string_at(le32(d, at + 4))?;
            let path = string_at(le32(d, at + 8))?;
            let hwcap = le64(d, at + 16);
            let hwcaps_name = if (hwcap >> 32) & !HWCAP_ISA_LEVEL_MASK == HWCAP_EXTENSION >> 32 {
                hwcaps_names.get((hwcap & 0xffff_ffff) as usize).cloned()
            } else {
                None
            };
            entries.push(CacheEntry {
                name,
                path: PathBuf::from(OsString::from_vec(path)),
                flags,
                hwcap,
                hwcaps_name,
            });
        }
        Ok(LdCache { entries, generator })
    }

    /// The x86-64 entries for `name`: the one ld.so uses on a CPU without glibc-hwcaps
    /// subdirectories (the first plain entry) first, then the CPU-specific variants.
    pub fn lookup(&self, name: &[u8]) -> Vec<&CacheEntry> {
        let mut found: Vec<&CacheEntry> = self
            .entries
            .iter()
            .filter(|e| e.name == name && e.is_x86_64())
            .collect();
        if let Some(plain) = found.iter().position(|e| e.hwcap == 0) {
            let entry = found.remove(plain);
            found.insert(0, entry);
        }
        found
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::Instant;

    fn guest_paths(deps: &Deps) -> Vec<String> {
        deps.files
            .iter()
            .map(|f| f.guest.display().to_string())
            .collect()
    }

    fn kind_of<'a>(deps: &'a Deps, path: &str) -> Option<&'a Kind> {
        deps.files
            .iter()
            .find(|f| f.guest == Path::new(path))
            .map(|f| &f.kind)
    }

    fn no_cache() -> Collector {
        let mut c = Collector::new();
        c.cache_dir(None);
        c
    }

    /// What ld.so itself loads for `program` (LD_TRACE_LOADED_OBJECTS, which is `ldd`),
    /// as canonical paths.
    fn ldd(program: &Path) -> Vec<PathBuf> {
        let out = Command::new(program)
            .env("LD_TRACE_LOADED_OBJECTS", "1")
            .output()
            .expect("run with LD_TRACE_LOADED_OBJECTS");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut paths = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            let path = match line.split_once(" => ") {
                Some((_, rest)) => rest.split(" (").next().unwrap_or(""),
                None => line.split(" (").next().unwrap_or(""),
            };
            if path.starts_with('/') {
                paths.push(fs::canonicalize(path).expect("ldd path exists"));
            }
        }
        assert!(
            !paths.is_empty(),
            "ldd said nothing for {program:?}: {text}"
        );
        paths
    }

    /// Resolve `path` with the entries of `deps` only (as the kernel will in the guest): the
    /// file it names, which must be a regular file.
    fn guest_resolve(deps: &Deps, path: &str) -> PathBuf {
        let entries: HashMap<&Path, &Kind> = deps
            .files
            .iter()
            .map(|f| (f.guest.as_path(), &f.kind))
            .collect();
        let mut todo: Vec<OsString> = components(Path::new(path));
        todo.reverse();
        let mut current = PathBuf::from("/");
        let mut links = 0;
        while let Some(name) = todo.pop() {
            if name == ".." {
                current.pop();
                continue;
            }
            let next = current.join(&name);
            match entries.get(next.as_path()) {
                Some(Kind::Symlink { target }) => {
                    links += 1;
                    assert!(links < 40, "link loop at {}", next.display());
                    if target.is_absolute() {
                        current = PathBuf::from("/");
                    }
                    let mut more = components(target);
                    more.reverse();
                    todo.extend(more);
                }
                Some(Kind::Directory) => current = next,
                Some(Kind::File { .. }) if todo.is_empty() => current = next,
                other => panic!("{path}: {} is {other:?} in the guest", next.display()),
            }
        }
        assert!(
            matches!(entries.get(current.as_path()), Some(Kind::File { .. })),
            "{path} resolves to {} which is not a file",
            current.display()
        );
        current
    }

    /// Every path in the result has its parent in the result (or is at the root), and every
    /// link's target is there.
    fn check_closed(deps: &Deps) {
        let all: HashSet<&Path> = deps.files.iter().map(|f| f.guest.as_path()).collect();
        for f in &deps.files {
            let parent = f.guest.parent().expect("parent");
            assert!(
                parent == Path::new("/") || all.contains(parent),
                "{} has no parent entry",
                f.guest.display()
            );
            if let Kind::Symlink { target } = &f.kind {
                let resolved = parent.join(target);
                let canonical = fs::canonicalize(&resolved).expect("link target");
                assert!(
                    all.contains(canonical.as_path()),
                    "the target {} of {} is missing",
                    canonical.display(),
                    f.guest.display()
                );
            }
        }
        let mut sorted = deps.files.clone();
        sorted.sort_by(|a, b| a.guest.cmp(&b.guest));
        assert_eq!(sorted, deps.files, "sorted, parents first");
    }

    #[test]
    fn resolves_ls_like_ld_so() {
        let deps = no_cache()
            .collect(Path::new("/bin/ls"))
            .expect("collect /bin/ls");
        check_closed(&deps);
        assert_eq!(deps.program, Path::new("/bin/ls"));
        assert_eq!(
            deps.interpreter.as_deref(),
            Some(Path::new("/lib64/ld-linux-x86-64.so.2"))
        );
        let paths: HashSet<PathBuf> = deps.files.iter().map(|f| f.guest.clone()).collect();
        for lib in ldd(Path::new("/bin/ls")) {
            assert!(
                paths.contains(&lib),
                "{} missing: {:?}",
                lib.display(),
                guest_paths(&deps)
            );
        }
        // The interpreter's links (/lib64 -> usr/lib64 on a merged /usr, then the link to
        // the real file) resolve in the guest to the host's file.
        let real = fs::canonicalize("/lib64/ld-linux-x86-64.so.2").expect("ld.so");
        assert_eq!(guest_resolve(&deps, "/lib64/ld-linux-x86-64.so.2"), real);
        assert_eq!(
            guest_resolve(&deps, "/bin/ls"),
            fs::canonicalize("/bin/ls").unwrap()
        );
        // Merged /usr: /bin is a link, kept as one.
        if fs::symlink_metadata("/bin")
            .expect("/bin")
            .file_type()
            .is_symlink()
        {
            assert!(matches!(kind_of(&deps, "/bin"), Some(Kind::Symlink { .. })));
        }
        // The extras.
        for extra in [
            "/etc/ld.so.cache",
            "/etc/passwd",
            "/etc/group",
            "/etc/nsswitch.conf",
        ] {
            assert!(
                matches!(kind_of(&deps, extra), Some(Kind::File { .. })),
                "{extra}"
            );
        }
        if Path::new("/usr/lib/locale/C.utf8/LC_CTYPE").exists() {
            assert!(kind_of(&deps, "/usr/lib/locale/C.utf8/LC_CTYPE").is_some());
        }
        let size = deps.total_size();
        assert!(size < 8 << 20, "{size} bytes");
    }

    #[test]
    fn resolves_python3_through_its_symlink() {
        let python = Path::new("/usr/bin/python3");
        if !python.exists() {
            eprintln!("no /usr/bin/python3: skipped");
            return;
        }
        let deps = no_cache().collect(python).expect("collect python3");
        check_closed(&deps);
        assert!(matches!(
            kind_of(&deps, "/usr/bin/python3"),
            Some(Kind::Symlink { .. })
        ));
        let real = fs::canonicalize(python).expect("python3");
        assert_eq!(guest_resolve(&deps, "/usr/bin/python3"), real);
        let paths: HashSet<PathBuf> = deps.files.iter().map(|f| f.guest.clone()).collect();
        for lib in ldd(python) {
            assert!(paths.contains(&lib), "{} missing", lib.display());
        }
    }

    /// Builds `libdep.so` (needing `libleaf.so`, both under `lib/`) and `prog` with
    /// `-rpath '$ORIGIN/lib'`; returns the directory.
    fn build_rpath_tree(dir: &Path, new_dtags: bool) -> PathBuf {
        let lib = dir.join("lib");
        fs::create_dir_all(&lib).unwrap();
        fs::write(dir.join("leaf.c"), "int leaf(void) { return 41; }\n").unwrap();
        fs::write(
            dir.join("dep.c"),
            "int leaf(void);\nint dep(void) { return leaf() + 1; }\n",
        )
        .unwrap();
        fs::write(
            dir.join("prog.c"),
            "int dep(void);\nint main(void) { return dep() == 42 ? 0 : 1; }\n",
        )
        .unwrap();
        let gcc = |args: &[&str]| {
            let out = Command::new("gcc")
                .current_dir(dir)
                .args(args)
                .output()
                .expect("gcc");
            assert!(
                out.status.success(),
                "gcc {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let dtags = if new_dtags {
            "-Wl,--enable-new-dtags"
        } else {
            "-Wl,--disable-new-dtags"
        };
        gcc(&["-shared", "-fPIC", "-o", "lib/libleaf.so", "leaf.c"]);
        // libdep finds libleaf through its own $ORIGIN.
        gcc(&[
            "-shared",
            "-fPIC",
            "-o",
            "lib/libdep.so",
            "dep.c",
            "-Llib",
            "-lleaf",
            "-Wl,-rpath,$ORIGIN",
            dtags,
        ]);
        gcc(&[
            "-o",
            "prog",
            "prog.c",
            "-Llib",
            "-ldep",
            "-Wl,-rpath,$ORIGIN/lib",
            dtags,
        ]);
        let status = Command::new(dir.join("prog")).status().expect("run prog");
        assert!(status.success(), "prog runs natively");
        dir.join("prog")
    }

    #[test]
    fn origin_rpath_and_runpath() {
        for new_dtags in [false, true] {
            let tmp = tempfile::tempdir().unwrap();
            let dir = fs::canonicalize(tmp.path()).unwrap();
            let prog = build_rpath_tree(&dir, new_dtags);
            let info = match read_elf(&prog).unwrap() {
                Elf::Object(info) => info,
                other => panic!("{other:?}"),
            };
            if new_dtags {
                assert_eq!(info.runpath.as_deref(), Some(&b"$ORIGIN/lib"[..]));
                assert_eq!(info.rpath, None);
            } else {
                assert_eq!(info.rpath.as_deref(), Some(&b"$ORIGIN/lib"[..]));
            }
            let deps = no_cache().collect(&prog).expect("collect");
            check_closed(&deps);
            let paths = guest_paths(&deps);
            for f in ["prog", "lib/libdep.so", "lib/libleaf.so"] {
                let p = dir.join(f).display().to_string();
                assert!(paths.contains(&p), "{p} missing from {paths:?}");
            }
            // A relative path works too.
            let deps2 = {
                let mut c = no_cache();
                c.extras(false);
                c.collect(&prog).unwrap()
            };
            assert!(deps2.files.len() < deps.files.len(), "extras are optional");
        }
    }

    #[test]
    fn missing_library_is_named_with_who_needs_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = fs::canonicalize(tmp.path()).unwrap();
        let prog = build_rpath_tree(&dir, false);
        // Missing for the program itself...
        fs::rename(dir.join("lib/libleaf.so"), dir.join("libleaf.so.away")).unwrap();
        let err = no_cache().collect(&prog).expect_err("libleaf is gone");
        assert_eq!(
            err.to_string(),
            format!(
                "{}: libleaf.so (needed by {}) not found",
                prog.display(),
                dir.join("lib/libdep.so").display()
            )
        );
        assert_eq!(err.status(), 127);
        fs::remove_file(dir.join("lib/libdep.so")).unwrap();
        let err = no_cache().collect(&prog).expect_err("libdep is gone");
        assert_eq!(
            err.to_string(),
            format!("{0}: libdep.so (needed by {0}) not found", prog.display())
        );
        // ...which is what ld.so says natively, with status 127.
        let out = Command::new(&prog).output().unwrap();
        assert_eq!(out.status.code(), Some(127));
        assert!(String::from_utf8_lossy(&out.stderr)
            .contains("libdep.so: cannot open shared object file"));
    }

    #[test]
    fn ld_so_cache_matches_ldconfig() {
        let data = fs::read(LD_SO_CACHE).expect("/etc/ld.so.cache");
        let cache = LdCache::parse(&data).expect("parse");
        let out = Command::new("ldconfig")
            .arg("-p")
            .output()
            .or_else(|_| Command::new("/sbin/ldconfig").arg("-p").output());
        let out = out.expect("ldconfig -p");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut lines = text.lines();
        let count: usize = lines
            .next()
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .expect("N libs found");
        assert_eq!(cache.entries.len(), count);
        let mut listed = Vec::new();
        for line in lines {
            if let Some(generator) = line.strip_prefix("Cache generated by: ") {
                assert_eq!(cache.generator.as_deref(), Some(generator));
                continue;
            }
            let line = line.trim();
            let (name, rest) = line.split_once(" (").expect("name (flags)");
            let (flags, path) = rest.split_once(") => ").expect("flags) => path");
            listed.push((name.to_string(), flags.to_string(), path.to_string()));
        }
        assert_eq!(listed.len(), count);
        for (entry, (name, flags, path)) in cache.entries.iter().zip(&listed) {
            assert_eq!(String::from_utf8_lossy(&entry.name), *name);
            assert_eq!(entry.path, Path::new(path));
            assert_eq!(
                entry.is_x86_64(),
                flags.starts_with("libc6,x86-64"),
                "{name} {flags}"
            );
            if let Some(hwcaps) = &entry.hwcaps_name {
                assert!(
                    flags.contains(hwcaps.as_str()),
                    "{name}: {flags} vs {hwcaps}"
                );
            }
        }
        let libc = cache.lookup(b"libc.so.6");
        assert!(!libc.is_empty());
        assert!(libc[0].path.ends_with("libc.so.6"));
    }

    #[test]
    fn scripts_bring_their_interpreter() {
        let tmp = tempfile::tempdir().unwrap();
        let script = tmp.path().join("s.sh");
        fs::write(&script, "#!/bin/sh -e\necho hi\n").unwrap();
        let deps = no_cache().collect(&script).expect("collect");
        assert_eq!(
            deps.shebang,
            Some(Shebang {
                interpreter: "/bin/sh".into(),
                arg: Some("-e".into())
            })
        );
        let paths = guest_paths(&deps);
        let sh = fs::canonicalize("/bin/sh").unwrap();
        assert!(paths.contains(&sh.display().to_string()), "{paths:?}");
        assert!(paths.iter().any(|p| p.ends_with("/libc.so.6")));
        assert!(paths.contains(&fs::canonicalize(&script).unwrap().display().to_string()));
        assert_eq!(
            parse_shebang(b"#!  /usr/bin/env   python3 -u \r\n"),
            Some(Shebang {
                interpreter: "/usr/bin/env".into(),
                arg: Some("python3 -u".into())
            })
        );
        assert_eq!(parse_shebang(b"#!\n"), None);
        fs::write(&script, "#!/nonexistent/interp\n").unwrap();
        let err = no_cache().collect(&script).expect_err("no interpreter");
        assert_eq!(err.status(), 127);
        assert!(
            err.to_string()
                .ends_with("interpreter /nonexistent/interp not found"),
            "{err}"
        );
    }

    #[test]
    fn static_programs_need_only_themselves() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = fs::canonicalize(tmp.path()).unwrap();
        fs::write(dir.join("s.c"), "int main(void) { return 0; }\n").unwrap();
        let out = Command::new("gcc")
            .current_dir(&dir)
            .args(["-static-pie", "-o", "s", "s.c"])
            .output()
            .unwrap();
        assert!(out.status.success());
        let deps = no_cache().collect(&dir.join("s")).unwrap();
        assert_eq!(deps.interpreter, None);
        let files: Vec<&GuestFile> = deps
            .files
            .iter()
            .filter(|f| !matches!(f.kind, Kind::Directory))
            .collect();
        assert_eq!(files.len(), 1, "{:?}", guest_paths(&deps));
        assert_eq!(files[0].guest, dir.join("s"));
        let err = no_cache().collect(&dir.join("nope")).expect_err("missing");
        assert_eq!(err.status(), 127);
        let err = no_cache().collect(&dir.join("s.c")).expect_err("text");
        assert_eq!(err.status(), 126);
    }

    #[test]
    fn musl_programs_use_musl_rules() {
        let musl_gcc = Command::new("musl-gcc").arg("--version").output();
        if musl_gcc.is_err() || !Path::new("/lib/ld-musl-x86_64.so.1").exists() {
            eprintln!("musl-gcc or musl's ld.so is not installed: skipped");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let dir = fs::canonicalize(tmp.path()).unwrap();
        fs::write(
            dir.join("m.c"),
            "#include <math.h>\nint main(int c, char **v) { (void)v; return (int)sqrt(c) - 1; }\n",
        )
        .unwrap();
        let out = Command::new("musl-gcc")
            .current_dir(&dir)
            .args(["-o", "m", "m.c", "-lm"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let deps = no_cache().collect(&dir.join("m")).unwrap();
        assert_eq!(
            deps.interpreter.as_deref(),
            Some(Path::new("/lib/ld-musl-x86_64.so.1"))
        );
        check_closed(&deps);
        assert_eq!(
            guest_resolve(&deps, "/lib/ld-musl-x86_64.so.1"),
            fs::canonicalize("/lib/ld-musl-x86_64.so.1").unwrap()
        );
        // libc.so is the interpreter itself: no search, no error.
        if Path::new(MUSL_PATH_FILE).exists() {
            assert!(kind_of(&deps, MUSL_PATH_FILE).is_some());
        }
    }

    #[test]
    fn additions_and_their_libraries() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = fs::canonicalize(tmp.path()).unwrap();
        let prog = build_rpath_tree(&dir, false);
        let extra = dir.join("data");
        fs::create_dir_all(extra.join("sub")).unwrap();
        fs::write(extra.join("sub/x.txt"), "x").unwrap();
        let mut c = no_cache();
        c.add(&extra).add_library("libz.so.1");
        let deps = c.collect(&prog).unwrap();
        let paths = guest_paths(&deps);
        assert!(paths.contains(&extra.join("sub/x.txt").display().to_string()));
        assert!(paths.iter().any(|p| p.ends_with("/libz.so.1")), "{paths:?}");
        let mut c = no_cache();
        c.add(dir.join("absent"));
        assert_eq!(c.collect(&prog).expect_err("absent").status(), 127);
        let mut c = no_cache();
        c.add_library("libnothing-here.so.7");
        let err = c.collect(&prog).expect_err("absent");
        assert!(
            err.to_string().contains("libnothing-here.so.7 (needed by"),
            "{err}"
        );
    }

    #[test]
    fn tokens() {
        let o = Path::new("/opt/app/bin");
        assert_eq!(
            expand_tokens(b"$ORIGIN/../lib", o, true).unwrap(),
            b"/opt/app/bin/../lib"
        );
        assert_eq!(
            expand_tokens(b"${ORIGIN}/x", o, true).unwrap(),
            b"/opt/app/bin/x"
        );
        assert_eq!(
            expand_tokens(b"/usr/$LIB", o, true).unwrap(),
            b"/usr/lib/x86_64-linux-gnu"
        );
        assert_eq!(
            expand_tokens(b"/p/${PLATFORM}/q", o, true).unwrap(),
            b"/p/x86_64/q"
        );
        assert_eq!(expand_tokens(b"/usr/$LIB", o, false).unwrap(), b"/usr/$LIB");
        assert_eq!(
            expand_tokens(b"/a/$ORIGINAL", o, true).unwrap(),
            b"/a/$ORIGINAL"
        );
        assert_eq!(
            expand_path_list(b"$ORIGIN:relative::/abs/", o, true),
            vec![PathBuf::from("/opt/app/bin"), PathBuf::from("/abs")]
        );
        assert!(musl_reserved(b"libc.so") && musl_reserved(b"libm.so.6"));
        assert!(!musl_reserved(b"libcrypto.so.3") && !musl_reserved(b"libmagic.so.1"));
        assert_eq!(unescape(&escape(b"a b%\n\xff")).unwrap(), b"a b%\n\xff");
    }

    /// The cache gives the same answer, faster, and notices changes.
    #[test]
    fn cache_hits_and_invalidation() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = fs::canonicalize(tmp.path()).unwrap();
        let prog = build_rpath_tree(&dir, false);
        let cache = dir.join("cache");
        let mut c = Collector::new();
        c.cache_dir(Some(cache.clone()));
        let first = c.collect(&prog).unwrap();
        assert!(!first.from_cache);
        let second = c.collect(&prog).unwrap();
        assert!(second.from_cache);
        assert_eq!(first.files, second.files);
        assert_eq!(first.interpreter, second.interpreter);
        // A new library earlier in the search path changes the answer: $ORIGIN/lib is
        // searched before ld.so.cache, so a libc.so.6 there would be used.
        let libc = fs::canonicalize("/lib/x86_64-linux-gnu/libc.so.6").unwrap();
        fs::copy(&libc, dir.join("lib/libc.so.6")).unwrap();
        let third = c.collect(&prog).unwrap();
        assert!(
            !third.from_cache,
            "a new file in a searched directory invalidates"
        );
        assert!(guest_paths(&third).contains(&dir.join("lib/libc.so.6").display().to_string()));
        // A changed library invalidates too.
        assert!(c.collect(&prog).unwrap().from_cache);
        std::thread::sleep(std::time::Duration::from_millis(10));
        fs::write(dir.join("lib/libc.so.6"), fs::read(&libc).unwrap()).unwrap();
        assert!(!c.collect(&prog).unwrap().from_cache);
        // Other additions are another key.
        c.add_library("libz.so.1");
        assert!(!c.collect(&prog).unwrap().from_cache);
    }

    /// How much the cache saves, for a few programs (printed; run with --nocapture).
    #[test]
    fn cache_gain() {
        let tmp = tempfile::tempdir().unwrap();
        let mut c = Collector::new();
        c.cache_dir(Some(tmp.path().to_path_buf()));
        for program in [
            "/bin/ls",
            "/usr/bin/python3",
            "/usr/bin/sqlite3",
            "/usr/bin/openssl",
        ] {
            if !Path::new(program).exists() {
                continue;
            }
            let runs = 20;
            let mut fresh = std::time::Duration::ZERO;
            let mut cached = std::time::Duration::ZERO;
            for _ in 0..runs {
                let _ = fs::remove_dir_all(tmp.path());
                let t = Instant::now();
                let a = c.collect(Path::new(program)).unwrap();
                fresh += t.elapsed();
                let t = Instant::now();
                let b = c.collect(Path::new(program)).unwrap();
                cached += t.elapsed();
                assert!(!a.from_cache && b.from_cache);
            }
            eprintln!(
                "{program}: {} files, {} bytes; resolution {:?}, from the cache {:?}",
                a_len(&c, program),
                c.collect(Path::new(program)).unwrap().total_size(),
                fresh / runs,
                cached / runs
            );
        }

        fn a_len(c: &Collector, program: &str) -> usize {
            c.collect(Path::new(program)).unwrap().files.len()
        }
    }
}
