//! connector-pull Lambda entry point: builds the service once per container.

platform_runtime::lambda_main!("connector-pull", platform_connectors::Connectors, connector_pull::handle);
