//! The VFS without syscalls: path walks, mounts, tmpfs operations, /proc formats, and 9p against an
//! in-memory 9P2000.L server.

use super::*;
use crate::testing::p9server::MemServer;
use alloc::borrow::Cow;
use linux_raw_sys::general::{RENAME_EXCHANGE, RENAME_NOREPLACE};

fn env() -> Env<'static> {
    Env::none()
}

/// A tree: /bin/app (0755), /etc/motd, /usr/bin -> ../bin? (no: /usr/bin/app -> ../../bin/app),
/// /loop -> /loop, /dirlink -> /usr, /rel -> bin.
fn tree() -> Fs {
    let mut fs = Fs::new();
    fs.insert(b"/bin/app", 0o100755, b"ELF").expect("insert");
    fs.insert(b"etc/motd", 0o100644, b"hello\n")
        .expect("insert");
    fs.insert(b"usr/bin", 0o040755, b"").expect("insert");
    fs.insert(b"/usr/bin/app", 0o120777, b"../../bin/app")
        .expect("insert");
    fs.insert(b"/loop", 0o120777, b"/loop").expect("insert");
    fs.insert(b"/dirlink", 0o120777, b"/usr").expect("insert");
    fs.insert(b"/rel", 0o120777, b"bin").expect("insert");
    fs
}

fn resolve(fs: &Fs, path: &str, follow: bool) -> Result<Path, Errno> {
    fs.resolve(&env(), &fs.root, path.as_bytes(), follow)
}

fn mode(fs: &Fs, path: &str, follow: bool) -> Result<u32, Errno> {
    Ok(resolve(fs, path, follow)?.inode.stat()?.mode)
}

fn names(fs: &Fs, dir: &str) -> Vec<String> {
    let d = resolve(fs, dir, true).expect("dir");
    let mut v = Vec::new();
    d.inode
        .readdir(&env(), 0, &mut |e, _| {
            v.push(String::from_utf8_lossy(&e.name).into_owned());
            true
        })
        .expect("readdir");
    v.sort();
    v
}

#[test]
fn walk_dots_symlinks_and_errors() {
    let fs = tree();
    assert_eq!(
        mode(&fs, "/usr/bin/app", true),
        Ok(0o100755),
        "relative link"
    );
    assert_eq!(mode(&fs, "/usr/bin/app", false), Ok(0o120777));
    assert_eq!(mode(&fs, "/bin/./../bin/app", true), Ok(0o100755));
    assert_eq!(
        mode(&fs, "/../../bin/app", true),
        Ok(0o100755),
        ".. stays at /"
    );
    assert_eq!(
        mode(&fs, "/dirlink/bin/app", true),
        Ok(0o100755),
        "link in the middle"
    );
    assert_eq!(
        mode(&fs, "/dirlink/../etc/motd", true),
        Ok(0o100644),
        ".. of the link's target"
    );
    assert_eq!(mode(&fs, "/rel/app", true), Ok(0o100755));
    assert_eq!(
        mode(&fs, "//bin///app", true),
        Ok(0o100755),
        "repeated slashes"
    );
    assert_eq!(
        mode(&fs, "/dirlink/", false),
        Ok(0o040755),
        "a trailing slash follows"
    );
    assert_eq!(mode(&fs, "/nope", true), Err(Errno::ENOENT));
    assert_eq!(mode(&fs, "", true), Err(Errno::ENOENT));
    assert_eq!(mode(&fs, "/bin/app/x", true), Err(Errno::ENOTDIR));
    assert_eq!(mode(&fs, "/bin/app/", true), Err(Errno::ENOTDIR));
    assert_eq!(mode(&fs, "/bin/app/.", true), Err(Errno::ENOTDIR));
    assert_eq!(mode(&fs, "/loop", true), Err(Errno::ELOOP));
    assert_eq!(mode(&fs, "/loop", false), Ok(0o120777), "not followed");
    assert_eq!(mode(&fs, "/loop/x", false), Err(Errno::ELOOP));
    let long = "x".repeat(256);
    assert_eq!(mode(&fs, &long, true), Err(Errno::ENAMETOOLONG));
    assert_eq!(
        mode(&fs, &"/a".repeat(2048), true),
        Err(Errno::ENAMETOOLONG),
        "PATH_MAX"
    );
    assert_eq!(
        mode(&fs, &"x".repeat(255), true),
        Err(Errno::ENOENT),
        "NAME_MAX is allowed"
    );
}

