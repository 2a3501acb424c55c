//! DatagenSource: generates records of a chosen shape, size, rate and count, for load tests,
//! benchmarks and demos. Each task owns one sequence (source partition `{"task": T}`, offset
//! `{"seq": N}`) and resumes after its last committed sequence number.

pub mod config;
pub mod generator;
pub mod source;

pub use source::{DatagenSourceConnector, DatagenSourceTask};
