//! `results.md`: what a person reads first. A warning first when the runner fell back to
//! bare processes; the provenance and the method in a few lines; then a table per comparison
//! group (the cells of one quota, endpoint and load, which ran interleaved), with each cell's
//! median and interval, its rate against hyper's round by round, what a million 2xx cost on
//! the Fargate size of its quota, its latency from the HDR histogram of every request,
//! throttling, CPU and memory (`–` and a sentence under the table where the server's usage
//! was not measured: the ecs backend); the image and startup tables; and
//! notes: every flag a cell carries is a numbered note, and each kind of flag that occurs is
//! explained once, with what to do about it.

use std::fmt::Write as _;

use crate::catalog::Backend;
use crate::compare::{BASELINE, Relation};
use crate::fargate::cost::{CellCost, Platform, PriceTable, Prices};
use crate::plan::{Cell, GroupKey, Matrix};
use crate::results::{
    CLIFF_STALLED_SHARE, CellResult, CellSummary, EcsProvenance, Flag, FlagKind, NOISY_CV, Outcome,
    Provenance, RATE_SHORTFALL_TOLERANCE_PERCENT, RunResults, SUCCESS_RATIO_FLOOR,
    TIMING_CHECK_TOLERANCE_PERCENT,
};
use crate::stats::{INTERVAL_METHOD, Interval, MIN_OUTLIER_SAMPLE};
use crate::units::{Bytes, Micros, Millis, format_duration};

/// `results.md`.
pub fn markdown(results: &RunResults) -> String {
    let mut out = String::new();
    let mut notes = Notes::default();
    header(&mut out, results);
    for (group, cells) in results.matrix.groups() {
        let own: Vec<Cell> = cells
            .into_iter()
            .filter(|c| c.generator == results.matrix.generator)
            .collect();
        if group.rate.is_some() {
            rate_table(&mut out, results, &group, &own, &mut notes);
        } else {
            group_table(&mut out, results, &group, &own, &mut notes);
        }
    }
    cross_checks(&mut out, results);
    images(&mut out, results);
    startup(&mut out, results);
    notes.write(&mut out);
    out
}

/// Notes in the order their markers appear, and the flag kinds that need explaining.
#[derive(Default)]
struct Notes {
    lines: Vec<String>,
    kinds: Vec<FlagKind>,
    /// Whether a generator-bound flag rests on the generator's CPU alone.
    bound_without_server: bool,
}

impl Notes {
    /// The marker for a cell's flags (` [n]`), empty when it has none.
    fn marker(&mut self, result: &CellResult) -> String {
        if result.flags.is_empty() {
            return String::new();
        }
        let parts: Vec<String> = result.flags.iter().map(|f| note(result, f)).collect();
        for flag in &result.flags {
            if !self.kinds.contains(&flag.kind()) {
                self.kinds.push(flag.kind());
            }
            if let Flag::GeneratorBound {
                server_cpu_percent: None,
                ..
            } = flag
            {
                self.bound_without_server = true;
            }
        }
        self.lines
            .push(format!("`{}`: {}", result.id, parts.join("; ")));
        format!(" [{}]", self.lines.len())
    }

    fn write(mut self, out: &mut String) {
        if self.lines.is_empty() {
            return;
        }
        out.push_str("## Notes\n\n");
        for (i, line) in self.lines.iter().enumerate() {
            let _ = writeln!(out, "- [{}] {line}", i + 1);
        }
        out.push_str("\nWhat the flags mean:\n\n");
        self.kinds.sort();
        for kind in self.kinds {
            let _ = write!(out, "- {}", explain(kind));
            if kind == FlagKind::GeneratorBound && self.bound_without_server {
                out.push_str(" Where the server's CPU was not measured (the ecs backend) the flag rests on the generator's saturation alone: the server may have had no CPU to spare either, so read its rate as a floor.");
            }
            out.push('\n');
        }
        out.push('\n');
    }
}

