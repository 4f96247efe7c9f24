//! `fn::open::external` and `fn::rotate::external` (CONNECT.md sections 1,
//! 2 and 4): a signed POST to an adapter the user runs.

use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use esc_eval::{
    CallError, PlainValue, Provider, ProviderContext, ProviderSchema, Rotator, RotatorSchema,
    Schema,
};
use esc_oidc::EnvRef;

use crate::http::{Caller, Connector, Hidden};

/// Inputs of `fn::open::external`. Unknown keys are refused by `open`, not
/// here: the evaluator turns a failed `additionalProperties: false` into a
/// silent unknown, and the user must be told.
const OPEN_INPUTS: &str = r#"{"type":"object","properties":{"url":{"type":"string"},"request":{"type":"object"},"secret":{"type":"boolean"}},"required":["url"]}"#;
/// Outputs of `fn::open::external`.
const OPEN_OUTPUTS: &str =
    r#"{"type":"object","properties":{"response":true},"required":["response"]}"#;
/// Inputs of `fn::rotate::external` (unknown keys: as for open).
const ROTATE_INPUTS: &str = r#"{"type":"object","properties":{"url":{"type":"string"},"request":{"type":"object"}},"required":["url"]}"#;
/// State of `fn::rotate::external`.
const ROTATE_STATE: &str = r#"{"type":"object","properties":{"current":true,"previous":true}}"#;
/// Outputs of `fn::rotate::external`.
const ROTATE_OUTPUTS: &str =
    r#"{"type":"object","properties":{"current":true},"required":["current"]}"#;

fn schema(text: &str) -> Schema {
    // The texts are constants of this file; a typo is a bug every test catches.
    Schema::from_json_str(text).unwrap_or_else(|e| panic!("bad built-in schema: {e}"))
}

/// The schemas, parsed once: the evaluator asks for them several times per
/// call site and pass, and parsing them each time cost as much as parsing
/// the environment (a `Schema` clone is a reference count).
static OPEN_SCHEMA: LazyLock<ProviderSchema> = LazyLock::new(|| ProviderSchema {
    inputs: schema(OPEN_INPUTS),
    outputs: schema(OPEN_OUTPUTS),
});
static ROTATE_SCHEMA: LazyLock<RotatorSchema> = LazyLock::new(|| RotatorSchema {
    inputs: schema(ROTATE_INPUTS),
    state: schema(ROTATE_STATE),
    outputs: schema(ROTATE_OUTPUTS),
});

/// The checked inputs of a call.
struct Inputs<'a> {
    url: &'a str,
    request: PlainValue,
    /// Whether any input was secret (the output then is too).
    any_secret: bool,
    secret_output: bool,
}

fn contains_secret(v: &PlainValue) -> bool {
    match v {
        PlainValue::Secret(_) => true,
        PlainValue::Array(items) => items.iter().any(contains_secret),
        PlainValue::Object(map) => map.values().any(contains_secret),
        _ => false,
    }
}

/// Checks inputs: unknown keys here; types again (the evaluator validated
/// them against the schema; this keeps the provider safe when called
/// directly).
fn inputs<'a>(inputs: &'a PlainValue, allow_secret_flag: bool) -> Result<Inputs<'a>, CallError> {
    let PlainValue::Object(map) = inputs.unwrap_secret() else {
        return Err(CallError::new("external: inputs must be an object"));
    };
    for key in map.keys() {
        let known = key == "url" || key == "request" || (allow_secret_flag && key == "secret");
        if !known {
            return Err(CallError::new(format!(
                "external: unknown input {}",
                esc_eval::go_quote(key)
            )));
        }
    }
    let url = map
        .get("url")
        .and_then(PlainValue::as_str)
        .ok_or_else(|| CallError::new("external: url must be a string"))?;
    let request = match map.get("request") {
        None => PlainValue::object::<String>([]),
        Some(r) if matches!(r.unwrap_secret(), PlainValue::Object(_)) => r.clone(),
        Some(_) => return Err(CallError::new("external: request must be an object")),
    };
    let secret_output = match map.get("secret").map(PlainValue::unwrap_secret) {
        None => true,
        Some(PlainValue::Bool(b)) => *b,
        Some(_) => return Err(CallError::new("external: secret must be a boolean")),
    };
    Ok(Inputs {
        url,
        request,
        any_secret: contains_secret(inputs),
        secret_output,
    })
}

