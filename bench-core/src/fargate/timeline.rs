//! What a Fargate launch of `bench-runner fargate run` went through, from RunTask to the
//! first 200 of `GET /hello`: ECS's DescribeTasks answer as the API gives it, the runner's
//! record of each launch ([`Launch`]), the phases derived from both ([`Phases`]), and
//! `timeline.json`, `timeline.md`, `timeline.csv` and `timeline.svg` as strings. No IO and
//! no clock: the runner passes every time in.
//!
//! Two clocks meet here. ECS dates a task's life on AWS's clock (`createdAt`,
//! `pullStartedAt`, `pullStoppedAt`, `startedAt`), so provisioning, pull and start are
//! differences on one clock. The runner times RunTask and its probes on its own monotonic
//! clock, from the moment it sent RunTask, so `total` is one clock too: the figure to trust.
//! Only `ready` (startedAt to the first 200) crosses them, through the runner's wall clock
//! when it sent RunTask: it carries the offset between the two clocks, and is kept negative
//! when they disagree by more than the phase lasted.
//!
//! An emulator (moto) gives no task timestamps at all: its launches have only `total` and
//! `running_seen_ms`, and the outputs say so.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::net::Ipv4Addr;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::de::{self, DeserializeOwned, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use super::sizes::FargateSize;
use crate::catalog::{Base, Framework};
use crate::export::csv::{opt, table};
use crate::units::Millis;

/// The version of `timeline.json`'s format, written in every one as `format`. Fields are
/// added, never renamed; a change that breaks readers bumps it.
pub const FORMAT: u32 = 1;

/// The chart's file name, beside `timeline.md`, which links it.
pub const CHART_FILE: &str = "timeline.svg";

const MICROS_PER_MILLI: i64 = 1000;
const MICROS_PER_SECOND: i64 = 1_000_000;
/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z: the instants RFC 3339 can write.
const FIRST_MICROS: i64 = -62_167_219_200 * MICROS_PER_SECOND;
const LAST_MICROS: i64 = 253_402_300_800 * MICROS_PER_SECOND - 1;

/// An instant as AWS gives it, to the microsecond (the API's own precision is the
/// millisecond). Reads epoch seconds as a number (`1557134011.644`, the API's JSON) or
/// RFC 3339 with any offset (`2021-12-20T12:13:20.226000-05:00`, as the AWS CLI v2 prints
/// it); writes RFC 3339 in UTC (`2021-12-20T17:13:20.226Z`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AwsTime {
    unix_micros: i64,
}

impl AwsTime {
    /// `micros` after the Unix epoch; `None` outside the years 0000 to 9999, which RFC 3339
    /// cannot write.
    pub fn from_unix_micros(micros: i64) -> Option<AwsTime> {
        (FIRST_MICROS..=LAST_MICROS)
            .contains(&micros)
            .then_some(AwsTime {
                unix_micros: micros,
            })
    }

    /// `millis` after the Unix epoch (the runner's wall clock); `None` outside the years 0000
    /// to 9999.
    pub fn from_unix_millis(millis: i64) -> Option<AwsTime> {
        AwsTime::from_unix_micros(millis.checked_mul(MICROS_PER_MILLI)?)
    }

    /// `datetime`, to the microsecond below; `None` outside the years 0000 to 9999.
    pub fn from_datetime(datetime: OffsetDateTime) -> Option<AwsTime> {
        let micros = datetime.unix_timestamp_nanos().div_euclid(1000);
        AwsTime::from_unix_micros(i64::try_from(micros).ok()?)
    }

    /// Milliseconds from `earlier` to this instant: negative when `earlier` is later.
    pub fn millis_since(&self, earlier: &AwsTime) -> Millis {
        (self.unix_micros - earlier.unix_micros) as f64 / MICROS_PER_MILLI as f64
    }

    /// Epoch seconds as the API writes them; `None` for a number that is no such instant.
    fn from_epoch_seconds(seconds: f64) -> Option<AwsTime> {
        let micros = (seconds * MICROS_PER_SECOND as f64).round();
        // Within i64 whenever within the years RFC 3339 writes; the range check follows.
        (micros.is_finite() && micros.abs() < 1e18)
            .then(|| AwsTime::from_unix_micros(micros as i64))
            .flatten()
    }
}

/// RFC 3339 in UTC, to the millisecond, or to the microsecond when it has one:
/// `2021-12-20T17:13:20.226Z`.
impl fmt::Display for AwsTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let datetime =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.unix_micros) * 1000)
                .map_err(|_| fmt::Error)?;
        let text = if self.unix_micros % MICROS_PER_MILLI == 0 {
            datetime.format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
            ))
        } else {
            datetime.format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
            ))
        };
        f.write_str(&text.map_err(|_| fmt::Error)?)
    }
}

impl Serialize for AwsTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AwsTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<AwsTime, D::Error> {
        struct Instant;
        impl Visitor<'_> for Instant {
            type Value = AwsTime;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a timestamp: epoch seconds like 1557134011.644, or RFC 3339 like \
                     \"2021-12-20T12:13:20.226-05:00\"",
                )
            }

            fn visit_f64<E: de::Error>(self, seconds: f64) -> Result<AwsTime, E> {
                AwsTime::from_epoch_seconds(seconds)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Float(seconds), &self))
            }

            fn visit_i64<E: de::Error>(self, seconds: i64) -> Result<AwsTime, E> {
                seconds
                    .checked_mul(MICROS_PER_SECOND)
                    .and_then(AwsTime::from_unix_micros)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Signed(seconds), &self))
            }

            fn visit_u64<E: de::Error>(self, seconds: u64) -> Result<AwsTime, E> {
                i64::try_from(seconds)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(seconds), &self))
                    .and_then(|seconds| self.visit_i64(seconds))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<AwsTime, E> {
                OffsetDateTime::parse(text, &Rfc3339)
                    .ok()
                    .and_then(AwsTime::from_datetime)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Str(text), &self))
            }
        }
        d.deserialize_any(Instant)
    }
}

/// ECS's DescribeTasks answer: the tasks it found and the ARNs it did not.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeTasks {
    #[serde(default)]
    pub tasks: Vec<DescribedTask>,
    #[serde(default)]
    pub failures: Vec<TaskFailure>,
}

/// An ARN DescribeTasks could not describe (`MISSING`, for a task that is gone).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskFailure {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One task of a DescribeTasks answer, with the fields benchlab reads; the others are
/// ignored. Every field but the ARN may be absent (an emulator leaves most out).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribedTask {
    pub task_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_arn: Option<String>,
    /// `PROVISIONING`, `PENDING`, `ACTIVATING`, `RUNNING`, …, `STOPPED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    /// CPU units, as a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// MiB, as a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    /// ECS accepted the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<AwsTime>,
    /// The task's network interface was connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connectivity_at: Option<AwsTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_started_at: Option<AwsTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_stopped_at: Option<AwsTime>,
    /// The task reached RUNNING: its containers were started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<AwsTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopping_at: Option<AwsTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_stopped_at: Option<AwsTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<AwsTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
    /// `TaskFailedToStart`, `EssentialContainerExited`, `UserInitiated`, ….
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_status: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<TaskContainer>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<TaskAttachment>,
}

