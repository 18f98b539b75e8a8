//! Administration of Loopwise Connect: the operator's commands over schools,
//! users, memberships and applications.
//!
//! Every write goes through the same core rules as the protocol endpoints
//! (redirect URI registration, scope validation and ceilings, audiences), so
//! administration can never store what the authorization endpoint would
//! refuse. This crate depends on `oauth-core` and `oauth-storage`, never on
//! the HTTP layer.

mod school_apps;

pub use school_apps::{ApplicationChange, Changed, NewSchoolApplication, SchoolAdmin};

use chrono::Utc;
use oauth_core::application::{Application, ClientType, Registration};
use oauth_core::audience::{Audience, Role};
use oauth_core::ids::{ApplicationId, ClientId, SchoolId, Subdomain, UserId};
use oauth_core::password::{hash_password, PasswordError};
use oauth_core::redirect_uri::{RedirectUri, RedirectUriError};
use oauth_core::scope::{validate_registration_scopes, ScopeError, ScopeSet};
use oauth_core::{PlainToken, PresentedSecret, TokenKind};
use oauth_storage::{NewApplication, NewSchool, NewUser, School, StorageError, Store};
use thiserror::Error;
use uuid::Uuid;

/// Why an administrative command was refused.
#[derive(Debug, Error)]
pub enum AdminError {
    /// A redirect URI broke a registration rule.
    #[error("redirect URI `{uri}` is not allowed: {reason}")]
    InvalidRedirectUri {
        /// The URI as given.
        uri: String,
        /// The rule it broke.
        reason: RedirectUriError,
    },
    /// An application needs at least one redirect URI.
    #[error("an application needs at least one redirect URI")]
    NoRedirectUri,
    /// More redirect URIs than one application may have.
    #[error("an application may register at most {MAX_REDIRECT_URIS} redirect URIs")]
    TooManyRedirectUris,
    /// The same redirect URI twice.
    #[error("redirect URI `{0}` is listed twice")]
    RepeatedRedirectUri(String),
    /// A school application with no scope at all.
    #[error("choose at least one scope")]
    NoScope,
    /// A scope is unknown, reserved or above the ceiling.
    #[error(transparent)]
    InvalidScope(#[from] ScopeError),
    /// `staff` on a school application.
    #[error("the audience `{0}` is not allowed for this kind of application")]
    AudienceNotAllowed(Audience),
    /// Not a valid client id.
    #[error("`{0}` is not a valid client_id")]
    InvalidClientId(String),
    /// Not a valid subdomain.
    #[error("`{0}` is not a valid subdomain: use lower-case letters, digits and inner hyphens")]
    InvalidSubdomain(String),
    /// The name is empty or too long.
    #[error("a name needs 1 to 200 characters, with a letter or digit and nothing invisible")]
    InvalidName,
    /// Not a host name with an optional port.
    #[error(
        "`{0}` is not a host name (letters, digits, dots and hyphens, with an optional :port)"
    )]
    InvalidDomain(String),
    /// The platform host, or a host where schools live by subdomain.
    #[error("`{0}` is reserved: it is the platform host or under the base domain")]
    ReservedDomain(String),
    /// Not a plausible email address.
    #[error("`{0}` is not a valid email address")]
    InvalidEmail(String),
    /// The password was refused.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// A client metadata document that cannot be used.
    #[error("the client metadata document is not usable: {0}")]
    InvalidDocument(String),
    /// The school has no application with this client id.
    #[error("no application `{0}` in this school")]
    ApplicationNotFound(String),
    /// A public client has no secret to rotate.
    #[error("a public client has no secret; only confidential clients have one to rotate")]
    PublicClientHasNoSecret,
    /// The operating system's random source failed.
    #[error("the system random source failed")]
    Random,
    /// Storage failed or a unique value is taken.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What an operator asks for when registering an application.
