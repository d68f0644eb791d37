//! End-to-end tests of networking (issue 9): guest programs of `tests/guest/net/` booted directly
//! in QEMU (microvm with `acpi=off`, so that QEMU appends the `virtio_mmio.device=` tokens) with the
//! nutshell kernel.
//!
//! - `loopback.c` (AF_UNIX, TCP over 127.0.0.1 and ::1, UDP, epoll, errno values) must print exactly
//!   what it prints natively on the host.
//! - `client.c` talks to a small server of this test on the host's 127.0.0.1, reached from the guest
//!   as 10.0.2.2 through QEMU's user-mode network.
//! - `server.c` listens in the guest; this test reaches it through `hostfwd=tcp:127.0.0.1:PORT-:8080`.
//!
//! Traffic stays on this machine: the guest's only peer is QEMU's user-mode NAT to 127.0.0.1. Every
//! loop is bounded in count and time. Needs gcc and qemu-system-x86.

mod common;

use common::*;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(120);

/// Build `tests/guest/net/<source>` as a static-PIE with pthreads (once per test process).
fn guest_net(name: &str) -> PathBuf {
    static LOCK: OnceLock<std::sync::Mutex<()>> = OnceLock::new();
    let _g = LOCK
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let source = repo_root()
        .join("tests/guest/net")
        .join(format!("{name}.c"));
    let dir = guest_dir();
    std::fs::create_dir_all(&dir).expect("guest dir");
    let out = dir.join(format!("net-{name}"));
    let fresh = match (std::fs::metadata(&out), std::fs::metadata(&source)) {
        (Ok(o), Ok(s)) => o.modified().ok() >= s.modified().ok(),
        _ => false,
    };
    if !fresh {
        let tmp = dir.join(format!(".net-{name}.{}.tmp", std::process::id()));
        let st = Command::new("gcc")
            .args([
                "-static-pie",
                "-O2",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-pthread",
                "-o",
            ])
            .arg(&tmp)
            .arg(&source)
            .status()
            .expect("gcc is needed: apt-get install gcc");
        assert!(st.success(), "building {}", source.display());
        std::fs::rename(&tmp, &out).expect("rename");
    }
    out
}

/// The QEMU machine a test boots.
#[derive(Clone, Copy, Debug)]
enum Machine {
    /// microvm with acpi=off: the virtio-mmio devices are announced on the command line.
    Microvm,
    /// pc (i440FX, SeaBIOS): virtio-net-pci.
    Pc,
}

/// QEMU on microvm (acpi=off: the virtio-mmio devices are announced on the command line) with the
/// program as a raw ELF initrd, and optionally a user-mode network device.
fn qemu_net(program: &Path, append: &str, netdev: Option<&str>) -> Command {
    qemu_net_on(Machine::Microvm, program, append, netdev)
}

/// `qemu_net` on the given machine.
fn qemu_net_on(machine: Machine, program: &Path, append: &str, netdev: Option<&str>) -> Command {
    let mut cmd = Command::new("qemu-system-x86_64");
    match machine {
        Machine::Microvm => cmd.args(["-M", "microvm,acpi=off"]),
        // sercon-port=0 keeps SeaBIOS off the serial port (the program's output only).
        Machine::Pc => cmd.args(["-M", "pc", "-fw_cfg", "name=etc/sercon-port,string=0"]),
    };
    cmd.args(["-accel", "tcg", "-cpu", "max", "-m", "256M"])
        .args([
            "-nodefaults",
            "-no-reboot",
            "-nographic",
            "-serial",
            "stdio",
        ])
        .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
    if let Some(n) = netdev {
        let device = match machine {
            Machine::Microvm => "virtio-net-device,netdev=n0",
            Machine::Pc => "virtio-net-pci,netdev=n0",
        };
        cmd.args(["-netdev", n, "-device", device]);
    }
    cmd.arg("-kernel")
        .arg(kernel_image())
        .arg("-initrd")
        .arg(program)
        .arg("-append")
        .arg(append);
    cmd
}

#[test]
fn loopback_sockets_behave_as_on_linux() {
    let prog = guest_net("loopback");
    let mut native = Command::new(&prog);
    native.current_dir(std::env::temp_dir());
    let native = run_with_timeout(native, None, LIMIT);
    native.expect_code(0);
    assert!(native.stdout().ends_with("done\n"), "native run\n{native}");
    let ours = run_with_timeout(qemu_net(&prog, "-- /loopback", None), None, LIMIT);
    assert_eq!(
        ours.stdout(),
        native.stdout(),
        "nutshell differs from Linux\n{ours}"
    );
    ours.expect_code(qemu_status(0));
}