#[test]
fn forty_links_are_allowed_forty_one_are_eloop() {
    let mut fs = Fs::new();
    fs.insert(b"/target", 0o100644, b"t").expect("insert");
    // l0 -> target, l1 -> l0, ... l40 -> l39
    fs.insert(b"/l0", 0o120777, b"target").expect("insert");
    for i in 1..=40 {
        let name = format!("/l{i}");
        let target = format!("l{}", i - 1);
        fs.insert(name.as_bytes(), 0o120777, target.as_bytes())
            .expect("insert");
    }
    assert_eq!(mode(&fs, "/l39", true), Ok(0o100644), "40 links");
    assert_eq!(mode(&fs, "/l40", true), Err(Errno::ELOOP), "41 links");
}

#[test]
fn resolve_parent_splits_the_last_component() {
    let fs = tree();
    let mut links = 0;
    let p = fs
        .resolve_parent(&env(), &fs.root, b"/usr/bin/new/", &mut links)
        .expect("parent");
    assert_eq!(p.last, Last::Norm(b"new".to_vec()));
    assert!(p.trailing_slash);
    assert!(same_inode(
        &p.dir.inode,
        &resolve(&fs, "/usr/bin", true).expect("dir").inode
    ));
    let p = fs
        .resolve_parent(&env(), &fs.root, b"/", &mut links)
        .expect("root");
    assert_eq!(p.last, Last::Root);
    let p = fs
        .resolve_parent(&env(), &fs.root, b"bin/..", &mut links)
        .expect("dotdot");
    assert_eq!(p.last, Last::DotDot);
    let p = fs
        .resolve_parent(&env(), &fs.root, b"dirlink/x", &mut links)
        .expect("via link");
    assert!(same_inode(
        &p.dir.inode,
        &resolve(&fs, "/usr", true).expect("usr").inode
    ));
    assert_eq!(
        fs.resolve_parent(&env(), &fs.root, b"/bin/app/x", &mut links)
            .err(),
        Some(Errno::ENOTDIR)
    );
    assert_eq!(
        fs.resolve_parent(&env(), &fs.root, b"/nope/x", &mut links)
            .err(),
        Some(Errno::ENOENT)
    );
}

#[test]
fn mounts_are_crossed_both_ways() {
    let mut fs = tree();
    let m = fs
        .mount_tmpfs(b"/mnt/disk", "tmpfs", 0o1777)
        .expect("mount");
    m.insert_path(b"inner/file", 0o100600, Cow::Borrowed(b"in"))
        .expect("insert");
    let p = resolve(&fs, "/mnt/disk/inner/file", true).expect("through the mount");
    assert_eq!(p.inode.stat().expect("stat").mode, 0o100600);
    assert_ne!(p.mnt, 0);
    assert_eq!(
        mode(&fs, "/mnt/disk", true),
        Ok(0o041777),
        "the mounted root covers the dir"
    );
    assert_eq!(
        mode(&fs, "/mnt/disk/..", true),
        Ok(0o040755),
        ".. leaves the mount"
    );
    assert_eq!(
        mode(&fs, "/mnt/disk/inner/../../../etc/motd", true),
        Ok(0o100644)
    );
    let path = fs.path_of(
        &env(),
        &resolve(&fs, "/mnt/disk/inner", true).expect("inner"),
    );
    assert_eq!(path, Ok(b"/mnt/disk/inner".to_vec()));
    assert_eq!(fs.mounts().len(), 2);
    assert_eq!(fs.mounts()[1].target, b"/mnt/disk");
}

