//! Integration tests of the service layer over a real SQLite store: access
//! checks, audit events, secrets sealing and revision semantics.
#![allow(clippy::unwrap_used)]

mod access;
mod deliveries;
mod drafts;
mod open;
mod results;
mod rotation;
mod webhooks;