/// FNV-1a, as client.c computes it.
fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

/// The host side of client.c: "echo ..." lines come back, "sum N" + N bytes is answered with their
/// hash in hex, "get N" with N bytes and the end of the connection.
fn serve(mut c: TcpStream) {
    c.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let mut r = BufReader::new(c.try_clone().expect("clone"));
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first().copied() {
            Some("echo") => c.write_all(line.as_bytes()).expect("echo"),
            Some("sum") => {
                let n: usize = words[1].parse().expect("length");
                let mut data = vec![0u8; n];
                r.read_exact(&mut data).expect("upload");
                c.write_all(format!("{:016x}", fnv(&data)).as_bytes())
                    .expect("sum");
            }
            Some("get") => {
                let n: usize = words[1].parse().expect("length");
                let data: Vec<u8> = (0..n).map(|i| (i * 13) as u8).collect();
                c.write_all(&data).expect("download");
                let _ = c.shutdown(Shutdown::Both);
                return;
            }
            _ => return,
        }
    }
}

#[test]
fn guest_client_reaches_a_host_server() {
    client_on(Machine::Microvm);
}

/// Connect to the guest's published port until it answers (the guest may not listen yet: QEMU
/// accepts on the host side and then drops the connection).
fn connect_when_up(port: u16, deadline: Instant) -> (TcpStream, BufReader<TcpStream>) {
    loop {
        assert!(
            Instant::now() < deadline,
            "the guest server never answered on port {port}"
        );
        if let Ok(c) = TcpStream::connect(("127.0.0.1", port)) {
            c.set_read_timeout(Some(Duration::from_secs(20))).ok();
            let mut r = BufReader::new(c.try_clone().expect("clone"));
            let mut w = c.try_clone().expect("clone");
            let mut line = String::new();
            if w.write_all(b"up ping\n").is_ok()
                && r.read_line(&mut line).is_ok()
                && line == "PING\n"
            {
                return (c, r);
            }
        }
        thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn host_reaches_a_guest_server_through_hostfwd() {
    server_on(Machine::Microvm, 2 << 20);
}

/// Short connections through hostfwd: `sequential` one after the other, then `concurrent` at once.
fn connections_through_hostfwd(sequential: usize, concurrent: usize) {
    let prog = guest_net("server");
    let port = free_port();
    let netdev = format!("user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:8080");
    let append = format!("-- /server 8080 {}", sequential + concurrent + 1);
    let cmd = qemu_net(&prog, &append, Some(&netdev));
    let vm = thread::spawn(move || run_with_timeout(cmd, None, LIMIT));
    let deadline = Instant::now() + Duration::from_secs(60);
    drop(connect_when_up(port, deadline));
    let start = Instant::now();
    for i in 0..sequential {
        let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(20))).ok();
        c.write_all(format!("up n{i}\n").as_bytes()).expect("send");
        let mut line = String::new();
        BufReader::new(&c).read_line(&mut line).expect("reply");
        assert_eq!(line, format!("N{i}\n"));
    }
    let seq_time = start.elapsed();
    let clients: Vec<_> = (0..concurrent)
        .map(|i| {
            thread::spawn(move || {
                let mut c = TcpStream::connect(("127.0.0.1", port)).ok()?;
                c.set_read_timeout(Some(Duration::from_secs(30))).ok();
                c.write_all(format!("up c{i}\n").as_bytes()).ok()?;
                let mut line = String::new();
                BufReader::new(&c).read_line(&mut line).ok()?;
                Some(line == format!("C{i}\n"))
            })
        })
        .collect();
    let ok = clients
        .into_iter()
        .map(|h| h.join())
        .filter(|r| matches!(r, Ok(Some(true))))
        .count();
    let out = vm.join().expect("vm thread");
    eprintln!("{sequential} sequential connections in {seq_time:?}; {ok}/{concurrent} concurrent ones answered");
    assert_eq!(ok, concurrent, "\n{out}");
    out.expect_code(qemu_status(0));
}

/// 200 short connections one after the other: none fails, and the server ends normally.
#[test]
fn many_sequential_connections_through_hostfwd() {
    connections_through_hostfwd(200, 0);
}