#[test]
fn path_of_walks_up() {
    let fs = tree();
    let p = resolve(&fs, "/dirlink/bin", true).expect("dir");
    assert_eq!(fs.path_of(&env(), &p), Ok(b"/usr/bin".to_vec()));
    assert_eq!(fs.path_of(&env(), &fs.root), Ok(b"/".to_vec()));
}

#[test]
fn tmpfs_create_link_unlink_and_counts() {
    let fs = tree();
    let root = fs.root.inode.clone();
    let d = root.create(b"d", NewNode::Dir, 0o750).expect("mkdir");
    assert_eq!(d.stat().expect("stat").nlink, 2);
    assert_eq!(d.stat().expect("stat").size, 40, "tmpfs: 2 * 20 bytes");
    let f = d.create(b"f", NewNode::File, 0o640).expect("create");
    assert_eq!(
        d.create(b"f", NewNode::File, 0o640).err(),
        Some(Errno::EEXIST)
    );
    assert_eq!(f.create(b"x", NewNode::File, 0).err(), Some(Errno::ENOTDIR));
    d.create(b"sub", NewNode::Dir, 0o755).expect("mkdir sub");
    assert_eq!(d.stat().expect("stat").nlink, 3, "a subdirectory's ..");
    assert_eq!(d.stat().expect("stat").size, 80);
    d.link(b"g", &f).expect("link");
    assert_eq!(f.stat().expect("stat").nlink, 2);
    assert_eq!(
        d.link(b"h", &d.lookup(&env(), b"sub").expect("sub")).err(),
        Some(Errno::EPERM)
    );
    assert_eq!(d.unlink(b"sub", false).err(), Some(Errno::EISDIR));
    assert_eq!(d.unlink(b"f", true).err(), Some(Errno::ENOTDIR));
    assert_eq!(root.unlink(b"d", true).err(), Some(Errno::ENOTEMPTY));
    d.unlink(b"f", false).expect("unlink");
    assert_eq!(f.stat().expect("stat").nlink, 1);
    assert_eq!(
        f.write_at(0, b"still open"),
        Ok(10),
        "an unlinked file stays usable"
    );
    d.unlink(b"sub", true).expect("rmdir");
    assert_eq!(d.stat().expect("stat").nlink, 2);
    assert_eq!(d.unlink(b"nope", false).err(), Some(Errno::ENOENT));
    let long = vec![b'x'; 256];
    assert_eq!(
        d.create(&long, NewNode::File, 0).err(),
        Some(Errno::ENAMETOOLONG)
    );
    let s = d
        .create(b"s", NewNode::Symlink(b"target"), 0)
        .expect("symlink");
    assert_eq!(s.stat().expect("stat").mode, 0o120777);
    assert_eq!(s.stat().expect("stat").size, 6);
}

#[test]
fn tmpfs_files_grow_shrink_and_keep_holes() {
    let fs = Fs::new();
    let f = fs
        .root
        .inode
        .create(b"f", NewNode::File, 0o644)
        .expect("create");
    assert_eq!(f.write_at(5, b"abc"), Ok(3));
    let mut buf = [0xffu8; 10];
    assert_eq!(f.read_at(0, &mut buf), Ok(8));
    assert_eq!(&buf[..8], b"\0\0\0\0\0abc");
    assert_eq!(f.stat().expect("stat").blocks, 8, "one page");
    f.setattr(&SetAttr {
        size: Some(1 << 30),
        ..SetAttr::default()
    })
    .expect("grow");
    assert_eq!(f.stat().expect("stat").size, 1 << 30);
    assert_eq!(f.stat().expect("stat").blocks, 8, "a hole takes no memory");
    assert_eq!(f.data_end(), Ok(4096), "holes are whole pages, as tmpfs");
    assert_eq!(f.read_at((1 << 30) - 2, &mut buf), Ok(2));
    assert_eq!(&buf[..2], b"\0\0");
    f.setattr(&SetAttr {
        size: Some(6),
        ..SetAttr::default()
    })
    .expect("shrink");
    assert_eq!(f.read_at(0, &mut buf), Ok(6));
    assert_eq!(&buf[..6], b"\0\0\0\0\0a");
    assert_eq!(f.write_at(u64::MAX - 1, b"xy"), Err(Errno::EFBIG));
}

