//! Identifiers. Each is a distinct type, so that a school id can never be passed
//! where a user id is expected.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID that the caller generated or loaded.
            pub fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// The UUID inside.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A school: one tenant, one authorization server.
    SchoolId
);
uuid_id!(
    /// A person who can log in.
    UserId
);
uuid_id!(
    /// The internal id of an application (the public one is its [`ClientId`]).
    ApplicationId
);
uuid_id!(
    /// A consent record: one user, one application, one school.
    GrantId
);

/// Where a request was served, which decides what it may touch.
///
/// Every school host serves exactly one school; the platform host serves the
/// platform issuer, where the school is picked during authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServedAt {
    /// One of the hosts of this school.
    School(SchoolId),
    /// The platform host, which is no school's.
    Platform,
}

/// A client identifier: public, but unguessable when the server generates it.
///
/// It is 1 to 255 visible ASCII characters (RFC 6749 Appendix A.1 allows any
/// `VSCHAR`; we leave out space, quotes and backslash so that ids survive logs,
/// HTML and shells unchanged).
///
/// ```
/// use oauth_core::ClientId;
/// assert!(ClientId::parse("demo-dashboard").is_ok());
/// assert!(ClientId::parse("has space").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(String);

/// Why a string is not a client id.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("a client_id is 1 to 255 visible ASCII characters without quotes or backslashes")]
pub struct InvalidClientId;

impl ClientId {
    /// Checks and wraps a client id.
    pub fn parse(s: &str) -> Result<Self, InvalidClientId> {
        let fits = !s.is_empty()
            && s.len() <= 255
            && s.bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'\\'));
        if fits {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidClientId)
        }
    }

    /// The id as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A school's subdomain: one lower-case DNS label (RFC 1035 §2.3.1).
///
/// ```
/// use oauth_core::Subdomain;
/// assert!(Subdomain::parse("demo").is_ok());
/// assert!(Subdomain::parse("Demo").is_err());
/// assert!(Subdomain::parse("-demo").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subdomain(String);

/// Why a string is not a subdomain.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("a subdomain is 1 to 63 lower-case letters, digits or inner hyphens")]
pub struct InvalidSubdomain;

impl Subdomain {
    /// Checks and wraps a subdomain.
    pub fn parse(s: &str) -> Result<Self, InvalidSubdomain> {
        let fits = (1..=63).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if fits {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidSubdomain)
        }
    }

    /// The label.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Subdomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
