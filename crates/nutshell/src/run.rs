//! `nutshell run`: check the program, pack it, boot it in QEMU, relay its I/O, return its
//! status.
//!
//! Threads: the main thread reads the console socket and writes the program's output; one
//! thread relays host stdin to the guest, starting once the kernel's marker has arrived; one
//! collects QEMU's own stdout/stderr (shown only when QEMU fails, or with `--log debug`); one
//! waits for SIGINT/SIGTERM/SIGHUP and kills QEMU.
//!
//! Temporary files (kernel image, initrd) live in one temporary directory, removed as soon as
//! the kernel's marker shows that QEMU has loaded them, or else when [`run`] returns, whatever
//! the outcome.

use std::ffi::OsString;
use std::io::{self, BufWriter, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

use crate::cli::{LogLevel, RunArgs};
use crate::cmdline::{push_quoted, KernelCmdline};
use crate::console::{escape_stdin, Decoder, Event, STDIN_EOF};
use crate::cpio::{CpioError, CpioWriter};
use crate::program::{self, describe, ProgramError};
use crate::qemu::{self, QemuError, VmConfig};

/// How long QEMU may take to stop after the exit record before it is killed.
pub const EXIT_GRACE: Duration = Duration::from_secs(5);
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
    /// The program could not be packed into the initrd (126).
    #[error("{program}: {error}")]
    Pack {
        /// PROGRAM as typed.
        program: String,
        /// The reason.
        error: CpioError,
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
            RunError::Pack { .. } => 126,
            _ => 125,
        }
    }
}

/// What `nutshell run` takes from and gives to the host: PATH, the standard streams, signal
/// handling. [`Host::real`] is the process's own; tests substitute their own streams.
pub struct Host {
    /// The value of PATH (PROGRAM without a slash and QEMU are looked up in it).
    pub path: Option<OsString>,
    /// Relayed to the program's stdin.
    pub stdin: Box<dyn Read + Send>,
    /// The program's stdout, written through (flushed after every write).
    pub stdout: Box<dyn Write>,
    /// The program's stderr, the kernel's log and strace lines, nutshell's messages.
    pub stderr: Box<dyn Write>,
    /// Catch SIGINT, SIGTERM and SIGHUP: kill QEMU and return 128 + the signal.
    pub catch_signals: bool,
    /// How long QEMU may take to stop after the exit record before it is killed.
    pub exit_grace: Duration,
}

impl Host {
    /// This process's PATH, stdin, stdout and stderr, with signal handling.
    pub fn real() -> Self {
        Host {
            path: std::env::var_os("PATH"),
            stdin: Box::new(io::stdin()),
            stdout: Box::new(io::stdout()),
            stderr: Box::new(io::stderr()),
            catch_signals: true,
            exit_grace: EXIT_GRACE,
        }
    }
}

