//! The file key store: permissions, reload, atomic layout, and rotation persisted across
//! restarts with an injected clock.

use std::os::unix::fs::PermissionsExt as _;
use std::sync::Arc;
use std::time::Duration;

use esc_oidc::{
    FileKeyStore, Issuer, IssuerConfig, KeySet, KeyState, KeyStore, RotationPolicy, SigningKey,
    TokenRequest, UnixTime,
};

use crate::support::env;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn config() -> IssuerConfig {
    IssuerConfig::new("https://esc.example.com")
}

#[tokio::test]
async fn saved_files_are_private_and_reload_gives_the_same_keys() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("keys");
    let store = Arc::new(FileKeyStore::new(&dir));
    let issuer = Issuer::open(config(), store.clone()).await.unwrap();
    let kid = issuer.jwks().keys[0].kid.clone();

    assert_eq!(mode(&dir), 0o700);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected = [
        String::from(".lock"),
        format!("{kid}.pk8"),
        String::from("keyset.json"),
    ];
    expected.sort();
    assert_eq!(names, expected);
    for name in &names {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
    }

    // A token minted before the restart verifies against the JWKS after it.
    let current = env("o", "p", "e");
    let token = issuer
        .mint(
            &TokenRequest {
                audience: "https://a.example/",
                current_env: &current,
                root_env: &current,
                trigger_user: "u",
            },
            b"{}",
        )
        .unwrap();
    drop(issuer);
    let reopened = Issuer::open(config(), store.clone()).await.unwrap();
    assert_eq!(reopened.jwks(), {
        let reloaded: KeySet = store.load().await.unwrap().unwrap();
        reloaded.jwks(UnixTime::now())
    });
    let jwks = reopened.jwks();
    assert_eq!(jwks.keys.len(), 1);
    assert_eq!(jwks.keys[0].kid, kid);
    let verifier = esc_adapter_free_verify(&jwks.keys[0], &token);
    assert!(verifier, "token from before the restart no longer verifies");
}

/// Verifies `token`'s signature with `jwk` using aws-lc-rs directly.
fn esc_adapter_free_verify(jwk: &esc_oidc::Jwk, token: &str) -> bool {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (signed, signature) = token.rsplit_once('.').unwrap();
    aws_lc_rs::signature::RsaPublicKeyComponents {
        n: URL_SAFE_NO_PAD.decode(&jwk.n).unwrap(),
        e: URL_SAFE_NO_PAD.decode(&jwk.e).unwrap(),
    }
    .verify(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        signed.as_bytes(),
        &URL_SAFE_NO_PAD.decode(signature).unwrap(),
    )
    .is_ok()
}

#[tokio::test]
async fn empty_directory_loads_as_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let store = FileKeyStore::new(temp.path().join("absent"));
    assert!(store.load().await.unwrap().is_none());
}

#[tokio::test]
async fn world_readable_key_file_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let store = Arc::new(FileKeyStore::new(temp.path()));
    let issuer = Issuer::open(config(), store.clone()).await.unwrap();
    let kid = issuer.jwks().keys[0].kid.clone();
    let key_file = temp.path().join(format!("{kid}.pk8"));
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = store.load().await.err().unwrap();
    let message = err.to_string();
    assert!(message.contains("accessible to other users"), "{message}");
    assert!(message.contains(&format!("{kid}.pk8")), "{message}");
}

#[tokio::test]
async fn corrupt_or_mismatched_store_is_an_error_naming_the_file() {
    let temp = tempfile::tempdir().unwrap();
    let store = Arc::new(FileKeyStore::new(temp.path()));
    let issuer = Issuer::open(config(), store.clone()).await.unwrap();
    let kid = issuer.jwks().keys[0].kid.clone();

    // A different key under the stored kid's file name.
    let other = SigningKey::generate().unwrap();
    let key_file = temp.path().join(format!("{kid}.pk8"));
    std::fs::write(&key_file, other.pkcs8_der()).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let message = store.load().await.err().unwrap().to_string();
    assert!(message.contains("does not match its kid"), "{message}");

    std::fs::write(temp.path().join("keyset.json"), b"{not json").unwrap();
    let message = store.load().await.err().unwrap().to_string();
    assert!(message.contains("keyset.json"), "{message}");
    assert!(message.contains("not a key set index"), "{message}");
}

