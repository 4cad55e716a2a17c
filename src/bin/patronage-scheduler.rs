//! `patronage-scheduler`: a Ballista 55 scheduler with patronage's plan nodes registered
//! (feature `ballista`), the scheduler of a cluster that `patronage --engine ballista
//! --scheduler df://HOST:PORT --patronage-cluster` runs phase 1 on. See
//! docs/guide/scale.md.

use clap::Parser;
use patronage::engine::cluster::{SchedulerOptions, serve_scheduler};

/// A Ballista scheduler for patronage's engine (Ballista 55, with patronage's plan
/// nodes). Executors: patronage-executor. Clients: patronage --engine ballista
/// --scheduler df://HOST:PORT --patronage-cluster.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    bind_host: String,
    /// Host name executors and clients reach this scheduler by.
    #[arg(long, default_value = "localhost")]
    external_host: String,
    /// gRPC port.
    #[arg(long, default_value_t = 50050)]
    port: u16,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let mut options = SchedulerOptions::default();
    options.bind_host = args.bind_host;
    options.external_host = args.external_host;
    options.port = args.port;
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("patronage-scheduler: error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    eprintln!(
        "patronage-scheduler: starting on {}:{} (clients: --scheduler df://{}:{} --patronage-cluster)",
        options.bind_host, options.port, options.external_host, options.port
    );
    match runtime.block_on(serve_scheduler(&options)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("patronage-scheduler: error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