#[test]
fn initrd_data_is_borrowed_until_written() {
    static DATA: &[u8] = b"from the initrd";
    let mut fs = Fs::new();
    fs.insert_static(b"/f", 0o100644, DATA).expect("insert");
    match fs.read_file(b"/f") {
        Ok(Cow::Borrowed(b)) => assert!(core::ptr::eq(b.as_ptr(), DATA.as_ptr())),
        other => panic!("expected borrowed data, got {other:?}"),
    }
    let f = resolve(&fs, "/f", true).expect("f");
    f.inode.write_at(0, b"F").expect("write");
    assert_eq!(
        fs.read_file(b"/f").expect("read").as_ref(),
        b"From the initrd"
    );
    assert_eq!(fs.read_file(b"/").err(), Some(Errno::EISDIR));
}

#[test]
fn tmpfs_rename_rules() {
    let fs = Fs::new();
    let root = fs.root.inode.clone();
    let a = root.create(b"a", NewNode::Dir, 0o755).expect("a");
    let b = root.create(b"b", NewNode::Dir, 0o755).expect("b");
    a.create(b"f", NewNode::File, 0o644).expect("f");
    b.create(b"g", NewNode::File, 0o644).expect("g");
    a.create(b"sub", NewNode::Dir, 0o755).expect("sub");
    // Across directories, replacing a file.
    a.rename(b"f", &b, b"g", 0).expect("rename");
    assert_eq!(a.lookup(&env(), b"f").err(), Some(Errno::ENOENT));
    assert!(b.lookup(&env(), b"g").is_ok());
    assert_eq!(a.rename(b"nope", &b, b"x", 0).err(), Some(Errno::ENOENT));
    assert_eq!(
        b.rename(b"g", &a, b"sub", 0).err(),
        Some(Errno::EISDIR),
        "a file over a directory"
    );
    b.create(b"h", NewNode::File, 0).expect("h");
    assert_eq!(
        a.rename(b"sub", &b, b"h", 0).err(),
        Some(Errno::ENOTDIR),
        "a directory over a file"
    );
    assert_eq!(
        b.rename(b"g", &b, b"h", RENAME_NOREPLACE).err(),
        Some(Errno::EEXIST)
    );
    assert_eq!(
        b.rename(b"g", &b, b"zz", RENAME_EXCHANGE).err(),
        Some(Errno::ENOENT)
    );
    // A directory moves: nlink of both parents and its ..
    a.rename(b"sub", &b, b"sub", 0).expect("move dir");
    assert_eq!(a.stat().expect("a").nlink, 2);
    assert_eq!(b.stat().expect("b").nlink, 3);
    let sub = b.lookup(&env(), b"sub").expect("sub");
    assert_eq!(sub.parent().map(|p| p.ino()), Some(b.ino()));
    // Not into itself; not over a non-empty directory.
    let inner = sub.create(b"inner", NewNode::Dir, 0o755).expect("inner");
    assert_eq!(b.rename(b"sub", &inner, b"x", 0).err(), Some(Errno::EINVAL));
    assert_eq!(b.rename(b"sub", &sub, b"x", 0).err(), Some(Errno::EINVAL));
    root.create(b"c", NewNode::Dir, 0o755).expect("c");
    assert_eq!(
        root.rename(b"c", &root, b"b", 0).err(),
        Some(Errno::ENOTEMPTY)
    );
    // Exchange a file and a directory.
    b.rename(b"g", &b, b"sub", RENAME_EXCHANGE)
        .expect("exchange");
    assert_eq!(
        b.lookup(&env(), b"g").expect("g").file_type(),
        FileType::Dir
    );
    assert_eq!(
        b.lookup(&env(), b"sub").expect("sub").file_type(),
        FileType::Regular
    );
    // Same inode: nothing happens.
    b.link(b"h2", &b.lookup(&env(), b"h").expect("h"))
        .expect("link");
    b.rename(b"h", &b, b"h2", 0).expect("same inode");
    assert!(
        b.lookup(&env(), b"h").is_ok(),
        "rename between links of one file does nothing"
    );
}

