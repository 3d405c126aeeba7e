//! The IO-free core of `bench-runner run`: the plan, oha's JSON, statistics, the result
//! contract and its exporters. Nothing here reads a file, a socket, a process or the clock.

pub mod oha;
pub mod plan;
pub mod stats;
pub mod units;
