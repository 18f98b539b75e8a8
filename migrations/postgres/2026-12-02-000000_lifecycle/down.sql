DROP TABLE audit_events;
DROP INDEX sessions_expires;
DROP INDEX authorization_codes_expires;
DROP INDEX refresh_tokens_expires;
DROP INDEX access_tokens_expires;
DROP INDEX refresh_tokens_parent;
DROP INDEX access_tokens_parent_refresh;
ALTER TABLE access_tokens DROP COLUMN parent_refresh_id;
