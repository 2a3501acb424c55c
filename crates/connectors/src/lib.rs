//! kaflow-connectors: built-in source and sink connectors (file, datagen, verifiable, mirror,
//! PostgreSQL, HTTP), one directory per connector.

pub mod datagen;
pub mod file;
mod numbered;
pub mod sequence;
pub mod throttle;
pub mod verifiable;

#[cfg(test)]
mod testing;

use kaflow_runtime::plugins::{ConnectorFactory, Plugins};

/// Class names of the built-in connectors available in this build (Kafka's for the FileStream
/// pair, `io.kaflow.connect.*` for kaflow's own).
pub const BUILT_IN: &[&str] = &[
    file::source::CLASS,
    file::sink::CLASS,
    datagen::source::CLASS,
    verifiable::source::CLASS,
    verifiable::sink::CLASS,
];

/// Registers every built-in connector with the worker's plugin registry.
pub fn register(plugins: &mut Plugins) {
    let version = env!("CARGO_PKG_VERSION");
    plugins.register_connector(
        file::source::CLASS,
        version,
        ConnectorFactory::Source(|| Box::<file::FileStreamSourceConnector>::default()),
    );
    plugins.register_connector(
        file::sink::CLASS,
        version,
        ConnectorFactory::Sink(|| Box::<file::FileStreamSinkConnector>::default()),
    );
    plugins.register_connector(
        datagen::source::CLASS,
        version,
        ConnectorFactory::Source(|| Box::<datagen::DatagenSourceConnector>::default()),
    );
    plugins.register_connector(
        verifiable::source::CLASS,
        version,
        ConnectorFactory::Source(|| Box::<verifiable::VerifiableSourceConnector>::default()),
    );
    plugins.register_connector(
        verifiable::sink::CLASS,
        version,
        ConnectorFactory::Sink(|| Box::<verifiable::VerifiableSinkConnector>::default()),
    );
}