fn note(result: &CellResult, flag: &Flag) -> String {
    match flag {
        Flag::GeneratorBound {
            generator_cpu_percent,
            generator_limit_percent,
            server_cpu_percent: Some(server_cpu_percent),
            server_quota_percent,
        } => format!(
            "generator-bound (oha at {generator_cpu_percent:.0} % CPU of {generator_limit_percent:.0} %, the server at {server_cpu_percent:.0} % of its {server_quota_percent:.0} % quota)"
        ),
        Flag::GeneratorBound {
            generator_cpu_percent,
            generator_limit_percent,
            server_cpu_percent: None,
            server_quota_percent,
        } => format!(
            "generator-bound (oha at {generator_cpu_percent:.0} % CPU of {generator_limit_percent:.0} %; the server's CPU under its {server_quota_percent:.0} % quota was not measured, so this rests on oha's CPU alone)"
        ),
        Flag::Noisy { cv, outliers } => {
            let mut text = format!("noisy (CV {:.1} %", cv * 100.0);
            if !outliers.is_empty() {
                let runs: Vec<String> = outliers.iter().map(|i| (i + 1).to_string()).collect();
                let _ = write!(text, "; outlier repetition {}", runs.join(", "));
            }
            text.push(')');
            text
        }
        Flag::Unsuccessful { success_ratio } => {
            format!("unsuccessful (only {:.2} % 2xx)", success_ratio * 100.0)
        }
        Flag::Failed => match &result.outcome {
            Outcome::Failed { stage, reason } => format!("failed while {stage}: {reason}"),
            Outcome::Measured | Outcome::Incomplete => "failed".to_owned(),
        },
        Flag::TimingCheck {
            expected_rate,
            measured_rate,
            deviation_percent,
            within_tolerance,
        } => format!(
            "timing check: {deviation_percent:+.1} % ({} req/s measured, {} expected){}",
            rate(*measured_rate),
            rate(*expected_rate),
            if *within_tolerance {
                ""
            } else {
                ", beyond tolerance"
            }
        ),
        Flag::RateShortfall {
            target_rate,
            achieved_rate,
            shortfall_percent,
        } => format!(
            "rate shortfall: {} req/s of the {} asked for ({shortfall_percent:.1} % short)",
            rate(*achieved_rate),
            rate(*target_rate)
        ),
        Flag::P99Cliff {
            stalled_share,
            throttled_share,
        } => format!(
            "p99 on the throttling cliff ({:.2} % of requests caught by a stall; {:.0} % of CFS periods throttled)",
            stalled_share * 100.0,
            throttled_share * 100.0
        ),
    }
}

fn explain(kind: FlagKind) -> String {
    match kind {
        FlagKind::GeneratorBound => "**generator-bound**: the load generator saturated its CPU over its load window while the server had CPU to spare, so the server could go faster than shown. Compare CPU µs per request, which stays comparable, or give the server a smaller quota or the generator more CPUs (`--generator-cpus`).".to_owned(),
        FlagKind::Noisy => format!("**noisy**: the 2xx rate varied by more than {:.0} % (coefficient of variation) over the repetitions. The interval and the paired comparison already account for it; outlier repetitions are named from {MIN_OUTLIER_SAMPLE} repetitions on, none is dropped.", NOISY_CV * 100.0),
        FlagKind::Unsuccessful => format!("**unsuccessful**: fewer than {:.1} % of the requests that ended got a 2xx; `results.json` has the status codes and errors of every repetition.", SUCCESS_RATIO_FLOOR * 100.0),
        FlagKind::Failed => "**failed**: the cell has no measurement; the note says at which stage and why. `--resume <dir>` measures what is missing.".to_owned(),
        FlagKind::TimingCheck => format!("**timing check**: at C connections `/sleep/<ms>` must serve C·1000/ms req/s; the deviation checks oha's timer and the rate arithmetic at a low rate (suspect beyond ±{TIMING_CHECK_TOLERANCE_PERCENT:.0} %). It says nothing of the generator's accuracy at high rates."),
        FlagKind::RateShortfall => format!("**rate shortfall**: a fixed-rate cell served more than {RATE_SHORTFALL_TOLERANCE_PERCENT:.0} % fewer 2xx per second than its target: the server (or oha) did not keep up, requests queued, and its latencies are those of a queue. Lower the rate, or read the cell as overloaded."),
        FlagKind::P99Cliff => format!("**p99 cliff**: the CPU quota stalled the server once per throttled CFS period and between {:.1} % and {:.0} % of requests waited out a stall, so p99 lands either on a served request's latency or on a stall's by chance: read p99.9 and the throttled share, not p99, for this cell.", CLIFF_STALLED_SHARE.0 * 100.0, CLIFF_STALLED_SHARE.1 * 100.0),
    }
}

