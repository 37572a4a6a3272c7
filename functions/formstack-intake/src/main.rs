//! formstack-intake Lambda entry point: builds the service once per container and hands every
//! event to the handler.

/// mimalloc: a batch of 1,000 submissions makes and frees some 100,000 small values (parsed
/// fields, mapped columns, statement parameters); glibc's allocator took over a third of the
/// database step's client time (`docs/performance.md`). Built without
/// transparent huge pages (the workspace's `no_thp` feature): zeroing 2 MB pages cost start-up time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

platform_runtime::lambda_main!("formstack-intake", platform_intake::Intake, formstack_intake::handle);