#[test]
fn readdir_positions_survive_removals() {
    let fs = Fs::new();
    let root = fs.root.inode.clone();
    for i in 0..200 {
        root.create(format!("f{i:03}").as_bytes(), NewNode::File, 0o644)
            .expect("create");
    }
    // Read 10 entries, remove everything read so far, continue from the last position.
    let mut seen = Vec::new();
    let mut pos = 0;
    loop {
        let mut batch = Vec::new();
        root.readdir(&env(), pos, &mut |e, next| {
            if batch.len() == 10 {
                return false;
            }
            batch.push((e.name.clone(), next));
            true
        })
        .expect("readdir");
        if batch.is_empty() {
            break;
        }
        for (name, next) in batch {
            if name != b"." && name != b".." {
                root.unlink(&name, false).expect("unlink");
                seen.push(name);
            }
            pos = next;
        }
    }
    assert_eq!(seen.len(), 200, "no entry was skipped");
    assert_eq!(names(&fs, "/"), [".", ".."]);
}

#[test]
fn standard_mounts() {
    let mut fs = tree();
    fs.mount_standard(proc::SystemInfo::default())
        .expect("mount");
    let n = names(&fs, "/dev");
    for want in [
        "null", "zero", "full", "random", "urandom", "tty", "console", "fd", "stdin", "stdout",
        "stderr", "shm", "pts",
    ] {
        assert!(n.iter().any(|x| x == want), "/dev/{want} in {n:?}");
    }
    assert_eq!(mode(&fs, "/dev/null", true), Ok(0o020666));
    assert_eq!(
        resolve(&fs, "/dev/null", true)
            .expect("null")
            .inode
            .stat()
            .expect("stat")
            .rdev,
        makedev(1, 3)
    );
    assert_eq!(mode(&fs, "/tmp", true), Ok(0o041777));
    assert_eq!(mode(&fs, "/dev/shm", true), Ok(0o041777));
    assert_eq!(
        fs.read_file(b"/etc/hostname").expect("hostname").as_ref(),
        b"nutshell\n"
    );
    assert_eq!(
        fs.read_file(b"/sys/devices/system/cpu/online")
            .expect("online")
            .as_ref(),
        b"0\n"
    );
    assert!(fs
        .read_file(b"/etc/passwd")
        .expect("passwd")
        .starts_with(b"root:x:0:0:"));
    assert!(names(&fs, "/proc").iter().any(|n| n == "cpuinfo"));
    assert_eq!(mode(&fs, "/proc/self", false), Ok(0o120777));
    assert_eq!(
        mode(&fs, "/proc/self", true),
        Err(Errno::ENOENT),
        "no process to show"
    );
    // An /etc file of the root filesystem is kept.
    let mut fs = Fs::new();
    fs.insert(b"/etc/hostname", 0o100644, b"mine\n")
        .expect("insert");
    fs.mount_standard(proc::SystemInfo::default())
        .expect("mount");
    assert_eq!(
        fs.read_file(b"/etc/hostname").expect("hostname").as_ref(),
        b"mine\n"
    );
}

#[test]
fn proc_maps_lines_have_linux_columns() {
    use crate::mm::{AreaKind, PROT_READ, PROT_WRITE};
    let (mut mm, _pt) = crate::testing::address_space(64);
    mm.map_fixed(
        0x5555_5555_4000,
        0x1000,
        PROT_READ,
        false,
        AreaKind::Image("/bin/test".into()),
    );
    mm.map_fixed(
        0x7f00_0000_0000,
        0x2000,
        PROT_READ | PROT_WRITE,
        true,
        AreaKind::Anon,
    );
    let p = crate::process::Process::new(mm, Fs::new(), String::from("/bin/test"));
    let mut s = String::new();
    proc::maps(&mut s, &p);
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(
        lines[0],
        "555555554000-555555555000 r--p 00000000 00:00 0                          /bin/test"
    );
    assert_eq!(lines[1], "7f0000000000-7f0000002000 rw-s 00000000 00:00 0 ");
    assert!(lines[2].ends_with("[stack]"), "{}", lines[2]);
    assert_eq!(lines[2].find('['), Some(73), "names start at column 73");
}

