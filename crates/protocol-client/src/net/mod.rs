//! The network layer: one connection per broker and traffic class.

pub mod connection;

pub use connection::{Connection, ConnectionError, PendingResponse};
