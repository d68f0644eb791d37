//! Issue 9, "how it must be shown": real servers from Debian (and one built here) run unmodified in
//! `nutshell run`, published with `-p 127.0.0.1:HOSTPORT:GUESTPORT`, answering clients on the host.
//!
//! - nginx (single process, files from a `--volume`): exact bodies, a 404, a 10 MiB file checked
//!   by SHA-256, 10,000 sequential connections, 200 concurrent clients, clients resetting in the
//!   middle of a transfer, and the guest's open files (its `/proc/self/fd` listed by nginx's
//!   autoindex) back to where they started.
//! - redis-server: redis-cli commands, a 200 KiB value round trip, redis-benchmark.
//! - `python3 -m http.server` in a `--volume` directory, fetched with curl.
//! - A Go net/http server (`tests/guest/net/goserver/main.go`, built here with CGO_ENABLED=0).
//!
//! EADDRINUSE and ECONNREFUSED are asserted by `tests/guest/net/loopback.c` (127.0.0.1 and ::1 in
//! the guest, compared with Linux) and `client.c` (a closed port of the host, 10.0.2.2), in net.rs.
//!
//! Traffic stays on 127.0.0.1. Every loop is bounded in count and time; every VM ends with SIGTERM
//! (nutshell hands it to the program) or is killed when a test fails. A missing Debian package
//! skips its test with a message naming the package: nginx-light (or any nginx), redis-server,
//! redis-tools, curl, python3, golang-go; sha256sum comes with coreutils.

mod common;

use common::*;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// How long a server may take to boot and answer its first request (TCG, a loaded machine).
const BOOT: Duration = Duration::from_secs(90);
/// Limit for one client operation (connect, a read, a write).
const IO: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Prerequisites
// ---------------------------------------------------------------------------------------------

/// Whether `program` (a path, or a name looked up in PATH) exists; if not, says which package to
/// install and that the test is skipped.
fn require(program: &str, package: &str, test: &str) -> bool {
    let found = if program.contains('/') {
        Path::new(program).is_file()
    } else {
        std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
            .unwrap_or(false)
    };
    if !found {
        eprintln!(
            "SKIPPED {test}: {program} is missing: install it with `apt-get install {package}` \
             (CI installs it)"
        );
    }
    found
}

// ---------------------------------------------------------------------------------------------
// A server in a VM
// ---------------------------------------------------------------------------------------------

/// `nutshell run` of a server, stopped with SIGTERM by `stop`, or killed (with its QEMU) when the
/// test fails first.
struct Vm {
    running: Option<Running>,
    started: Instant,
}

impl Vm {
    fn start(args: Vec<OsString>) -> Vm {
        let mut full: Vec<OsString> = vec!["run".into()];
        full.extend(args);
        Vm {
            running: Some(spawn_nutshell(&full)),
            started: Instant::now(),
        }
    }

    fn running(&self) -> &Running {
        self.running.as_ref().expect("the VM is running")
    }

    /// Whether nutshell has not exited yet.
    fn alive(&self) -> bool {
        let stat = fs::read_to_string(format!("/proc/{}/stat", self.running().pid()));
        match stat {
            // The state follows the parenthesised command name.
            Ok(s) => {
                !matches!(s.rsplit(')').next().map(str::trim_start), Some(t) if t.starts_with('Z'))
            }
            Err(_) => false,
        }
    }

    /// What the VM printed so far, for failure messages.
    fn log(&self) -> String {
        let r = self.running();
        format!(
            "--- nutshell stdout ---\n{}\n--- nutshell stderr ---\n{}\n---",
            r.stdout_so_far(),
            r.stderr_so_far()
        )
    }

