//! The issuer's keys in the database (`esc_server::keystore`): servers on one PostgreSQL
//! publish one key set and follow each other's rotations, concurrent saves lose no key,
//! retired keys are removed, and key material is sealed at rest.

use std::sync::Arc;
use std::time::Duration;

use esc_oidc::{Error, FileKeyStore, Issuer, IssuerConfig, KeySet, KeyStore, SigningKey, UnixTime};
use esc_server::keystore::{INDEX_ALGORITHM, KEPT_INDEXES, StoreKeyStore};
use esc_server::{ServeConfig, start, start_with_store};
use esc_store::{MasterKey, SqlStore, Store};

use crate::harness::fresh_database;
use crate::secrets::contains;
use crate::started::Served;

const DAY: u64 = 24 * 3600;
const MASTER: [u8; 32] = [9; 32];

async fn postgres_store(url: &str) -> Arc<dyn Store> {
    Arc::new(
        SqlStore::connect_postgres(url, MasterKey::from_bytes(&MASTER).unwrap(), 4)
            .await
            .unwrap(),
    )
}

async fn sqlite_store(dir: &std::path::Path) -> Arc<dyn Store> {
    Arc::new(
        SqlStore::open_sqlite(dir, MasterKey::from_bytes(&MASTER).unwrap())
            .await
            .unwrap(),
    )
}

fn later(seconds: u64) -> UnixTime {
    UnixTime(UnixTime::now().0 + seconds)
}

fn kids(keys: &KeySet) -> Vec<String> {
    keys.keys()
        .iter()
        .map(|managed| managed.key.kid().to_owned())
        .collect()
}

fn active_kid(issuer: &Issuer) -> String {
    issuer.snapshot().active().unwrap().kid().to_owned()
}

