//! The deploy lab's pure side: what a swap is, what the recorder saw of every request, and
//! what a swap cost (requests lost, the longest gap, time to last byte, pinning to the old
//! instance, how long it took to exit). The runner drives nginx, the instances and the
//! recorder; this module only computes and writes.
//!
//! - the types of `deploy.json` ([`DeployResults`], the output contract of
//!   `bench-runner deploy`), the settings' validation and their one expansion into
//!   [`Swap`]s ([`DeploySettings::swaps`], its order pinned by a test);
//! - [`analyse`]: every [`RequestRecord`] of a swap and its [`SwapEvents`] in, a
//!   [`SwapReport`] out;
//! - [`deploy_markdown`], [`deploy_csv`] and [`deploy_json`]: the exporters, snapshot-tested.
//!   The timeline chart of a swap is [`crate::charts::deploy_timeline`], written to
//!   [`chart_file`].

mod analyse;
mod export;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::catalog::{Backend, Base, Framework};
use crate::plan::Endpoint;
use crate::results::Provenance;
use crate::units::format_duration;

pub use self::analyse::analyse;
pub use self::export::{DEPLOY_CSV_COLUMNS, deploy_csv, deploy_json, deploy_markdown};

/// The sample deploy run of the exporters' snapshots, for other modules' tests.
#[cfg(test)]
pub(crate) use self::export::tests::sample;

/// The version of `deploy.json`'s format, written in every one as `format`. Fields are
/// added, never renamed; a change that breaks readers bumps it.
pub const FORMAT: u32 = 1;

/// The width of a [`Bucket`], ms: each request counts in the slice of its scheduled time.
pub const BUCKET_MS: u64 = 100;

/// How the new instance (green) replaces the old one (blue) behind the proxy.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Green starts and answers `/hello`; the upstream switches to green and nginx reloads;
    /// blue gets SIGTERM after the drain time.
    BlueGreen,
    /// Green joins the upstream beside blue; after the drain time blue leaves the upstream
    /// and gets SIGTERM at the same moment, as an orchestrator removing an endpoint does.
    Rolling,
    /// SIGTERM to blue, then green starts on blue's port; the proxy is never told. The
    /// baseline that loses requests.
    Naive,
}

impl Strategy {
    pub const ALL: [Strategy; 3] = [Strategy::BlueGreen, Strategy::Rolling, Strategy::Naive];

    /// `blue-green`, `rolling`, `naive`.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::BlueGreen => "blue-green",
            Strategy::Rolling => "rolling",
            Strategy::Naive => "naive",
        }
    }

    /// What the strategy does, in a sentence, for the outputs.
    pub fn summary(self) -> &'static str {
        match self {
            Strategy::BlueGreen => {
                "green starts and answers /hello, the upstream switches to green and nginx reloads, blue gets SIGTERM after the drain time"
            }
            Strategy::Rolling => {
                "green joins the upstream beside blue, both serve for the drain time, then blue leaves the upstream and gets SIGTERM at the same moment"
            }
            Strategy::Naive => {
                "blue gets SIGTERM, then green starts on blue's port and nginx is never told: the baseline that loses requests"
            }
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One swap of the deploy matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Swap {
    pub framework: Framework,
    pub strategy: Strategy,
    /// Whether the client keeps its connections to nginx open between requests (else each
    /// request has a connection of its own and says `Connection: close`).
    pub client_keep_alive: bool,
    /// Whether nginx keeps its connections to the instances open (`keepalive` in the
    /// upstream, HTTP/1.1 to it), else one upstream connection per request (nginx's default).
    pub upstream_keep_alive: bool,
}

impl Swap {
    /// `axum/blue-green/client-keepalive/upstream-close`: unique in a run, used for file names
    /// with `/` replaced by `_`.
    pub fn id(&self) -> String {
        format!(
            "{}/{}/client-{}/upstream-{}",
            self.framework.name(),
            self.strategy,
            keep_alive_word(self.client_keep_alive),
            keep_alive_word(self.upstream_keep_alive),
        )
    }
}

fn keep_alive_word(on: bool) -> &'static str {
    if on { "keepalive" } else { "close" }
}

