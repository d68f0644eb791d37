//! `nutshell run` and `nutshell debug`: check the program, pack it (or the `--rootfs`), boot
//! it in QEMU, relay its I/O and signals, return its status.
//!
//! Threads: the main thread reads the console socket and writes the program's output; one
//! thread relays host stdin to the guest and one forwards signals, both starting once the
//! kernel's marker has arrived and writing through one lock, so that an escape sequence is
//! never split; one collects QEMU's own stdout/stderr (shown only when QEMU fails, or with
//! `--log debug`); one receives SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2:
//! before the VM runs they end nutshell (status 128+N); then they are forwarded to the program
//! as `FF 02 N`, except that a second SIGINT or SIGTERM within [`SECOND_SIGNAL_WINDOW`] of the
//! first kills QEMU (for a program that ignores them, or a wedged VM). `nutshell debug` adds a
//! thread that waits for gdb; SIGINT is then gdb's (it interrupts the program) and ignored.
//!
//! Temporary files (kernel image, initrd) live in one temporary directory, removed as soon as
//! the kernel's marker shows that QEMU has loaded them, or else when [`run`] returns, whatever
//! the outcome. gdb's files (`--gdb`) live in their own directory, kept until [`run`] returns.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
use signal_hook::iterator::{Handle, Signals};

use crate::cli::{EnvVar, LogLevel, Machine, NetMode, RunArgs, DEFAULT_GDB_PORT};
use crate::cmdline::{push_quoted, KernelCmdline};
use crate::console::{escape_stdin, signal_input, Decoder, Event, STDIN_EOF};
use crate::cpio::{CpioError, CpioWriter};
use crate::gdb::{self, GdbError};
use crate::program::{self, describe, ProgramError};
use crate::publish;
use crate::qemu::{self, QemuError, SharedDir, VmConfig};
use crate::rootfs::{self, Reporter, RootfsError};

/// How long QEMU may take to stop after the exit record before it is killed.
pub const EXIT_GRACE: Duration = Duration::from_secs(5);
/// A second SIGINT or SIGTERM this soon after a forwarded one stops the VM.
pub const SECOND_SIGNAL_WINDOW: Duration = Duration::from_secs(2);
/// The signals nutshell forwards to the program.
pub const FORWARDED_SIGNALS: [i32; 6] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2];
/// How much of QEMU's own output is kept.
const QEMU_OUTPUT_KEEP: usize = 64 * 1024;
/// `128 + SIGPIPE`: the status when nutshell's stdout is closed under it.
const STATUS_SIGPIPE: u8 = 128 + 13;

