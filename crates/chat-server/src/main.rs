//! chat-server: flags, logging, the runtime, then serve until SIGTERM.

// Logs go through tracing, never to stdout.
#![deny(clippy::print_stdout)]

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use chat_server::config::HealthcheckArgs;
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

/// `chat-server healthcheck`: one GET of /healthz over a plain blocking
/// socket (no runtime, no logging), exit 0 on a 200 status line.
fn healthcheck(args: HealthcheckArgs) -> ExitCode {
    match probe(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "chat-server healthcheck: http://{}:{}/healthz: {e}",
                args.host, args.port
            );
            ExitCode::FAILURE
        }
    }
}

/// A socket timeout reads "timed out" (a read timeout is EAGAIN on Linux).
fn io_error(e: std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => "timed out".into(),
        _ => e.to_string(),
    }
}

fn probe(args: &HealthcheckArgs) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(args.timeout_s);
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| "timed out".to_string())
    };
    let addr = (args.host.as_str(), args.port)
        .to_socket_addrs()
        .map_err(io_error)?
        .next()
        .ok_or("no address")?;
    let mut stream = TcpStream::connect_timeout(&addr, left()?).map_err(io_error)?;
    stream.set_write_timeout(Some(left()?)).map_err(io_error)?;
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: {}:{}\r\nConnection: close\r\n\r\n",
        args.host, args.port
    );
    stream.write_all(request.as_bytes()).map_err(io_error)?;
    let mut head = Vec::new();
    let mut buf = [0u8; 256];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 4096 {
        stream.set_read_timeout(Some(left()?)).map_err(io_error)?;
        match stream.read(&mut buf).map_err(io_error)? {
            0 => break,
            n => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let status = head.lines().next().unwrap_or("").trim();
    let mut parts = status.split(' ');
    match (parts.next(), parts.next()) {
        (Some(v), Some("200")) if v.starts_with("HTTP/1.") => Ok(()),
        _ if status.is_empty() => Err("no answer".into()),
        _ => Err(format!("answered {status:?}")),
    }
}

fn main() -> ExitCode {
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == "healthcheck")
    {
        let args = std::env::args_os().skip(2);
        return healthcheck(HealthcheckArgs::parse_from(
            std::iter::once("chat-server healthcheck".into()).chain(args),
        ));
    }
    let config = Config::parse();
    let mut runtime = match config.worker_threads {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    if let Some(n) = config.worker_threads.filter(|&n| n > 1) {
        runtime.worker_threads(usize::from(n));
    }
    // Named, so that top -H and a machine-wide perf tell them from other
    // tokio programs' threads (a load generator's, say).
    runtime.thread_name("chat-worker");
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
    let backlog = config.connections.listen_backlog;
    let app = match build(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    let listener = match chat_server::http_server::listen(&addr, backlog).await {
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
