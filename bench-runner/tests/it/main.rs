//! Integration tests of bench-runner, in one binary: the command line as users call it, and
//! the image lab against a real Docker engine (bases, the 12 images, each one started), and
//! `bench-runner run` measuring real containers with oha, and `bench-runner deploy` swapping
//! them behind a real nginx.

mod cli;
mod deploy;
mod guard;
mod images;
mod run;
mod support;
