-- esc-store schema, version 2: webhook delivery history. The request and
-- response details (payload, headers with signatures, response body) are
-- one encrypted blob; only the metadata listings need is in the clear.

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    env_id TEXT NOT NULL,
    webhook TEXT COLLATE "C" NOT NULL,
    kind TEXT NOT NULL,
    time BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    response_code BIGINT,
    details BYTEA NOT NULL,
    FOREIGN KEY (env_id, webhook) REFERENCES webhooks (env_id, name) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_by_hook ON webhook_deliveries (env_id, webhook, time);
