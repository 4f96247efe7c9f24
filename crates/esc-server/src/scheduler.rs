//! The scheduler task of `esc serve`: every
//! [`crate::ServeConfig::schedule_interval`] it runs the rotation schedules
//! that are due ([`esc_service::Service::run_due_schedules`], at most
//! `schedules_per_tick` per tick, the rest on the next ticks). Servers
//! sharing one database each run this task; the store's claim makes each
//! firing run on exactly one of them. Stopped on graceful shutdown after
//! the tick in progress.

use std::time::Duration;

use esc_service::Service;
use esc_store::Timestamp;
use tokio::sync::oneshot;

/// Runs due schedules every `every` until `stop`.
pub(crate) async fn run_schedules(
    service: Service,
    every: Duration,
    per_tick: u32,
    stop: oneshot::Receiver<()>,
) {
    repeat(every, false, stop, || async {
        match service.run_due_schedules(Timestamp::now(), per_tick).await {
            Ok(runs) => {
                for run in runs {
                    tracing::info!(
                        schedule = %run.run.schedule_id,
                        environment = %run.environment,
                        revision = run.run.revision,
                        result = %run.run.result,
                        "scheduled rotation ran"
                    );
                }
            }
            Err(error) => tracing::error!(%error, "reading the due schedules failed"),
        }
    })
    .await;
}

/// Runs `work` every `every` (the first time at once, or after one
/// interval if `wait_first`) until `stop`; a call that runs late delays
/// the next rather than bunching them.
pub(crate) async fn repeat<Work, Done>(
    every: Duration,
    wait_first: bool,
    mut stop: oneshot::Receiver<()>,
    mut work: Work,
) where
    Work: FnMut() -> Done,
    Done: std::future::Future<Output = ()>,
{
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    if wait_first {
        // the first tick is immediate
        ticks.tick().await;
    }
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = ticks.tick() => {}
        }
        work().await;
    }
}
