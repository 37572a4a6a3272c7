//! spreadsheet-export Lambda entry point: builds the service once per container.

platform_runtime::lambda_main!("spreadsheet-export", platform_export::Exporter, spreadsheet_export::handle);
