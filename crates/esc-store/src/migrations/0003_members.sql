-- esc-store schema, version 3: users, organization memberships and
-- per-environment grants, so several people can share one server.
-- A grant with env = '' covers every environment of its project.

CREATE TABLE users (
    login TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL,
    created BIGINT NOT NULL
);

-- every login that already owns a token becomes a user
INSERT INTO users (login, name, created)
    SELECT owner, owner, MIN(created) FROM access_tokens GROUP BY owner;

CREATE TABLE memberships (
    org TEXT COLLATE "C" NOT NULL REFERENCES organizations (name) ON DELETE CASCADE,
    login TEXT COLLATE "C" NOT NULL REFERENCES users (login) ON DELETE CASCADE,
    role TEXT NOT NULL,
    created BIGINT NOT NULL,
    PRIMARY KEY (org, login)
);
CREATE INDEX memberships_by_login ON memberships (login);

CREATE TABLE environment_grants (
    org TEXT COLLATE "C" NOT NULL REFERENCES organizations (name) ON DELETE CASCADE,
    project TEXT COLLATE "C" NOT NULL,
    env TEXT COLLATE "C" NOT NULL,
    login TEXT COLLATE "C" NOT NULL REFERENCES users (login) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    created BIGINT NOT NULL,
    PRIMARY KEY (org, project, env, login)
);
CREATE INDEX environment_grants_by_login ON environment_grants (login);
