//! The HTTP side of deliveries: one reqwest client with a connect and a
//! total timeout, no redirects, no proxies, esc-providers' SSRF-guarded
//! resolver (the one its external calls use: names resolving to
//! link-local or cloud metadata addresses are refused unless allowed) and
//! a capped response read: what a receiver sends back is kept only as its
//! status, at most [`MAX_KEPT_HEADERS`] headers of at most
//! [`MAX_HEADER_VALUE_BYTES`] each ([`MAX_HEADER_TEXT_BYTES`] in all) and
//! the first `max_response_bytes` of the body; the rest of the body is not
//! read. hyper bounds what is read of the head (100 headers, about 400 KiB:
//! more fails the delivery).
//!
//! Error texts are recorded with the delivery; they never carry reqwest's
//! own text (it names the URL, which may embed a token).

use std::sync::Arc;
use std::time::{Duration, Instant};

use esc_providers::guard::{GuardedResolver, is_refused_address};

use super::WebhookConfig;

/// Response headers kept per delivery, at most (the rest are counted).
pub(crate) const MAX_KEPT_HEADERS: usize = 32;
/// Bytes of one kept header value, at most (longer ones are cut).
pub(crate) const MAX_HEADER_VALUE_BYTES: usize = 256;
/// Bytes of the kept header text, at most.
pub(crate) const MAX_HEADER_TEXT_BYTES: usize = 4096;
/// Response headers hyper accepts (its default, stated): more fail the
/// delivery.
const MAX_RESPONSE_HEADERS: usize = 100;

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
    /// Whether trying again later may succeed: no response came (cannot
    /// connect, timed out, the connection broke) or the status was 5xx or
    /// 429. A refused address, a 2xx-4xx answer or a setup error is final.
    pub(crate) transient: bool,
}

impl Response {
    /// A delivery that got no response, for a reason trying again cannot change.
    pub(crate) fn final_failure(why: String, duration: Duration) -> Self {
        Self {
            status: None,
            headers: String::new(),
            body: why,
            duration,
            transient: false,
        }
    }
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
            .http1_max_headers(MAX_RESPONSE_HEADERS)
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
        let http = match &self.http {
            Ok(http) => http,
            Err(why) => return Response::final_failure(why.clone(), started.elapsed()),
        };
        let mut request = http.post(url);
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let mut response = match request.body(body).send().await {
            Ok(response) => response,
            Err(error) => {
                return Response {
                    status: None,
                    headers: String::new(),
                    body: send_error(&error),
                    duration: started.elapsed(),
                    transient: !is_refused_address(&error),
                };
            }
        };
        let status = response.status().as_u16();
        let transient = status >= 500 || status == 429;
        let header_text = header_text(response.headers());
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
                        transient,
                    };
                }
            }
        }
        Response {
            status: Some(status),
            headers: header_text,
            body: String::from_utf8_lossy(&kept).into_owned(),
            duration: started.elapsed(),
            transient,
        }
    }
}

/// The headers as kept: one `Name: value` per line, at most
/// [`MAX_KEPT_HEADERS`] lines, each value cut at [`MAX_HEADER_VALUE_BYTES`]
/// and the whole at [`MAX_HEADER_TEXT_BYTES`]; a last line counts what was
/// left out.
pub(crate) fn header_text(headers: &reqwest::header::HeaderMap) -> String {
    let mut text = String::new();
    let (mut n_kept, mut n_left_out) = (0usize, 0usize);
    for (name, value) in headers {
        let value = value.as_bytes();
        let mut line = String::from(name.as_str());
        line.push_str(": ");
        line.push_str(&String::from_utf8_lossy(
            &value[..value.len().min(MAX_HEADER_VALUE_BYTES)],
        ));
        if value.len() > MAX_HEADER_VALUE_BYTES {
            line.push_str(" [cut]");
        }
        line.push('\n');
        if n_kept >= MAX_KEPT_HEADERS || text.len() + line.len() > MAX_HEADER_TEXT_BYTES {
            n_left_out += 1;
        } else {
            text.push_str(&line);
            n_kept += 1;
        }
    }
    if n_left_out > 0 {
        text.push_str(&format!("[{n_left_out} more headers not kept]\n"));
    }
    text
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
