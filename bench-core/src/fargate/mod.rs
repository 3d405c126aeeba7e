//! AWS Fargate, IO-free: the task sizes Fargate allows, what a size costs per hour and per
//! million requests, the task definitions `bench-runner fargate` registers, and the timeline
//! of each launch from RunTask to the first 200.

pub mod cost;
pub mod sizes;
pub mod taskdef;
pub mod timeline;