/// Why `nutshell run` failed. The `Display` text follows `nutshell: `.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// PROGRAM cannot be found, read or loaded (126, 127).
    #[error(transparent)]
    Program(#[from] ProgramError),
    /// QEMU is missing or the accelerator is unusable (125).
    #[error(transparent)]
    Qemu(#[from] QemuError),
    /// `--rootfs` cannot be used (125).
    #[error(transparent)]
    Rootfs(#[from] RootfsError),
    /// gdb is missing or cannot start (125).
    #[error(transparent)]
    Gdb(#[from] GdbError),
    /// A library or the interpreter of a dynamically linked program is missing (127) or unreadable (126).
    #[error(transparent)]
    Deps(#[from] crate::deps::DepsError),
    /// The program could not be packed into the initrd (126).
    #[error("{program}: {error}")]
    Pack {
        /// PROGRAM as typed.
        program: String,
        /// The reason.
        error: CpioError,
    },
    /// A `--volume` cannot be shared (125).
    #[error("--volume {spec}: {reason}")]
    Volume {
        /// The option's value.
        spec: String,
        /// What is wrong.
        reason: String,
    },
    /// `--volume` with `--machine pc` (125).
    #[error(
        "--volume needs --machine microvm: the kernel has no virtio-pci driver yet, and \
         --machine pc has no virtio-mmio devices"
    )]
    VolumeNeedsMicrovm,
    /// `--net`, `-p` or `--ip` cannot be used as given (125).
    #[error("{0}")]
    Network(String),
    /// The `--strace=FILE` or `--log-file` file cannot be created (125).
    #[error("cannot create {path} ({option}): {}", describe(.error))]
    OutputFile {
        /// `--strace` or `--log-file`.
        option: &'static str,
        /// The file.
        path: String,
        /// The error.
        error: io::Error,
    },
    /// Temporary files could not be created or written (125).
    #[error("cannot create temporary files: {}", describe(.0))]
    Temp(io::Error),
    /// The console socket could not be set up or read (125).
    #[error("console: {}", describe(.0))]
    Console(io::Error),
    /// QEMU could not be started (125).
    #[error("cannot start {QEMU}: {}", describe(.0), QEMU = qemu::QEMU)]
    Spawn(io::Error),
    /// QEMU stopped and the kernel never sent an exit record (125).
    #[error("the VM stopped without an exit status ({how}){details}")]
    NoExitStatus {
        /// How QEMU ended, e.g. `QEMU exit code 1`.
        how: String,
        /// QEMU's messages and console output, each on its own lines.
        details: String,
    },
    /// Writing the program's output failed (125).
    #[error("stdout: {}", describe(.0))]
    Stdout(io::Error),
}

impl RunError {
    /// The exit status of `nutshell run` for this error.
    pub fn status(&self) -> u8 {
        match self {
            RunError::Program(e) => e.status(),
            RunError::Deps(e) => e.status(),
            RunError::Pack { .. } => 126,
            _ => 125,
        }
    }
}

/// Where the signals that `nutshell run` forwards come from.
pub enum SignalSource {
    /// This process's own signals (caught while `run` runs).
    Process,
    /// Signal numbers sent on a channel (tests).
    Channel(mpsc::Receiver<i32>),
    /// None.
    Ignore,
}

/// What `nutshell run` takes from and gives to the host: PATH, the standard streams, signal
/// handling, the terminal. [`Host::real`] is the process's own; tests substitute their own.
pub struct Host {
    /// The value of PATH (PROGRAM without a slash, QEMU and gdb are looked up in it).
    pub path: Option<OsString>,
    /// Relayed to the program's stdin.
    pub stdin: Box<dyn Read + Send>,
    /// The program's stdout, written through (flushed after every write).
    pub stdout: Box<dyn Write>,
    /// The program's stderr, the kernel's log and strace lines, nutshell's messages.
    pub stderr: Box<dyn Write>,
    /// The signals forwarded to the program.
    pub signals: SignalSource,
    /// How long QEMU may take to stop after the exit record before it is killed.
    pub exit_grace: Duration,
    /// Whether fds 0, 1 and 2 are terminals (kernel option `tty=`).
    pub tty: [bool; 3],
    /// The host's TERM, passed to the program unless `--env TERM=...` is given.
    pub term: Option<String>,
    /// The terminal's size (rows, columns), when there is a terminal.
    pub winsize: Option<(u16, u16)>,
}

impl Host {
    /// This process's PATH, stdin, stdout, stderr, signals and terminal.
    pub fn real() -> Self {
        // SAFETY: isatty only looks at the descriptor number.
        let tty = [0, 1, 2].map(|fd| unsafe { libc::isatty(fd) } == 1);
        Host {
            path: std::env::var_os("PATH"),
            stdin: Box::new(io::stdin()),
            stdout: Box::new(io::stdout()),
            stderr: Box::new(io::stderr()),
            signals: SignalSource::Process,
            exit_grace: EXIT_GRACE,
            tty,
            term: std::env::var("TERM").ok().filter(|t| !t.is_empty()),
            winsize: terminal_size(tty),
        }
    }
}

/// The size of the first terminal among stdout, stdin and stderr.
fn terminal_size(tty: [bool; 3]) -> Option<(u16, u16)> {
    for fd in [1, 0, 2] {
        if !tty[fd] {
            continue;
        }
        // SAFETY: TIOCGWINSZ writes one `struct winsize` to the pointer, which points to one.
        let mut size: libc::winsize = unsafe { std::mem::zeroed() };
        if unsafe { libc::ioctl(fd as i32, libc::TIOCGWINSZ, &mut size) } == 0
            && size.ws_row > 0
            && size.ws_col > 0
        {
            return Some((size.ws_row, size.ws_col));
        }
    }
    None
}

/// `nutshell run`: run the program described by `args` on `host`; returns the status
/// nutshell exits with.
pub fn run(args: &RunArgs, kernel_image: &[u8], host: Host) -> Result<u8, RunError> {
    session(args, kernel_image, host, false)
}

/// `nutshell debug`: `run --gdb` with gdb started on the script, in the foreground.
pub fn debug(args: &RunArgs, kernel_image: &[u8], host: Host) -> Result<u8, RunError> {
    session(args, kernel_image, host, true)
}

/// The program to boot: the initrd and where the program is in it.
struct Prepared {
    /// The initrd file.
    initrd: PathBuf,
    /// The program's path in the guest, e.g. `/hello`.
    guest_path: Vec<u8>,
    /// The program's bytes (for gdb).
    image: Vec<u8>,
}

fn session(args: &RunArgs, kernel_image: &[u8], host: Host, debug: bool) -> Result<u8, RunError> {
    let Host {
        path: path_var,
        stdin,
        stdout,
        stderr,
        signals,
        exit_grace,
        tty,
        term,
        winsize,
    } = host;
    let interrupts = Interrupts::install(signals, debug).map_err(RunError::Console)?;
    let mut out = Output::open(stdout, stderr, args)?;
    let verbose = args.log >= Some(LogLevel::Debug);

    // A program from the host is checked before anything else (127 and 126 come first).
    let host_program = match &args.rootfs {
        None => {
            let path = program::resolve(args.program(), path_var.as_deref())?;
            let program = program::load(args.program(), &path)?;
            // A dynamically linked program brings its interpreter and libraries (issue 5); nothing
            // boots when one is missing.
            let mut collector = crate::deps::Collector::new();
            for extra in &args.add {
                collector.add(extra);
            }
            for extra in runtime_data(&path) {
                collector.add(extra);
            }
            let deps = collector.collect(&path)?;
            Some((program, deps))
        }
        Some(_) => None,
    };
    let qemu_path = qemu::find(path_var.as_deref())?;
    let accel = qemu::choose_accel(args.accel)?;
    let gdb_port = match (debug, args.gdb_port()) {
        (true, port) => Some(port.unwrap_or(DEFAULT_GDB_PORT)),
        (false, port) => port,
    };
    let gdb_path = match debug {
        true => Some(gdb::find(path_var.as_deref())?),
        false => None,
    };
    let volume_dirs = check_volumes(args)?;
    let net_option = check_network(args)?;
    let mut proxies =
        match args.net {
            NetMode::User => Some(publish::Proxies::bind(&args.publish).map_err(|(what, e)| {
                RunError::Network(format!("-p: {what}: {}", bind_error(&e)))
            })?),
            _ => None,
        };

    let tmp = tempfile::Builder::new()
        .prefix("nutshell.")
        .tempdir()
        .map_err(RunError::Temp)?;
    let kernel_path = tmp.path().join("kernel");
    std::fs::write(&kernel_path, kernel_image).map_err(RunError::Temp)?;
    let prepared = match (host_program, &args.rootfs) {
        (Some((program, deps)), _) => {
            let initrd = tmp.path().join("initrd.cpio");
            let guest_path = if deps.interpreter.is_some() {
                // The program, ld.so and the libraries at their host paths.
                crate::deps::write_initrd(&initrd, &deps.files)?;
                deps.program.as_os_str().as_bytes().to_vec()
            } else {
                write_initrd(&initrd, &program).map_err(|e| match e {
                    CpioError::Io(e) => RunError::Temp(e),
                    error => RunError::Pack {
                        program: args.program().to_string_lossy().into_owned(),
                        error,
                    },
                })?;
                [&b"/"[..], &program.name].concat()
            };
            Prepared {
                initrd,
                guest_path,
                image: program.image,
            }
        }
        (None, Some(source)) => {
            let cancelled = || interrupts.early();
            let mut reporter = Reporter::new(&mut out.stderr, tty[2], &cancelled);
            let started = Instant::now();
            let (initrd, archive) =
                match rootfs::prepare(source, tmp.path(), tmp.path(), &mut reporter) {
                    Err(RootfsError::Interrupted(signal)) => return Ok(128 + signal as u8),
                    other => other?,
                };
            if verbose {
                let size = std::fs::metadata(&initrd).map_or(0, |m| m.len());
                out.debug(&format!(
                    "initrd {}: {} entries, {size} bytes, ready in {:.3} s",
                    initrd.display(),
                    archive.len(),
                    started.elapsed().as_secs_f64()
                ));
            }
            let shown = source.display().to_string();
            let guest_path_var = args
                .env
                .iter()
                .rev()
                .find(|var| var.key == "PATH")
                .map_or(rootfs::DEFAULT_GUEST_PATH, |var| var.value.as_str());
            let found = rootfs::find_program(
                &archive,
                args.program(),
                args.workdir.as_deref(),
                guest_path_var.as_bytes(),
                &shown,
            )?;
            Prepared {
                initrd,
                guest_path: found.path,
                image: found.image,
            }
        }
        (None, None) => unreachable!("a program comes from the host or from --rootfs"),
    };

    // gdb's files: the kernel, the program, the script.
    let gdb_files = match gdb_port {
        Some(port) => {
            let dir = tempfile::Builder::new()
                .prefix("nutshell-gdb.")
                .tempdir()
                .map_err(RunError::Temp)?;
            let plan =
                elf_loader::parse(&prepared.image).map_err(|error| ProgramError::NotRunnable {
                    program: args.program().to_string_lossy().into_owned(),
                    error,
                })?;
            let name = prepared
                .guest_path
                .rsplit(|&b| b == b'/')
                .next()
                .unwrap_or_default();
            // Where a dynamic program's libraries are on the host: the host's own files, the
            // --rootfs directory; a tar or cpio's are not at hand.
            let sysroot = match &args.rootfs {
                None => Some(PathBuf::new()),
                Some(source) if source.is_dir() => std::fs::canonicalize(source).ok(),
                Some(_) => None,
            };
            let script = gdb::write_files(
                dir.path(),
                kernel_image,
                name,
                &prepared.image,
                &plan,
                port,
                sysroot.as_deref(),
            )
            .map_err(RunError::Temp)?;
            Some((dir, script, port))
        }
        None => None,
    };

    let mut env: Vec<EnvVar> = args.env.clone();
    if let Some(term) = term {
        if !env.iter().any(|var| var.key == "TERM") {
            env.push(EnvVar {
                key: "TERM".into(),
                value: term,
            });
        }
    }
    let volumes: Vec<SharedDir<'_>> = args
        .volumes
        .iter()
        .zip(&volume_dirs)
        .enumerate()
        .map(|(i, (volume, path))| SharedDir {
            tag: format!("v{i}"),
            path,
            readonly: volume.readonly,
        })
        .collect();
    let cmdline = KernelCmdline {
        tty,
        winsize: winsize.filter(|_| tty.iter().any(|&t| t)),
        strace: args.tracing(),
        strace_summary: args.strace_summary,
        strict: args.strict,
        log: args.log,
        load_base: gdb_port.map(|_| gdb::LOAD_BASE),
        workdir: args.workdir.as_deref(),
        volumes: args
            .volumes
            .iter()
            .zip(&volumes)
            .map(|(volume, shared)| {
                let ro = if volume.readonly { ":ro" } else { "" };
                format!("{}:{}{ro}", shared.tag, volume.guest)
            })
            .collect(),
        net: net_option.as_deref(),
        // With --ip on user networking the kernel's IPv6 default (slirp's) is not implied: keep it.
        net6: (args.net == NetMode::User && args.ip.is_some()).then_some("fec0::15/64,fec0::2"),
        env: &env,
        argv0: args.program().as_bytes(),
        path: &prepared.guest_path,
        args: args.args().iter().map(|a| a.as_bytes()).collect(),
    }
    .to_bytes();
    // Hidden --kernel-opt options go first (kernel options may come in any order before `--`).
    let cmdline = {
        let mut line = Vec::new();
        for opt in &args.kernel_opts {
            crate::cmdline::push_quoted(&mut line, opt.as_bytes());
            line.push(b' ');
        }
        line.extend_from_slice(&cmdline);
        line
    };

    let (console, guest_end) = UnixStream::pair().map_err(RunError::Console)?;
    let (vconsole, vguest_end) = UnixStream::pair().map_err(RunError::Console)?;
    let mut qemu_args = qemu::args(&VmConfig {
        machine: args.machine,
        accel,
        mem: args.mem,
        kernel: &kernel_path,
        initrd: &prepared.initrd,
        cmdline: &cmdline,
        console_fd: guest_end.as_raw_fd(),
        vconsole_fd: Some(vguest_end.as_raw_fd()),
        gdb_port,
        volumes: &volumes,
        net: &args.net,
        forwards: proxies.as_ref().map_or(&[], |p| p.forwards()),
    });
    // Hidden --qemu-arg options go before -kernel (QEMU takes options in any order).
    let at = qemu_args.len() - 6;
    qemu_args.splice(at..at, args.qemu_args.iter().cloned());
    if verbose {
        out.debug(&shell_line(&qemu_path, &qemu_args));
    }
    if let Some(signal) = interrupts.early() {
        return Ok(128 + signal as u8);
    }

    let (child, qemu_output) = spawn_qemu(&qemu_path, &qemu_args, [&guest_end, &vguest_end])?;
    // QEMU has them; the sockets read EOF when QEMU exits.
    drop(guest_end);
    drop(vguest_end);
    if let Some(p) = proxies.as_mut() {
        p.start();
    }
    let vm = Vm::new(child);
    let (forward, forwarded) = mpsc::channel::<u8>();
    if let Some(signal) = interrupts.start(vm.clone(), forward) {
        vm.kill();
        let _ = vm.wait();
        return Ok(128 + signal as u8);
    }

    // Input goes where the kernel sent its marker (the virtio-serial port, or COM1 without it).
    let (stdin_go, stdin_wait) = mpsc::channel::<Arc<Mutex<UnixStream>>>();
    thread::spawn(move || {
        // Bytes sent before the marker could be lost when the kernel sets up the UART.
        if let Ok(stdin_sink) = stdin_wait.recv() {
            if debug {
                // gdb has the terminal: the program's stdin is empty.
                let _ = lock(&stdin_sink).write_all(&STDIN_EOF);
            } else {
                relay_stdin(stdin, &stdin_sink);
            }
        }
    });
    let (signals_go, signals_wait) = mpsc::channel::<Arc<Mutex<UnixStream>>>();
    thread::spawn(move || {
        if let Ok(signal_sink) = signals_wait.recv() {
            for signal in forwarded {
                if lock(&signal_sink).write_all(&signal_input(signal)).is_err() {
                    return; // QEMU is gone
                }
            }
        }
    });

    let mut gdb_thread = None;
    if let Some((_, script, port)) = &gdb_files {
        match &gdb_path {
            Some(gdb_path) => {
                if verbose {
                    out.debug(&format!(
                        "starting {} -q -x {}",
                        gdb_path.display(),
                        script.display()
                    ));
                }
                let spawned = Command::new(gdb_path).arg("-q").arg("-x").arg(script).spawn();
                let mut child = match spawned {
                    Ok(child) => child,
                    Err(e) => {
                        vm.kill();
                        let _ = vm.wait();
                        return Err(GdbError::Spawn(e).into());
                    }
                };
                let vm = vm.clone();
                gdb_thread = Some(thread::spawn(move || {
                    let status = child.wait();
                    // The debugging session is over: so is the VM.
                    vm.kill();
                    status
                }));
            }
            None => out.message(&format!(
                "gdb script: {}\nnutshell: the VM waits for gdb on 127.0.0.1:{port}: run gdb -q -x {}",
                script.display(),
                script.display()
            )),
        }
    }

    // Once the kernel speaks, QEMU has long read the kernel image and the initrd: remove them
    // then, so that even a `kill -9` of nutshell leaves nothing behind.
    let on_marker = move |sink: &UnixStream| {
        if let Ok(sink) = sink.try_clone() {
            let sink = Arc::new(Mutex::new(sink));
            let _ = stdin_go.send(Arc::clone(&sink));
            let _ = signals_go.send(sink);
        }
        drop(tmp);
    };
    let relayed = relay_console(&[&console, &vconsole], &vm, &mut out, exit_grace, on_marker);
    if relayed.is_err() {
        vm.kill();
    }
    let qemu_status = vm.wait();
    interrupts.finish();
    let qemu_output = qemu_output.join().unwrap_or_default();
    let gdb_status = gdb_thread.map(|thread| thread.join());
    let relayed = relayed?;
    drop(gdb_files);

    if let Some(signal) = interrupts.stopped() {
        out.message(&format!(
            "stopped the VM: a second {} within {} s",
            signal_name(signal),
            SECOND_SIGNAL_WINDOW.as_secs()
        ));
        out.finish();
        return Ok(128 + signal as u8);
    }
    if let Some(error) = out.stdout_error.take() {
        out.finish();
        return match error.kind() {
            io::ErrorKind::BrokenPipe => Ok(STATUS_SIGPIPE),
            _ => Err(RunError::Stdout(error)),
        };
    }
    if verbose && !qemu_output.is_empty() {
        out.debug_raw(&qemu_output);
    }
    out.finish();
    match (out.exit, gdb_status) {
        (Some(status), _) => Ok(status),
        // gdb ended the session before the program ended: gdb's status.
        (None, Some(Ok(Ok(status)))) => Ok(status.code().map_or(1, |c| c as u8)),
        _ => Err(no_exit_status(qemu_status, &qemu_output, &relayed)),
    }
}

/// The canonical host directories of the `--volume`s, checked.
fn check_volumes(args: &RunArgs) -> Result<Vec<PathBuf>, RunError> {
    if args.volumes.is_empty() {
        return Ok(Vec::new());
    }
    if args.machine == Machine::Pc {
        return Err(RunError::VolumeNeedsMicrovm);
    }
    let mut dirs = Vec::new();
    for (i, volume) in args.volumes.iter().enumerate() {
        let spec = format!(
            "{}:{}{}",
            volume.host.display(),
            volume.guest,
            if volume.readonly { ":ro" } else { "" }
        );
        let fail = |reason: String| RunError::Volume {
            spec: spec.clone(),
            reason,
        };
        let host = volume.host.display();
        let dir = std::fs::canonicalize(&volume.host)
            .map_err(|e| fail(format!("{host}: {}", describe(&e))))?;
        if !dir.is_dir() {
            return Err(fail(format!("{host}: not a directory")));
        }
        if args.volumes[..i].iter().any(|v| v.guest == volume.guest) {
            return Err(fail(format!("{} is already a volume", volume.guest)));
        }
        dirs.push(dir);
    }
    Ok(dirs)
}

/// Check `--net`, `-p` and `--ip`; returns the kernel's `net=` option, if one is needed.
fn check_network(args: &RunArgs) -> Result<Option<String>, RunError> {
    let fail = |m: String| Err(RunError::Network(m));
    match &args.net {
        NetMode::None => {
            if !args.publish.is_empty() {
                return fail("-p needs a network: it cannot be used with --net none".into());
            }
            if args.ip.is_some() {
                return fail("--ip needs a network: it cannot be used with --net none".into());
            }
            Ok(Some("none".into()))
        }
        NetMode::Tap(name) => {
            if !args.publish.is_empty() {
                return fail(format!(
                    "-p publishes ports through QEMU's user-mode network (--net user); with \
                     --net tap:{name} the guest is reached at its own address instead"
                ));
            }
            if !Path::new("/sys/class/net").join(name).exists() {
                return fail(format!(
                    "--net tap:{name}: this host has no network interface {name} (create one, \
                     as root: ip tuntap add {name} mode tap user $USER && ip link set {name} up)"
                ));
            }
            Ok(Some(args.ip.clone().unwrap_or_else(|| "dhcp".into())))
        }
        NetMode::User => {
            let mut seen = Vec::new();
            for p in &args.publish {
                for i in 0..p.count {
                    let key = (p.host_ip, p.host_port + i, p.proto);
                    if seen.contains(&key) {
                        return fail(format!(
                            "-p: host port {} is published twice",
                            p.host_port + i
                        ));
                    }
                    seen.push(key);
                }
            }
            Ok(args.ip.clone())
        }
    }
}

/// Why a published port cannot be bound, in words.
fn bind_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::AddrInUse => "already in use on this host".to_owned(),
        io::ErrorKind::AddrNotAvailable => "not an address of this host".to_owned(),
        io::ErrorKind::PermissionDenied => {
            "ports below 1024 need root (publish on a host port of 1024 and above)".to_owned()
        }
        _ => describe(e),
    }
}

