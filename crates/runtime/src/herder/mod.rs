//! Herders: who decides which connectors and tasks run. [`standalone`] runs everything in this
//! process (connectors from files or the REST API); distributed mode coordinates workers
//! through Kafka.

pub mod api;
pub mod distributed;
mod spawn;
pub mod standalone;
pub mod status;
mod validate;
pub mod view;

pub use api::{Herder, HerderError};
pub use distributed::DistributedWorker;
pub use standalone::{StandaloneError, StandaloneWorker};
pub use status::{State, TaskStatus};
pub use view::{ConnectorInfo, ConnectorStatus, ConnectorType, StateInfo, TargetState};