/// Run the program described by `args` on `host`; returns the status nutshell exits with.
pub fn run(args: &RunArgs, kernel_image: &[u8], host: Host) -> Result<u8, RunError> {
    let Host {
        path: path_var,
        stdin,
        stdout,
        mut stderr,
        catch_signals,
        exit_grace,
    } = host;
    let interrupts = Interrupts::install(catch_signals).map_err(RunError::Console)?;
    let verbose = args.log >= Some(LogLevel::Debug);

    let path = program::resolve(args.program(), path_var.as_deref())?;
    let program = program::load(args.program(), &path)?;
    let qemu_path = qemu::find(path_var.as_deref())?;
    let accel = qemu::choose_accel(args.accel)?;

    let tmp = tempfile::Builder::new()
        .prefix("nutshell.")
        .tempdir()
        .map_err(RunError::Temp)?;
    let kernel_path = tmp.path().join("kernel");
    std::fs::write(&kernel_path, kernel_image).map_err(RunError::Temp)?;
    let initrd_path = tmp.path().join("initrd.cpio");
    write_initrd(&initrd_path, &program).map_err(|e| match e {
        CpioError::Io(e) => RunError::Temp(e),
        error => RunError::Pack {
            program: args.program().to_string_lossy().into_owned(),
            error,
        },
    })?;

    let mut guest_path = b"/".to_vec();
    guest_path.extend_from_slice(&program.name);
    let cmdline = KernelCmdline {
        strace: args.strace,
        log: args.log,
        env: &args.env,
        argv0: args.program().as_bytes(),
        path: &guest_path,
        args: args.args().iter().map(|a| a.as_bytes()).collect(),
    }
    .to_bytes();

    let (console, guest_end) = UnixStream::pair().map_err(RunError::Console)?;
    let qemu_args = qemu::args(&VmConfig {
        machine: args.machine,
        accel,
        mem: args.mem,
        kernel: &kernel_path,
        initrd: &initrd_path,
        cmdline: &cmdline,
        console_fd: guest_end.as_raw_fd(),
    });
    if verbose {
        let _ = writeln!(stderr, "nutshell: {}", shell_line(&qemu_path, &qemu_args));
    }
    if let Some(signal) = interrupts.received() {
        return Ok(128 + signal);
    }

    let (child, qemu_output) = spawn_qemu(&qemu_path, &qemu_args, &guest_end)?;
    drop(guest_end); // QEMU has it; the socket reads EOF when QEMU exits.
    let vm = Vm::new(child);
    interrupts.watch(vm.clone());

    let stdin_sink = console.try_clone().map_err(RunError::Console)?;
    let (synced, wait_for_sync) = mpsc::channel();
    thread::spawn(move || {
        // Bytes sent before the marker could be lost when the kernel resets the UART.
        if wait_for_sync.recv().is_ok() {
            relay_stdin(stdin, stdin_sink);
        }
    });

    let mut sink = OutputSink {
        stdout,
        stderr,
        exit: None,
        stdout_error: None,
    };
    // Once the kernel speaks, QEMU has long read the kernel image and the initrd: remove them
    // then, so that even a `kill -9` of nutshell leaves nothing behind.
    let on_marker = move || {
        let _ = synced.send(());
        drop(tmp);
    };
    let relayed = relay_console(&console, &vm, &mut sink, exit_grace, on_marker);
    if relayed.is_err() || interrupts.received().is_some() {
        vm.kill();
    }
    let qemu_status = vm.wait();
    let qemu_output = qemu_output.join().unwrap_or_default();
    let relayed = relayed?;

    if let Some(signal) = interrupts.received() {
        return Ok(128 + signal);
    }
    if let Some(error) = sink.stdout_error {
        return match error.kind() {
            io::ErrorKind::BrokenPipe => Ok(STATUS_SIGPIPE),
            _ => Err(RunError::Stdout(error)),
        };
    }
    if verbose && !qemu_output.is_empty() {
        let _ = sink.stderr.write_all(&qemu_output);
    }
    match sink.exit {
        Some(status) => Ok(status),
        None => Err(no_exit_status(qemu_status, &qemu_output, &relayed)),
    }
}

/// Pack the program as `/<name>`, mode 0755.
fn write_initrd(path: &Path, program: &program::Program) -> Result<(), CpioError> {
    let file = std::fs::File::create(path)?;
    let mut cpio = CpioWriter::new(BufWriter::new(file));
    cpio.file(&program.name, 0o755, program.mtime, &program.image)?;
    let mut out = cpio.finish()?;
    out.flush()?;
    Ok(())
}