/// Where the runner writes a swap's timeline chart, relative to the deploy run's directory
/// (and so to `deploy.md`): `charts/axum_blue-green_client-keepalive_upstream-close.svg`.
pub fn chart_file(swap: &Swap) -> String {
    format!("charts/{}.svg", swap.id().replace('/', "_"))
}

/// The settings of a deploy run, as recorded in `deploy.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeploySettings {
    pub frameworks: Vec<Framework>,
    pub strategies: Vec<Strategy>,
    pub client_keep_alive: Vec<bool>,
    pub upstream_keep_alive: Vec<bool>,
    /// The fixed arrival rate through the proxy, requests per second.
    pub rate: f64,
    /// How long the load runs, the whole swap included, in milliseconds.
    pub duration_ms: u64,
    /// When the swap begins, after the load started, in milliseconds.
    pub swap_at_ms: u64,
    /// Blue-green: how long blue keeps running after the switch before SIGTERM. Rolling: how
    /// long blue and green serve together before blue leaves.
    pub drain_ms: u64,
    /// The services' `SHUTDOWN_GRACE_MS`.
    pub grace_ms: u64,
    /// A request that has no answer after this long is a timeout.
    pub timeout_ms: u64,
    pub endpoint: Endpoint,
    pub backend: Backend,
    pub base: Base,
    /// CPU quota of each instance, vCPUs (containers only).
    pub vcpus: f64,
    pub server_cpus: String,
    pub client_cpus: String,
}

/// A deploy setting that cannot be measured, named by its flag.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid --{flag}: {message}")]
pub struct InvalidDeploySetting {
    /// The flag without its dashes: `rate`, `swap-at`, ….
    pub flag: &'static str,
    /// What is wrong and what to give instead.
    pub message: String,
}

impl InvalidDeploySetting {
    fn new(flag: &'static str, message: String) -> InvalidDeploySetting {
        InvalidDeploySetting { flag, message }
    }
}

impl DeploySettings {
    /// The one expansion of the settings: framework × strategy × client keep-alive ×
    /// upstream keep-alive, frameworks outermost, each list in the order given.
    pub fn swaps(&self) -> Vec<Swap> {
        let mut swaps = Vec::new();
        for &framework in &self.frameworks {
            for &strategy in &self.strategies {
                for &client_keep_alive in &self.client_keep_alive {
                    for &upstream_keep_alive in &self.upstream_keep_alive {
                        swaps.push(Swap {
                            framework,
                            strategy,
                            client_keep_alive,
                            upstream_keep_alive,
                        });
                    }
                }
            }
        }
        swaps
    }

    /// The load, as a [`Duration`].
    pub fn duration(&self) -> Duration {
        Duration::from_millis(self.duration_ms)
    }

    /// Checks the settings before anything starts; the error names the flag at fault.
    pub fn validate(&self) -> Result<(), InvalidDeploySetting> {
        non_empty("frameworks", &self.frameworks)?;
        no_duplicates("frameworks", &self.frameworks)?;
        non_empty("strategies", &self.strategies)?;
        no_duplicates("strategies", &self.strategies)?;
        non_empty("client-keep-alive", &self.client_keep_alive)?;
        no_duplicates("client-keep-alive", &self.client_keep_alive)?;
        non_empty("upstream-keep-alive", &self.upstream_keep_alive)?;
        no_duplicates("upstream-keep-alive", &self.upstream_keep_alive)?;
        if self.backend == Backend::Ecs {
            return Err(InvalidDeploySetting::new(
                "backend",
                "ecs runs Fargate tasks, but deploy runs its instances on this machine behind its nginx: use docker or process".to_owned(),
            ));
        }
        if !(self.rate.is_finite() && self.rate > 0.0) {
            return Err(InvalidDeploySetting::new(
                "rate",
                format!(
                    "{} req/s is not a rate: give a positive number of requests per second",
                    self.rate
                ),
            ));
        }
        if self.swap_at_ms == 0 {
            return Err(InvalidDeploySetting::new(
                "swap-at",
                "the swap must begin after the load does, so that blue is seen serving first: give more than 0ms".to_owned(),
            ));
        }
        if self.timeout_ms == 0 {
            return Err(InvalidDeploySetting::new(
                "timeout",
                "a timeout of 0ms fails every request: give more than 0ms".to_owned(),
            ));
        }
        let needed = self
            .swap_at_ms
            .saturating_add(self.drain_ms)
            .saturating_add(self.grace_ms)
            .saturating_add(1000);
        if self.duration_ms <= needed {
            let text = |ms: u64| format_duration(Duration::from_millis(ms));
            return Err(InvalidDeploySetting::new(
                "duration",
                format!(
                    "{} is too short: the swap must finish inside the load, and it may last until swap-at {} + drain {} + grace {}, plus 1s to see green serve alone; give more than {}",
                    text(self.duration_ms),
                    text(self.swap_at_ms),
                    text(self.drain_ms),
                    text(self.grace_ms),
                    text(needed),
                ),
            ));
        }
        Ok(())
    }
}

