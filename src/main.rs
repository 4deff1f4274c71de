//! The `corridor` binary: parse arguments and hand off to the library.

use clap::Parser;
use corridor::cli::{self, Cli, CliError, Command};

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        None => open_app(Vec::new()),
        Some(Command::Gui { files }) => open_app(files),
        Some(Command::Check { files }) => cli::check(&files),
        Some(Command::Run(args)) => cli::run(&args),
        Some(Command::Compare(args)) => cli::compare(&args),
        Some(Command::Explain(args)) => cli::explain(&args),
        Some(Command::Sensitivity(args)) => cli::sensitivity(&args),
        Some(Command::Sweep(args)) => cli::sweep(&args),
        Some(Command::Set { file, assignments }) => cli::set(&file, &assignments),
    };
    if let Err(e) = result {
        match &e {
            CliError::Invalid(msg) if !msg.is_empty() => eprintln!("{msg}"),
            CliError::Invalid(_) => {}
            CliError::Failure(err) => eprintln!("error: {err:#}"),
        }
        std::process::exit(e.exit_code());
    }
}

#[cfg(feature = "gui")]
fn open_app(files: Vec<std::path::PathBuf>) -> Result<(), CliError> {
    corridor::app::run(files)
        .map_err(|e| CliError::Failure(anyhow::anyhow!("the app stopped: {e}")))
}

#[cfg(not(feature = "gui"))]
fn open_app(_files: Vec<std::path::PathBuf>) -> Result<(), CliError> {
    Err(CliError::Invalid(
        "error: this build has no desktop app (built without the `gui` feature); use check, run, compare or set".into(),
    ))
}
