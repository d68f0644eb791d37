//! Command-line arguments of `nutshell`, declared with clap's derive API.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Run unmodified Linux x86_64 programs as unikernels.
///
/// nutshell boots a tiny kernel in QEMU that loads your program and serves its Linux system
/// calls; the program's standard input, output and error are wired to nutshell's own, and
/// nutshell exits with the program's exit status.
#[derive(Debug, Parser)]
#[command(name = "nutshell", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a Linux x86_64 program in a fresh VM and exit with its status.
    #[command(
        after_long_help = RUN_AFTER_HELP,
        override_usage = "nutshell run [OPTIONS] [--] PROGRAM [ARGS]..."
    )]
    Run(RunArgs),
    /// Run a program under gdb: `run --gdb`, then gdb with the generated script.
    ///
    /// The VM starts paused; gdb connects, loads the kernel's and the program's symbols and
    /// runs to the program's entry point, so `break main` and `continue` work at once. The
    /// program's stdin is empty (gdb has the terminal).
    #[command(
        after_long_help = DEBUG_AFTER_HELP,
        override_usage = "nutshell debug [OPTIONS] [--] PROGRAM [ARGS]..."
    )]
    Debug(RunArgs),
    /// Write the embedded kernel image (an ELF with a PVH entry point) to a file.
    #[command(after_long_help = KERNEL_AFTER_HELP)]
    Kernel {
        /// Where to write the image.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: PathBuf,
    },
}

const KERNEL_AFTER_HELP: &str = "\
Boot it by hand, with the program as the initrd and the console on stdio:
  qemu-system-x86_64 -M microvm -accel tcg -cpu max -m 256M \\
    -nodefaults -no-reboot -display none -serial stdio \\
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \\
    -kernel FILE -initrd PROGRAM -append 'PROGRAM ARGS...'
QEMU then exits with 2*STATUS+1.";

const RUN_AFTER_HELP: &str = "\
Exit status:
  the program's exit status, or 128+N when it dies of signal N;
  125  nutshell, QEMU or the kernel failed (or --strict met an unimplemented syscall);
  126  PROGRAM is not a runnable x86_64 ELF (or is a directory, or unreadable);
  127  PROGRAM was not found.

Signals: SIGINT (Ctrl-C), SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to nutshell go to
the program (its handler, or the default action: Ctrl-C then ends it with status 130). A second
SIGINT or SIGTERM within 2 seconds stops the VM at once (status 128+N).

The program sees argv[0] = PROGRAM as typed, the environment PATH, HOME, TERM (the host's
TERM when set) plus every --env, and runs as /<basename of PROGRAM> in the VM's root file
system, or as PROGRAM inside --rootfs.

Environment:
  NUTSHELL_ACCEL  default for --accel (auto, tcg or kvm)
  PATH            where PROGRAM (without a slash), qemu-system-x86_64 and gdb are looked up";

const DEBUG_AFTER_HELP: &str = "\
Takes the options of `nutshell run` (--gdb=PORT picks the port, default 1234) and needs gdb
('apt-get install gdb'). nutshell exits with the program's status, or with gdb's when gdb
ends first (the VM is then stopped). Ctrl-C goes to gdb, which interrupts the program.";