/// A container of a described task.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskContainer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// What the tag resolved to when the image was pulled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Why it stopped, or could not start (`CannotPullContainerError: …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_status: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network_interfaces: Vec<NetworkInterface>,
}

/// A container's network interface (with `awsvpc`, the task's).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkInterface {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_ipv4_address: Option<String>,
}

/// An attachment of a described task: with `awsvpc`, its `ElasticNetworkInterface`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskAttachment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `subnetId`, `networkInterfaceId`, `macAddress`, `privateDnsName`,
    /// `privateIPv4Address`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<AttachmentDetail>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl DescribedTask {
    /// The task's private address: the `privateIPv4Address` of its `ElasticNetworkInterface`
    /// attachment, else the first a container's network interface gives.
    pub fn private_ipv4(&self) -> Option<Ipv4Addr> {
        let from_eni = self
            .attachments
            .iter()
            .filter(|a| a.kind.as_deref() == Some("ElasticNetworkInterface"))
            .flat_map(|a| &a.details)
            .filter(|d| d.name.as_deref() == Some("privateIPv4Address"))
            .find_map(|d| d.value.as_deref()?.parse().ok());
        from_eni.or_else(|| {
            self.containers
                .iter()
                .flat_map(|c| &c.network_interfaces)
                .find_map(|i| i.private_ipv4_address.as_deref()?.parse().ok())
        })
    }

    /// Why the task stopped, for an error message: `stoppedReason` with its `stopCode`, then
    /// each container's reason and the exit code of a stopped one, such as `CannotPullContainerError: … (stop code
    /// TaskFailedToStart); container service: CannotPullContainerError: ref not found`.
    /// `None` when ECS says nothing about it.
    pub fn stop_reason(&self) -> Option<String> {
        let mut parts = Vec::new();
        match (&self.stopped_reason, &self.stop_code) {
            (Some(reason), Some(code)) => parts.push(format!("{reason} (stop code {code})")),
            (Some(reason), None) => parts.push(reason.clone()),
            (None, Some(code)) => parts.push(format!("stop code {code}")),
            (None, None) => {}
        }
        for container in &self.containers {
            // An exit code means something only once the container stopped (an emulator
            // gives 0 to a PENDING one).
            let stopped = matches!(container.last_status.as_deref(), None | Some("STOPPED"));
            let exit_code = container.exit_code.filter(|_| stopped);
            let about: Vec<String> = container
                .reason
                .iter()
                .cloned()
                .chain(exit_code.map(|code| format!("exit code {code}")))
                .collect();
            if !about.is_empty() {
                let name = container.name.as_deref().unwrap_or("(unnamed)");
                parts.push(format!("container {name}: {}", about.join(", ")));
            }
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// A JSON text that does not have the shape expected, with where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// The value at fault as a path (`tasks[0].pullStartedAt`), when inside the document.
    pub path: Option<String>,
    /// 1-based; 0 when serde_json does not know.
    pub line: usize,
    pub column: usize,
    /// What was wrong and what was expected.
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "`{path}`: ")?;
        }
        if self.line > 0 {
            write!(f, "line {}, column {}: ", self.line, self.column)?;
        }
        f.write_str(&self.message)
    }
}

/// Why a DescribeTasks answer or a `timeline.json` cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimelineError {
    #[error("invalid DescribeTasks answer: {0}")]
    DescribeTasks(JsonError),
    #[error("invalid timeline.json: {0}")]
    Json(JsonError),
    #[error("timeline.json has format version {found}, this runner reads version {FORMAT}")]
    Version { found: u32 },
}

/// Reads `text` into `T`; errors name the path of the value at fault.
fn read_json<T: DeserializeOwned>(text: &str) -> Result<T, JsonError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        json_error((path != ".").then_some(path), err.into_inner())
    })?;
    // Anything after the document.
    deserializer.end().map_err(|err| json_error(None, err))?;
    Ok(value)
}

fn json_error(path: Option<String>, error: serde_json::Error) -> JsonError {
    // serde_json's text ends with the place, which is given apart.
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let message = error.to_string();
    JsonError {
        path,
        line: error.line(),
        column: error.column(),
        message: message.strip_suffix(&suffix).unwrap_or(&message).to_owned(),
    }
}

/// Parses a DescribeTasks answer, the API's JSON or the AWS CLI's. An error names the path
/// of the value at fault (`tasks[0].pullStartedAt`) and what was expected.
pub fn parse_describe_tasks(text: &str) -> Result<DescribeTasks, TimelineError> {
    read_json(text).map_err(TimelineError::DescribeTasks)
}

/// The step of a launch that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LaunchStage {
    /// RegisterTaskDefinition.
    Register,
    /// RunTask.
    Run,
    /// Waiting for DescribeTasks to say RUNNING.
    Running,
    /// Probing `GET /hello` for a 200.
    Probe,
    /// StopTask.
    Stop,
    /// DeregisterTaskDefinition.
    Deregister,
}

impl LaunchStage {
    /// As in JSON and CSV: `register`, `run`, `running`, `probe`, `stop`, `deregister`.
    pub fn name(self) -> &'static str {
        match self {
            LaunchStage::Register => "register",
            LaunchStage::Run => "run",
            LaunchStage::Running => "running",
            LaunchStage::Probe => "probe",
            LaunchStage::Stop => "stop",
            LaunchStage::Deregister => "deregister",
        }
    }
}

impl fmt::Display for LaunchStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a launch failed and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchFailure {
    pub stage: LaunchStage,
    pub reason: String,
}

/// One launch: a task definition registered for an image at a size, one task run from it
/// until `GET /hello` answered 200, then stopped and deregistered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Launch {
    pub framework: Framework,
    pub base: Base,
    pub size: FargateSize,
    pub family: String,
    /// The image reference the task definition names.
    pub image: String,
    pub task_definition_arn: Option<String>,
    pub task_arn: Option<String>,
    /// The runner's wall clock when it sent RunTask.
    pub run_task_sent: Option<AwsTime>,
    /// Milliseconds after RunTask was sent, on the runner's monotonic clock: RunTask
    /// answered.
    pub run_task_answered_ms: Option<Millis>,
    /// The first DescribeTasks answer that said RUNNING.
    pub running_seen_ms: Option<Millis>,
    /// The first 200 of `GET /hello`.
    pub first_200_ms: Option<Millis>,
    /// DescribeTasks calls made.
    pub polls: u32,
    /// `GET /hello` attempts until the first 200.
    pub probes: u32,
    /// Where the probes went: `10.0.1.184:8080`.
    pub probe_target: Option<String>,
    /// The last DescribeTasks answer for the task before it was stopped.
    pub task: Option<DescribedTask>,
    pub failure: Option<LaunchFailure>,
    /// What could not be stopped or deregistered, each as a message.
    pub cleanup: Vec<String>,
}

