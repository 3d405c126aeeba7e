//! `deploy.md`, `deploy.csv` and `deploy.json`: a deploy run in, strings out. None of them
//! writes a file; the runner does, after every swap.
//!
//! JSON and CSV carry exact values in the units their names say (`_ms`); markdown rounds to
//! human units.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::{
    BUCKET_MS, DeployResults, ErrorKind, Swap, SwapOutcome, SwapReport, SwapResult, chart_file,
};
use crate::catalog::{Backend, Framework};
use crate::export::csv::{num, opt};
use crate::export::markdown::millis;
use crate::units::{Micros, Millis, format_duration};

/// `deploy.json`: the whole run, on one line. It keeps every failed request of every swap
/// (tens of thousands in a default run), which pretty-printing would triple in size;
/// `jq . deploy.json` shows it indented.
pub fn deploy_json(results: &DeployResults) -> String {
    let mut json =
        serde_json::to_string(results).expect("deploy results have string keys and finite numbers");
    json.push('\n');
    json
}

/// `deploy.md`: the provenance and the settings, the rankings across frameworks, a table
/// per strategy, and the swaps that failed with why.
pub fn deploy_markdown(results: &DeployResults) -> String {
    let mut out = String::new();
    header(&mut out, results);
    rankings(&mut out, results);
    for &strategy in &results.settings.strategies {
        let _ = writeln!(out, "## {strategy}\n");
        let _ = writeln!(out, "{}.\n", capitalised(strategy.summary()));
        out.push_str("| framework | client keep-alive | upstream keep-alive | sent | req/s | failed | failures | longest gap | TTLB p50 | TTLB p99 | TTLB max | worst 100 ms p99 | pinned to blue | blue exit | cut mid-flight | chart |\n");
        out.push_str("| --- | --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
        for swap in results
            .settings
            .swaps()
            .into_iter()
            .filter(|s| s.strategy == strategy)
        {
            row(&mut out, &swap, results.swap(&swap));
        }
        out.push('\n');
    }
    failed_swaps(&mut out, results);
    out
}

/// The columns of a strategy's table.
const COLUMNS: usize = 16;

fn header(out: &mut String, results: &DeployResults) {
    let p = &results.provenance;
    let s = &results.settings;
    out.push_str("# benchlab deploy: what a redeploy costs\n\n");
    crate::export::markdown::provenance_lines(out, p, &results.nginx_version);
    out.push('\n');

    let text = |ms: u64| format_duration(std::time::Duration::from_millis(ms));
    let instances = match s.backend {
        Backend::Docker => format!(
            "containers of the {} image with {} vCPU each, on CPU {}",
            s.base, s.vcpus, s.server_cpus
        ),
        Backend::Process => format!("bare processes on CPU {}", s.server_cpus),
        // Refused by `DeploySettings::validate`: nginx proxies to instances on this machine.
        Backend::Ecs => format!(
            "Fargate tasks of the {} image with {} vCPU each",
            s.base, s.vcpus
        ),
    };
    let expected = s.swaps().len();
    let failed = results.swaps.iter().filter(|r| r.is_failed()).count();
    let measured = results.swaps.len() - failed;
    let _ = writeln!(
        out,
        "nginx on 127.0.0.1 proxies to the instance in service, blue; the instances are {instances}. An open-loop client on CPU {} sends {} req/s to `{}` for {}, each request at its scheduled time whatever the answers do, and {} in, green replaces blue. Blue-green and rolling wait {} of drain before blue gets SIGTERM; a service drains its requests for up to {} before it is killed. A request without a complete answer after {} is a timeout. Every swap runs with each client keep-alive (a connection kept, or one per request) and each upstream keep-alive (nginx keeps its connections to the instances, or opens one per request). {expected} swaps: {measured} measured, {failed} failed, {} not run.",
        s.client_cpus,
        s.rate,
        s.endpoint,
        text(s.duration_ms),
        text(s.swap_at_ms),
        text(s.drain_ms),
        text(s.grace_ms),
        text(s.timeout_ms),
        results.pending().len(),
    );
    out.push('\n');
    let _ = writeln!(
        out,
        "**failed** counts every request without a 2xx: connection errors (refused, reset before a response, cut after the response head, timeout, other) and statuses other than 2xx, mostly the proxy's own (`502×5`: five 502 responses). The kind says which hop failed: a 502 is nginx failing to reach an instance (refused by one that stopped, or reset by one that exited), a reset is the client's own connection to nginx closing under a request, as when a reload retires nginx's old worker and it closes its idle keep-alive connections. **longest gap**: the longest time without a 2xx completing, and when it began, in seconds of the load. **TTLB**: time to last byte, from sending a request to the last byte of its response (any status), as exact nearest-rank percentiles; **worst 100 ms p99**: the highest p99 of a {BUCKET_MS} ms slice of the load, requests counted by when they were scheduled. **pinned to blue**: 2xx from blue for requests sent after the switch, on connections still open to the old instance. **blue exit**: from SIGTERM to blue's exit, *killed* when its grace ran out. **cut mid-flight**: responses cut off after their head arrived. Each swap's chart shows it per {BUCKET_MS} ms.\n"
    );
}

/// One framework's measured swaps, summed up for the rankings.
struct Standing<'a> {
    framework: Framework,
    swaps: usize,
    lost: u64,
    /// The swap that lost the most.
    worst_lost: (&'a Swap, u64),
    /// The swap with the highest 100 ms p99, and that p99.
    worst_p99: Option<(&'a Swap, Millis)>,
    ttlb_max: Option<Millis>,
}

fn standings(results: &DeployResults) -> Vec<Standing<'_>> {
    results
        .settings
        .frameworks
        .iter()
        .filter_map(|&framework| {
            let measured: Vec<(&Swap, &SwapReport)> = results
                .swaps
                .iter()
                .filter(|r| r.swap.framework == framework)
                .filter_map(|r| Some((&r.swap, r.report()?)))
                .collect();
            let worst_lost = measured
                .iter()
                .map(|(swap, report)| (*swap, report.failed))
                // The first of equal ones: `max_by_key` keeps the last.
                .reduce(|a, b| if b.1 > a.1 { b } else { a })?;
            let worst_p99 = measured
                .iter()
                .filter_map(|(swap, report)| Some((*swap, report.worst_bucket_p99_ms?)))
                .reduce(|a, b| if b.1 > a.1 { b } else { a });
            Some(Standing {
                framework,
                swaps: measured.len(),
                lost: measured.iter().map(|(_, r)| r.failed).sum(),
                worst_lost,
                worst_p99,
                ttlb_max: measured
                    .iter()
                    .filter_map(|(_, r)| r.ttlb.map(|t| t.max_ms))
                    .reduce(f64::max),
            })
        })
        .collect()
}

fn rankings(out: &mut String, results: &DeployResults) {
    let mut standings = standings(results);
    if standings.is_empty() {
        return;
    }
    out.push_str("## Rankings\n\n");
    out.push_str("Across frameworks, from their measured swaps, best first; equal figures share a rank. A framework with failed swaps is ranked on fewer swaps.\n\n");

    out.push_str("### Requests lost\n\nEvery request without a 2xx over the framework's swaps, and its worst swap.\n\n");
    out.push_str("| rank | framework | swaps | requests lost | worst swap |\n");
    out.push_str("| ---: | --- | ---: | ---: | --- |\n");
    standings.sort_by(|a, b| a.lost.cmp(&b.lost).then(by_name(a, b)));
    for s in &standings {
        let rank = 1 + standings.iter().filter(|o| o.lost < s.lost).count();
        let (swap, lost) = s.worst_lost;
        let _ = writeln!(
            out,
            "| {rank} | {} | {} | {} | {lost} (`{}`) |",
            s.framework,
            s.swaps,
            s.lost,
            variant(swap)
        );
    }
    out.push('\n');

    out.push_str("### Worst TTLB during a swap\n\nThe highest p99 of a 100 ms slice over the framework's swaps, the swap it was in, and the slowest single answer.\n\n");
    out.push_str("| rank | framework | swaps | worst 100 ms p99 | worst swap | TTLB max |\n");
    out.push_str("| ---: | --- | ---: | ---: | --- | ---: |\n");
    // No answer at all is the worst.
    let p99 = |s: &Standing<'_>| s.worst_p99.map_or(f64::INFINITY, |(_, p99)| p99);
    standings.sort_by(|a, b| p99(a).total_cmp(&p99(b)).then(by_name(a, b)));
    for s in &standings {
        let rank = 1 + standings.iter().filter(|o| p99(o) < p99(s)).count();
        let (worst, swap) = match s.worst_p99 {
            Some((swap, p99)) => (millis(p99), format!("`{}`", variant(swap))),
            None => ("no answer".to_owned(), "–".to_owned()),
        };
        let _ = writeln!(
            out,
            "| {rank} | {} | {} | {worst} | {swap} | {} |",
            s.framework,
            s.swaps,
            opt_millis(s.ttlb_max)
        );
    }
    out.push('\n');
}

fn by_name(a: &Standing<'_>, b: &Standing<'_>) -> Ordering {
    a.framework.name().cmp(b.framework.name())
}

/// A swap's id without its framework: `naive/client-keepalive/upstream-close`.
fn variant(swap: &Swap) -> String {
    let id = swap.id();
    match id.split_once('/') {
        Some((_, rest)) => rest.to_owned(),
        None => id,
    }
}

/// A strategy table's row for `swap`: its result, or why there is none.
fn row(out: &mut String, swap: &Swap, result: Option<&SwapResult>) {
    let _ = write!(
        out,
        "| {} | {} | {} |",
        swap.framework,
        keep_alive(swap.client_keep_alive),
        keep_alive(swap.upstream_keep_alive)
    );
    let rest = " |".repeat(COLUMNS - 4);
    let report = match result.map(|r| &r.outcome) {
        None => {
            let _ = writeln!(out, " not run |{rest}");
            return;
        }
        Some(SwapOutcome::Failed { .. }) => {
            let _ = writeln!(out, " failed (see below) |{rest}");
            return;
        }
        Some(SwapOutcome::Measured { report, .. }) => report,
    };
    let (p50, p99, max) = report.ttlb.map_or((None, None, None), |t| {
        (Some(t.p50_ms), Some(t.p99_ms), Some(t.max_ms))
    });
    let blue_exit = match report.blue_exit_ms {
        Some(ms) if report.events.blue_killed => format!("{} (killed)", millis(ms)),
        Some(ms) => millis(ms),
        None if report.events.blue_killed => "killed".to_owned(),
        None => "–".to_owned(),
    };
    let _ = writeln!(
        out,
        " {} | {:.1} | {} | {} | {} at {:.2} s | {} | {} | {} | {} | {} | {} | {} | [svg]({}) |",
        report.sent,
        report.achieved_rate,
        report.failed,
        compact_failures(report),
        millis(report.longest_gap_ms),
        report.longest_gap_at_ms / 1e3,
        opt_millis(p50),
        opt_millis(p99),
        opt_millis(max),
        opt_millis(report.worst_bucket_p99_ms),
        report.pinned_to_blue,
        blue_exit,
        report.cut_mid_flight,
        chart_file(swap),
    );
}

fn keep_alive(on: bool) -> &'static str {
    if on { "keep-alive" } else { "close" }
}