fn header(out: &mut String, results: &RunResults) {
    let p = &results.provenance;
    let m = &results.matrix;
    out.push_str("# benchlab results\n\n");
    if let Some(endpoint) = p.ecs.as_ref().and_then(|ecs| ecs.endpoint.as_ref()) {
        let _ = writeln!(
            out,
            "> **Not Fargate: the AWS calls went to an emulator at {endpoint}** (`AWS_ENDPOINT_URL`), so the tasks were its stand-ins and every figure here is of the stand-in server, not of Fargate.\n"
        );
    }
    if let Some(reason) = &results.backend_fallback {
        let _ = writeln!(
            out,
            "> **Measured with the process backend, by fallback**: {reason}. The services ran as bare processes pinned to CPU {} with no CPU quota, memory limit or image; these figures are not those of containers.\n",
            m.server_cpus
        );
    }
    provenance_lines(out, p, &format!("oha {}", p.oha_version));
    if has_quota(m.backend) {
        prices_line(out, results.prices());
    }
    sessions(out, results);
    out.push('\n');

    let expected = m.cells().len();
    let count = |f: fn(&CellResult) -> bool| results.cells.iter().filter(|c| f(c)).count();
    let failed = count(CellResult::is_failed);
    let incomplete = count(CellResult::is_incomplete);
    let measured = results.cells.len() - failed - incomplete;
    let (backend, cpus) = match m.backend {
        Backend::Docker | Backend::Process => (
            format!("Backend {}.", m.backend),
            format!(
                "The server runs on CPU {}, the generator on CPU {}.",
                m.server_cpus, m.generator_cpus
            ),
        ),
        Backend::Ecs => (
            ecs_backend(p.ecs.as_ref()),
            format!("The generator runs on CPU {}.", m.generator_cpus),
        ),
    };
    let _ = writeln!(
        out,
        "{backend} The cells of a comparison group (same quota, endpoint and connections) run interleaved: round r measures one repetition of every cell, in an order that rotates each round, so drift over the run hits all cells alike. Each cell gets {} of warm-up, then {} rounds of {} of {}. Unless its heading says otherwise a cell is a **closed loop** with keep-alive: each connection sends its next request when the previous answer arrives, so latency under a fixed arrival rate would be higher; fixed-rate cells are in tables of their own. {cpus} {expected} cells: {measured} measured, {incomplete} incomplete, {failed} failed, {} not run.",
        format_duration(m.warmup),
        m.repetitions,
        format_duration(m.duration),
        m.generator,
        expected.saturating_sub(results.cells.len()),
    );
    if let Some((cells, least, most)) = results.timing_check() {
        let _ = writeln!(
            out,
            "Timing check, from {cells} `/sleep/<ms>` cell(s): {least:+.1} % to {most:+.1} % (oha's timer and the rate arithmetic at a low rate, not its accuracy at high rates)."
        );
    }
    out.push('\n');
    let usage = match m.backend {
        Backend::Docker | Backend::Process => {
            "CPU is measured over oha's load window. Memory: **anon** is the anonymous memory (heap and stacks, no page cache) under load; **peak** is the kernel's high-water mark for the container's cgroup, page cache included (for a process, its peak RSS)."
        }
        Backend::Ecs => {
            "oha's CPU is measured over its load window; the server's CPU, memory and throttling are not measured, so their columns show – and no chart draws them."
        }
    };
    let _ = writeln!(
        out,
        "Each rate is the median of the 2xx responses per second over the repetitions, with its 95 % interval ({INTERVAL_METHOD}; none below six repetitions). **% of {BASELINE}** is the median over rounds of the cell's rate over {BASELINE}'s on the same base in the same round, with the same kind of interval: the figure that carries from one machine to another. A difference is called one only when its interval excludes 100 %; otherwise the table says \"no significant difference\". Latencies are those of 2xx responses, from one HDR histogram of every request of every repetition; \"p99 by repetition\" is the range of the repetitions' own p99. {usage}\n"
    );
    let size = match m.backend {
        Backend::Ecs => "the price of the cell's Fargate task size",
        Backend::Docker | Backend::Process => {
            "the price of the Fargate size that holds the cell's quota and memory"
        }
    };
    if has_quota(m.backend) {
        let _ = writeln!(
            out,
            "**USD/M 2xx** is what a million 2xx responses cost on AWS Fargate at the cell's median rate: {size} (named under each heading; a task is billed for its size, not for what it uses) over the time a million take, on Linux x86 and on ARM, with the rate's interval turned into the cost's. List prices only: no Savings Plans or Spot, no load balancer, NAT or data transfer, no one-minute minimum.\n"
        );
    }
}

/// Whether the backend runs each cell under its quota (a container's or a Fargate task's),
/// so that tables have per-vCPU, cost and throttling columns.
fn has_quota(backend: Backend) -> bool {
    match backend {
        Backend::Docker | Backend::Ecs => true,
        Backend::Process => false,
    }
}