    /// Waits until `ready()` says the server answers (polling; fails after `BOOT` or when the VM
    /// exits).
    fn wait_until(&self, what: &str, mut ready: impl FnMut() -> bool) -> Duration {
        let start = Instant::now();
        loop {
            if ready() {
                return start.elapsed();
            }
            assert!(self.alive(), "the VM exited before {what}\n{}", self.log());
            assert!(
                start.elapsed() < BOOT,
                "{what}: no answer after {BOOT:?}\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(250));
        }
    }

    /// SIGTERM to nutshell (it passes it on to the program), then the outcome of the run.
    fn stop(mut self) -> Outcome {
        let running = self.running.take().expect("the VM is running");
        running.signal(SIGTERM);
        // `finish` counts from the start of the run: 60 s from now.
        running.finish(self.started.elapsed() + Duration::from_secs(60))
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            // A failed test: end nutshell and QEMU (its own process group) at once.
            // SAFETY: kill(2) with a negative pid signals the process group Running created.
            unsafe { libc::kill(-running.pid(), libc::SIGKILL) };
            eprintln!(
                "--- nutshell stdout ---\n{}\n--- nutshell stderr ---\n{}",
                running.stdout_so_far(),
                running.stderr_so_far()
            );
        }
    }
}

/// Fails if the kernel reported a system call it does not implement.
#[track_caller]
fn assert_no_missing_syscalls(out: &Outcome) {
    assert!(
        !out.stderr().contains("is not implemented"),
        "the server used a system call nutshell lacks\n{out}"
    );
}

/// A run of `program args` under a time limit (host tools: curl, redis-cli...).
#[track_caller]
fn host_tool(program: &str, args: &[&str], stdin: Option<&[u8]>) -> Outcome {
    let mut cmd = Command::new(program);
    cmd.args(args);
    run_with_timeout(cmd, stdin, Duration::from_secs(120))
}

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 client: one request per connection (`Connection: close`)
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
struct Response {
    /// The status line, e.g. `HTTP/1.1 200 OK`.
    status_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn status(&self) -> u16 {
        self.status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn connect(port: u16) -> io::Result<TcpStream> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let c = TcpStream::connect_timeout(&addr, IO)?;
    c.set_read_timeout(Some(IO))?;
    c.set_write_timeout(Some(IO))?;
    Ok(c)
}

fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

/// Parses a whole response read up to the end of the connection; the body must have the length
/// the headers announce.
fn parse_response(raw: &[u8]) -> io::Result<Response> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| invalid(format!("no end of headers in {} bytes", raw.len())))?;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let response = Response {
        status_line,
        headers,
        body: raw[end + 4..].to_vec(),
    };
    if let Some(len) = response.header("Content-Length") {
        let len: usize = len
            .parse()
            .map_err(|_| invalid(format!("Content-Length {len:?}")))?;
        if response.body.len() != len {
            return Err(invalid(format!(
                "body of {} bytes, Content-Length {len}",
                response.body.len()
            )));
        }
    }
    Ok(response)
}

