//! Webhook deliveries on both backends: a hook's log keeps only its newest
//! 1000 deliveries.

use esc_store::{Author, EnvRef, NewWebhookDelivery, Plaintext, Timestamp, WebhookSpec};

use crate::harness::{Harness, Kind};

async fn keeps_the_newest_thousand(kind: Kind) {
    let Some(harness) = Harness::start(kind).await else {
        return;
    };
    let store = harness.dyn_store();
    let env = EnvRef::new("acme", "app", "dev");
    store.create_organization("acme").await.unwrap();
    store
        .create_environment(&env, &Author::new("a", "A"))
        .await
        .unwrap();
    let spec = WebhookSpec {
        display_name: "d".into(),
        payload_url: "https://example.com/".into(),
        format: "raw".into(),
        filters: Vec::new(),
        groups: Vec::new(),
        active: true,
    };
    store
        .create_webhook(&env, "hook-1", &spec, None)
        .await
        .unwrap();
    store
        .create_webhook(&env, "hook-2", &spec, None)
        .await
        .unwrap();
    let delivery = |n: i64| NewWebhookDelivery {
        kind: format!("event-{n}"),
        time: Timestamp::from_unix_millis(1_700_000_000_000 + n),
        duration_ms: 1,
        response_code: Some(200),
        details: Plaintext::new(b"{}".to_vec()),
    };
    store
        .record_webhook_delivery(&env, "hook-2", &delivery(0))
        .await
        .unwrap();
    for n in 1..=1003 {
        store
            .record_webhook_delivery(&env, "hook-1", &delivery(n))
            .await
            .unwrap();
    }
    let kept = store
        .list_webhook_deliveries(&env, "hook-1", 1000)
        .await
        .unwrap();
    assert_eq!(kept.len(), 1000);
    assert_eq!(kept[0].delivery.kind, "event-1003");
    assert_eq!(kept[999].delivery.kind, "event-4");
    // and the older rows are gone, not just unlisted
    assert_eq!(
        harness
            .count("SELECT count(*) FROM webhook_deliveries")
            .await,
        1001
    );
    // another hook's log is its own
    let other = store
        .list_webhook_deliveries(&env, "hook-2", 10)
        .await
        .unwrap();
    assert_eq!(other.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_keeps_the_newest_thousand_deliveries() {
    keeps_the_newest_thousand(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_keeps_the_newest_thousand_deliveries() {
    keeps_the_newest_thousand(Kind::Postgres).await;
}
