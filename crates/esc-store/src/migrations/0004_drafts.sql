-- esc-store schema, version 4: environment drafts (change requests,
-- spec/API.md 5.12). A draft holds a proposed definition sealed with the
-- environment's data key (secrets already under fn::secret ciphertext, as
-- in revisions), the revision it was written against and its state:
-- 'open' (editable), 'submitted', 'applied' (written as applied_revision).
-- `version` counts edits; the draft's etag names it.

CREATE TABLE drafts (
    id TEXT PRIMARY KEY,
    env_id TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    base_revision BIGINT NOT NULL,
    version BIGINT NOT NULL,
    body BYTEA NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'submitted', 'applied')),
    author_login TEXT NOT NULL,
    author_name TEXT NOT NULL,
    created BIGINT NOT NULL,
    modified BIGINT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    applied_revision BIGINT
);
CREATE INDEX drafts_by_env ON drafts (env_id);
