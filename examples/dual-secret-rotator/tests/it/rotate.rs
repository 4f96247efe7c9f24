//! Rotations keep the current and the previous key valid and retire the one before; bad
//! tokens, bad bodies and a broken store are refused without touching or leaking keys.

use std::os::unix::fs::PermissionsExt as _;

use esc_oidc::{Issuer, IssuerConfig, UnixTime};
use serde_json::{Value, json};

use crate::harness::{ISSUER, Rotator, client};

fn key(credential: &Value) -> String {
    credential["apiKey"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn each_rotation_replaces_the_slot_esc_does_not_hand_out() {
    let rotator = Rotator::start().await;
    // nothing rotated yet: no key is valid
    assert_eq!(rotator.validate("dsk_anything").await.0, 401);

    let (status, first) = rotator.rotate(Value::Null).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["slot"], "a");
    assert!(key(&first).starts_with("dsk_"), "{first}");
    assert_eq!(first.as_object().unwrap().len(), 2, "{first}");
    let mode = std::fs::metadata(&rotator.store_path)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        rotator.validate(&key(&first)).await,
        (200, json!({"valid": true, "slot": "a", "active": true}))
    );

    // ESC sends the previous response as `state`
    let (status, second) = rotator.rotate(first.clone()).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["slot"], "b");
    assert_ne!(key(&second), key(&first));
    assert_eq!(
        rotator.validate(&key(&second)).await,
        (200, json!({"valid": true, "slot": "b", "active": true}))
    );
    // the previous key still works until the next rotation
    assert_eq!(
        rotator.validate(&key(&first)).await,
        (200, json!({"valid": true, "slot": "a", "active": false}))
    );

    let (status, third) = rotator.rotate(second.clone()).await;
    assert_eq!(status, 200, "{third}");
    assert_eq!(third["slot"], "a");
    assert_eq!(rotator.validate(&key(&third)).await.0, 200);
    assert_eq!(
        rotator.validate(&key(&second)).await,
        (200, json!({"valid": true, "slot": "b", "active": false}))
    );
    // twice-old: gone
    assert_eq!(
        rotator.validate(&key(&first)).await,
        (401, json!({"valid": false}))
    );
    // no temporary files are left beside the store
    let entries: Vec<_> = std::fs::read_dir(rotator.store_path.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(entries, vec![rotator.store_path.file_name().unwrap()]);
}

#[tokio::test]
async fn the_key_esc_hands_out_survives_even_when_it_is_not_the_active_one() {
    let rotator = Rotator::start().await;
    let (_, first) = rotator.rotate(Value::Null).await;
    // a rotation whose response ESC never stored (say its write-back failed): ESC still
    // hands out `first`, the store's active slot is b
    let (_, lost) = rotator.rotate(first.clone()).await;
    assert_eq!(lost["slot"], "b");
    // ESC rotates again with `first` as state: slot b is replaced, `first` is kept
    let (status, next) = rotator.rotate(first.clone()).await;
    assert_eq!(status, 200, "{next}");
    assert_eq!(next["slot"], "b");
    assert_eq!(rotator.validate(&key(&first)).await.0, 200);
    assert_eq!(rotator.validate(&key(&next)).await.0, 200);
    assert_eq!(rotator.validate(&key(&lost)).await.0, 401);

    // a state this store does not recognise (hand-written, or a key it never issued)
    // replaces the inactive slot
    let (status, after) = rotator
        .rotate(json!({"apiKey": "existing-key-123", "slot": "b"}))
        .await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["slot"], "a");
    assert_eq!(rotator.validate(&key(&next)).await.0, 200);
    assert_eq!(rotator.validate(&key(&first)).await.0, 401);
}

#[tokio::test]
async fn unverified_requests_are_refused_and_change_nothing() {
    let rotator = Rotator::start().await;
    let (_, first) = rotator.rotate(Value::Null).await;
    let before = std::fs::read(&rotator.store_path).unwrap();

    // signed by an issuer the rotator does not trust
    let stranger = Issuer::ephemeral(IssuerConfig::new(ISSUER), UnixTime::now()).unwrap();
    let (status, body) = rotator.rotate_with(&stranger, first.clone()).await;
    assert_eq!(
        (status, body),
        (401, json!({"error": "unknown signing key"}))
    );
    // no token at all
    let response = client()
        .post(&rotator.url)
        .body(json!({"request": {}, "state": null}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // a token for another audience
    let body = json!({"request": {}, "state": null}).to_string();
    let (status, _) = crate::harness::signed_post(
        &rotator.issuer,
        &rotator.url,
        "https://other.example.com/",
        &body,
    )
    .await;
    assert_eq!(status, 401);
    // verified, but not a rotation body
    let (status, body) = crate::harness::signed_post(
        &rotator.issuer,
        &rotator.url,
        &rotator.url,
        r#"{"request": "no", "state": null}"#,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("expected"),
        "{body}"
    );

    assert_eq!(std::fs::read(&rotator.store_path).unwrap(), before);
    assert_eq!(rotator.validate(&key(&first)).await.0, 200);
}

#[tokio::test]
async fn a_corrupt_store_is_a_clear_500_that_leaks_nothing() {
    let rotator = Rotator::start().await;
    let (_, first) = rotator.rotate(Value::Null).await;
    let stored_key = key(&first);
    // valid JSON of the wrong shape, holding a key: serde would quote it in its message
    let corrupt = format!(
        r#"{{"format": 1, "generation": 1, "active": "a", "a": ["{stored_key}"], "b": null}}"#
    );
    std::fs::write(&rotator.store_path, &corrupt).unwrap();
    for (status, body) in [
        rotator.rotate(first.clone()).await,
        rotator.validate(&stored_key).await,
    ] {
        assert_eq!(
            (status, &body),
            (
                500,
                &json!({"error": "credential store unavailable; see the rotator's log"})
            )
        );
    }
    // the rotation did not overwrite the broken file (an operator must look at it)
    assert_eq!(
        std::fs::read_to_string(&rotator.store_path).unwrap(),
        corrupt
    );

    // truncated JSON as well
    std::fs::write(&rotator.store_path, &corrupt[..20]).unwrap();
    let (status, body) = rotator.rotate(Value::Null).await;
    assert_eq!(status, 500, "{body}");
    assert!(!body.to_string().contains("dsk_"), "{body}");
}