/// `project/env` (legacy `env` = project `default`) in `org`.
fn env_ref(org: &str, name: &str) -> EnvRef {
    let (project, env) = name.split_once('/').unwrap_or(("default", name));
    EnvRef {
        org: org.to_owned(),
        project: project.to_owned(),
        name: env.to_owned(),
    }
}

fn context_str<'a>(ctx: &'a ProviderContext, path: &[&str]) -> Option<&'a str> {
    let mut v = &ctx.context;
    for key in path {
        v = v.member(key)?;
    }
    v.as_str().filter(|s| !s.is_empty())
}

/// The token claims from the evaluation context (`pulumi.organization.login`,
/// `pulumi.user.login`, `rootEnvironment.name`), with the configured
/// fallbacks.
fn caller(connector: &Connector, ctx: &ProviderContext) -> Result<Caller, CallError> {
    let org = context_str(ctx, &["pulumi", "organization", "login"])
        .or(Some(connector.config.default_org.as_str()).filter(|s| !s.is_empty()))
        .ok_or_else(|| {
            CallError::new(
                "external: the evaluation context names no organization (pulumi.organization.login)",
            )
        })?;
    let trigger_user = context_str(ctx, &["pulumi", "user", "login"])
        .or(Some(connector.config.default_trigger_user.as_str()).filter(|s| !s.is_empty()))
        .ok_or_else(|| {
            CallError::new("external: the evaluation context names no user (pulumi.user.login)")
        })?;
    let root = context_str(ctx, &["rootEnvironment", "name"]).unwrap_or(&ctx.environment);
    Ok(Caller {
        current_env: env_ref(org, &ctx.environment),
        root_env: env_ref(org, root),
        trigger_user: trigger_user.to_owned(),
    })
}

fn encode(v: &PlainValue) -> Result<Vec<u8>, CallError> {
    v.to_json()
        .map(String::into_bytes)
        .map_err(|_| CallError::new("external: the request cannot be encoded as JSON"))
}

fn decode(body: &[u8]) -> Result<PlainValue, CallError> {
    let text = std::str::from_utf8(body).map_err(|_| {
        CallError::new("external: the adapter's response is not valid JSON (not UTF-8)")
    })?;
    // The response is secret unless the document says otherwise: say where
    // it went wrong, not which character the parser's message would quote.
    PlainValue::from_json_document(text).map_err(|e| {
        CallError::new(match e.quoted_offset() {
            Some(offset) => format!(
                "external: the adapter's response is not valid JSON (unexpected character at offset {offset})"
            ),
            None => format!("external: the adapter's response is not valid JSON: {e}"),
        })
    })
}

/// `fn::open::external`: one POST of `request`, output `{"response": ...}`,
/// secret unless `secret: false` (and no input is secret).
pub struct OpenExternal {
    connector: Arc<Connector>,
}

impl OpenExternal {
    pub(crate) fn new(connector: Arc<Connector>) -> OpenExternal {
        OpenExternal { connector }
    }
}

#[async_trait]
impl Provider for OpenExternal {
    fn schema(&self) -> ProviderSchema {
        OPEN_SCHEMA.clone()
    }

    async fn open(
        &self,
        inputs_value: &PlainValue,
        ctx: &ProviderContext,
    ) -> Result<PlainValue, CallError> {
        let inputs = inputs(inputs_value, true)?;
        let url = self.connector.check_url(inputs.url)?;
        let caller = caller(&self.connector, ctx)?;
        let body = encode(&inputs.request)?;
        let mut hidden = Hidden::default();
        hidden.add_leaves(inputs_value, false);
        let response = self
            .connector
            .post(inputs.url, &url, &body, &caller, true, hidden)
            .await?;
        let output = PlainValue::object([("response", decode(&response)?)]);
        if inputs.secret_output || inputs.any_secret {
            Ok(PlainValue::Secret(Box::new(output)))
        } else {
            Ok(output)
        }
    }
}

