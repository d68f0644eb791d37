//! strace-style formatting of syscalls.
