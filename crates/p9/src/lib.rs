//! A 9P2000.L client: the protocol QEMU's virtio-9p server speaks, used by nutshell to mount host
//! directories in the guest (`--volume`).
//!
//! Messages are `size[4] type[1] tag[2] body`, little endian; strings are `len[2] bytes`. Errors come back
//! as `Rlerror` with a Linux errno, which this client returns as is. The transport is a trait, so the
//! client runs on the host in tests against a fake server. Reference: the Linux kernel's
//! `include/net/9p/9p.h` and QEMU's `hw/9pfs/9p.c`.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

/// Message types (T = request, R = reply = T + 1).
pub mod msg {
    pub const RLERROR: u8 = 7;
    pub const TSTATFS: u8 = 8;
    pub const TLOPEN: u8 = 12;
    pub const TLCREATE: u8 = 14;
    pub const TSYMLINK: u8 = 16;
    pub const TMKNOD: u8 = 18;
    pub const TRENAME: u8 = 20;
    pub const TREADLINK: u8 = 22;
    pub const TGETATTR: u8 = 24;
    pub const TSETATTR: u8 = 26;
    pub const TXATTRWALK: u8 = 30;
    pub const TREADDIR: u8 = 40;
    pub const TFSYNC: u8 = 50;
    pub const TLOCK: u8 = 52;
    pub const TLINK: u8 = 70;
    pub const TMKDIR: u8 = 72;
    pub const TRENAMEAT: u8 = 74;
    pub const TUNLINKAT: u8 = 76;
    pub const TVERSION: u8 = 100;
    pub const TATTACH: u8 = 104;
    pub const TFLUSH: u8 = 108;
    pub const TWALK: u8 = 110;
    pub const TREAD: u8 = 116;
    pub const TWRITE: u8 = 118;
    pub const TCLUNK: u8 = 120;
    pub const TREMOVE: u8 = 122;
}

/// Linux errno values this crate produces itself.
pub const EIO: u32 = 5;
pub const EPROTO: u32 = 71;
pub const ENAMETOOLONG: u32 = 36;

/// The errno of a failed call (from `Rlerror`, or EIO/EPROTO for transport and protocol failures).
pub type Errno = u32;

/// Sends one request and receives its reply.
pub trait Transport {
    /// Send the request bytes and fill `reply` with the reply message (whole, with its header).
    fn rpc(&mut self, request: &[u8], reply: &mut Vec<u8>) -> Result<(), Errno>;
}

/// A request being built.
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    /// Start a message of type `ty` with tag `tag`.
    pub fn new(ty: u8, tag: u16) -> Encoder {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&[0, 0, 0, 0, ty]);
        buf.extend_from_slice(&tag.to_le_bytes());
        Encoder { buf }
    }
    pub fn u8(mut self, v: u8) -> Self {
        self.buf.push(v);
        self
    }
    pub fn u16(mut self, v: u16) -> Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u32(mut self, v: u32) -> Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u64(mut self, v: u64) -> Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// A string: 2-byte length then the bytes (names over 65535 bytes are cut; callers check lengths).
    pub fn str(mut self, s: &[u8]) -> Self {
        let n = s.len().min(u16::MAX as usize);
        self.buf.extend_from_slice(&(n as u16).to_le_bytes());
        self.buf.extend_from_slice(&s[..n]);
        self
    }
    pub fn bytes(mut self, b: &[u8]) -> Self {
        self.buf.extend_from_slice(b);
        self
    }
    /// The finished message with its size filled in.
    pub fn finish(mut self) -> Vec<u8> {
        let n = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&n.to_le_bytes());
        self.buf
    }
}