/// `refused×20, 502×5, cut×1`: most frequent first, a status without its `http-`; `–` for
/// none.
fn compact_failures(report: &SwapReport) -> String {
    if report.failures.is_empty() {
        return "–".to_owned();
    }
    let mut failures: Vec<(&String, &u64)> = report.failures.iter().collect();
    failures.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    failures
        .iter()
        .map(|(key, n)| format!("{}×{n}", key.strip_prefix("http-").unwrap_or(key)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn failed_swaps(out: &mut String, results: &DeployResults) {
    let failed: Vec<(&Swap, &str)> = results
        .swaps
        .iter()
        .filter_map(|r| match &r.outcome {
            SwapOutcome::Failed { reason } => Some((&r.swap, reason.as_str())),
            SwapOutcome::Measured { .. } => None,
        })
        .collect();
    if failed.is_empty() {
        return;
    }
    out.push_str("## Failed swaps\n\n");
    for (swap, reason) in failed {
        let _ = writeln!(out, "- `{}`: {reason}", swap.id());
    }
    out.push('\n');
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

fn opt_millis(ms: Option<Millis>) -> String {
    ms.map_or_else(|| "–".to_owned(), millis)
}

/// The fixed part of `deploy.csv`'s header, in order; a `failed_<kind>` column per failure
/// kind follows (see [`deploy_csv`]). Units are in the names; event times are ms since the
/// load's origin.
pub const DEPLOY_CSV_COLUMNS: &[&str] = &[
    "id",
    "framework",
    "strategy",
    "client_keep_alive",
    "upstream_keep_alive",
    "status",
    "failure_reason",
    "target_rate",
    "achieved_rate",
    "sent",
    "ok",
    "failed",
    "longest_gap_ms",
    "longest_gap_at_ms",
    "ttlb_p50_ms",
    "ttlb_p99_ms",
    "ttlb_max_ms",
    "worst_bucket_p99_ms",
    "pinned_to_blue",
    "cut_mid_flight",
    "green_ready_ms",
    "switch_ms",
    "sigterm_ms",
    "blue_exited_ms",
    "blue_exit_ms",
    "blue_killed",
    "reloads_ms",
    "chart",
];

/// `deploy.csv`: [`DEPLOY_CSV_COLUMNS`], then `failed_refused`, `failed_reset`,
/// `failed_cut`, `failed_timeout` and `failed_other` always (the error kinds are a closed
/// set, so these columns are the same in every run), then `failed_http_<status>` for each
/// status other than 2xx that occurs anywhere in the run (statuses are an open set: each is
/// kept exact rather than folded into an "other"); a row per recorded swap, in settings
/// order. An empty field is a value that does not exist (a failed swap, no answer, no
/// event).
pub fn deploy_csv(results: &DeployResults) -> String {
    let mut kinds: Vec<String> = ErrorKind::ALL.iter().map(|k| k.name().to_owned()).collect();
    let statuses: BTreeSet<&String> = results
        .swaps
        .iter()
        .filter_map(SwapResult::report)
        .flat_map(|r| r.failures.keys())
        .filter(|key| key.starts_with("http-"))
        .collect();
    kinds.extend(statuses.into_iter().cloned());
    let mut header: Vec<String> = DEPLOY_CSV_COLUMNS.iter().map(|&c| c.to_owned()).collect();
    header.extend(
        kinds
            .iter()
            .map(|k| format!("failed_{}", k.replace('-', "_"))),
    );

    let rows: Vec<Vec<String>> = results
        .swaps
        .iter()
        .map(|result| csv_row(result, &kinds))
        .collect();
    debug_assert!(rows.iter().all(|row| row.len() == header.len()));
    crate::export::csv::table(&header, rows)
}

fn event_ms(us: Option<u64>) -> String {
    opt(us.map(|us| us as Micros / 1e3))
}

fn csv_row(result: &SwapResult, kinds: &[String]) -> Vec<String> {
    let swap = &result.swap;
    let mut row = vec![
        swap.id(),
        swap.framework.to_string(),
        swap.strategy.to_string(),
        swap.client_keep_alive.to_string(),
        swap.upstream_keep_alive.to_string(),
    ];
    let report = match &result.outcome {
        SwapOutcome::Failed { reason } => {
            row.push("failed".to_owned());
            row.push(reason.clone());
            row.resize(DEPLOY_CSV_COLUMNS.len() + kinds.len(), String::new());
            return row;
        }
        SwapOutcome::Measured { report, .. } => report,
    };
    let ttlb = report.ttlb;
    let events = &report.events;
    row.extend([
        "measured".to_owned(),
        String::new(),
        num(report.target_rate),
        num(report.achieved_rate),
        report.sent.to_string(),
        report.ok.to_string(),
        report.failed.to_string(),
        num(report.longest_gap_ms),
        num(report.longest_gap_at_ms),
        opt(ttlb.map(|t| t.p50_ms)),
        opt(ttlb.map(|t| t.p99_ms)),
        opt(ttlb.map(|t| t.max_ms)),
        opt(report.worst_bucket_p99_ms),
        report.pinned_to_blue.to_string(),
        report.cut_mid_flight.to_string(),
        event_ms(events.green_ready_us),
        event_ms(events.switch_us),
        event_ms(events.sigterm_us),
        event_ms(events.blue_exited_us),
        opt(report.blue_exit_ms),
        events.blue_killed.to_string(),
        events
            .reloads_us
            .iter()
            .map(|&us| num(us as Micros / 1e3))
            .collect::<Vec<_>>()
            .join(";"),
        chart_file(swap),
    ]);
    row.extend(
        kinds
            .iter()
            .map(|k| report.failures.get(k).copied().unwrap_or(0).to_string()),
    );
    row
}

#[cfg(test)]
pub(crate) mod tests {
    //! Snapshot tests of the exporters on one hand-built deploy run: axum and hyper, each
    //! swapped blue-green and naively, at 100 req/s for 2 s with the swap at 1 s. Every
    //! figure follows from the records below by hand:
    //!
    //! - axum blue-green loses nothing; two requests reach blue after the switch (pinned),
    //!   one answer takes 80 ms (TTLB max and the worst 100 ms p99), the longest gap is the
    //!   20 ms before that slow answer's neighbour completes (from 1492 ms).
    //! - axum naive: one request cut at 990 ms, 20 refused from 1000 ms, five 502 from
    //!   1200 ms, green from 1250 ms: 26 lost, a gap of 271 ms from 981 ms.
    //! - hyper blue-green failed before its load.
    //! - hyper naive: 10 reset from 1000 ms, twelve 502 from 1100 ms, 8 timeouts from
    //!   1220 ms, green from 1300 ms: 30 lost, a gap of 312 ms from 991 ms; blue killed.

    use std::collections::BTreeMap;

    use super::super::{
        DeployResults, DeploySettings, Instance, Outcome, RequestRecord, Strategy, SwapEvents,
    };
    use super::*;
    use crate::catalog::Base;
    use crate::plan::Endpoint;
    use crate::results::Provenance;

    /// 200 requests, one every 10 ms from 0, each answered as `answer` says from its time:
    /// `(outcome, instance, ttlb in ms)`.
    fn load(answer: impl Fn(u64) -> (Outcome, Option<Instance>, u64)) -> Vec<RequestRecord> {
        (0..200)
            .map(|i| {
                let at = i * 10;
                let (outcome, instance, ttlb) = answer(at);
                RequestRecord {
                    scheduled_us: at * 1000,
                    started_us: at * 1000,
                    ended_us: (at + ttlb) * 1000,
                    outcome,
                    instance,
                }
            })
            .collect()
    }

    const BLUE: Option<Instance> = Some(Instance::Blue);
    const GREEN: Option<Instance> = Some(Instance::Green);
    const OK: Outcome = Outcome::Status(200);
    const BAD_GATEWAY: Outcome = Outcome::Status(502);

    fn error(kind: ErrorKind) -> Outcome {
        Outcome::Error(kind)
    }

    fn settings() -> DeploySettings {
        DeploySettings {
            frameworks: vec![Framework::Axum, Framework::Hyper],
            strategies: vec![Strategy::BlueGreen, Strategy::Naive],
            client_keep_alive: vec![true],
            upstream_keep_alive: vec![false],
            rate: 100.0,
            duration_ms: 2000,
            swap_at_ms: 800,
            drain_ms: 100,
            grace_ms: 50,
            timeout_ms: 1000,
            endpoint: Endpoint::Hello,
            backend: Backend::Docker,
            base: Base::Scratch,
            vcpus: 1.0,
            server_cpus: "1".to_owned(),
            client_cpus: "2-3".to_owned(),
        }
    }

    pub(crate) fn sample() -> DeployResults {
        let provenance = Provenance {
            started: "2025-01-02T03:04:05Z".to_owned(),
            host: "lab-1".to_owned(),
            cpu_model: "Example CPU @ 2.0GHz".to_owned(),
            cores: 4,
            kernel: "6.1.0-28-amd64".to_owned(),
            docker_version: Some("20.10.24".to_owned()),
            rustc: "rustc 1.95.0 (59807616e 2026-01-01)".to_owned(),
            oha_version: String::new(),
            framework_versions: BTreeMap::from([
                (Framework::Axum, "0.8.9".to_owned()),
                (Framework::Hyper, "1.8.1".to_owned()),
                (Framework::Rocket, "0.5.1".to_owned()),
            ]),
            git_commit: "0123456789abcdef0123456789abcdef01234567".to_owned(),
            git_dirty: false,
            cargo_lock_sha256: "fedcba9876543210fedcba9876543210".to_owned(),
            ..Provenance::default()
        };
        let settings = settings();
        let swaps = settings.swaps();
        let duration = settings.duration();
        let mut results = DeployResults::new(
            provenance,
            "nginx version: nginx/1.22.1".to_owned(),
            settings,
        );

        let axum_blue_green = load(|at| match at {
            0..1020 => (OK, BLUE, 1),
            1500 => (OK, GREEN, 80),
            _ => (OK, GREEN, 2),
        });
        let events = SwapEvents {
            green_ready_us: Some(800_000),
            switch_us: Some(1_000_000),
            sigterm_us: Some(1_100_000),
            blue_exited_us: Some(1_112_500),
            blue_killed: false,
            reloads_us: vec![1_000_000],
        };
        results.record(SwapResult::measured(
            swaps[0],
            &axum_blue_green,
            events,
            100.0,
            duration,
        ));

        let axum_naive = load(|at| match at {
            990 => (error(ErrorKind::Cut), BLUE, 5),
            0..1000 => (OK, BLUE, 1),
            1000..1200 => (error(ErrorKind::Refused), None, 0),
            1200..1250 => (BAD_GATEWAY, None, 3),
            _ => (OK, GREEN, 2),
        });
        let events = SwapEvents {
            green_ready_us: Some(1_240_000),
            switch_us: Some(1_000_000),
            sigterm_us: Some(1_000_000),
            blue_exited_us: Some(1_004_000),
            blue_killed: false,
            reloads_us: Vec::new(),
        };
        results.record(SwapResult::measured(
            swaps[1],
            &axum_naive,
            events,
            100.0,
            duration,
        ));

        let hyper_naive = load(|at| match at {
            0..1000 => (OK, BLUE, 1),
            1000..1100 => (error(ErrorKind::Reset), None, 0),
            1100..1220 => (BAD_GATEWAY, None, 2),
            1220..1300 => (error(ErrorKind::Timeout), None, 1000),
            _ => (OK, GREEN, 3),
        });
        let events = SwapEvents {
            green_ready_us: Some(1_290_000),
            switch_us: Some(1_000_000),
            sigterm_us: Some(1_000_000),
            blue_exited_us: Some(1_051_000),
            blue_killed: true,
            reloads_us: Vec::new(),
        };
        // Recorded out of order: the results keep the settings' order.
        results.record(SwapResult::measured(
            swaps[3],
            &hyper_naive,
            events,
            100.0,
            duration,
        ));
        results.record(SwapResult::failed(
            swaps[2],
            "nginx -s reload failed: exit status 1".to_owned(),
        ));
        results
    }

    #[test]
    fn the_sample_is_what_its_description_says() {
        let results = sample();
        let reports: Vec<&SwapReport> = results.swaps.iter().filter_map(|r| r.report()).collect();
        let figures: Vec<(u64, u64, f64, f64, u64)> = reports
            .iter()
            .map(|r| {
                (
                    r.sent,
                    r.failed,
                    r.longest_gap_ms,
                    r.longest_gap_at_ms,
                    r.pinned_to_blue,
                )
            })
            .collect();
        assert_eq!(
            figures,
            [
                (200, 0, 20.0, 1492.0, 2),
                (200, 26, 271.0, 981.0, 0),
                (200, 30, 312.0, 991.0, 0)
            ]
        );
        assert_eq!(reports[0].worst_bucket_p99_ms, Some(80.0));
        assert_eq!(results.swaps[2].swap.framework, Framework::Hyper);
        assert!(results.swaps[2].is_failed());
        assert!(results.any_failed());
        assert!(results.pending().is_empty());
    }

    #[test]
    fn markdown_snapshot() {
        let markdown = deploy_markdown(&sample());
        insta::assert_snapshot!(markdown);
        // Every table row has as many cells as its header.
        for line in markdown.lines().filter(|l| l.starts_with("| ")) {
            let cells = line.matches(" |").count();
            assert!(cells == COLUMNS || cells == 5 || cells == 6, "{line}");
        }
    }

    #[test]
    fn csv_snapshot() {
        let csv = deploy_csv(&sample());
        insta::assert_snapshot!(csv);
        let mut reader = ::csv::Reader::from_reader(csv.as_bytes());
        let header = reader.headers().unwrap().clone();
        assert_eq!(
            header
                .iter()
                .skip(DEPLOY_CSV_COLUMNS.len())
                .collect::<Vec<_>>(),
            [
                "failed_refused",
                "failed_reset",
                "failed_cut",
                "failed_timeout",
                "failed_other",
                "failed_http_502"
            ]
        );
        let rows: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 4);
        assert!(rows.iter().all(|r| r.len() == header.len()));
    }

    #[test]
    fn json_reads_back_and_other_formats_are_refused_by_version() {
        let results = sample();
        let json = deploy_json(&results);
        assert!(json.ends_with("}\n"));
        assert_eq!(DeployResults::from_json(&json).unwrap(), results);
        let other = json.replacen("\"format\":1", "\"format\":2", 1);
        assert_eq!(
            DeployResults::from_json(&other).unwrap_err().to_string(),
            "deploy.json has format version 2, this runner reads version 1"
        );
        assert_eq!(
            DeployResults::from_json("{}").unwrap_err().to_string(),
            "not a benchlab deploy.json"
        );
    }

    #[test]
    fn rankings_share_a_rank_on_equal_figures_and_order_them_by_name() {
        let mut results = sample();
        // hyper's naive swap loses 26 too: a tie, by name.
        let naive = results.settings.swaps()[3];
        let hyper = results.swaps.iter_mut().find(|r| r.swap == naive).unwrap();
        let SwapOutcome::Measured { report, .. } = &mut hyper.outcome else {
            panic!()
        };
        report.failed = 26;
        let markdown = deploy_markdown(&results);
        assert!(markdown.contains("| 1 | axum | 2 | 26 |"), "{markdown}");
        assert!(markdown.contains("| 1 | hyper | 1 | 26 |"), "{markdown}");
    }
}
