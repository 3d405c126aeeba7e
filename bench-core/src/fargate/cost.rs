//! What a Fargate task costs: the price table (`bench-core/prices/fargate.toml`, built in,
//! or a file of the same shape given with `--prices`), the hourly price of a size, and a
//! cell's cost per million 2xx responses at the size its quota takes.
//!
//! A task is billed for its size, whatever it uses, so a cell's cost is the size's price
//! over the time a million 2xx take at the cell's median rate: (vCPU × price per vCPU-hour +
//! GB × price per GB-hour) ÷ 3600 ÷ 2xx per second × 10⁶. List prices only: no Savings
//! Plans or Spot, no load balancer, NAT or data transfer, and no one-minute minimum.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::sizes::FargateSize;
use crate::plan::{Cell, ConfigError, read_toml};
use crate::results::Estimate;
use crate::stats::Interval;
use crate::units::RequestsPerSec;

/// Where the built-in table lives in the workspace, as outputs cite it.
pub const COMMITTED_FILE: &str = "bench-core/prices/fargate.toml";

/// The only currency the outputs' column names (`usd_per_million_x86`) can carry.
pub const CURRENCY: &str = "USD";

/// The platforms Fargate prices apart, each a column of every table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Platform {
    LinuxX86,
    LinuxArm,
}

impl Platform {
    pub const ALL: [Platform; 2] = [Platform::LinuxX86, Platform::LinuxArm];

    /// The platform in column names: `x86`, `arm`.
    pub fn name(self) -> &'static str {
        match self {
            Platform::LinuxX86 => "x86",
            Platform::LinuxArm => "arm",
        }
    }
}

/// The price table as its file writes it: every key required but `note`, none unknown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PriceTable {
    /// The AWS region the rates are for: `us-east-1`.
    pub region: String,
    /// [`CURRENCY`].
    pub currency: String,
    /// When the rates were last compared with `sources`: `YYYY-MM-DD`.
    pub checked: String,
    /// Where the rates come from, addresses first.
    pub sources: Vec<String>,
    /// Anything a reader should know about how they were checked.
    #[serde(default)]
    pub note: String,
    pub linux_x86: Rates,
    pub linux_arm: Rates,
}

/// One platform's on-demand rates.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Rates {
    pub per_vcpu_hour: f64,
    /// Per GB (1024 MiB) of task memory.
    pub per_gb_hour: f64,
}

impl Rates {
    /// What `size` costs an hour.
    pub fn hourly(&self, size: &FargateSize) -> f64 {
        size.vcpus() * self.per_vcpu_hour + size.memory_gib() * self.per_gb_hour
    }

    /// What a million 2xx responses cost at `rate_2xx` on a task of `size`; `None` without
    /// any 2xx.
    pub fn per_million(&self, size: &FargateSize, rate_2xx: RequestsPerSec) -> Option<f64> {
        (rate_2xx.is_finite() && rate_2xx > 0.0)
            .then(|| self.hourly(size) / 3600.0 / rate_2xx * 1e6)
    }
}

impl PriceTable {
    pub fn rates(&self, platform: Platform) -> &Rates {
        match platform {
            Platform::LinuxX86 => &self.linux_x86,
            Platform::LinuxArm => &self.linux_arm,
        }
    }

