//! Benchmark of the `bench` fixture (placeholder until the values level passes).

fn main() {}
