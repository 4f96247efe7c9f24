//! The operations users perform on environments — create, edit, open,
//! check, tag, roll back, rotate — with access checks and an audit event
//! for every open, write and reveal, over [`esc_store::Store`] and
//! [`esc_eval`]. No HTTP here: `esc-server` and the local CLI mode both call
//! [`Service`].
//!
//! **Invariants:** definitions are stored with every `fn::secret` under
//! `values` sealed with the environment's data key; an update is validated
//! (parse + check-mode evaluation) before anything is written; with an etag
//! an update either lands on exactly the revision it read or changes nothing.
//! A verified access token is trusted for at most
//! [`ServiceConfig::token_cache_ttl`] without asking the store again (the
//! bound on revocation); sessions this process opened are also answered
//! from memory for [`ServiceConfig::session_cache_ttl`].

mod access;
mod cache;
mod check_exprs;
mod error;
mod loader;
mod names;
mod path;
mod results;
mod secrets;
mod service;
mod webhooks;

pub use access::{AccessPolicy, Membership, Permission, Role};
pub use check_exprs::drop_access;
pub use error::{ServiceError, ServiceResult};
pub use loader::ProviderRegistry;
pub use names::{DEFAULT_PROJECT, Version, check_env_ref, check_org, check_segment};
pub use path::{PathSegment, parse_property_path};
pub use secrets::RewriteError;
pub use service::AnonymousSession;
pub use service::not_json;
pub use service::{
    Caller, CheckOutcome, CloneOptions, Definition, OpenedSession, RotationOutcome, Service,
    ServiceConfig, UpdateOutcome, UserInfo,
};
pub use service::{DraftDefinition, DraftOutcome};
pub use service::{EnvironmentReferrer, MAX_REFERRERS_PAGE, ReferrersPage, ReferrersQuery};
pub use service::{ROTATION_KIND, SCHEDULER_LOGIN, ScheduleRequest, ScheduledRun, parse_rfc3339};
pub use webhooks::{
    ATTEMPT_HEADER, DeliveryRecord, EVENTS as WEBHOOK_EVENTS, GROUPS as WEBHOOK_GROUPS,
    KIND_HEADER, NewWebhook, REMOVE_SECRET, SIGNATURE_HEADER, WebhookConfig, WebhookUpdate,
};
