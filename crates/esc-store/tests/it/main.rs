//! Integration tests of esc-store against real databases: one shared suite
//! run on SQLite (a temporary directory) and on PostgreSQL
//! (`ESC_TEST_DATABASE_URL`, one fresh database per test), plus
//! backend-specific checks (nothing secret at rest, migrations).
#![allow(clippy::unwrap_used)] // tests: a panic is a failure with a location

mod drafts;
mod harness;
mod members;
mod migrations;
mod sessions;
mod suite;
mod webhooks;

/// Instantiates every shared suite test for one backend.
macro_rules! store_suite {
    ($backend:ident, $kind:expr) => {
        mod $backend {
            use crate::harness::Harness;
            use crate::suite;

            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $name() {
                        // None only when PostgreSQL is not configured and not
                        // required (`fresh_database` printed the skip)
                        let Some(harness) = Harness::start($kind).await else {
                            return;
                        };
                        // every case starts on its own empty store, so cases
                        // running in parallel cannot see each other's data
                        let organizations = harness.dyn_store().list_organizations().await.unwrap();
                        assert!(
                            organizations.is_empty(),
                            "a fresh store per test, found {} organizations",
                            organizations.len()
                        );
                        suite::$name(&harness).await;
                    }
                };
            }

            case!(create_and_read);
            case!(revisions_are_immutable_and_numbered);
            case!(stale_revision_conflicts_and_changes_nothing);
            case!(concurrent_writers_lose_no_update);
            case!(revision_tags);
            case!(retract_moves_tags_and_hides_the_revision);
            case!(rollback_writes_an_old_body_as_a_new_revision);
            case!(delete_and_recreate);
            case!(clone_environment);
            case!(cancelled_operations_leave_no_half_writes);
            case!(master_key_rotation);
            case!(bad_text_is_refused_without_echo);
            case!(environments_page);
            case!(environment_tags);
            case!(rotation_state_and_history);
            case!(schedules);
            case!(sessions);
            case!(session_with_audit_event);
            case!(concurrent_sessions_commit_together_and_fail_alone);
            case!(shared_sessions);
            case!(shared_sessions_in_batches);
            case!(deleting_an_environment_deletes_its_sessions);
            case!(pinned_sessions);
            case!(pinned_sessions_in_batches);
            case!(session_ids_new_old_and_odd);
            case!(revision_with_cipher);
            case!(resolve_revisions);
            case!(concurrent_resolves_see_earlier_writes);
            case!(dropped_resolves_do_not_hold_up_others);
            case!(newest_definitions);
            case!(access_tokens);
            case!(audit_events_page);
            case!(webhooks);
            case!(signing_keys);
            case!(nothing_secret_at_rest);
            case!(wrong_master_key_is_refused);
            case!(migrations_are_idempotent);
            case!(users_memberships_and_grants);
        }
    };
}

store_suite!(sqlite, crate::harness::Kind::Sqlite);
store_suite!(postgres, crate::harness::Kind::Postgres);
