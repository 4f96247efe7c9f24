//! The HTTP side of ESC Connect: URL policy, the SSRF-guarded resolver, one
//! signed POST with retries, timeouts and a response size cap.
//!
//! Error texts become diagnostics shown to users: they say what failed and
//! never include the URL (it may be secret), the request body or a token.

use std::net::IpAddr;
use std::sync::Arc;

use esc_eval::{CallError, PlainValue};
use esc_oidc::{EnvRef, Issuer, TokenRequest};
use reqwest::header::CONTENT_TYPE;
use reqwest::{StatusCode, Url};

use crate::guard::{GuardedResolver, is_blocked, is_refused_address};
use crate::{ConfigError, ProvidersConfig};

/// Bytes of an error response shown in a diagnostic, at most.
const EXCERPT_CHARS: usize = 200;
/// Bytes of an error response read to make the excerpt, at most.
const EXCERPT_READ_BYTES: usize = 1024;

/// Who a call is made for: the claims of its token besides `aud`.
pub(crate) struct Caller {
    /// The environment whose definition makes the call.
    pub(crate) current_env: EnvRef,
    /// The environment that was opened.
    pub(crate) root_env: EnvRef,
    /// The user, token or schedule behind the call.
    pub(crate) trigger_user: String,
}

/// Texts an error message must never contain: the URL's query, secret
/// request values, a rotation's state (and, added per attempt, the token).
/// Adapters often echo what they received in an error body, and that body
/// is quoted in the diagnostic.
#[derive(Default)]
pub(crate) struct Hidden(Vec<String>);

impl Hidden {
    /// Shorter texts are not hidden: replacing every `1` or `ab` in a
    /// message would make it unreadable.
    const MIN_CHARS: usize = 4;

    /// Hide `text`, as sent and as the usual JSON encoders write it inside
    /// a string: minimal escaping (serde, JavaScript), non-ASCII as `\uXXXX`
    /// (Python's and PHP's default), `<>&` and U+2028/9 as `\uXXXX` (Go's
    /// default), each also with `/` as `\/` (PHP).
    pub(crate) fn add(&mut self, text: &str) {
        if text.chars().count() < Hidden::MIN_CHARS {
            return;
        }
        let mut forms = vec![text.to_owned()];
        // `to_json` writes Go's form; without Go's extra escapes of `<>&`
        // and U+2028/9 it is the minimal form other encoders write.
        if let Ok(quoted) = PlainValue::string(text).to_json()
            && let Some(go) = quoted.strip_prefix('"').and_then(|q| q.strip_suffix('"'))
        {
            let minimal = [
                ("\\u003c", "<"),
                ("\\u003e", ">"),
                ("\\u0026", "&"),
                ("\\u2028", "\u{2028}"),
                ("\\u2029", "\u{2029}"),
            ]
            .iter()
            .fold(go.to_owned(), |form, (escaped, c)| form.replace(escaped, c));
            for form in [minimal, go.to_owned()] {
                let ascii = escape_chars(&form, |c| !c.is_ascii());
                for form in [form, ascii] {
                    forms.push(form.replace('/', "\\/"));
                    forms.push(form);
                }
            }
        }
        for form in forms {
            if !self.0.contains(&form) {
                self.0.push(form);
            }
        }
    }

    /// The length in bytes of the longest hidden text.
    fn longest(&self) -> usize {
        self.0.iter().map(String::len).max().unwrap_or(0)
    }

    /// Hide the string and number leaves of `value`: all of them when
    /// `all`, else those inside a secret.
    pub(crate) fn add_leaves(&mut self, value: &PlainValue, all: bool) {
        match value {
            PlainValue::String(s) | PlainValue::Number(s) if all => self.add(s),
            PlainValue::Secret(inner) => self.add_leaves(inner, true),
            PlainValue::Array(items) => {
                for item in items {
                    self.add_leaves(item, all);
                }
            }
            PlainValue::Object(map) => {
                for item in map.values() {
                    self.add_leaves(item, all);
                }
            }
            _ => {}
        }
    }

    /// `text` with every hidden text (and `token`) replaced by `[hidden]`,
    /// longest first so a text containing another goes whole.
    fn scrub(&self, text: &str, token: &str) -> String {
        let mut hidden: Vec<&str> = self.0.iter().map(String::as_str).collect();
        hidden.push(token);
        hidden.sort_by_key(|h| std::cmp::Reverse(h.len()));
        let mut text = text.to_owned();
        for h in hidden {
            if !h.is_empty() && text.contains(h) {
                text = text.replace(h, "[hidden]");
            }
        }
        text
    }
}

