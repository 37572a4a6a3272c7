//! session-register Lambda entry point: builds the service once per container.

platform_runtime::lambda_main!("session-register", platform_connectors::register::Registrar, session_register::handle);