/// 200 clients at once against a server published with `nutshell run -p` (nutshell's relay on the
/// host port, libslirp's backlog-of-one forward behind it, a guest listener with a backlog of 16,
/// which the kernel rounds up to 64, so SYNs beyond it are dropped and retried): every one is
/// answered and the server ends normally.
#[test]
fn concurrent_connections_through_a_published_port() {
    const CLIENTS: usize = 200;
    let prog = guest_net("server");
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:8080");
    let total = (CLIENTS + 1).to_string();
    let mut vm = spawn_nutshell(&[
        "run",
        "-p",
        &publish,
        prog.to_str().expect("utf-8 path"),
        "8080",
        &total,
    ]);
    vm.wait_for("listening", false, LIMIT);
    let start = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            thread::spawn(move || {
                let began = Instant::now();
                let mut c = TcpStream::connect(("127.0.0.1", port)).ok()?;
                c.set_read_timeout(Some(Duration::from_secs(60))).ok();
                c.write_all(format!("up c{i}\n").as_bytes()).ok()?;
                let mut line = String::new();
                BufReader::new(&c).read_line(&mut line).ok()?;
                Some((line == format!("C{i}\n"), began.elapsed()))
            })
        })
        .collect();
    let results: Vec<_> = clients
        .into_iter()
        .map(|h| h.join().ok().flatten())
        .collect();
    let all = start.elapsed();
    let ok = results
        .iter()
        .filter(|r| matches!(r, Some((true, _))))
        .count();
    let slowest = results
        .iter()
        .flatten()
        .map(|r| r.1)
        .max()
        .unwrap_or_default();
    // The last connection ends the server.
    drop(TcpStream::connect(("127.0.0.1", port)));
    let out = vm.finish(LIMIT);
    eprintln!(
        "{ok}/{CLIENTS} concurrent connections answered in {all:?}, the slowest in {slowest:?}"
    );
    assert_eq!(ok, CLIENTS, "\n{out}");
    out.expect_stdout(&format!(
        "listening\nserved {} connections, {CLIENTS} lines, 0 bulk bytes\n",
        CLIENTS + 1
    ));
    out.expect_code(0);
}

// ---------------------------------------------------------------------------
// The same checks on `-M pc`, where the device is virtio-net-pci (PCI transport, INTx through the
// I/O APIC, level-triggered).
// ---------------------------------------------------------------------------

/// client.c against `serve` on the host: echo, a 1 MiB upload and download, connect errors.
fn client_on(machine: Machine) {
    let prog = guest_net("client");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let closed = free_port();
    listener.set_nonblocking(true).expect("nonblocking");
    let server = thread::spawn(move || {
        let start = Instant::now();
        let mut workers = Vec::new();
        while workers.len() < 2 && start.elapsed() < LIMIT {
            match listener.accept() {
                Ok((c, _)) => {
                    c.set_nonblocking(false).ok();
                    workers.push(thread::spawn(move || serve(c)));
                }
                Err(_) => thread::sleep(Duration::from_millis(20)),
            }
        }
        let served = workers.len();
        for w in workers {
            let _ = w.join();
        }
        served
    });
    let append = format!("-- /client 10.0.2.2 {port} {closed}");
    let cmd = qemu_net_on(machine, &prog, &append, Some("user,id=n0"));
    let out = run_with_timeout(cmd, None, LIMIT);
    out.expect_stdout(
        "connected: peer port ok, local port nonzero 1\n\
         reply: echo hello\n\
         upload hash matches\n\
         download 1048576 bytes\n\
         nonblocking connect: Operation now in progress\n\
         poll 1 revents POLLOUT 1 SO_ERROR 0\n\
         closed port: -1 Connection refused\n\
         closed port, non-blocking: SO_ERROR Connection refused\n",
    );
    out.expect_code(qemu_status(0));
    assert_eq!(server.join().expect("server thread"), 2);
}

