//! The rules of Loopwise Connect, as pure functions over plain values.
//!
//! This crate owns the vocabulary of the authorization server (schools, clients,
//! redirect URIs, scopes, audiences, PKCE, tokens) and every decision the server
//! makes with it: whether a redirect URI is registered, whether a verifier matches
//! its challenge, whether a user passes an application's audience in a school,
//! which scopes an application may ever receive, and whether a code or refresh
//! token may be redeemed by this client at this host.
//!
//! It may depend only on small, IO-free crates (hashing, encoding, time values,
//! error derivation). It must never read the clock, the network, the file system,
//! the database or the system's randomness: decisions take `now` and any random
//! bytes as arguments, so that every rule can be tested exhaustively. It does not
//! log either; it returns reasons, and the outer layers record them.

pub mod access;
pub mod admin;
pub mod application;
pub mod audience;
pub mod audit;
pub mod authorize;
pub mod client_metadata;
pub mod error;
pub mod id_token;
pub mod ids;
pub mod introspection;
pub mod metadata;
pub mod params;
pub mod password;
pub mod pkce;
pub mod redirect_uri;
pub mod resource;
pub mod scope;
pub mod secret;
pub mod token;

pub use application::{Application, ClientType, Registration};
pub use audience::{Audience, AudienceDenied, Role};
pub use error::ErrorCode;
pub use ids::{ApplicationId, ClientId, GrantId, SchoolId, ServedAt, Subdomain, UserId};
pub use pkce::{CodeChallenge, CodeVerifier};
pub use redirect_uri::RedirectUri;
pub use scope::{Scope, ScopeSet};
pub use secret::{PlainToken, PresentedSecret, TokenHash, TokenKind};
