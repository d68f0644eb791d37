//! The client against a scripted server: every request's bytes are checked, replies are hand-built.

use super::*;
use std::collections::VecDeque;

struct Scripted {
    /// (expected request, reply)
    steps: VecDeque<(Vec<u8>, Vec<u8>)>,
}

impl Transport for Scripted {
    fn rpc(&mut self, request: &[u8], reply: &mut Vec<u8>) -> Result<(), Errno> {
        let (want, rep) = self.steps.pop_front().expect("an unexpected request");
        assert_eq!(request, &want[..], "request bytes");
        reply.extend_from_slice(&rep);
        Ok(())
    }
}

fn qid(e: Encoder, ty: u8, path: u64) -> Encoder {
    e.u8(ty).u32(0).u64(path)
}

fn connected(mut steps: Vec<(Vec<u8>, Vec<u8>)>) -> Client<Scripted> {
    let mut all = vec![
        (
            Encoder::new(msg::TVERSION, 0xffff)
                .u32(65536)
                .str(b"9P2000.L")
                .finish(),
            Encoder::new(msg::TVERSION + 1, 0xffff)
                .u32(8192)
                .str(b"9P2000.L")
                .finish(),
        ),
        (
            Encoder::new(msg::TATTACH, 0)
                .u32(0)
                .u32(u32::MAX)
                .str(b"root")
                .str(b"")
                .u32(0)
                .finish(),
            qid(Encoder::new(msg::TATTACH + 1, 0), QTDIR, 1).finish(),
        ),
    ];
    all.append(&mut steps);
    Client::connect(Scripted { steps: all.into() }, 65536, b"").expect("connect")
}

#[test]
fn version_negotiates_the_smaller_msize() {
    let c = connected(vec![]);
    assert_eq!(c.msize, 8192);
    assert_eq!(c.max_io(), 8192 - 24);
}

#[test]
fn walk_allocates_fids_and_reports_missing_components() {
    let mut c = connected(vec![
        (
            Encoder::new(msg::TWALK, 0)
                .u32(0)
                .u32(1)
                .u16(2)
                .str(b"a")
                .str(b"b")
                .finish(),
            qid(qid(Encoder::new(msg::TWALK + 1, 0).u16(2), QTDIR, 2), 0, 3).finish(),
        ),
        (
            Encoder::new(msg::TWALK, 0)
                .u32(0)
                .u32(2)
                .u16(2)
                .str(b"a")
                .str(b"zz")
                .finish(),
            qid(Encoder::new(msg::TWALK + 1, 0).u16(1), QTDIR, 2).finish(),
        ),
        // The fid of the failed walk is reused.
        (
            Encoder::new(msg::TWALK, 0).u32(1).u32(2).u16(0).finish(),
            Encoder::new(msg::TWALK + 1, 0).u16(0).finish(),
        ),
    ]);
    let (fid, q) = c.walk(0, &[b"a", b"b"]).expect("walk");
    assert_eq!((fid, q.map(|q| q.path)), (1, Some(3)));
    assert_eq!(c.walk(0, &[b"a", b"zz"]), Err(2));
    assert_eq!(c.walk(1, &[]).expect("clone").0, 2);
}

#[test]
fn errors_come_back_as_errno() {
    let mut c = connected(vec![(
        Encoder::new(msg::TLOPEN, 0).u32(0).u32(2).finish(),
        Encoder::new(msg::RLERROR, 0).u32(21).finish(),
    )]);
    assert_eq!(c.lopen(0, 2), Err(21));
}