/// server.c reached through hostfwd: a few lines, then `bulk` bytes from the guest checked byte by
/// byte.
fn server_on(machine: Machine, bulk: usize) {
    let prog = guest_net("server");
    let port = free_port();
    let netdev = format!("user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:8080");
    let cmd = qemu_net_on(machine, &prog, "-- /server 8080 3", Some(&netdev));
    let vm = thread::spawn(move || run_with_timeout(cmd, None, LIMIT));
    let deadline = Instant::now() + Duration::from_secs(60);
    // 1. A few lines on one connection.
    let (mut c, mut r) = connect_when_up(port, deadline);
    for word in ["hello", "nutshell", "sockets"] {
        c.write_all(format!("up {word}\n").as_bytes())
            .expect("send");
        let mut line = String::new();
        r.read_line(&mut line).expect("reply");
        assert_eq!(line, format!("{}\n", word.to_uppercase()));
    }
    drop(r);
    drop(c);
    // 2. `bulk` bytes from the guest, checked byte by byte.
    let (mut c, mut r) = connect_when_up(port, deadline);
    c.write_all(format!("big {bulk}\n").as_bytes())
        .expect("send");
    let mut data = Vec::new();
    r.read_to_end(&mut data).expect("download");
    assert_eq!(data.len(), bulk);
    assert!(
        data.iter().enumerate().all(|(i, b)| *b == (i * 7) as u8),
        "corrupted download"
    );
    drop(c);
    // 3. The last connection ends the server (each connection also sent `connect_when_up`'s ping).
    drop(connect_when_up(port, deadline));
    let out = vm.join().expect("vm thread");
    out.expect_stdout(&format!(
        "listening\nserved 3 connections, 7 lines, {bulk} bulk bytes\n"
    ));
    out.expect_code(qemu_status(0));
}

#[test]
fn pc_guest_client_reaches_a_host_server() {
    client_on(Machine::Pc);
}

#[test]
fn pc_host_reaches_a_guest_server_through_hostfwd() {
    server_on(Machine::Pc, 4 << 20);
}

// ---------------------------------------------------------------------------
// Interface configuration: `net=dhcp` (smoltcp's DHCPv4 client against slirp's server) and IPv6 on
// slirp's default prefix fec0::/64 (the host, fec0::2, is the host's ::1). netcfg.c connects to an echo
// server of the test and prints the reply, its local address and /etc/resolv.conf.
// ---------------------------------------------------------------------------

/// An echo server (`serve`) for one connection on `ip`, port chosen by the system; None if the host
/// cannot listen there (no IPv6 loopback). The thread returns whether a connection came.
fn echo_server(ip: &str) -> Option<(u16, thread::JoinHandle<bool>)> {
    let listener = TcpListener::bind((ip, 0)).ok()?;
    let port = listener.local_addr().expect("addr").port();
    listener.set_nonblocking(true).expect("nonblocking");
    let server = thread::spawn(move || {
        let start = Instant::now();
        while start.elapsed() < LIMIT {
            match listener.accept() {
                Ok((c, _)) => {
                    c.set_nonblocking(false).ok();
                    serve(c);
                    return true;
                }
                Err(_) => thread::sleep(Duration::from_millis(20)),
            }
        }
        false
    });
    Some((port, server))
}

/// netcfg.c with kernel options `opts`, to the host server at `target` (as the guest names it) on
/// the host's `host_ip`, over `netdev`.
fn netcfg(opts: &str, netdev: &str, host_ip: &str, target: &str) -> Option<Outcome> {
    let prog = guest_net("netcfg");
    let (port, server) = echo_server(host_ip)?;
    let append = format!("{opts} -- /netcfg {target} {port}");
    let out = run_with_timeout(qemu_net(&prog, &append, Some(netdev)), None, LIMIT);
    assert!(
        server.join().expect("server thread"),
        "no connection\n{out}"
    );
    Some(out)
}

#[test]
fn dhcp_configures_address_route_and_dns() {
    let out = netcfg("net=dhcp", "user,id=n0", "127.0.0.1", "10.0.2.2").expect("127.0.0.1");
    out.expect_stdout(
        "reply: echo netcfg\n\
         local address: 10.0.2.15\n\
         resolv.conf: nameserver 10.0.2.3\n",
    );
    out.expect_code(qemu_status(0));
}

/// The address and DNS server come from the lease, not from the defaults.
#[test]
fn dhcp_uses_what_the_server_offers() {
    let out = netcfg(
        "net=dhcp",
        "user,id=n0,dhcpstart=10.0.2.40,dns=10.0.2.53",
        "127.0.0.1",
        "10.0.2.2",
    )
    .expect("127.0.0.1");
    out.expect_stdout(
        "reply: echo netcfg\n\
         local address: 10.0.2.40\n\
         resolv.conf: nameserver 10.0.2.53\n",
    );
    out.expect_code(qemu_status(0));
}