/// `text` with each char matching `escape` written as JSON's `\uXXXX`
/// (lowercase hex, UTF-16 surrogate pairs beyond the BMP).
fn escape_chars(text: &str, escape: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if escape(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The shared client and settings of every external call.
pub(crate) struct Connector {
    pub(crate) config: ProvidersConfig,
    issuer: Arc<Issuer>,
    client: reqwest::Client,
}

impl Connector {
    pub(crate) fn new(
        config: ProvidersConfig,
        issuer: Arc<Issuer>,
    ) -> Result<Connector, ConfigError> {
        let mut roots = Vec::new();
        for (index, pem) in config.extra_root_certificates_pem.iter().enumerate() {
            // `from_pem` accepts text without any certificate; a bundle
            // that yields none is a configuration mistake.
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|_| ConfigError::RootCertificate { index })?;
            if certs.is_empty() {
                return Err(ConfigError::RootCertificate { index });
            }
            roots.extend(certs);
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // An environment proxy would bypass the address guard.
            .no_proxy()
            .connect_timeout(config.connect_timeout)
            .timeout(config.total_timeout)
            .dns_resolver(Arc::new(GuardedResolver::new(config.allow_link_local)))
            .tls_certs_merge(roots)
            .build()
            .map_err(|e| ConfigError::Client(source_text(&e)))?;
        Ok(Connector {
            config,
            issuer,
            client,
        })
    }

    /// Check `url` against the scheme and address policy.
    pub(crate) fn check_url(&self, url: &str) -> Result<Url, CallError> {
        let parsed =
            Url::parse(url).map_err(|_| CallError::new("external: url is not a valid URL"))?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(CallError::new("external: url must not contain credentials"));
        }
        let host = parsed.host_str().unwrap_or_default();
        let literal: Option<IpAddr> = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok();
        match parsed.scheme() {
            "https" => {}
            "http" => {
                let loopback = host == "localhost" || literal.is_some_and(|ip| ip.is_loopback());
                if !(self.config.allow_insecure_loopback_http && loopback) {
                    return Err(CallError::new(
                        "external: url must use https:// (plain http:// is accepted only to a loopback address, and only when the server enables allow_insecure_loopback_http)",
                    ));
                }
            }
            _ => {
                return Err(CallError::new("external: url must use https://"));
            }
        }
        if let Some(ip) = literal
            && !self.config.allow_link_local
            && is_blocked(ip)
        {
            return Err(CallError::new(BLOCKED_TEXT));
        }
        Ok(parsed)
    }

    /// POST `body` to `url` with a fresh token per attempt; the 200 body.
    /// `retry`: retry connection errors and 502/503/504 (opens only).
    /// An error response's excerpt never shows `hidden` texts, the URL's
    /// query or the token.
    pub(crate) async fn post(
        &self,
        audience: &str,
        url: &Url,
        body: &[u8],
        caller: &Caller,
        retry: bool,
        mut hidden: Hidden,
    ) -> Result<Vec<u8>, CallError> {
        hidden.add(audience);
        if let Some(query) = url.query() {
            hidden.add(query);
        }
        let max_attempts = if retry {
            self.config.max_attempts.max(1)
        } else {
            1
        };
        let mut backoff = self.config.retry_backoff;
        let mut attempt = 1;
        loop {
            let token = self.mint(audience, body, caller).await?;
            let sent = self
                .client
                .post(url.clone())
                .header(CONTENT_TYPE, "application/json")
                .bearer_auth(&token)
                .body(body.to_vec())
                .send()
                .await;
            // Every arm returns except the retryable outcomes.
            match sent {
                Ok(response) if response.status() == StatusCode::OK => {
                    return self.read_capped(response).await;
                }
                Ok(response) => {
                    let status = response.status();
                    if !(matches!(status.as_u16(), 502..=504) && attempt < max_attempts) {
                        return Err(status_error(response, attempt, &hidden, &token).await);
                    }
                }
                Err(e) => {
                    if is_refused_address(&e) {
                        return Err(CallError::new(BLOCKED_TEXT));
                    }
                    if !(e.is_connect() && attempt < max_attempts) {
                        return Err(send_error(&e, attempt, &self.config));
                    }
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
            attempt += 1;
        }
    }

    /// A token for one attempt. RS256 signing is CPU work (about a
    /// millisecond): it runs on the blocking pool so concurrent opens
    /// polled by one task sign in parallel.
    async fn mint(
        &self,
        audience: &str,
        body: &[u8],
        caller: &Caller,
    ) -> Result<String, CallError> {
        let issuer = self.issuer.clone();
        let (audience, body) = (audience.to_owned(), body.to_vec());
        let (current_env, root_env) = (caller.current_env.clone(), caller.root_env.clone());
        let trigger_user = caller.trigger_user.clone();
        let signed = tokio::task::spawn_blocking(move || {
            issuer.mint(
                &TokenRequest {
                    audience: &audience,
                    current_env: &current_env,
                    root_env: &root_env,
                    trigger_user: &trigger_user,
                },
                &body,
            )
        })
        .await
        .map_err(|_| CallError::new("external: signing the request was interrupted"))?;
        signed.map_err(|e| CallError::new(format!("external: cannot sign the request: {e}")))
    }

    /// The body, refused when larger than the cap (read stops past it).
    async fn read_capped(&self, mut response: reqwest::Response) -> Result<Vec<u8>, CallError> {
        let cap = self.config.max_response_bytes;
        let too_large = || {
            CallError::new(format!(
                "external: the adapter's response is larger than the limit of {cap} bytes"
            ))
        };
        if response.content_length().is_some_and(|n| n > cap as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > cap {
                        return Err(too_large());
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body),
                Err(e) => return Err(send_error(&e, 1, &self.config)),
            }
        }
    }
}

const BLOCKED_TEXT: &str = "external: the adapter's host is a link-local or cloud metadata address, which is refused (the server setting allow_link_local allows it)";

/// The innermost cause of `e`; never `e`'s own text (reqwest's names the URL).
fn source_text(e: &(dyn std::error::Error + 'static)) -> String {
    let Some(mut last) = e.source() else {
        return String::from("unknown cause");
    };
    while let Some(s) = last.source() {
        last = s;
    }
    last.to_string()
}

fn attempts_text(attempt: u32) -> String {
    if attempt > 1 {
        format!(" (after {attempt} attempts)")
    } else {
        String::new()
    }
}

fn send_error(e: &reqwest::Error, attempt: u32, config: &ProvidersConfig) -> CallError {
    let tries = attempts_text(attempt);
    if e.is_timeout() {
        if e.is_connect() {
            return CallError::new(format!(
                "external: cannot connect to the adapter within {:?}{tries}",
                config.connect_timeout
            ));
        }
        return CallError::new(format!(
            "external: the adapter did not answer within {:?}{tries}",
            config.total_timeout
        ));
    }
    let cause = source_text(e);
    if e.is_connect() {
        CallError::new(format!(
            "external: cannot connect to the adapter: {cause}{tries}"
        ))
    } else {
        CallError::new(format!(
            "external: request to the adapter failed: {cause}{tries}"
        ))
    }
}

async fn status_error(
    mut response: reqwest::Response,
    attempt: u32,
    hidden: &Hidden,
    token: &str,
) -> CallError {
    let status = response.status();
    let mut raw = Vec::new();
    // Past the excerpt's bytes by the longest hidden text, so a hidden text
    // starting inside the excerpt is read whole and matched, never cut at
    // the read's end.
    let read_bytes = EXCERPT_READ_BYTES.saturating_add(hidden.longest().max(token.len()));
    while raw.len() < read_bytes {
        match response.chunk().await {
            Ok(Some(chunk)) => raw.extend_from_slice(&chunk),
            _ => break,
        }
    }
    let text = hidden.scrub(&String::from_utf8_lossy(&raw), token);
    let mut excerpt: String = text
        .chars()
        .take(EXCERPT_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    excerpt = excerpt.trim().to_owned();
    if text.chars().count() > EXCERPT_CHARS {
        excerpt.push('…');
    }
    let redirect = if status.is_redirection() {
        " (redirects are not followed)"
    } else {
        ""
    };
    let tries = attempts_text(attempt);
    if excerpt.is_empty() {
        CallError::new(format!(
            "external: the adapter answered {status}{redirect}{tries}"
        ))
    } else {
        CallError::new(format!(
            "external: the adapter answered {status}{redirect}{tries}: {excerpt}"
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn connector(config: ProvidersConfig) -> Connector {
        let issuer = Issuer::ephemeral(
            esc_oidc::IssuerConfig::new("https://esc.test"),
            esc_oidc::UnixTime::now(),
        )
        .unwrap();
        Connector::new(config, Arc::new(issuer)).unwrap()
    }

    #[test]
    fn every_spelling_of_a_link_local_host_is_refused_before_connecting() {
        let strict = connector(ProvidersConfig::default());
        let allowing = connector(ProvidersConfig {
            allow_link_local: true,
            ..ProvidersConfig::default()
        });
        for url in [
            "https://169.254.169.254/latest",
            "https://169.254.1.1:8443/x",
            // Decimal, hexadecimal and trailing-dot IPv4 spellings.
            "https://2852039166/x",
            "https://0xa9.0xfe.0xa9.0xfe/x",
            "https://169.254.169.254./x",
            // IPv4-mapped IPv6, IPv6 link-local, the EC2 IPv6 endpoint.
            "https://[::ffff:169.254.169.254]/x",
            "https://[fe80::1]/x",
            "https://[fd00:ec2::254]/x",
        ] {
            let err = strict.check_url(url).unwrap_err();
            assert_eq!(err.0, BLOCKED_TEXT, "{url}");
            assert!(allowing.check_url(url).is_ok(), "{url}");
        }
        assert!(strict.check_url("https://169.255.0.1/x").is_ok());
    }

    #[test]
    fn scheme_and_credentials_policy() {
        let strict = connector(ProvidersConfig::default());
        let loopback = connector(ProvidersConfig {
            allow_insecure_loopback_http: true,
            ..ProvidersConfig::default()
        });
        for url in ["ftp://127.0.0.1/x", "file:///etc/passwd", "not a url"] {
            assert!(strict.check_url(url).is_err(), "{url}");
            assert!(loopback.check_url(url).is_err(), "{url}");
        }
        let with_credentials = strict
            .check_url("https://user:hunter2@adapter.example/x")
            .unwrap_err();
        assert!(
            !with_credentials.0.contains("hunter2"),
            "{with_credentials}"
        );
        for url in [
            "http://127.0.0.1:1/x",
            "http://127.0.0.2/x",
            "http://[::1]/x",
            "http://localhost/x",
        ] {
            let err = strict.check_url(url).unwrap_err();
            assert!(err.0.contains("allow_insecure_loopback_http"), "{url}");
            assert!(loopback.check_url(url).is_ok(), "{url}");
        }
        for url in ["http://10.0.0.1/x", "http://adapter.example/x"] {
            assert!(loopback.check_url(url).is_err(), "{url}");
        }
    }

    #[test]
    fn hidden_texts_match_go_python_and_php_escaping() {
        let mut hidden = Hidden::default();
        hidden.add("a<b>&c/é-x");
        for written in [
            r"a<b>&c/é-x",
            r"a\u003cb\u003e\u0026c/é-x",
            r"a\u003cb\u003e\u0026c/\u00e9-x",
            r"a<b>&c/\u00e9-x",
            r"a<b>&c\/\u00e9-x",
            r"a<b>&c\/é-x",
        ] {
            assert_eq!(
                hidden.scrub(&format!("[{written}]"), ""),
                "[[hidden]]",
                "{written}"
            );
        }
        // beyond the BMP: a UTF-16 surrogate pair
        hidden.add("key-🔑");
        assert_eq!(hidden.scrub(r"key-\ud83d\udd11", ""), "[hidden]");
    }

    #[test]
    fn hidden_texts_go_whole_and_json_escaped() {
        let mut hidden = Hidden::default();
        hidden.add_leaves(
            &PlainValue::object([
                ("plain", PlainValue::string("plain-value")),
                (
                    "secret",
                    PlainValue::Secret(Box::new(PlainValue::object([
                        ("quote", PlainValue::string("pa\"ss-word")),
                        ("short", PlainValue::string("abc")),
                        ("number", PlainValue::Number("123456".into())),
                    ]))),
                ),
            ]),
            false,
        );
        hidden.add("pa\"ss");
        let text = r#"got {"quote":"pa\"ss-word","short":"abc","number":123456,"plain":"plain-value"} with tok.en.sig"#;
        assert_eq!(
            hidden.scrub(text, "tok.en.sig"),
            r#"got {"quote":"[hidden]","short":"abc","number":[hidden],"plain":"plain-value"} with [hidden]"#
        );
    }
}
