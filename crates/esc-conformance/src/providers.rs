//! The test providers, rotators, loaders and the `rot128` decrypter of
//! spec §8. They exist for the conformance fixtures and the benchmark, not
//! for the product.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use esc_eval::{
    CallError, Decrypter, EnvironmentLoader, LoadedEnvironment, PlainValue, Provider,
    ProviderContext, ProviderLoader, ProviderSchema, Rotator, RotatorSchema, Schema,
};

/// The `schema` provider's input and output schema (spec §8 "S").
const SCHEMA_S: &str = r##"{
  "type": "object",
  "$defs": {"defRecord": {"type": "object", "properties": {"baz": {"type": "string", "const": "qux"}}, "required": ["baz"]}},
  "properties": {
    "null": {"type": "null"},
    "boolean": {"type": "boolean"},
    "false": {"type": "boolean", "const": false},
    "true": {"type": "boolean", "const": true},
    "number": {"type": "number"},
    "pi": {"type": "number", "const": 3.14},
    "string": {"type": "string"},
    "hello": {"type": "string", "const": "hello"},
    "array": {"type": "array", "items": true},
    "tuple": {"type": "array", "prefixItems": [{"type": "string", "const": "hello"}, {"type": "string", "const": "world"}], "items": false},
    "map": {"type": "object", "additionalProperties": true},
    "record": {"type": "object", "properties": {"foo": {"type": "string"}}, "required": ["foo"]},
    "anyOf": {"anyOf": [{"type": "string"}, {"type": "number"}]},
    "oneOf": {"oneOf": [{"type": "string"}, {"type": "number"}]},
    "ref": {"$ref": "#/$defs/defRecord"},
    "const-array": {"type": "array", "const": ["hello", 42]},
    "const-object": {"type": "object", "const": {"hello": "world"}},
    "enum": {"type": "string", "enum": ["foo", "bar"]},
    "never": false,
    "always": true,
    "double": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}], "items": false},
    "triple": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}], "items": false},
    "dependentReq": {"type": "object", "properties": {"foo": {"type": "string"}, "bar": {"type": "number"}}, "dependentRequired": {"foo": ["bar"]}},
    "multiple": {"type": "number", "multipleOf": 2},
    "minimum": {"type": "number", "minimum": 1},
    "exclusiveMinimum": {"type": "number", "exclusiveMinimum": 1},
    "maximum": {"type": "number", "maximum": 1},
    "exclusiveMaximum": {"type": "number", "exclusiveMaximum": 1},
    "minLength": {"type": "string", "minLength": 1},
    "maxLength": {"type": "string", "maxLength": 1},
    "pattern": {"type": "string", "pattern": "^foo[0-9]+$"},
    "minItems": {"type": "array", "minItems": 3},
    "maxItems": {"type": "array", "maxItems": 2},
    "minProperties": {"type": "object", "minProperties": 1},
    "maxProperties": {"type": "object", "maxProperties": 1}
  }
}"##;

fn schema(text: &str) -> Schema {
    // The texts are constants of this file; a typo is a bug caught by every run.
    Schema::from_json_str(text).unwrap_or_else(|e| panic!("bad built-in schema: {e}"))
}

/// The `error` provider's inputs: record `{why: string}`.
const WHY_RECORD: &str =
    r#"{"type":"object","properties":{"why":{"type":"string"}},"required":["why"]}"#;
/// The `swap` rotator's state and outputs: record `{a: string, b: string}`.
const SWAP_STATE: &str = r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"required":["a","b"]}"#;
/// The `echo` rotator's inputs.
const ECHO_INPUTS: &str = r#"{"type":"object","properties":{"next":{"type":"string"}},"required":["next"],"rotateOnly":["next"]}"#;
/// The `echo` rotator's state and outputs.
const ECHO_STATE: &str = r#"{"type":"object","properties":{"current":{"type":"string"},"previous":{"type":"string"}},"required":["current"]}"#;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Test,
    SecretWrapper,
    Error,
    Schema,
    Bench,
}

struct TestProvider {
    kind: Kind,
    delay: Duration,
    schema: ProviderSchema,
}

#[async_trait]
impl Provider for TestProvider {
    fn schema(&self) -> ProviderSchema {
        self.schema.clone()
    }

    async fn open(
        &self,
        inputs: &PlainValue,
        _ctx: &ProviderContext,
    ) -> Result<PlainValue, CallError> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        match self.kind {
            Kind::Test | Kind::Schema => Ok(inputs.clone()),
            Kind::SecretWrapper => Ok(PlainValue::Secret(Box::new(inputs.clone()))),
            Kind::Error => Err(CallError::new(
                inputs
                    .member("why")
                    .and_then(PlainValue::as_str)
                    .unwrap_or_default(),
            )),
            Kind::Bench => Ok(PlainValue::string("0s")),
        }
    }
}

struct Swap;

#[async_trait]
impl Rotator for Swap {
    fn schema(&self) -> RotatorSchema {
        RotatorSchema {
            inputs: Schema::always(),
            state: schema(SWAP_STATE),
            outputs: schema(SWAP_STATE),
        }
    }

    async fn open(
        &self,
        _inputs: &PlainValue,
        state: Option<&PlainValue>,
        _ctx: &ProviderContext,
    ) -> Result<PlainValue, CallError> {
        Ok(state
            .cloned()
            .unwrap_or_else(|| PlainValue::object::<String>([])))
    }