/// A launch's phases in milliseconds; `None` where an input is missing. Cross-clock values
/// are kept as they are, negative ones included.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Phases {
    /// createdAt → pullStartedAt: capacity and the network interface (AWS's clock).
    pub provisioning: Option<Millis>,
    /// pullStartedAt → pullStoppedAt: the image pulled and unpacked (AWS's clock).
    pub pull: Option<Millis>,
    /// pullStoppedAt → startedAt (AWS's clock).
    pub start: Option<Millis>,
    /// startedAt → the first 200, dated on the runner's wall clock as RunTask sent +
    /// `first_200_ms`: two clocks.
    pub ready: Option<Millis>,
    /// RunTask sent → the first 200, on the runner's monotonic clock alone.
    pub total: Option<Millis>,
}

impl Launch {
    /// A launch of `image` (`framework` on `base`) at `size` from the task definition
    /// `family`, with nothing recorded yet.
    pub fn new(
        framework: Framework,
        base: Base,
        size: FargateSize,
        family: String,
        image: String,
    ) -> Launch {
        Launch {
            framework,
            base,
            size,
            family,
            image,
            task_definition_arn: None,
            task_arn: None,
            run_task_sent: None,
            run_task_answered_ms: None,
            running_seen_ms: None,
            first_200_ms: None,
            polls: 0,
            probes: 0,
            probe_target: None,
            task: None,
            failure: None,
            cleanup: Vec::new(),
        }
    }

    /// The launch's phases, from its last DescribeTasks answer and the runner's times.
    pub fn phases(&self) -> Phases {
        let task = self.task.as_ref();
        let at = |field: fn(&DescribedTask) -> Option<AwsTime>| task.and_then(field);
        let between = |from: Option<AwsTime>, to: Option<AwsTime>| Some(to?.millis_since(&from?));
        let started = at(|t| t.started_at);
        Phases {
            provisioning: between(at(|t| t.created_at), at(|t| t.pull_started_at)),
            pull: between(at(|t| t.pull_started_at), at(|t| t.pull_stopped_at)),
            start: between(at(|t| t.pull_stopped_at), started),
            // To the microsecond, the precision of the instants it comes from.
            ready: between(started, self.run_task_sent).and_then(|sent_after_start| {
                Some(((sent_after_start + self.first_200_ms?) * 1e3).round() / 1e3)
            }),
            total: self.first_200_ms,
        }
    }

    pub fn is_failed(&self) -> bool {
        self.failure.is_some()
    }

    /// `axum on scratch`.
    pub fn subject(&self) -> String {
        format!("{} on {}", self.framework, self.base)
    }

    /// `ok`, or `failed at <stage>: <reason>`.
    pub fn status(&self) -> String {
        match &self.failure {
            None => "ok".to_owned(),
            Some(failure) => format!("failed at {}: {}", failure.stage, failure.reason),
        }
    }
}

/// `timeline.json`: a whole `bench-runner fargate run`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FargateRun {
    /// [`FORMAT`] when written.
    pub format: u32,
    pub region: String,
    pub cluster: String,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
    /// The endpoint override, when one was used (an emulator): its launches have no AWS
    /// timings.
    pub endpoint: Option<String>,
    /// RFC 3339.
    pub started: String,
    pub ended: Option<String>,
    /// Provenance the runner fills: `host`, `commit`, `version`.
    pub runner: BTreeMap<String, String>,
    pub launches: Vec<Launch>,
}

impl FargateRun {
    /// `timeline.json`: pretty, with a final newline.
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self)
            .expect("a Fargate run has string keys and finite numbers");
        json.push('\n');
        json
    }

    /// Reads a `timeline.json` back; one of another format is refused by its version.
    pub fn from_json(json: &str) -> Result<FargateRun, TimelineError> {
        #[derive(Deserialize)]
        struct Version {
            format: u32,
        }
        let Version { format } = read_json(json).map_err(TimelineError::Json)?;
        if format != FORMAT {
            return Err(TimelineError::Version { found: format });
        }
        read_json(json).map_err(TimelineError::Json)
    }

    /// Whether any launch failed: the runner's exit status.
    pub fn any_failed(&self) -> bool {
        self.launches.iter().any(Launch::is_failed)
    }
}

/// What stands for a value that does not exist in the table.
const ABSENT: &str = "—";

/// Seconds with two decimals, or [`ABSENT`].
fn seconds(ms: Option<Millis>) -> String {
    ms.map_or_else(|| ABSENT.to_owned(), |ms| format!("{:.2} s", ms / 1e3))
}

