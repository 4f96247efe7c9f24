//! Rotation: a rotator's new state is written back (secrets sealed) as a
//! new revision, the event is recorded, and the next open sees the new state.

use std::sync::Arc;

use async_trait::async_trait;
use esc_eval::{CallError, PlainValue, ProviderContext, Rotator, RotatorSchema, Schema};
use esc_service::{
    AccessPolicy, Caller, ProviderRegistry, RotationOutcome, Service, ServiceConfig, Version,
};
use esc_store::{EnvRef, RotationStatus, Store};

/// A service on a fresh SQLite store with `registry`'s rotators, and its
/// admin caller; the directory lives as long as the returned guard.
async fn service_with(
    registry: ProviderRegistry,
) -> (tempfile::TempDir, Arc<dyn Store>, Service, Caller) {
    let (dir, store) = crate::sqlite_store().await;
    let service = Service::new(
        store.clone(),
        Arc::new(registry),
        ServiceConfig {
            access: AccessPolicy {
                admins: vec!["root".into()],
                memberships: Vec::new(),
            },
            ..ServiceConfig::default()
        },
    );
    let root = Caller {
        login: "root".into(),
        name: "Root".into(),
    };
    (dir, store, service, root)
}

/// Creates `acme/app/<name>` holding `definition` and rotates every rotator in it.
async fn define_and_rotate(
    service: &Service,
    root: &Caller,
    name: &str,
    definition: &str,
) -> (EnvRef, RotationOutcome) {
    let env = EnvRef::new("acme", "app", name);
    service.create_environment(root, &env).await.unwrap();
    service.update(root, &env, definition, None).await.unwrap();
    let outcome = service.rotate(root, &env, &[]).await.unwrap();
    (env, outcome)
}

/// State `{generation: n, password: secret}`; rotating increments `n`.
struct Counter;

fn generation(state: Option<&PlainValue>) -> u64 {
    state
        .and_then(|state| state.member("generation"))
        .and_then(|n| match n.unwrap_secret() {
            PlainValue::Number(text) => text.parse().ok(),
            _ => None,
        })
        .unwrap_or(0)
}

#[async_trait]
impl Rotator for Counter {
    fn schema(&self) -> RotatorSchema {
        RotatorSchema {
            inputs: Schema::always(),
            state: Schema::always(),
            outputs: Schema::always(),
        }
    }

    async fn open(
        &self,
        _inputs: &PlainValue,
        state: Option<&PlainValue>,
        _ctx: &ProviderContext,
    ) -> Result<PlainValue, CallError> {
        Ok(PlainValue::object([(
            "password",
            PlainValue::Secret(Box::new(PlainValue::string(format!(
                "rotated-password-{}",
                generation(state)
            )))),
        )]))
    }

    async fn rotate(
        &self,
        _inputs: &PlainValue,
        state: Option<&PlainValue>,
        _ctx: &ProviderContext,
    ) -> Result<PlainValue, CallError> {
        let next = generation(state) + 1;
        Ok(PlainValue::object([
            ("generation", PlainValue::Number(next.to_string())),
            (
                "password",
                PlainValue::Secret(Box::new(PlainValue::string(format!(
                    "rotated-password-{next}"
                )))),
            ),
        ]))
    }
}

#[tokio::test]
async fn rotation_writes_sealed_state_back_as_a_new_revision() {
    let registry = ProviderRegistry::new();
    registry.register_rotator("counter", Arc::new(Counter));
    let (_dir, store, service, root) = service_with(registry).await;
    let (env, outcome) =
        define_and_rotate(&service, &root, "db", "values:\n  # rotated by the counter\n  creds:\n    fn::rotate::counter:\n      inputs: {}\n  other: kept\n").await;
    let event = &outcome.event.event;
    assert_eq!(event.status, RotationStatus::Succeeded, "{event:?}");
    assert_eq!(event.pre_rotation_revision, 2);
    assert_eq!(event.post_rotation_revision, Some(3));
    assert_eq!(event.rotations.len(), 1);
    assert_eq!(event.rotations[0].path, "creds");

    let stored = service
        .definition(&root, &env, &Version::Latest, false)
        .await
        .unwrap();
    let text = stored.yaml.expose_str().unwrap().to_owned();
    assert_eq!(stored.revision, 3);
    assert!(text.contains("# rotated by the counter"), "{text}");
    assert!(text.contains("other: kept"), "{text}");
    assert!(text.contains("generation: 1"), "{text}");
    assert!(
        !text.contains("rotated-password-1"),
        "the new secret state is sealed: {text}"
    );
    assert!(text.contains("ciphertext"), "{text}");

    // the next open sees the new state
    let session = service
        .open(&root, &env, &Version::Latest, None)
        .await
        .unwrap();
    let value = service
        .read_session(&root, &env, &session.id, Some("creds.password"))
        .await
        .unwrap();
    assert_eq!(
        value.member("value").and_then(PlainValue::as_str),
        Some("rotated-password-1")
    );

    // rotating again moves on from the stored state
    let again = service
        .rotate(&root, &env, &["creds".to_owned()])
        .await
        .unwrap();
    assert_eq!(again.event.event.post_rotation_revision, Some(4));
    let text = service
        .definition(&root, &env, &Version::Latest, false)
        .await
        .unwrap();
    assert!(text.yaml.expose_str().unwrap().contains("generation: 2"));
    let history = store.list_rotation_events(&env, 10).await.unwrap();
    assert_eq!(history.len(), 2);
}