/// The ecs backend in one sentence: where the tasks ran, where their images came from, how
/// the load reached them, and that the server's usage was not measured.
fn ecs_backend(ecs: Option<&EcsProvenance>) -> String {
    let (place, registry, target) = match ecs {
        Some(ecs) => (
            format!("in cluster `{}` of {}", ecs.cluster, ecs.region),
            format!("`{}`", ecs.registry),
            ecs.target.clone(),
        ),
        None => (
            "in an ECS cluster the results do not record".to_owned(),
            "a registry".to_owned(),
            "an address the results do not record".to_owned(),
        ),
    };
    format!(
        "Backend ecs: each cell's server is a Fargate task of the cell's size {place}, its image from {registry} by digest, loaded from this machine (the runner) over the VPC at {target}; the server's CPU, memory and throttling are not measured (Fargate gives the runner no cgroup readings)."
    )
}

/// The sentence under a table some of whose rows have no server usage: which columns show
/// `–` and why.
fn unmeasured_line(out: &mut String, columns: &str) {
    let _ = writeln!(
        out,
        "{columns} show – where the server's usage was not measured: a Fargate task of the ecs backend gives the runner no cgroup to read.\n"
    );
}

/// The price table's line of the provenance: whose prices, checked when, from which file.
fn prices_line(out: &mut String, prices: &Prices) {
    let t = &prices.table;
    let _ = writeln!(
        out,
        "Prices: Fargate list prices of {} in {}, checked {}, from `{}`.",
        t.region, t.currency, t.checked, prices.file
    );
}

/// Under a heading: the Fargate size the group's cells are priced at and its hourly prices,
/// or why they have no cost.
fn size_line(out: &mut String, group: &GroupKey, table: &PriceTable) {
    match group.cpu.billed_fargate_size() {
        Some(size) => {
            // `USD 0.0247 an hour on x86, 0.0198 on arm`.
            let hourly: Vec<String> = Platform::ALL
                .iter()
                .enumerate()
                .map(|(i, &p)| {
                    let price = usd(table.rates(p).hourly(&size));
                    match i {
                        0 => format!("{} {price} an hour on {}", table.currency, p.name()),
                        _ => format!("{price} on {}", p.name()),
                    }
                })
                .collect();
            let _ = writeln!(
                out,
                "Priced as Fargate **{size}**: {}.\n",
                hourly.join(", ")
            );
        }
        None => out.push_str("No Fargate size holds this quota and memory: no cost.\n\n"),
    }
}

fn sessions(out: &mut String, results: &RunResults) {
    let steal: Vec<String> = results
        .sessions
        .iter()
        .filter_map(|s| s.steal_percent.map(|p| format!("{p:.2} %")))
        .collect();
    if !steal.is_empty() {
        let _ = writeln!(
            out,
            "CPU time stolen by the hypervisor: {} (per session).",
            steal.join(", ")
        );
    }
    let resumed = results.sessions.iter().filter(|s| s.resumed).count();
    if resumed > 0 {
        let _ = writeln!(out, "Resumed {resumed} time(s).");
    }
    for session in results
        .sessions
        .iter()
        .filter(|s| !s.forced_over.is_empty())
    {
        let _ = writeln!(
            out,
            "**Resumed with `--force` at {}** over: {}.",
            session.started,
            session.forced_over.join("; ")
        );
    }
}

/// The heading of a group: `0.5 vCPU, 1024 MiB (WORKERS=1) · /hello · 64 connections`, for
/// Fargate tasks `Fargate 0.5 vCPU / 1 GB (WORKERS=1) · …`, or for processes
/// `no quota (CPU 1) · …`.
fn group_heading(matrix: &Matrix, group: &GroupKey) -> String {
    let docker = || {
        format!(
            "{} vCPU, {} MiB (WORKERS={})",
            group.cpu.vcpus,
            group.cpu.memory_mib,
            group.cpu.workers()
        )
    };
    let quota = match matrix.backend {
        Backend::Docker => docker(),
        Backend::Ecs => match group.cpu.fargate_size() {
            Ok(size) => format!("Fargate {size} (WORKERS={})", group.cpu.workers()),
            Err(_) => docker(),
        },
        Backend::Process => format!(
            "no quota (CPU {}, WORKERS={})",
            matrix.server_cpus,
            group.cpu.workers()
        ),
    };
    let mut heading = format!(
        "{quota} · {} · {} connection{}",
        group.endpoint,
        group.connections,
        if group.connections == 1 { "" } else { "s" }
    );
    if !group.keep_alive {
        heading.push_str(" · a new connection per request");
    }
    if let Some(rate) = &group.rate {
        let _ = write!(heading, " · fixed rate: {rate}");
    }
    heading
}

