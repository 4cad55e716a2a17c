//! Phase 1 on Apache Ballista (feature `ballista`): the DataFusion engine's plan (the
//! used columns with global row numbers, sorted by (customer id, row number)) sent to a
//! Ballista scheduler, which splits it into stages and runs them on its executors;
//! the sorted stream comes back here, where it is cut at customer boundaries into blocks
//! and cleaned and aggregated by our own code, exactly as on DataFusion
//! (`super::datafusion::Blocks`). So the customer table, rejects and cleaning report are
//! the in-memory engine's.
//!
//! Without a scheduler address, a scheduler and the asked-for number of executors start
//! in this process, on 127.0.0.1 with ports the system picks, for the run: each executor
//! is Ballista's own (the same task loop and Flight service a cluster's executors run),
//! but with its shuffle files in a directory of ours under the spill directory, removed
//! when the run ends (Ballista's own in-process executor leaves them in the system's
//! temporary directory). They share one memory pool, the `memory_limit`.
//!
//! Row numbers: Ballista 55 serialises a Parquet scan without DataFusion's virtual
//! row-index column (`file_row_index()`; the executors fail with "Column index out of
//! bounds"). The in-process cluster reads Parquet where it is with our own scan, which
//! numbers the rows on the executors and travels in the plans through our codecs
//! (`super::numbered`). A cluster of Ballista's stock binaries (`--scheduler`) cannot
//! decode that scan, so for it the input is first staged here as one Parquet file with
//! its row numbers (`super::staging`) and the cluster reads that file. Text input is
//! staged either way, as on DataFusion.
//!
//! What runs where: the scan (and the numbering), the sort (with spilling on the
//! executors) and the shuffle between the executors; the cleaning and aggregation run
//! on this process, one block at a time, as they read the sorted stream.

use std::path::Path;
use std::sync::Arc;

use arrow_flight::flight_service_server::FlightServiceServer;
use ballista::prelude::{SessionConfigExt, SessionContextExt};
use ballista_core::serde::BallistaCodec;
use ballista_core::serde::protobuf::ExecutorRegistration;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_core::serde::scheduler::{
    ExecutorOperatingSystemSpecification, ExecutorSpecification,
};
use ballista_core::utils::{GrpcServerConfig, create_grpc_server};
use ballista_core::{BALLISTA_PROTOCOL_VERSION, ConfigProducer, RuntimeProducer};
use ballista_executor::execution_loop::poll_loop;
use ballista_executor::executor::Executor;
use ballista_executor::flight_service::BallistaFlightService;
use ballista_executor::health::ExecutorHealth;
use ballista_executor::metrics::LoggingMetricsCollector;
use datafusion::execution::{SessionState, SessionStateBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};

use super::datafusion::{
    Blocks, Input, Stage, checked_calibration_end, cores, phase_one_config, runtime, runtime_env,
};
use super::numbered::{PatronageLogicalCodec, PatronagePhysicalCodec};
use super::{BallistaSettings, EngineRun};
use crate::error::{Error, Result};
use crate::transactions::Transactions;
use crate::transactions::aggregate::{CohortPeriod, CustomerTable};
use crate::transactions::options::SummaryOptions;
use crate::transactions::partition::Keep;

/// How long to wait for the in-process scheduler to answer (it is listening when it is
/// returned; this covers a slow start of its server task).
const CONNECT_TRIES: usize = 100;
const CONNECT_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);

/// The customer table of `tx` on Ballista (see the module docs).
///
/// # Errors
/// As [`Transactions::customer_table`]; [`Error::InvalidOption`] (`engine.kind`) when
/// `tx` is read neither from Parquet files nor from delimited text;
/// [`Error::DataFusion`] when the plan fails (on an executor, say); [`Error::Ballista`]
/// when the scheduler given does not answer or the in-process cluster cannot start.
pub(crate) fn customer_table(
    tx: &Transactions,
    options: &SummaryOptions,
    cohorts: Option<CohortPeriod>,
    settings: &BallistaSettings,
    keep: Keep,
) -> Result<(CustomerTable, EngineRun)> {
    with_blocks(
        tx,
        options,
        cohorts,
        settings,
        keep,
        |cut, runtime, ctx, input| cut.table(runtime, ctx, input, "ballista"),
    )
}