#[test]
fn uuid_format() {
    let u = proc::uuid(&[0xab; 16]);
    assert_eq!(u, "abababab-abab-4bab-abab-abababababab");
}

// ---- 9p against the in-memory server ----

fn p9(read_only: bool) -> (Fs, MemServer) {
    let server = MemServer::new();
    server.add_file(b"hello.txt", b"hello from the host\n");
    server.add_dir(b"sub");
    server.add_file(b"sub/inner", b"inner");
    server.add_symlink(b"out", b"/etc");
    let root = p9fs::mount(Box::new(server.clone()), read_only).expect("attach");
    let mut fs = tree();
    fs.mkdir_p(b"/mnt", 0o755).expect("mkdir");
    fs.mount(b"/mnt", root, "9p", "v0", MountFlags { read_only })
        .expect("mount");
    (fs, server)
}

#[test]
fn p9_reads_and_lists() {
    let (fs, _server) = p9(false);
    let p = resolve(&fs, "/mnt/hello.txt", true).expect("file");
    let mut buf = [0u8; 64];
    assert_eq!(p.inode.read_at(6, &mut buf), Ok(14));
    assert_eq!(&buf[..14], b"from the host\n");
    assert_eq!(p.inode.stat().expect("stat").size, 20);
    assert_eq!(names(&fs, "/mnt"), [".", "..", "hello.txt", "out", "sub"]);
    assert_eq!(mode(&fs, "/mnt/sub/inner", true), Ok(0o100644));
    assert_eq!(mode(&fs, "/mnt/missing", true), Err(Errno::ENOENT));
    assert_eq!(mode(&fs, "/mnt/hello.txt/x", true), Err(Errno::ENOTDIR));
    // Confined: .. at the share's root is the guest's /, a link to /etc is the guest's /etc.
    assert_eq!(mode(&fs, "/mnt/sub/../../etc/motd", true), Ok(0o100644));
    assert_eq!(mode(&fs, "/mnt/out/motd", true), Ok(0o100644));
    assert_eq!(
        fs.path_of(&env(), &resolve(&fs, "/mnt/sub", true).expect("sub")),
        Ok(b"/mnt/sub".to_vec())
    );
}

#[test]
fn p9_writes_creates_renames_and_removes() {
    let (fs, server) = p9(false);
    let dir = resolve(&fs, "/mnt", true).expect("mnt");
    let f = dir
        .inode
        .create(b"new", NewNode::File, 0o600)
        .expect("create");
    assert_eq!(
        f.write_at(0, &[7u8; 100_000]),
        Ok(100_000),
        "more than one message"
    );
    assert_eq!(server.file(b"new").expect("on the host").len(), 100_000);
    assert_eq!(
        dir.inode.create(b"new", NewNode::File, 0o600).err(),
        Some(Errno::EEXIST)
    );
    let d = dir.inode.create(b"d", NewNode::Dir, 0o755).expect("mkdir");
    d.create(b"l", NewNode::Symlink(b"../new"), 0)
        .expect("symlink");
    assert_eq!(mode(&fs, "/mnt/d/l", true), Ok(0o100600));
    dir.inode.rename(b"new", &d, b"moved", 0).expect("rename");
    assert!(server.file(b"d/moved").is_some());
    dir.inode
        .link(
            b"again",
            &resolve(&fs, "/mnt/d/moved", true).expect("moved").inode,
        )
        .expect("link");
    assert_eq!(dir.inode.unlink(b"d", true).err(), Some(Errno::ENOTEMPTY));
    assert_eq!(dir.inode.unlink(b"d", false).err(), Some(Errno::EISDIR));
    assert_eq!(
        dir.inode
            .rename(b"again", &dir.inode, b"hello.txt", RENAME_NOREPLACE)
            .err(),
        Some(Errno::EEXIST)
    );
    f.setattr(&SetAttr {
        size: Some(10),
        mode: Some(0o640),
        ..SetAttr::default()
    })
    .expect("setattr");
    let st = resolve(&fs, "/mnt/again", true)
        .expect("again")
        .inode
        .stat()
        .expect("stat");
    assert_eq!((st.size, st.mode, st.nlink), (10, 0o100640, 2));
    f.sync(false).expect("fsync");
    // Fids of dropped inodes are given back.
    drop(f);
    drop(d);
    drop(dir);
    let before = server.open_fids();
    for _ in 0..50 {
        resolve(&fs, "/mnt/sub/inner", true).expect("walk");
    }
    resolve(&fs, "/mnt", true).expect("one more request clunks the rest");
    assert!(
        server.open_fids() <= before + 3,
        "fids leak: {} -> {}",
        before,
        server.open_fids()
    );
}

