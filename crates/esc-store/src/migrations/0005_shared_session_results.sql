-- esc-store schema, version 5: shared open-session results. Opens of an
-- unchanged environment by one caller evaluate to the same result; instead
-- of sealing and storing it with every session, it can be stored once here
-- and the sessions point to it (`sessions.result_id`, their own `result`
-- then empty). A shared result is kept until `expires`, and a session is
-- written pointing to it only if it expires no later and is of the same
-- environment (checked by the insert itself), so purging both by expiry
-- never leaves a session without its result. Sealed with the
-- environment's data key, bound to the result's id.

CREATE TABLE session_results (
    id TEXT PRIMARY KEY,
    env_id TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    result BYTEA NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX session_results_by_expiry ON session_results (expires);

ALTER TABLE sessions ADD COLUMN result_id TEXT;
