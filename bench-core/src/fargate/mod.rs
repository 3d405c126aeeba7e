//! AWS Fargate, IO-free: the task sizes Fargate allows, what a size costs per hour and per
//! million requests, and the task definitions `bench-runner fargate` registers.

pub mod cost;
pub mod sizes;
pub mod taskdef;
