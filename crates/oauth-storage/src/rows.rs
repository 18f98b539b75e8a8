//! Reading stored text back into core types. A value that does not parse is
//! reported as corrupt rather than guessed at.

use std::str::FromStr;

use oauth_core::scope::ScopeSet;
use oauth_core::TokenHash;

use crate::StorageError;

pub(crate) fn parse<T: FromStr>(value: &str, what: &str) -> Result<T, StorageError> {
    value
        .parse()
        .map_err(|_| StorageError::Corrupt(format!("{what} `{value}`")))
}

pub(crate) fn scopes(value: &str) -> Result<ScopeSet, StorageError> {
    ScopeSet::parse_request(value).map_err(|_| StorageError::Corrupt(format!("scopes `{value}`")))
}

pub(crate) fn hash(value: &str) -> Result<TokenHash, StorageError> {
    TokenHash::from_hex(value).ok_or_else(|| StorageError::Corrupt("secret digest".into()))
}