#[derive(Debug, Clone)]
pub struct ApplicationSpec {
    /// A chosen client id; a random one is generated when `None`.
    pub client_id: Option<String>,
    /// Name shown on consent pages.
    pub name: String,
    /// School or platform.
    pub registration: Registration,
    /// Who may authorize it.
    pub audience: Audience,
    /// Confidential or public.
    pub client_type: ClientType,
    /// Redirect URIs, each checked by the registration rules.
    pub redirect_uris: Vec<String>,
    /// Scopes in configuration syntax (`family:*` allowed).
    pub scopes: String,
    /// A chosen secret for a confidential client (demo set-ups); a random one
    /// is generated when `None`.
    pub secret: Option<String>,
    /// Whether it may introspect tokens of its school.
    pub may_introspect: bool,
}

/// A registered application, with its secret when one was generated or set:
/// the only time the secret is available.
#[derive(Debug)]
pub struct Registered {
    /// The application.
    pub app: Application,
    /// The client secret, to show once.
    pub secret: Option<PresentedSecret>,
}

fn random_bytes<const N: usize>() -> Result<[u8; N], AdminError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|_| AdminError::Random)?;
    Ok(bytes)
}

/// Names are shown to people deciding whether to trust an application; the
/// core rule decides which may be.
fn check_name(name: &str) -> Result<(), AdminError> {
    if oauth_core::application::is_presentable_name(name) {
        Ok(())
    } else {
        Err(AdminError::InvalidName)
    }
}

/// The most redirect URIs one application may register (the core rule).
pub const MAX_REDIRECT_URIS: usize = oauth_core::redirect_uri::MAX_PER_APPLICATION;