/// `text` fit for a table cell: no line breaks, no column separators.
fn table_cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// `a, b`, each in backticks; `none` for none.
fn code_list(items: &[String]) -> String {
    if items.is_empty() {
        return "none".to_owned();
    }
    items
        .iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `timeline.md`: where the run went, a row per launch with its phases in seconds, what
/// was left behind, and how to read the columns.
pub fn markdown(run: &FargateRun) -> String {
    let mut out = String::from("# Fargate launches: from RunTask to the first 200\n\n");
    if let Some(endpoint) = &run.endpoint {
        let _ = writeln!(
            out,
            "**Measured against an emulator at {endpoint}: no AWS timings.** An emulator \
             gives no task timestamps, so provisioning, pull, start and ready are empty, and \
             total is the emulator's and this machine's time, not Fargate's.\n"
        );
    }
    let _ = writeln!(
        out,
        "Region `{}`, cluster `{}`, subnets {}, security groups {}, public IP {}.",
        run.region,
        run.cluster,
        code_list(&run.subnets),
        code_list(&run.security_groups),
        if run.assign_public_ip {
            "assigned"
        } else {
            "not assigned"
        },
    );
    let _ = write!(out, "Started {}", run.started);
    match &run.ended {
        Some(ended) => {
            let _ = write!(out, ", ended {ended}.");
        }
        None => out.push_str(", not finished."),
    }
    if !run.runner.is_empty() {
        let runner: Vec<String> = run
            .runner
            .iter()
            .map(|(key, value)| format!("{key} `{value}`"))
            .collect();
        let _ = write!(out, " Runner: {}.", runner.join(", "));
    }
    out.push_str("\n\n");
    let failed = run.launches.iter().filter(|l| l.is_failed()).count();
    let _ = write!(
        out,
        "{} launch{}: {} ok, {failed} failed.",
        run.launches.len(),
        if run.launches.len() == 1 { "" } else { "es" },
        run.launches.len() - failed,
    );
    // The chart exists when a launch has a bar (see [`chart`]).
    if run
        .launches
        .iter()
        .any(|l| !l.is_failed() && bar(l).is_some())
    {
        let _ = write!(out, " Chart: [{CHART_FILE}]({CHART_FILE}).");
    }
    out.push_str("\n\n");
    out.push_str(
        "| image | size | provisioning | pull | start | ready | total | probes | status |\n",
    );
    out.push_str("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
    for launch in &run.launches {
        let phases = launch.phases();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            launch.subject(),
            launch.size,
            seconds(phases.provisioning),
            seconds(phases.pull),
            seconds(phases.start),
            seconds(phases.ready),
            seconds(phases.total),
            launch.probes,
            table_cell(&launch.status()),
        );
    }
    out.push('\n');
    let left: Vec<(&Launch, &String)> = run
        .launches
        .iter()
        .flat_map(|l| l.cleanup.iter().map(move |message| (l, message)))
        .collect();
    if !left.is_empty() {
        out.push_str(
            "## Left behind\n\nRemove these by hand: a task still running is still billed.\n\n",
        );
        for (launch, message) in left {
            let _ = writeln!(out, "- {}, {}: {message}", launch.subject(), launch.size);
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "## Notes\n\n\
         - **provisioning** (createdAt → pullStartedAt: capacity found, the network interface \
         attached), **pull** (pullStartedAt → pullStoppedAt) and **start** (pullStoppedAt → \
         startedAt) are ECS's own timestamps, all on AWS's clock.\n\
         - **ready** is from startedAt to the first 200 of `GET /hello`, that 200 dated on the \
         runner's wall clock (RunTask sent + the time to the first 200): two clocks, so it \
         carries their offset; a negative value says they disagree by more than the phase \
         lasted. The probes also cross the network from the runner to the task.\n\
         - **total** is from sending RunTask to the first 200 on the runner's monotonic clock \
         alone: the figure to trust. It holds the phases above and what comes before createdAt \
         (the RunTask call itself).\n\
         - {ABSENT}: the API gave no timestamp for that phase (an emulator gives none), or the \
         launch never got that far.\n\
         - **probes**: `GET /hello` attempts until the first 200.\n\
         - **pull** is the column that grows with the image: each Fargate task pulls its \
         image from the registry (the stored size of the image table's \"In a registry\" \
         section, `bench-runner push`) and unpacks it before it starts. Provisioning does not \
         depend on the image."
    );
    out
}

/// The fixed header of `timeline.csv`, one row per launch in the run's order; times in ms
/// (`_ms`), instants in RFC 3339 UTC. An empty field is a value that does not exist.
pub const CSV_COLUMNS: &[&str] = &[
    "framework",
    "base",
    "cpu_units",
    "memory_mib",
    "image",
    "family",
    "status",
    "failure_stage",
    "failure_reason",
    "provisioning_ms",
    "pull_ms",
    "start_ms",
    "ready_ms",
    "total_ms",
    "run_task_sent",
    "run_task_answered_ms",
    "running_seen_ms",
    "first_200_ms",
    "polls",
    "probes",
    "probe_target",
    "task_definition_arn",
    "task_arn",
    "last_status",
    "created_at",
    "pull_started_at",
    "pull_stopped_at",
    "started_at",
    "stopped_at",
    "stop_reason",
    "availability_zone",
    "platform_version",
    "cleanup",
];

/// `timeline.csv`: [`CSV_COLUMNS`], raw milliseconds.
pub fn csv(run: &FargateRun) -> String {
    let rows = run.launches.iter().map(|launch| {
        let phases = launch.phases();
        let task = launch.task.as_ref();
        let text = |field: fn(&DescribedTask) -> Option<&String>| {
            task.and_then(field).cloned().unwrap_or_default()
        };
        let instant = |field: fn(&DescribedTask) -> Option<AwsTime>| {
            task.and_then(field)
                .map(|t| t.to_string())
                .unwrap_or_default()
        };
        let (status, stage, reason) = match &launch.failure {
            None => ("ok", "", String::new()),
            Some(f) => ("failed", f.stage.name(), f.reason.clone()),
        };
        let row = vec![
            launch.framework.to_string(),
            launch.base.to_string(),
            launch.size.cpu_units.to_string(),
            launch.size.memory_mib.to_string(),
            launch.image.clone(),
            launch.family.clone(),
            status.to_owned(),
            stage.to_owned(),
            reason,
            opt(phases.provisioning),
            opt(phases.pull),
            opt(phases.start),
            opt(phases.ready),
            opt(phases.total),
            launch
                .run_task_sent
                .map(|t| t.to_string())
                .unwrap_or_default(),
            opt(launch.run_task_answered_ms),
            opt(launch.running_seen_ms),
            opt(launch.first_200_ms),
            launch.polls.to_string(),
            launch.probes.to_string(),
            launch.probe_target.clone().unwrap_or_default(),
            launch.task_definition_arn.clone().unwrap_or_default(),
            launch.task_arn.clone().unwrap_or_default(),
            text(|t| t.last_status.as_ref()),
            instant(|t| t.created_at),
            instant(|t| t.pull_started_at),
            instant(|t| t.pull_stopped_at),
            instant(|t| t.started_at),
            instant(|t| t.stopped_at),
            task.and_then(DescribedTask::stop_reason)
                .unwrap_or_default(),
            text(|t| t.availability_zone.as_ref()),
            text(|t| t.platform_version.as_ref()),
            launch.cleanup.join("; "),
        ];
        debug_assert_eq!(row.len(), CSV_COLUMNS.len());
        row
    });
    table(CSV_COLUMNS, rows)
}

/// A segment of the chart's bars.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Provisioning,
    Pull,
    Start,
    Ready,
    /// RunTask sent → the first 200, for a launch without ECS's timestamps.
    Total,
}

impl Phase {
    pub const ALL: [Phase; 5] = [
        Phase::Provisioning,
        Phase::Pull,
        Phase::Start,
        Phase::Ready,
        Phase::Total,
    ];

    /// The legend's name.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Provisioning => "provisioning",
            Phase::Pull => "pull",
            Phase::Start => "start",
            Phase::Ready => "ready (two clocks)",
            Phase::Total => "RunTask → first 200 (no ECS timestamps)",
        }
    }

    /// Okabe and Ito's colours, as the other charts use them.
    fn colour(self) -> RGBColor {
        match self {
            Phase::Provisioning => RGBColor(0, 114, 178),
            Phase::Pull => RGBColor(213, 94, 0),
            Phase::Start => RGBColor(0, 158, 115),
            Phase::Ready => RGBColor(204, 121, 167),
            Phase::Total => RGBColor(120, 120, 120),
        }
    }
}

/// A drawn segment, in seconds from its bar's origin.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Segment {
    pub phase: Phase,
    pub from_s: f64,
    pub to_s: f64,
}

/// A launch's bar, top to bottom in the run's order.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// `axum on scratch @ 0.25 vCPU` (with the memory when it is not the least Fargate
    /// pairs with that CPU).
    pub label: String,
    pub segments: Vec<Segment>,
    /// RunTask → first 200, one clock: written at the bar's end.
    pub total_ms: Option<Millis>,
}

/// `timeline.svg` and what it drew.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineChart {
    pub title: String,
    pub x_title: String,
    pub bars: Vec<Bar>,
    pub svg: String,
}

/// A bar's label.
fn bar_label(launch: &Launch) -> String {
    let size = launch.size;
    let least = FargateSize::smallest_of(size.cpu_units).ok();
    if least == Some(size) {
        format!("{} @ {} vCPU", launch.subject(), size.vcpus())
    } else {
        format!("{} @ {size}", launch.subject())
    }
}

