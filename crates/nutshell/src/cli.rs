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
  125  nutshell, QEMU or the kernel failed;
  126  PROGRAM is not a runnable x86_64 ELF (or is a directory, or unreadable);
  127  PROGRAM was not found;
  130, 143  nutshell was interrupted (SIGINT, SIGTERM); QEMU is stopped.

The program sees argv[0] = PROGRAM as typed, the environment PATH, HOME, TERM plus every
--env, and runs as /<basename of PROGRAM> in the VM's root file system.

Environment:
  NUTSHELL_ACCEL  default for --accel (auto, tcg or kvm)
  PATH            where PROGRAM (without a slash) and qemu-system-x86_64 are looked up";

/// Arguments of `nutshell run`.
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

    /// Print one line per system call on stderr, like strace.
    #[arg(long)]
    pub strace: bool,

    /// Kernel log level (the kernel's messages go to stderr). debug and trace also show the
    /// QEMU command line and QEMU's own messages.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub log: Option<LogLevel>,

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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
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
        assert!(args.strace);
        assert_eq!(args.program(), "ls");
        assert_eq!(args.args(), ["-l", "--all", "--", "x"]);

        // nutshell's own options after PROGRAM belong to the program.
        let args = run_args(&[
            "nutshell", "run", "--env", "A=1", "prog", "--env", "X=1", "--strace", "--", "",
        ]);
        assert!(!args.strace);
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
}
