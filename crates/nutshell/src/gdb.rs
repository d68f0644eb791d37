//! `--gdb[=PORT]` and `nutshell debug`: the gdb script.
//!
//! QEMU starts with `-gdb tcp:127.0.0.1:PORT -S` (paused before the kernel's first
//! instruction) and the kernel loads a PIE program at the fixed address [`LOAD_BASE`] (kernel
//! option `load_base=`), so the program's symbols can be placed before it runs. The script
//! loads the kernel's symbols and the program's (`add-symbol-file -o BIAS` for a PIE, at
//! their link addresses for `ET_EXEC`), connects, and runs to the program's entry point with
//! a hardware breakpoint (its pages are not mapped yet when the VM starts): at the prompt the
//! program is loaded and mapped, so software breakpoints (`break main`) work.
//!
//! A dynamically linked program starts in ld.so, which has loaded the libraries by the time it
//! jumps to the program's entry point. gdb cannot find them by itself (QEMU's gdb server gives
//! no auxiliary vector), so the script walks ld.so's list from there: the program's
//! `DT_DEBUG` entry points to `r_debug`, whose `r_map` chain gives each object's load bias
//! (`l_addr`) and path (`l_name`), and each library's symbols are added with
//! `add-symbol-file SYSROOT/PATH -o BIAS` (SYSROOT: the `--rootfs` directory, or nothing for
//! files that are the host's). Libraries opened later with dlopen are not covered.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};

use elf_loader::{ElfKind, LoadPlan};

/// Where the kernel loads a PIE program under `--gdb`: Linux's `ELF_ET_DYN_BASE` on x86_64,
/// the address gdb itself uses when it disables randomisation.
pub const LOAD_BASE: u64 = 0x5555_5555_4000;

/// The gdb binary looked up in PATH.
pub const GDB: &str = "gdb";

/// Why `nutshell debug` cannot start gdb.
#[derive(Debug, thiserror::Error)]
pub enum GdbError {
    /// gdb is not in PATH.
    #[error("gdb not found: install it with 'apt-get install gdb'")]
    NotFound,
    /// gdb could not be started.
    #[error("cannot start gdb: {}", crate::program::describe(.0))]
    Spawn(io::Error),
}

/// Find gdb in `path_var` (PATH).
pub fn find(path_var: Option<&OsStr>) -> Result<PathBuf, GdbError> {
    crate::program::resolve(OsStr::new(GDB), path_var).map_err(|_| GdbError::NotFound)
}

/// Where the program's symbols go: the offset for `add-symbol-file -o` (None for `ET_EXEC`,
/// loaded at its link addresses) and the run-time entry point.
pub fn placement(plan: &LoadPlan) -> (Option<u64>, u64) {
    match plan.kind {
        ElfKind::Dyn => {
            let bias = LOAD_BASE.wrapping_sub(plan.min_vaddr);
            (Some(bias), bias.wrapping_add(plan.entry))
        }
        ElfKind::Exec => (None, plan.entry),
    }
}