fn non_empty<T>(flag: &'static str, values: &[T]) -> Result<(), InvalidDeploySetting> {
    if values.is_empty() {
        return Err(InvalidDeploySetting::new(
            flag,
            "the list is empty: give at least one value".to_owned(),
        ));
    }
    Ok(())
}

fn no_duplicates<T: PartialEq + fmt::Display>(
    flag: &'static str,
    values: &[T],
) -> Result<(), InvalidDeploySetting> {
    for (i, value) in values.iter().enumerate() {
        if values[..i].contains(value) {
            return Err(InvalidDeploySetting::new(
                flag,
                format!("{value} is listed twice"),
            ));
        }
    }
    Ok(())
}

/// Which instance answered, from the `X-Instance` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Instance {
    Blue,
    Green,
}

/// Why a request got no HTTP response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The connection to the proxy was refused.
    Refused,
    /// The connection was reset or closed before a response head arrived (a keep-alive
    /// connection the proxy closed, at a reload for instance).
    Reset,
    /// The response head arrived but the body was cut off: the request was cut mid-flight.
    Cut,
    /// No complete answer within the timeout.
    Timeout,
    /// Any other error.
    Other,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 5] = [
        ErrorKind::Refused,
        ErrorKind::Reset,
        ErrorKind::Cut,
        ErrorKind::Timeout,
        ErrorKind::Other,
    ];

    /// `refused`, `reset`, `cut`, `timeout`, `other`: as in JSON, and the failure key.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Refused => "refused",
            ErrorKind::Reset => "reset",
            ErrorKind::Cut => "cut",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Other => "other",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What became of one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// A complete response with this status (2xx from an instance, or a 5xx from the proxy).
    Status(u16),
    Error(ErrorKind),
}

impl Outcome {
    /// A 2xx response: the only success.
    pub fn is_success(self) -> bool {
        matches!(self, Outcome::Status(200..=299))
    }

    /// The key a failure is counted under, in [`Bucket::failed`] and
    /// [`SwapReport::failures`]: the error's name (`refused`, `reset`, `cut`, `timeout`,
    /// `other`) or `http-<status>` for a status other than 2xx; `None` for a 2xx.
    pub fn failure_key(self) -> Option<String> {
        match self {
            Outcome::Status(200..=299) => None,
            Outcome::Status(status) => Some(format!("http-{status}")),
            Outcome::Error(kind) => Some(kind.name().to_owned()),
        }
    }
}

/// One request as the recorder saw it. Times are microseconds since the load's origin (the
/// first request's scheduled time) on the monotonic clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// When the schedule said to send it.
    pub scheduled_us: u64,
    /// When it was sent (the connection taken or opened).
    pub started_us: u64,
    /// When its last byte arrived, or the error was seen.
    pub ended_us: u64,
    pub outcome: Outcome,
    /// `X-Instance` of the response, if any (nginx's own 5xx have none).
    pub instance: Option<Instance>,
}

/// What the runner did during a swap and when, in microseconds on the recorder's clock.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SwapEvents {
    /// Green answered `/hello` (it was started just before).
    pub green_ready_us: Option<u64>,
    /// From this moment the proxy sends no new request to blue: the reload that took blue
    /// out of the upstream finished (blue-green, rolling), or blue got SIGTERM (naive).
    pub switch_us: Option<u64>,
    /// Blue got SIGTERM.
    pub sigterm_us: Option<u64>,
    /// Blue's process was gone.
    pub blue_exited_us: Option<u64>,
    /// Whether blue had to be killed after its grace period.
    pub blue_killed: bool,
    /// Every nginx reload, when it finished.
    pub reloads_us: Vec<u64>,
}

