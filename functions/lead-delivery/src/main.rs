//! lead-delivery Lambda entry point: builds the service once per container.

platform_runtime::lambda_main!("lead-delivery", platform_leads::Leads, lead_delivery::handle);