/// `SIGINT` for 2, and so on.
fn signal_name(signal: i32) -> String {
    match signal {
        SIGINT => "SIGINT".into(),
        SIGTERM => "SIGTERM".into(),
        SIGHUP => "SIGHUP".into(),
        SIGQUIT => "SIGQUIT".into(),
        SIGUSR1 => "SIGUSR1".into(),
        SIGUSR2 => "SIGUSR2".into(),
        other => format!("signal {other}"),
    }
}

/// Pack the program as `/<name>`, mode 0755.
/// A kernel panic's `nutshell: kernel backtrace: #N 0xADDR` line with the function named from the
/// embedded kernel's symbols: `... 0xADDR nutshell_kernel::exec::start+0x1c`.
fn symbolize_kernel_frame(line: &[u8]) -> Option<Vec<u8>> {
    static SYMBOLS: std::sync::OnceLock<elf_loader::symbols::Symbols> = std::sync::OnceLock::new();
    let text = std::str::from_utf8(line).ok()?;
    let rest = text.strip_prefix("nutshell: kernel backtrace: #")?;
    let addr = rest.split_whitespace().nth(1)?;
    let addr = u64::from_str_radix(addr.strip_prefix("0x")?, 16).ok()?;
    let symbols =
        SYMBOLS.get_or_init(|| elf_loader::symbols::Symbols::from_image(crate::KERNEL_IMAGE));
    // A return address points after the call: name the byte before it.
    let (name, off) = symbols.lookup(addr.wrapping_sub(1))?;
    Some(format!("{text} {}+{:#x}", demangle(name), off + 1).into_bytes())
}

