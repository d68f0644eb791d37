//! Access to the program's memory. The kernel implements [`UserMemory`] by walking the program's page tables;
//! a bad pointer gives `EFAULT`, never a kernel fault.

use crate::errno::Errno;

/// Fallible copies between the kernel and the program's address space.
pub trait UserMemory {
    /// Copy `buf.len()` bytes from the program's address `addr`.
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno>;
    /// Copy `data` to the program's address `addr`.
    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno>;
}