#[tokio::test]
async fn rotation_is_persisted_and_retired_key_files_are_removed() {
    let temp = tempfile::tempdir().unwrap();
    let store = Arc::new(FileKeyStore::new(temp.path()));
    let mut config = config();
    config.rotation.rotate_after = Duration::from_secs(1000);
    config.rotation.publish_lead = Duration::from_secs(100);
    config.rotation.max_token_lifetime = Duration::from_secs(300);
    config.rotation.clock_leeway = Duration::from_secs(30);
    let issuer = Issuer::open(config.clone(), store.clone()).await.unwrap();
    let first = issuer.snapshot().active().unwrap().kid().to_owned();
    let since = match issuer.snapshot().keys()[0].state {
        KeyState::Active { since } => since,
        other => panic!("unexpected state {other:?}"),
    };

    // Lead time reached: a next key is published and saved.
    issuer
        .maintain_at(since.plus(Duration::from_secs(900)))
        .await
        .unwrap();
    let saved = store.load().await.unwrap().unwrap();
    assert_eq!(saved.keys().len(), 2);
    assert!(matches!(saved.keys()[1].state, KeyState::Next { .. }));
    assert_eq!(saved.active().unwrap().kid(), first);

    // Due: the next key signs, the first is retired until due + 330 s.
    let due = since.plus(Duration::from_secs(1000));
    issuer.maintain_at(due).await.unwrap();
    let reopened = Issuer::open(config.clone(), store.clone()).await.unwrap();
    let saved = reopened.snapshot();
    assert_ne!(saved.active().unwrap().kid(), first);
    assert_eq!(
        saved.keys()[0].state,
        KeyState::Retired {
            until: due.plus(Duration::from_secs(330))
        }
    );

    // After that, the retired key leaves the JWKS and its file is deleted.
    reopened
        .maintain_at(due.plus(Duration::from_secs(330)))
        .await
        .unwrap();
    assert!(!temp.path().join(format!("{first}.pk8")).exists());
    assert_eq!(store.load().await.unwrap().unwrap().keys().len(), 1);
}

#[tokio::test]
async fn saving_over_a_stale_revision_is_a_conflict() {
    let temp = tempfile::tempdir().unwrap();
    let store = FileKeyStore::new(temp.path());
    let mut set = KeySet::default();
    set.maintain(
        UnixTime(1000),
        &RotationPolicy::default(),
        SigningKey::generate,
    )
    .unwrap();
    assert_eq!(store.save(&set).await.unwrap(), 1);
    let loaded = store.load().await.unwrap().unwrap();
    assert_eq!(loaded.revision(), 1);
    // `set` still says revision 0: someone else's save (revision 1) is in the way.
    let err = store.save(&set).await.err().unwrap();
    assert!(
        matches!(
            err,
            esc_oidc::Error::Conflict {
                expected: 0,
                found: 1
            }
        ),
        "{err}"
    );
    assert_eq!(store.save(&loaded).await.unwrap(), 2);
}

#[tokio::test]
async fn issuers_sharing_a_store_converge_on_one_key_set() {
    let temp = tempfile::tempdir().unwrap();
    let mut config = config();
    config.rotation.rotate_after = Duration::from_secs(1000);
    config.rotation.publish_lead = Duration::from_secs(100);
    let first = Issuer::open(config.clone(), Arc::new(FileKeyStore::new(temp.path())))
        .await
        .unwrap();
    let second = Issuer::open(config.clone(), Arc::new(FileKeyStore::new(temp.path())))
        .await
        .unwrap();
    assert_eq!(
        first.jwks(),
        second.jwks(),
        "second server made its own key"
    );

    let since = match first.snapshot().keys()[0].state {
        KeyState::Active { since } => since,
        other => panic!("unexpected state {other:?}"),
    };
    let lead = since.plus(Duration::from_secs(950));
    first.maintain_at(lead).await.unwrap();
    second.maintain_at(lead).await.unwrap();
    assert_eq!(first.jwks_at(lead).keys.len(), 2);
    assert_eq!(first.jwks_at(lead), second.jwks_at(lead));

    let due = since.plus(Duration::from_secs(1100));
    second.maintain_at(due).await.unwrap();
    first.maintain_at(due).await.unwrap();
    let signing = |issuer: &Issuer| issuer.snapshot().active().unwrap().kid().to_owned();
    assert_eq!(signing(&first), signing(&second));
    assert_eq!(
        FileKeyStore::new(temp.path())
            .load()
            .await
            .unwrap()
            .unwrap()
            .keys()
            .len(),
        2
    );
}
