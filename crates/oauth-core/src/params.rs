//! Request parameters with the duplicate check of RFC 6749 §3.1 and §3.2.
//!
//! "Request and response parameters MUST NOT be included more than once": a
//! parameter sent twice is an error even when both copies agree, because two
//! components reading the same request could otherwise pick different copies.

use thiserror::Error;

/// The parameters of one request, in the order they arrived.
#[derive(Default, Clone, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl std::fmt::Debug for Params {
    // Parameters carry codes, verifiers and secrets, so only their names are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.pairs.iter().map(|(name, _)| name))
            .finish()
    }
}

/// A parameter that appeared more than once.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("the parameter `{0}` was sent more than once")]
pub struct DuplicateParameter(pub String);

impl Params {
    /// Collects already-decoded name/value pairs.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            pairs: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value of `name`, `None` when it is absent, or an error when it was sent
    /// more than once.
    ///
    /// An empty value counts as absent, as RFC 6749 §3.1 asks ("parameters sent
    /// without a value MUST be treated as if they were omitted").
    pub fn single(&self, name: &str) -> Result<Option<&str>, DuplicateParameter> {
        let mut found = None;
        for (key, value) in &self.pairs {
            if key == name {
                if found.is_some() {
                    return Err(DuplicateParameter(name.to_owned()));
                }
                found = Some(value.as_str());
            }
        }
        Ok(found.filter(|value| !value.is_empty()))
    }

    /// The first parameter of the request that appears more than once, if any.
    /// Linear in the number of parameters, so a request with thousands of
    /// names costs no more than reading it.
    pub fn first_duplicate(&self) -> Option<DuplicateParameter> {
        let mut seen = std::collections::HashSet::with_capacity(self.pairs.len());
        self.pairs
            .iter()
            .find(|(name, _)| !seen.insert(name.as_str()))
            .map(|(name, _)| DuplicateParameter(name.clone()))
    }

    /// Whether a parameter of this name was sent at all, even with an empty value.
    pub fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(key, _)| key == name)
    }

    /// All pairs, in arrival order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_errors_even_when_equal() {
        let params = Params::from_pairs([("scope", "openid"), ("scope", "openid")]);
        assert_eq!(
            params.single("scope"),
            Err(DuplicateParameter("scope".into()))
        );
        assert_eq!(
            params.first_duplicate(),
            Some(DuplicateParameter("scope".into()))
        );
    }

    #[test]
    fn empty_values_count_as_absent() {
        let params = Params::from_pairs([("state", "")]);
        assert_eq!(params.single("state"), Ok(None));
        assert!(params.has("state"));
    }

    #[test]
    fn debug_shows_names_only() {
        let params = Params::from_pairs([("code_verifier", "very-secret")]);
        assert_eq!(format!("{params:?}"), r#"["code_verifier"]"#);
    }
}
