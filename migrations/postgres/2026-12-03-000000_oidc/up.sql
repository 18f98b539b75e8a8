-- OpenID Connect signing keys, and resource indicators (RFC 8707).

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    algorithm TEXT NOT NULL,
    -- PKCS#8 PEM of the private key. The key must be usable to sign, so it
    -- cannot be hashed; protect the database accordingly.
    private_key_pem TEXT NOT NULL,
    -- The public JWK (JSON), published at the JWKS endpoint.
    public_jwk TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- Set when a newer key takes over signing; the key stays published until
    -- every token it signed has expired.
    retired_at BIGINT
);

CREATE TABLE school_resources (
    school_id TEXT NOT NULL REFERENCES schools (id) ON DELETE CASCADE,
    resource TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (school_id, resource)
);

ALTER TABLE authorization_codes ADD COLUMN resource TEXT;
ALTER TABLE access_tokens ADD COLUMN resource TEXT;
ALTER TABLE refresh_tokens ADD COLUMN resource TEXT;
