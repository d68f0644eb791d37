//! ELF64 load plans and the Linux initial process stack for nutshell.
//!
//! This crate turns the bytes of an unmodified Linux x86_64 program into plain data the
//! kernel acts on; it performs no I/O, allocates only through `alloc`, and contains no
//! `unsafe` code, so every rule is tested on the host with `cargo test -p elf-loader`.
//!
//! - [`parse`] validates an ELF64 image the way Linux's `load_elf_binary`
//!   ([fs/binfmt_elf.c](https://elixir.bootlin.com/linux/v6.8/source/fs/binfmt_elf.c)) does, plus a
//!   few stricter checks that turn a later crash into a clear message, and returns a
//!   [`LoadPlan`]: segments to map, entry point, interpreter, TLS template, stack executability.
//!   Every failure has its own [`ElfError`] variant and human message.
//! - [`build_stack`] lays out argc, argv, envp, the auxiliary vector and the strings they point
//!   to exactly as Linux's `create_elf_tables` and `do_execveat_common`
//!   ([fs/exec.c](https://elixir.bootlin.com/linux/v6.8/source/fs/exec.c)) do, and returns the
//!   memory image of the stack as bytes. [`linux_auxv`] builds the auxiliary entries in Linux's
//!   order from an [`AuxvValues`] struct. See the [`stack`] module for the diagram.
//!
//! The kernel builds this crate as `no_std`; tests build it with `std`.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod elf;
pub mod stack;
pub mod symbols;

pub use elf::{
    parse, ElfError, ElfKind, Flags, LoadPlan, Segment, MAX_INTERP_LEN, MAX_PHDR_TABLE_SIZE,
    PAGE_SIZE, USER_ADDR_LIMIT,
};
pub use stack::*;