/// Arguments of `nutshell run` (and `nutshell debug`).
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Guest memory: a number of bytes with an optional K, M, G or T suffix (binary units);
    /// a bare number means MiB, as for QEMU's -m.
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = parse_mem)]
    pub mem: MemSize,

    /// Add K=V to the program's environment (repeatable). PATH, HOME and TERM are set by
    /// default; --env overrides them.
    #[arg(long = "env", value_name = "K=V", value_parser = parse_env)]
    pub env: Vec<EnvVar>,

    /// Accelerator. auto means tcg for now: KVM is used only when asked for, because KVM
    /// under nested virtualisation often cannot run the kernel.
    #[arg(long, value_enum, value_name = "ACCEL", env = "NUTSHELL_ACCEL", default_value_t = Accel::Auto)]
    pub accel: Accel,

    /// QEMU machine type: microvm boots fastest; pc is the classic PC with SeaBIOS.
    #[arg(long, value_enum, value_name = "MACHINE", default_value_t = Machine::Microvm)]
    pub machine: Machine,

    /// Trace system calls, one strace-style line each, to stderr or to FILE (never to
    /// stdout).
    #[arg(long, value_name = "FILE", num_args = 0..=1, require_equals = true)]
    pub strace: Option<Option<PathBuf>>,

    /// At exit, a table of calls, errors and time per system call (like strace -c), on the
    /// kernel log.
    #[arg(long)]
    pub strace_summary: bool,

    /// End the program at its first system call that nutshell does not implement (status
    /// 125, with a message naming it) instead of returning ENOSYS.
    #[arg(long)]
    pub strict: bool,

    /// Kernel log level. debug and trace also show nutshell's own details: the QEMU command
    /// line and QEMU's messages.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub log: Option<LogLevel>,

    /// Write the kernel log (and nutshell's debug lines) to FILE instead of stderr.
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,

    /// Start the VM paused with QEMU's gdb server on 127.0.0.1:PORT (default 1234), load PIE
    /// programs at a fixed address, and write a gdb script (its path is printed) that
    /// connects, loads the kernel's, the program's and its libraries' symbols and runs to the
    /// program's entry point.
    #[arg(long, value_name = "PORT", num_args = 0..=1, require_equals = true)]
    pub gdb: Option<Option<u16>>,

    /// The root file system: a directory (packed as it is), a cpio (newc) archive, or a tar
    /// file (.tar, .tar.gz; e.g. from `docker export`). PROGRAM is then a path inside it (a
    /// name without a slash is looked up in the guest's PATH) and nothing from the host is
    /// added.
    #[arg(long, value_name = "DIR|FILE")]
    pub rootfs: Option<PathBuf>,

    /// The program's working directory in the VM (an absolute path).
    #[arg(long, value_name = "DIR", value_parser = parse_guest_dir)]
    pub workdir: Option<String>,

    /// Share the host directory HOSTDIR with the program as GUESTDIR (virtio-9p), read-write
    /// unless `:ro` is given (repeatable; --machine microvm only).
    #[arg(long = "volume", value_name = "HOSTDIR:GUESTDIR[:ro]", value_parser = parse_volume)]
    pub volumes: Vec<Volume>,

    /// The network: user (QEMU's user-mode NAT: no root needed; the guest is 10.0.2.15, the host's
    /// 127.0.0.1 is 10.0.2.2, DNS 10.0.2.3), none (no network device: only the guest's own
    /// loopback), or tap:IFNAME (an existing tap interface of this host; the guest asks DHCP for its
    /// address unless --ip is given).
    #[arg(long, value_name = "MODE", default_value = "user", value_parser = parse_net)]
    pub net: NetMode,

    /// Publish a guest port on the host, like docker: [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp], or
    /// ranges of equal length (8000-8009:8000-8009). HOSTIP defaults to every address of the host
    /// (0.0.0.0); give 127.0.0.1 to keep the port local. Repeatable; needs --net user.
    #[arg(short = 'p', long = "publish", value_name = "[HOSTIP:]HOSTPORT:GUESTPORT[/PROTO]", value_parser = parse_publish)]
    pub publish: Vec<Publish>,

    /// The guest's IPv4 address, prefix length and optional gateway (IP/PREFIX[,GATEWAY]) instead of
    /// the default (10.0.2.15/24,10.0.2.2 with --net user, DHCP with --net tap).
    #[arg(long, value_name = "IP/PREFIX[,GATEWAY]", value_parser = parse_ip_config)]
    pub ip: Option<String>,

    /// Also copy the host file or directory HOSTPATH into the VM at the same path, with the
    /// libraries of any program in it (for what a dynamic program opens at run time: plugins,
    /// dlopen'ed libraries, data). Repeatable; not with --rootfs.
    #[arg(long = "add", value_name = "HOSTPATH")]
    pub add: Vec<PathBuf>,

    /// Extra kernel options, passed before `--` (for debugging nutshell itself, e.g. `debug-panic`).
    #[arg(long = "kernel-opt", value_name = "OPTION", hide = true)]
    pub kernel_opts: Vec<String>,

    /// Extra QEMU arguments, appended (for debugging nutshell itself, e.g.
    /// `--qemu-arg=-object --qemu-arg=filter-dump,id=d0,netdev=n0,file=net.pcap`).
    #[arg(
        long = "qemu-arg",
        value_name = "ARG",
        hide = true,
        allow_hyphen_values = true
    )]
    pub qemu_args: Vec<OsString>,

    /// PROGRAM (a path on this host, or a name looked up in PATH) and its arguments: everything
    /// after PROGRAM goes to the program, options included.
    #[arg(
        value_names = ["PROGRAM", "ARGS"],
        required = true,
        num_args = 1..,
        trailing_var_arg = true
    )]
    pub command: Vec<OsString>,
}