/// `go` called with phase 1 set up on Ballista: the blocks' settings, the runtime, a
/// session on the cluster (reached, or started in this process and stopped after `go`)
/// and the input read (see the module docs).
///
/// # Errors
/// As [`customer_table`], and what `go` returns.
pub(super) fn with_blocks<R>(
    tx: &Transactions,
    options: &SummaryOptions,
    cohorts: Option<CohortPeriod>,
    settings: &BallistaSettings,
    keep: Keep,
    go: impl FnOnce(&Blocks<'_>, &tokio::runtime::Runtime, &SessionContext, Input) -> Result<R>,
) -> Result<R> {
    let cal = checked_calibration_end(tx, options)?;
    let partitions = settings.partitions.unwrap_or_else(cores);
    let runtime = runtime(partitions)?;
    // Ballista 55 drops the Parquet scan's row index when it sends the plan to the
    // executors. The in-process cluster (it shares this session's codecs) and a cluster
    // of our own binaries run our numbering scan; a cluster of Ballista's stock binaries
    // knows only its own plan nodes, so every input is staged with its row numbers.
    let stage = if settings.scheduler.is_none() || settings.patronage_cluster {
        Stage::TextNumberedScan
    } else {
        Stage::All
    };
    let input = Input::read(tx, &runtime, settings.spill_dir.as_deref(), stage)?;
    let config = phase_one_config(
        SessionConfig::new_with_ballista()
            .with_ballista_logical_extension_codec(Arc::new(PatronageLogicalCodec::default()))
            .with_ballista_physical_extension_codec(Arc::new(PatronagePhysicalCodec::default())),
        partitions,
        settings.memory_limit,
    );
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime_env(
            settings.memory_limit,
            settings.spill_dir.as_deref(),
        )?)
        .with_default_features()
        .build();
    let (cluster, url) = match &settings.scheduler {
        Some(url) => {
            runtime.block_on(reach(url))?;
            (None, url.clone())
        }
        None => {
            let cluster = runtime.block_on(Cluster::start(
                &state,
                settings.executors,
                partitions.div_ceil(settings.executors).max(1),
                settings.spill_dir.as_deref(),
            ))?;
            let url = format!("df://localhost:{}", cluster.port);
            (Some(cluster), url)
        }
    };
    let result = runtime
        .block_on(SessionContext::remote_with_state(&url, state))
        .map_err(Error::from)
        .and_then(|ctx| {
            let cut = Blocks {
                tx,
                options,
                cal,
                cohorts,
                keep,
                block_rows: settings.block_rows,
            };
            go(&cut, &runtime, &ctx, input)
        })
        .map_err(|e| not_ours(e, settings));
    // The in-process scheduler and executors are tasks of this runtime: they stop with
    // it, and only then are their shuffle files removed.
    drop(runtime);
    drop(cluster);
    result
}

/// `e`, or when a cluster said to be ours could not read the plan (a stock
/// `ballista-scheduler` has no codec for our scan), an [`Error::Ballista`] saying so.
fn not_ours(e: Error, settings: &BallistaSettings) -> Error {
    let (Some(url), true) = (&settings.scheduler, settings.patronage_cluster) else {
        return e;
    };
    let text = e.to_string();
    if !text.contains("Could not parse plan") {
        return e;
    }
    Error::Ballista {
        reason: format!(
            "the scheduler at {url} could not read patronage's plan, so it is not patronage-scheduler ({text}); run patronage-scheduler and patronage-executor there, or leave out --patronage-cluster for a cluster of Ballista's own binaries"
        ),
    }
}

/// A scheduler and executors running as tasks of this process's runtime.
struct Cluster {
    /// The scheduler's port on localhost.
    port: u16,
    /// The executors' work directories (shuffle files), removed on drop.
    _work: tempfile::TempDir,
}

impl Cluster {
    /// Starts a scheduler and `executors` executors of `vcores` task slots each, planning
    /// and running with `state`'s configuration, memory pool and functions.
    ///
    /// # Errors
    /// [`Error::Io`] when the work directory cannot be made; [`Error::Ballista`] when the
    /// scheduler or an executor cannot start or the scheduler does not answer.
    async fn start(
        state: &SessionState,
        executors: usize,
        vcores: usize,
        dir: Option<&Path>,
    ) -> Result<Cluster> {
        let dir = dir.map_or_else(std::env::temp_dir, Path::to_path_buf);
        let work = tempfile::Builder::new()
            .prefix("patronage-ballista-")
            .tempdir_in(&dir)
            .map_err(|source| Error::Io {
                path: dir.clone(),
                source,
            })?;
        let addr = ballista_scheduler::standalone::new_standalone_scheduler_from_state(state)
            .await
            .map_err(|e| Error::Ballista {
                reason: format!("the in-process scheduler did not start: {e}"),
            })?;
        let url = format!("http://localhost:{}", addr.port());
        for i in 0..executors {
            let scheduler = connect(&url).await?;
            let work_dir = work.path().join(format!("executor-{i}"));
            std::fs::create_dir_all(&work_dir).map_err(|source| Error::Io {
                path: work_dir.clone(),
                source,
            })?;
            start_executor(scheduler, vcores, state, &work_dir).await?;
        }
        Ok(Cluster {
            port: addr.port(),
            _work: work,
        })
    }
}

