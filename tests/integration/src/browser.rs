//! Headless Chromium driven over the W3C WebDriver protocol (Debian's `chromium` and
//! `chromium-driver`, which `make test` installs): start, go to a page, find, click, type, read
//! text, take a screenshot. A few JSON requests to ChromeDriver over the HTTP client the tests
//! already link, in place of a WebDriver crate and its second HTTP stack.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use base64::Engine;
use serde_json::{Value, json};

/// The key of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A ChromeDriver process and one browser session in it.
pub struct Browser {
    http: reqwest::Client,
    session: String,
    driver: Child,
    profile: std::path::PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Browser {
    /// Starts ChromeDriver and a headless Chromium with a fresh profile, 1280×900, once it has
    /// shown a blank page: a browser whose renderer dies at start-up (it happens, rarely, on a
    /// loaded machine) is replaced before any test step runs, at most twice.
    pub async fn start() -> Browser {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let browser = Browser::launch().await;
            match browser.try_call(reqwest::Method::POST, "/url", Some(json!({"url": "about:blank"}))).await {
                Ok(_) => return browser,
                Err(e) if attempt < 3 => {
                    eprintln!("the browser did not start ({e}); starting another");
                    browser.quit().await;
                }
                Err(e) => panic!("the browser did not start three times: {e}"),
            }
        }
    }

    async fn launch() -> Browser {
        let port = free_port();
        let driver = Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts (Debian package chromium-driver; `make test` installs it)");
        let http = platform_vendors::tls::client_builder().unwrap().timeout(Duration::from_secs(60)).build().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if let Ok(r) = http.get(format!("{base}/status")).send().await
                && r.json::<Value>().await.is_ok_and(|v| v["value"]["ready"] == true)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = std::env::temp_dir().join(format!("console-browser-{}", uuid::Uuid::new_v4().simple()));
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {"binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()), "args": args}
        }}});
        let answer: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .expect("a WebDriver session")
            .json()
            .await
            .unwrap();
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("ChromeDriver started no session: {answer}"))
            .to_owned();
        Browser { http, session: format!("{base}/session/{session}"), driver, profile }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.try_call(method.clone(), path, body)
            .await
            .unwrap_or_else(|error| panic!("WebDriver {method} {path}: {error}"))
    }

    /// A WebDriver command; `Err` carries WebDriver's error.
    async fn try_call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, Value> {
        let mut req = self.http.request(method, format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let answer: Value = req.send().await.expect("ChromeDriver answers").json().await.expect("JSON");
        if answer["value"].get("error").is_some() { Err(answer["value"].clone()) } else { Ok(answer["value"].clone()) }
    }

    /// Loads `url` and waits for it.
    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    /// The address of the page shown.
    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None).await.as_str().unwrap_or("").to_owned()
    }

    /// The element matching the CSS selector, waiting up to 5 s for it to appear.
    pub async fn find(&self, css: &str) -> String {
        for _ in 0..50 {
            let answer: Value = self
                .http
                .post(format!("{}/element", self.session))
                .json(&json!({"using": "css selector", "value": css}))
                .send()
                .await
                .expect("ChromeDriver answers")
                .json()
                .await
                .unwrap();
            if let Some(id) = answer["value"][ELEMENT].as_str() {
                return id.to_owned();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let source = self.call(reqwest::Method::GET, "/source", None).await;
        panic!("no element {css:?} on {}: {}", self.url().await, source.as_str().unwrap_or(""));
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await;
    }

    /// Types `text` into the element matching `css` (`\u{E007}` is Enter).
    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({"text": text}))).await;
    }

    /// Sends keys to the page (keyboard shortcuts).
    pub async fn keys(&self, text: &str) {
        let id = self.find("body").await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({"text": text}))).await;
    }

    /// The page's HTML as the browser holds it (form values included).
    pub async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", None).await.as_str().unwrap_or("").to_owned()
    }

    /// The visible text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        let id = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None).await.as_str().unwrap_or("").to_owned()
    }

    /// Waits up to 5 s for the element matching `css` to contain `text`; returns its text.
    /// A part the page replaces meanwhile (htmx) is looked up again.
    pub async fn wait_for_text(&self, css: &str, text: &str) -> String {
        let mut last = String::new();
        for _ in 0..50 {
            let id = self.find(css).await;
            match self.try_call(reqwest::Method::GET, &format!("/element/{id}/text"), None).await {
                Ok(shown) => last = shown.as_str().unwrap_or("").to_owned(),
                // Replaced between the look-up and the read: look it up again.
                Err(e) if e["error"] == "stale element reference" => continue,
                Err(e) => panic!("WebDriver GET /element/{id}/text: {e}"),
            }
            if last.contains(text) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css:?} never showed {text:?}; it shows {last:?}");
    }

    /// Errors the page logged (a Content-Security-Policy refusal among them).
    pub async fn console_errors(&self) -> Vec<String> {
        let answer: Value = self
            .http
            .post(format!("{}/se/log", self.session))
            .json(&json!({"type": "browser"}))
            .send()
            .await
            .expect("ChromeDriver answers")
            .json()
            .await
            .unwrap_or_default();
        answer["value"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .filter_map(|e| e["message"].as_str().map(str::to_owned))
            .collect()
    }

    /// A PNG of the whole window.
    pub async fn screenshot(&self) -> Vec<u8> {
        let b64 = self.call(reqwest::Method::GET, "/screenshot", None).await;
        base64::engine::general_purpose::STANDARD.decode(b64.as_str().unwrap_or("")).expect("base64 PNG")
    }

    /// Ends the session and ChromeDriver.
    pub async fn quit(mut self) {
        let _ = self.http.delete(&self.session).send().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}