/// Validates an application specification with the core rules, without
/// storing anything.
pub fn validate_spec(spec: &ApplicationSpec) -> Result<(RedirectUriList, ScopeSet), AdminError> {
    check_name(&spec.name)?;
    if !spec.audience.is_allowed_for(&spec.registration) {
        return Err(AdminError::AudienceNotAllowed(spec.audience));
    }
    if spec.redirect_uris.is_empty() {
        return Err(AdminError::NoRedirectUri);
    }
    if spec.redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(AdminError::TooManyRedirectUris);
    }
    if let Some(repeated) = spec
        .redirect_uris
        .iter()
        .enumerate()
        .find(|(i, uri)| spec.redirect_uris[..*i].contains(uri))
        .map(|(_, uri)| uri)
    {
        return Err(AdminError::RepeatedRedirectUri(repeated.clone()));
    }
    let uris = spec
        .redirect_uris
        .iter()
        .map(|uri| {
            RedirectUri::register(uri).map_err(|reason| AdminError::InvalidRedirectUri {
                uri: uri.clone(),
                reason,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let scopes = ScopeSet::parse_config(&spec.scopes)?;
    validate_registration_scopes(&spec.registration, spec.audience, &scopes)?;
    Ok((uris, scopes))
}

/// Checks a specification and turns it into an application with a fresh id,
/// its client id (chosen or random) and, for a confidential client, its
/// secret (chosen or random). Nothing is stored.
pub(crate) fn prepare(
    spec: &ApplicationSpec,
) -> Result<(Application, Option<PresentedSecret>), AdminError> {
    let (redirect_uris, scopes) = validate_spec(spec)?;
    let client_id = match &spec.client_id {
        Some(id) => ClientId::parse(id).map_err(|_| AdminError::InvalidClientId(id.clone()))?,
        None => {
            let raw = Uuid::from_bytes(random_bytes::<16>()?).simple().to_string();
            ClientId::parse(&format!("lwc_{raw}")).map_err(|_| AdminError::InvalidClientId(raw))?
        }
    };
    let secret = match spec.client_type {
        ClientType::Public => None,
        ClientType::Confidential => Some(match &spec.secret {
            Some(secret) => PresentedSecret::new(secret.clone()),
            None => new_client_secret()?,
        }),
    };
    let app = Application {
        id: ApplicationId::from_uuid(Uuid::new_v4()),
        client_id,
        name: spec.name.trim().to_owned(),
        registration: spec.registration,
        audience: spec.audience,
        client_type: spec.client_type,
        redirect_uris,
        scopes,
        disabled: false,
    };
    Ok((app, secret))
}

/// A fresh client secret: 256 random bits behind the `lwc_cs_` prefix.
pub(crate) fn new_client_secret() -> Result<PresentedSecret, AdminError> {
    Ok(PresentedSecret::new(
        PlainToken::from_random_bytes(TokenKind::ClientSecret, random_bytes::<32>()?)
            .expose_secret(),
    ))
}

/// Whether `value` is `host` or `host:port` with a DNS-style host.
fn is_host_with_port(value: &str) -> bool {
    let (host, port) = match value.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (value, None),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    let port_ok = port.is_none_or(|p| {
        p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok_and(|n| n != 0)
    });
    host_ok && port_ok
}

/// Redirect URIs that passed registration.
pub type RedirectUriList = Vec<RedirectUri>;

/// The operator's commands.
#[derive(Debug, Clone)]
pub struct Operator {
    store: Store,
}

impl Operator {
    /// Commands over this store.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Returns the school with this subdomain, creating it when missing.
    pub async fn ensure_school(
        &self,
        subdomain: &str,
        display_name: &str,
    ) -> Result<School, AdminError> {
        let parsed = Subdomain::parse(subdomain)
            .map_err(|_| AdminError::InvalidSubdomain(subdomain.to_owned()))?;
        check_name(display_name)?;
        if let Some(school) = self.store.find_school_by_subdomain(subdomain).await? {
            return Ok(school);
        }
        let id = SchoolId::from_uuid(Uuid::new_v4());
        self.store
            .insert_school(
                NewSchool {
                    id,
                    subdomain: parsed.clone(),
                    display_name: display_name.trim().to_owned(),
                },
                Utc::now(),
            )
            .await?;
        Ok(School {
            id,
            subdomain: parsed,
            display_name: display_name.trim().to_owned(),
        })
    }

    /// Adds a custom domain (host, with port when not the default) to a school.
    /// Hosts in `reserved` (the platform host) and under `reserved_suffix`
    /// (`.{base domain}`, where schools live by subdomain) are refused, so one
    /// school can never take over another's address.
    pub async fn add_domain(
        &self,
        school: SchoolId,
        domain: &str,
        reserved: &str,
        reserved_suffix: &str,
    ) -> Result<(), AdminError> {
        let domain = domain.trim().to_ascii_lowercase();
        if !is_host_with_port(&domain) {
            return Err(AdminError::InvalidDomain(domain));
        }
        if domain == reserved.to_ascii_lowercase()
            || domain.ends_with(&reserved_suffix.to_ascii_lowercase())
        {
            return Err(AdminError::ReservedDomain(domain));
        }
        Ok(self.store.insert_school_domain(school, &domain).await?)
    }

    /// Returns the user with this email, creating them with `password` when
    /// missing. An existing user's password is left as it is.
    pub async fn ensure_user(
        &self,
        email: &str,
        display_name: &str,
        password: &str,
    ) -> Result<UserId, AdminError> {
        let email = email.trim();
        if !email.contains('@') || email.len() > 254 || email.chars().any(char::is_whitespace) {
            return Err(AdminError::InvalidEmail(email.to_owned()));
        }
        check_name(display_name)?;
        if let Some(user) = self.store.find_user_by_email(email).await? {
            return Ok(user.id);
        }
        let password_hash = hash_password(&PresentedSecret::new(password), &random_bytes::<16>()?)?;
        let id = UserId::from_uuid(Uuid::new_v4());
        self.store
            .insert_user(
                NewUser {
                    id,
                    email: email.to_owned(),
                    display_name: display_name.trim().to_owned(),
                    password_hash,
                    is_staff: false,
                },
                Utc::now(),
            )
            .await?;
        Ok(id)
    }

    /// Gives a user a role in a school, replacing any role they had there.
    ///
    /// A user whose new role no longer passes the audience of an application
    /// they authorized in this school loses that grant and its tokens at
    /// once: a demoted manager keeps no `org_admin` access. Returns how many
    /// grants were revoked.
    pub async fn set_role(
        &self,
        user: UserId,
        school: SchoolId,
        role: Role,
    ) -> Result<usize, AdminError> {
        self.store
            .upsert_membership(user, school, role, Utc::now())
            .await?;
        self.revoke_grants_beyond(user, school, Some(role)).await
    }

    /// Takes a user's role in a school away, with every grant they hold there
    /// that needs a role. Returns `None` when they had no role, otherwise how
    /// many grants were revoked.
    pub async fn revoke_role(
        &self,
        user: UserId,
        school: SchoolId,
    ) -> Result<Option<usize>, AdminError> {
        if !self.store.delete_membership(user, school).await? {
            return Ok(None);
        }
        Ok(Some(self.revoke_grants_beyond(user, school, None).await?))
    }

    /// Revokes the user's grants in `school` whose application's audience
    /// `role` no longer passes.
    async fn revoke_grants_beyond(
        &self,
        user: UserId,
        school: SchoolId,
        role: Option<Role>,
    ) -> Result<usize, AdminError> {
        let is_staff = self
            .store
            .find_user(user)
            .await?
            .is_some_and(|u| u.is_staff);
        let meta = oauth_storage::AuditMeta {
            actor: oauth_core::audit::Actor::Operator,
            client_ip: None,
        };
        let mut revoked = 0;
        for (grant, audience) in self.store.user_grant_audiences(user, school).await? {
            if !audience.admits(role, is_staff)
                && self
                    .store
                    .revoke_grant(grant, school, None, meta.clone(), Utc::now())
                    .await?
            {
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    /// Registers an application after checking it against the core rules. A
    /// confidential client gets the given secret, or a fresh random one.
    pub async fn register_application(
        &self,
        spec: ApplicationSpec,
    ) -> Result<Registered, AdminError> {
        self.register(spec, false).await
    }

    /// Registers an application that registered itself (dynamic registration,
    /// a client metadata document): the same rules, and marked as such so
    /// people are told it was not reviewed.
    pub async fn register_self_registered(
        &self,
        spec: ApplicationSpec,
    ) -> Result<Registered, AdminError> {
        self.register(spec, true).await
    }

    async fn register(
        &self,
        spec: ApplicationSpec,
        self_registered: bool,
    ) -> Result<Registered, AdminError> {
        let (app, secret) = prepare(&spec)?;
        self.store
            .insert_application(
                NewApplication {
                    app: app.clone(),
                    secret_hash: secret.as_ref().map(PresentedSecret::hash),
                    may_introspect: spec.may_introspect,
                    created_by: None,
                    self_registered,
                },
                Utc::now(),
            )
            .await?;
        tracing::info!(client.id = %app.client_id, audience = %app.audience, "application registered");
        Ok(Registered { app, secret })
    }

    /// Registers an application unless one with its client id exists already.
    /// Returns whether it was created.
    pub async fn ensure_application(&self, spec: ApplicationSpec) -> Result<bool, AdminError> {
        if let Some(id) = &spec.client_id {
            let client_id =
                ClientId::parse(id).map_err(|_| AdminError::InvalidClientId(id.clone()))?;
            if self.store.find_application(&client_id).await?.is_some() {
                return Ok(false);
            }
        }
        self.register_application(spec).await.map(|_| true)
    }
}

impl Operator {
    /// Replaces a user's password (Argon2id with a fresh salt) and ends their
    /// sessions.
    pub async fn set_password(&self, user: UserId, password: &str) -> Result<(), AdminError> {
        let hash = hash_password(&PresentedSecret::new(password), &random_bytes::<16>()?)?;
        self.store.update_user_password(user, hash).await?;
        Ok(())
    }

    /// Disables an application everywhere and revokes every grant and token it
    /// holds. Returns how many grants were revoked.
    pub async fn disable_application(&self, client_id: &ClientId) -> Result<usize, AdminError> {
        let stored = self
            .store
            .find_application(client_id)
            .await?
            .ok_or_else(|| AdminError::InvalidClientId(client_id.to_string()))?;
        self.store
            .set_application_disabled(client_id, true, Utc::now())
            .await?;
        let meta = oauth_storage::AuditMeta {
            actor: oauth_core::audit::Actor::Operator,
            client_ip: None,
        };
        Ok(self
            .store
            .revoke_all_application_grants(stored.app.id, meta, Utc::now())
            .await?)
    }
}

/// The fields of a client metadata document this server reads.
#[derive(Debug, serde::Deserialize)]
struct MetadataDocument {
    client_id: String,
    client_name: Option<String>,
    redirect_uris: Vec<String>,
    token_endpoint_auth_method: Option<String>,
    scope: Option<String>,
}

impl Operator {
    /// Registers (or updates) the public platform client described by a client
    /// metadata document for `url`, with `audience` and at most `allowed`
    /// scopes. Returns its client id, which is the URL.
    pub async fn register_metadata_document(
        &self,
        url: &str,
        document: &str,
        audience: Audience,
        allowed: &ScopeSet,
    ) -> Result<ClientId, AdminError> {
        let parsed: MetadataDocument = serde_json::from_str(document)
            .map_err(|e| AdminError::InvalidDocument(e.to_string()))?;
        if parsed
            .token_endpoint_auth_method
            .as_deref()
            .is_some_and(|m| m != "none")
        {
            return Err(AdminError::InvalidDocument(
                "only public clients (token_endpoint_auth_method none) are accepted".into(),
            ));
        }
        let scopes = match parsed.scope.as_deref() {
            Some(raw) => ScopeSet::parse_request(raw)?.intersection(allowed),
            None => allowed.clone(),
        };
        let spec = ApplicationSpec {
            client_id: Some(url.to_owned()),
            name: parsed.client_name.unwrap_or_else(|| url.to_owned()),
            registration: Registration::Platform,
            audience,
            client_type: ClientType::Public,
            redirect_uris: parsed.redirect_uris,
            scopes: scopes.to_string(),
            secret: None,
            may_introspect: false,
        };
        let (redirect_uris, scopes) = validate_spec(&spec)?;
        oauth_core::client_metadata::check_document(url, &parsed.client_id, &redirect_uris)
            .map_err(|e| AdminError::InvalidDocument(e.to_string()))?;
        let client_id =
            ClientId::parse(url).map_err(|_| AdminError::InvalidClientId(url.to_owned()))?;
        let updated = self
            .store
            .update_application_metadata(
                &client_id,
                spec.name.clone(),
                redirect_uris,
                scopes,
                Utc::now(),
            )
            .await?;
        if !updated {
            self.register_self_registered(spec).await?;
        }
        Ok(client_id)
    }
}

/// The signing algorithm of ID tokens (RS256 is required for interoperability).
pub const SIGNING_ALGORITHM: &str = "RS256";

impl Operator {
    /// Generates a new RSA signing key and makes it the active one. The
    /// previous key stays published so tokens it signed can still be checked.
    /// Returns the new key id.
    pub async fn rotate_signing_key(&self) -> Result<String, AdminError> {
        let (kid, pem, jwk) = generate_rsa_key()?;
        self.store
            .insert_signing_key(kid.clone(), SIGNING_ALGORITHM, pem, jwk, Utc::now())
            .await?;
        tracing::info!(kid = %kid, "signing key rotated");
        Ok(kid)
    }

    /// Creates a signing key when there is none yet. Returns whether it did.
    pub async fn ensure_signing_key(&self) -> Result<bool, AdminError> {
        if self.store.find_active_signing_key().await?.is_some() {
            return Ok(false);
        }
        self.rotate_signing_key().await.map(|_| true)
    }
}

/// Generates a 2048-bit RSA key: its id, PKCS#8 PEM and public JWK.
fn generate_rsa_key() -> Result<(String, String, String), AdminError> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use rsa::pkcs8::EncodePrivateKey as _;
    use rsa::traits::PublicKeyParts as _;

    let private =
        rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).map_err(|_| AdminError::Random)?;
    let pem = private
        .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
        .map_err(|_| AdminError::Random)?
        .to_string();
    let kid = URL_SAFE_NO_PAD.encode(random_bytes::<12>()?);
    let public = private.to_public_key();
    let jwk = serde_json::json!({
        "kty": "RSA",
        "use": "sig",
        "alg": SIGNING_ALGORITHM,
        "kid": kid,
        "n": URL_SAFE_NO_PAD.encode(public.n_bytes()),
        "e": URL_SAFE_NO_PAD.encode(public.e_bytes()),
    });
    Ok((kid, pem, jwk.to_string()))
}