fn group_table(
    out: &mut String,
    results: &RunResults,
    group: &GroupKey,
    cells: &[Cell],
    notes: &mut Notes,
) {
    let m = &results.matrix;
    let quota = has_quota(m.backend);
    let _ = writeln!(out, "## {}\n", group_heading(m, group));
    if quota {
        size_line(out, group, &results.prices().table);
    }
    let comparison = results
        .comparisons
        .iter()
        .find(|c| c.group == *group && c.generator == m.generator);
    if let Some(comparison) = comparison.filter(|c| c.ranking.len() > 1) {
        let _ = writeln!(
            out,
            "Ranking (`>` significant, `≈` no significant difference, `?` too few rounds): {}\n",
            comparison.ranking_line()
        );
    }
    out.push_str("| framework | base | 2xx req/s (95 % interval) | % of hyper (95 % interval) |");
    if quota {
        out.push_str(" per vCPU |");
        out.push_str(COST_HEADER);
    }
    out.push_str(" p50 | p90 | p99 | p99.9 | max | p99 by repetition |");
    if quota {
        out.push_str(" throttled periods |");
    }
    out.push_str(" server CPU | CPU µs/req | anon | peak |\n");
    let columns = 14 + if quota { 4 } else { 0 };
    out.push_str("| --- | --- |");
    for _ in 2..columns {
        out.push_str(" ---: |");
    }
    out.push('\n');

    let mut unmeasured = false;
    for cell in cells {
        let Some((result, summary, marker)) = row_start(out, results, cell, columns, notes) else {
            continue;
        };
        unmeasured |= summary.server_cpu_percent.is_none();
        let estimate = &summary.rate_estimate;
        let _ = write!(
            out,
            " {}{}{marker} |",
            rate(estimate.median),
            interval(estimate.interval, rate)
        );
        let relative = comparison
            .and_then(|c| c.member(&result.id))
            .and_then(|member| member.relative.map(|r| (member, r)));
        match relative {
            Some((member, _)) if member.framework == BASELINE => out.push_str(" baseline |"),
            Some((_, ratio)) => {
                let percent = |v: f64| format!("{:.1}", v * 100.0);
                let verdict = match ratio.relation() {
                    Relation::NoSignificantDifference => ", no significant difference",
                    _ => "",
                };
                let _ = write!(
                    out,
                    " {} %{}{verdict} |",
                    percent(ratio.median),
                    interval(ratio.interval, percent)
                );
            }
            None => out.push_str(" – |"),
        }
        if quota {
            let _ = write!(
                out,
                " {} |",
                summary.rate_per_vcpu.map_or_else(|| "–".to_owned(), rate)
            );
            cost_cells(out, results.cost(result).as_ref());
        }
        latency_cells(out, summary);
        let _ = write!(out, " {} |", p99_range(summary));
        if quota {
            let _ = write!(
                out,
                " {} |",
                summary
                    .throttled_share
                    .map_or_else(|| "–".to_owned(), |t| format!("{:.0} %", t.median * 100.0))
            );
        }
        let _ = writeln!(
            out,
            " {} | {} | {} | {} |",
            server_cpu(summary),
            summary
                .cpu_us_per_request
                .map_or_else(|| "–".to_owned(), |s| micros(s.median)),
            summary
                .anon_mean_bytes
                .map_or_else(|| "–".to_owned(), |s| mib(s.median as Bytes)),
            summary.peak_bytes.map_or_else(|| "–".to_owned(), mib),
        );
    }
    out.push('\n');
    if unmeasured {
        let columns = if quota {
            "Throttled periods, server CPU, CPU µs/req, anon and peak"
        } else {
            "Server CPU, CPU µs/req, anon and peak"
        };
        unmeasured_line(out, columns);
    }
}

/// The server's median CPU, `–` when it was not measured.
fn server_cpu(summary: &CellSummary) -> String {
    summary
        .server_cpu_percent
        .map_or_else(|| "–".to_owned(), |s| format!("{:.0} %", s.median))
}

