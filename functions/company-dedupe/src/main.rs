//! company-dedupe Lambda entry point: builds the service once per container.

platform_runtime::lambda_main!("company-dedupe", platform_dedupe::Dedupe, company_dedupe::handle);