/// One 100 ms slice of a swap, by scheduled time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub start_ms: u64,
    pub blue: u64,
    pub green: u64,
    /// 2xx without an instance header (none expected; counted so nothing vanishes).
    pub unattributed: u64,
    /// Failures by kind: `refused`, `reset`, `cut`, `timeout`, `other`, `http-502`, …
    pub failed: BTreeMap<String, u64>,
    /// Time to last byte of the requests with a complete response (any status), ms.
    pub ttlb: Option<Ttlb>,
}

/// Time-to-last-byte percentiles, milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ttlb {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// What one swap cost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SwapReport {
    pub target_rate: f64,
    /// Requests sent ÷ the load's duration.
    pub achieved_rate: f64,
    pub sent: u64,
    /// 2xx responses.
    pub ok: u64,
    /// sent − ok: every request without a 2xx.
    pub failed: u64,
    /// Failures by kind, as in [`Bucket::failed`].
    pub failures: BTreeMap<String, u64>,
    /// The longest time between two successive 2xx completions (or from the origin to the
    /// first, or from the last to the end of the load), ms.
    pub longest_gap_ms: f64,
    /// When that gap began, ms since the origin.
    pub longest_gap_at_ms: f64,
    /// Over every request with a complete response.
    pub ttlb: Option<Ttlb>,
    /// The worst 100 ms slice's p99 and max.
    pub worst_bucket_p99_ms: Option<f64>,
    /// 2xx answered by blue for requests sent after the switch: connections pinned to blue.
    pub pinned_to_blue: u64,
    /// From SIGTERM to blue's exit, ms.
    pub blue_exit_ms: Option<f64>,
    /// Requests whose response was cut off after its head arrived.
    pub cut_mid_flight: u64,
    pub events: SwapEvents,
    pub buckets: Vec<Bucket>,
}

/// A swap's result: measured, or why not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum SwapOutcome {
    Measured {
        report: Box<SwapReport>,
        /// Every request without a 2xx, as recorded, for a closer look.
        failed_requests: Vec<RequestRecord>,
    },
    Failed {
        reason: String,
    },
}

