//! operator-console entry point. Under Lambda (`AWS_LAMBDA_RUNTIME_API` set) the router answers
//! Function URL requests through `lambda_http`; elsewhere it is served on `CONSOLE_ADDR`
//! (default `127.0.0.1:8080`). `operator-console redrive <queue>` moves a queue's dead
//! messages back from a terminal, audited like the console's button.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    platform_runtime::tracing_setup::init();
    let env = platform_runtime::Env::from_process();
    let console = operator_console::Console::from_env(&env).await.map_err(|e| {
        tracing::error!(error = %e, "operator-console cannot start");
        e
    })?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [command, queue] = args.as_slice()
        && command == "redrive"
    {
        let actor = format!("terminal:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()));
        let moved = console.redrive_from_terminal(queue, &actor).await?;
        println!("{moved}");
        return Ok(());
    }
    let app = operator_console::router(console);
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        return lambda_http::run(app).await;
    }
    let addr = env.optional("CONSOLE_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    tracing::info!(%addr, "operator console listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            tokio::signal::ctrl_c().await.ok();
        })
        .await?;
    Ok(())
}
