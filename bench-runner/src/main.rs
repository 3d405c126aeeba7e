//! `bench-runner`: builds benchlab's images and measures its services under load.

fn main() {}
