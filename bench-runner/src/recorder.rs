//! The deploy lab's recorder: an open-loop HTTP/1.1 client that sends on a fixed schedule
//! whatever the answers do, and records every request, failures included: when it was due,
//! when it was sent, when its last byte (or its error) came, its status or the kind of
//! error, and which instance answered (`X-Instance`).
//!
//! oha keeps only successful requests in its per-request records, and a closed-loop
//! generator stops sending while answers stall, so neither can show when and how requests
//! were lost during a swap. goose was considered: it models users that wait for their
//! answers (a closed loop with throttling, not a schedule), and brings reqwest and a runtime
//! and CLI of its own. The recorder is hyper's client connection API on a tokio runtime of
//! its own, on a thread pinned to the client's CPUs.
//!
//! With keep-alive, a request takes an idle connection or opens a new one (never waits for
//! one: the schedule does not bend), and gives it back after a complete response. A pooled
//! connection the proxy has already closed is skipped, and a request hyper reports as never
//! written (canceled) is sent again on a new connection, as hyper-util's pool and browsers do:
//! neither reached the server, so neither is a lost request. Without keep-alive, every
//! request opens its own connection and says `Connection: close`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use bench_core::deploy::{ErrorKind, Instance, Outcome, RequestRecord};
use bench_core::plan::CpuSet;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// The response header that names the instance.
pub const INSTANCE_HEADER: &str = "x-instance";

/// What the recorder sends, to where, and how often.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub addr: SocketAddr,
    /// The request path, `/hello` or `/sleep/<ms>`.
    pub path: String,
    /// Requests per second.
    pub rate: f64,
    /// How long requests are sent for; in-flight ones are then awaited up to `timeout`.
    pub duration: Duration,
    pub keep_alive: bool,
    /// A request without a complete answer after this long is a timeout.
    pub timeout: Duration,
}

impl Schedule {
    /// How many requests the schedule sends: one every 1/rate from the origin, before the
    /// duration ends.
    pub fn requests(&self) -> u64 {
        (self.rate * self.duration.as_secs_f64()).ceil() as u64
    }

    fn due(&self, index: u64) -> Duration {
        Duration::from_secs_f64(index as f64 / self.rate)
    }
}

/// A recording under way on a thread of its own. Dropping it stops the schedule (a swap
/// that failed halfway, or Ctrl-C) and abandons the requests in flight.
#[derive(Debug)]
pub struct Recording {
    thread: Option<std::thread::JoinHandle<Result<Vec<RequestRecord>>>>,
    cancel: Arc<AtomicBool>,
}

impl Recording {
    /// Starts recording on a thread pinned to `cpus`, the first request due at `origin`.
    pub fn start(schedule: Schedule, cpus: &CpuSet, origin: Instant) -> Result<Recording> {
        let cpus = cpus.clone();
        let cancel = Arc::new(AtomicBool::new(false));
        let cancelled = Arc::clone(&cancel);
        let thread = std::thread::Builder::new()
            .name("recorder".to_owned())
            .spawn(move || {
                pin_to(&cpus)?;
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .context("could not start the recorder's runtime")?;
                runtime.block_on(record(schedule, origin, &cancelled))
            })
            .context("could not start the recorder's thread")?;
        Ok(Recording {
            thread: Some(thread),
            cancel,
        })
    }

