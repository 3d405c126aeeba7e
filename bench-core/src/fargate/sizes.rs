//! The task sizes Fargate runs (Linux): each CPU size and the memory it may be paired with,
//! checked here so that a task definition is never refused by ECS for its size, and a cell's
//! quota can be priced at the size it would take on Fargate.
//!
//! The table is AWS's ("Troubleshoot Amazon ECS task definition invalid CPU or memory
//! errors", and the `memory` field of the TaskDefinition API reference). AWS writes memory in
//! "GB" that are GiB: 1 GB is 1024 MiB, the unit of the API's `memory` string.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Fargate's CPU sizes in CPU units (1024 units = 1 vCPU). 8 and 16 vCPU need platform
/// version 1.4.0 or later.
pub const CPU_UNITS: [u32; 7] = [256, 512, 1024, 2048, 4096, 8192, 16384];

const UNITS_PER_VCPU: f64 = 1024.0;
const MIB_PER_GB: u32 = 1024;

/// A Fargate task size: a CPU size and a memory it allows, in the units of the task
/// definition's `cpu` and `memory` strings. Ordered by CPU, then memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FargateSize {
    /// CPU units: 1024 per vCPU.
    pub cpu_units: u32,
    /// MiB.
    pub memory_mib: u32,
}

/// Why a size is not one Fargate runs. Each message says what Fargate takes instead.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SizeError {
    /// Text that is not a size at all.
    #[error(
        "invalid Fargate size \"{text}\": write vCPUs like \"0.25\", optionally with memory like \"0.25:1GB\" or \"1:2048\" (MiB)"
    )]
    Syntax { text: String },
    /// A CPU that is not one of [`CPU_UNITS`].
    #[error("{vcpus} vCPU is not a Fargate size: Fargate takes {}", allowed_cpus())]
    UnknownCpu { vcpus: f64 },
    /// A memory that the CPU size does not take.
    #[error("{} vCPU takes {}; not {}", vcpus(*.cpu_units), describe_memory(*.cpu_units), memory_text(*.memory_mib))]
    Memory { cpu_units: u32, memory_mib: u32 },
    /// `--sizes` naming a size twice.
    #[error("{size} is listed twice")]
    Duplicate { size: FargateSize },
}

impl FargateSize {
    /// The size of `cpu_units` and `memory_mib`, if Fargate runs it.
    pub fn new(cpu_units: u32, memory_mib: u32) -> Result<Self, SizeError> {
        let allowed = Self::allowed_memory_mib(cpu_units).ok_or(SizeError::UnknownCpu {
            vcpus: vcpus(cpu_units),
        })?;
        if !allowed.contains(&memory_mib) {
            return Err(SizeError::Memory {
                cpu_units,
                memory_mib,
            });
        }
        Ok(FargateSize {
            cpu_units,
            memory_mib,
        })
    }

    /// The memory Fargate pairs with `cpu_units`, in MiB and ascending; `None` when it is no
    /// Fargate CPU size.
    pub fn allowed_memory_mib(cpu_units: u32) -> Option<Vec<u32>> {
        let gb_steps = |first: u32, last: u32, step: usize| {
            (first..=last)
                .step_by(step)
                .map(|gb| gb * MIB_PER_GB)
                .collect()
        };
        Some(match cpu_units {
            256 => vec![512, 1024, 2048],
            512 => gb_steps(1, 4, 1),
            1024 => gb_steps(2, 8, 1),
            2048 => gb_steps(4, 16, 1),
            4096 => gb_steps(8, 30, 1),
            8192 => gb_steps(16, 60, 4),
            16384 => gb_steps(32, 120, 8),
            _ => return None,
        })
    }