impl RunArgs {
    /// PROGRAM as typed.
    pub fn program(&self) -> &OsStr {
        self.command
            .first()
            .map_or(OsStr::new(""), OsString::as_os_str)
    }

    /// The program's arguments.
    pub fn args(&self) -> &[OsString] {
        self.command.get(1..).unwrap_or_default()
    }

    /// Whether system calls are traced.
    pub fn tracing(&self) -> bool {
        self.strace.is_some()
    }

    /// `--strace=FILE`: the file the trace goes to (None: stderr).
    pub fn strace_file(&self) -> Option<&PathBuf> {
        self.strace.as_ref().and_then(Option::as_ref)
    }

    /// The gdb port when `--gdb` was given (1234 by default).
    pub fn gdb_port(&self) -> Option<u16> {
        self.gdb.map(|port| port.unwrap_or(DEFAULT_GDB_PORT))
    }
}

/// The port of `--gdb` without a value.
pub const DEFAULT_GDB_PORT: u16 = 1234;

/// One `--volume HOSTDIR:GUESTDIR[:ro]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// HOSTDIR as given.
    pub host: PathBuf,
    /// GUESTDIR: absolute, not `/`, no `:`.
    pub guest: String,
    /// `:ro`.
    pub readonly: bool,
}

/// `--net`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetMode {
    /// QEMU's user-mode network (slirp).
    User,
    /// No network device.
    None,
    /// An existing tap interface of the host.
    Tap(String),
}

/// `--net MODE`.
pub fn parse_net(text: &str) -> Result<NetMode, String> {
    match text {
        "user" => Ok(NetMode::User),
        "none" => Ok(NetMode::None),
        _ => {
            let name = text
                .strip_prefix("tap:")
                .ok_or_else(|| format!("{text:?}: expected user, none or tap:IFNAME"))?;
            let valid = !name.is_empty()
                && name.len() < 16
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
            if !valid {
                return Err(format!(
                    "{name:?} is not an interface name (1-15 letters, digits, '-', '_', '.')"
                ));
            }
            Ok(NetMode::Tap(name.to_owned()))
        }
    }
}

/// The transport of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

/// One `-p [HOSTIP:]HOSTPORT:GUESTPORT[/PROTO]` (a range is one entry with `count` ports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    /// HOSTIP, when given.
    pub host_ip: Option<std::net::IpAddr>,
    /// The first host port.
    pub host_port: u16,
    /// The first guest port.
    pub guest_port: u16,
    /// How many consecutive ports (1 unless a range was given).
    pub count: u16,
    pub proto: Proto,
}

