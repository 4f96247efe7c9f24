//! Integration tests of the REST server over real HTTP on 127.0.0.1, on
//! SQLite and PostgreSQL, including the official Python SDK as a client.
#![allow(clippy::unwrap_used)]

mod anonymous;
mod api;
mod api_audit;
mod check_exprs;
mod concurrency;
mod drafts;
mod harness;
mod keystore;
mod postgres;
mod referrers;
mod request_log;
mod rotation;
mod schedules;
mod sdk;
mod sdk_more;
mod secrets;
mod serve;
mod started;
mod webhooks;
