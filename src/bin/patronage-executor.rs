//! `patronage-executor`: a Ballista 55 executor with patronage's plan nodes registered
//! (feature `ballista`), polling a `patronage-scheduler` for tasks. See
//! docs/guide/scale.md.

use clap::Parser;
use patronage::engine::cluster::{ExecutorOptions, serve_executor};

/// A Ballista executor for patronage's engine (Ballista 55, with patronage's plan
/// nodes), polling a patronage-scheduler for tasks. It reads the input files at the
/// paths the client gives.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The scheduler's host.
    #[arg(long, default_value = "localhost")]
    scheduler_host: String,
    /// The scheduler's gRPC port.
    #[arg(long, default_value_t = 50050)]
    scheduler_port: u16,
    /// Address the Flight service (shuffle files) listens on.
    #[arg(long, default_value = "0.0.0.0")]
    bind_host: String,
    /// Host name other executors and clients fetch shuffle files from (default: the
    /// address the scheduler sees).
    #[arg(long)]
    external_host: Option<String>,
    /// Flight port (shuffle files).
    #[arg(long, default_value_t = 50051)]
    port: u16,
    /// The executor's gRPC port.
    #[arg(long, default_value_t = 50052)]
    grpc_port: u16,
    /// Tasks run at once (default: the number of cores).
    #[arg(long, value_name = "N")]
    task_slots: Option<usize>,
    /// Memory pool of the sorts, e.g. 8GiB (above it they spill to --work-dir).
    #[arg(long, value_name = "SIZE")]
    memory_limit: Option<String>,
    /// Directory for shuffle and spill files (default: one Ballista makes).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<std::path::PathBuf>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("patronage-executor: error: {e}");
        std::process::ExitCode::FAILURE
    };
    let mut options = ExecutorOptions::default();
    options.scheduler_host = args.scheduler_host;
    options.scheduler_port = args.scheduler_port;
    options.bind_host = args.bind_host;
    options.external_host = args.external_host;
    options.port = args.port;
    options.grpc_port = args.grpc_port;
    options.task_slots = args.task_slots;
    options.work_dir = args.work_dir;
    match args.memory_limit.as_deref().map(str::parse).transpose() {
        Ok(limit) => options.memory_limit = limit,
        Err(patronage::Error::InvalidOption { reason, .. }) => {
            return fail(&format!("--memory-limit: {reason}"));
        }
        Err(e) => return fail(&e),
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    eprintln!(
        "patronage-executor: starting, scheduler {}:{}, shuffle files on port {}",
        options.scheduler_host, options.scheduler_port, options.port
    );
    match runtime.block_on(serve_executor(&options)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}