/// A fixed-rate group: each cell's target, what it achieved, and its latencies corrected
/// for coordinated omission. No ranking by rate: the rate is what was asked for.
fn rate_table(
    out: &mut String,
    results: &RunResults,
    group: &GroupKey,
    cells: &[Cell],
    notes: &mut Notes,
) {
    let m = &results.matrix;
    let _ = writeln!(
        out,
        "## {}
",
        group_heading(m, group)
    );
    let quota = has_quota(m.backend);
    if quota {
        size_line(out, group, &results.prices().table);
    }
    out.push_str("**Fixed rate** (oha `-q` with `--latency-correction`): requests are scheduled at the target rate whatever the answers do, and each latency runs from when its request was due, so a stall is charged to every request it delayed. The achieved rate is 2xx responses over the scheduled window.\n\n");
    out.push_str(
        "| framework | base | target req/s | achieved 2xx req/s (95 % interval) | of target |",
    );
    if quota {
        out.push_str(COST_HEADER);
    }
    out.push_str(
        " p50 | p90 | p99 | p99.9 | max | p99 by repetition | failed | server CPU | CPU µs/req |\n",
    );
    let columns = 14 + if quota { 2 } else { 0 };
    out.push_str("| --- | --- |");
    for _ in 2..columns {
        out.push_str(" ---: |");
    }
    out.push('\n');
    let mut unmeasured = false;
    for cell in cells {
        let Some((result, summary, marker)) = row_start(out, results, cell, columns, notes) else {
            continue;
        };
        unmeasured |= summary.server_cpu_percent.is_none();
        let targets: Vec<f64> = result
            .repetitions
            .iter()
            .filter_map(|r| r.target_rate)
            .collect();
        let target = crate::stats::Spread::of(targets).map(|s| s.median);
        let estimate = &summary.rate_estimate;
        let _ = write!(
            out,
            " {} | {}{}{marker} | {} |",
            target.map_or_else(|| "–".to_owned(), rate),
            rate(estimate.median),
            interval(estimate.interval, rate),
            target.map_or_else(
                || "–".to_owned(),
                |t| format!("{:.1} %", estimate.median / t * 100.0)
            ),
        );
        if quota {
            cost_cells(out, results.cost(result).as_ref());
        }
        latency_cells(out, summary);
        let failed: u64 = result.repetitions.iter().map(|r| r.load.failed()).sum();
        let _ = writeln!(
            out,
            " {} | {failed} | {} | {} |",
            p99_range(summary),
            server_cpu(summary),
            summary
                .cpu_us_per_request
                .map_or_else(|| "–".to_owned(), |s| micros(s.median)),
        );
    }
    out.push('\n');
    if unmeasured {
        unmeasured_line(out, "Server CPU and CPU µs/req");
    }
    if quota {
        out.push_str("USD/M 2xx of a fixed rate is priced at the rate achieved: a task held below its capacity costs more per request, and that is what a service at this load pays.\n\n");
    }
}

/// The cost columns' headings, one per platform.
const COST_HEADER: &str = " USD/M 2xx x86 (95 % interval) | USD/M 2xx arm (95 % interval) |";

/// A cell's cost per million 2xx on each platform, with its interval: two cells, `–` for
/// none.
fn cost_cells(out: &mut String, cost: Option<&CellCost>) {
    for platform in Platform::ALL {
        match cost.map(|c| c.on(platform)) {
            Some(estimate) => {
                let _ = write!(
                    out,
                    " {}{} |",
                    usd(estimate.median),
                    interval(estimate.interval, usd)
                );
            }
            None => out.push_str(" – |"),
        }
    }
}

/// The cross-check: the same service loaded by both generators in the same rounds.
fn cross_checks(out: &mut String, results: &RunResults) {
    if results.cross_checks.is_empty() {
        return;
    }
    out.push_str("## Cross-check: the same cells under oha and wrk\n\n");
    out.push_str("Each pair ran in the same comparison group, so both generators loaded the same service, started once, in alternating turns of every round. Ratios are wrk's over oha's, the median over rounds with its 95 % interval. Both send the same request bytes (see the README's cross-check section). wrk's latencies have its own coordinated-omission correction undone, so both are a closed loop's.\n\n");
    out.push_str("| cell | req/s wrk ÷ oha | p99 wrk ÷ oha | server CPU µs/req oha | wrk | wrk ÷ oha | generator CPU µs/req oha | wrk |\n");
    out.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    let ratio = |r: &crate::compare::PairedRatio| {
        format!(
            "{:.3}{}",
            r.median,
            interval(r.interval, |v| format!("{v:.3}"))
        )
    };
    for check in &results.cross_checks {
        let pair = |p: Option<(f64, f64)>| {
            p.map_or_else(
                || "– | –".to_owned(),
                |(a, b)| format!("{} | {}", micros(a), micros(b)),
            )
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            check.cell,
            ratio(&check.rate),
            check.p99.as_ref().map_or_else(|| "–".to_owned(), ratio),
            pair(check.cpu_us_per_request),
            check
                .cpu_per_request
                .as_ref()
                .map_or_else(|| "–".to_owned(), ratio),
            pair(check.generator_cpu_us_per_request),
        );
    }
    out.push('\n');
    if results.matrix.backend == Backend::Ecs {
        unmeasured_line(out, "The server's CPU µs/req and its ratio");
    }
}