/// `PORT` or `FIRST-LAST` (ports 1-65535) as (first, count).
fn parse_port_range(text: &str) -> Result<(u16, u16), String> {
    let port = |t: &str| match t.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("{t:?} is not a port number (1-65535)")),
    };
    match text.split_once('-') {
        None => Ok((port(text)?, 1)),
        Some((a, b)) => {
            let (a, b) = (port(a)?, port(b)?);
            if b < a {
                return Err(format!("{text:?}: the range ends before it starts"));
            }
            Ok((a, b - a + 1))
        }
    }
}

/// `-p [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp]`; HOSTIP may be an IPv6 address in brackets.
pub fn parse_publish(text: &str) -> Result<Publish, String> {
    let usage = || format!("{text:?} is not of the form [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp]");
    let (spec, proto) = match text.rsplit_once('/') {
        Some((spec, "tcp")) => (spec, Proto::Tcp),
        Some((spec, "udp")) => (spec, Proto::Udp),
        Some((_, other)) => return Err(format!("{other:?} is not a protocol (tcp or udp)")),
        None => (text, Proto::Tcp),
    };
    let (rest, guest) = spec.rsplit_once(':').ok_or_else(usage)?;
    let (host_ip, host) = match rest.rsplit_once(':') {
        None => (None, rest),
        Some((ip, host)) => {
            let ip_text = ip
                .strip_prefix('[')
                .and_then(|i| i.strip_suffix(']'))
                .unwrap_or(ip);
            let ip = ip_text
                .parse::<std::net::IpAddr>()
                .map_err(|_| format!("{ip_text:?} is not an IP address"))?;
            (Some(ip), host)
        }
    };
    if host.is_empty() || guest.is_empty() {
        return Err(usage());
    }
    let (host_port, count) = parse_port_range(host)?;
    let (guest_port, guest_count) = parse_port_range(guest)?;
    if count != guest_count {
        return Err(format!(
            "{text:?}: the host and guest port ranges differ in length"
        ));
    }
    if u32::from(guest_port) + u32::from(count) > 65536 {
        return Err(usage());
    }
    Ok(Publish {
        host_ip,
        host_port,
        guest_port,
        count,
        proto,
    })
}

/// `--ip IP/PREFIX[,GATEWAY]` (IPv4), checked and passed to the kernel as is.
pub fn parse_ip_config(text: &str) -> Result<String, String> {
    let usage = || {
        format!("{text:?} is not of the form IP/PREFIX[,GATEWAY], e.g. 192.168.7.2/24,192.168.7.1")
    };
    let (cidr, gw) = match text.split_once(',') {
        Some((c, g)) => (c, Some(g)),
        None => (text, None),
    };
    let (ip, prefix) = cidr.split_once('/').ok_or_else(usage)?;
    ip.parse::<std::net::Ipv4Addr>().map_err(|_| usage())?;
    match prefix.parse::<u8>() {
        Ok(p) if (1..=32).contains(&p) => {}
        _ => return Err(usage()),
    }
    if let Some(gw) = gw {
        gw.parse::<std::net::Ipv4Addr>().map_err(|_| usage())?;
    }
    Ok(text.to_owned())
}

/// `--accel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Accel {
    /// tcg for now (KVM only when asked for).
    Auto,
    /// QEMU's portable emulator.
    Tcg,
    /// Linux KVM (/dev/kvm).
    Kvm,
}

/// `--machine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Machine {
    /// QEMU's minimal machine, no firmware.
    Microvm,
    /// i440FX PC with SeaBIOS.
    Pc,
}

/// `--log`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Errors and warnings.
    Warn,
    /// The default.
    Info,
    /// More detail; also shows QEMU's command line and messages.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    /// The name used on the kernel command line (`log=NAME`).
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// A guest memory size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemSize(pub u64);

impl MemSize {
    /// The size in MiB, rounded up (what QEMU's `-m` is given).
    pub fn mib(self) -> u64 {
        self.0.div_ceil(1 << 20)
    }
}