    /// Waits for the schedule to end and every request to be answered or to time out; every
    /// request's record, in schedule order.
    pub async fn finish(mut self) -> Result<Vec<RequestRecord>> {
        let thread = self.thread.take().expect("a recording is finished once");
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .context("could not wait for the recorder")?
            .map_err(|_| anyhow!("the recorder's thread panicked"))?
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

/// Sends `schedule` on the calling runtime, from now: a quick check of a path.
pub async fn record_now(schedule: Schedule) -> Result<Vec<RequestRecord>> {
    record(schedule, Instant::now(), &AtomicBool::new(false)).await
}

fn pin_to(cpus: &CpuSet) -> Result<()> {
    let mut set = nix::sched::CpuSet::new();
    for &cpu in cpus.ids() {
        set.set(cpu as usize)
            .with_context(|| format!("CPU {cpu} is out of range"))?;
    }
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
        .with_context(|| format!("could not pin the recorder to CPUs {cpus}"))
}

type Pool = Arc<Mutex<Vec<SendRequest<Empty<Bytes>>>>>;

/// Sends the schedule's requests and collects their records.
async fn record(
    schedule: Schedule,
    origin: Instant,
    cancel: &AtomicBool,
) -> Result<Vec<RequestRecord>> {
    let schedule = Arc::new(schedule);
    let pool: Pool = Arc::default();
    let mut tasks = JoinSet::new();
    for index in 0..schedule.requests() {
        if cancel.load(Ordering::Relaxed) {
            return Ok(Vec::new());
        }
        let due = origin + schedule.due(index);
        tokio::time::sleep_until(due.into()).await;
        let (schedule, pool) = (Arc::clone(&schedule), Arc::clone(&pool));
        tasks.spawn(async move { one_request(&schedule, &pool, origin, due).await });
    }
    let mut records = Vec::with_capacity(schedule.requests() as usize);
    while let Some(record) = tasks.join_next().await {
        records.push(record.map_err(|err| anyhow!("a request task failed: {err}"))?);
    }
    records.sort_by_key(|record| record.scheduled_us);
    Ok(records)
}

fn micros(origin: Instant, at: Instant) -> u64 {
    at.saturating_duration_since(origin).as_micros() as u64
}

async fn one_request(
    schedule: &Schedule,
    pool: &Pool,
    origin: Instant,
    due: Instant,
) -> RequestRecord {
    let started = Instant::now();
    let (outcome, instance) =
        match tokio::time::timeout(schedule.timeout, exchange(schedule, pool)).await {
            Ok(answer) => answer,
            Err(_) => (Outcome::Error(ErrorKind::Timeout), None),
        };
    RequestRecord {
        scheduled_us: micros(origin, due),
        started_us: micros(origin, started),
        ended_us: micros(origin, Instant::now()),
        outcome,
        instance,
    }
}

/// One request from taking a connection to the response's last byte.
async fn exchange(schedule: &Schedule, pool: &Pool) -> (Outcome, Option<Instance>) {
    // A request hyper hands back unsent is sent once more, on a new connection.
    let mut fresh_only = false;
    loop {
        let mut sender = match connection(schedule, pool, fresh_only).await {
            Ok(sender) => sender,
            Err(kind) => return (Outcome::Error(kind), None),
        };
        let mut request = http::Request::get(schedule.path.as_str())
            .header(http::header::HOST, schedule.addr.to_string());
        if !schedule.keep_alive {
            request = request.header(http::header::CONNECTION, "close");
        }
        let request = request
            .body(Empty::<Bytes>::new())
            .expect("a GET with these headers is a valid request");
        let response = match sender.send_request(request).await {
            Ok(response) => response,
            Err(err) if err.is_canceled() && !fresh_only => {
                fresh_only = true;
                continue;
            }
            Err(err) => return (Outcome::Error(send_error_kind(&err)), None),
        };
        let status = response.status().as_u16();
        let instance = match response.headers().get(INSTANCE_HEADER) {
            Some(value) if value == "blue" => Some(Instance::Blue),
            Some(value) if value == "green" => Some(Instance::Green),
            _ => None,
        };
        let closes = response
            .headers()
            .get(http::header::CONNECTION)
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"close"));
        if response.into_body().collect().await.is_err() {
            return (Outcome::Error(ErrorKind::Cut), instance);
        }
        if schedule.keep_alive && !closes && !sender.is_closed() {
            pool.lock()
                .expect("the pool's lock is never poisoned")
                .push(sender);
        }
        return (Outcome::Status(status), instance);
    }
}

/// An idle pooled connection that is still open, or a new one.
async fn connection(
    schedule: &Schedule,
    pool: &Pool,
    fresh_only: bool,
) -> Result<SendRequest<Empty<Bytes>>, ErrorKind> {
    if schedule.keep_alive && !fresh_only {
        loop {
            let idle = pool
                .lock()
                .expect("the pool's lock is never poisoned")
                .pop();
            let Some(mut sender) = idle else { break };
            if !sender.is_closed() && sender.ready().await.is_ok() {
                return Ok(sender);
            }
        }
    }
    let stream = TcpStream::connect(schedule.addr)
        .await
        .map_err(|err| io_error_kind(&err))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|err| send_error_kind(&err))?;
    tokio::spawn(async move {
        // The connection's own errors reach the request that was using it.
        let _ = connection.await;
    });
    Ok(sender)
}

fn io_error_kind(err: &std::io::Error) -> ErrorKind {
    use std::io::ErrorKind as Io;
    match err.kind() {
        Io::ConnectionRefused => ErrorKind::Refused,
        Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe | Io::UnexpectedEof => {
            ErrorKind::Reset
        }
        Io::TimedOut => ErrorKind::Timeout,
        _ => ErrorKind::Other,
    }
}

/// A failed exchange before the response head: the connection closed under the request
/// (reset), or something else.
fn send_error_kind(err: &hyper::Error) -> ErrorKind {
    if err.is_incomplete_message() || err.is_canceled() || err.is_closed() {
        return ErrorKind::Reset;
    }
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        if let Some(io) = inner.downcast_ref::<std::io::Error>() {
            return io_error_kind(io);
        }
        source = inner.source();
    }
    ErrorKind::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_sends_rate_times_duration_requests() {
        let schedule = Schedule {
            addr: "127.0.0.1:1".parse().unwrap(),
            path: "/hello".to_owned(),
            rate: 1000.0,
            duration: Duration::from_millis(2500),
            keep_alive: true,
            timeout: Duration::from_secs(1),
        };
        assert_eq!(schedule.requests(), 2500);
        assert_eq!(schedule.due(1), Duration::from_millis(1));
        assert_eq!(schedule.due(2499), Duration::from_millis(2499));
        let odd = Schedule {
            rate: 3.0,
            duration: Duration::from_secs(1),
            ..schedule
        };
        // Due at 0, 1/3 and 2/3 s: all before the end.
        assert_eq!(odd.requests(), 3);
    }
}
