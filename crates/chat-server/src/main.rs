//! chat-server: flags, logging, the runtime, then serve until SIGTERM.

// Logs go through tracing, never to stdout.
#![deny(clippy::print_stdout)]

use std::process::ExitCode;
use std::time::Duration;

use chat_server::{build, logging, serve, Config};
use clap::Parser;

/// Every socket is a descriptor: the soft limit (often 1,024) is raised to
/// the hard one at start, and both are logged.
fn raise_open_files_limit() {
    let (soft, hard) = match rlimit::getrlimit(rlimit::Resource::NOFILE) {
        Ok(limits) => limits,
        Err(e) => return tracing::warn!(error = %e, "cannot read the open files limit"),
    };
    match rlimit::increase_nofile_limit(hard) {
        Ok(now) => tracing::info!(soft = now, hard, was = soft, "open files limit"),
        Err(e) => tracing::warn!(soft, hard, error = %e, "cannot raise the open files limit"),
    }
}

/// After the shutdown signal, how long sockets and requests get to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let config = Config::parse();
    let mut runtime = match config.worker_threads {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    if let Some(n) = config.worker_threads.filter(|&n| n > 1) {
        runtime.worker_threads(usize::from(n));
    }
    match runtime.enable_all().build() {
        Ok(runtime) => runtime.block_on(run(config)),
        Err(e) => {
            eprintln!("chat-server: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> ExitCode {
    let _log_guard = match logging::init(config.storage.log_dir.as_deref()) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!(
                "chat-server: cannot write logs to {:?}: {e}",
                config.storage.log_dir
            );
            return ExitCode::FAILURE;
        }
    };
    raise_open_files_limit();
    let addr = format!("{}:{}", config.host, config.port);
    let app = match build(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(%addr, error = %e, "cannot listen");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(%addr, "chat-server listening");

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app, async move {
        let _ = stop_rx.await;
    }));
    shutdown_signal().await;
    let _ = stop_tx.send(());
    match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
        Ok(Ok(Ok(()))) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Ok(Ok(Err(e))) => {
            tracing::error!(error = %e, "server failed");
            ExitCode::FAILURE
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "server task failed");
            ExitCode::FAILURE
        }
        Err(_) => {
            tracing::warn!("connections still open after the grace period; stopping anyway");
            ExitCode::SUCCESS
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "SIGTERM handler unavailable");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
