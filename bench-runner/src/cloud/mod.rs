//! The cloud commands: `push` (images to a registry, with the push and a cold pull timed) and
//! `fargate` (task definitions planned, registered and run on ECS). They share the engine
//! pieces with the other commands and import none of them.

pub mod fargate;
pub mod push;
