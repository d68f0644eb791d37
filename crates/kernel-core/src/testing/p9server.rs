//! An in-memory 9P2000.L server for the 9p filesystem's tests: a tree of directories, files and
//! symbolic links, fids, and Linux errnos for the failures QEMU's server passes on from the host.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::vec::Vec;

use p9::{msg, Decoder, Encoder};

const QTDIR: u8 = 0x80;
const QTSYMLINK: u8 = 0x02;
const ENOENT: u32 = 2;
const EEXIST: u32 = 17;
const ENOTDIR: u32 = 20;
const EISDIR: u32 = 21;
const EINVAL: u32 = 22;
const ENOTEMPTY: u32 = 39;
const EBADF: u32 = 9;

enum Kind {
    Dir(BTreeMap<Vec<u8>, usize>),
    File(Vec<u8>),
    Symlink(Vec<u8>),
}

struct Node {
    kind: Kind,
    perm: u32,
    nlink: u64,
    parent: usize,
}

#[derive(Default)]
struct State {
    nodes: Vec<Node>,
    fids: HashMap<u32, usize>,
}

/// The server; clones share the tree.
#[derive(Clone)]
pub(crate) struct MemServer(Arc<Mutex<State>>);

impl MemServer {
    /// A server with an empty root directory.
    pub fn new() -> MemServer {
        let st = State {
            nodes: vec![Node {
                kind: Kind::Dir(BTreeMap::new()),
                perm: 0o755,
                nlink: 2,
                parent: 0,
            }],
            fids: HashMap::new(),
        };
        MemServer(Arc::new(Mutex::new(st)))
    }

    fn add(&self, path: &[u8], kind: Kind, perm: u32) {
        let mut st = self.0.lock().expect("server");
        let (dir, name) = match path.iter().rposition(|c| *c == b'/') {
            Some(i) => (st.find(&path[..i]).expect("parent exists"), &path[i + 1..]),
            None => (0, path),
        };
        st.insert(dir, name, kind, perm);
    }
    pub fn add_file(&self, path: &[u8], data: &[u8]) {
        self.add(path, Kind::File(data.to_vec()), 0o644);
    }
    pub fn add_dir(&self, path: &[u8]) {
        self.add(path, Kind::Dir(BTreeMap::new()), 0o755);
    }
    pub fn add_symlink(&self, path: &[u8], target: &[u8]) {
        self.add(path, Kind::Symlink(target.to_vec()), 0o777);
    }
    /// The content of the file at `path`, if there is one.
    pub fn file(&self, path: &[u8]) -> Option<Vec<u8>> {
        let st = self.0.lock().expect("server");
        match &st.nodes[st.find(path)?].kind {
            Kind::File(d) => Some(d.clone()),
            _ => None,
        }
    }
    /// Fids in use.
    pub fn open_fids(&self) -> usize {
        self.0.lock().expect("server").fids.len()
    }
}

impl State {
    fn find(&self, path: &[u8]) -> Option<usize> {
        let mut cur = 0;
        for c in path.split(|c| *c == b'/').filter(|c| !c.is_empty()) {
            match &self.nodes[cur].kind {
                Kind::Dir(m) => cur = *m.get(c)?,
                _ => return None,
            }
        }
        Some(cur)
    }

    fn insert(&mut self, dir: usize, name: &[u8], kind: Kind, perm: u32) -> usize {
        let is_dir = matches!(kind, Kind::Dir(_));
        let id = self.nodes.len();
        self.nodes.push(Node {
            kind,
            perm,
            nlink: if is_dir { 2 } else { 1 },
            parent: dir,
        });
        if is_dir {
            self.nodes[dir].nlink += 1;
        }
        if let Kind::Dir(m) = &mut self.nodes[dir].kind {
            m.insert(name.to_vec(), id);
        }
        id
    }

    fn qid(&self, id: usize, e: Encoder) -> Encoder {
        let ty = match self.nodes[id].kind {
            Kind::Dir(_) => QTDIR,
            Kind::Symlink(_) => QTSYMLINK,
            Kind::File(_) => 0,
        };
        e.u8(ty).u32(0).u64(id as u64 + 1)
    }

    fn child(&self, dir: usize, name: &[u8]) -> Result<usize, u32> {
        match &self.nodes[dir].kind {
            Kind::Dir(m) => m.get(name).copied().ok_or(ENOENT),
            _ => Err(ENOTDIR),
        }
    }

    fn fid(&self, fid: u32) -> Result<usize, u32> {
        self.fids.get(&fid).copied().ok_or(EBADF)
    }