/// Reads the fields of a reply.
pub struct Decoder<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Decoder { b, pos: 0 }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], Errno> {
        let s = self
            .b
            .get(self.pos..self.pos.checked_add(n).ok_or(EPROTO)?)
            .ok_or(EPROTO)?;
        self.pos += n;
        Ok(s)
    }
    pub fn u8(&mut self) -> Result<u8, Errno> {
        Ok(self.take(1)?[0])
    }
    pub fn u16(&mut self) -> Result<u16, Errno> {
        let s = self.take(2)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    pub fn u32(&mut self) -> Result<u32, Errno> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    pub fn u64(&mut self) -> Result<u64, Errno> {
        Ok(u64::from(self.u32()?) | (u64::from(self.u32()?) << 32))
    }
    pub fn str(&mut self) -> Result<&'a [u8], Errno> {
        let n = self.u16()? as usize;
        self.take(n)
    }
    pub fn qid(&mut self) -> Result<Qid, Errno> {
        Ok(Qid {
            ty: self.u8()?,
            version: self.u32()?,
            path: self.u64()?,
        })
    }
    pub fn rest(&mut self) -> &'a [u8] {
        let r = &self.b[self.pos.min(self.b.len())..];
        self.pos = self.b.len();
        r
    }
}

/// A server's unique identity of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Qid {
    pub ty: u8,
    pub version: u32,
    pub path: u64,
}

/// Qid type bit of a directory.
pub const QTDIR: u8 = 0x80;
/// Qid type bit of a symbolic link.
pub const QTSYMLINK: u8 = 0x02;

/// File attributes from Tgetattr (the fields of `struct stat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Attr {
    pub qid: Qid,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u64,
    pub rdev: u64,
    pub size: u64,
    pub blksize: u64,
    pub blocks: u64,
    pub atime: (u64, u64),
    pub mtime: (u64, u64),
    pub ctime: (u64, u64),
}

/// P9_GETATTR_BASIC: mode, nlink, uid, gid, rdev, times, ino, size, blocks.
pub const GETATTR_BASIC: u64 = 0x7ff;

/// One directory entry from Treaddir.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub qid: Qid,
    /// Offset to continue reading after this entry.
    pub offset: u64,
    /// d_type (DT_DIR, DT_REG, ...).
    pub ty: u8,
    pub name: Vec<u8>,
}

/// Fields of Tsetattr to change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetAttr {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    /// (sec, nsec) or None; `Some((0, UTIME_NOW))` style values are sent as "now".
    pub atime: Option<Option<(u64, u64)>>,
    pub mtime: Option<Option<(u64, u64)>>,
}

/// Filesystem statistics from Tstatfs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatFs {
    pub ty: u32,
    pub bsize: u32,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub fsid: u64,
    pub namelen: u32,
}

/// A 9P2000.L session over a transport: fids are allocated here.
pub struct Client<T: Transport> {
    t: T,
    /// Largest message the server accepts (negotiated by Tversion).
    pub msize: u32,
    next_fid: u32,
    free_fids: Vec<u32>,
    reply: Vec<u8>,
}

/// The fid of the attached root.
pub const ROOT_FID: u32 = 0;
const NOFID: u32 = u32::MAX;

impl<T: Transport> Client<T> {
    /// Negotiate the version and attach to the export's root (as root, uid 0).
    pub fn connect(t: T, msize: u32, aname: &[u8]) -> Result<Self, Errno> {
        let mut c = Client {
            t,
            msize,
            next_fid: 1,
            free_fids: Vec::new(),
            reply: Vec::new(),
        };
        let req = Encoder::new(msg::TVERSION, 0xffff)
            .u32(msize)
            .str(b"9P2000.L")
            .finish();
        let mut d = c.call(&req, msg::TVERSION)?;
        let server_msize = d.u32()?;
        let version = d.str()?;
        if version != b"9P2000.L" {
            return Err(EPROTO);
        }
        c.msize = server_msize.min(msize);
        let req = Encoder::new(msg::TATTACH, 0)
            .u32(ROOT_FID)
            .u32(NOFID)
            .str(b"root")
            .str(aname)
            .u32(0)
            .finish();
        c.call(&req, msg::TATTACH)?.qid()?;
        Ok(c)
    }

