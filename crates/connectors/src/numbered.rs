//! Connectors whose only work is to validate their configuration and run `tasks.max`
//! numbered copies of it (datagen, verifiable source and sink): one macro writes the
//! connector type, so the three stay identical where they should be.
//!
//! ```text
//!  numbered_connector!(Source DatagenSourceConnector, config_def, "task.id", DatagenSourceTask);
//!    start: config_def().parse(props) or ConnectError::Config
//!    task_configs(n): props + {"task.id": 0}, …, props + {"task.id": n-1}
//! ```

/// Defines `$name`, a connector that validates its props with `$def()` and gives each of
/// `tasks.max` tasks its number under `$key`; `Source` or `Sink` picks the trait.
macro_rules! numbered_connector {
    ($(#[$doc:meta])* $kind:ident $name:ident, $def:path, $key:expr, $task:ty) => {
        $(#[$doc])*
        #[derive(Debug, Default)]
        pub struct $name {
            props: kaflow_runtime::connector::Props,
        }

        #[async_trait::async_trait]
        impl kaflow_runtime::connector::Connector for $name {
            fn version(&self) -> String {
                env!("CARGO_PKG_VERSION").to_string()
            }

            fn config(&self) -> kaflow_runtime::config::ConfigDef {
                $def()
            }

            async fn start(
                &mut self,
                props: kaflow_runtime::connector::Props,
                _ctx: std::sync::Arc<dyn kaflow_runtime::connector::ConnectorContext>,
            ) -> kaflow_runtime::connector::ConnectResult<()> {
                $def()
                    .parse(&props)
                    .map_err(|e| kaflow_runtime::connector::ConnectError::Config(e.to_string()))?;
                self.props = props;
                Ok(())
            }

            async fn task_configs(
                &mut self,
                max_tasks: usize,
            ) -> kaflow_runtime::connector::ConnectResult<Vec<kaflow_runtime::connector::Props>> {
                Ok($crate::sequence::numbered_tasks(&self.props, max_tasks, $key))
            }

            async fn stop(&mut self) -> kaflow_runtime::connector::ConnectResult<()> {
                Ok(())
            }
        }

        $crate::numbered::numbered_connector!(@kind $kind $name, $task);
    };
    (@kind Source $name:ident, $task:ty) => {
        impl kaflow_runtime::connector::SourceConnector for $name {
            fn create_task(&self) -> Box<dyn kaflow_runtime::connector::SourceTask> {
                Box::<$task>::default()
            }
        }
    };
    (@kind Sink $name:ident, $task:ty) => {
        impl kaflow_runtime::connector::SinkConnector for $name {
            fn create_task(&self) -> Box<dyn kaflow_runtime::connector::SinkTask> {
                Box::<$task>::default()
            }
        }
    };
}

pub(crate) use numbered_connector;
