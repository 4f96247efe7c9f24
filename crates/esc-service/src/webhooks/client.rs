//! The HTTP side of deliveries: one reqwest client with a connect and a
//! total timeout, no redirects, no proxies, esc-providers' SSRF-guarded
//! resolver (the one its external calls use: names resolving to
//! link-local or cloud metadata addresses are refused unless allowed) and
//! a capped response read.
//!
//! Error texts are recorded with the delivery; they never carry reqwest's
//! own text (it names the URL, which may embed a token).

use std::sync::Arc;
use std::time::{Duration, Instant};

use esc_providers::guard::{GuardedResolver, is_refused_address};

use super::WebhookConfig;

/// What came back from one POST.
pub(crate) struct Response {
    /// The HTTP status; `None` when no response came (see `body`).
    pub(crate) status: Option<u16>,
    /// Response headers, one `Name: value` per line.
    pub(crate) headers: String,
    /// The start of the body, or why nothing came back.
    pub(crate) body: String,
    /// Time taken.
    pub(crate) duration: Duration,
}

/// The shared client of every delivery.
pub(crate) struct Client {
    http: Result<reqwest::Client, String>,
    max_response_bytes: usize,
}

impl Client {
    pub(crate) fn new(config: &WebhookConfig) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // An environment proxy would bypass the address guard.
            .no_proxy()
            .connect_timeout(config.connect_timeout)
            .timeout(config.total_timeout)
            .dns_resolver(Arc::new(GuardedResolver::new(config.allow_link_local)))
            .user_agent(concat!("esc-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| format!("cannot build the HTTP client: {}", source_text(&error)));
        Self {
            http,
            max_response_bytes: config.max_response_bytes,
        }
    }

    /// POSTs `body` to `url` with `headers`; never fails (a failure is the
    /// delivery's outcome).
    pub(crate) async fn post(
        &self,
        url: reqwest::Url,
        headers: &[(String, String)],
        body: String,
    ) -> Response {
        let started = Instant::now();
        let failed = |why: String| Response {
            status: None,
            headers: String::new(),
            body: why,
            duration: started.elapsed(),
        };
        let http = match &self.http {
            Ok(http) => http,
            Err(why) => return failed(why.clone()),
        };
        let mut request = http.post(url);
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let mut response = match request.body(body).send().await {
            Ok(response) => response,
            Err(error) => return failed(send_error(&error)),
        };
        let status = response.status().as_u16();
        let mut header_text = String::new();
        for (name, value) in response.headers() {
            header_text.push_str(name.as_str());
            header_text.push_str(": ");
            header_text.push_str(&String::from_utf8_lossy(value.as_bytes()));
            header_text.push('\n');
        }
        // Read at most the cap; the rest of a large body is not wanted.
        let mut kept = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = self.max_response_bytes.saturating_sub(kept.len());
                    kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if kept.len() >= self.max_response_bytes {
                        break;
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    // the status came; keep it and say the body broke off
                    let mut text = String::from_utf8_lossy(&kept).into_owned();
                    text.push_str(&format!(
                        "\n[reading the response failed: {}]",
                        send_error(&error)
                    ));
                    return Response {
                        status: Some(status),
                        headers: header_text,
                        body: text,
                        duration: started.elapsed(),
                    };
                }
            }
        }
        Response {
            status: Some(status),
            headers: header_text,
            body: String::from_utf8_lossy(&kept).into_owned(),
            duration: started.elapsed(),
        }
    }
}

/// Why a request failed, without reqwest's own text (it names the URL).
fn send_error(error: &reqwest::Error) -> String {
    if is_refused_address(error) {
        return "the host resolves to a link-local or cloud metadata address, which is refused"
            .into();
    }
    if error.is_timeout() {
        return "timed out".into();
    }
    if error.is_connect() {
        return format!("cannot connect: {}", source_text(error));
    }
    format!("request failed: {}", source_text(error))
}

/// The innermost cause of `error`; never `error`'s own text.
fn source_text(error: &(dyn std::error::Error + 'static)) -> String {
    let Some(mut last) = error.source() else {
        return String::from("unknown cause");
    };
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}