    /// Every size Fargate runs, in order.
    pub fn all() -> Vec<FargateSize> {
        CPU_UNITS
            .iter()
            .flat_map(|&cpu_units| {
                Self::allowed_memory_mib(cpu_units)
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |memory_mib| FargateSize {
                        cpu_units,
                        memory_mib,
                    })
            })
            .collect()
    }

    /// The least memory Fargate allows for `cpu_units`.
    pub fn smallest_of(cpu_units: u32) -> Result<Self, SizeError> {
        let memory_mib = Self::allowed_memory_mib(cpu_units)
            .and_then(|allowed| allowed.first().copied())
            .ok_or(SizeError::UnknownCpu {
                vcpus: vcpus(cpu_units),
            })?;
        Ok(FargateSize {
            cpu_units,
            memory_mib,
        })
    }

    /// The smallest size (by price at the committed x86 rates, ties by CPU) with at least
    /// `vcpus` and `memory_mib`: what a task that needs that much is billed as. `None` when
    /// no size is that large (more than 16 vCPU or 120 GB).
    pub fn smallest_fitting(vcpus: f64, memory_mib: u64) -> Option<Self> {
        let rates = &super::cost::Prices::committed().table.linux_x86;
        // A quota is a float; 0.25 vCPU must fit 256 units whatever its rounding.
        let units = (vcpus * UNITS_PER_VCPU - 1e-6).ceil();
        Self::all()
            .into_iter()
            .filter(|size| f64::from(size.cpu_units) >= units)
            .filter(|size| u64::from(size.memory_mib) >= memory_mib)
            .min_by(|a, b| {
                rates
                    .hourly(a)
                    .total_cmp(&rates.hourly(b))
                    .then(a.cpu_units.cmp(&b.cpu_units))
            })
    }

    pub fn vcpus(&self) -> f64 {
        vcpus(self.cpu_units)
    }

    /// Memory in AWS's GB (GiB), the unit of the price per GB-hour.
    pub fn memory_gib(&self) -> f64 {
        f64::from(self.memory_mib) / f64::from(MIB_PER_GB)
    }

    /// The size in file names and task-definition families: `0_25vcpu-0_5gb`, `1vcpu-2gb`.
    /// An underscore stands for the decimal point: ECS allows only letters, digits, `-` and
    /// `_` in a family's name.
    pub fn label(&self) -> String {
        format!("{}vcpu-{}gb", self.vcpus(), self.memory_gib()).replace('.', "_")
    }
}

/// `0.25 vCPU / 0.5 GB`.
impl fmt::Display for FargateSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} vCPU / {} GB", self.vcpus(), self.memory_gib())
    }
}

/// `0.25` (with the least memory Fargate allows for it), `0.25:1GB`, `1:2048MiB`, `2:4096`
/// (MiB): the form of `--sizes` values.
impl FromStr for FargateSize {
    type Err = SizeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let syntax = || SizeError::Syntax {
            text: text.to_owned(),
        };
        let (cpu, memory) = match text.split_once(':') {
            Some((cpu, memory)) => (cpu, Some(memory)),
            None => (text, None),
        };
        let vcpus: f64 = cpu.trim().parse().map_err(|_| syntax())?;
        if !(vcpus.is_finite() && vcpus > 0.0) {
            return Err(syntax());
        }
        let units = vcpus * UNITS_PER_VCPU;
        let cpu_units = CPU_UNITS
            .into_iter()
            .find(|&u| f64::from(u) == units)
            .ok_or(SizeError::UnknownCpu { vcpus })?;
        match memory {
            None => FargateSize::smallest_of(cpu_units),
            Some(memory) => {
                let memory_mib = parse_memory_mib(memory).ok_or_else(syntax)?;
                FargateSize::new(cpu_units, memory_mib)
            }
        }
    }
}

/// Comma-separated sizes, as `--sizes 0.25,0.5,1,2,4` takes them, in the order given.
pub fn parse_sizes(text: &str) -> Result<Vec<FargateSize>, SizeError> {
    let mut sizes: Vec<FargateSize> = Vec::new();
    for part in text.split(',') {
        let size: FargateSize = part.trim().parse()?;
        if sizes.contains(&size) {
            return Err(SizeError::Duplicate { size });
        }
        sizes.push(size);
    }
    Ok(sizes)
}

/// Memory as `512`, `512MiB`, `1GB`, `0.5GB` or `1GiB`: MiB unless a unit says otherwise,
/// "GB" being AWS's (1024 MiB). `None` unless it is a whole number of MiB.
fn parse_memory_mib(text: &str) -> Option<u32> {
    let text = text.trim();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.trim().parse().ok()?;
    let factor = match unit.to_ascii_lowercase().as_str() {
        "" | "m" | "mb" | "mib" => 1.0,
        "g" | "gb" | "gib" => f64::from(MIB_PER_GB),
        _ => return None,
    };
    let mib = number * factor;
    (mib.is_finite() && mib > 0.0 && mib.fract() == 0.0 && mib <= f64::from(u32::MAX))
        .then_some(mib as u32)
}

fn vcpus(cpu_units: u32) -> f64 {
    f64::from(cpu_units) / UNITS_PER_VCPU
}

/// `512 MiB`, `1 GB`, `1.5 GB`.
fn memory_text(memory_mib: u32) -> String {
    if memory_mib < MIB_PER_GB {
        format!("{memory_mib} MiB")
    } else {
        format!("{} GB", f64::from(memory_mib) / f64::from(MIB_PER_GB))
    }
}