/// No DHCP server (frames go to a UDP port of the host's loopback that nobody reads): a connect waits
/// about 5 s for the lease, then fails with ENETUNREACH; the kernel says why, once.
#[test]
fn dhcp_without_a_server_gives_up_after_a_few_seconds() {
    let prog = guest_net("netcfg");
    let (a, b) = (free_port(), free_port());
    let netdev = format!("socket,id=n0,udp=127.0.0.1:{a},localaddr=127.0.0.1:{b}");
    let start = Instant::now();
    let out = run_with_timeout(
        qemu_net(&prog, "net=dhcp -- /netcfg 10.0.2.2 9", Some(&netdev)),
        None,
        LIMIT,
    );
    let took = start.elapsed();
    out.expect_stdout(
        "nutshell: net: no DHCP lease after 5s\n\
         connect: Network is unreachable\n",
    );
    out.expect_code(qemu_status(1));
    assert!(took >= Duration::from_secs(5), "gave up after {took:?}");
}

#[test]
fn ipv6_client_reaches_the_host_through_slirp() {
    let Some(out) = netcfg("", "user,id=n0", "::1", "fec0::2") else {
        eprintln!("skipped: this host has no IPv6 loopback");
        return;
    };
    out.expect_stdout(
        "reply: echo netcfg\n\
         local address: fec0::15\n\
         resolv.conf: nameserver 10.0.2.3\n",
    );
    out.expect_code(qemu_status(0));
}

// ---------------------------------------------------------------------------
// `nutshell run --net ...` and `-p`: the CLI's network options.
// ---------------------------------------------------------------------------

/// `--net tap:IF --ip ...`: a tap interface made for the test (root and /dev/net/tun needed; the
/// test says so and skips otherwise), the host on 192.168.77.1, the guest server on .2, which also
/// answers the host's ping.
#[test]
fn tap_network_with_a_static_address() {
    let root = effective_uid() == 0;
    if !root || !Path::new("/dev/net/tun").exists() {
        eprintln!("SKIPPED: tap_network_with_a_static_address needs root and /dev/net/tun");
        return;
    }
    if Command::new("ip").arg("-V").output().is_err() {
        eprintln!("SKIPPED: tap_network_with_a_static_address needs ip (apt-get install iproute2)");
        return;
    }
    let name = format!("nst{}", std::process::id() % 100_000);
    let ip = |args: &[&str]| {
        let st = Command::new("ip")
            .args(args)
            .status()
            .expect("ip (iproute2)");
        assert!(st.success(), "ip {args:?}");
    };
    let made = Command::new("ip")
        .args(["tuntap", "add", &name, "mode", "tap"])
        .status()
        .is_ok_and(|st| st.success());
    if !made {
        eprintln!("SKIPPED: tap_network_with_a_static_address: cannot create a tap interface here");
        return;
    }
    struct Remove(String);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["link", "del", &self.0]).status();
        }
    }
    let _remove = Remove(name.clone());
    ip(&["addr", "add", "192.168.77.1/24", "dev", &name]);
    ip(&["link", "set", &name, "up"]);
    let prog = guest_net("server");
    let net = format!("tap:{name}");
    let mut vm = spawn_nutshell(&[
        "run",
        "--net",
        &net,
        "--ip",
        "192.168.77.2/24",
        prog.to_str().expect("utf-8 path"),
        "8080",
        "2",
    ]);
    vm.wait_for("listening", false, LIMIT);
    // ICMP echo: smoltcp answers the host's ping.
    let ping = Command::new("ping")
        .args(["-c", "1", "-W", "5", "192.168.77.2"])
        .output();
    match ping {
        Ok(out) => assert!(
            out.status.success(),
            "ping: {}",
            String::from_utf8_lossy(&out.stdout)
        ),
        Err(_) => eprintln!("SKIPPED: the ping check needs ping (apt-get install iputils-ping)"),
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    for word in ["tap", "done"] {
        let c = loop {
            assert!(Instant::now() < deadline, "the guest never answered");
            match TcpStream::connect_timeout(
                &"192.168.77.2:8080".parse().expect("addr"),
                Duration::from_secs(2),
            ) {
                Ok(c) => break c,
                Err(_) => thread::sleep(Duration::from_millis(200)),
            }
        };
        c.set_read_timeout(Some(Duration::from_secs(20))).ok();
        (&c).write_all(format!("up {word}\n").as_bytes())
            .expect("send");
        let mut line = String::new();
        BufReader::new(&c).read_line(&mut line).expect("reply");
        assert_eq!(line, format!("{}\n", word.to_uppercase()));
    }
    let out = vm.finish(LIMIT);
    out.expect_stdout("listening\nserved 2 connections, 2 lines, 0 bulk bytes\n");
    out.expect_code(0);
}

/// The effective user id, read from /proc (no libc in the tests).
fn effective_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("Uid line")
}

