//! Diesel's view of the tables in `migrations/`. Kept by hand, in step with
//! the SQL of both backends.

diesel::table! {
    schools (id) {
        id -> Text,
        subdomain -> Text,
        display_name -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    school_domains (domain) {
        domain -> Text,
        school_id -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        display_name -> Text,
        password_hash -> Text,
        is_staff -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    memberships (user_id, school_id) {
        user_id -> Text,
        school_id -> Text,
        role -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    applications (id) {
        id -> Text,
        client_id -> Text,
        secret_hash -> Nullable<Text>,
        name -> Text,
        school_id -> Nullable<Text>,
        audience -> Text,
        client_type -> Text,
        redirect_uris -> Text,
        scopes -> Text,
        may_introspect -> Bool,
        created_by -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        disabled -> Bool,
        self_registered -> Bool,
    }
}

diesel::table! {
    grants (id) {
        id -> Text,
        user_id -> Text,
        application_id -> Text,
        school_id -> Text,
        scopes -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    authorization_codes (id) {
        id -> Text,
        code_hash -> Text,
        grant_id -> Text,
        school_id -> Text,
        application_id -> Text,
        user_id -> Text,
        via_platform -> Bool,
        redirect_uri -> Text,
        scopes -> Text,
        code_challenge -> Text,
        nonce -> Nullable<Text>,
        auth_time -> BigInt,
        created_at -> BigInt,
        expires_at -> BigInt,
        consumed_at -> Nullable<BigInt>,
        resource -> Nullable<Text>,
        issuer -> Nullable<Text>,
    }
}

diesel::table! {
    access_tokens (id) {
        id -> Text,
        token_hash -> Text,
        grant_id -> Text,
        family_id -> Text,
        school_id -> Text,
        application_id -> Text,
        user_id -> Text,
        via_platform -> Bool,
        scopes -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        parent_refresh_id -> Nullable<Text>,
        resource -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        token_hash -> Text,
        grant_id -> Text,
        family_id -> Text,
        parent_id -> Nullable<Text>,
        school_id -> Text,
        application_id -> Text,
        user_id -> Text,
        via_platform -> Bool,
        scopes -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        rotated_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
        resource -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        session_hash -> Text,
        user_id -> Text,
        host -> Text,
        auth_time -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    audit_events (seq) {
        seq -> BigInt,
        school_id -> Text,
        occurred_at -> BigInt,
        kind -> Text,
        outcome -> Text,
        reason -> Nullable<Text>,
        actor -> Text,
        user_id -> Nullable<Text>,
        client_id -> Nullable<Text>,
        grant_id -> Nullable<Text>,
        client_ip -> Nullable<Text>,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        algorithm -> Text,
        private_key_pem -> Text,
        public_jwk -> Text,
        created_at -> BigInt,
        retired_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    school_resources (school_id, resource) {
        school_id -> Text,
        resource -> Text,
        name -> Text,
        created_at -> BigInt,
    }
}

diesel::joinable!(school_domains -> schools (school_id));
diesel::joinable!(memberships -> schools (school_id));
diesel::joinable!(memberships -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    schools,
    school_domains,
    users,
    memberships,
    applications,
    grants,
    authorization_codes,
    access_tokens,
    refresh_tokens,
    sessions,
    audit_events,
    signing_keys,
    school_resources,
);