/// A table row's first cells, `| framework | base |`, and then for a cell that was not
/// measured the rest of its row (not run, incomplete, failed, with its note marker) across
/// `columns`; for a measured one its result, summary and note marker, for the caller to go on.
fn row_start<'a>(
    out: &mut String,
    results: &'a RunResults,
    cell: &Cell,
    columns: usize,
    notes: &mut Notes,
) -> Option<(&'a CellResult, &'a CellSummary, String)> {
    let _ = write!(out, "| {} | {} |", cell.framework, cell.base);
    let rest = " |".repeat(columns - 3);
    let Some(result) = results.cell(cell) else {
        let _ = writeln!(out, " not run |{rest}");
        return None;
    };
    let marker = notes.marker(result);
    match (&result.outcome, &result.summary) {
        (Outcome::Measured, Some(summary)) => Some((result, summary, marker)),
        (Outcome::Incomplete, _) => {
            let _ = writeln!(
                out,
                " incomplete ({} of {} repetitions){marker} |{rest}",
                result.repetitions.len(),
                results.matrix.repetitions,
            );
            None
        }
        _ => {
            let _ = writeln!(out, " failed{marker} |{rest}");
            None
        }
    }
}

/// p50, p90, p99, p99.9 and max from the cell's merged histogram, five cells.
fn latency_cells(out: &mut String, summary: &CellSummary) {
    match summary.latency {
        Some(l) => {
            let _ = write!(
                out,
                " {} | {} | {} | {} | {} |",
                ms(l.p50_us),
                ms(l.p90_us),
                ms(l.p99_us),
                ms(l.p99_9_us),
                ms(l.max_us)
            );
        }
        None => out.push_str(" – | – | – | – | – |"),
    }
}

/// `45.0–51.0 ms`: the range of the repetitions' own p99.
fn p99_range(summary: &CellSummary) -> String {
    summary.latency_p99_us.map_or_else(
        || "–".to_owned(),
        |p| format!("{}–{}", ms_number(p.min / 1e3), ms(p.max)),
    )
}

/// ` (61.2k–63.0k)`, or nothing without an interval.
fn interval(interval: Option<Interval>, format: impl Fn(f64) -> String) -> String {
    interval.map_or_else(String::new, |i| {
        format!(" ({}–{})", format(i.low), format(i.high))
    })
}

fn images(out: &mut String, results: &RunResults) {
    let images = &results.provenance.images;
    if images.is_empty() {
        return;
    }
    out.push_str("## Images\n\n");
    out.push_str("| framework | base | image | size | id | base image |\n");
    out.push_str("| --- | --- | --- | ---: | --- | --- |\n");
    for image in images {
        let id = image.digest.get(..19).unwrap_or(&image.digest);
        let _ = writeln!(
            out,
            "| {} | {} | `{}` | {} | `{id}` | {} |",
            image.framework,
            image.base,
            image.image,
            mib(image.size_bytes),
            image.base_provenance
        );
    }
    out.push('\n');
}

