//! The `nutshell` command: parses the arguments and maps errors to exit statuses; the work is
//! done by the library (`src/lib.rs`).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use nutshell::cli::{Cli, Command};
use nutshell::run::{Host, RunError};
use nutshell::KERNEL_IMAGE;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli) {
        Ok(status) => ExitCode::from(status),
        Err(error) => {
            eprintln!("nutshell: {error:#}");
            // RunError knows its status (125, 126, 127); anything else is a plain failure.
            ExitCode::from(error.downcast_ref::<RunError>().map_or(1, RunError::status))
        }
    }
}

fn execute(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Run(args) => Ok(nutshell::run::run(&args, KERNEL_IMAGE, Host::real())?),
        Command::Debug(args) => Ok(nutshell::run::debug(&args, KERNEL_IMAGE, Host::real())?),
        Command::Kernel { output } => {
            write_kernel(&output)?;
            Ok(0)
        }
    }
}

/// `nutshell kernel -o FILE`.
fn write_kernel(output: &Path) -> anyhow::Result<()> {
    std::fs::write(output, KERNEL_IMAGE)
        .with_context(|| format!("cannot write the kernel image to {}", output.display()))
}