    fn mode(&self, id: usize) -> u32 {
        let n = &self.nodes[id];
        let t = match n.kind {
            Kind::Dir(_) => 0o040000,
            Kind::File(_) => 0o100000,
            Kind::Symlink(_) => 0o120000,
        };
        t | n.perm
    }

    fn handle(&mut self, ty: u8, d: &mut Decoder) -> Result<Encoder, u32> {
        let r = Encoder::new(ty + 1, 0);
        Ok(match ty {
            msg::TVERSION => {
                let msize = d.u32()?;
                r.u32(msize.min(8192)).str(b"9P2000.L")
            }
            msg::TATTACH => {
                let fid = d.u32()?;
                self.fids.insert(fid, 0);
                self.qid(0, r)
            }
            msg::TWALK => {
                let (fid, newfid, n) = (d.u32()?, d.u32()?, d.u16()?);
                let mut cur = self.fid(fid)?;
                let mut qids = Vec::new();
                for _ in 0..n {
                    let name = d.str()?.to_vec();
                    assert!(name != b".." && name != b".", "the client never walks dots");
                    match self.child(cur, &name) {
                        Ok(c) => {
                            cur = c;
                            qids.push(c);
                        }
                        Err(e) if qids.is_empty() => return Err(e),
                        Err(_) => break,
                    }
                }
                if qids.len() == n as usize {
                    self.fids.insert(newfid, cur);
                }
                let mut r = r.u16(qids.len() as u16);
                for q in qids {
                    r = self.qid(q, r);
                }
                r
            }
            msg::TCLUNK => {
                self.fids.remove(&d.u32()?).ok_or(EBADF)?;
                r
            }
            msg::TLOPEN => {
                let id = self.fid(d.u32()?)?;
                let flags = d.u32()?;
                if matches!(self.nodes[id].kind, Kind::Dir(_)) && flags & 3 != 0 {
                    return Err(EISDIR);
                }
                self.qid(id, r).u32(0)
            }
            msg::TLCREATE => {
                let fid = d.u32()?;
                let dir = self.fid(fid)?;
                let name = d.str()?.to_vec();
                let (_flags, mode) = (d.u32()?, d.u32()?);
                if self.child(dir, &name).is_ok() {
                    return Err(EEXIST);
                }
                let id = self.insert(dir, &name, Kind::File(Vec::new()), mode & 0o7777);
                self.fids.insert(fid, id);
                self.qid(id, r).u32(0)
            }
            msg::TREAD => {
                let id = self.fid(d.u32()?)?;
                let (off, count) = (d.u64()? as usize, d.u32()? as usize);
                let Kind::File(data) = &self.nodes[id].kind else {
                    return Err(EISDIR);
                };
                let start = off.min(data.len());
                let end = (start + count).min(data.len());
                r.u32((end - start) as u32).bytes(&data[start..end])
            }
            msg::TWRITE => {
                let id = self.fid(d.u32()?)?;
                let (off, count) = (d.u64()? as usize, d.u32()? as usize);
                let bytes = d.rest()[..count].to_vec();
                let Kind::File(data) = &mut self.nodes[id].kind else {
                    return Err(EISDIR);
                };
                if data.len() < off + count {
                    data.resize(off + count, 0);
                }
                data[off..off + count].copy_from_slice(&bytes);
                r.u32(count as u32)
            }
            msg::TGETATTR => {
                let id = self.fid(d.u32()?)?;
                let size = match &self.nodes[id].kind {
                    Kind::File(d) => d.len() as u64,
                    Kind::Symlink(t) => t.len() as u64,
                    Kind::Dir(_) => 4096,
                };
                let r = self.qid(id, r.u64(p9::GETATTR_BASIC));
                let mut r = r
                    .u32(self.mode(id))
                    .u32(1000)
                    .u32(1000)
                    .u64(self.nodes[id].nlink)
                    .u64(0)
                    .u64(size)
                    .u64(4096)
                    .u64(size.div_ceil(512));
                for _ in 0..10 {
                    r = r.u64(0);
                }
                r
            }
            msg::TSETATTR => {
                let id = self.fid(d.u32()?)?;
                let (valid, mode) = (d.u32()?, d.u32()?);
                let (_uid, _gid, size) = (d.u32()?, d.u32()?, d.u64()?);
                if valid & 1 != 0 {
                    self.nodes[id].perm = mode & 0o7777;
                }
                if valid & 8 != 0 {
                    match &mut self.nodes[id].kind {
                        Kind::File(data) => data.resize(size as usize, 0),
                        _ => return Err(EISDIR),
                    }
                }
                r
            }
            msg::TREADDIR => {
                let id = self.fid(d.u32()?)?;
                let (off, count) = (d.u64()?, d.u32()? as usize);
                let Kind::Dir(m) = &self.nodes[id].kind else {
                    return Err(ENOTDIR);
                };
                let mut all: Vec<(Vec<u8>, usize)> =
                    vec![(b".".to_vec(), id), (b"..".to_vec(), self.nodes[id].parent)];
                all.extend(m.iter().map(|(k, v)| (k.clone(), *v)));
                let mut body = Encoder::new(0, 0);
                let mut len = 0;
                for (i, (name, c)) in all.iter().enumerate().skip(off as usize) {
                    let rec = 13 + 8 + 1 + 2 + name.len();
                    if len + rec > count {
                        break;
                    }
                    len += rec;
                    let t = match self.nodes[*c].kind {
                        Kind::Dir(_) => 4,
                        Kind::Symlink(_) => 10,
                        Kind::File(_) => 8,
                    };
                    body = self.qid(*c, body).u64(i as u64 + 1).u8(t).str(name);
                }
                let body = body.finish();
                r.u32(len as u32).bytes(&body[7..])
            }
            msg::TMKDIR => {
                let dir = self.fid(d.u32()?)?;
                let name = d.str()?.to_vec();
                let mode = d.u32()?;
                if self.child(dir, &name).is_ok() {
                    return Err(EEXIST);
                }
                let id = self.insert(dir, &name, Kind::Dir(BTreeMap::new()), mode & 0o7777);
                self.qid(id, r)
            }
            msg::TSYMLINK => {
                let dir = self.fid(d.u32()?)?;
                let name = d.str()?.to_vec();
                let target = d.str()?.to_vec();
                if self.child(dir, &name).is_ok() {
                    return Err(EEXIST);
                }
                let id = self.insert(dir, &name, Kind::Symlink(target), 0o777);
                self.qid(id, r)
            }
            msg::TREADLINK => {
                let id = self.fid(d.u32()?)?;
                match &self.nodes[id].kind {
                    Kind::Symlink(t) => r.str(&t.clone()),
                    _ => return Err(EINVAL),
                }
            }
            msg::TLINK => {
                let dir = self.fid(d.u32()?)?;
                let target = self.fid(d.u32()?)?;
                let name = d.str()?.to_vec();
                if self.child(dir, &name).is_ok() {
                    return Err(EEXIST);
                }
                if let Kind::Dir(m) = &mut self.nodes[dir].kind {
                    m.insert(name, target);
                }
                self.nodes[target].nlink += 1;
                r
            }
            msg::TUNLINKAT => {
                let dir = self.fid(d.u32()?)?;
                let name = d.str()?.to_vec();
                let flags = d.u32()?;
                let c = self.child(dir, &name)?;
                match (&self.nodes[c].kind, flags & 0x200 != 0) {
                    (Kind::Dir(m), true) if !m.is_empty() => return Err(ENOTEMPTY),
                    (Kind::Dir(_), false) => return Err(EISDIR),
                    (Kind::File(_) | Kind::Symlink(_), true) => return Err(ENOTDIR),
                    _ => {}
                }
                if let Kind::Dir(m) = &mut self.nodes[dir].kind {
                    m.remove(&name);
                }
                self.nodes[c].nlink -= 1;
                r
            }
            msg::TRENAMEAT => {
                let od = self.fid(d.u32()?)?;
                let on = d.str()?.to_vec();
                let nd = self.fid(d.u32()?)?;
                let nn = d.str()?.to_vec();
                let c = self.child(od, &on)?;
                if let Kind::Dir(m) = &mut self.nodes[od].kind {
                    m.remove(&on);
                }
                if let Kind::Dir(m) = &mut self.nodes[nd].kind {
                    m.insert(nn, c);
                }
                self.nodes[c].parent = nd;
                r
            }
            msg::TFSYNC => {
                self.fid(d.u32()?)?;
                r
            }
            msg::TSTATFS => r
                .u32(0x0102_1997)
                .u32(4096)
                .u64(1000)
                .u64(500)
                .u64(500)
                .u64(100)
                .u64(50)
                .u64(7)
                .u32(255),
            _ => return Err(EINVAL),
        })
    }
}

impl p9::Transport for MemServer {
    fn rpc(&mut self, request: &[u8], reply: &mut Vec<u8>) -> Result<(), p9::Errno> {
        let mut d = Decoder::new(request);
        let _size = d.u32()?;
        let ty = d.u8()?;
        let _tag = d.u16()?;
        let mut st = self.0.lock().expect("server");
        let out = match st.handle(ty, &mut d) {
            Ok(e) => e.finish(),
            Err(e) => Encoder::new(msg::RLERROR, 0).u32(e).finish(),
        };
        reply.extend_from_slice(&out);
        Ok(())
    }
}
