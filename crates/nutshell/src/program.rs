//! Finding, reading and checking the PROGRAM of `nutshell run` before anything is booted.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Why PROGRAM cannot be run. The `Display` text follows `nutshell: `.
#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    /// No such file, or a name not found in PATH (status 127).
    #[error("{0}: no such file or directory")]
    NotFound(String),
    /// PROGRAM is not in the `--rootfs` root file system (status 127).
    #[error("{program}: not found in the root file system {rootfs}")]
    NotInRootfs {
        /// PROGRAM as typed.
        program: String,
        /// The `--rootfs` source as given.
        rootfs: String,
    },
    /// PROGRAM is a directory (status 126).
    #[error("{0}: is a directory")]
    IsDirectory(String),
    /// PROGRAM is a device, FIFO or socket (status 126).
    #[error("{0}: not a regular file")]
    NotRegular(String),
    /// PROGRAM could not be read (status 126).
    #[error("{program}: cannot read it: {}", describe(.error))]
    Unreadable {
        /// PROGRAM as typed.
        program: String,
        /// The error (not a `source`: the message already says it).
        error: io::Error,
    },
    /// The ELF loader rejected PROGRAM (status 126).
    #[error("{program}: {error}")]
    NotRunnable {
        /// PROGRAM as typed.
        program: String,
        /// The loader's reason.
        error: elf_loader::ElfError,
    },
}

impl ProgramError {
    /// The exit status of `nutshell run` for this error.
    pub fn status(&self) -> u8 {
        match self {
            ProgramError::NotFound(_) | ProgramError::NotInRootfs { .. } => 127,
            _ => 126,
        }
    }
}

/// The PROGRAM, read and checked.
#[derive(Debug)]
pub struct Program {
    /// Its name in the VM's root file system, without the leading `/`: PROGRAM's last
    /// component.
    pub name: Vec<u8>,
    /// Its bytes.
    pub image: Vec<u8>,
    /// Its modification time, in seconds since the epoch (0 if unknown).
    pub mtime: u32,
}

/// Find PROGRAM like a shell does: a name with a slash is a path; a name without one is
/// looked up in `path_var` (the value of PATH; an empty entry means the current directory),
/// taking the first executable regular file.
pub fn resolve(program: &OsStr, path_var: Option<&OsStr>) -> Result<PathBuf, ProgramError> {
    let shown = program.to_string_lossy().into_owned();
    if program.is_empty() {
        return Err(ProgramError::NotFound(shown));
    }
    if program.as_bytes().contains(&b'/') {
        return Ok(PathBuf::from(program));
    }
    let default_path = OsString::from("/usr/local/bin:/usr/bin:/bin");
    let path_var = path_var.unwrap_or(&default_path);
    for dir in path_var.as_bytes().split(|&b| b == b':') {
        let dir = if dir.is_empty() {
            Path::new(".")
        } else {
            Path::new(OsStr::from_bytes(dir))
        };
        let candidate = dir.join(program);
        if let Ok(meta) = std::fs::metadata(&candidate) {
            if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                return Ok(candidate);
            }
        }
    }
    Err(ProgramError::NotFound(shown))
}

/// Read the program at `path` (found for `program`, as typed) and check it with the ELF
/// loader the kernel uses, so a file the kernel would refuse fails here, before booting.
pub fn load(program: &OsStr, path: &Path) -> Result<Program, ProgramError> {
    let shown = program.to_string_lossy().into_owned();
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(ProgramError::NotFound(shown));
        }
        Err(error) => {
            return Err(ProgramError::Unreadable {
                program: shown,
                error,
            })
        }
    };
    if meta.is_dir() {
        return Err(ProgramError::IsDirectory(shown));
    }
    if !meta.is_file() {
        return Err(ProgramError::NotRegular(shown));
    }
    let image = std::fs::read(path).map_err(|error| ProgramError::Unreadable {
        program: shown.clone(),
        error,
    })?;
    if let Err(error) = elf_loader::parse(&image) {
        return Err(ProgramError::NotRunnable {
            program: shown,
            error,
        });
    }
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| u32::try_from(d.as_secs()).ok())
        .unwrap_or(0);
    let name = path
        .file_name()
        .map(|n| n.as_bytes().to_vec())
        .unwrap_or_else(|| b"program".to_vec());
    Ok(Program { name, image, mtime })
}

/// An I/O error as a short lowercase phrase, without "(os error N)".
pub fn describe(error: &io::Error) -> String {
    let text = error.to_string();
    let text = match text.find(" (os error") {
        Some(at) => &text[..at],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn path_lookup() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        fs::create_dir_all(&a).expect("mkdir");
        fs::create_dir_all(&b).expect("mkdir");
        fs::write(a.join("tool"), b"x").expect("write");
        fs::set_permissions(a.join("tool"), fs::Permissions::from_mode(0o644)).expect("chmod");
        fs::write(b.join("tool"), b"x").expect("write");
        fs::set_permissions(b.join("tool"), fs::Permissions::from_mode(0o755)).expect("chmod");
        fs::create_dir_all(a.join("sub")).expect("mkdir");
        let path = std::env::join_paths([&a, &b]).expect("join");

        assert_eq!(
            resolve(OsStr::new("tool"), Some(&path)).expect("found"),
            b.join("tool"),
            "the non-executable file in the first directory is skipped"
        );
        assert!(matches!(
            resolve(OsStr::new("missing"), Some(&path)),
            Err(ProgramError::NotFound(_))
        ));
        assert!(matches!(
            resolve(OsStr::new("sub"), Some(&path)),
            Err(ProgramError::NotFound(_))
        ));
        assert_eq!(
            resolve(OsStr::new("./x/y"), Some(&path)).expect("path"),
            Path::new("./x/y")
        );
        assert!(resolve(OsStr::new(""), None).is_err());
    }

    #[test]
    fn load_errors_and_statuses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = dir.path().join("script.sh");
        fs::write(&text, b"#!/bin/sh\necho hi\n").expect("write");

        let err = load(OsStr::new("script.sh"), &text).expect_err("not ELF");
        assert_eq!(err.status(), 126);
        assert!(
            err.to_string().starts_with("script.sh: not an ELF file"),
            "{err}"
        );

        let err = load(OsStr::new("d"), dir.path()).expect_err("directory");
        assert_eq!(err.to_string(), "d: is a directory");
        assert_eq!(err.status(), 126);

        let err = load(OsStr::new("nope"), &dir.path().join("nope")).expect_err("missing");
        assert_eq!(err.to_string(), "nope: no such file or directory");
        assert_eq!(err.status(), 127);

        let err = load(OsStr::new("null"), Path::new("/dev/null")).expect_err("device");
        assert_eq!(err.to_string(), "null: not a regular file");
    }

    #[test]
    fn loads_a_host_executable() {
        // Any x86_64 Linux host has ELF executables; the loader accepts ET_DYN and ET_EXEC.
        let exe = std::env::current_exe().expect("current_exe");
        let program = load(OsStr::new("me"), &exe).expect("the test binary is a valid ELF");
        assert_eq!(&program.image[..4], b"\x7fELF");
        assert_eq!(program.name, exe.file_name().expect("name").as_bytes());
    }

    #[test]
    fn io_error_phrases() {
        let e = io::Error::from_raw_os_error(libc::EACCES);
        assert_eq!(describe(&e), "permission denied");
    }
}
