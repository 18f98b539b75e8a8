//! Applications (OAuth clients) as the rules see them.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::audience::Audience;
use crate::ids::{ApplicationId, ClientId, SchoolId, ServedAt};
use crate::redirect_uri::{find_match, RedirectUri};
use crate::scope::{allowed_scopes, ScopeSet};
use crate::secret::{PresentedSecret, TokenHash};

/// Who registered an application, which decides where it may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Registration {
    /// Registered in one school's admin; usable only at that school's hosts.
    School(SchoolId),
    /// Registered by the operator for every school (MCP clients, the CLI).
    Platform,
}

/// RFC 6749 §2.1 client types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientType {
    /// Holds a secret and authenticates at the token endpoint.
    Confidential,
    /// Cannot keep a secret: native apps, SPAs, command-line tools.
    Public,
}

impl ClientType {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientType::Confidential => "confidential",
            ClientType::Public => "public",
        }
    }
}

/// A string that names no client type.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown client type; expected confidential or public")]
pub struct UnknownClientType;

impl FromStr for ClientType {
    type Err = UnknownClientType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "confidential" => Ok(ClientType::Confidential),
            "public" => Ok(ClientType::Public),
            _ => Err(UnknownClientType),
        }
    }
}

impl fmt::Display for ClientType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An application, as loaded from storage. The secret's digest stays in storage
/// and never enters this type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// Internal id.
    pub id: ApplicationId,
    /// Public id.
    pub client_id: ClientId,
    /// Shown to people on the consent page.
    pub name: String,
    /// School or platform.
    pub registration: Registration,
    /// Who may authorize it.
    pub audience: Audience,
    /// Confidential or public.
    pub client_type: ClientType,
    /// Exactly the URIs a code may be sent to.
    pub redirect_uris: Vec<RedirectUri>,
    /// The scopes its registration configured.
    pub scopes: ScopeSet,
    /// Disabled applications are treated as unknown.
    pub disabled: bool,
}

impl Application {
    /// Whether a client authenticated as RFC 6749 §2.3.1 asks: a confidential
    /// client with a secret whose digest matches (compared in constant time),
    /// a public client with none. Anything else is `invalid_client`.
    pub fn is_authenticated_by(
        &self,
        presented: Option<&PresentedSecret>,
        stored: Option<&TokenHash>,
    ) -> bool {
        match (self.client_type, presented, stored) {
            (ClientType::Confidential, Some(secret), Some(hash)) => secret.matches_hash(hash),
            (ClientType::Public, None, _) => true,
            _ => false,
        }
    }

    /// Whether this application can be used at a host: a school application only
    /// at its own school's hosts; a platform application everywhere. Disabled
    /// applications nowhere.
    pub fn is_usable_at(&self, served_at: ServedAt) -> bool {
        if self.disabled {
            return false;
        }
        match self.registration {
            Registration::Platform => true,
            Registration::School(own) => served_at == ServedAt::School(own),
        }
    }

    /// The scopes it may receive now, clipped by its audience ceiling.
    pub fn allowed_scopes(&self) -> ScopeSet {
        allowed_scopes(&self.registration, self.audience, &self.scopes)
    }

    /// The registered URI a requested `redirect_uri` matches.
    pub fn registered_redirect(&self, requested: &str) -> Option<&RedirectUri> {
        find_match(&self.redirect_uris, requested)
    }

    /// The school a flow at `served_at` is about before any picker: the
    /// application's own school, or the host's school for a platform
    /// application. `None` on the platform host, where the user picks.
    pub fn contextual_school(&self, served_at: ServedAt) -> Option<SchoolId> {
        match (self.registration, served_at) {
            (Registration::School(own), _) => Some(own),
            (Registration::Platform, ServedAt::School(school)) => Some(school),
            (Registration::Platform, ServedAt::Platform) => None,
        }
    }
}

/// The most characters an application's name may have.
pub const MAX_NAME_CHARS: usize = 200;

/// Whether `name` may be shown to people deciding whether to trust an
/// application: 1 to [`MAX_NAME_CHARS`] characters after trimming, at least
/// one letter or digit, and nothing invisible or misleading (control and
/// format characters such as bidirectional overrides and zero-width marks,
/// line separators, and blank "filler" letters).
///
/// ```
/// use oauth_core::application::is_presentable_name;
/// assert!(is_presentable_name("Grade Sync 2"));
/// assert!(is_presentable_name("成績同步"));
/// assert!(!is_presentable_name("\u{200B}\u{3164}"));
/// assert!(!is_presentable_name("Safe\u{202E}exe.txt"));
/// ```
pub fn is_presentable_name(name: &str) -> bool {
    let invisible = |c: char| {
        c.is_control()
            || matches!(
                c,
                '\u{00AD}'
                    | '\u{061C}'
                    | '\u{115F}'
                    | '\u{1160}'
                    | '\u{180E}'
                    | '\u{200B}'..='\u{200F}'
                    | '\u{2028}'..='\u{202E}'
                    | '\u{2060}'..='\u{2064}'
                    | '\u{2066}'..='\u{206F}'
                    | '\u{2800}'
                    | '\u{3164}'
                    | '\u{FE00}'..='\u{FE0F}'
                    | '\u{FEFF}'
                    | '\u{FFA0}'
                    | '\u{FFF9}'..='\u{FFFB}'
            )
    };
    let length = name.trim().chars().count();
    (1..=MAX_NAME_CHARS).contains(&length)
        && !name.chars().any(invisible)
        && name.chars().any(char::is_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn app(client_type: ClientType) -> Application {
        Application {
            id: ApplicationId::from_uuid(Uuid::nil()),
            client_id: ClientId::parse("app").unwrap(),
            name: "App".into(),
            registration: Registration::Platform,
            audience: Audience::Member,
            client_type,
            redirect_uris: vec![],
            scopes: ScopeSet::new(),
            disabled: false,
        }
    }

    #[test]
    fn client_authentication_table() {
        let secret = PresentedSecret::new("s3cret");
        let right = TokenHash::of("s3cret");
        let wrong = TokenHash::of("other");
        let confidential = app(ClientType::Confidential);
        assert!(confidential.is_authenticated_by(Some(&secret), Some(&right)));
        assert!(!confidential.is_authenticated_by(Some(&secret), Some(&wrong)));
        assert!(!confidential.is_authenticated_by(None, Some(&right)));
        assert!(!confidential.is_authenticated_by(Some(&secret), None));
        let public = app(ClientType::Public);
        assert!(public.is_authenticated_by(None, None));
        assert!(!public.is_authenticated_by(Some(&secret), None));
    }
}