/// Waits (at most 10 s) until both servers publish the same kids; returns them.
async fn converged(first: &Served, second: &Served) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (a, b) = (first.jwks_kids().await, second.jwks_kids().await);
        if a == b {
            return a;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "JWKS differ after 10 s: {a:?} vs {b:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn servers_on_one_postgres_publish_one_key_set_and_follow_rotations() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let (first_store, second_store) = (postgres_store(&url).await, postgres_store(&url).await);
    let config = ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        key_maintenance_interval: Duration::from_millis(100),
        ..ServeConfig::default()
    };
    // both start at once on an empty database: one key set comes out
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = tokio::join!(
        start_with_store(
            ServeConfig {
                data_dir: dir.path().join("first"),
                ..config.clone()
            },
            first_store
        ),
        start_with_store(
            ServeConfig {
                data_dir: dir.path().join("second"),
                ..config.clone()
            },
            second_store
        ),
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    // one of the two created the admin token; the other uses the same admin
    let token = first
        .bootstrap_token
        .as_ref()
        .or(second.bootstrap_token.as_ref())
        .map(|token| String::from_utf8(token.expose().to_vec()).unwrap());
    let (first, second) = (
        Served::run(first, token.clone()),
        Served::run(second, token),
    );
    let initial = first.jwks_kids().await;
    assert_eq!(initial.len(), 1, "{initial:?}");
    assert_eq!(second.jwks_kids().await, initial);
    let first_issuer = first.state.issuer.clone().unwrap();
    let second_issuer = second.state.issuer.clone().unwrap();
    assert_eq!(active_kid(&second_issuer), initial[0]);

    // the first publishes the next key (29 days on, due within the publish lead) …
    first_issuer
        .maintain_at(later(29 * DAY + 3600))
        .await
        .unwrap();
    let published = converged(&first, &second).await;
    assert_eq!(published.len(), 2, "{published:?}");
    assert_eq!(published[0], initial[0]);
    // … then switches to it: the second server follows and signs with it too
    first_issuer.maintain_at(later(31 * DAY)).await.unwrap();
    let new_kid = active_kid(&first_issuer);
    assert_eq!(new_kid, published[1]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while active_kid(&second_issuer) != new_kid {
        assert!(
            std::time::Instant::now() < deadline,
            "second server still signs with the old key"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // the retired key stays published (tokens it signed are still valid)
    assert_eq!(converged(&first, &second).await, published);
    let private_keys: Vec<Vec<u8>> = first_issuer
        .snapshot()
        .keys()
        .iter()
        .map(|managed| managed.key.pkcs8_der().to_vec())
        .collect();

    first.stop().await;
    second.stop().await;

    // no row holds private key bytes in clear (a data-only dump of the database)
    let dump = std::process::Command::new("/usr/lib/postgresql/15/bin/pg_dump")
        .args(["--data-only", "--dbname", &url])
        .output()
        .unwrap();
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    assert!(
        contains(&dump.stdout, "keyset."),
        "the dump has the key rows"
    );
    for der in &private_keys {
        assert!(
            !holds_part_of(&dump.stdout, der),
            "private key bytes in PostgreSQL"
        );
    }
}

/// Whether `haystack` holds any of several 24-byte windows from the second half of `der`
/// (the private part of a PKCS#8 RSA key), raw or as PostgreSQL's `\x` hex dump.
fn holds_part_of(haystack: &[u8], der: &[u8]) -> bool {
    der[der.len() / 2..].chunks(24).take(8).any(|window| {
        let hex: String = window.iter().map(|byte| format!("{byte:02x}")).collect();
        haystack.windows(window.len()).any(|part| part == window) || contains(haystack, &hex)
    })
}

/// Two processes load the same set and both change it: exactly one save lands, the
/// other is refused, and no key row is left behind or lost.
async fn concurrent_saves(first: Arc<dyn Store>, second: Arc<dyn Store>) {
    let bootstrap = Issuer::open(
        IssuerConfig::new("https://esc.example.com"),
        Arc::new(StoreKeyStore::new(first.clone())),
    )
    .await
    .unwrap();
    let active = active_kid(&bootstrap);
    let (a, b) = (
        StoreKeyStore::new(first.clone()),
        StoreKeyStore::new(second.clone()),
    );
    let (mut set_a, mut set_b) = (
        a.load().await.unwrap().unwrap(),
        b.load().await.unwrap().unwrap(),
    );
    assert_eq!(set_a.revision(), set_b.revision());
    let policy = IssuerConfig::new("https://esc.example.com").rotation;
    let soon = later(29 * DAY + 3600);
    assert!(set_a.maintain(soon, &policy, SigningKey::generate).unwrap());
    assert!(set_b.maintain(soon, &policy, SigningKey::generate).unwrap());
    let (next_a, next_b) = (kids(&set_a)[1].clone(), kids(&set_b)[1].clone());
    assert_ne!(next_a, next_b);

    let (saved_a, saved_b) = tokio::join!(a.save(&set_a), b.save(&set_b));
    let (winner, loser) = match (&saved_a, &saved_b) {
        (Ok(revision), Err(Error::Conflict { .. })) => {
            assert_eq!(*revision, set_a.revision() + 1);
            (next_a, next_b)
        }
        (Err(Error::Conflict { .. }), Ok(revision)) => {
            assert_eq!(*revision, set_b.revision() + 1);
            (next_b, next_a)
        }
        other => panic!("expected one save and one conflict, got {other:?}"),
    };
    let stored = a.load().await.unwrap().unwrap();
    assert_eq!(kids(&stored), vec![active.clone(), winner.clone()]);
    let rows: Vec<String> = first
        .list_signing_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.kid)
        .collect();
    assert!(rows.contains(&winner), "{rows:?}");
    assert!(
        !rows.contains(&loser),
        "the refused save removed its key: {rows:?}"
    );

    // a stale save is refused and changes nothing
    assert!(matches!(b.save(&set_b).await, Err(Error::Conflict { .. })));
    assert_eq!(kids(&a.load().await.unwrap().unwrap()), kids(&stored));

    // two issuers maintaining at once converge on one set (the loser redoes its step)
    let config = IssuerConfig::new("https://esc.example.com");
    let (x, y) = tokio::join!(
        Issuer::open(config.clone(), Arc::new(StoreKeyStore::new(first.clone()))),
        Issuer::open(config, Arc::new(StoreKeyStore::new(second.clone()))),
    );
    let (x, y) = (x.unwrap(), y.unwrap());
    let switch = later(31 * DAY);
    let (done_x, done_y) = tokio::join!(x.maintain_at(switch), y.maintain_at(switch));
    done_x.unwrap();
    done_y.unwrap();
    assert_eq!(kids(&x.snapshot()), kids(&y.snapshot()));
    assert_eq!(active_kid(&x), winner);
    assert_eq!(active_kid(&y), winner);
    assert_eq!(
        kids(&a.load().await.unwrap().unwrap()),
        vec![active, winner]
    );
}

#[tokio::test]
async fn concurrent_saves_on_postgres_lose_no_key() {
    let Some(url) = fresh_database().await else {
        return;
    };
    concurrent_saves(postgres_store(&url).await, postgres_store(&url).await).await;
}

#[tokio::test]
async fn concurrent_saves_on_sqlite_lose_no_key() {
    let dir = tempfile::tempdir().unwrap();
    let first = sqlite_store(dir.path()).await;
    let second = sqlite_store(dir.path()).await;
    concurrent_saves(first, second).await;
}

#[tokio::test]
async fn retired_keys_and_old_indexes_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path()).await;
    let issuer = Issuer::open(
        IssuerConfig::new("https://esc.example.com"),
        Arc::new(StoreKeyStore::new(store.clone())),
    )
    .await
    .unwrap();
    let first = active_kid(&issuer);
    // several full rotations, each: publish next, switch, drop the retired key
    for cycle in 0..4u64 {
        let base = cycle * 40 * DAY;
        issuer
            .maintain_at(later(base + 29 * DAY + 3600))
            .await
            .unwrap();
        issuer.maintain_at(later(base + 31 * DAY)).await.unwrap();
        issuer
            .maintain_at(later(base + 31 * DAY + 2 * 3600))
            .await
            .unwrap();
    }
    let rows = store.list_signing_keys().await.unwrap();
    let key_rows: Vec<&str> = rows
        .iter()
        .filter(|row| row.algorithm == "RS256")
        .map(|row| row.kid.as_str())
        .collect();
    assert_eq!(key_rows, vec![active_kid(&issuer).as_str()]);
    assert!(!key_rows.contains(&first.as_str()));
    let n_indexes = rows
        .iter()
        .filter(|row| row.algorithm == INDEX_ALGORITHM)
        .count() as u64;
    // 13 saves (open, then publish, switch, drop per cycle): the newest few are kept
    assert_eq!(n_indexes, KEPT_INDEXES);
    // what is left loads, as the same set
    let reloaded = StoreKeyStore::new(store).load().await.unwrap().unwrap();
    assert_eq!(kids(&reloaded), kids(&issuer.snapshot()));
}

