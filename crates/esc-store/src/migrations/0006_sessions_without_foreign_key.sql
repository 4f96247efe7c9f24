-- esc-store schema, version 6: sessions without a foreign key to their
-- environment. Checking it cost every session insert a locking read of the
-- environment row (on PostgreSQL ~13% of the database's work per open). A
-- session is still written only for an environment that exists: one
-- pointing to a shared result joins that result (whose own foreign key
-- remains), one with its own result selects the environment row; and
-- deleting an environment deletes its sessions itself (a scan, as the
-- cascade was: no index on env_id, which every insert would pay for). A session written
-- while its environment is being deleted can outlive it until it expires:
-- it cannot be read (a read finds the environment first) and the purge
-- removes it.
--
-- SQLite cannot drop a constraint: the table is copied. (PostgreSQL drops
-- the constraint in place: 0006_sessions_without_foreign_key.postgres.sql.)

CREATE TABLE sessions_new (
    -- SHA-256 of the session id: the id is a bearer capability
    id_hash BYTEA PRIMARY KEY,
    env_id TEXT NOT NULL,
    revision BIGINT NOT NULL,
    result BYTEA NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    result_id TEXT
);
INSERT INTO sessions_new (id_hash, env_id, revision, result, created, expires, result_id)
    SELECT id_hash, env_id, revision, result, created, expires, result_id FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_by_expiry ON sessions (expires);