#[test]
fn p9_read_only_refuses_changes() {
    let (fs, server) = p9(true);
    let dir = resolve(&fs, "/mnt", true).expect("mnt");
    assert_eq!(
        dir.inode.create(b"x", NewNode::File, 0o644).err(),
        Some(Errno::EROFS)
    );
    assert_eq!(
        dir.inode.unlink(b"hello.txt", false).err(),
        Some(Errno::EROFS)
    );
    let f = resolve(&fs, "/mnt/hello.txt", true).expect("file");
    assert_eq!(f.inode.write_at(0, b"x"), Err(Errno::EROFS));
    assert_eq!(
        f.inode.setattr(&SetAttr {
            size: Some(0),
            ..SetAttr::default()
        }),
        Err(Errno::EROFS)
    );
    assert!(fs.read_only(&f));
    assert_eq!(
        server.file(b"hello.txt").expect("kept"),
        b"hello from the host\n"
    );
}

#[test]
fn archive_entries_keep_owner_time_and_devices() {
    static DATA: &[u8] = b"data";
    let mut fs = Fs::new();
    let e = crate::cpio::Entry {
        name: b"./srv/file",
        mode: 0o100640,
        data: DATA,
        uid: 1000,
        gid: 100,
        mtime: 1_600_000_000,
        rdev: (0, 0),
    };
    let dir = crate::cpio::Entry {
        name: b"srv",
        mode: 0o040755,
        data: b"",
        uid: 0,
        gid: 0,
        mtime: 1_500_000_000,
        rdev: (0, 0),
    };
    fs.insert_entry(&dir).expect("dir");
    fs.insert_entry(&e).expect("file");
    let st = resolve(&fs, "/srv", true)
        .expect("dir")
        .inode
        .stat()
        .expect("stat");
    assert_eq!(
        st.mtime.sec, 1_500_000_000,
        "entries added later keep the directory's time"
    );
    let dev = crate::cpio::Entry {
        name: b"dev/null",
        mode: 0o020666,
        data: b"",
        uid: 0,
        gid: 0,
        mtime: 0,
        rdev: (1, 3),
    };
    fs.insert_entry(&dev).expect("device");
    let st = resolve(&fs, "/srv/file", true)
        .expect("file")
        .inode
        .stat()
        .expect("stat");
    assert_eq!((st.uid, st.gid, st.mode, st.size), (1000, 100, 0o100640, 4));
    assert_eq!(
        st.mtime,
        Timespec {
            sec: 1_600_000_000,
            nsec: 0
        }
    );
    let st = resolve(&fs, "/dev/null", true)
        .expect("dev")
        .inode
        .stat()
        .expect("stat");
    assert_eq!((st.mode, st.rdev), (0o020666, makedev(1, 3)));
}