impl fmt::Display for MemSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}M", self.mib())
    }
}

/// One `--env K=V`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    /// K: not empty, no `=`.
    pub key: String,
    /// V: anything, possibly empty.
    pub value: String,
}

/// Parse `--mem`: `N`, `NK`, `NM`, `NG`, `NT` (binary units, case-insensitive, an optional
/// trailing `B`/`iB` allowed); a bare number is MiB like QEMU's `-m`. At least 1 MiB.
pub fn parse_mem(text: &str) -> Result<MemSize, String> {
    let lower = text.trim().to_ascii_lowercase();
    let unit_part = lower.trim_end_matches("ib").trim_end_matches('b');
    let digits_end = unit_part
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(unit_part.len());
    let (digits, suffix) = unit_part.split_at(digits_end);
    let shift = match suffix {
        "" | "m" => 20,
        "k" => 10,
        "g" => 30,
        "t" => 40,
        _ => return Err(format!("unknown size suffix in {text:?}: use K, M, G or T")),
    };
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size such as 256M or 1G"))?;
    let bytes = number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))?;
    if bytes < 1 << 20 {
        return Err(format!("{text:?} is less than 1 MiB"));
    }
    Ok(MemSize(bytes))
}

/// Parse `--env K=V`: K must be non-empty.
pub fn parse_env(text: &str) -> Result<EnvVar, String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok(EnvVar {
            key: key.to_owned(),
            value: value.to_owned(),
        }),
        _ => Err(format!("{text:?} is not of the form K=V (K not empty)")),
    }
}

/// Parse a guest directory (`--workdir`): absolute, without NUL.
pub fn parse_guest_dir(text: &str) -> Result<String, String> {
    if !text.starts_with('/') {
        return Err(format!(
            "{text:?} is not an absolute path in the VM (it must start with /)"
        ));
    }
    Ok(text.to_owned())
}