/// `method path` with `body` on a new connection to 127.0.0.1:`port`, read to its end.
fn http(port: u16, method: &str, path: &str, body: &[u8]) -> io::Result<Response> {
    let mut c = connect(port)?;
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n")
            .into_bytes();
    if method == "POST" {
        request.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    request.extend_from_slice(body);
    c.write_all(&request)?;
    let mut raw = Vec::new();
    c.read_to_end(&mut raw)?;
    parse_response(&raw)
}

fn get(port: u16, path: &str) -> io::Result<Response> {
    http(port, "GET", path, b"")
}

/// GET that must answer 200 with exactly `body`; an error message otherwise.
fn get_exact(port: u16, path: &str, body: &[u8]) -> Result<(), String> {
    match get(port, path) {
        Ok(r) if r.status() == 200 && r.body == body => Ok(()),
        Ok(r) => Err(format!(
            "GET {path}: {:?}, {} bytes of body (expected 200 and {} bytes): {:?}",
            r.status_line,
            r.body.len(),
            body.len(),
            String::from_utf8_lossy(&r.body[..r.body.len().min(200)])
        )),
        Err(e) => Err(format!("GET {path}: {e}")),
    }
}

/// SHA-256 in hex, from coreutils' sha256sum.
fn sha256(data: &[u8]) -> String {
    let out = host_tool("sha256sum", &[], Some(data));
    out.expect_code(0);
    out.stdout()
        .split_whitespace()
        .next()
        .expect("sha256sum output")
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// nginx
// ---------------------------------------------------------------------------------------------

const NGINX: &str = "/usr/sbin/nginx";

const NGINX_CONF: &str = "\
daemon off;
master_process off;
worker_processes 1;
error_log stderr warn;
pid /tmp/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path /tmp/body;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    server {
        listen 8080;
        root /www;
        location /fds/ { alias /proc/self/fd/; autoindex on; }
    }
}
";

const INDEX: &[u8] = b"<!doctype html>\n<title>nutshell</title>\n<p>nginx in a unikernel</p>\n";
const BIG: usize = 10 << 20;

/// The number of open files of nginx in the guest: the entries of its autoindex of
/// /proc/self/fd/ (the listing's own directory and connection included, so the same at rest).
fn open_files(port: u16) -> Result<usize, String> {
    let r = get(port, "/fds/").map_err(|e| format!("GET /fds/: {e}"))?;
    if r.status() != 200 {
        return Err(format!("GET /fds/: {}", r.status_line));
    }
    let listing = String::from_utf8_lossy(&r.body);
    Ok(listing
        .matches("<a href=\"")
        .count()
        .saturating_sub(listing.matches("<a href=\"../\"").count()))
}

/// Polls the open file count until it is `expected` again (closes may lag a little).
fn open_files_settle(vm: &Vm, port: u16, expected: usize) -> usize {
    let start = Instant::now();
    loop {
        let n = open_files(port).unwrap_or_else(|e| panic!("{e}\n{}", vm.log()));
        if n == expected || start.elapsed() > Duration::from_secs(15) {
            return n;
        }
        thread::sleep(Duration::from_millis(300));
    }
}

/// Starts GET /big.bin, reads `after` bytes of it, then resets the connection (SO_LINGER 0).
fn reset_mid_transfer(port: u16, after: usize) -> io::Result<()> {
    let mut c = connect(port)?;
    c.write_all(b"GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
    let mut buf = vec![0u8; 64 << 10];
    let mut got = 0;
    while got < after {
        let n = c.read(&mut buf)?;
        if n == 0 {
            return Err(invalid(format!("the server closed after {got} bytes")));
        }
        got += n;
    }
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt(2) on a socket this stream owns, with a valid `linger`.
    let rc = unsafe {
        libc::setsockopt(
            c.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_LINGER: {}", io::Error::last_os_error());
    drop(c);
    Ok(())
}

#[test]
fn nginx_serves_files_under_load() {
    if !require(NGINX, "nginx-light", "nginx_serves_files_under_load")
        || !require("curl", "curl", "nginx_serves_files_under_load")
        || !require("sha256sum", "coreutils", "nginx_serves_files_under_load")
    {
        return;
    }
    let conf = TempDir::new("nginx-conf");
    let www = TempDir::new("nginx-www");
    fs::write(conf.join("nginx.conf"), NGINX_CONF).expect("nginx.conf");
    fs::write(www.join("index.html"), INDEX).expect("index.html");
    let big = pseudo_random_bytes(BIG, "nginx big.bin");
    fs::write(www.join("big.bin"), &big).expect("big.bin");
    let big_sha = sha256(&big);

    let port = free_port();
    let vm = Vm::start(vec![
        "-p".into(),
        format!("127.0.0.1:{port}:8080").into(),
        "--volume".into(),
        format!("{}:/conf", conf.path().display()).into(),
        "--volume".into(),
        format!("{}:/www", www.path().display()).into(),
        NGINX.into(),
        "-e".into(),
        "stderr".into(),
        "-c".into(),
        "/conf/nginx.conf".into(),
    ]);
    let boot = vm.wait_until("nginx answering", || {
        get_exact(port, "/index.html", INDEX).is_ok()
    });
    let at_rest = open_files(port).unwrap_or_else(|e| panic!("{e}\n{}", vm.log()));
    eprintln!("nginx: up after {boot:?}; {at_rest} open files at rest");

    // The page, exactly, through curl too; a 404.
    get_exact(port, "/index.html", INDEX).unwrap_or_else(|e| panic!("{e}\n{}", vm.log()));
    let url = format!("http://127.0.0.1:{port}/index.html");
    let curl = host_tool("curl", &["-sS", "--max-time", "30", &url], None);
    assert_eq!(curl.stdout.as_slice(), INDEX, "curl {url}\n{curl}");
    let missing = get(port, "/no-such-file.html").expect("GET a missing file");
    assert_eq!(missing.status_line, "HTTP/1.1 404 Not Found", "{missing:?}");

    // 10 MiB through sendfile, checked by SHA-256.
    let start = Instant::now();
    let r = get(port, "/big.bin").unwrap_or_else(|e| panic!("GET /big.bin: {e}\n{}", vm.log()));
    let took = start.elapsed();
    assert_eq!(r.status(), 200, "{}", r.status_line);
    assert_eq!(r.body.len(), BIG);
    assert_eq!(sha256(&r.body), big_sha, "/big.bin arrived corrupted");
    eprintln!("nginx: 10 MiB in {took:?}");

    // Clients that reset in the middle of the 10 MiB break nothing.
    for after in [1 << 10, 256 << 10, 3 << 20] {
        reset_mid_transfer(port, after)
            .unwrap_or_else(|e| panic!("reset after {after} bytes: {e}\n{}", vm.log()));
        get_exact(port, "/index.html", INDEX)
            .unwrap_or_else(|e| panic!("after a reset: {e}\n{}", vm.log()));
    }
    let r = get(port, "/big.bin").unwrap_or_else(|e| panic!("GET /big.bin: {e}\n{}", vm.log()));
    assert_eq!(r.status(), 200, "{}", r.status_line);
    assert!(r.body == big, "/big.bin after the resets: corrupted");
    let files = open_files_settle(&vm, port, at_rest);
    assert_eq!(files, at_rest, "open files after the resets\n{}", vm.log());

    // 10,000 requests one after the other, each on a new connection.
    const SEQUENTIAL: usize = 10_000;
    let start = Instant::now();
    let limit = Duration::from_secs(240);
    for i in 0..SEQUENTIAL {
        if let Err(e) = get_exact(port, "/index.html", INDEX) {
            panic!("sequential request {i}: {e}\n{}", vm.log());
        }
        assert!(
            start.elapsed() < limit,
            "only {i} sequential requests in {limit:?}"
        );
    }
    let seq = start.elapsed();
    eprintln!(
        "nginx: {SEQUENTIAL} sequential requests in {seq:?} ({:.0}/s)",
        SEQUENTIAL as f64 / seq.as_secs_f64()
    );

    // 200 clients at once, each connection opened before any sends (a barrier), then 9 more
    // requests each.
    const CLIENTS: usize = 200;
    const ROUNDS: usize = 10;
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let start = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || -> Vec<String> {
                let mut errors = Vec::new();
                let first = connect(port);
                barrier.wait();
                match first.and_then(|mut c| {
                    c.write_all(
                        b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                    )?;
                    let mut raw = Vec::new();
                    c.read_to_end(&mut raw)?;
                    parse_response(&raw)
                }) {
                    Ok(r) if r.status() == 200 && r.body == INDEX => {}
                    Ok(r) => errors.push(format!("first request: {}", r.status_line)),
                    Err(e) => errors.push(format!("first request: {e}")),
                }
                for _ in 1..ROUNDS {
                    if let Err(e) = get_exact(port, "/index.html", INDEX) {
                        errors.push(e);
                    }
                }
                errors
            })
        })
        .collect();
    let errors: Vec<String> = clients
        .into_iter()
        .flat_map(|h| h.join().expect("client thread"))
        .collect();
    let conc = start.elapsed();
    eprintln!(
        "nginx: {CLIENTS} concurrent clients, {} requests in {conc:?}, {} failed",
        CLIENTS * ROUNDS,
        errors.len()
    );
    assert!(
        errors.is_empty(),
        "{} of {} concurrent requests failed, first: {:?}\n{}",
        errors.len(),
        CLIENTS * ROUNDS,
        &errors[..errors.len().min(5)],
        vm.log()
    );

    // Every connection's file is closed again.
    let files = open_files_settle(&vm, port, at_rest);
    assert_eq!(files, at_rest, "open files after the load\n{}", vm.log());
    get_exact(port, "/index.html", INDEX).unwrap_or_else(|e| panic!("{e}\n{}", vm.log()));

    let out = vm.stop();
    out.expect_code(0);
    assert_no_missing_syscalls(&out);
    // The only message at level warn or above is the 404's.
    for line in out.stderr().lines() {
        assert!(
            line.contains(
                "open() \"/www/no-such-file.html\" failed (2: No such file or directory)"
            ),
            "unexpected message from nginx: {line}\n{out}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// redis
// ---------------------------------------------------------------------------------------------

#[test]
fn redis_answers_redis_cli_and_benchmark() {
    let name = "redis_answers_redis_cli_and_benchmark";
    if !require("/usr/bin/redis-server", "redis-server", name)
        || !require("redis-cli", "redis-tools", name)
        || !require("redis-benchmark", "redis-tools", name)
    {
        return;
    }
    let port = free_port();
    let p = port.to_string();
    let mut vm = Vm::start(vec![
        "-p".into(),
        format!("127.0.0.1:{port}:6379").into(),
        "/usr/bin/redis-server".into(),
        "--port".into(),
        "6379".into(),
        "--save".into(),
        "".into(),
        "--appendonly".into(),
        "no".into(),
        "--protected-mode".into(),
        "no".into(),
    ]);
    vm.running
        .as_mut()
        .expect("running")
        .wait_for("Ready to accept connections", false, BOOT);
    let cli = |args: &[&str], stdin: Option<&[u8]>| {
        let mut all = vec!["-p", &p];
        all.extend_from_slice(args);
        host_tool("redis-cli", &all, stdin)
    };
    let expect = |args: &[&str], reply: &str| {
        let out = cli(args, None);
        assert_eq!(
            out.stdout(),
            reply,
            "redis-cli {args:?}\n{out}\n{}",
            vm.log()
        );
        out.expect_code(0);
    };
    vm.wait_until("redis answering PING", || {
        cli(&["PING"], None).stdout() == "PONG\n"
    });
    expect(&["PING"], "PONG\n");
    expect(&["SET", "greeting", "hello nutshell"], "OK\n");
    expect(&["GET", "greeting"], "hello nutshell\n");
    expect(&["LPUSH", "list", "a", "b", "c"], "3\n");
    expect(&["LRANGE", "list", "0", "-1"], "c\nb\na\n");
    expect(&["HSET", "hash", "f1", "v1", "f2", "v2"], "2\n");
    expect(&["HGETALL", "hash"], "f1\nv1\nf2\nv2\n");
    expect(&["INCRBY", "counter", "41"], "41\n");
    expect(&["INCR", "counter"], "42\n");

    // 200 KiB of binary data in and out, byte for byte.
    let value = pseudo_random_bytes(200 << 10, "redis value");
    let out = cli(&["-x", "SET", "big"], Some(&value));
    assert_eq!(out.stdout(), "OK\n", "SET big\n{out}");
    expect(&["STRLEN", "big"], "204800\n");
    let out = cli(&["--raw", "GET", "big"], None);
    out.expect_code(0);
    let mut want = value.clone();
    want.push(b'\n');
    assert!(
        out.stdout == want,
        "GET big: {} bytes back, not the 204800 sent (+ newline)",
        out.stdout.len()
    );

    let start = Instant::now();
    let bench = host_tool(
        "redis-benchmark",
        &[
            "-p",
            &p,
            "-q",
            "-n",
            "10000",
            "-c",
            "10",
            "-t",
            "set,get,lpush,lpop,incr",
        ],
        None,
    );
    let took = start.elapsed();
    bench.expect_code(0);
    let text = bench.stdout() + &bench.stderr();
    assert!(
        !text.to_lowercase().contains("error"),
        "redis-benchmark\n{bench}"
    );
    // With -q, each test ends with "NAME: N requests per second, ..." (after \r-separated progress).
    let summary: Vec<&str> = text
        .split(['\r', '\n'])
        .filter(|l| l.contains("requests per second, p50"))
        .map(str::trim)
        .collect();
    for test in ["SET", "GET", "INCR", "LPUSH", "LPOP"] {
        assert!(
            summary.iter().any(|l| l.starts_with(&format!("{test}: "))),
            "no result for {test}\n{bench}"
        );
    }
    eprintln!("redis: 5 x 10000 requests in {took:?}: {summary:?}");
    expect(&["GET", "greeting"], "hello nutshell\n");

    let out = vm.stop();
    out.expect_code(0);
    out.expect_stdout_contains("Redis is now ready to exit, bye bye...");
    assert_no_missing_syscalls(&out);
}

// ---------------------------------------------------------------------------------------------
// python3 -m http.server
// ---------------------------------------------------------------------------------------------

#[test]
fn python_http_server_serves_a_volume() {
    let name = "python_http_server_serves_a_volume";
    // Debian's interpreter (a pyenv shim first in PATH would be a script).
    if !require("/usr/bin/python3", "python3", name) || !require("curl", "curl", name) {
        return;
    }
    let srv = TempDir::new("python-srv");
    let body = b"Served by Python's http.server\nfrom a 9p volume.\n";
    fs::write(srv.join("hello.txt"), body).expect("hello.txt");
    let data = pseudo_random_bytes(300 << 10, "python data");
    fs::write(srv.join("data.bin"), &data).expect("data.bin");
    let port = free_port();
    let vm = Vm::start(vec![
        "-p".into(),
        format!("127.0.0.1:{port}:8000").into(),
        "--volume".into(),
        format!("{}:/srv", srv.path().display()).into(),
        "--workdir".into(),
        "/srv".into(),
        "/usr/bin/python3".into(),
        "-m".into(),
        "http.server".into(),
        "8000".into(),
    ]);
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let curl = |path: &str| {
        host_tool(
            "curl",
            &[
                "-sS",
                "--max-time",
                "30",
                "-w",
                "\n%{http_code}",
                &url(path),
            ],
            None,
        )
    };
    let boot = vm.wait_until("python answering", || {
        curl("/hello.txt").stdout.ends_with(b"\n200")
    });
    eprintln!("python: up after {boot:?}");
    for _ in 0..3 {
        let out = curl("/hello.txt");
        out.expect_code(0);
        let mut want = body.to_vec();
        want.extend_from_slice(b"\n200");
        assert_eq!(out.stdout(), String::from_utf8_lossy(&want), "{out}");
    }
    let out = host_tool(
        "curl",
        &["-sS", "--max-time", "30", &url("/data.bin")],
        None,
    );
    out.expect_code(0);
    assert!(
        out.stdout == data,
        "data.bin: {} bytes back",
        out.stdout.len()
    );
    let listing = curl("/");
    listing.expect_code(0);
    listing.expect_stdout_contains("<a href=\"hello.txt\">hello.txt</a>");
    listing.expect_stdout_contains("<a href=\"data.bin\">data.bin</a>");
    let missing = curl("/missing.txt");
    assert!(missing.stdout().ends_with("\n404"), "{missing}");

    let out = vm.stop();
    // Python has no SIGTERM handler: it dies of the signal, and nutshell says so like a shell.
    out.expect_code(128 + SIGTERM);
    out.expect_stderr_contains("\"GET /hello.txt HTTP/1.1\" 200 -");
    out.expect_stderr_contains("\"GET /missing.txt HTTP/1.1\" 404 -");
    assert_no_missing_syscalls(&out);
}

// ---------------------------------------------------------------------------------------------
// A Go net/http server
// ---------------------------------------------------------------------------------------------

/// tests/guest/net/goserver/main.go built with CGO_ENABLED=0 (static, no module dependencies),
/// rebuilt when the source is newer. None (after saying why) when go is missing.
fn go_server() -> Option<PathBuf> {
    if !require("go", "golang-go", "go_http_server") {
        return None;
    }
    let source = repo_root().join("tests/guest/net/goserver/main.go");
    let dir = guest_dir();
    fs::create_dir_all(&dir).expect("guest dir");
    let out = dir.join("goserver");
    let fresh = match (fs::metadata(&out), fs::metadata(&source)) {
        (Ok(o), Ok(s)) => o.modified().ok() >= s.modified().ok(),
        _ => false,
    };
    if !fresh {
        let tmp = dir.join(format!(".goserver.{}.tmp", std::process::id()));
        let mut cmd = Command::new("go");
        cmd.args(["build", "-trimpath", "-o"])
            .arg(&tmp)
            .arg(&source)
            .current_dir(source.parent().expect("source dir"))
            .env("CGO_ENABLED", "0")
            .env("GO111MODULE", "off")
            .env("GOFLAGS", "");
        if std::env::var_os("HOME").is_none() && std::env::var_os("GOCACHE").is_none() {
            cmd.env("GOCACHE", dir.join("go-cache"));
        }
        let build = run_with_timeout(cmd, None, Duration::from_secs(300));
        build.expect_code(0);
        fs::rename(&tmp, &out).expect("rename");
    }
    Some(out)
}

#[test]
fn go_http_server() {
    let Some(server) = go_server() else { return };
    let port = free_port();
    let mut vm = Vm::start(vec![
        "-p".into(),
        format!("127.0.0.1:{port}:8090").into(),
        server.into(),
        ":8090".into(),
    ]);
    vm.running
        .as_mut()
        .expect("running")
        .wait_for("listening on [::]:8090\n", false, BOOT);
    vm.wait_until("go answering", || get(port, "/hello").is_ok());
    let hello = get(port, "/hello").expect("GET /hello");
    assert_eq!(hello.status_line, "HTTP/1.1 200 OK");
    assert_eq!(hello.header("Content-Length"), Some("14"));
    for _ in 0..5 {
        get_exact(port, "/hello", b"hello from go\n")
            .unwrap_or_else(|e| panic!("{e}\n{}", vm.log()));
    }
    // The server counts: nothing else talks to it.
    let first: u64 = String::from_utf8_lossy(&get(port, "/count").expect("count").body)
        .parse()
        .expect("a number");
    for i in 1..=5 {
        get_exact(port, "/count", (first + i).to_string().as_bytes())
            .unwrap_or_else(|e| panic!("{e}\n{}", vm.log()));
    }
    // POST bodies come back exactly.
    for (i, len) in [0usize, 1, 1000, 100 << 10, 1 << 20]
        .into_iter()
        .enumerate()
    {
        let body = pseudo_random_bytes(len, &format!("go echo {i}"));
        let r = http(port, "POST", "/echo", &body).unwrap_or_else(|e| panic!("POST {len}: {e}"));
        assert_eq!(r.status(), 200, "{}", r.status_line);
        assert_eq!(r.header("X-Length"), Some(len.to_string().as_str()));
        assert!(
            r.body == body,
            "POST /echo of {len} bytes: {} back",
            r.body.len()
        );
    }
    let r = get(port, "/echo").expect("GET /echo");
    assert_eq!(r.status_line, "HTTP/1.1 405 Method Not Allowed");
    // 4 MiB from the server, byte i = 7i.
    let n = 4 << 20;
    let r = get(port, &format!("/bytes?n={n}")).expect("GET /bytes");
    assert_eq!(r.body.len(), n);
    assert!(
        r.body.iter().enumerate().all(|(i, b)| *b == (i * 7) as u8),
        "/bytes corrupted"
    );
    // 20 clients at once, 5 requests each.
    let clients: Vec<_> = (0..20)
        .map(|_| {
            thread::spawn(move || {
                (0..5)
                    .filter_map(|_| get_exact(port, "/hello", b"hello from go\n").err())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let errors: Vec<String> = clients
        .into_iter()
        .flat_map(|h| h.join().expect("client"))
        .collect();
    assert!(errors.is_empty(), "concurrent: {errors:?}\n{}", vm.log());

    let out = vm.stop();
    // Go's runtime leaves SIGTERM at its default action: death by the signal.
    out.expect_code(128 + SIGTERM);
    assert_no_missing_syscalls(&out);
}
