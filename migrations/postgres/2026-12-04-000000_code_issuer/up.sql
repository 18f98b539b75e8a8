-- The issuer (host) an authorization code was issued at: it may be redeemed
-- only there, so the ID token's iss equals the iss the client was sent.
ALTER TABLE authorization_codes ADD COLUMN issuer TEXT;

-- Applications that registered themselves (dynamic registration, client
-- metadata documents) rather than being registered by an operator or a school.
ALTER TABLE applications ADD COLUMN self_registered BOOLEAN NOT NULL DEFAULT FALSE;