/// `a`, `a or b`, `a, b or c`.
fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// `0.25, 0.5, 1, 2, 4, 8 or 16 vCPU`.
fn allowed_cpus() -> String {
    let cpus: Vec<String> = CPU_UNITS.iter().map(|&u| vcpus(u).to_string()).collect();
    format!("{} vCPU", or_list(&cpus))
}

/// The memory `cpu_units` takes: each value when there are a few (`512 MiB, 1 GB or 2 GB`),
/// else the range and its step (`8 GB to 30 GB in 1 GB steps`).
fn describe_memory(cpu_units: u32) -> String {
    let allowed = FargateSize::allowed_memory_mib(cpu_units).unwrap_or_default();
    match allowed.as_slice() {
        [first, second, .., last] if allowed.len() > 4 => format!(
            "{} to {} in {} steps",
            memory_text(*first),
            memory_text(*last),
            memory_text(second - first)
        ),
        _ => or_list(&allowed.iter().map(|&m| memory_text(m)).collect::<Vec<_>>()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(cpu_units: u32, memory_mib: u32) -> FargateSize {
        FargateSize {
            cpu_units,
            memory_mib,
        }
    }

    #[test]
    fn every_row_of_the_table() {
        let gb = |values: &[u32]| values.iter().map(|v| v * 1024).collect::<Vec<_>>();
        let range = |first: u32, last: u32, step: usize| {
            gb(&(first..=last).step_by(step).collect::<Vec<_>>())
        };
        let rows = [
            (256, vec![512, 1024, 2048]),
            (512, gb(&[1, 2, 3, 4])),
            (1024, gb(&[2, 3, 4, 5, 6, 7, 8])),
            (2048, range(4, 16, 1)),
            (4096, range(8, 30, 1)),
            (8192, gb(&[16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60])),
            (
                16384,
                gb(&[32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120]),
            ),
        ];
        for (cpu_units, memory) in &rows {
            assert_eq!(
                FargateSize::allowed_memory_mib(*cpu_units).as_ref(),
                Some(memory),
                "{cpu_units}"
            );
            for &m in memory {
                assert_eq!(FargateSize::new(*cpu_units, m), Ok(size(*cpu_units, m)));
            }
        }
        assert_eq!(rows.len(), CPU_UNITS.len());
        assert_eq!(range(4, 16, 1).len(), 13, "2 vCPU: 4 to 16 GB");
        assert_eq!(range(8, 30, 1).len(), 23, "4 vCPU: 8 to 30 GB");
        assert_eq!(
            FargateSize::all().len(),
            rows.iter().map(|(_, m)| m.len()).sum::<usize>()
        );
        assert!(FargateSize::all().is_sorted());
        for cpu_units in [0, 128, 768, 3072, 32768] {
            assert_eq!(FargateSize::allowed_memory_mib(cpu_units), None);
        }
    }

    #[test]
    fn memory_between_the_steps_is_refused() {
        for (cpu_units, memory_mib) in [
            (256, 256),
            (256, 1536),
            (256, 3072),
            (512, 512),
            (512, 1536),
            (512, 5120),
            (1024, 1024),
            (1024, 2560),
            (2048, 17408),
            (4096, 31744),
            (8192, 17 * 1024),
            (8192, 64 * 1024),
            (16384, 36 * 1024),
            (16384, 128 * 1024),
        ] {
            assert_eq!(
                FargateSize::new(cpu_units, memory_mib),
                Err(SizeError::Memory {
                    cpu_units,
                    memory_mib
                }),
                "{cpu_units}:{memory_mib}"
            );
        }
    }

    #[test]
    fn sizes_parse_from_their_text() {
        let parse = |text: &str| text.parse::<FargateSize>();
        assert_eq!(parse("0.25"), Ok(size(256, 512)), "the least memory");
        assert_eq!(parse("0.5"), Ok(size(512, 1024)));
        assert_eq!(parse("4"), Ok(size(4096, 8192)));
        assert_eq!(parse("16"), Ok(size(16384, 32768)));
        assert_eq!(parse("0.25:1GB"), Ok(size(256, 1024)));
        assert_eq!(parse("0.25:0.5GB"), Ok(size(256, 512)));
        assert_eq!(parse("1:2048MiB"), Ok(size(1024, 2048)));
        assert_eq!(parse("2:4096"), Ok(size(2048, 4096)));
        assert_eq!(parse(" 1 : 3gib "), Ok(size(1024, 3072)));
        assert_eq!(
            parse_sizes("0.25,0.5,1,2,4"),
            Ok(vec![
                size(256, 512),
                size(512, 1024),
                size(1024, 2048),
                size(2048, 4096),
                size(4096, 8192)
            ])
        );
    }

    #[test]
    fn errors_say_what_fargate_takes() {
        let err = |text: &str| parse_sizes(text).unwrap_err().to_string();
        assert_eq!(
            err("0.25:4GB"),
            "0.25 vCPU takes 512 MiB, 1 GB or 2 GB; not 4 GB"
        );
        assert_eq!(
            err("0.25:768"),
            "0.25 vCPU takes 512 MiB, 1 GB or 2 GB; not 768 MiB"
        );
        assert_eq!(
            err("0.5:512MiB"),
            "0.5 vCPU takes 1 GB, 2 GB, 3 GB or 4 GB; not 512 MiB"
        );
        assert_eq!(
            err("4:31GB"),
            "4 vCPU takes 8 GB to 30 GB in 1 GB steps; not 31 GB"
        );
        assert_eq!(
            err("8:18GB"),
            "8 vCPU takes 16 GB to 60 GB in 4 GB steps; not 18 GB"
        );
        assert_eq!(
            err("1,3"),
            "3 vCPU is not a Fargate size: Fargate takes 0.25, 0.5, 1, 2, 4, 8 or 16 vCPU"
        );
        assert_eq!(
            err("256"),
            "256 vCPU is not a Fargate size: Fargate takes 0.25, 0.5, 1, 2, 4, 8 or 16 vCPU"
        );
        let syntax = "write vCPUs like \"0.25\", optionally with memory like \"0.25:1GB\" or \"1:2048\" (MiB)";
        assert_eq!(
            err("half"),
            format!("invalid Fargate size \"half\": {syntax}")
        );
        assert_eq!(
            err("1:2TB"),
            format!("invalid Fargate size \"1:2TB\": {syntax}")
        );
        assert_eq!(
            err("1:1.5"),
            format!("invalid Fargate size \"1:1.5\": {syntax}")
        );
        assert_eq!(err("-1"), format!("invalid Fargate size \"-1\": {syntax}"));
        assert_eq!(err("0.5,"), format!("invalid Fargate size \"\": {syntax}"));
        assert_eq!(err("1,1:2GB"), "1 vCPU / 2 GB is listed twice");
        assert_eq!(
            FargateSize::new(300, 1024).unwrap_err().to_string(),
            "0.29296875 vCPU is not a Fargate size: Fargate takes 0.25, 0.5, 1, 2, 4, 8 or 16 vCPU"
        );
    }

    #[test]
    fn display_and_label() {
        let quarter = size(256, 512);
        assert_eq!(quarter.to_string(), "0.25 vCPU / 0.5 GB");
        assert_eq!(quarter.label(), "0_25vcpu-0_5gb");
        assert_eq!(size(1024, 2048).to_string(), "1 vCPU / 2 GB");
        assert_eq!(size(1024, 2048).label(), "1vcpu-2gb");
        assert_eq!(size(16384, 122880).label(), "16vcpu-120gb");
        assert_eq!((quarter.vcpus(), quarter.memory_gib()), (0.25, 0.5));
        for size in FargateSize::all() {
            assert_eq!(
                size.to_string().replace(" vCPU / ", ":").parse(),
                Ok(size),
                "{size} reads back"
            );
            assert!(
                size.label()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "{} is a valid ECS family part",
                size.label()
            );
        }
    }

    #[test]
    fn the_smallest_size_that_fits() {
        let fit = FargateSize::smallest_fitting;
        assert_eq!(fit(0.25, 512), Some(size(256, 512)));
        assert_eq!(fit(0.01, 6), Some(size(256, 512)));
        assert_eq!(fit(0.5, 1024), Some(size(512, 1024)));
        assert_eq!(fit(1.0, 2048), Some(size(1024, 2048)));
        assert_eq!(fit(2.0, 4096), Some(size(2048, 4096)));
        // More memory than 0.25 vCPU takes: 0.5 vCPU / 3 GB is cheaper than 1 vCPU / 3 GB.
        assert_eq!(fit(0.25, 3000), Some(size(512, 3072)));
        // 0.3 vCPU needs the next CPU size.
        assert_eq!(fit(0.3, 512), Some(size(512, 1024)));
        assert_eq!(fit(1.0, 4096), Some(size(1024, 4096)));
        // 4 vCPU with 32 GB: 4 vCPU stops at 30 GB, so 8 vCPU.
        assert_eq!(fit(4.0, 32 * 1024), Some(size(8192, 32 * 1024)));
        assert_eq!(fit(16.0, 120 * 1024), Some(size(16384, 120 * 1024)));
        assert_eq!(fit(32.0, 1024), None, "no size has 32 vCPU");
        assert_eq!(fit(1.0, 121 * 1024), None, "nor 121 GB");
    }
}