#[test]
fn read_write_and_getattr() {
    let mut c = connected(vec![
        (
            Encoder::new(msg::TREAD, 0).u32(5).u64(10).u32(4).finish(),
            Encoder::new(msg::TREAD + 1, 0)
                .u32(3)
                .bytes(b"xyz")
                .finish(),
        ),
        (
            Encoder::new(msg::TWRITE, 0)
                .u32(5)
                .u64(0)
                .u32(2)
                .bytes(b"hi")
                .finish(),
            Encoder::new(msg::TWRITE + 1, 0).u32(2).finish(),
        ),
        (
            Encoder::new(msg::TGETATTR, 0)
                .u32(5)
                .u64(GETATTR_BASIC)
                .finish(),
            qid(Encoder::new(msg::TGETATTR + 1, 0).u64(GETATTR_BASIC), 0, 9)
                .u32(0o100644)
                .u32(1000)
                .u32(1001)
                .u64(1)
                .u64(0)
                .u64(12345)
                .u64(4096)
                .u64(32)
                .u64(1)
                .u64(2)
                .u64(3)
                .u64(4)
                .u64(5)
                .u64(6)
                .finish(),
        ),
    ]);
    let mut buf = [0u8; 4];
    assert_eq!(c.read(5, 10, &mut buf), Ok(3));
    assert_eq!(&buf[..3], b"xyz");
    assert_eq!(c.write(5, 0, b"hi"), Ok(2));
    let a = c.getattr(5).expect("getattr");
    assert_eq!(
        (a.mode, a.uid, a.gid, a.size, a.blocks, a.mtime),
        (0o100644, 1000, 1001, 12345, 32, (3, 4))
    );
    assert_eq!(a.qid.path, 9);
}

#[test]
fn readdir_decodes_entries() {
    let body = qid(Encoder::new(0, 0), QTDIR, 7).u64(1).u8(4).str(b"dir");
    let body = qid(body, 0, 8).u64(2).u8(8).str(b"file.txt").finish();
    let entries = &body[7..];
    let mut c = connected(vec![(
        Encoder::new(msg::TREADDIR, 0)
            .u32(3)
            .u64(0)
            .u32(8192 - 24)
            .finish(),
        Encoder::new(msg::TREADDIR + 1, 0)
            .u32(entries.len() as u32)
            .bytes(entries)
            .finish(),
    )]);
    let e = c.readdir(3, 0).expect("readdir");
    assert_eq!(e.len(), 2);
    assert_eq!(
        (e[0].name.as_slice(), e[0].ty, e[0].offset),
        (&b"dir"[..], 4, 1)
    );
    assert_eq!((e[1].name.as_slice(), e[1].qid.path), (&b"file.txt"[..], 8));
}

#[test]
fn malformed_replies_are_protocol_errors() {
    let mut c = connected(vec![
        (Encoder::new(msg::TCLUNK, 0).u32(4).finish(), vec![1, 0, 0]),
        (
            Encoder::new(msg::TCLUNK, 0).u32(4).finish(),
            Encoder::new(msg::TREAD + 1, 0).finish(),
        ),
        (
            Encoder::new(msg::TGETATTR, 0)
                .u32(4)
                .u64(GETATTR_BASIC)
                .finish(),
            Encoder::new(msg::TGETATTR + 1, 0).u32(1).finish(),
        ),
    ]);
    assert_eq!(c.clunk(4), Err(EPROTO));
    assert_eq!(c.clunk(4), Err(EPROTO));
    assert_eq!(c.getattr(4).err(), Some(EPROTO));
}

#[test]
fn setattr_sets_the_valid_mask() {
    let mut c = connected(vec![(
        Encoder::new(msg::TSETATTR, 0)
            .u32(6)
            .u32(8 | 32 | 256)
            .u32(0)
            .u32(0)
            .u32(0)
            .u64(100)
            .u64(0)
            .u64(0)
            .u64(7)
            .u64(8)
            .finish(),
        Encoder::new(msg::TSETATTR + 1, 0).finish(),
    )]);
    let a = SetAttr {
        size: Some(100),
        mtime: Some(Some((7, 8))),
        ..SetAttr::default()
    };
    assert_eq!(c.setattr(6, &a), Ok(()));
}
