//! Optimistic concurrency over HTTP: writers racing with the ETag they read.

use std::sync::Arc;

use reqwest::{Method, StatusCode};

use crate::harness::{E, create_env, patch_yaml, sqlite_server};

#[tokio::test]
async fn sixteen_writers_one_etag_each_accepted_write_is_a_child_of_what_it_read() {
    let (server, _dir) = sqlite_server().await;
    create_env(&server, "app", "dev").await;
    let server = Arc::new(server);
    let mut tasks = Vec::new();
    for writer in 0..16 {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            let read = server.call(Method::GET, E, None).await;
            let etag = read.header("etag").to_owned();
            let parent: u64 = read.header("Pulumi-ESC-Revision").parse().unwrap();
            let reply = patch_yaml(
                &server,
                E,
                &format!("values:\n  writer: {writer}\n"),
                Some(&etag),
            )
            .await;
            (writer, parent, reply)
        }));
    }
    let mut accepted = Vec::new();
    let mut conflicts = 0;
    for task in tasks {
        let (writer, parent, reply) = task.await.unwrap();
        match reply.status {
            StatusCode::OK => {
                let revision: u64 = reply.header("Pulumi-ESC-Revision").parse().unwrap();
                assert_eq!(
                    revision,
                    parent + 1,
                    "an accepted write lands on the revision it read"
                );
                accepted.push((revision, writer));
            }
            StatusCode::CONFLICT => {
                reply.error(StatusCode::CONFLICT);
                conflicts += 1;
            }
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }
    assert!(!accepted.is_empty());
    assert_eq!(accepted.len() + conflicts, 16);
    accepted.sort();
    // every accepted write made exactly one new revision, numbered consecutively
    let numbers: Vec<u64> = accepted.iter().map(|(revision, _)| *revision).collect();
    let expected: Vec<u64> = (2..2 + accepted.len() as u64).collect();
    assert_eq!(numbers, expected);
    let revisions = server
        .call(Method::GET, &format!("{E}/versions?count=500"), None)
        .await
        .json();
    assert_eq!(revisions.as_array().unwrap().len(), 1 + accepted.len());
    // the newest definition is the last accepted writer's
    let (_, last_writer) = accepted.last().unwrap();
    let now = server.call(Method::GET, E, None).await;
    assert_eq!(now.body, format!("values:\n  writer: {last_writer}\n"));
    match Arc::try_unwrap(server) {
        Ok(server) => server.stop().await,
        Err(_) => panic!("server still shared"),
    }
}