#[tokio::test]
async fn rotated_state_with_dollars_reads_back_as_itself() {
    // the definition reads strings through the interpolation grammar: a
    // written-back `pa$$word` must not come back as `pa$word`, nor
    // `${other}` as a reference
    let registry = ProviderRegistry::new();
    registry.register_rotator(
        "dollars",
        Arc::new(Returns(PlainValue::object([
            ("plain", PlainValue::string("pa$$word ${other} $x")),
            (
                "sealed",
                PlainValue::Secret(Box::new(PlainValue::string("s$$cret-${other}"))),
            ),
            ("k$${other}", PlainValue::string("key with dollars")),
        ]))),
    );
    let (_dir, _store, service, root) = service_with(registry).await;
    let (env, outcome) =
        define_and_rotate(&service, &root, "dollars", "values:\n  other: SHOULD-NOT-APPEAR\n  creds:\n    fn::rotate::dollars:\n      inputs: {}\n").await;
    assert_eq!(
        outcome.event.event.status,
        RotationStatus::Succeeded,
        "{:?}",
        outcome.event.event
    );
    let session = service
        .open(&root, &env, &Version::Latest, None)
        .await
        .unwrap();
    let read = |path: &'static str| {
        let service = &service;
        let root = &root;
        let env = &env;
        let id = session.id.clone();
        async move {
            service
                .read_session(root, env, &id, Some(path))
                .await
                .unwrap()
                .member("value")
                .and_then(PlainValue::as_str)
                .map(str::to_owned)
        }
    };
    assert_eq!(
        read("creds.plain").await.as_deref(),
        Some("pa$$word ${other} $x")
    );
    assert_eq!(
        read("creds.sealed").await.as_deref(),
        Some("s$$cret-${other}")
    );
    assert_eq!(
        read("creds[\"k$${other}\"]").await.as_deref(),
        Some("key with dollars")
    );
}

/// Rotates to the state it holds (a rotator's reply is remote input).
struct Returns(PlainValue);

#[async_trait]
impl Rotator for Returns {
    fn schema(&self) -> RotatorSchema {
        RotatorSchema {
            inputs: Schema::always(),
            state: Schema::always(),
            outputs: Schema::always(),
        }
    }

    async fn open(
        &self,
        _inputs: &PlainValue,
        state: Option<&PlainValue>,
        _ctx: &ProviderContext,
    ) -> Result<PlainValue, CallError> {
        Ok(state.cloned().unwrap_or(PlainValue::Null))
    }

    async fn rotate(
        &self,
        _inputs: &PlainValue,
        _state: Option<&PlainValue>,
        _ctx: &ProviderContext,
    ) -> Result<PlainValue, CallError> {
        Ok(self.0.clone())
    }
}

#[tokio::test]
async fn a_rotated_state_a_definition_cannot_hold_is_never_written_back() {
    // A key starting with `fn::` has no literal form in a definition: written
    // back it would be a builtin call (`fn::open::…` opening a provider with
    // the rotator's chosen inputs, `fn::secret` decrypting a ciphertext, at
    // every open) or a load error. The rotation fails and the definition
    // stays as it was.
    let states = [
        (
            "call",
            PlainValue::object([(
                "current",
                PlainValue::object([("fn::fromBase64", PlainValue::string("aGk="))]),
            )]),
        ),
        // not a mapping: `state:` must be one, the environment would no
        // longer load
        ("scalar", PlainValue::string("rotated")),
        (
            "list",
            PlainValue::Array(vec![PlainValue::Number("1".into())]),
        ),
        (
            "mixedcase",
            PlainValue::object([(
                "a",
                PlainValue::Array(vec![PlainValue::object([
                    ("x", PlainValue::Number("1".into())),
                    ("Fn::Open::probe", PlainValue::object::<&str>([])),
                ])]),
            )]),
        ),
    ];
    // Inside a secret container the state is written as JSON text: safe.
    let sealed = PlainValue::object([(
        "current",
        PlainValue::Secret(Box::new(PlainValue::object([(
            "fn::secret",
            PlainValue::string("x"),
        )]))),
    )]);
    let registry = ProviderRegistry::new();
    for (name, state) in &states {
        registry.register_rotator(*name, Arc::new(Returns(state.clone())));
    }
    registry.register_rotator("sealed", Arc::new(Returns(sealed)));
    let (_dir, _store, service, root) = service_with(registry).await;
    for (name, _) in &states {
        let definition =
            format!("values:\n  creds:\n    fn::rotate::{name}:\n      inputs: {{}}\n");
        let (env, outcome) = define_and_rotate(&service, &root, name, &definition).await;
        let event = &outcome.event.event;
        assert_eq!(event.status, RotationStatus::Failed, "{name}: {event:?}");
        assert_eq!(event.post_rotation_revision, None, "{name}");
        let message = event.error_message.as_deref().unwrap_or_default();
        assert!(
            message.starts_with("writing the rotated state back failed: ")
                && (message.contains("'fn::'") || message.contains("not a mapping")),
            "{name}: {message}"
        );
        let stored = service
            .definition(&root, &env, &Version::Latest, false)
            .await
            .unwrap();
        assert_eq!(stored.revision, 2, "{name}");
        assert_eq!(stored.yaml.expose_str().unwrap(), definition, "{name}");
    }
    let (env, outcome) = define_and_rotate(
        &service,
        &root,
        "sealed",
        "values:\n  creds:\n    fn::rotate::sealed:\n      inputs: {}\n",
    )
    .await;
    assert_eq!(
        outcome.event.event.status,
        RotationStatus::Succeeded,
        "{:?}",
        outcome.event.event
    );
    let session = service
        .open(&root, &env, &Version::Latest, None)
        .await
        .unwrap();
    let value = service
        .read_session(
            &root,
            &env,
            &session.id,
            Some("creds.current[\"fn::secret\"]"),
        )
        .await
        .unwrap();
    assert_eq!(
        value.member("value").and_then(PlainValue::as_str),
        Some("x")
    );
}
