//! chat-bench: the load generator of the chat room server.

mod accounts;
mod client;
mod config;
mod error;
mod modes;
mod report;
mod report_doc;
mod report_json;
mod report_perf;

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

use crate::config::{Cli, Command, Mode, Target};
use crate::error::BenchError;
use crate::report::{round3, ProcSample, Report};

fn main() -> ExitCode {
    let done = match Cli::parse().command {
        Command::Run(mode) => return run_mode(mode),
        Command::Report(args) => report_doc::run(&args),
        Command::PerfOwners => report_perf::run(),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One load run: the JSON line on stdout, the summary on stderr.
fn run_mode(mode: Mode) -> ExitCode {
    let common = mode.common();
    let mut report = Report {
        mode: mode.name(),
        label: common.label.clone(),
        url: common.url.clone(),
        threads: common.threads,
        loadavg_at_start: report::loadavg(),
        ..Report::default()
    };
    let started = Instant::now();
    let result = config::validate(&mode).and_then(|()| {
        raise_fd_limit();
        let runtime = if common.threads == 1 {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        } else {
            // Named apart from the server's `chat-worker`s in a machine-wide profile.
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(common.threads)
                .thread_name("bench-worker")
                .enable_all()
                .build()
        }
        .map_err(BenchError::Runtime)?;
        let deadline = mode.hard_deadline();
        runtime.block_on(async {
            match tokio::time::timeout(deadline, run(&mode, &mut report)).await {
                Ok(r) => r,
                Err(_) => Err(BenchError::Deadline(deadline)),
            }
        })
        // Dropping the runtime here ends whatever is left of the sockets.
    });
    report.elapsed_s = round3(started.elapsed().as_secs_f64());
    if let Some(own) = ProcSample::own() {
        report.bench_cpu_s = Some(round3(own.cpu_s));
        report.bench_rss_kb = Some(own.hwm_kb);
    }
    let code = match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report.ok = false;
            report.error = Some(e.to_string());
            ExitCode::from(2)
        }
    };
    eprintln!("{}", report.summary());
    println!("{}", report.json_line());
    code
}

async fn run(mode: &Mode, report: &mut Report) -> Result<(), BenchError> {
    let target = Target::resolve(mode.common()).await?;
    // Start the process clock before any message carries a send time.
    let _ = modes::now_us();
    match mode {
        Mode::Chat(a) => modes::chat::run(a, &target, report).await,
        Mode::Idle(a) => modes::idle::run(a, &target, report).await,
        Mode::Join(a) => modes::join::run(a, &target, report).await,
        Mode::Login(a) => modes::login::run(a, &target, report).await,
    }
}

/// Up to ten thousand sockets: lift the soft limit on open files to the hard one.
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls on a stack value.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}
