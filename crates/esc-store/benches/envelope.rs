//! Envelope encryption of a 1 KiB value with an environment's data key
//! (AES-256-GCM), raw and wrapped in the `fn::secret` envelope (base64 +
//! CRC-32). Run with `cargo bench -p esc-store --bench envelope`.
#![allow(clippy::unwrap_used)] // bench setup

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use esc_store::{Author, EnvRef, MasterKey, SqlStore, Store, open_secret, seal_secret};

fn envelope(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = EnvRef::new("acme", "bench", "dev");
    let store = runtime.block_on(async {
        let store = SqlStore::open_sqlite(dir.path(), MasterKey::generate().unwrap())
            .await
            .unwrap();
        store.create_organization("acme").await.unwrap();
        store
            .create_environment(&env, &Author::new("bench", "Bench"))
            .await
            .unwrap();
        store
    });
    let cipher = runtime.block_on(store.environment_cipher(&env)).unwrap();
    let value = vec![0x5a_u8; 1024];
    let sealed_raw = cipher.encrypt(&value).unwrap();
    let sealed_envelope = seal_secret(&cipher, &value).unwrap();

    let mut group = c.benchmark_group("envelope_1kib");
    group.throughput(Throughput::Elements(1));
    group.bench_function("encrypt", |b| {
        b.iter(|| cipher.encrypt(black_box(&value)).unwrap())
    });
    group.bench_function("decrypt", |b| {
        b.iter(|| cipher.decrypt(black_box(&sealed_raw)).unwrap())
    });
    group.bench_function("seal_secret", |b| {
        b.iter(|| seal_secret(&cipher, black_box(&value)).unwrap())
    });
    group.bench_function("open_secret", |b| {
        b.iter(|| open_secret(&cipher, black_box(&sealed_envelope)).unwrap())
    });
    group.finish();

    // Fetching the cipher: one SQLite read plus unwrapping the data key.
    c.bench_function("environment_cipher_sqlite", |b| {
        b.iter(|| {
            runtime
                .block_on(store.environment_cipher(black_box(&env)))
                .unwrap()
        })
    });
}

criterion_group!(benches, envelope);
criterion_main!(benches);