/// How long a running scheduler has to accept a connection.
const REACH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Checks that a scheduler answers at `url` (`df://HOST:PORT`), so that an address with
/// nothing behind it is named as such rather than surfacing as a transport error from
/// inside the plan.
///
/// # Errors
/// [`Error::Ballista`] when no scheduler accepts a connection within [`REACH_TIMEOUT`].
async fn reach(url: &str) -> Result<()> {
    let http = format!("http://{}", url.trim_start_matches("df://"));
    let failed = |why: String| {
        Err(Error::Ballista {
            reason: format!(
                "no scheduler answered at {url} ({why}); start one (ballista-scheduler) or leave out --scheduler to run executors in this process"
            ),
        })
    };
    match tokio::time::timeout(REACH_TIMEOUT, SchedulerGrpcClient::connect(http)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => failed(causes(&e)),
        Err(_) => failed(format!("no answer in {} s", REACH_TIMEOUT.as_secs())),
    }
}

/// `e` and its sources, outermost first ("tcp connect error: Connection refused").
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut last = text.clone();
    let mut source = e.source();
    while let Some(s) = source {
        // tonic wraps an error in one that says the same again.
        let said = s.to_string();
        if said != last {
            text.push_str(": ");
            text.push_str(&said);
        }
        last = said;
        source = s.source();
    }
    text
}

/// A client of the scheduler at `url`, retried while its server task starts.
async fn connect(url: &str) -> Result<SchedulerGrpcClient<tonic::transport::Channel>> {
    let mut last = None;
    for _ in 0..CONNECT_TRIES {
        match SchedulerGrpcClient::connect(url.to_string()).await {
            Ok(client) => return Ok(client),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(CONNECT_PAUSE).await;
    }
    Err(Error::Ballista {
        reason: format!(
            "the in-process scheduler at {url} did not answer: {}",
            last.map_or_else(String::new, |e| causes(&e))
        ),
    })
}

/// Starts one executor polling `scheduler` for tasks: Ballista's executor with its
/// Flight service on a port the system picks, its shuffle files in `work_dir`, and
/// `state`'s codecs, configuration, memory pool and functions (what Ballista's own
/// in-process executor does, but in a directory we remove).
///
/// # Errors
/// [`Error::Io`] when the Flight port cannot be bound.
async fn start_executor(
    scheduler: SchedulerGrpcClient<tonic::transport::Channel>,
    vcores: usize,
    state: &SessionState,
    work_dir: &Path,
) -> Result<()> {
    let codec: BallistaCodec = BallistaCodec::new(
        state.config().ballista_logical_extension_codec(),
        state.config().ballista_physical_extension_codec(),
    );
    let config = state.config().clone().upgrade_for_ballista();
    let max_message = config.ballista_grpc_client_max_message_size();
    let env = state.runtime_env().clone();
    let config_producer: ConfigProducer = Arc::new(move || config.clone());
    let runtime_producer: RuntimeProducer = Arc::new(move |_| Ok(env.clone()));

    let io = |source| Error::Io {
        path: work_dir.to_path_buf(),
        source,
    };
    let listener = tokio::net::TcpListener::bind("localhost:0")
        .await
        .map_err(io)?;
    let port = listener.local_addr().map_err(io)?.port();
    let metadata = ExecutorRegistration {
        id: ballista_core::ids::new_instance_id(),
        host: Some("localhost".to_string()),
        port: u32::from(port),
        // Ballista's in-process executor declares this too; nothing listens on it, as
        // the scheduler pulls no task status from an executor polling for work.
        grpc_port: 50020,
        specification: Some(
            ExecutorSpecification::default()
                .with_vcores(u32::try_from(vcores).unwrap_or(u32::MAX))
                .into(),
        ),
        os_info: Some(ExecutorOperatingSystemSpecification::default().into()),
        ballista_protocol_version: BALLISTA_PROTOCOL_VERSION,
    };
    let work = work_dir.to_string_lossy().into_owned();
    let executor = Arc::new(Executor::with_default_execution_engine(
        metadata,
        &work,
        runtime_producer,
        config_producer,
        Arc::new(state.into()),
        Arc::new(LoggingMetricsCollector::default()),
        vcores,
    ));
    let flight = FlightServiceServer::new(BallistaFlightService::new(work))
        .max_decoding_message_size(max_message)
        .max_encoding_message_size(max_message);
    tokio::spawn(
        create_grpc_server(&GrpcServerConfig::default())
            .add_service(flight)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    tokio::spawn(poll_loop(
        scheduler,
        executor,
        codec,
        None,
        None,
        ExecutorHealth::new(),
    ));
    Ok(())
}