fn startup(out: &mut String, results: &RunResults) {
    if results.startup.is_empty() {
        return;
    }
    out.push_str("## Startup: from start to the first 200 on /hello\n\n");
    out.push_str("Polled by a connect loop every 0.2 ms: each figure is good to about half a millisecond.\n\n");
    out.push_str("| framework | base | runs | median | min–max | failed |\n");
    out.push_str("| --- | --- | ---: | ---: | ---: | ---: |\n");
    for s in &results.startup {
        let (median, range) = match &s.summary {
            Some(spread) => (
                millis(spread.median),
                format!("{}–{}", ms_number(spread.min), millis(spread.max)),
            ),
            None => ("–".to_owned(), "–".to_owned()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {median} | {range} | {} |",
            s.framework,
            s.base,
            s.runs_ms.len(),
            s.failures.len()
        );
    }
    out.push('\n');
}

/// A rate with three significant digits: `9.95`, `62.1`, `950`, `5.12k`, `48.2k`, `196k`,
/// `1.20M`.
fn rate(value: f64) -> String {
    let abs = value.abs();
    if abs < 10.0 {
        format!("{value:.2}")
    } else if abs < 100.0 {
        format!("{value:.1}")
    } else if abs < 1_000.0 {
        format!("{value:.0}")
    } else if abs < 10_000.0 {
        format!("{:.2}k", value / 1e3)
    } else if abs < 100_000.0 {
        format!("{:.1}k", value / 1e3)
    } else if abs < 1_000_000.0 {
        format!("{:.0}k", value / 1e3)
    } else {
        format!("{:.2}M", value / 1e6)
    }
}

/// An amount of money with three significant digits, however small: `0.000114`, `0.0107`,
/// `1.23`, `123`.
fn usd(value: f64) -> String {
    let decimals = |magnitude: i32| (2 - magnitude).max(0) as usize;
    let mut magnitude = if value > 0.0 {
        value.log10().floor() as i32
    } else {
        0
    };
    // 0.09996 rounds up to the next power of ten: 0.100, not 0.1000.
    let rounded: f64 = format!("{value:.*}", decimals(magnitude))
        .parse()
        .unwrap_or(value);
    if rounded >= 10f64.powi(magnitude + 1) {
        magnitude += 1;
    }
    format!("{value:.*}", decimals(magnitude))
}

/// Where and from what a run was measured, one line each: the machine, its cgroup and CPUs,
/// the commit, lock file, toolchain and `tools` (the load tools' versions), the frameworks'
/// versions. Shared by every results file that carries a [`Provenance`].
pub(crate) fn provenance_lines(out: &mut String, p: &Provenance, tools: &str) {
    let docker = p
        .docker_version
        .as_deref()
        .map_or_else(|| "no Docker".to_owned(), |v| format!("Docker {v}"));
    let _ = writeln!(
        out,
        "Started {} on `{}`: {}, {} cores, kernel {}, {docker}.",
        p.started, p.host, p.cpu_model, p.cores, p.kernel
    );
    if let Some(engine) = &p.engine {
        let tls = if engine.tls { " over TLS" } else { "" };
        let target = p.target_host.as_deref().unwrap_or("127.0.0.1");
        let _ = match &engine.remote_machine {
            None => writeln!(out, "Engine `{}`{tls}; load to {target}.", engine.address),
            Some(machine) => writeln!(
                out,
                "Engine `{}`{tls} on another machine, where the services ran: {machine}; the \
                 load went to {target} over the network from the machine above.",
                engine.address
            ),
        };
    }
    if let Some(ecs) = &p.ecs {
        let list = |items: &[String]| {
            let items: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
            if items.is_empty() {
                "none".to_owned()
            } else {
                items.join(", ")
            }
        };
        let _ = writeln!(
            out,
            "ECS tasks' network: subnets {}; security groups {}.",
            list(&ecs.subnets),
            list(&ecs.security_groups)
        );
    }
    let _ = writeln!(
        out,
        "cgroup {}; {}; frequency governor: {}.",
        p.cgroup, p.cpu_topology, p.cpu_governor
    );
    let commit = p.git_commit.get(..12).unwrap_or(&p.git_commit);
    let dirty = if p.git_dirty {
        " (uncommitted changes)"
    } else {
        ""
    };
    let lock = p
        .cargo_lock_sha256
        .get(..12)
        .unwrap_or(&p.cargo_lock_sha256);
    let _ = writeln!(
        out,
        "Commit `{commit}`{dirty}, Cargo.lock `{lock}`, {}, {tools}.",
        p.rustc
    );
    if !p.framework_versions.is_empty() {
        let versions: Vec<String> = p
            .framework_versions
            .iter()
            .map(|(name, version)| format!("{name} {version}"))
            .collect();
        let _ = writeln!(out, "Frameworks: {}.", versions.join(", "));
    }
}

/// Microseconds of latency shown as milliseconds: `0.21 ms`, `45.3 ms`, `1002 ms`.
fn ms(us: Micros) -> String {
    millis(us / 1e3)
}

pub(crate) fn millis(ms: Millis) -> String {
    format!("{} ms", ms_number(ms))
}

/// `0.21`, `45.3`, `1002`: milliseconds without their unit.
fn ms_number(ms: Millis) -> String {
    if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 100.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

/// CPU microseconds: `10.4`.
fn micros(us: Micros) -> String {
    if us < 100.0 {
        format!("{us:.1}")
    } else {
        format!("{us:.0}")
    }
}

fn mib(bytes: Bytes) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        let rates: Vec<String> = [0.4, 950.0, 5123.0, 48_213.0, 196_400.0, 1_204_000.0]
            .into_iter()
            .map(rate)
            .collect();
        assert_eq!(rates, ["0.40", "950", "5.12k", "48.2k", "196k", "1.20M"]);
        assert_eq!(rate(62.14), "62.1");
        assert_eq!(ms(212.0), "0.21 ms");
        assert_eq!(ms(45_310.0), "45.3 ms");
        assert_eq!(ms(1_002_000.0), "1002 ms");
        assert_eq!(micros(10.43), "10.4");
        assert_eq!(mib(3 << 20), "3.0 MiB");
        let amounts: Vec<String> = [0.000_114_3, 0.010_72, 0.099_96, 1.234, 123.4, 4321.0]
            .into_iter()
            .map(usd)
            .collect();
        assert_eq!(
            amounts,
            ["0.000114", "0.0107", "0.100", "1.23", "123", "4321"]
        );
    }
}