impl SwapOutcome {
    /// The report of a measured swap.
    pub fn report(&self) -> Option<&SwapReport> {
        match self {
            SwapOutcome::Measured { report, .. } => Some(report),
            SwapOutcome::Failed { .. } => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SwapResult {
    pub swap: Swap,
    #[serde(flatten)]
    pub outcome: SwapOutcome,
}

impl SwapResult {
    /// A measured swap: its report from every record ([`analyse`]), and the records without
    /// a 2xx kept as they are.
    pub fn measured(
        swap: Swap,
        records: &[RequestRecord],
        events: SwapEvents,
        target_rate: f64,
        duration: Duration,
    ) -> SwapResult {
        SwapResult {
            swap,
            outcome: SwapOutcome::Measured {
                report: Box::new(analyse(records, events, target_rate, duration)),
                failed_requests: records
                    .iter()
                    .filter(|r| !r.outcome.is_success())
                    .copied()
                    .collect(),
            },
        }
    }

    /// A swap that could not be measured, and why.
    pub fn failed(swap: Swap, reason: String) -> SwapResult {
        SwapResult {
            swap,
            outcome: SwapOutcome::Failed { reason },
        }
    }

    pub fn report(&self) -> Option<&SwapReport> {
        self.outcome.report()
    }

    pub fn is_failed(&self) -> bool {
        matches!(self.outcome, SwapOutcome::Failed { .. })
    }
}

/// `deploy.json`: the whole deploy run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeployResults {
    /// [`FORMAT`] when written.
    pub format: u32,
    pub provenance: Provenance,
    /// `nginx -v`.
    pub nginx_version: String,
    pub settings: DeploySettings,
    pub swaps: Vec<SwapResult>,
}

/// Why a `deploy.json` cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum DeployResultsError {
    #[error("not a benchlab deploy.json")]
    Json(#[from] serde_json::Error),
    #[error("deploy.json has format version {found}, this runner reads version {FORMAT}")]
    Version { found: u32 },
}

impl DeployResults {
    /// An empty deploy run, ready to record swaps as they finish.
    pub fn new(
        provenance: Provenance,
        nginx_version: String,
        settings: DeploySettings,
    ) -> DeployResults {
        DeployResults {
            format: FORMAT,
            provenance,
            nginx_version,
            settings,
            swaps: Vec::new(),
        }
    }

    /// Reads a `deploy.json` back; one of another format is refused by its version.
    pub fn from_json(json: &str) -> Result<DeployResults, DeployResultsError> {
        #[derive(Deserialize)]
        struct Version {
            format: u32,
        }
        let Version { format } = serde_json::from_str(json)?;
        if format != FORMAT {
            return Err(DeployResultsError::Version { found: format });
        }
        Ok(serde_json::from_str(json)?)
    }

    /// Records a swap's result, replacing an earlier one of the same swap (a retry), and
    /// keeps the swaps in the order of [`DeploySettings::swaps`], swaps outside it last.
    pub fn record(&mut self, result: SwapResult) {
        self.swaps.retain(|s| s.swap != result.swap);
        self.swaps.push(result);
        let order = self.settings.swaps();
        self.swaps.sort_by_key(|s| {
            order
                .iter()
                .position(|swap| *swap == s.swap)
                .unwrap_or(usize::MAX)
        });
    }

    /// The recorded result of `swap`.
    pub fn swap(&self, swap: &Swap) -> Option<&SwapResult> {
        self.swaps.iter().find(|s| s.swap == *swap)
    }

    /// The swaps of the settings without a result yet (measured or failed), in order.
    pub fn pending(&self) -> Vec<Swap> {
        self.settings
            .swaps()
            .into_iter()
            .filter(|swap| self.swap(swap).is_none())
            .collect()
    }

    /// Whether any swap failed: the runner's exit code.
    pub fn any_failed(&self) -> bool {
        self.swaps.iter().any(SwapResult::is_failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> DeploySettings {
        DeploySettings {
            frameworks: vec![Framework::Hyper, Framework::Axum],
            strategies: vec![Strategy::Naive, Strategy::BlueGreen],
            client_keep_alive: vec![true, false],
            upstream_keep_alive: vec![false, true],
            rate: 1000.0,
            duration_ms: 10_000,
            swap_at_ms: 3000,
            drain_ms: 2000,
            grace_ms: 3000,
            timeout_ms: 2000,
            endpoint: Endpoint::Hello,
            backend: Backend::Docker,
            base: Base::Scratch,
            vcpus: 1.0,
            server_cpus: "1".to_owned(),
            client_cpus: "2".to_owned(),
        }
    }

    #[test]
    fn swaps_expand_frameworks_outermost_in_the_order_given() {
        let ids: Vec<String> = settings().swaps().iter().map(Swap::id).collect();
        assert_eq!(
            ids,
            [
                "hyper/naive/client-keepalive/upstream-close",
                "hyper/naive/client-keepalive/upstream-keepalive",
                "hyper/naive/client-close/upstream-close",
                "hyper/naive/client-close/upstream-keepalive",
                "hyper/blue-green/client-keepalive/upstream-close",
                "hyper/blue-green/client-keepalive/upstream-keepalive",
                "hyper/blue-green/client-close/upstream-close",
                "hyper/blue-green/client-close/upstream-keepalive",
                "axum/naive/client-keepalive/upstream-close",
                "axum/naive/client-keepalive/upstream-keepalive",
                "axum/naive/client-close/upstream-close",
                "axum/naive/client-close/upstream-keepalive",
                "axum/blue-green/client-keepalive/upstream-close",
                "axum/blue-green/client-keepalive/upstream-keepalive",
                "axum/blue-green/client-close/upstream-close",
                "axum/blue-green/client-close/upstream-keepalive",
            ]
        );
        assert_eq!(
            chart_file(&settings().swaps()[0]),
            "charts/hyper_naive_client-keepalive_upstream-close.svg"
        );
    }

    #[test]
    fn invalid_settings_name_their_flag() {
        assert_eq!(settings().validate(), Ok(()));
        let error = |change: fn(&mut DeploySettings)| {
            let mut s = settings();
            change(&mut s);
            s.validate().unwrap_err().to_string()
        };
        assert_eq!(
            error(|s| s.rate = 0.0),
            "invalid --rate: 0 req/s is not a rate: give a positive number of requests per second"
        );
        assert!(error(|s| s.rate = f64::NAN).starts_with("invalid --rate: NaN req/s"));
        assert!(error(|s| s.rate = f64::INFINITY).starts_with("invalid --rate: inf req/s"));
        assert_eq!(
            error(|s| s.frameworks.clear()),
            "invalid --frameworks: the list is empty: give at least one value"
        );
        assert_eq!(
            error(|s| s.strategies.push(Strategy::Naive)),
            "invalid --strategies: naive is listed twice"
        );
        assert_eq!(
            error(|s| s.client_keep_alive.clear()),
            "invalid --client-keep-alive: the list is empty: give at least one value"
        );
        assert_eq!(
            error(|s| s.upstream_keep_alive.push(true)),
            "invalid --upstream-keep-alive: true is listed twice"
        );
        assert!(error(|s| s.swap_at_ms = 0).starts_with("invalid --swap-at: "));
        assert!(error(|s| s.timeout_ms = 0).starts_with("invalid --timeout: "));
        // 3 s + 2 s + 3 s + 1 s = 9 s: the load must last longer.
        assert_eq!(
            error(|s| s.duration_ms = 9000),
            "invalid --duration: 9s is too short: the swap must finish inside the load, and it may last until swap-at 3s + drain 2s + grace 3s, plus 1s to see green serve alone; give more than 9s"
        );
        assert_eq!(
            error(|s| s.backend = Backend::Ecs),
            "invalid --backend: ecs runs Fargate tasks, but deploy runs its instances on this machine behind its nginx: use docker or process"
        );
        let mut just = settings();
        just.duration_ms = 9001;
        assert_eq!(just.validate(), Ok(()));
    }

    #[test]
    fn results_record_replace_and_know_what_is_pending() {
        let settings = settings();
        let swaps = settings.swaps();
        let mut results =
            DeployResults::new(Provenance::default(), "nginx/1.22.1".to_owned(), settings);
        assert_eq!(results.format, FORMAT);
        assert_eq!(results.pending(), swaps);
        results.record(SwapResult::failed(
            swaps[3],
            "green never answered".to_owned(),
        ));
        results.record(SwapResult::measured(
            swaps[1],
            &[],
            SwapEvents::default(),
            1000.0,
            Duration::from_secs(10),
        ));
        let recorded: Vec<Swap> = results.swaps.iter().map(|r| r.swap).collect();
        assert_eq!(recorded, [swaps[1], swaps[3]], "in the settings' order");
        assert!(results.any_failed());
        assert_eq!(results.pending().len(), swaps.len() - 2);
        assert!(
            !results.pending().contains(&swaps[3]),
            "a failure is not pending"
        );
        // A retry replaces the failure.
        results.record(SwapResult::measured(
            swaps[3],
            &[],
            SwapEvents::default(),
            1000.0,
            Duration::from_secs(10),
        ));
        assert_eq!(results.swaps.len(), 2);
        assert!(!results.any_failed());
        assert_eq!(results.swap(&swaps[3]).unwrap().report().unwrap().sent, 0);
    }

    #[test]
    fn measured_swaps_keep_every_request_without_a_2xx() {
        let record = |ms: u64, outcome| RequestRecord {
            scheduled_us: ms * 1000,
            started_us: ms * 1000,
            ended_us: ms * 1000 + 500,
            outcome,
            instance: None,
        };
        let records = [
            record(0, Outcome::Status(200)),
            record(1, Outcome::Status(502)),
            record(2, Outcome::Error(ErrorKind::Reset)),
        ];
        let swap = settings().swaps()[0];
        let result = SwapResult::measured(
            swap,
            &records,
            SwapEvents::default(),
            3.0,
            Duration::from_secs(1),
        );
        let SwapOutcome::Measured {
            failed_requests,
            report,
        } = &result.outcome
        else {
            panic!("{result:?}")
        };
        assert_eq!(failed_requests, &records[1..]);
        assert_eq!(report.failed, 2);
    }
}