/// Parse `--volume HOSTDIR:GUESTDIR[:ro]` (`:rw`, the default, is accepted too). The last
/// `:` before GUESTDIR separates the two, so HOSTDIR may contain colons and GUESTDIR may not.
pub fn parse_volume(text: &str) -> Result<Volume, String> {
    let usage = || format!("{text:?} is not of the form HOSTDIR:GUESTDIR or HOSTDIR:GUESTDIR:ro");
    let (rest, readonly) = if let Some(rest) = text.strip_suffix(":ro") {
        (rest, true)
    } else if let Some(rest) = text.strip_suffix(":rw") {
        (rest, false)
    } else {
        (text, false)
    };
    let (host, guest) = rest.rsplit_once(':').ok_or_else(usage)?;
    if host.is_empty() || guest.is_empty() {
        return Err(usage());
    }
    let guest = parse_guest_dir(guest)?;
    let trimmed = guest.trim_end_matches('/');
    if trimmed.is_empty() {
        return Err(format!(
            "{text:?}: a volume cannot be mounted on / (use --rootfs)"
        ));
    }
    Ok(Volume {
        host: PathBuf::from(host),
        guest: trimmed.to_owned(),
        readonly,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn publish_specs() {
        use std::net::IpAddr;
        let p = |t| parse_publish(t);
        assert_eq!(
            p("8080:80"),
            Ok(Publish {
                host_ip: None,
                host_port: 8080,
                guest_port: 80,
                count: 1,
                proto: Proto::Tcp
            })
        );
        assert_eq!(
            p("127.0.0.1:5353:53/udp"),
            Ok(Publish {
                host_ip: Some("127.0.0.1".parse::<IpAddr>().unwrap()),
                host_port: 5353,
                guest_port: 53,
                count: 1,
                proto: Proto::Udp
            })
        );
        assert_eq!(
            p("[::1]:8080:80/tcp").unwrap().host_ip,
            Some("::1".parse().unwrap())
        );
        let r = p("9000-9009:8000-8009").unwrap();
        assert_eq!((r.host_port, r.guest_port, r.count), (9000, 8000, 10));
        for bad in [
            "80",
            "0:80",
            "80:0",
            "80:65536",
            "x:80",
            "80:80/sctp",
            "1.2.3:80:80",
            "9000-9001:80",
            "9-8:9-8",
            ":80",
            "80:",
        ] {
            assert!(p(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn net_modes_and_ip() {
        assert_eq!(parse_net("user"), Ok(NetMode::User));
        assert_eq!(parse_net("none"), Ok(NetMode::None));
        assert_eq!(parse_net("tap:tap0"), Ok(NetMode::Tap("tap0".into())));
        for bad in [
            "tap:",
            "tap:a,b",
            "tap:waytoolonginterfacename",
            "bridge",
            "",
        ] {
            assert!(parse_net(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(
            parse_ip_config("192.168.7.2/24,192.168.7.1").as_deref(),
            Ok("192.168.7.2/24,192.168.7.1")
        );
        assert!(parse_ip_config("10.0.0.2/8").is_ok());
        for bad in [
            "10.0.0.2",
            "10.0.0.2/33",
            "10.0.0.2/0",
            "::1/64",
            "10.0.0.2/24,x",
        ] {
            assert!(parse_ip_config(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_mem("256M"), Ok(MemSize(256 << 20)));
        assert_eq!(parse_mem("256"), Ok(MemSize(256 << 20)));
        assert_eq!(parse_mem("1g"), Ok(MemSize(1 << 30)));
        assert_eq!(parse_mem("2GiB"), Ok(MemSize(2 << 30)));
        assert_eq!(parse_mem("4096K"), Ok(MemSize(4 << 20)));
        assert_eq!(parse_mem("1536k").map(MemSize::mib), Ok(2));
        assert!(parse_mem("").is_err());
        assert!(parse_mem("M").is_err());
        assert!(parse_mem("12X").is_err());
        assert!(parse_mem("-1M").is_err());
        assert!(parse_mem("512K").is_err());
        assert!(parse_mem("99999999999999T").is_err());
        assert_eq!(MemSize(256 << 20).to_string(), "256M");
    }

    #[test]
    fn env_vars() {
        assert_eq!(
            parse_env("A=b=c"),
            Ok(EnvVar {
                key: "A".into(),
                value: "b=c".into()
            })
        );
        assert_eq!(parse_env("A=").map(|e| e.value), Ok(String::new()));
        assert!(parse_env("=x").is_err());
        assert!(parse_env("A").is_err());
    }

    fn run_args(argv: &[&str]) -> RunArgs {
        match Cli::try_parse_from(argv) {
            Ok(Cli {
                command: Command::Run(args),
            }) => args,
            other => panic!("{argv:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn program_arguments_keep_their_dashes() {
        let args = run_args(&[
            "nutshell", "run", "--strace", "ls", "-l", "--all", "--", "x",
        ]);
        assert!(args.tracing());
        assert_eq!(args.strace_file(), None);
        assert_eq!(args.program(), "ls");
        assert_eq!(args.args(), ["-l", "--all", "--", "x"]);

        // nutshell's own options after PROGRAM belong to the program.
        let args = run_args(&[
            "nutshell", "run", "--env", "A=1", "prog", "--env", "X=1", "--strace", "--", "",
        ]);
        assert!(!args.tracing());
        assert_eq!(args.env.len(), 1);
        assert_eq!(args.program(), "prog");
        assert_eq!(args.args(), ["--env", "X=1", "--strace", "--", ""]);

        let args = run_args(&["nutshell", "run", "--", "--weird", "--mem", "1G"]);
        assert_eq!(args.program(), "--weird");
        assert_eq!(args.args(), ["--mem", "1G"]);
        assert_eq!(args.mem, MemSize(256 << 20));

        let args = run_args(&["nutshell", "run", "/bin/true"]);
        assert_eq!(args.program(), "/bin/true");
        assert!(args.args().is_empty());

        // A mistyped option is an error, not a program name.
        assert!(Cli::try_parse_from(["nutshell", "run", "--bogus", "prog"]).is_err());
    }

    #[test]
    fn run_options() {
        let args = run_args(&[
            "nutshell",
            "run",
            "--mem",
            "64M",
            "--env",
            "A=1",
            "--env",
            "B=2",
            "--accel",
            "tcg",
            "--machine",
            "pc",
            "--log",
            "debug",
            "/bin/true",
        ]);
        assert_eq!(args.mem, MemSize(64 << 20));
        assert_eq!(args.env.len(), 2);
        assert_eq!(args.accel, Accel::Tcg);
        assert_eq!(args.machine, Machine::Pc);
        assert_eq!(args.log, Some(LogLevel::Debug));
        assert!(args.args().is_empty());
        assert!(Cli::try_parse_from(["nutshell", "run"]).is_err());
        assert!(Cli::try_parse_from(["nutshell", "run", "--env", "=1", "x"]).is_err());
    }

    #[test]
    fn debugging_options() {
        let args = run_args(&[
            "nutshell",
            "run",
            "--strace=/tmp/t",
            "--strace-summary",
            "--strict",
            "--log=warn",
            "--log-file",
            "/tmp/log",
            "--gdb",
            "prog",
        ]);
        assert_eq!(args.strace_file(), Some(&PathBuf::from("/tmp/t")));
        assert!(args.strace_summary && args.strict);
        assert_eq!(args.log, Some(LogLevel::Warn));
        assert_eq!(args.log_file, Some(PathBuf::from("/tmp/log")));
        assert_eq!(args.gdb_port(), Some(DEFAULT_GDB_PORT));
        assert_eq!(args.program(), "prog");

        // Optional values need `=`: a separate word is PROGRAM.
        let args = run_args(&["nutshell", "run", "--gdb", "4000", "x"]);
        assert_eq!(args.gdb_port(), Some(1234));
        assert_eq!(args.program(), "4000");
        let args = run_args(&["nutshell", "run", "--gdb=4000", "--strace", "x"]);
        assert_eq!(args.gdb_port(), Some(4000));
        assert!(args.tracing() && args.strace_file().is_none());
        assert!(Cli::try_parse_from(["nutshell", "run", "--gdb=port", "x"]).is_err());

        match Cli::try_parse_from(["nutshell", "debug", "--mem", "64M", "prog", "a"]) {
            Ok(Cli {
                command: Command::Debug(args),
            }) => {
                assert_eq!(args.program(), "prog");
                assert_eq!(args.args(), ["a"]);
                assert_eq!(args.gdb_port(), None);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rootfs_workdir_and_volumes() {
        let args = run_args(&[
            "nutshell",
            "run",
            "--rootfs",
            "/srv/root.tar",
            "--workdir",
            "/app",
            "--volume",
            "/home/me/out:/out",
            "--volume",
            "/a:b:/in/:ro",
            "/bin/busybox",
            "ls",
        ]);
        assert_eq!(args.rootfs, Some(PathBuf::from("/srv/root.tar")));
        assert_eq!(args.workdir.as_deref(), Some("/app"));
        assert_eq!(
            args.volumes,
            [
                Volume {
                    host: "/home/me/out".into(),
                    guest: "/out".into(),
                    readonly: false
                },
                Volume {
                    host: "/a:b".into(),
                    guest: "/in".into(),
                    readonly: true
                }
            ]
        );
        assert_eq!(parse_volume("d:/x:rw").map(|v| v.readonly), Ok(false));
        for bad in ["nocolon", ":/x", "d:", "d:relative", "d:/", "d://:ro"] {
            assert!(parse_volume(bad).is_err(), "{bad}");
        }
        assert!(Cli::try_parse_from(["nutshell", "run", "--workdir", "rel", "x"]).is_err());
    }
}
