//! Exporters: [`RunResults`] in, the bytes of `results.json`, `results.md`, `results.csv`
//! and `report.html` out. None of them writes a file; the runner does, after every
//! repetition (the report and the charts at the end of a run and with `bench-runner
//! report`).
//!
//! JSON and CSV carry exact values in the units their names say (`_us`, `_bytes`,
//! `_percent`, `usd_`); markdown rounds to human units (k req/s, ms, MiB, three significant
//! digits of USD). Costs are derived here, from each cell's median rate and the price table
//! the results record, never stored.

pub(crate) mod csv;
mod html;
pub(crate) mod markdown;
#[cfg(test)]
pub(crate) mod tests;

use crate::results::RunResults;

pub use self::csv::{CSV_COLUMNS, csv};
pub use self::html::{html, markdown_with_charts};
pub use self::markdown::markdown;

/// `results.json`: the whole [`RunResults`], pretty-printed, ending in a newline.
pub fn json(results: &RunResults) -> String {
    let mut json =
        serde_json::to_string_pretty(results).expect("results have string keys and finite numbers");
    json.push('\n');
    json
}