/// `--net none`: no device, so the guest's client cannot reach 10.0.2.2 (ENETUNREACH), while its
/// loopback still works (loopback.c prints what it prints on the host).
#[test]
fn no_network_means_unreachable() {
    let prog = guest_net("client");
    let out = nutshell_timeout(
        &[
            OsStr::new("run"),
            OsStr::new("--net"),
            OsStr::new("none"),
            prog.as_os_str(),
            OsStr::new("10.0.2.2"),
            OsStr::new("9"),
            OsStr::new("9"),
        ],
        None,
        LIMIT,
    );
    out.expect_stdout_contains("Network is unreachable");
}

/// `-p` mistakes are reported before booting, with status 125.
#[test]
fn publish_errors() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let prog = guest("hello-glibc");
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec!["-p".into(), format!("127.0.0.1:{port}:80")],
            format!("nutshell: -p: tcp port 127.0.0.1:{port}: already in use on this host\n"),
        ),
        (
            vec!["--net".into(), "none".into(), "-p".into(), "8080:80".into()],
            "nutshell: -p needs a network: it cannot be used with --net none\n".into(),
        ),
        (
            vec!["-p".into(), "80".into()],
            "is not of the form [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp]".into(),
        ),
        (
            vec!["--net".into(), "tap:nutshell-none0".into()],
            "nutshell: --net tap:nutshell-none0: this host has no network interface".into(),
        ),
    ];
    for (opts, message) in cases {
        let mut args: Vec<&OsStr> = vec![OsStr::new("run")];
        args.extend(opts.iter().map(OsStr::new));
        args.push(prog.as_os_str());
        let out = nutshell_timeout(&args, None, LIMIT);
        out.expect_stderr_contains(&message);
        assert!(out.code() == 125 || out.code() == 2, "{opts:?}: {out}");
        assert_eq!(out.stdout(), "", "{opts:?}: nothing ran");
    }
}

/// `-p HOST:GUEST/udp`: datagrams from the host reach a guest UDP server and its answers come back.
#[test]
fn published_udp_port() {
    let prog = guest_net("udpecho");
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:5353/udp");
    let mut vm = spawn_nutshell(&[
        "run",
        "-p",
        &publish,
        prog.to_str().expect("utf-8 path"),
        "5353",
        "3",
    ]);
    vm.wait_for("listening", false, LIMIT);
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_read_timeout(Some(Duration::from_millis(500))).ok();
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + Duration::from_secs(30);
    for word in ["one", "two", "three"] {
        // A datagram can be lost before the guest's device is up: send again until answered.
        loop {
            assert!(Instant::now() < deadline, "no answer to {word}");
            sock.send_to(word.as_bytes(), ("127.0.0.1", port))
                .expect("send");
            if let Ok((n, _)) = sock.recv_from(&mut buf) {
                assert_eq!(&buf[..n], word.to_uppercase().as_bytes());
                break;
            }
        }
    }
    let out = vm.finish(LIMIT);
    out.expect_stdout("listening\nanswered 3\n");
    out.expect_code(0);
}

/// getaddrinfo through glibc's NSS in a dynamic program (Debian's python3): names from the guest's
/// default /etc/hosts, the host name from /etc/hostname, and the DNS server of user networking in
/// /etc/resolv.conf.
#[test]
fn getaddrinfo_reads_the_guest_files() {
    if !Path::new("/usr/bin/python3").exists() {
        eprintln!(
            "SKIPPED: getaddrinfo_reads_the_guest_files needs python3 (apt-get install python3)"
        );
        return;
    }
    let script = "import socket\n\
        names = lambda fam: sorted({a[4][0] for a in socket.getaddrinfo('localhost', 80, fam, socket.SOCK_STREAM)})\n\
        print(names(socket.AF_INET), names(socket.AF_INET6))\n\
        print(socket.getaddrinfo('ip6-loopback', 80, 0, socket.SOCK_STREAM)[0][4])\n\
        print(socket.gethostname(), socket.gethostbyname(socket.gethostname()))\n\
        print(open('/etc/resolv.conf').read().strip())\n";
    let out = nutshell_timeout(
        &[
            OsStr::new("run"),
            OsStr::new("/usr/bin/python3"),
            OsStr::new("-c"),
            OsStr::new(script),
        ],
        None,
        LIMIT,
    );
    out.expect_stdout(
        "['127.0.0.1'] ['::1']\n('::1', 80, 0, 0)\nnutshell 127.0.1.1\nnameserver 10.0.2.3\n",
    );
    out.expect_code(0);
}
