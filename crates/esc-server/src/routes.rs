//! The handlers, one group per section of spec/API.md § 5.

pub(crate) mod anonymous;
pub(crate) mod drafts;
pub(crate) mod environments;
pub(crate) mod identity;
pub(crate) mod open;
pub(crate) mod referrers;
pub(crate) mod schedules;
pub(crate) mod tags;
pub(crate) mod webhooks;