/// A file name as one gdb argument: in double quotes, `"` and `\` escaped.
fn quoted(path: &Path) -> String {
    let text = path.to_string_lossy();
    let mut out = String::from("\"");
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `PT_DYNAMIC`'s `p_vaddr` in an ELF64 image, if it has one.
pub fn dynamic_vaddr(image: &[u8]) -> Option<u64> {
    let u16_at = |at: usize| Some(u16::from_le_bytes(image.get(at..at + 2)?.try_into().ok()?));
    let u32_at = |at: usize| Some(u32::from_le_bytes(image.get(at..at + 4)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(image.get(at..at + 8)?.try_into().ok()?));
    let phoff = usize::try_from(u64_at(32)?).ok()?;
    let phentsize = usize::from(u16_at(54)?);
    let phnum = usize::from(u16_at(56)?);
    (0..phnum)
        .map(|i| phoff + i * phentsize)
        .find(|&at| u32_at(at) == Some(2)) // PT_DYNAMIC
        .and_then(|at| u64_at(at + 16))
}

/// gdb commands that add the symbols of the libraries ld.so loaded (see the module's doc),
/// for a program whose `PT_DYNAMIC` is at `dynamic` at run time; `sysroot` prefixes the
/// paths ld.so used.
fn library_commands(dynamic: u64, sysroot: &Path) -> String {
    // `eval` formats like printf; a `%` of the directory must not be taken for a conversion.
    let root = sysroot
        .to_string_lossy()
        .trim_end_matches('/')
        .replace('%', "%%")
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    format!(
        "# The libraries ld.so loaded: DT_DEBUG (21) -> r_debug.r_map -> link_map chain\n\
         # (l_addr at 0, l_name at 8, l_next at 24); not the program (\"\") nor the vDSO (no /).\n\
         set $nutshell_dyn = (unsigned long *) {dynamic:#x}\n\
         while $nutshell_dyn[0] != 0 && $nutshell_dyn[0] != 21\n\
         \x20 set $nutshell_dyn = $nutshell_dyn + 2\n\
         end\n\
         set $nutshell_map = 0\n\
         if $nutshell_dyn[0] == 21 && $nutshell_dyn[1] != 0\n\
         \x20 set $nutshell_map = ((unsigned long *) $nutshell_dyn[1])[1]\n\
         end\n\
         while $nutshell_map != 0\n\
         \x20 set $nutshell_lm = (unsigned long *) $nutshell_map\n\
         \x20 if $nutshell_lm[1] != 0 && *(char *) $nutshell_lm[1] == 47\n\
         \x20   eval \"add-symbol-file \\\"{root}%s\\\" -o %#lx\", (char *) $nutshell_lm[1], $nutshell_lm[0]\n\
         \x20 end\n\
         \x20 set $nutshell_map = $nutshell_lm[3]\n\
         end\n"
    )
}

/// The script's text. `libraries`: for a dynamically linked program, its `PT_DYNAMIC`
/// vaddr (from [`dynamic_vaddr`]) and where the guest's library paths are on the host.
pub fn script(
    kernel: &Path,
    program: &Path,
    plan: &LoadPlan,
    port: u16,
    libraries: Option<(u64, &Path)>,
) -> String {
    let (offset, entry) = placement(plan);
    let add = match offset {
        Some(offset) => format!("add-symbol-file {} -o {offset:#x}", quoted(program)),
        None => format!("add-symbol-file {}", quoted(program)),
    };
    let libraries = match libraries {
        Some((dynamic, sysroot)) => {
            library_commands(offset.unwrap_or(0).wrapping_add(dynamic), sysroot)
        }
        None => String::new(),
    };
    format!(
        "# Written by nutshell: connects to the VM (paused before the kernel's first\n\
         # instruction), loads the kernel's and the program's symbols, and runs to the\n\
         # program's entry point; then `break main`, `continue`, `bt`... work as usual.\n\
         set pagination off\n\
         set confirm off\n\
         symbol-file {kernel}\n\
         {add}\n\
         target remote 127.0.0.1:{port}\n\
         hbreak *{entry:#x}\n\
         continue\n\
         delete\n\
         {libraries}",
        kernel = quoted(kernel),
    )
}

/// Write the kernel image, the program and the script into `dir`; returns the script's path.
/// `sysroot`: where the paths of a dynamic program's libraries are on the host (`""`: the
/// host's own files; None: nowhere, their symbols are not loaded).
pub fn write_files(
    dir: &Path,
    kernel_image: &[u8],
    program_name: &[u8],
    program_image: &[u8],
    plan: &LoadPlan,
    port: u16,
    sysroot: Option<&Path>,
) -> io::Result<PathBuf> {
    let kernel = dir.join("nutshell-kernel");
    std::fs::write(&kernel, kernel_image)?;
    let name = String::from_utf8_lossy(program_name).replace(['/', '\0'], "_");
    let program = dir.join(if name.is_empty() || name == "nutshell-kernel" {
        "program".to_owned()
    } else {
        name
    });
    std::fs::write(&program, program_image)?;
    let script_path = dir.join("gdb-script");
    let libraries = match (&plan.interp, sysroot) {
        (Some(_), Some(sysroot)) => dynamic_vaddr(program_image).map(|dynamic| (dynamic, sysroot)),
        _ => None,
    };
    std::fs::write(
        &script_path,
        script(&kernel, &program, plan, port, libraries),
    )?;
    Ok(script_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pie_and_exec_placement() {
        let exe = std::fs::read(std::env::current_exe().expect("exe")).expect("read");
        let plan = elf_loader::parse(&exe).expect("the test binary loads");
        let text = script(
            Path::new("/t/k"),
            Path::new("/t/my \"prog\""),
            &plan,
            4321,
            None,
        );
        let (offset, entry) = placement(&plan);
        match plan.kind {
            ElfKind::Dyn => {
                let offset = offset.expect("a PIE has an offset");
                assert_eq!(offset + plan.min_vaddr, LOAD_BASE);
                assert!(text.contains(&format!(
                    "add-symbol-file \"/t/my \\\"prog\\\"\" -o {offset:#x}\n"
                )));
            }
            ElfKind::Exec => assert!(offset.is_none()),
        }
        assert!(text.contains("symbol-file \"/t/k\"\n"), "{text}");
        assert!(text.contains("target remote 127.0.0.1:4321\n"), "{text}");
        assert!(
            text.ends_with(&format!("hbreak *{entry:#x}\ncontinue\ndelete\n")),
            "{text}"
        );
        let exec = LoadPlan {
            kind: ElfKind::Exec,
            entry: 0x401000,
            min_vaddr: 0x400000,
            ..plan.clone()
        };
        assert_eq!(placement(&exec), (None, 0x401000));
        assert!(script(Path::new("k"), Path::new("p"), &exec, 1, None)
            .contains("add-symbol-file \"p\"\n"));
        // A dynamic program: the libraries' loop, with the directory they are in.
        let text = script(
            Path::new("k"),
            Path::new("p"),
            &plan,
            1,
            Some((0x3d00, Path::new("/srv/100%/root/"))),
        );
        let dynamic = offset.unwrap_or(0) + 0x3d00;
        assert!(
            text.contains(&format!(
                "set $nutshell_dyn = (unsigned long *) {dynamic:#x}\n"
            )),
            "{text}"
        );
        assert!(
            text.contains(
                r#"eval "add-symbol-file \"/srv/100%%/root%s\" -o %#lx", (char *) $nutshell_lm[1], $nutshell_lm[0]"#
            ),
            "{text}"
        );
    }

    #[test]
    fn dynamic_section_of_an_elf() {
        let exe = std::fs::read(std::env::current_exe().expect("exe")).expect("read");
        // The test binary is dynamically linked: it has a PT_DYNAMIC.
        assert!(dynamic_vaddr(&exe).is_some());
        assert_eq!(dynamic_vaddr(b"short"), None);
    }

    #[test]
    fn missing_gdb() {
        let empty = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            find(Some(empty.path().as_os_str()))
                .expect_err("missing")
                .to_string(),
            "gdb not found: install it with 'apt-get install gdb'"
        );
    }
}
