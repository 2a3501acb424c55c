//! Herders: who decides which connectors and tasks run. [`standalone`] runs everything given on
//! the command line in this process; distributed mode coordinates workers through Kafka.

pub mod standalone;
pub mod status;

pub use standalone::{StandaloneError, StandaloneWorker};
pub use status::{State, TaskStatus};
