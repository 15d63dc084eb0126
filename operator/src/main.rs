//! The `ringcache-operator` binary: parses the command line and hands over to the library.

use clap::Parser;
use clap::error::ErrorKind;
use ringcache_operator::cli::{Cli, Command, OutputFormat};
use ringcache_operator::plan_report::PlanReport;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            match error.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = error.print();
                    return ExitCode::SUCCESS;
                }
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = error.print();
                    return ExitCode::from(2);
                }
                _ => {}
            }
            // clap's first paragraph names the flag and the problem; the rest is usage noise.
            let message = error.to_string();
            let first_paragraph: Vec<&str> = message
                .lines()
                .take_while(|line| !line.trim().is_empty())
                .map(str::trim)
                .collect();
            eprintln!("{} (see --help)", first_paragraph.join(" "));
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Plan(args) => {
            let report = PlanReport::compute(&args)?;
            match args.output {
                OutputFormat::Table => print!("{}", report.render_table()),
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
            }
            Ok(())
        }
        Command::Crd => {
            print!("{}", ringcache_operator::api::crd_yaml()?);
            Ok(())
        }
        Command::Run(args) => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "info,kube=warn".into()),
                )
                .init();
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(ringcache_operator::controller::run(args))?;
            Ok(())
        }
    }
}