/// `fn::rotate::external`: `rotate` POSTs `{"request", "state"}` once; the
/// response becomes `current` and the old `current` `previous`. `open`
/// returns `{"current": ...}` without calling the adapter.
pub struct RotateExternal {
    connector: Arc<Connector>,
}

impl RotateExternal {
    pub(crate) fn new(connector: Arc<Connector>) -> RotateExternal {
        RotateExternal { connector }
    }
}

fn secret(v: PlainValue) -> PlainValue {
    if v.is_secret() {
        v
    } else {
        PlainValue::Secret(Box::new(v))
    }
}

#[async_trait]
impl Rotator for RotateExternal {
    fn schema(&self) -> RotatorSchema {
        ROTATE_SCHEMA.clone()
    }

    async fn open(
        &self,
        inputs_value: &PlainValue,
        state: Option<&PlainValue>,
        _ctx: &ProviderContext,
    ) -> Result<PlainValue, CallError> {
        inputs(inputs_value, false)?;
        let Some(current) = state.and_then(|s| s.member("current")) else {
            return Err(CallError::new(
                "external: this value has not been rotated yet (no state.current); rotate the environment first",
            ));
        };
        Ok(secret(PlainValue::object([("current", current.clone())])))
    }

    async fn rotate(
        &self,
        inputs_value: &PlainValue,
        state: Option<&PlainValue>,
        ctx: &ProviderContext,
    ) -> Result<PlainValue, CallError> {
        let inputs = inputs(inputs_value, false)?;
        let url = self.connector.check_url(inputs.url)?;
        let caller = caller(&self.connector, ctx)?;
        let old_current = state.and_then(|s| s.member("current")).cloned();
        let body = encode(&PlainValue::object([
            ("request", inputs.request),
            ("state", old_current.clone().unwrap_or(PlainValue::Null)),
        ]))?;
        // The state is secret however it was written.
        let mut hidden = Hidden::default();
        hidden.add_leaves(inputs_value, false);
        if let Some(state) = state {
            hidden.add_leaves(state, true);
        }
        // Never retried: a rotation is not idempotent.
        let response = self
            .connector
            .post(inputs.url, &url, &body, &caller, false, hidden)
            .await?;
        let current = decode(&response)?;
        let mut new_state = vec![("current", secret(current))];
        if let Some(previous) = old_current {
            new_state.push(("previous", secret(previous)));
        }
        Ok(PlainValue::object(new_state))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn schemas_parse() {
        for text in [
            OPEN_INPUTS,
            OPEN_OUTPUTS,
            ROTATE_INPUTS,
            ROTATE_STATE,
            ROTATE_OUTPUTS,
        ] {
            Schema::from_json_str(text).unwrap();
        }
    }

    #[test]
    fn legacy_names_are_project_default() {
        let r = env_ref("acme", "prod");
        assert_eq!((r.project.as_str(), r.name.as_str()), ("default", "prod"));
        let r = env_ref("acme", "payments/prod");
        assert_eq!((r.project.as_str(), r.name.as_str()), ("payments", "prod"));
    }

    #[test]
    fn unknown_and_mistyped_inputs_are_refused() {
        let url = ("url", PlainValue::string("https://a.example"));
        let extra = PlainValue::object([url.clone(), ("extra", PlainValue::Null)]);
        assert!(inputs(&extra, true).is_err());
        let secret_in_rotate =
            PlainValue::object([url.clone(), ("secret", PlainValue::Bool(false))]);
        assert!(inputs(&secret_in_rotate, false).is_err());
        let bad_request = PlainValue::object([url.clone(), ("request", PlainValue::string("x"))]);
        assert!(inputs(&bad_request, true).is_err());
        let only_url = PlainValue::object([url]);
        let ok = inputs(&only_url, true).unwrap();
        assert_eq!(ok.request, PlainValue::object::<String>([]));
        assert!(ok.secret_output);
    }
}