    /// The checks TOML cannot make, each naming its key.
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError {
            key: Some(key.to_owned()),
            line: None,
            column: None,
            message,
        };
        if self.currency != CURRENCY {
            return Err(invalid(
                "currency",
                format!(
                    "benchlab's columns are in {CURRENCY}, so prices must be too, not \"{}\"",
                    self.currency
                ),
            ));
        }
        let date = self.checked.as_bytes();
        let is_date = date.len() == 10
            && date.iter().enumerate().all(|(i, b)| match i {
                4 | 7 => *b == b'-',
                _ => b.is_ascii_digit(),
            });
        if !is_date {
            return Err(invalid(
                "checked",
                format!(
                    "write the day the prices were checked like \"2026-11-26\", not \"{}\"",
                    self.checked
                ),
            ));
        }
        if self.region.trim().is_empty() {
            return Err(invalid("region", "name the AWS region".to_owned()));
        }
        if self.sources.is_empty() {
            return Err(invalid(
                "sources",
                "say where the prices come from".to_owned(),
            ));
        }
        for platform in Platform::ALL {
            let rates = self.rates(platform);
            let table = format!("linux-{}", platform.name());
            for (key, price) in [
                ("per-vcpu-hour", rates.per_vcpu_hour),
                ("per-gb-hour", rates.per_gb_hour),
            ] {
                if !(price.is_finite() && price > 0.0) {
                    return Err(invalid(
                        &format!("{table}.{key}"),
                        format!("a price must be above zero, not {price}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A price table and the file it came from: what a run records and its outputs cite.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prices {
    /// [`COMMITTED_FILE`] for the built-in table, else the path given to `--prices`.
    pub file: String,
    pub table: PriceTable,
}

/// A price file that cannot be used, named with the key at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid price table {file}: {error}")]
pub struct PriceError {
    pub file: String,
    pub error: ConfigError,
}

impl Prices {
    /// Reads the price table `text` of `file`. Errors name the file and the key.
    pub fn from_toml(file: &str, text: &str) -> Result<Prices, PriceError> {
        let table: PriceTable = read_toml(text)
            .and_then(|table: PriceTable| table.validate().map(|()| table))
            .map_err(|error| PriceError {
                file: file.to_owned(),
                error,
            })?;
        Ok(Prices {
            file: file.to_owned(),
            table,
        })
    }

    /// The built-in table, [`COMMITTED_FILE`].
    pub fn committed() -> &'static Prices {
        static COMMITTED: OnceLock<Prices> = OnceLock::new();
        COMMITTED.get_or_init(|| {
            Prices::from_toml(COMMITTED_FILE, include_str!("../../prices/fargate.toml"))
                .expect("the committed price table is read by a test")
        })
    }
}

/// What a cell's 2xx cost on Fargate: the size its quota takes, and per platform the cost
/// per million 2xx at the median rate, with the interval the rate's interval gives.
#[derive(Clone, Debug, PartialEq)]
pub struct CellCost {
    pub size: FargateSize,
    /// In [`Platform::ALL`]'s order.
    pub per_million: Vec<(Platform, Estimate)>,
}

impl CellCost {
    /// The cost of `cell` at `rate` (its median 2xx rate and interval) by `table`; `None`
    /// for a bare process (no quota, so no size), a quota larger than any Fargate size, or
    /// no 2xx. A slower bound of the rate is the dearer bound of the cost; an interval
    /// whose low rate is 0 gives none.
    pub fn of(cell: &Cell, rate: &Estimate, table: &PriceTable) -> Option<CellCost> {
        let size = cell.cpu_quota()?.billed_fargate_size()?;
        let per_million = Platform::ALL
            .into_iter()
            .map(|platform| {
                let rates = table.rates(platform);
                let median = rates.per_million(&size, rate.median)?;
                let interval = rate.interval.and_then(|i| {
                    Some(Interval {
                        low: rates.per_million(&size, i.high)?,
                        high: rates.per_million(&size, i.low)?,
                        coverage: i.coverage,
                    })
                });
                Some((platform, Estimate { median, interval }))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(CellCost { size, per_million })
    }

    /// The estimate for `platform`.
    pub fn on(&self, platform: Platform) -> &Estimate {
        let (_, estimate) = self
            .per_million
            .iter()
            .find(|(p, _)| *p == platform)
            .expect("every platform is priced");
        estimate
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Base, Framework, Packaging};
    use crate::plan::{CpuQuota, Endpoint};

    const COMMITTED: &str = include_str!("../../prices/fargate.toml");

    #[test]
    fn the_committed_table_reads() {
        let prices = Prices::committed();
        assert_eq!(prices.file, COMMITTED_FILE);
        let table = &prices.table;
        assert_eq!(
            (table.region.as_str(), table.currency.as_str()),
            ("us-east-1", "USD")
        );
        assert_eq!(table.checked, "2026-11-26");
        assert!(
            table
                .sources
                .contains(&"https://aws.amazon.com/fargate/pricing/".to_owned())
        );
        assert!(table.note.contains("offline"), "{}", table.note);
        assert_eq!(
            table.linux_x86,
            Rates {
                per_vcpu_hour: 0.04048,
                per_gb_hour: 0.004445
            }
        );
        assert_eq!(
            table.linux_arm,
            Rates {
                per_vcpu_hour: 0.03238,
                per_gb_hour: 0.00356
            }
        );
        // AWS's per-second example for Linux/x86 in us-east-1: $0.000011244 per vCPU-second.
        assert!((table.linux_x86.per_vcpu_hour / 3600.0 - 0.000011244).abs() < 5e-10);
    }

    #[test]
    fn a_size_costs_its_vcpus_and_its_memory() {
        let x86 = Prices::committed().table.linux_x86;
        let quarter: FargateSize = "0.25".parse().unwrap();
        // 0.25 × 0.04048 + 0.5 × 0.004445 = 0.0123425 an hour.
        assert!((x86.hourly(&quarter) - 0.0123425).abs() < 1e-12);
        // At 10,000 2xx/s a million take 100 s: 0.0123425 × 100 / 3600.
        let cost = x86.per_million(&quarter, 10_000.0).unwrap();
        assert!((cost - 0.0123425 * 100.0 / 3600.0).abs() < 1e-15, "{cost}");
        assert_eq!(x86.per_million(&quarter, 0.0), None, "no 2xx, no cost");
        assert_eq!(x86.per_million(&quarter, f64::NAN), None);
    }

    fn cell(base: Packaging, cpu: CpuQuota) -> Cell {
        Cell {
            framework: Framework::Axum,
            base,
            cpu,
            endpoint: Endpoint::Hello,
            connections: 64,
            keep_alive: true,
            rate: None,
            generator: Default::default(),
        }
    }

    #[test]
    fn a_cell_is_priced_at_its_size_with_the_inverse_interval() {
        let table = &Prices::committed().table;
        let rate = Estimate {
            median: 50_000.0,
            interval: Some(Interval {
                low: 40_000.0,
                high: 62_500.0,
                coverage: 0.969,
            }),
        };
        let scratch = Packaging::Image(Base::Scratch);
        let cost = CellCost::of(&cell(scratch, CpuQuota::fargate(0.5)), &rate, table).unwrap();
        assert_eq!(cost.size.to_string(), "0.5 vCPU / 1 GB");
        let x86 = cost.on(Platform::LinuxX86);
        let hourly = 0.5 * 0.04048 + 0.004445;
        assert!((x86.median - hourly / 3600.0 / 50_000.0 * 1e6).abs() < 1e-15);
        let interval = x86.interval.unwrap();
        assert!((interval.low - hourly / 3600.0 / 62_500.0 * 1e6).abs() < 1e-15);
        assert!((interval.high - hourly / 3600.0 / 40_000.0 * 1e6).abs() < 1e-15);
        assert_eq!(interval.coverage, 0.969);
        let arm = cost.on(Platform::LinuxArm);
        assert!((arm.median - (0.5 * 0.03238 + 0.00356) / 3600.0 / 50_000.0 * 1e6).abs() < 1e-15);

        // Memory beyond the least Fargate pairs with the quota: the size that fits is billed.
        let roomy = CellCost::of(&cell(scratch, "0.25:3000".parse().unwrap()), &rate, table);
        assert_eq!(roomy.unwrap().size.to_string(), "0.5 vCPU / 3 GB");
        // No Fargate size, no quota, no 2xx: no cost, never an invented one.
        assert_eq!(
            CellCost::of(&cell(scratch, CpuQuota::fargate(32.0)), &rate, table),
            None
        );
        assert_eq!(
            CellCost::of(
                &cell(Packaging::Process, CpuQuota::fargate(1.0)),
                &rate,
                table
            ),
            None
        );
        let none = Estimate {
            median: 0.0,
            interval: None,
        };
        assert_eq!(
            CellCost::of(&cell(scratch, CpuQuota::fargate(1.0)), &none, table),
            None
        );
        // An interval down to 0 req/s has no upper bound on the cost.
        let open = Estimate {
            median: 10.0,
            interval: Some(Interval {
                low: 0.0,
                high: 20.0,
                coverage: 0.969,
            }),
        };
        let cost = CellCost::of(&cell(scratch, CpuQuota::fargate(1.0)), &open, table).unwrap();
        assert_eq!(cost.on(Platform::LinuxX86).interval, None);
    }

    #[test]
    fn a_bad_table_names_the_file_and_the_key() {
        let err = |text: &str| {
            Prices::from_toml("my-prices.toml", text)
                .unwrap_err()
                .to_string()
        };
        insta::assert_snapshot!(
            err(&COMMITTED.replace("per-gb-hour = 0.00356", "per-gb-hour = 0.00356\nspot = 0.01")),
            @"invalid price table my-prices.toml: key `linux-arm.spot`: line 31, column 1: unknown field `spot`, expected `per-vcpu-hour` or `per-gb-hour`"
        );
        insta::assert_snapshot!(
            err(&COMMITTED.replace("region = \"us-east-1\"\n", "")),
            @"invalid price table my-prices.toml: line 1, column 1: missing field `region`"
        );
        insta::assert_snapshot!(
            err(&COMMITTED.replace("per-vcpu-hour = 0.03238\n", "")),
            @"invalid price table my-prices.toml: key `linux-arm`: line 28, column 1: missing field `per-vcpu-hour`"
        );
        insta::assert_snapshot!(
            err(&COMMITTED.replace("per-vcpu-hour = 0.04048", "per-vcpu-hour = -0.04048")),
            @"invalid price table my-prices.toml: key `linux-x86.per-vcpu-hour`: a price must be above zero, not -0.04048"
        );
        insta::assert_snapshot!(
            err(&COMMITTED.replace("per-gb-hour = 0.004445", "per-gb-hour = 0")),
            @"invalid price table my-prices.toml: key `linux-x86.per-gb-hour`: a price must be above zero, not 0"
        );
        insta::assert_snapshot!(
            err(&COMMITTED.replace("currency = \"USD\"", "currency = \"EUR\"")),
            @r#"invalid price table my-prices.toml: key `currency`: benchlab's columns are in USD, so prices must be too, not "EUR""#
        );
        insta::assert_snapshot!(
            err(&COMMITTED.replace("checked = \"2026-11-26\"", "checked = \"last week\"")),
            @r#"invalid price table my-prices.toml: key `checked`: write the day the prices were checked like "2026-11-26", not "last week""#
        );
    }
}
