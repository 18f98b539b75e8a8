ALTER TABLE authorization_codes DROP COLUMN issuer;
ALTER TABLE applications DROP COLUMN self_registered;