    /// The transport (for tests and for drivers that need it back).
    pub fn transport(&mut self) -> &mut T {
        &mut self.t
    }

    fn call(&mut self, req: &[u8], ty: u8) -> Result<Decoder<'_>, Errno> {
        self.reply.clear();
        self.t.rpc(req, &mut self.reply)?;
        let mut d = Decoder::new(&self.reply);
        let size = d.u32()? as usize;
        if size > self.reply.len() || size < 7 {
            return Err(EPROTO);
        }
        let rty = d.u8()?;
        let _tag = d.u16()?;
        if rty == msg::RLERROR {
            return Err(d.u32()?);
        }
        if rty != ty + 1 {
            return Err(EPROTO);
        }
        Ok(Decoder {
            b: &self.reply[..size],
            pos: 7,
        })
    }

    fn alloc_fid(&mut self) -> u32 {
        self.free_fids.pop().unwrap_or_else(|| {
            self.next_fid += 1;
            self.next_fid - 1
        })
    }

    /// Walk from `fid` through `names` (each one component; empty walks clone the fid) to a new fid.
    pub fn walk(&mut self, fid: u32, names: &[&[u8]]) -> Result<(u32, Option<Qid>), Errno> {
        if names.len() > 16 {
            return Err(ENAMETOOLONG);
        }
        let newfid = self.alloc_fid();
        let mut e = Encoder::new(msg::TWALK, 0)
            .u32(fid)
            .u32(newfid)
            .u16(names.len() as u16);
        for n in names {
            e = e.str(n);
        }
        let res = (|| {
            let mut d = self.call(&e.finish(), msg::TWALK)?;
            let n = d.u16()? as usize;
            let mut last = None;
            for _ in 0..n {
                last = Some(d.qid()?);
            }
            Ok((n, last))
        })();
        match res {
            Ok((n, last)) if n == names.len() => Ok((newfid, last)),
            // A partial walk creates no fid; the missing component does not exist.
            Ok(_) => {
                self.free_fids.push(newfid);
                Err(2)
            }
            Err(e) => {
                self.free_fids.push(newfid);
                Err(e)
            }
        }
    }

    /// Release a fid.
    pub fn clunk(&mut self, fid: u32) -> Result<(), Errno> {
        let req = Encoder::new(msg::TCLUNK, 0).u32(fid).finish();
        let r = self.call(&req, msg::TCLUNK).map(|_| ());
        if fid != ROOT_FID {
            self.free_fids.push(fid);
        }
        r
    }

    /// Open `fid` with Linux open flags; returns the qid and the iounit.
    pub fn lopen(&mut self, fid: u32, flags: u32) -> Result<(Qid, u32), Errno> {
        let req = Encoder::new(msg::TLOPEN, 0).u32(fid).u32(flags).finish();
        let mut d = self.call(&req, msg::TLOPEN)?;
        Ok((d.qid()?, d.u32()?))
    }

    /// Create and open `name` in directory `fid`; `fid` becomes the new file.
    pub fn lcreate(
        &mut self,
        fid: u32,
        name: &[u8],
        flags: u32,
        mode: u32,
    ) -> Result<(Qid, u32), Errno> {
        let req = Encoder::new(msg::TLCREATE, 0)
            .u32(fid)
            .str(name)
            .u32(flags)
            .u32(mode)
            .u32(0)
            .finish();
        let mut d = self.call(&req, msg::TLCREATE)?;
        Ok((d.qid()?, d.u32()?))
    }

    /// Largest payload of one read or write.
    pub fn max_io(&self) -> usize {
        (self.msize as usize).saturating_sub(24)
    }

    /// Read up to `buf.len()` bytes at `offset` (one message; short reads are normal).
    pub fn read(&mut self, fid: u32, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let count = buf.len().min(self.max_io()) as u32;
        let req = Encoder::new(msg::TREAD, 0)
            .u32(fid)
            .u64(offset)
            .u32(count)
            .finish();
        let mut d = self.call(&req, msg::TREAD)?;
        let n = d.u32()? as usize;
        let data = d.rest();
        let n = n.min(data.len()).min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        Ok(n)
    }

    /// Write `data` at `offset` (one message); returns what the server wrote.
    pub fn write(&mut self, fid: u32, offset: u64, data: &[u8]) -> Result<usize, Errno> {
        let n = data.len().min(self.max_io());
        let req = Encoder::new(msg::TWRITE, 0)
            .u32(fid)
            .u64(offset)
            .u32(n as u32)
            .bytes(&data[..n])
            .finish();
        let mut d = self.call(&req, msg::TWRITE)?;
        Ok(d.u32()? as usize)
    }

    /// Attributes of `fid`.
    pub fn getattr(&mut self, fid: u32) -> Result<Attr, Errno> {
        let req = Encoder::new(msg::TGETATTR, 0)
            .u32(fid)
            .u64(GETATTR_BASIC)
            .finish();
        let mut d = self.call(&req, msg::TGETATTR)?;
        let _valid = d.u64()?;
        let qid = d.qid()?;
        let mode = d.u32()?;
        let uid = d.u32()?;
        let gid = d.u32()?;
        let nlink = d.u64()?;
        let rdev = d.u64()?;
        let size = d.u64()?;
        let blksize = d.u64()?;
        let blocks = d.u64()?;
        let atime = (d.u64()?, d.u64()?);
        let mtime = (d.u64()?, d.u64()?);
        let ctime = (d.u64()?, d.u64()?);
        Ok(Attr {
            qid,
            mode,
            uid,
            gid,
            nlink,
            rdev,
            size,
            blksize,
            blocks,
            atime,
            mtime,
            ctime,
        })
    }

    /// Change attributes of `fid`.
    pub fn setattr(&mut self, fid: u32, a: &SetAttr) -> Result<(), Errno> {
        const MODE: u32 = 1;
        const UID: u32 = 2;
        const GID: u32 = 4;
        const SIZE: u32 = 8;
        const ATIME: u32 = 16;
        const MTIME: u32 = 32;
        const ATIME_SET: u32 = 128;
        const MTIME_SET: u32 = 256;
        let mut valid = 0;
        if a.mode.is_some() {
            valid |= MODE;
        }
        if a.uid.is_some() {
            valid |= UID;
        }
        if a.gid.is_some() {
            valid |= GID;
        }
        if a.size.is_some() {
            valid |= SIZE;
        }
        if let Some(t) = a.atime {
            valid |= ATIME | if t.is_some() { ATIME_SET } else { 0 };
        }
        if let Some(t) = a.mtime {
            valid |= MTIME | if t.is_some() { MTIME_SET } else { 0 };
        }
        let at = a.atime.flatten().unwrap_or((0, 0));
        let mt = a.mtime.flatten().unwrap_or((0, 0));
        let req = Encoder::new(msg::TSETATTR, 0)
            .u32(fid)
            .u32(valid)
            .u32(a.mode.unwrap_or(0))
            .u32(a.uid.unwrap_or(0))
            .u32(a.gid.unwrap_or(0))
            .u64(a.size.unwrap_or(0))
            .u64(at.0)
            .u64(at.1)
            .u64(mt.0)
            .u64(mt.1)
            .finish();
        self.call(&req, msg::TSETATTR).map(|_| ())
    }

    /// Directory entries of the opened directory `fid` from `offset` (one message's worth).
    pub fn readdir(&mut self, fid: u32, offset: u64) -> Result<Vec<DirEntry>, Errno> {
        let count = self.max_io() as u32;
        let req = Encoder::new(msg::TREADDIR, 0)
            .u32(fid)
            .u64(offset)
            .u32(count)
            .finish();
        let mut d = self.call(&req, msg::TREADDIR)?;
        let n = d.u32()? as usize;
        let data = d.rest();
        let mut d = Decoder::new(&data[..n.min(data.len())]);
        let mut out = Vec::new();
        while d.pos < d.b.len() {
            let qid = d.qid()?;
            let offset = d.u64()?;
            let ty = d.u8()?;
            let name = d.str()?.to_vec();
            out.push(DirEntry {
                qid,
                offset,
                ty,
                name,
            });
        }
        Ok(out)
    }

    /// Create directory `name` in `dfid`.
    pub fn mkdir(&mut self, dfid: u32, name: &[u8], mode: u32) -> Result<Qid, Errno> {
        let req = Encoder::new(msg::TMKDIR, 0)
            .u32(dfid)
            .str(name)
            .u32(mode)
            .u32(0)
            .finish();
        self.call(&req, msg::TMKDIR)?.qid()
    }

    /// Remove `name` from `dfid` (`flags` AT_REMOVEDIR for a directory).
    pub fn unlinkat(&mut self, dfid: u32, name: &[u8], flags: u32) -> Result<(), Errno> {
        let req = Encoder::new(msg::TUNLINKAT, 0)
            .u32(dfid)
            .str(name)
            .u32(flags)
            .finish();
        self.call(&req, msg::TUNLINKAT).map(|_| ())
    }

    /// Rename `old` in `olddfid` to `new` in `newdfid`.
    pub fn renameat(
        &mut self,
        olddfid: u32,
        old: &[u8],
        newdfid: u32,
        new: &[u8],
    ) -> Result<(), Errno> {
        let req = Encoder::new(msg::TRENAMEAT, 0)
            .u32(olddfid)
            .str(old)
            .u32(newdfid)
            .str(new)
            .finish();
        self.call(&req, msg::TRENAMEAT).map(|_| ())
    }

    /// Create symbolic link `name` → `target` in `dfid`.
    pub fn symlink(&mut self, dfid: u32, name: &[u8], target: &[u8]) -> Result<Qid, Errno> {
        let req = Encoder::new(msg::TSYMLINK, 0)
            .u32(dfid)
            .str(name)
            .str(target)
            .u32(0)
            .finish();
        self.call(&req, msg::TSYMLINK)?.qid()
    }

    /// Target of the symbolic link `fid`.
    pub fn readlink(&mut self, fid: u32) -> Result<Vec<u8>, Errno> {
        let req = Encoder::new(msg::TREADLINK, 0).u32(fid).finish();
        Ok(self.call(&req, msg::TREADLINK)?.str()?.to_vec())
    }

    /// Hard link `name` in `dfid` to the file `fid`.
    pub fn link(&mut self, dfid: u32, fid: u32, name: &[u8]) -> Result<(), Errno> {
        let req = Encoder::new(msg::TLINK, 0)
            .u32(dfid)
            .u32(fid)
            .str(name)
            .finish();
        self.call(&req, msg::TLINK).map(|_| ())
    }

    /// Flush `fid` to stable storage.
    pub fn fsync(&mut self, fid: u32, datasync: bool) -> Result<(), Errno> {
        let req = Encoder::new(msg::TFSYNC, 0)
            .u32(fid)
            .u32(u32::from(datasync))
            .finish();
        self.call(&req, msg::TFSYNC).map(|_| ())
    }

    /// Filesystem statistics.
    pub fn statfs(&mut self, fid: u32) -> Result<StatFs, Errno> {
        let req = Encoder::new(msg::TSTATFS, 0).u32(fid).finish();
        let mut d = self.call(&req, msg::TSTATFS)?;
        Ok(StatFs {
            ty: d.u32()?,
            bsize: d.u32()?,
            blocks: d.u64()?,
            bfree: d.u64()?,
            bavail: d.u64()?,
            files: d.u64()?,
            ffree: d.u64()?,
            fsid: d.u64()?,
            namelen: d.u32()?,
        })
    }
}

/// Printable form of a name for messages.
pub fn lossy(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

#[cfg(test)]
mod tests;
