//! Integration tests of bench-runner, in one binary: the command line as users call it, and
//! the image lab against a real Docker engine (bases, the 12 images, each one started), and
//! `bench-runner run` measuring real containers with oha, and `bench-runner deploy` swapping
//! them behind a real nginx, the engine reached over TCP with TLS, and `bench-runner push` to a
//! real registry on loopback, and moto, the AWS API emulator, for what is done on ECR and ECS.

mod cli;
mod deploy;
mod engine;
mod fargate;
mod guard;
mod images;
mod moto;
mod push;
mod run;
mod support;
