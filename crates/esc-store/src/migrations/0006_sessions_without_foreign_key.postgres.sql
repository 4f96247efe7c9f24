-- esc-store schema, version 6, on PostgreSQL: as
-- 0006_sessions_without_foreign_key.sql, in place (no copy of the
-- sessions a busy server holds, under a lock other servers wait on).
ALTER TABLE sessions DROP CONSTRAINT IF EXISTS sessions_env_id_fkey;
