-- esc-store schema, version 1. Times are milliseconds since the Unix epoch.
-- Names sort bytewise (COLLATE "C" on PostgreSQL, SQLite's default BINARY),
-- so paging is the same on both backends.
-- Columns holding anything that can be secret are BYTEA and hold AES-GCM
-- ciphertext (nonce || ciphertext || tag); see src/crypto.rs.

CREATE TABLE store_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE organizations (
    name TEXT COLLATE "C" PRIMARY KEY,
    created BIGINT NOT NULL
);

CREATE TABLE projects (
    org TEXT COLLATE "C" NOT NULL REFERENCES organizations (name) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    created BIGINT NOT NULL,
    PRIMARY KEY (org, name)
);

CREATE TABLE environments (
    id TEXT PRIMARY KEY,
    org TEXT COLLATE "C" NOT NULL,
    project TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    created BIGINT NOT NULL,
    modified BIGINT NOT NULL,
    latest_revision BIGINT NOT NULL,
    deletion_protected BOOLEAN NOT NULL DEFAULT FALSE,
    -- the environment's data key, wrapped by the master key
    data_key BYTEA NOT NULL,
    UNIQUE (org, project, name),
    FOREIGN KEY (org, project) REFERENCES projects (org, name) ON DELETE CASCADE
);

CREATE TABLE revisions (
    env_id TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    body BYTEA NOT NULL,
    author_login TEXT NOT NULL,
    author_name TEXT NOT NULL,
    created BIGINT NOT NULL,
    retracted_at BIGINT,
    retracted_by_login TEXT,
    retracted_by_name TEXT,
    retracted_reason TEXT,
    replacement BIGINT,
    -- two writers can never both create revision n
    PRIMARY KEY (env_id, number)
);

CREATE TABLE revision_tags (
    env_id TEXT NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    revision BIGINT NOT NULL,
    created BIGINT NOT NULL,
    modified BIGINT NOT NULL,
    editor_login TEXT NOT NULL,
    editor_name TEXT NOT NULL,
    PRIMARY KEY (env_id, name),
    FOREIGN KEY (env_id, revision) REFERENCES revisions (env_id, number) ON DELETE CASCADE
);

CREATE TABLE environment_tags (
    id TEXT PRIMARY KEY,
    env_id TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    value TEXT NOT NULL,
    created BIGINT NOT NULL,
    modified BIGINT NOT NULL,
    editor_login TEXT NOT NULL,
    editor_name TEXT NOT NULL,
    UNIQUE (env_id, name)
);

CREATE TABLE rotation_states (
    env_id TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    state BYTEA NOT NULL,
    modified BIGINT NOT NULL,
    PRIMARY KEY (env_id, path)
);

CREATE TABLE rotation_events (
    id TEXT PRIMARY KEY,
    env_id TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    created BIGINT NOT NULL,
    completed BIGINT,
    pre_revision BIGINT NOT NULL,
    post_revision BIGINT,
    user_login TEXT NOT NULL,
    status TEXT NOT NULL,
    error_message TEXT,
    schedule_id TEXT
);
CREATE INDEX rotation_events_by_env ON rotation_events (env_id, created);

CREATE TABLE path_rotations (
    event_id TEXT NOT NULL REFERENCES rotation_events (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    path TEXT NOT NULL,
    status TEXT NOT NULL,
    error_message TEXT,
    PRIMARY KEY (event_id, position)
);

CREATE TABLE schedules (
    id TEXT PRIMARY KEY,
    env_id TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    cron TEXT,
    once BIGINT,
    environment_path TEXT NOT NULL,
    paused BOOLEAN NOT NULL,
    next_execution BIGINT,
    last_executed BIGINT,
    created BIGINT NOT NULL,
    modified BIGINT NOT NULL
);
CREATE INDEX schedules_due ON schedules (next_execution);

CREATE TABLE schedule_runs (
    id TEXT PRIMARY KEY,
    schedule_id TEXT NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    executed BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    result TEXT NOT NULL
);
CREATE INDEX schedule_runs_by_schedule ON schedule_runs (schedule_id, executed);

CREATE TABLE sessions (
    -- SHA-256 of the session id: the id is a bearer capability
    id_hash BYTEA PRIMARY KEY,
    env_id TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    revision BIGINT NOT NULL,
    result BYTEA NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires);

CREATE TABLE access_tokens (
    id TEXT PRIMARY KEY,
    -- SHA-256 of the bearer value; the value itself is never stored
    token_hash BYTEA NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    description TEXT NOT NULL,
    created BIGINT NOT NULL,
    last_used BIGINT,
    expires BIGINT
);
CREATE INDEX access_tokens_by_owner ON access_tokens (owner, created);

CREATE TABLE audit_events (
    id TEXT COLLATE "C" PRIMARY KEY,
    time BIGINT NOT NULL,
    org TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_events_by_org ON audit_events (org, time, id);

CREATE TABLE webhooks (
    env_id TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    display_name TEXT NOT NULL,
    payload_url TEXT NOT NULL,
    format TEXT NOT NULL,
    filters TEXT NOT NULL,
    groups_list TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    secret BYTEA,
    created BIGINT NOT NULL,
    modified BIGINT NOT NULL,
    PRIMARY KEY (env_id, name)
);

CREATE TABLE signing_keys (
    kid TEXT COLLATE "C" PRIMARY KEY,
    algorithm TEXT NOT NULL,
    private_key BYTEA NOT NULL,
    created BIGINT NOT NULL,
    retired BIGINT
);
