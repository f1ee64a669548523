//! A small supervisor in tokio (feature `tokio`): three workers run at
//! once; whichever ends first is restarted (`tokio::select!` over their
//! waits, which are cancel-safe); after a while all are stopped with
//! `SIGTERM`, and those still running after a grace period with `SIGKILL`.
//!
//! ```text
//! cargo run --release --features tokio --example async_supervisor
//! ```

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

use clonekit::{AsyncExecChild, Exec, Signal};
use tokio::time::{sleep, timeout_at, Instant};

/// How long the workers run and are restarted before the shutdown.
const RUN_FOR: Duration = Duration::from_millis(1500);
/// How long a worker has to end after `SIGTERM`.
const GRACE: Duration = Duration::from_millis(300);

/// The workers' shell scripts: a short job, a longer one that fails, and
/// one that ignores `SIGTERM` (ignored signals stay ignored across `exec`),
/// so that only `SIGKILL` stops it.
const WORKERS: [&str; 3] = ["sleep 0.2", "sleep 0.5; exit 3", "trap '' TERM; exec sleep 100"];

fn start(worker: usize) -> clonekit::Result<AsyncExecChild> {
    let child = Exec::new("sh").args(["-c", WORKERS[worker]]).spawn_async()?;
    // If the supervisor itself fails, no worker is left running.
    Ok(child.kill_on_drop(true))
}

/// How a worker ended, in words.
fn ended(status: &clonekit::Result<ExitStatus>) -> String {
    match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => format!("exited with {code}"),
            (_, Some(sig)) => format!("killed by {}", Signal::try_from(sig).map_or("?", Signal::as_str)),
            _ => format!("{status:?}"),
        },
        Err(err) => format!("could not be waited for: {err}"),
    }
}

/// This process's children, zombies included, from every thread's
/// `/proc` entry (a runtime's worker thread may have started them).
fn children() -> std::io::Result<String> {
    let mut all = String::new();
    for task in std::fs::read_dir("/proc/self/task")? {
        all += std::fs::read_to_string(task?.path().join("children"))?.trim();
    }
    Ok(all)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut workers = [start(0)?, start(1)?, start(2)?];
    let mut restarts = [0u32; 3];
    let shutdown = sleep(RUN_FOR);
    tokio::pin!(shutdown);
    loop {
        let [a, b, c] = &mut workers;
        // The waits not chosen are dropped: each is cancel-safe, and the
        // next round waits for those children again.
        let (worker, status) = tokio::select! {
            status = a.wait() => (0, status),
            status = b.wait() => (1, status),
            status = c.wait() => (2, status),
            () = &mut shutdown => break,
        };
        println!("worker {worker} {}; restarting it", ended(&status));
        workers[worker] = start(worker)?;
        restarts[worker] += 1;
    }

    println!("shutting down: SIGTERM to every worker, SIGKILL after {GRACE:?}");
    for worker in &mut workers {
        worker.signal(Signal::SIGTERM)?;
    }
    let mut statuses = Vec::new();
    let grace_ends = Instant::now() + GRACE;
    for (index, worker) in workers.iter_mut().enumerate() {
        let status = match timeout_at(grace_ends, worker.wait()).await {
            Ok(status) => status,
            Err(_) => {
                println!("worker {index} outlived the grace period");
                worker.kill().await?;
                worker.wait().await
            }
        };
        println!(
            "worker {index} {} (restarted {} times)",
            ended(&status),
            restarts[index]
        );
        statuses.push(status?);
    }

    // What CI checks: the short job was restarted, the worker that ignores
    // SIGTERM needed SIGKILL, and every child was reaped.
    assert!(restarts[0] > 0, "the short job was never restarted");
    assert_eq!(statuses[2].signal(), Some(libc::SIGKILL));
    assert_eq!(children()?, "", "children left");
    println!("all workers stopped, none left as a zombie");
    Ok(())
}