/// A launch's bar: its phases placed in seconds since createdAt; or, without ECS's
/// timestamps, one segment from RunTask to the first 200; `None` with nothing to draw. A
/// phase with a negative length (the clocks disagree) is not drawn, and the label says so.
fn bar(launch: &Launch) -> Option<Bar> {
    let phases = launch.phases();
    let task = launch.task.as_ref();
    let mut label = bar_label(launch);
    let mut segments = Vec::new();
    if let Some(created) = task.and_then(|t| t.created_at) {
        let since = |at: Option<AwsTime>| at.map(|at| at.millis_since(&created) / 1e3);
        let started = since(task.and_then(|t| t.started_at));
        let points = [
            (Phase::Provisioning, Some(0.0), phases.provisioning),
            (
                Phase::Pull,
                since(task.and_then(|t| t.pull_started_at)),
                phases.pull,
            ),
            (
                Phase::Start,
                since(task.and_then(|t| t.pull_stopped_at)),
                phases.start,
            ),
            (Phase::Ready, started, phases.ready),
        ];
        let mut disagree = false;
        for (phase, from_s, length) in points {
            let (Some(from_s), Some(length)) = (from_s, length) else {
                continue;
            };
            if length < 0.0 {
                disagree = true;
                continue;
            }
            segments.push(Segment {
                phase,
                from_s,
                to_s: from_s + length / 1e3,
            });
        }
        if disagree {
            label.push_str(" (clocks disagree)");
        }
    }
    if segments.is_empty() {
        segments.push(Segment {
            phase: Phase::Total,
            from_s: 0.0,
            to_s: phases.total? / 1e3,
        });
    }
    Some(Bar {
        label,
        segments,
        total_ms: phases.total,
    })
}

/// `timeline.svg`: a horizontal bar per launch that succeeded, its phases stacked in
/// seconds since createdAt (provisioning, pull, start, ready), or for a launch without ECS's
/// timestamps a grey bar from RunTask to the first 200; each bar ends with its total. The
/// title says how many launches are not drawn. `None` when no launch has a bar.
pub fn chart(run: &FargateRun) -> Option<TimelineChart> {
    let ok: Vec<&Launch> = run.launches.iter().filter(|l| !l.is_failed()).collect();
    let bars: Vec<Bar> = ok.iter().filter_map(|l| bar(l)).collect();
    if bars.is_empty() {
        return None;
    }
    let failed = run.launches.len() - ok.len();
    let untimed = ok.len() - bars.len();
    let mut missing = Vec::new();
    if failed > 0 {
        missing.push(format!(
            "{failed} failed launch{} not shown",
            if failed == 1 { "" } else { "es" }
        ));
    }
    if untimed > 0 {
        missing.push(format!("{untimed} without any timing not shown"));
    }
    let mut title = "Fargate launches: from createdAt to the first 200".to_owned();
    if !missing.is_empty() {
        let _ = write!(title, " ({})", missing.join(", "));
    }
    let x_title = if bars
        .iter()
        .any(|b| b.segments.iter().any(|s| s.phase == Phase::Total))
    {
        "seconds since createdAt (grey bars: since RunTask was sent)"
    } else {
        "seconds since createdAt"
    };
    let svg = draw_bars(&title, x_title, &bars);
    Some(TimelineChart {
        title,
        x_title: x_title.to_owned(),
        bars,
        svg,
    })
}

/// The height of the legend's strip under the chart, in pixels.
const LEGEND_STRIP: u32 = 36;

