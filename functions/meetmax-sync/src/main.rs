//! meetmax-sync Lambda entry point: builds the service once per container.

platform_runtime::lambda_main!("meetmax-sync", platform_meetmax::MeetmaxSync, meetmax_sync::handle);