/// Rust v0/legacy symbol names are shown as they are in the ELF (no demangler dependency): readable
/// enough to find the function (`_RNv...5start` names the path).
fn demangle(name: &str) -> &str {
    name
}

/// Data a language runtime reads at start, which no ELF dependency names: Python's standard library
/// (`/usr/lib/pythonX.Y` for a `pythonX.Y` interpreter).
fn runtime_data(program: &Path) -> Vec<PathBuf> {
    let real = std::fs::canonicalize(program).unwrap_or_else(|_| program.to_path_buf());
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut out = Vec::new();
    if let Some(version) = name.strip_prefix("python") {
        if version.contains('.') && version.chars().all(|c| c.is_ascii_digit() || c == '.') {
            let lib = PathBuf::from(format!("/usr/lib/python{version}"));
            if lib.is_dir() {
                out.push(lib);
            }
        }
    }
    out
}

fn write_initrd(path: &Path, program: &program::Program) -> Result<(), CpioError> {
    let file = File::create(path)?;
    let mut cpio = CpioWriter::new(BufWriter::new(file));
    cpio.file(&program.name, 0o755, program.mtime, &program.image)?;
    let mut out = cpio.finish()?;
    out.flush()?;
    Ok(())
}

/// Start QEMU in its own process group (so a terminal's Ctrl-C reaches only nutshell, which
/// forwards it), with `guest_ends` inherited, stdin from /dev/null and stdout + stderr
/// collected by a thread.
fn spawn_qemu(
    qemu_path: &Path,
    args: &[OsString],
    guest_ends: [&UnixStream; 2],
) -> Result<(Child, JoinHandle<Vec<u8>>), RunError> {
    let (output_reader, output_writer) = io::pipe().map_err(RunError::Spawn)?;
    let output_writer2 = output_writer.try_clone().map_err(RunError::Spawn)?;
    let fds = guest_ends.map(|s| s.as_raw_fd());
    let mut command = Command::new(qemu_path);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(output_writer)
        .stderr(output_writer2)
        .process_group(0);
    // SAFETY: the closure runs in the child between fork and exec. It only calls `fcntl` and
    // `prctl`, which are async-signal-safe, and it allocates nothing. Clearing FD_CLOEXEC on the
    // child's copy of `fd` (a descriptor flag, private to the child's table) lets QEMU inherit
    // the socket; PR_SET_PDEATHSIG stops QEMU if nutshell dies without cleaning up.
    unsafe {
        command.pre_exec(move || {
            for fd in fds {
                if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                    return Err(io::Error::last_os_error());
                }
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command.spawn().map_err(RunError::Spawn)?;
    drop(command); // closes our copies of the pipe's write end
    let collector = thread::spawn(move || collect_tail(output_reader, QEMU_OUTPUT_KEEP));
    Ok((child, collector))
}

/// Read `reader` to its end, keeping at most the last `keep` bytes (roughly).
fn collect_tail(mut reader: impl Read, keep: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return kept,
            Ok(n) => {
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > 2 * keep {
                    kept.drain(..kept.len() - keep);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return kept,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Host stdin → guest, escaped; `FF 01` at end of file (or on a read error). Each chunk is
/// written under the lock it shares with the signal forwarder.
fn relay_stdin(mut stdin: Box<dyn Read + Send>, sink: &Mutex<UnixStream>) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut escaped = Vec::with_capacity(2 * buf.len());
    loop {
        match stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                escaped.clear();
                escape_stdin(&buf[..n], &mut escaped);
                if lock(sink).write_all(&escaped).is_err() {
                    return; // QEMU is gone
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let _ = lock(sink).write_all(&STDIN_EOF);
}

/// Guest console → `out` until QEMU closes the sockets (or, after the exit record, until
/// `grace` passes without a byte; or until stdout fails). `consoles` are COM1 and the
/// virtio-serial port, each with its own decoder: the kernel writes on COM1 until it has started
/// the virtio-serial port and on the port from then on (COM1 again only when the port cannot be
/// used, e.g. for a panic inside its driver), so COM1 is always read first. `on_marker` runs with
/// the socket the first marker arrived on (where the kernel reads input). Returns the decoder of
/// that socket (else of the first socket the kernel printed on), for diagnostics.
fn relay_console(
    consoles: &[&UnixStream],
    vm: &Vm,
    out: &mut Output,
    grace: Duration,
    on_marker: impl FnOnce(&UnixStream),
) -> Result<Decoder, RunError> {
    let mut on_marker = Some(on_marker);
    let mut decoders: Vec<Decoder> = consoles.iter().map(|_| Decoder::new()).collect();
    let mut open: Vec<bool> = consoles.iter().map(|_| true).collect();
    let mut primary = 0;
    let mut buf = vec![0u8; 64 * 1024];
    while open.iter().any(|o| *o) {
        let mut fds: Vec<libc::pollfd> = consoles
            .iter()
            .zip(&open)
            .map(|(c, o)| libc::pollfd {
                fd: if *o { c.as_raw_fd() } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let timeout = match out.exit {
            Some(_) => i32::try_from(grace.as_millis()).unwrap_or(i32::MAX),
            None => -1,
        };
        // SAFETY: `fds` is a valid array of `fds.len()` pollfd structures for the call's duration.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if ready < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(RunError::Console(e));
        }
        if ready == 0 {
            vm.kill(); // the kernel reported its status but QEMU did not stop
            break;
        }
        for (i, mut console) in consoles.iter().copied().enumerate() {
            if fds[i].revents == 0 {
                continue;
            }
            match console.read(&mut buf) {
                // QEMU closed its end; ECONNRESET means it left stdin bytes unread (data sent
                // before the close is still delivered first).
                Ok(0) => open[i] = false,
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => open[i] = false,
                Ok(n) => decoders[i].feed(&buf[..n], &mut |event| out.event(event)),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                    ) => {}
                Err(e) => return Err(RunError::Console(e)),
            }
            if decoders[i].synced() {
                if let Some(on_marker) = on_marker.take() {
                    primary = i;
                    on_marker(console);
                }
            }
        }
        if out.stdout_error.is_some() {
            vm.kill();
            break;
        }
    }
    if on_marker.is_some() {
        // No marker anywhere: the socket the kernel printed on, for the diagnostics.
        primary = decoders
            .iter()
            .position(|d| !d.preamble().is_empty())
            .unwrap_or(0);
    }
    Ok(decoders.swap_remove(primary))
}

/// Where console events and nutshell's messages go: the program's stdout and stderr, the
/// kernel log (stderr or `--log-file`), the trace (stderr or `--strace=FILE`).
struct Output {
    stdout: Box<dyn Write>,
    stderr: Box<dyn Write>,
    log_file: Option<BufWriter<File>>,
    trace_file: Option<BufWriter<File>>,
    exit: Option<u8>,
    stdout_error: Option<io::Error>,
}

impl Output {
    /// Create the `--strace=FILE` and `--log-file` files.
    fn open(
        stdout: Box<dyn Write>,
        stderr: Box<dyn Write>,
        args: &RunArgs,
    ) -> Result<Self, RunError> {
        let create = |option: &'static str, path: &Path| {
            File::create(path)
                .map(BufWriter::new)
                .map_err(|error| RunError::OutputFile {
                    option,
                    path: path.display().to_string(),
                    error,
                })
        };
        let log_file = args
            .log_file
            .as_deref()
            .map(|path| create("--log-file", path))
            .transpose()?;
        let trace_file = args
            .strace_file()
            .map(|path| create("--strace", path))
            .transpose()?;
        Ok(Output {
            stdout,
            stderr,
            log_file,
            trace_file,
            exit: None,
            stdout_error: None,
        })
    }

    /// A message for the user, on stderr: `nutshell: TEXT`.
    fn message(&mut self, text: &str) {
        let _ = writeln!(self.stderr, "nutshell: {text}");
    }

    /// One of nutshell's debug lines, on the log: `nutshell: TEXT`.
    fn debug(&mut self, text: &str) {
        self.log_line(format!("nutshell: {text}").as_bytes());
    }

    /// Bytes for the log as they are (QEMU's messages).
    fn debug_raw(&mut self, bytes: &[u8]) {
        let _ = match &mut self.log_file {
            Some(file) => file.write_all(bytes),
            None => self.stderr.write_all(bytes),
        };
    }

    fn log_line(&mut self, line: &[u8]) {
        let named = symbolize_kernel_frame(line);
        let line = named.as_deref().unwrap_or(line);
        let sink: &mut dyn Write = match &mut self.log_file {
            Some(file) => file,
            None => &mut self.stderr,
        };
        let _ = sink.write_all(line).and_then(|()| sink.write_all(b"\n"));
    }

    fn trace_line(&mut self, line: &[u8]) {
        let sink: &mut dyn Write = match &mut self.trace_file {
            Some(file) => file,
            None => &mut self.stderr,
        };
        let _ = sink.write_all(line).and_then(|()| sink.write_all(b"\n"));
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Stdout(bytes) => {
                if self.stdout_error.is_none() {
                    // Written through: the program's own buffering is the only buffering.
                    if let Err(e) = self
                        .stdout
                        .write_all(bytes)
                        .and_then(|()| self.stdout.flush())
                    {
                        self.stdout_error = Some(e);
                    }
                }
            }
            Event::Stderr(bytes) => {
                let _ = self.stderr.write_all(bytes);
            }
            Event::Log(line) => self.log_line(line),
            Event::Trace(line) => self.trace_line(line),
            Event::Exit(status) => {
                self.exit.get_or_insert(status);
            }
            Event::BadExit(payload) => {
                let _ = writeln!(
                    self.stderr,
                    "nutshell: ignoring a malformed exit record {:?}",
                    String::from_utf8_lossy(payload)
                );
            }
            Event::Unknown { .. } => {} // a newer kernel's frame: skipped
        }
    }

    /// Flush the files.
    fn finish(&mut self) {
        for file in [&mut self.log_file, &mut self.trace_file]
            .into_iter()
            .flatten()
        {
            let _ = file.flush();
        }
        let _ = self.stderr.flush();
    }
}

/// The error for a VM that stopped without an exit record.
fn no_exit_status(
    status: io::Result<ExitStatus>,
    qemu_output: &[u8],
    decoder: &Decoder,
) -> RunError {
    let how = match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => match qemu::debug_exit_value(code) {
                Some(value) => {
                    format!("QEMU exit code {code}: the guest wrote {value} to isa-debug-exit")
                }
                None => format!("QEMU exit code {code}"),
            },
            (None, Some(signal)) => format!("QEMU killed by signal {signal}"),
            _ => format!("QEMU {status}"),
        },
        Err(e) => format!("QEMU status unknown: {}", describe(&e)),
    };
    let mut details = String::new();
    let qemu_text = String::from_utf8_lossy(qemu_output);
    if !qemu_text.trim().is_empty() {
        details.push('\n');
        details.push_str(qemu_text.trim_end());
    }
    if !decoder.synced() {
        let console = String::from_utf8_lossy(decoder.preamble());
        if console.trim().is_empty() {
            details.push_str("\nthe kernel printed nothing on the console");
        } else {
            details
                .push_str("\nthe kernel did not start the framed console protocol; it printed:\n");
            details.push_str(console.trim_end());
        }
    } else if decoder.in_frame() {
        details.push_str("\nthe console stream ends in the middle of a frame");
    }
    RunError::NoExitStatus { how, details }
}

/// The command line as one shell-quoted line, for `--log debug`.
fn shell_line(program: &Path, args: &[OsString]) -> String {
    let mut line = Vec::new();
    line.extend_from_slice(program.as_os_str().as_bytes());
    for arg in args {
        line.push(b' ');
        let bytes = arg.as_bytes();
        if bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_=.,/:@%+".contains(b))
            && !bytes.is_empty()
        {
            line.extend_from_slice(bytes);
        } else if !bytes.contains(&b'\'') {
            push_quoted(&mut line, bytes);
        } else {
            // Double quotes read better around the single-quoted kernel command line.
            line.push(b'"');
            for &b in bytes {
                if b"\\\"$`".contains(&b) {
                    line.push(b'\\');
                }
                line.push(b);
            }
            line.push(b'"');
        }
    }
    String::from_utf8_lossy(&line).into_owned()
}

/// The QEMU process, shared with the signal thread, which may kill it at any time until it
/// is reaped (the lock makes "kill" and "reap" exclusive, so a recycled pid is never hit).
#[derive(Clone)]
struct Vm(Arc<Mutex<Child>>);

impl Vm {
    fn new(child: Child) -> Self {
        Vm(Arc::new(Mutex::new(child)))
    }

    fn lock(&self) -> MutexGuard<'_, Child> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// SIGKILL QEMU (nothing if it is already reaped).
    fn kill(&self) {
        let _ = self.lock().kill();
    }

    /// Wait for QEMU to exit, without holding the lock while it runs.
    fn wait(&self) -> io::Result<ExitStatus> {
        loop {
            if let Some(status) = self.lock().try_wait()? {
                return Ok(status);
            }
            thread::sleep(Duration::from_millis(2));
        }
    }
}

/// What the signal thread knows and does.
#[derive(Default)]
struct SignalState {
    /// The VM, while it runs.
    vm: Option<Vm>,
    /// To the forwarding thread.
    forward: Option<mpsc::Sender<u8>>,
    /// A signal that came before the VM ran: nutshell stops.
    early: Option<i32>,
    /// The signal for which QEMU was killed (the second within the window).
    stopped: Option<i32>,
    /// When the last SIGINT or SIGTERM was forwarded.
    last_stop: Option<Instant>,
    /// `nutshell debug`: SIGINT belongs to gdb.
    debug: bool,
    /// The VM is gone: signals are ignored.
    done: bool,
}

impl SignalState {
    fn on_signal(&mut self, signal: i32) {
        if self.done || (self.debug && signal == SIGINT) {
            return;
        }
        let Some(vm) = &self.vm else {
            self.early.get_or_insert(signal);
            return;
        };
        let stop = signal == SIGINT || signal == SIGTERM;
        if stop
            && self
                .last_stop
                .is_some_and(|at| at.elapsed() < SECOND_SIGNAL_WINDOW)
        {
            self.stopped.get_or_insert(signal);
            vm.kill();
            return;
        }
        if stop {
            self.last_stop = Some(Instant::now());
        }
        if let (Some(forward), Ok(number)) = (&self.forward, u8::try_from(signal)) {
            let _ = forward.send(number);
        }
    }
}

/// The signals of `nutshell run`: caught from the start, forwarded once the VM runs.
struct Interrupts {
    state: Arc<Mutex<SignalState>>,
    handle: Option<Handle>,
}

impl Interrupts {
    /// Start the signal thread.
    fn install(source: SignalSource, debug: bool) -> io::Result<Self> {
        let state = Arc::new(Mutex::new(SignalState {
            debug,
            ..SignalState::default()
        }));
        let target = Arc::clone(&state);
        let handle = match source {
            SignalSource::Process => {
                let mut signals = Signals::new(FORWARDED_SIGNALS)?;
                let handle = signals.handle();
                thread::spawn(move || {
                    for signal in signals.forever() {
                        lock(&target).on_signal(signal);
                    }
                });
                Some(handle)
            }
            SignalSource::Channel(receiver) => {
                thread::spawn(move || {
                    for signal in receiver {
                        lock(&target).on_signal(signal);
                    }
                });
                None
            }
            SignalSource::Ignore => None,
        };
        Ok(Interrupts { state, handle })
    }

    /// The signal received before the VM started, if any.
    fn early(&self) -> Option<i32> {
        lock(&self.state).early
    }

    /// The VM runs: forward signals to `forward`, kill `vm` on a second one. Returns the
    /// signal that came before, if one did (the caller stops).
    fn start(&self, vm: Vm, forward: mpsc::Sender<u8>) -> Option<i32> {
        let mut state = lock(&self.state);
        if state.early.is_some() {
            return state.early;
        }
        state.vm = Some(vm);
        state.forward = Some(forward);
        None
    }

    /// The VM is gone.
    fn finish(&self) {
        let mut state = lock(&self.state);
        state.done = true;
        state.vm = None;
        state.forward = None; // ends the forwarding thread
    }

    /// The signal for which QEMU was killed.
    fn stopped(&self) -> Option<i32> {
        lock(&self.state).stopped
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        if let Some(handle) = &self.handle {
            handle.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Write` whose bytes the test reads afterwards.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
        }
    }

    /// Run `nutshell run ARGV...` with a fake `qemu-system-x86_64`: a bash script that saves
    /// its arguments (one per line) in `dir/args`, its -append and -initrd in `dir`, then runs
    /// `body` with `$fd` = the console socket.
    fn run_fake_qemu(
        dir: &Path,
        body: &str,
        argv: &[&str],
        stdin: &'static [u8],
    ) -> (Result<u8, RunError>, Captured, Captured) {
        fake_qemu_session(dir, body, argv, stdin, SignalSource::Ignore)
    }

    fn fake_qemu_session(
        dir: &Path,
        body: &str,
        argv: &[&str],
        stdin: &'static [u8],
        signals: SignalSource,
    ) -> (Result<u8, RunError>, Captured, Captured) {
        let script = format!(
            "#!/bin/bash\n\
             if [ \"$1\" = --probe ]; then exit 0; fi\n\
             printf '%s\\n' \"$@\" > '{dir}/args'\n\
             while [ $# -gt 0 ]; do\n\
               case \"$1\" in\n\
                 -chardev) fd=${{2##*fd=}}; shift;;\n\
                 -append) printf '%s' \"$2\" > '{dir}/append'; shift;;\n\
                 -initrd) cp \"$2\" '{dir}/initrd'; shift;;\n\
               esac\n\
               shift\n\
             done\n\
             {body}\n",
            dir = dir.display()
        );
        let qemu = dir.join(qemu::QEMU);
        std::fs::write(&qemu, script).expect("write the fake QEMU");
        std::fs::set_permissions(&qemu, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        // A child forked by another test while the script was open for writing keeps it busy
        // (ETXTBSY) until it execs: wait for that to pass.
        for _ in 0..100 {
            match Command::new(&qemu).arg("--probe").status() {
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                    thread::sleep(Duration::from_millis(10))
                }
                _ => break,
            }
        }
        let mut full = vec!["nutshell", "run"];
        full.extend_from_slice(argv);
        let args = match <crate::cli::Cli as clap::Parser>::try_parse_from(full) {
            Ok(crate::cli::Cli {
                command: crate::cli::Command::Run(args),
            }) => args,
            other => panic!("{other:?}"),
        };
        let (stdout, stderr) = (Captured::default(), Captured::default());
        let host = Host {
            path: Some(dir.as_os_str().to_owned()),
            stdin: Box::new(stdin),
            stdout: Box::new(stdout.clone()),
            stderr: Box::new(stderr.clone()),
            signals,
            exit_grace: Duration::from_millis(300),
            tty: [false; 3],
            term: None,
            winsize: None,
        };
        (run(&args, b"fake kernel", host), stdout, stderr)
    }

    /// The path of this test binary (a valid ELF) and its name.
    fn test_program() -> (String, String) {
        let exe = std::env::current_exe().expect("current_exe");
        let name = exe
            .file_name()
            .expect("name")
            .to_str()
            .expect("UTF-8")
            .to_owned();
        (exe.to_str().expect("UTF-8 path").to_owned(), name)
    }

    /// Wait until `path` exists (the fake QEMU's sign that it runs).
    fn wait_for(path: &Path) {
        let start = std::time::Instant::now();
        while !path.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{path:?} never appeared"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn signals_are_forwarded_as_ff_02_n() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().display().to_string();
        let (exe, _) = test_program();
        // The fake kernel: marker, then it reads two signal escapes and reports 130.
        let body = format!(
            "printf '\\0NUTSHL\\n' >&$fd; touch '{d}/started'; head -c 8 <&$fd > '{d}/input'; \
             printf '\\x05\\x08\\x00exit 130' >&$fd"
        );
        let (send, receive) = mpsc::channel();
        let sender = {
            let started = dir.path().join("started");
            thread::spawn(move || {
                wait_for(&started);
                send.send(SIGTERM).expect("send");
                thread::sleep(Duration::from_millis(2100));
                // Not a second SIGINT/SIGTERM within 2 s: forwarded too.
                send.send(SIGINT).expect("send");
            })
        };
        let (result, _, stderr) = fake_qemu_session(
            dir.path(),
            &body,
            &[&exe],
            b"",
            SignalSource::Channel(receive),
        );
        sender.join().expect("sender");
        assert_eq!(result.expect("runs"), 130, "{}", stderr.text());
        // stdin is empty: its EOF escape comes somewhere, never inside a signal's escape.
        let input = std::fs::read(dir.path().join("input")).expect("input");
        let mut seen = Vec::new();
        let mut rest = &input[..];
        while !rest.is_empty() {
            match rest {
                [0xFF, 0x01, tail @ ..] => {
                    seen.push("eof".to_string());
                    rest = tail;
                }
                [0xFF, 0x02, n, tail @ ..] => {
                    seen.push(format!("signal {n}"));
                    rest = tail;
                }
                _ => panic!("unexpected input {input:x?}"),
            }
        }
        seen.retain(|e| e != "eof");
        assert_eq!(seen, ["signal 15", "signal 2"], "{input:x?}");
    }

    #[test]
    fn a_second_interrupt_stops_the_vm() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().display().to_string();
        let (exe, _) = test_program();
        let body = format!("printf '\\0NUTSHL\\n' >&$fd; touch '{d}/started'; exec sleep 30");
        let (send, receive) = mpsc::channel();
        let started = dir.path().join("started");
        let sender = thread::spawn(move || {
            wait_for(&started);
            send.send(SIGINT).expect("send");
            thread::sleep(Duration::from_millis(100));
            send.send(SIGINT).expect("send");
        });
        let begin = std::time::Instant::now();
        let (result, _, stderr) = fake_qemu_session(
            dir.path(),
            &body,
            &[&exe],
            b"",
            SignalSource::Channel(receive),
        );
        sender.join().expect("sender");
        assert_eq!(result.expect("status"), 130);
        assert!(begin.elapsed() < Duration::from_secs(20));
        assert_eq!(
            stderr.text(),
            "nutshell: stopped the VM: a second SIGINT within 2 s\n"
        );
    }

    #[test]
    fn a_signal_before_the_vm_starts_ends_nutshell() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (exe, _) = test_program();
        let (send, receive) = mpsc::channel();
        send.send(SIGTERM).expect("send");
        // Give the signal thread time to record it.
        let (result, _, _) = fake_qemu_session(
            dir.path(),
            "sleep 0.5; exit 0",
            &[&exe],
            b"",
            SignalSource::Channel(receive),
        );
        // Either it was seen before QEMU started (143) or QEMU ran and stopped without an
        // exit record; the channel thread is fast, so it is 143 in practice.
        assert_eq!(result.expect("interrupted"), 143);
    }

    #[test]
    fn trace_and_log_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (exe, _) = test_program();
        let trace = dir.path().join("trace.txt");
        let log = dir.path().join("log.txt");
        let body = r"printf '\0NUTSHL\n' >&$fd
printf '\x01\x03\x00out' >&$fd
printf '\x03\x0d\x00nutshell: log' >&$fd
printf '\x04\x07\x00write()' >&$fd
printf '\x05\x06\x00exit 0' >&$fd
echo 'qemu: note' >&2";
        let strace = format!("--strace={}", trace.display());
        let log_file = log.display().to_string();
        let (result, stdout, stderr) = run_fake_qemu(
            dir.path(),
            body,
            &[
                &strace,
                "--strace-summary",
                "--strict",
                "--log",
                "debug",
                "--log-file",
                &log_file,
                &exe,
            ],
            b"",
        );
        assert_eq!(result.expect("runs"), 0);
        assert_eq!(stdout.text(), "out");
        assert_eq!(stderr.text(), "", "everything went to the files");
        assert_eq!(std::fs::read_to_string(&trace).expect("trace"), "write()\n");
        let log = std::fs::read_to_string(&log).expect("log");
        assert!(
            log.starts_with("nutshell: "),
            "the QEMU command line: {log}"
        );
        assert!(log.contains(" -M microvm,acpi=off "), "{log}");
        assert!(log.contains("\nnutshell: log\nqemu: note\n"), "{log}");
        let append = std::fs::read_to_string(dir.path().join("append")).expect("append");
        assert!(
            append.starts_with(
                "'console=framed' 'tty=' 'strace' 'strace-summary' 'strict' 'log=debug' 'argv0="
            ),
            "{append}"
        );

        // An output file that cannot be created.
        let (result, _, _) = run_fake_qemu(
            dir.path(),
            "exit 1",
            &["--strace=/nonexistent/dir/t", &exe],
            b"",
        );
        let error = result.expect_err("no such directory");
        assert_eq!(error.status(), 125);
        assert_eq!(
            error.to_string(),
            "cannot create /nonexistent/dir/t (--strace): no such file or directory"
        );
    }

    /// The network options reach the kernel: `--ip` on user networking keeps slirp's IPv6,
    /// `--net none` says so, and `--net user` alone leaves the kernel's defaults.
    #[test]
    fn network_kernel_options() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (exe, _name) = test_program();
        let body = "printf '\\0NUTSHL\\n\\x05\\x06\\x00exit 0' >&$fd";
        let cases: [(&[&str], &str); 3] = [
            (
                &["--ip", "10.0.2.30/24,10.0.2.2"],
                "'net=10.0.2.30/24,10.0.2.2' 'net6=fec0::15/64,fec0::2' ",
            ),
            (&["--net", "none"], "'net=none' "),
            (&[], ""),
        ];
        for (opts, tokens) in cases {
            let mut args = opts.to_vec();
            args.push(&exe);
            let (result, _, _) = run_fake_qemu(dir.path(), body, &args, b"");
            assert_eq!(result.expect("runs"), 0);
            let append = std::fs::read_to_string(dir.path().join("append")).expect("append");
            assert_eq!(
                append,
                format!("'console=framed' 'tty=' {tokens}'argv0={exe}' -- '{exe}'"),
                "{opts:?}"
            );
        }
    }

    #[test]
    fn gdb_volumes_and_workdir_options() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (exe, _name) = test_program();
        let shared = dir.path().join("shared,dir");
        std::fs::create_dir(&shared).expect("mkdir");
        let volume = format!("{}:/data", shared.display());
        let volume_ro = format!("{}:/in:ro", shared.display());
        let body = "printf '\\0NUTSHL\\n\\x05\\x06\\x00exit 0' >&$fd";
        let (result, _, stderr) = run_fake_qemu(
            dir.path(),
            body,
            &[
                "--gdb=4567",
                "--volume",
                &volume,
                "--volume",
                &volume_ro,
                "--workdir",
                "/data",
                &exe,
            ],
            b"",
        );
        assert_eq!(result.expect("runs"), 0);
        let args = std::fs::read_to_string(dir.path().join("args")).expect("args");
        let args: Vec<&str> = args.lines().collect();
        assert_eq!(args[..2], ["-M", "microvm,acpi=off"]);
        let fsdev = format!(
            "local,id=v0,path={},security_model=none",
            shared.display().to_string().replace(',', ",,")
        );
        assert!(args.contains(&fsdev.as_str()), "{args:?}");
        assert!(
            args.contains(&"virtio-9p-device,fsdev=v1,mount_tag=v1"),
            "{args:?}"
        );
        assert!(args
            .windows(3)
            .any(|w| w == ["-gdb", "tcp:127.0.0.1:4567", "-S"]));
        let append = std::fs::read_to_string(dir.path().join("append")).expect("append");
        assert_eq!(
            append,
            format!(
                "'console=framed' 'tty=' 'load_base=0x555555554000' 'workdir=/data' \
                 'volume=v0:/data' 'volume=v1:/in:ro' 'argv0={exe}' -- '{exe}'"
            )
        );
        // The script's path is printed, and the script is gone with nutshell.
        let stderr = stderr.text();
        let script = stderr
            .lines()
            .find_map(|l| l.strip_prefix("nutshell: gdb script: "))
            .unwrap_or_else(|| panic!("no script path: {stderr}"));
        assert!(
            stderr.contains("waits for gdb on 127.0.0.1:4567: run gdb -q -x "),
            "{stderr}"
        );
        assert!(
            !Path::new(script).exists(),
            "the gdb files are removed at exit"
        );

        // --volume errors.
        let missing = format!("{}/none:/x", dir.path().display());
        let (result, _, _) =
            run_fake_qemu(dir.path(), "exit 1", &["--volume", &missing, &exe], b"");
        let error = result.expect_err("missing host dir");
        assert!(
            error
                .to_string()
                .ends_with("/none: no such file or directory"),
            "{error}"
        );
        let (result, _, _) = run_fake_qemu(
            dir.path(),
            "exit 1",
            &["--machine", "pc", "--volume", &volume, &exe],
            b"",
        );
        assert!(matches!(result, Err(RunError::VolumeNeedsMicrovm)));
    }

    #[test]
    fn rootfs_program_lookup() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (exe, _) = test_program();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("usr/bin")).expect("mkdir");
        std::fs::create_dir_all(root.join("app")).expect("mkdir");
        std::fs::copy(&exe, root.join("usr/bin/tool")).expect("copy");
        let rootfs = root.display().to_string();
        let body = "printf '\\0NUTSHL\\n\\x05\\x06\\x00exit 0' >&$fd";
        let (result, _, stderr) = run_fake_qemu(
            dir.path(),
            body,
            &["--rootfs", &rootfs, "--workdir", "/app", "tool", "x"],
            b"",
        );
        assert_eq!(result.expect("runs"), 0, "{}", stderr.text());
        let append = std::fs::read_to_string(dir.path().join("append")).expect("append");
        assert!(
            append.ends_with("'workdir=/app' 'argv0=tool' -- '/usr/bin/tool' 'x'"),
            "{append}"
        );
        // The initrd is the tree, with nothing from the host added.
        let initrd = std::fs::read(dir.path().join("initrd")).expect("initrd");
        let text = String::from_utf8_lossy(&initrd);
        assert!(text.contains("usr/bin/tool\0") && text.contains("app\0"));

        let (result, _, _) = run_fake_qemu(
            dir.path(),
            "exit 1",
            &["--rootfs", &rootfs, "/bin/nope"],
            b"",
        );
        let error = result.expect_err("not in the rootfs");
        assert_eq!(error.status(), 127);
        assert_eq!(
            error.to_string(),
            format!("/bin/nope: not found in the root file system {rootfs}")
        );
        let (result, _, _) = run_fake_qemu(
            dir.path(),
            "exit 1",
            &["--rootfs", "/nonexistent", "tool"],
            b"",
        );
        assert_eq!(
            result.expect_err("missing").to_string(),
            "--rootfs /nonexistent: no such file or directory"
        );
    }

    /// The full pipeline against a fake QEMU speaking the framed protocol.
    #[test]
    fn fake_qemu_sessions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let exe = std::env::current_exe().expect("current_exe");
        let exe = exe.to_str().expect("UTF-8 path");
        let name = Path::new(exe)
            .file_name()
            .expect("name")
            .to_str()
            .expect("UTF-8");

        // Output, log, stdin relay, exit status.
        let body = r"printf 'SeaBIOS noise\0NUTSHL\n' >&$fd
printf '\x01\x06\x00hello\n' >&$fd
printf '\x02\x04\x00err\n' >&$fd
printf '\x03\x0a\x00nutshell: ' >&$fd
printf '\x04\x0c\x00exit_group()' >&$fd
head -c 7 <&$fd > stdin.bin
printf '\x05\x07\x00exit 42' >&$fd
echo 'a QEMU warning' >&2
exit 85";
        let (result, stdout, stderr) = run_fake_qemu(
            dir.path(),
            &body.replace("stdin.bin", &format!("{}/stdin.bin", dir.path().display())),
            &["--env", "A=b c", "--strace", exe, "x", "it's", "--"],
            b"abc\xff",
        );
        assert_eq!(result.expect("runs"), 42);
        assert_eq!(stdout.text(), "hello\n");
        assert_eq!(stderr.text(), "err\nnutshell: \nexit_group()\n");
        assert_eq!(
            std::fs::read(dir.path().join("stdin.bin")).expect("stdin"),
            b"abc\xff\xff\xff\x01"
        );
        let append = std::fs::read_to_string(dir.path().join("append")).expect("append");
        assert_eq!(
            append,
            format!(
                "'console=framed' 'tty=' 'strace' 'env=A=b c' 'argv0={exe}' -- '{exe}' 'x' \
                 'it'\\''s' '--'"
            )
        );
        let initrd = std::fs::read(dir.path().join("initrd")).expect("initrd");
        assert!(initrd.starts_with(b"070701"));
        // A dynamically linked program (as this test binary is) is packed at its own path, with its
        // interpreter and libraries.
        let packed = |p: &str| {
            initrd
                .windows(p.len() + 1)
                .any(|w| w == format!("{p}\0").as_bytes())
        };
        let rel = exe.trim_start_matches('/');
        assert!(packed(rel) || packed(exe), "{exe} is in the initrd");
        let _ = &name;

        // No exit record: 125, with QEMU's messages and what the kernel printed.
        let body = "printf 'kernel says hi\\n' >&$fd; echo 'qemu: boom' >&2; exit 1";
        let (result, stdout, _) = run_fake_qemu(dir.path(), body, &[exe], b"");
        let error = result.expect_err("no exit record");
        assert_eq!(error.status(), 125);
        assert_eq!(
            error.to_string(),
            "the VM stopped without an exit status (QEMU exit code 1: the guest wrote 0 to \
             isa-debug-exit)\nqemu: boom\nthe kernel did not start the framed console \
             protocol; it printed:\nkernel says hi"
        );
        assert_eq!(stdout.text(), "");

        // An exit record, then QEMU hangs: it is killed after the grace period.
        let body = "printf '\\0NUTSHL\\n\\x05\\x06\\x00exit 7' >&$fd; exec sleep 30";
        let started = std::time::Instant::now();
        let (result, _, _) = run_fake_qemu(dir.path(), body, &[exe], b"");
        assert_eq!(result.expect("exit record"), 7);
        assert!(started.elapsed() < Duration::from_secs(10));

        // --log debug shows the QEMU command line and QEMU's messages.
        let body =
            "printf '\\0NUTSHL\\n\\x05\\x06\\x00exit 0' >&$fd; echo 'qemu: note' >&2; exit 1";
        let (result, _, stderr) = run_fake_qemu(dir.path(), body, &["--log", "debug", exe], b"");
        assert_eq!(result.expect("exit record"), 0);
        let stderr = stderr.text();
        assert!(
            stderr.contains(" -M microvm,acpi=off -accel tcg "),
            "{stderr}"
        );
        assert!(stderr.ends_with("qemu: note\n"), "{stderr}");
    }

    #[test]
    fn tail_collection_is_bounded() {
        let data = vec![b'x'; 1_000_000];
        let kept = collect_tail(&data[..], 1000);
        assert!(kept.len() >= 1000 && kept.len() <= 2000);
        assert_eq!(collect_tail(&b"short"[..], 1000), b"short");
    }

    #[test]
    fn statuses() {
        let e = RunError::Qemu(QemuError::NotFound);
        assert_eq!(e.status(), 125);
        assert_eq!(
            RunError::Program(ProgramError::NotFound("x".into())).status(),
            127
        );
        assert_eq!(
            RunError::Program(ProgramError::IsDirectory("x".into())).status(),
            126
        );
    }

    #[test]
    fn crash_message_shows_the_console() {
        let mut decoder = Decoder::new();
        decoder.feed(b"nutshell: hello from the kernel\n", &mut |_| {});
        let e = no_exit_status(Ok(ExitStatus::from_raw(1 << 8)), b"", &decoder);
        assert_eq!(
            e.to_string(),
            "the VM stopped without an exit status (QEMU exit code 1: the guest wrote 0 to \
             isa-debug-exit)\n\
             the kernel did not start the framed console protocol; it printed:\n\
             nutshell: hello from the kernel"
        );
        let e = no_exit_status(
            Ok(ExitStatus::from_raw(9)),
            b"qemu: oops\n",
            &Decoder::new(),
        );
        assert_eq!(
            e.to_string(),
            "the VM stopped without an exit status (QEMU killed by signal 9)\nqemu: oops\n\
             the kernel printed nothing on the console"
        );
    }

    #[test]
    fn debug_command_line_is_quoted() {
        let args = [
            OsString::from("-append"),
            OsString::from("'a' -- 'b\"$`\\'"),
            OsString::from("x y"),
        ];
        assert_eq!(
            shell_line(Path::new("/usr/bin/qemu"), &args),
            r#"/usr/bin/qemu -append "'a' -- 'b\"\$\`\\'" 'x y'"#
        );
    }
}
