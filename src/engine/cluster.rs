//! A Ballista cluster of our own (feature `ballista`): Ballista 55's scheduler and
//! executor with patronage's codecs registered, so they can plan and run the plan nodes
//! phase 1 sends them (the Parquet scan that numbers rows on the executors). The
//! `patronage-scheduler` and `patronage-executor` binaries are thin command lines over
//! [`serve_scheduler`] and [`serve_executor`]; a client reaches such a cluster with
//! [`super::BallistaSettings::patronage_cluster`] (`--patronage-cluster`).
//!
//! The scheduler plans the scan, so it reads the files' Parquet footers; the executors
//! read the files: both at the paths the client gives, as with Ballista's own scans.

use std::sync::Arc;

use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;

use super::MemoryLimit;
use super::numbered::{PatronageLogicalCodec, PatronagePhysicalCodec};
use crate::error::{Error, Result};

/// Where a scheduler listens.
///
/// # Example
/// ```
/// use patronage::engine::cluster::SchedulerOptions;
/// let mut s = SchedulerOptions::default();
/// s.port = 50050;
/// assert_eq!(s.bind_host, "0.0.0.0");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SchedulerOptions {
    /// The address to listen on (default `0.0.0.0`: every interface).
    pub bind_host: String,
    /// The host name executors and clients reach this scheduler by (default: the
    /// machine's `localhost`).
    pub external_host: String,
    /// The gRPC port (default 50050, Ballista's).
    pub port: u16,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        SchedulerOptions {
            bind_host: "0.0.0.0".into(),
            external_host: "localhost".into(),
            port: 50050,
        }
    }
}

/// Serves a Ballista scheduler with patronage's codecs until the process ends.
///
/// # Errors
/// [`Error::InvalidOption`] (`scheduler.bind_host`) when the host and port are not an
/// address; [`Error::Ballista`] when the scheduler cannot start or its server stops
/// with an error (the port taken, say).
///
/// # Example
/// ```no_run
/// use patronage::engine::cluster::{SchedulerOptions, serve_scheduler};
/// let runtime = tokio::runtime::Runtime::new()?;
/// runtime.block_on(serve_scheduler(&SchedulerOptions::default()))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub async fn serve_scheduler(options: &SchedulerOptions) -> Result<()> {
    let address = format!("{}:{}", options.bind_host, options.port)
        .parse()
        .map_err(|e| {
            Error::invalid(
                "scheduler.bind_host",
                format!(
                    "`{}:{}` is not an address: {e}",
                    options.bind_host, options.port
                ),
            )
        })?;
    let config = SchedulerConfig {
        bind_host: options.bind_host.clone(),
        external_host: options.external_host.clone(),
        bind_port: options.port,
        override_logical_codec: Some(Arc::new(PatronageLogicalCodec::default())),
        override_physical_codec: Some(Arc::new(PatronagePhysicalCodec::default())),
        ..SchedulerConfig::default()
    };
    let failed = |e: &dyn std::fmt::Display| Error::Ballista {
        reason: format!("the scheduler on {address} stopped: {e}"),
    };
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| failed(&e))?;
    start_server(cluster, address, Arc::new(config))
        .await
        .map_err(|e| failed(&e))
}

/// How an executor runs: the scheduler it polls for tasks, where it serves its shuffle
/// files, its task slots, memory and work directory.
///
/// # Example
/// ```
/// use patronage::engine::cluster::ExecutorOptions;
/// let mut e = ExecutorOptions::default();
/// e.scheduler_host = "scheduler.internal".into();
/// e.memory_limit = Some("8GiB".parse()?);
/// assert_eq!(e.scheduler_port, 50050);
/// # Ok::<(), patronage::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ExecutorOptions {
    /// The scheduler's host (default `localhost`).
    pub scheduler_host: String,
    /// The scheduler's gRPC port (default 50050).
    pub scheduler_port: u16,
    /// The address the executor's Flight service listens on (default `0.0.0.0`).
    pub bind_host: String,
    /// The host name other executors and the client fetch shuffle files from; `None`:
    /// the address the scheduler sees.
    pub external_host: Option<String>,
    /// The Flight port for shuffle files (default 50051, Ballista's).
    pub port: u16,
    /// The executor's own gRPC port (default 50052, Ballista's).
    pub grpc_port: u16,
    /// Tasks run at once; `None`: the number of cores.
    pub task_slots: Option<usize>,
    /// The memory pool of the executor's sorts (above it they spill); `None`:
    /// Ballista's default share of the machine's memory.
    pub memory_limit: Option<MemoryLimit>,
    /// Shuffle and spill files; `None`: a directory Ballista makes.
    pub work_dir: Option<std::path::PathBuf>,
}

impl Default for ExecutorOptions {
    fn default() -> Self {
        ExecutorOptions {
            scheduler_host: "localhost".into(),
            scheduler_port: 50050,
            bind_host: "0.0.0.0".into(),
            external_host: None,
            port: 50051,
            grpc_port: 50052,
            task_slots: None,
            memory_limit: None,
            work_dir: None,
        }
    }
}

/// Runs a Ballista executor with patronage's codecs, polling the scheduler for tasks,
/// until the process ends.
///
/// # Errors
/// [`Error::InvalidOption`] (`executor.task_slots`) for zero slots; [`Error::Ballista`]
/// when the executor cannot start (the scheduler unreachable, a port taken) or stops
/// with an error.
///
/// # Example
/// ```no_run
/// use patronage::engine::cluster::{ExecutorOptions, serve_executor};
/// let runtime = tokio::runtime::Runtime::new()?;
/// runtime.block_on(serve_executor(&ExecutorOptions::default()))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub async fn serve_executor(options: &ExecutorOptions) -> Result<()> {
    if options.task_slots == Some(0) {
        return Err(Error::invalid("executor.task_slots", "must be at least 1"));
    }
    let mut config = ExecutorProcessConfig {
        bind_host: options.bind_host.clone(),
        external_host: options.external_host.clone(),
        port: options.port,
        grpc_port: options.grpc_port,
        scheduler_host: options.scheduler_host.clone(),
        scheduler_port: options.scheduler_port,
        work_dir: options
            .work_dir
            .as_ref()
            .map(|d| d.to_string_lossy().into_owned()),
        memory_pool_size: options.memory_limit.map(|m| m.bytes()),
        override_logical_codec: Some(Arc::new(PatronageLogicalCodec::default())),
        override_physical_codec: Some(Arc::new(PatronagePhysicalCodec::default())),
        ..ExecutorProcessConfig::default()
    };
    if let Some(slots) = options.task_slots {
        config.vcores = slots;
    }
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| Error::Ballista {
            reason: format!(
                "the executor of the scheduler at {}:{} stopped: {e}",
                options.scheduler_host, options.scheduler_port
            ),
        })
}
