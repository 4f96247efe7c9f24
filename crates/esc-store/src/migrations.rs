//! Versioned schema migrations, shared by both backends (SQLite reads
//! `BYTEA` as `BLOB`; a migration may have a PostgreSQL form where SQLite
//! cannot do it the same way). All pending migrations apply in one transaction under
//! the backend's migration lock (an advisory lock on PostgreSQL), and each
//! applied version is recorded in `schema_migrations`, so re-running is a
//! no-op and two servers starting at once cannot both apply one.
//!
//! Never edit a released migration: add a new one.

use crate::db::{Backend, Dialect, args};
use crate::error::StoreError;
use crate::model::Timestamp;

/// One schema change.
struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
    /// The same change written for PostgreSQL, where it differs (SQLite
    /// copies a table where PostgreSQL alters it in place).
    postgres_sql: Option<&'static str>,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial schema",
        sql: include_str!("migrations/0001_initial.sql"),
        postgres_sql: None,
    },
    Migration {
        version: 2,
        name: "webhook deliveries",
        sql: include_str!("migrations/0002_webhook_deliveries.sql"),
        postgres_sql: None,
    },
    Migration {
        version: 3,
        name: "users, memberships and grants",
        sql: include_str!("migrations/0003_members.sql"),
        postgres_sql: None,
    },
    Migration {
        version: 4,
        name: "environment drafts",
        sql: include_str!("migrations/0004_drafts.sql"),
        postgres_sql: None,
    },
    Migration {
        version: 5,
        name: "shared session results",
        sql: include_str!("migrations/0005_shared_session_results.sql"),
        postgres_sql: None,
    },
    Migration {
        version: 6,
        name: "sessions without a foreign key",
        sql: include_str!("migrations/0006_sessions_without_foreign_key.sql"),
        postgres_sql: Some(include_str!(
            "migrations/0006_sessions_without_foreign_key.postgres.sql"
        )),
    },
];

/// The newest schema version this build knows.
pub fn latest_schema_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Applies pending migrations; returns the versions applied now (empty when
/// the schema was already current).
pub(crate) async fn migrate(backend: &dyn Backend) -> Result<Vec<i64>, StoreError> {
    migrate_up_to(backend, latest_schema_version()).await
}

/// Applies pending migrations up to and including `target`.
async fn migrate_up_to(backend: &dyn Backend, target: i64) -> Result<Vec<i64>, StoreError> {
    let mut tx = backend.begin().await?;
    let outcome = async {
        backend.lock_for_migration(&mut *tx).await?;
        tx.batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY,
                name TEXT NOT NULL,
                applied BIGINT NOT NULL
            )",
        )
        .await?;
        let applied: Vec<i64> = tx
            .query(
                "SELECT version FROM schema_migrations ORDER BY version",
                vec![],
            )
            .await?
            .iter()
            .map(|row| row.int(0))
            .collect::<Result<_, _>>()?;
        if let Some(newest) = applied.last()
            && *newest > latest_schema_version()
        {
            return Err(StoreError::invalid(format!(
                "the database schema (version {newest}) is newer than this program supports ({})",
                latest_schema_version()
            )));
        }
        let mut now_applied = Vec::new();
        for migration in MIGRATIONS
            .iter()
            .filter(|m| m.version <= target && !applied.contains(&m.version))
        {
            let sql = match (tx.dialect(), migration.postgres_sql) {
                (Dialect::Postgres, Some(sql)) => sql,
                _ => migration.sql,
            };
            tx.batch(sql).await?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied) VALUES ($1, $2, $3)",
                args![
                    migration.version,
                    migration.name,
                    Timestamp::now().unix_millis()
                ],
            )
            .await?;
            now_applied.push(migration.version);
        }
        Ok(now_applied)
    }
    .await;
    match outcome {
        Ok(versions) => {
            tx.commit().await?;
            Ok(versions)
        }
        Err(error) => {
            // The original error matters more than a failed rollback.
            let _ = tx.rollback().await;
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests;
