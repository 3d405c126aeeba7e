//! The conformance suite and micro-benchmarks live in tests/ and benches/.