    async fn rotate(
        &self,
        _inputs: &PlainValue,
        state: Option<&PlainValue>,
        _ctx: &ProviderContext,
    ) -> Result<PlainValue, CallError> {
        let member = |k: &str| {
            state
                .and_then(|s| s.member(k))
                .cloned()
                .unwrap_or(PlainValue::Null)
        };
        Ok(PlainValue::object([("a", member("b")), ("b", member("a"))]))
    }
}

struct Echo;

#[async_trait]
impl Rotator for Echo {
    fn schema(&self) -> RotatorSchema {
        RotatorSchema {
            inputs: schema(ECHO_INPUTS),
            state: schema(ECHO_STATE),
            outputs: schema(ECHO_STATE),
        }
    }

    async fn open(
        &self,
        inputs: &PlainValue,
        state: Option<&PlainValue>,
        _ctx: &ProviderContext,
    ) -> Result<PlainValue, CallError> {
        let current = state
            .and_then(|s| s.member("current"))
            .and_then(PlainValue::as_str);
        if let Some(next) = inputs.member("next").and_then(PlainValue::as_str)
            && Some(next) != current
        {
            return Err(CallError::new(
                "oh no! inputs were evaluated outside of rotation",
            ));
        }
        Ok(state
            .cloned()
            .unwrap_or_else(|| PlainValue::object::<String>([])))
    }

    async fn rotate(
        &self,
        inputs: &PlainValue,
        state: Option<&PlainValue>,
        _ctx: &ProviderContext,
    ) -> Result<PlainValue, CallError> {
        let Some(next) = inputs.member("next") else {
            return Err(CallError::new(
                "oh no! rotateOnly inputs were not evaluated during rotation",
            ));
        };
        let previous = state
            .and_then(|s| s.member("current"))
            .cloned()
            .unwrap_or(PlainValue::Null);
        Ok(PlainValue::object([
            ("current", next.clone()),
            ("previous", previous),
        ]))
    }
}

/// The providers and rotators of spec §8; `open_delay` is added to every
/// provider open (for the benchmark).
pub struct TestProviders {
    /// Delay of each provider `open`.
    pub open_delay: Duration,
}

#[async_trait]
impl ProviderLoader for TestProviders {
    async fn load_provider(&self, name: &str) -> Result<Arc<dyn Provider>, CallError> {
        let (kind, inputs, outputs) = match name {
            "test" => (Kind::Test, Schema::always(), Schema::always()),
            "secret-wrapper" => (Kind::SecretWrapper, Schema::always(), Schema::always()),
            "error" => (Kind::Error, schema(WHY_RECORD), Schema::always()),
            "schema" => (Kind::Schema, schema(SCHEMA_S), schema(SCHEMA_S)),
            "bench" => (Kind::Bench, Schema::always(), Schema::always()),
            _ => {
                return Err(CallError::new(format!(
                    "unknown provider {}",
                    esc_eval::go_quote(name)
                )));
            }
        };
        Ok(Arc::new(TestProvider {
            kind,
            delay: self.open_delay,
            schema: ProviderSchema { inputs, outputs },
        }))
    }

    async fn load_rotator(&self, name: &str) -> Result<Arc<dyn Rotator>, CallError> {
        match name {
            "swap" => Ok(Arc::new(Swap)),
            "echo" => Ok(Arc::new(Echo)),
            _ => Err(CallError::new(format!(
                "unknown rotator {}",
                esc_eval::go_quote(name)
            ))),
        }
    }
}

/// The `rot128` test cipher: add 128 to every byte.
pub struct Rot128;

#[async_trait]
impl Decrypter for Rot128 {
    async fn decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>, CallError> {
        Ok(ciphertext.iter().map(|b| b.wrapping_add(128)).collect())
    }
}

/// Loads `<dir>/<name>.yaml`; a missing file gives the reference's text
/// `open testdata/eval/<case>/<name>.yaml: no such file or directory`.
pub struct CaseLoader {
    /// The case directory.
    pub dir: PathBuf,
    /// The case name (for the synthesised error text).
    pub case: String,
    /// Delay of each load (for the benchmark).
    pub load_delay: Duration,
    /// Preloaded texts by name (the benchmark keeps file IO out of its
    /// figures); when set, only these names exist.
    pub preloaded: Option<std::collections::HashMap<String, String>>,
}

#[async_trait]
impl EnvironmentLoader for CaseLoader {
    async fn load_environment(&self, name: &str) -> Result<LoadedEnvironment, CallError> {
        if !self.load_delay.is_zero() {
            tokio::time::sleep(self.load_delay).await;
        }
        let missing = || {
            CallError::new(format!(
                "open testdata/eval/{}/{name}.yaml: no such file or directory",
                self.case
            ))
        };
        let text = match &self.preloaded {
            Some(map) => map.get(name).cloned().ok_or_else(missing)?,
            None => {
                if name.split('/').any(|part| part == ".." || part.is_empty()) {
                    return Err(missing());
                }
                tokio::fs::read_to_string(self.dir.join(format!("{name}.yaml")))
                    .await
                    .map_err(|_| missing())?
            }
        };
        Ok(LoadedEnvironment {
            definition: esc_eval::EnvironmentSource::Text(text),
            decrypter: Arc::new(Rot128),
        })
    }
}
