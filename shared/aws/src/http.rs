//! The AWS SDK's HTTP client: reqwest, over the platform's one TLS configuration
//! ([`platform_vendors::tls`]), instead of the SDK's own hyper + rustls stack.
//!
//! Why: the SDK's `default-https-client` brings a second HTTP stack (with HTTP/2) into every
//! function, and reads the whole system certificate store when the first client is built — most
//! of a function's start-up. The vendors already use reqwest; one stack and compiled-in roots serve
//! both. Each distinct pair of SDK timeouts (connect, read) gets one reqwest client, reused for
//! every request with those settings.
//!
//! Failures are classified as the SDK's retry strategy expects: a timeout as a timeout; a
//! connection that could not be made, or that died before the answer (reset, closed while the
//! request was in flight) as I/O, which the SDK retries; anything else as "other".
//!
//! The SDK takes any HTTP client through `SdkConfig`'s `http_client` (AWS SDK for Rust developer
//! guide, "Configuring service clients in code":
//! <https://docs.aws.amazon.com/sdk-for-rust/latest/dg/config-code.html>; the trait is
//! `aws_smithy_runtime_api::client::http::HttpClient`). Signing, retries, checksums and timeouts
//! of whole operations stay the SDK's.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use aws_smithy_runtime_api::client::{
    http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
    },
    orchestrator::HttpRequest,
    result::ConnectorError,
    runtime_components::RuntimeComponents,
};
use aws_smithy_types::body::SdkBody;

/// The SDK's connect timeout when a client's configuration sets none (the SDK's own default).
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_millis(3_100);

/// The SDK's connect and read timeouts of a request.
type Timeouts = (Option<Duration>, Option<Duration>);

/// A reqwest-backed [`HttpClient`] for the AWS SDK.
#[derive(Debug, Clone, Default)]
pub struct ReqwestHttpClient {
    clients: Arc<Mutex<HashMap<Timeouts, reqwest::Client>>>,
}

impl ReqwestHttpClient {
    /// A new client, shared by every SDK client of the process (through [`crate::sdk_config`]).
    pub fn shared() -> SharedHttpClient {
        SharedHttpClient::new(ReqwestHttpClient::default())
    }

    /// The reqwest client for one pair of timeouts (built on first use).
    fn client(&self, connect: Option<Duration>, read: Option<Duration>) -> Result<reqwest::Client, ConnectorError> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = clients.get(&(connect, read)) {
            return Ok(client.clone());
        }
        let mut builder = platform_vendors::tls::client_builder()
            .map_err(|e| ConnectorError::user(e.into()))?
            .connect_timeout(connect.unwrap_or(DEFAULT_CONNECT_TIMEOUT));
        if let Some(read) = read {
            builder = builder.read_timeout(read);
        }
        let client = builder.build().map_err(|e| ConnectorError::user(e.into()))?;
        clients.insert((connect, read), client.clone());
        Ok(client)
    }
}

impl HttpClient for ReqwestHttpClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, _components: &RuntimeComponents) -> SharedHttpConnector {
        let client = self.client(settings.connect_timeout(), settings.read_timeout());
        SharedHttpConnector::new(Connector { client })
    }
}

/// One request's sender: the reqwest client for its settings, or why there is none.
#[derive(Debug)]
struct Connector {
    client: Result<reqwest::Client, ConnectorError>,
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = match &self.client {
            Ok(client) => client.clone(),
            Err(e) => {
                let message = e.to_string();
                return HttpConnectorFuture::ready(Err(ConnectorError::user(message.into())));
            }
        };
        HttpConnectorFuture::new(async move {
            let request = request.try_into_http1x().map_err(|e| ConnectorError::user(e.into()))?;
            let request = reqwest::Request::try_from(request.map(reqwest::Body::wrap))
                .map_err(|e| ConnectorError::user(e.into()))?;
            let response = client.execute(request).await.map_err(classify)?;
            let (parts, body) = http::Response::from(response).into_parts();
            let response = http::Response::from_parts(parts, SdkBody::from_body_1_x(body));
            aws_smithy_runtime_api::http::Response::try_from(response)
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// The SDK's kind of a reqwest failure (which decides whether the SDK retries it).
fn classify(e: reqwest::Error) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if e.is_connect() || transport_died(&e) {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}

/// Whether the connection died under the request (a pooled connection the server had closed,
/// say): a reset, a broken pipe, an early end of stream, or hyper's "closed before the message
/// completed". `is_connect` covers only connections that could not be made.
fn transport_died(e: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind::*;
    std::iter::successors(Some(e), |e| e.source()).any(|e| {
        e.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(io.kind(), ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof | NotConnected)
        }) || e.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_incomplete_message)
    })
}

#[cfg(test)]
// Plain clients to local servers: the dev-dependencies give reqwest its default TLS provider.
#[allow(clippy::disallowed_methods)]
mod tests {
    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        net::TcpListener,
    };

    use super::*;

    /// Serves one answer on one connection, keeps it open for a second request and then closes or
    /// resets it (`reset`); returns the address.
    async fn server(reset: bool) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            let mut requests = 0;
            while requests < 2 {
                if conn.read(&mut byte).await.unwrap() == 0 {
                    return;
                }
                head.push(byte[0]);
                if head.ends_with(b"\r\n\r\n") {
                    head.clear();
                    requests += 1;
                    if requests == 1 {
                        conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await.unwrap();
                    }
                }
            }
            if reset {
                #[allow(deprecated)] // zero linger: close with a reset, at once
                conn.set_linger(Some(Duration::ZERO)).unwrap();
            }
            drop(conn);
        });
        format!("http://{addr}/")
    }

    async fn second_request_error(reset: bool) -> reqwest::Error {
        let url = server(reset).await;
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let first = client.get(&url).send().await.unwrap();
        assert_eq!(first.text().await.unwrap(), "ok");
        client.get(&url).send().await.expect_err("the connection died under the second request")
    }

    #[tokio::test]
    async fn a_pooled_connection_reset_or_closed_under_a_request_is_retryable_io() {
        for reset in [true, false] {
            let e = second_request_error(reset).await;
            assert!(!e.is_connect(), "{e:?}");
            let classified = classify(e);
            assert!(classified.is_io(), "reset {reset}: {classified:?}");
        }
    }

    #[tokio::test]
    async fn a_refused_connection_is_io_a_slow_answer_a_timeout_and_a_bad_answer_other() {
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", closed.local_addr().unwrap());
        drop(closed);
        let refused = reqwest::Client::new().get(&url).send().await.unwrap_err();
        assert!(classify(refused).is_io());

        let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", silent.local_addr().unwrap());
        let slow = reqwest::Client::builder().timeout(Duration::from_millis(100)).build().unwrap();
        assert!(classify(slow.get(&url).send().await.unwrap_err()).is_timeout());

        let garbled = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", garbled.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut conn, _) = garbled.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = conn.read(&mut buf).await;
            conn.write_all(b"NOT HTTP AT ALL\r\n\r\n").await.unwrap();
            let _ = conn.read(&mut buf).await;
        });
        let bad = classify(reqwest::Client::new().get(&url).send().await.unwrap_err());
        assert!(bad.is_other() && !bad.is_io() && !bad.is_timeout(), "{bad:?}");
    }

    #[tokio::test]
    async fn one_reqwest_client_per_pair_of_timeouts() {
        let http = ReqwestHttpClient::default();
        http.client(None, None).unwrap();
        http.client(None, None).unwrap();
        http.client(Some(Duration::from_secs(1)), None).unwrap();
        assert_eq!(http.clients.lock().unwrap().len(), 2);
    }
}
