//! The security events the server records, always with the school they
//! concern. Events never carry a secret: ids, names and reasons only.

use crate::ids::{ClientId, GrantId, SchoolId, UserId};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditKind {
    /// A user approved an application (or an earlier consent covered it) and a
    /// code was issued.
    AuthorizationGranted,
    /// An authorization was refused: audience, consent denied, scope.
    AuthorizationRefused,
    /// Tokens were issued for a code.
    TokensIssued,
    /// A refresh token was rotated.
    TokensRefreshed,
    /// A code was presented again; the tokens of its first use were revoked.
    CodeReplayed,
    /// A rotated refresh token was presented again; its grant's tokens were revoked.
    RefreshTokenReused,
    /// A token was revoked by its client.
    TokenRevoked,
    /// A grant was revoked by its user or a school admin, with all its tokens.
    GrantRevoked,
    /// A school admin registered an application.
    ApplicationCreated,
    /// A school admin changed an application's name, redirect URIs, scopes,
    /// audience or introspection right.
    ApplicationUpdated,
    /// A school admin replaced an application's client secret.
    ApplicationSecretRotated,
    /// An application was disabled, with every grant and token it held.
    ApplicationDisabled,
    /// A disabled application was enabled again.
    ApplicationEnabled,
    /// A school admin deleted an application, with every grant and token.
    ApplicationDeleted,
}

impl AuditKind {
    /// Every kind.
    pub const ALL: [AuditKind; 14] = [
        AuditKind::AuthorizationGranted,
        AuditKind::AuthorizationRefused,
        AuditKind::TokensIssued,
        AuditKind::TokensRefreshed,
        AuditKind::CodeReplayed,
        AuditKind::RefreshTokenReused,
        AuditKind::TokenRevoked,
        AuditKind::GrantRevoked,
        AuditKind::ApplicationCreated,
        AuditKind::ApplicationUpdated,
        AuditKind::ApplicationSecretRotated,
        AuditKind::ApplicationDisabled,
        AuditKind::ApplicationEnabled,
        AuditKind::ApplicationDeleted,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::AuthorizationGranted => "authorization.granted",
            AuditKind::AuthorizationRefused => "authorization.refused",
            AuditKind::TokensIssued => "tokens.issued",
            AuditKind::TokensRefreshed => "tokens.refreshed",
            AuditKind::CodeReplayed => "code.replayed",
            AuditKind::RefreshTokenReused => "refresh_token.reused",
            AuditKind::TokenRevoked => "token.revoked",
            AuditKind::GrantRevoked => "grant.revoked",
            AuditKind::ApplicationCreated => "application.created",
            AuditKind::ApplicationUpdated => "application.updated",
            AuditKind::ApplicationSecretRotated => "application.secret_rotated",
            AuditKind::ApplicationDisabled => "application.disabled",
            AuditKind::ApplicationEnabled => "application.enabled",
            AuditKind::ApplicationDeleted => "application.deleted",
        }
    }

    /// Whether the event records something that went wrong or was refused.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            AuditKind::AuthorizationRefused
                | AuditKind::CodeReplayed
                | AuditKind::RefreshTokenReused
        )
    }
}

/// Who caused an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A logged-in user.
    User(UserId),
    /// An application at a protocol endpoint.
    Client(ClientId),
    /// The platform operator, from the command line.
    Operator,
}

impl Actor {
    /// The stored form: `user:<id>`, `client:<client_id>` or `operator`.
    pub fn to_stored(&self) -> String {
        match self {
            Actor::User(id) => format!("user:{id}"),
            Actor::Client(id) => format!("client:{id}"),
            Actor::Operator => "operator".to_owned(),
        }
    }
}

/// One security event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// The school it concerns.
    pub school_id: SchoolId,
    /// What happened.
    pub kind: AuditKind,
    /// Why, for refusals and revocations.
    pub reason: Option<String>,
    /// Who caused it.
    pub actor: Actor,
    /// The user whose access it concerns.
    pub user_id: Option<UserId>,
    /// The application it concerns.
    pub client_id: Option<ClientId>,
    /// The grant it concerns.
    pub grant_id: Option<GrantId>,
    /// The address the request came from.
    pub client_ip: Option<String>,
}
