//! Persistence of organizations, environments, revisions, tags and the rest, on SQLite or PostgreSQL, with envelope encryption.