/// The chart's SVG, drawn the way `crate::charts` draws (same width, fonts and palette); a
/// drawing error (none is expected: the canvas is memory) leaves a note instead. The legend
/// is a strip under the chart, so that it never covers a bar.
fn draw_bars(title: &str, x_title: &str, bars: &[Bar]) -> String {
    let n = bars.len();
    // Row 0 at the top.
    let y = |row: usize| (n - 1 - row) as f64;
    let names: Vec<String> = bars.iter().rev().map(|b| b.label.clone()).collect();
    let max_x = bars
        .iter()
        .flat_map(|b| &b.segments)
        .map(|s| s.to_s)
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let phases: Vec<Phase> = Phase::ALL
        .into_iter()
        .filter(|&phase| {
            bars.iter()
                .flat_map(|b| &b.segments)
                .any(|s| s.phase == phase)
        })
        .collect();
    let size = (860, (150 + 40 * n as u32).max(500) + LEGEND_STRIP);
    let margin = 14;
    crate::charts::draw_sized(title, size, |area| {
        let (upper, strip) = area.split_vertically(size.1 - LEGEND_STRIP);
        let mut chart = ChartBuilder::on(&upper)
            .caption(title, ("sans-serif", 20))
            .margin(margin)
            .x_label_area_size(50)
            .y_label_area_size(250)
            // Room on the right for each bar's total.
            .build_cartesian_2d(0f64..max_x * 1.3, -0.6f64..n as f64 - 0.4)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(x_title)
            .y_desc("launch")
            .y_labels(n)
            .y_label_formatter(&|v| {
                let index = v.round();
                if (v - index).abs() < 1e-6 && index >= 0.0 {
                    names.get(index as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .x_label_formatter(&|x| format!("{x:.0}"))
            .draw()?;
        for &phase in &phases {
            let colour = phase.colour();
            chart.draw_series(
                bars.iter()
                    .enumerate()
                    .flat_map(|(row, b)| b.segments.iter().map(move |s| (row, s)))
                    .filter(|(_, s)| s.phase == phase)
                    .map(|(row, s)| {
                        Rectangle::new(
                            [(s.from_s, y(row) - 0.3), (s.to_s, y(row) + 0.3)],
                            colour.filled(),
                        )
                    }),
            )?;
        }
        let left =
            TextStyle::from(("sans-serif", 11).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
        chart.draw_series(bars.iter().enumerate().filter_map(|(row, b)| {
            let end = b.segments.iter().map(|s| s.to_s).fold(0.0, f64::max);
            Some(Text::new(
                format!("total {:.2} s", b.total_ms? / 1e3),
                (end + max_x * 0.01, y(row)),
                left.clone(),
            ))
        }))?;
        // The legend, left to right: a swatch and the phase's name each (about 7 px a
        // character at 13 px, so that all five fit in the width).
        let text =
            TextStyle::from(("sans-serif", 13).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
        let middle = (LEGEND_STRIP / 2) as i32;
        let mut x = 2 * margin;
        for &phase in &phases {
            strip.draw(&Rectangle::new(
                [(x, middle - 6), (x + 20, middle + 6)],
                phase.colour().filled(),
            ))?;
            strip.draw(&Text::new(phase.name(), (x + 26, middle), text.clone()))?;
            x += 26 + 7 * phase.name().chars().count() as i32 + 24;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    //! The fixtures in `tests/fixtures/ecs-describe-tasks-*.json` are hand-written in the
    //! shape of the examples of aws-cli's `describe-tasks.rst` (see the fixtures' README):
    //! one Fargate task with an ENI attachment, RUNNING, its instants as epoch seconds (the
    //! API's JSON) and as RFC 3339 with a -05:00 offset (the CLI v2); and one STOPPED before
    //! it ran, its image not found. The sample run's figures follow from them by hand:
    //!
    //! - axum on scratch at 0.25 vCPU: created 15:00:00.412, pull 15:00:11.305 to
    //!   15:00:12.046, started 15:00:12.960 (UTC); RunTask sent at 15:00:00.268 by the
    //!   runner's clock and the first 200 13 171.9 ms later, at 15:00:13.4399: provisioning
    //!   10 893 ms, pull 741, start 914, ready 479.9, total 13 171.9.
    //! - hyper on distroless at 0.5 vCPU: an answer shaped like moto 5.2.5's, with no
    //!   timestamps: only total (402.7 ms).
    //! - salvo on debian at 1 vCPU: stopped before RUNNING (its image is not in the
    //!   registry), after 10 811 ms of provisioning; its task definition was left behind.

    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn first_task(name: &str) -> DescribedTask {
        let answer = parse_describe_tasks(&fixture(name)).unwrap();
        answer.tasks.into_iter().next().unwrap()
    }

    fn at(text: &str) -> AwsTime {
        serde_json::from_value(serde_json::Value::String(text.to_owned())).unwrap()
    }

    /// What moto 5.2.5 answers for a Fargate task it RUNs: the interface's details, no
    /// timestamp at all, and a container still PENDING with an exit code of 0.
    const EMULATOR_ANSWER: &str = r#"{"tasks": [{
        "attachments": [{"id": "8c8e6c4b-7d62-4be7-bd72-c0593c8c75b7",
            "type": "ElasticNetworkInterface", "status": "ATTACHED",
            "details": [{"name": "subnetId", "value": "subnet-f7d8c53313e8f6879"},
                {"name": "networkInterfaceId", "value": "eni-8f765a891e86b850c"},
                {"name": "privateDnsName", "value": "ip-10-209-8-27.ec2.internal"},
                {"name": "privateIPv4Address", "value": "10.209.8.27"}]}],
        "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/benchlab",
        "containers": [{"name": "service", "lastStatus": "PENDING", "exitCode": 0,
            "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/benchlab/hyper:distroless",
            "networkInterfaces": []}],
        "desiredStatus": "RUNNING", "lastStatus": "RUNNING", "launchType": "FARGATE",
        "taskArn": "arn:aws:ecs:us-east-1:123456789012:task/benchlab/5a1d0c27e0fd4b2e9e1b8e9c6f0a1d3e",
        "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/benchlab-hyper-distroless-0_5vcpu-1gb:1"
    }], "failures": []}"#;

    fn size(text: &str) -> FargateSize {
        text.parse().unwrap()
    }

    fn image(framework: Framework, base: Base) -> String {
        crate::catalog::image_tag(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/benchlab",
            framework,
            base,
        )
    }

    fn launch(framework: Framework, base: Base, at: &str) -> Launch {
        let size = size(at);
        Launch::new(
            framework,
            base,
            size,
            super::super::taskdef::family(framework, base, size),
            image(framework, base),
        )
    }

    fn with_task(mut launch: Launch, task: DescribedTask) -> Launch {
        launch.task_definition_arn = task.task_definition_arn.clone();
        launch.task_arn = Some(task.task_arn.clone());
        launch.task = Some(task);
        launch
    }

    pub(crate) fn sample() -> FargateRun {
        let mut axum = with_task(
            launch(Framework::Axum, Base::Scratch, "0.25"),
            first_task("ecs-describe-tasks-running-epoch.json"),
        );
        axum.run_task_sent = AwsTime::from_unix_millis(1_795_705_200_268);
        axum.run_task_answered_ms = Some(238.0);
        axum.running_seen_ms = Some(12_861.6);
        axum.first_200_ms = Some(13_171.9);
        axum.polls = 13;
        axum.probes = 4;
        axum.probe_target = Some("10.0.1.184:8080".to_owned());

        let emulated = parse_describe_tasks(EMULATOR_ANSWER)
            .unwrap()
            .tasks
            .remove(0);
        let mut hyper = with_task(launch(Framework::Hyper, Base::Distroless, "0.5"), emulated);
        hyper.run_task_sent = AwsTime::from_unix_millis(1_795_705_240_000);
        hyper.run_task_answered_ms = Some(31.2);
        hyper.running_seen_ms = Some(118.4);
        hyper.first_200_ms = Some(402.7);
        hyper.polls = 2;
        hyper.probes = 3;
        hyper.probe_target = Some("10.209.8.27:8080".to_owned());

        let stopped = first_task("ecs-describe-tasks-stopped.json");
        let reason = format!(
            "the task stopped before RUNNING: {}",
            stopped.stop_reason().unwrap()
        );
        let mut salvo = with_task(launch(Framework::Salvo, Base::Debian, "1"), stopped);
        salvo.run_task_sent = AwsTime::from_unix_millis(1_795_705_290_051);
        salvo.run_task_answered_ms = Some(176.5);
        salvo.polls = 31;
        salvo.failure = Some(LaunchFailure {
            stage: LaunchStage::Running,
            reason,
        });
        salvo.cleanup = vec![
            "could not deregister benchlab-salvo-debian-1vcpu-2gb:1: AccessDeniedException: \
             not authorized to perform ecs:DeregisterTaskDefinition"
                .to_owned(),
        ];

        FargateRun {
            format: FORMAT,
            region: "us-east-1".to_owned(),
            cluster: "benchlab".to_owned(),
            subnets: vec!["subnet-0a1b2c3d4e5f60718".to_owned()],
            security_groups: vec!["sg-0123456789abcdef0".to_owned()],
            assign_public_ip: false,
            endpoint: None,
            started: "2026-11-26T15:00:00Z".to_owned(),
            ended: Some("2026-11-26T15:02:03Z".to_owned()),
            runner: BTreeMap::from([
                ("commit".to_owned(), "89ab6e7".to_owned()),
                ("host".to_owned(), "lab-1".to_owned()),
                ("version".to_owned(), "0.1.0".to_owned()),
            ]),
            launches: vec![axum, hyper, salvo],
        }
    }

    #[test]
    fn times_read_from_either_form_and_write_utc() {
        assert_eq!(
            at("2021-12-20T12:13:20.226000-05:00").to_string(),
            "2021-12-20T17:13:20.226Z"
        );
        let epoch: AwsTime = serde_json::from_str("1557134011.644").unwrap();
        assert_eq!(epoch.to_string(), "2019-05-06T09:13:31.644Z");
        assert_eq!(epoch, at("2019-05-06T05:13:31.644-04:00"));
        let whole: AwsTime = serde_json::from_str("1557134011").unwrap();
        assert_eq!(whole.to_string(), "2019-05-06T09:13:31.000Z");
        assert_eq!(epoch.millis_since(&whole), 644.0);
        assert_eq!(whole.millis_since(&epoch), -644.0);
        // Below the millisecond, kept and written.
        let fine = at("2021-12-20T17:13:20.226501Z");
        assert_eq!(fine.to_string(), "2021-12-20T17:13:20.226501Z");
        assert_eq!(fine.millis_since(&at("2021-12-20T17:13:20.226Z")), 0.501);
        for time in [epoch, whole, fine] {
            let json = serde_json::to_string(&time).unwrap();
            assert_eq!(serde_json::from_str::<AwsTime>(&json).unwrap(), time);
        }
        assert_eq!(
            AwsTime::from_unix_millis(0).unwrap().to_string(),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            AwsTime::from_unix_millis(1_557_134_011_644),
            Some(epoch),
            "the runner's wall clock"
        );
        assert_eq!(
            AwsTime::from_datetime(time::macros::datetime!(2019-05-06 09:13:31.644 UTC)),
            Some(epoch)
        );
        assert_eq!(AwsTime::from_unix_millis(i64::MAX), None);
        assert_eq!(
            AwsTime::from_unix_micros(253_402_300_800_000_000),
            None,
            "year 10000"
        );
        for bad in [
            r#""yesterday""#,
            r#""2021-12-20 17:13:20""#,
            "1e300",
            "-1e15",
            "true",
        ] {
            let err = serde_json::from_str::<AwsTime>(bad)
                .unwrap_err()
                .to_string();
            assert!(err.contains("expected a timestamp"), "{bad}: {err}");
        }
    }

    #[test]
    fn both_forms_of_describe_tasks_give_the_same_task() {
        let epoch = parse_describe_tasks(&fixture("ecs-describe-tasks-running-epoch.json"));
        let rfc3339 = parse_describe_tasks(&fixture("ecs-describe-tasks-running-rfc3339.json"));
        assert_eq!(epoch, rfc3339);
        let answer = epoch.unwrap();
        assert!(answer.failures.is_empty());
        let task = &answer.tasks[0];
        let instants: Vec<String> = [
            task.created_at,
            task.connectivity_at,
            task.pull_started_at,
            task.pull_stopped_at,
            task.started_at,
        ]
        .iter()
        .map(|t| t.unwrap().to_string())
        .collect();
        assert_eq!(
            instants,
            [
                "2026-11-26T15:00:00.412Z",
                "2026-11-26T15:00:04.871Z",
                "2026-11-26T15:00:11.305Z",
                "2026-11-26T15:00:12.046Z",
                "2026-11-26T15:00:12.960Z"
            ]
        );
        assert_eq!(task.private_ipv4(), Some(Ipv4Addr::new(10, 0, 1, 184)));
        assert_eq!(task.last_status.as_deref(), Some("RUNNING"));
        assert_eq!(
            (task.cpu.as_deref(), task.memory.as_deref()),
            (Some("256"), Some("512"))
        );
        assert_eq!(
            task.containers[0].image_digest.as_deref(),
            Some("sha256:4e07408562bedb8b60ce05c1decfe3ad16b72230967de01f640b7e4729b49fce")
        );
        assert_eq!(task.stop_reason(), None, "a running task has none");
    }

    #[test]
    fn a_stopped_task_says_why_and_failures_are_kept() {
        let answer = parse_describe_tasks(&fixture("ecs-describe-tasks-stopped.json")).unwrap();
        assert_eq!(
            answer.failures,
            [TaskFailure {
                arn: Some(
                    "arn:aws:ecs:us-east-1:123456789012:task/benchlab/00000000000000000000000000000000"
                        .to_owned()
                ),
                reason: Some("MISSING".to_owned()),
                detail: None,
            }]
        );
        let task = &answer.tasks[0];
        assert_eq!(task.last_status.as_deref(), Some("STOPPED"));
        assert_eq!(
            task.stop_reason().unwrap(),
            "CannotPullContainerError: pull image manifest has been retried 7 time(s): failed \
             to resolve ref 123456789012.dkr.ecr.us-east-1.amazonaws.com/benchlab/salvo:debian: \
             not found (stop code TaskFailedToStart); container service: \
             CannotPullContainerError: ref not found"
        );
        assert_eq!((task.pull_stopped_at, task.started_at), (None, None));
        assert_eq!(task.private_ipv4(), Some(Ipv4Addr::new(10, 0, 1, 57)));

        // An emulator's answer: the address from the attachment, and nothing to say about
        // a stop in the exit code of a PENDING container.
        let emulated = parse_describe_tasks(EMULATOR_ANSWER)
            .unwrap()
            .tasks
            .remove(0);
        assert_eq!(emulated.private_ipv4(), Some(Ipv4Addr::new(10, 209, 8, 27)));
        assert_eq!(emulated.created_at, None);
        assert_eq!(emulated.stop_reason(), None);

        // Without an ENI attachment, a container's interface; without either, nothing.
        let mut bare = task.clone();
        bare.attachments.clear();
        assert_eq!(bare.private_ipv4(), Some(Ipv4Addr::new(10, 0, 1, 57)));
        bare.containers[0].network_interfaces.clear();
        assert_eq!(bare.private_ipv4(), None);
        bare.stopped_reason = None;
        bare.containers[0].reason = None;
        assert_eq!(
            bare.stop_reason().as_deref(),
            Some("stop code TaskFailedToStart")
        );
        bare.containers[0].exit_code = Some(2);
        assert_eq!(
            bare.stop_reason().as_deref(),
            Some("stop code TaskFailedToStart; container service: exit code 2")
        );
        bare.stop_code = None;
        bare.containers[0].exit_code = None;
        assert_eq!(bare.stop_reason(), None);
    }

    #[test]
    fn a_bad_answer_names_the_value_at_fault() {
        let running = fixture("ecs-describe-tasks-running-epoch.json");
        let err = |text: &str| parse_describe_tasks(text).unwrap_err().to_string();
        insta::assert_snapshot!(
            err(&running.replace("\"pullStartedAt\": 1795705211.305", "\"pullStartedAt\": \"yesterday\"")),
            @r#"invalid DescribeTasks answer: `tasks[0].pullStartedAt`: line 55, column 40: invalid value: string "yesterday", expected a timestamp: epoch seconds like 1557134011.644, or RFC 3339 like "2021-12-20T12:13:20.226-05:00""#
        );
        insta::assert_snapshot!(
            err(&running.replace("\"createdAt\": 1795705200.412", "\"createdAt\": \"2026-11-26T15:00:00\"")),
            @r#"invalid DescribeTasks answer: `tasks[0].createdAt`: line 44, column 46: invalid value: string "2026-11-26T15:00:00", expected a timestamp: epoch seconds like 1557134011.644, or RFC 3339 like "2021-12-20T12:13:20.226-05:00""#
        );
        insta::assert_snapshot!(
            err(r#"{"tasks": [{"lastStatus": "RUNNING"}]}"#),
            @"invalid DescribeTasks answer: `tasks[0]`: line 1, column 36: missing field `taskArn`"
        );
        insta::assert_snapshot!(
            err(r#"{"tasks": [{"taskArn": "a", "containers": [{"exitCode": "1"}]}]}"#),
            @r#"invalid DescribeTasks answer: `tasks[0].containers[0].exitCode`: line 1, column 59: invalid type: string "1", expected i32"#
        );
        insta::assert_snapshot!(
            err("{} {}"),
            @"invalid DescribeTasks answer: line 1, column 4: trailing characters"
        );
        assert_eq!(
            parse_describe_tasks("{}").unwrap(),
            DescribeTasks::default(),
            "ECS leaves out empty lists"
        );
    }

    #[test]
    fn phases_come_from_each_clock_and_only_from_what_was_given() {
        let run = sample();
        let phases: Vec<Phases> = run.launches.iter().map(Launch::phases).collect();
        assert_eq!(
            phases[0],
            Phases {
                provisioning: Some(10_893.0),
                pull: Some(741.0),
                start: Some(914.0),
                ready: Some(479.9),
                total: Some(13_171.9),
            }
        );
        assert_eq!(
            phases[1],
            Phases {
                total: Some(402.7),
                ..Phases::default()
            },
            "an emulator gives no timestamps"
        );
        assert_eq!(
            phases[2],
            Phases {
                provisioning: Some(10_811.0),
                ..Phases::default()
            },
            "stopped while pulling"
        );
        // A runner's clock 600 ms behind AWS's: ready comes out negative, and stays so.
        let mut behind = run.launches[0].clone();
        behind.run_task_sent = AwsTime::from_unix_millis(1_795_705_199_668);
        assert_eq!(behind.phases().ready, Some(-120.1));
        assert_eq!(
            behind.phases().total,
            Some(13_171.9),
            "one clock: unchanged"
        );
        // Without the wall clock, no ready.
        behind.run_task_sent = None;
        assert_eq!(behind.phases().ready, None);
        assert_eq!(behind.phases().provisioning, Some(10_893.0));
    }

    #[test]
    fn markdown_snapshot() {
        let run = sample();
        let markdown = markdown(&run);
        insta::assert_snapshot!(markdown);
        assert!(!markdown.contains("emulator at"));
        for line in markdown.lines().filter(|l| l.starts_with("| ")) {
            // Escaped bars are part of a cell.
            assert_eq!(line.replace("\\|", "").matches(" |").count(), 9, "{line}");
        }
    }

    #[test]
    fn an_emulator_run_says_so_first() {
        let mut run = sample();
        run.endpoint = Some("http://127.0.0.1:5000".to_owned());
        run.ended = None;
        let markdown = markdown(&run);
        let loud = markdown
            .lines()
            .position(|l| {
                l.starts_with(
                    "**Measured against an emulator at http://127.0.0.1:5000: no AWS timings.**",
                )
            })
            .unwrap();
        assert_eq!(loud, 2, "under the title");
        assert!(markdown.contains(", not finished."));
        // No launch that a chart could show: no link to one.
        run.launches.retain(Launch::is_failed);
        assert!(!super::markdown(&run).contains(CHART_FILE));
    }

    #[test]
    fn csv_snapshot() {
        let csv = csv(&sample());
        insta::assert_snapshot!(csv);
        let mut reader = ::csv::Reader::from_reader(csv.as_bytes());
        let header = reader.headers().unwrap().clone();
        assert_eq!(header.iter().collect::<Vec<_>>(), CSV_COLUMNS);
        let rows: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 3);
        let column = |name: &str| CSV_COLUMNS.iter().position(|c| *c == name).unwrap();
        let totals: Vec<&str> = rows.iter().map(|r| &r[column("total_ms")]).collect();
        assert_eq!(totals, ["13171.9", "402.7", ""]);
        assert_eq!(&rows[2][column("failure_stage")], "running");
    }

    #[test]
    fn json_snapshot_reads_back_and_other_formats_are_refused() {
        let run = sample();
        let json = run.to_json();
        insta::assert_snapshot!(json);
        assert_eq!(FargateRun::from_json(&json).unwrap(), run);
        assert!(run.any_failed(), "salvo's launch failed");
        let mut ok = run.clone();
        ok.launches.truncate(2);
        assert!(!ok.any_failed());
        let other = json.replacen("\"format\": 1", "\"format\": 2", 1);
        assert_eq!(
            FargateRun::from_json(&other).unwrap_err().to_string(),
            "timeline.json has format version 2, this runner reads version 1"
        );
        assert_eq!(
            FargateRun::from_json("{}").unwrap_err().to_string(),
            "invalid timeline.json: line 1, column 2: missing field `format`"
        );
        let bad = json.replacen("\"cpu_units\": 256", "\"cpu_units\": \"256\"", 1);
        let err = FargateRun::from_json(&bad).unwrap_err().to_string();
        assert!(
            err.starts_with("invalid timeline.json: `launches[0].size.cpu_units`: "),
            "{err}"
        );
    }

    #[test]
    fn the_chart_stacks_each_launch_from_created_and_leaves_out_the_failed() {
        let run = sample();
        let chart = chart(&run).unwrap();
        assert_eq!(
            chart.title,
            "Fargate launches: from createdAt to the first 200 (1 failed launch not shown)"
        );
        let labels: Vec<&str> = chart.bars.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "axum on scratch @ 0.25 vCPU",
                "hyper on distroless @ 0.5 vCPU"
            ]
        );
        let segments = |bar: &Bar| -> Vec<(Phase, f64, f64)> {
            bar.segments
                .iter()
                .map(|s| (s.phase, s.from_s, s.to_s))
                .collect()
        };
        // Seconds since createdAt, each phase starting where ECS says it did.
        let axum = segments(&chart.bars[0]);
        let expected = [
            (Phase::Provisioning, 0.0, 10.893),
            (Phase::Pull, 10.893, 11.634),
            (Phase::Start, 11.634, 12.548),
            (Phase::Ready, 12.548, 13.0279),
        ];
        assert_eq!(axum.len(), expected.len());
        for (drawn, expected) in axum.iter().zip(expected) {
            assert_eq!(drawn.0, expected.0);
            assert!((drawn.1 - expected.1).abs() < 1e-9, "{drawn:?}");
            assert!((drawn.2 - expected.2).abs() < 1e-9, "{drawn:?}");
        }
        assert_eq!(segments(&chart.bars[1]), [(Phase::Total, 0.0, 0.4027)]);
        assert_eq!(chart.bars[0].total_ms, Some(13_171.9));
        assert_eq!(
            chart.x_title,
            "seconds since createdAt (grey bars: since RunTask was sent)"
        );
        assert!(chart.svg.starts_with("<svg"));
        assert!(!chart.svg.contains("could not draw"));
        for text in [
            "(1 failed launch not shown)",
            "axum on scratch @ 0.25 vCPU",
            "provisioning",
            "ready (two clocks)",
            "total 13.17 s",
            "total 0.40 s",
            "seconds since createdAt",
        ] {
            assert!(chart.svg.contains(text), "{text}");
        }
        assert!(
            !chart.svg.contains("salvo"),
            "the failed launch is left out"
        );

        // Clocks that disagree: the negative phase is not drawn, and the label says why. A
        // size with more than the least memory is named whole.
        let mut skewed = run.clone();
        skewed.launches.truncate(1);
        skewed.launches[0].run_task_sent = AwsTime::from_unix_millis(1_795_705_199_668);
        skewed.launches[0].size = size("0.25:1GB");
        let chart = super::chart(&skewed).unwrap();
        assert_eq!(
            chart.bars[0].label,
            "axum on scratch @ 0.25 vCPU / 1 GB (clocks disagree)"
        );
        assert!(
            chart.bars[0]
                .segments
                .iter()
                .all(|s| s.phase != Phase::Ready)
        );
        assert_eq!(
            chart.title,
            "Fargate launches: from createdAt to the first 200"
        );
        assert_eq!(chart.x_title, "seconds since createdAt");

        // Nothing to draw: no chart.
        let mut failed = run;
        failed.launches.retain(Launch::is_failed);
        assert_eq!(super::chart(&failed), None);
    }
}
