ALTER TABLE refresh_tokens DROP COLUMN resource;
ALTER TABLE access_tokens DROP COLUMN resource;
ALTER TABLE authorization_codes DROP COLUMN resource;
DROP TABLE school_resources;
DROP TABLE signing_keys;
