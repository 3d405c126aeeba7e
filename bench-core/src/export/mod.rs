//! Exporters: [`RunResults`] in, the bytes of `results.json`, `results.md` and `results.csv`
//! out. None of them writes a file; the runner does, after every finished cell.
//!
//! JSON and CSV carry exact values in the units their names say (`_us`, `_bytes`,
//! `_percent`); markdown rounds to human units (k req/s, ms, MiB).

mod csv;
mod markdown;
#[cfg(test)]
mod tests;

use crate::results::RunResults;

pub use self::csv::{CSV_COLUMNS, csv};
pub use self::markdown::markdown;

/// `results.json`: the whole [`RunResults`], pretty-printed, ending in a newline.
pub fn json(results: &RunResults) -> String {
    let mut json =
        serde_json::to_string_pretty(results).expect("results have string keys and finite numbers");
    json.push('\n');
    json
}