#[tokio::test]
async fn key_material_is_sealed_in_the_sqlite_file_and_old_key_files_are_imported() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    // a server of an earlier version kept its keys in files under the data directory
    let legacy = Issuer::open(
        IssuerConfig::new("http://127.0.0.1"),
        Arc::new(FileKeyStore::new(data_dir.join("oidc-keys"))),
    )
    .await
    .unwrap();
    let legacy_kid = active_kid(&legacy);

    let started = start(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.clone(),
        ..ServeConfig::default()
    })
    .await
    .unwrap();
    let server = Served::run(started, None);
    assert_eq!(server.jwks_kids().await, vec![legacy_kid.clone()]);
    let issuer = server.state.issuer.clone().unwrap();
    let key = issuer.snapshot().active().unwrap().clone();
    assert_eq!(key.kid(), legacy_kid);
    let der = key.pkcs8_der().to_vec();
    server.stop().await;

    // the check finds the key where it is in clear: the old key file
    let legacy_file = data_dir.join("oidc-keys").join(format!("{legacy_kid}.pk8"));
    assert!(holds_part_of(&std::fs::read(legacy_file).unwrap(), &der));
    // the keys are in the database now, sealed: no window of the private key is in
    // any file of the store (database, WAL)
    let mut n_files = 0;
    for entry in std::fs::read_dir(&data_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file()
            && path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("esc.db")
        {
            n_files += 1;
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !holds_part_of(&bytes, &der),
                "{} holds private key bytes",
                path.display()
            );
            // the key-set index (states, times) is sealed too
            assert!(
                !contains(&bytes, r#""state":"active""#),
                "{}",
                path.display()
            );
        }
    }
    assert!(n_files >= 1);
    let (store, _) = SqlStore::open(esc_store::Location::Embedded(&data_dir))
        .await
        .unwrap();
    let sealed = StoreKeyStore::new(store).load().await.unwrap().unwrap();
    assert_eq!(kids(&sealed), vec![legacy_kid]);
}

#[tokio::test]
async fn a_zero_maintenance_interval_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let refused = start(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        key_maintenance_interval: Duration::ZERO,
        ..ServeConfig::default()
    })
    .await;
    let Err(error) = refused else {
        panic!("a zero interval was accepted");
    };
    assert!(
        error.to_string().contains("key_maintenance_interval"),
        "{error}"
    );
}

#[tokio::test]
async fn a_broken_key_set_in_the_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path()).await;
    let keys = StoreKeyStore::new(store.clone());
    assert!(
        keys.load().await.unwrap().is_none(),
        "empty database: no set"
    );

    // an index naming a key that is not there
    let index = r#"{"revision":1,"keys":[{"kid":"missing-kid","state":"active","since":1}]}"#;
    store
        .put_signing_key(
            "keyset.00000000000000000001",
            INDEX_ALGORITHM,
            &esc_store::Plaintext::new(index.as_bytes().to_vec()),
        )
        .await
        .unwrap();
    let Err(error) = keys.load().await else {
        panic!("a set with a missing key loaded");
    };
    let text = error.to_string();
    assert!(text.contains("signing_keys"), "{text}");
    assert!(
        text.contains("names key missing-kid which is missing"),
        "{text}"
    );
    // saving over it is refused as stale, not silently replacing it
    assert!(matches!(
        keys.save(&KeySet::default()).await,
        Err(Error::Conflict {
            expected: 0,
            found: 1
        })
    ));

    // an index that is not JSON: the error says so without quoting it
    store
        .put_signing_key(
            "keyset.00000000000000000002",
            INDEX_ALGORITHM,
            &esc_store::Plaintext::new(b"not json at all".to_vec()),
        )
        .await
        .unwrap();
    let Err(error) = keys.load().await else {
        panic!("a garbage index loaded");
    };
    let text = error.to_string();
    assert!(text.contains("index 2 is not a key set index"), "{text}");
    assert!(!text.contains("not json at all"), "{text}");
}
