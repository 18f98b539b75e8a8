-- Token lifecycle: which rotation issued an access token (for the refresh retry
-- window), and the audit log.

ALTER TABLE access_tokens ADD COLUMN parent_refresh_id TEXT;
CREATE INDEX access_tokens_parent_refresh ON access_tokens (parent_refresh_id);
CREATE INDEX refresh_tokens_parent ON refresh_tokens (parent_id);
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE audit_events (
    -- Insertion order, for stable newest-first paging.
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    school_id TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    actor TEXT NOT NULL,
    user_id TEXT,
    client_id TEXT,
    grant_id TEXT,
    client_ip TEXT
);
CREATE INDEX audit_events_school_seq ON audit_events (school_id, seq);