/// Start QEMU in its own process group (so a terminal's Ctrl-C reaches only nutshell, which
/// then stops QEMU), with `guest_end` inherited, stdin from /dev/null and stdout + stderr
/// collected by a thread.
fn spawn_qemu(
    qemu_path: &Path,
    args: &[OsString],
    guest_end: &UnixStream,
) -> Result<(Child, JoinHandle<Vec<u8>>), RunError> {
    let (output_reader, output_writer) = io::pipe().map_err(RunError::Spawn)?;
    let output_writer2 = output_writer.try_clone().map_err(RunError::Spawn)?;
    let fd = guest_end.as_raw_fd();
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
            if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                return Err(io::Error::last_os_error());
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

/// Host stdin → guest, escaped; `FF 01` at end of file (or on a read error).
fn relay_stdin(mut stdin: Box<dyn Read + Send>, mut sink: UnixStream) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut escaped = Vec::with_capacity(2 * buf.len());
    loop {
        match stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                escaped.clear();
                escape_stdin(&buf[..n], &mut escaped);
                if sink.write_all(&escaped).is_err() {
                    return; // QEMU is gone
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let _ = sink.write_all(&STDIN_EOF);
}

/// Guest console → `sink` until QEMU closes the socket (or, after the exit record, until
/// `grace` passes; or until stdout fails); `on_marker` runs when the marker arrives. Returns
/// the decoder, for diagnostics.
fn relay_console(
    mut console: &UnixStream,
    vm: &Vm,
    sink: &mut OutputSink,
    grace: Duration,
    on_marker: impl FnOnce(),
) -> Result<Decoder, RunError> {
    let mut on_marker = Some(on_marker);
    let mut decoder = Decoder::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut grace_started = false;
    loop {
        match console.read(&mut buf) {
            // QEMU closed its end; ECONNRESET means it left stdin bytes unread (data sent
            // before the close is still delivered first).
            Ok(0) => break,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break,
            Ok(n) => decoder.feed(&buf[..n], &mut |event| sink.event(event)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e)
                if grace_started
                    && matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
            {
                vm.kill(); // the kernel reported its status but QEMU did not stop
                break;
            }
            Err(e) => return Err(RunError::Console(e)),
        }
        if decoder.synced() {
            if let Some(on_marker) = on_marker.take() {
                on_marker();
            }
        }
        if sink.stdout_error.is_some() {
            vm.kill();
            break;
        }
        if sink.exit.is_some() && !grace_started {
            grace_started = true;
            console
                .set_read_timeout(Some(grace))
                .map_err(RunError::Console)?;
        }
    }
    Ok(decoder)
}

/// Where console events go.
struct OutputSink {
    stdout: Box<dyn Write>,
    stderr: Box<dyn Write>,
    exit: Option<u8>,
    stdout_error: Option<io::Error>,
}

impl OutputSink {
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
            Event::Log(line) | Event::Trace(line) => {
                let _ = self
                    .stderr
                    .write_all(line)
                    .and_then(|()| self.stderr.write_all(b"\n"));
            }
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

/// SIGINT, SIGTERM and SIGHUP while `nutshell run` runs: remember the signal, kill QEMU.
struct Interrupts {
    signal: Arc<AtomicI32>,
    vm: Arc<Mutex<Option<Vm>>>,
    handle: Handle,
}

impl Interrupts {
    /// Start the signal thread (with `catch` false, only the bookkeeping, for tests).
    fn install(catch: bool) -> io::Result<Self> {
        let signal_list: &[i32] = if catch {
            &[SIGINT, SIGTERM, SIGHUP]
        } else {
            &[]
        };
        let mut signals = Signals::new(signal_list)?;
        let handle = signals.handle();
        let signal = Arc::new(AtomicI32::new(0));
        let vm: Arc<Mutex<Option<Vm>>> = Arc::new(Mutex::new(None));
        let (seen, target) = (Arc::clone(&signal), Arc::clone(&vm));
        thread::spawn(move || {
            for sig in signals.forever() {
                seen.store(sig, Ordering::SeqCst);
                if let Some(vm) = &*target.lock().unwrap_or_else(PoisonError::into_inner) {
                    vm.kill();
                }
            }
        });
        Ok(Interrupts { signal, vm, handle })
    }

    /// Kill `vm` on a signal; at once if one already came.
    fn watch(&self, vm: Vm) {
        *self.vm.lock().unwrap_or_else(PoisonError::into_inner) = Some(vm.clone());
        if self.received().is_some() {
            vm.kill();
        }
    }

    /// The signal received, if any.
    fn received(&self) -> Option<u8> {
        match self.signal.load(Ordering::SeqCst) {
            0 => None,
            sig => u8::try_from(sig).ok(),
        }
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        self.handle.close();
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
    /// its -append and -initrd in `dir`, then runs `body` with `$fd` = the console socket.
    fn run_fake_qemu(
        dir: &Path,
        body: &str,
        argv: &[&str],
        stdin: &'static [u8],
    ) -> (Result<u8, RunError>, Captured, Captured) {
        let script = format!(
            "#!/bin/bash\n\
             if [ \"$1\" = --probe ]; then exit 0; fi\n\
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
            catch_signals: false,
            exit_grace: Duration::from_millis(300),
        };
        (run(&args, b"fake kernel", host), stdout, stderr)
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
                "'console=framed' 'strace' 'env=A=b c' 'argv0={exe}' -- '/{name}' 'x' \
                 'it'\\''s' '--'"
            )
        );
        let initrd = std::fs::read(dir.path().join("initrd")).expect("initrd");
        assert!(initrd.starts_with(b"070701"));
        let name_at = 110;
        assert_eq!(
            &initrd[name_at..name_at + name.len() + 1],
            format!("{name}\0").as_bytes()
        );

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
        assert!(stderr.contains(" -M microvm -accel tcg "), "{stderr}");
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
