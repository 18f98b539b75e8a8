//! The scope catalogue and the rules over sets of scopes.
//!
//! Every scope the platform knows is listed once, in [`CATALOGUE`]. A scope
//! string outside it is refused wherever it appears: in a request, in an
//! application's configuration, in dynamic registration.

use std::collections::BTreeSet;
use std::fmt;

use thiserror::Error;

use crate::application::Registration;
use crate::audience::Audience;
use crate::error::ErrorCode;

/// What kind of access a scope grants; ceilings are defined over kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScopeKind {
    /// Who the user is: `openid`, `profile`, `email`, `offline_access`.
    Identity,
    /// A school's data, as `family:action`.
    Resource,
    /// Administration of a school.
    Admin,
    /// Named but not yet issuable (`account:*`).
    Reserved,
}

struct Entry {
    name: &'static str,
    kind: ScopeKind,
    description: &'static str,
}

const fn entry(name: &'static str, kind: ScopeKind, description: &'static str) -> Entry {
    Entry {
        name,
        kind,
        description,
    }
}

/// The families of resource scopes; each has a `read` and a `write` action.
pub const RESOURCE_FAMILIES: [&str; 5] = ["courses", "students", "pages", "enrollments", "orders"];

/// Every scope the platform knows, in display order.
const CATALOGUE: &[Entry] = &[
    entry(
        "openid",
        ScopeKind::Identity,
        "Sign you in with your Loopwise account",
    ),
    entry("profile", ScopeKind::Identity, "See your name"),
    entry("email", ScopeKind::Identity, "See your email address"),
    entry(
        "offline_access",
        ScopeKind::Identity,
        "Keep access while you are away",
    ),
    entry(
        "courses:read",
        ScopeKind::Resource,
        "View the school's courses",
    ),
    entry(
        "courses:write",
        ScopeKind::Resource,
        "Create and change the school's courses",
    ),
    entry(
        "students:read",
        ScopeKind::Resource,
        "View the school's students",
    ),
    entry(
        "students:write",
        ScopeKind::Resource,
        "Change the school's student records",
    ),
    entry("pages:read", ScopeKind::Resource, "View the school's pages"),
    entry(
        "pages:write",
        ScopeKind::Resource,
        "Create and change the school's pages",
    ),
    entry("enrollments:read", ScopeKind::Resource, "View enrollments"),
    entry(
        "enrollments:write",
        ScopeKind::Resource,
        "Enroll and unenroll students",
    ),
    entry("orders:read", ScopeKind::Resource, "View orders"),
    entry("orders:write", ScopeKind::Resource, "Change orders"),
    entry(
        "admin:read",
        ScopeKind::Admin,
        "View the school's administration settings",
    ),
    entry(
        "admin:write",
        ScopeKind::Admin,
        "Change the school's administration settings",
    ),
    entry("account:read", ScopeKind::Reserved, "View your account"),
    entry("account:write", ScopeKind::Reserved, "Change your account"),
];

/// One scope of the catalogue.
///
/// ```
/// use oauth_core::Scope;
/// let scope = Scope::parse("courses:read").unwrap();
/// assert_eq!(scope.as_str(), "courses:read");
/// assert!(Scope::parse("courses:delete").is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope(u8);

/// A scope string that the catalogue does not contain.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown scope {0:?}")]
pub struct UnknownScope(pub String);

/// The position of `name` in the catalogue, found at compile time.
const fn catalogue_index(name: &str) -> u8 {
    let wanted = name.as_bytes();
    let mut i = 0;
    while i < CATALOGUE.len() {
        let candidate = CATALOGUE[i].name.as_bytes();
        if candidate.len() == wanted.len() {
            let mut j = 0;
            while j < wanted.len() && candidate[j] == wanted[j] {
                j += 1;
            }
            if j == wanted.len() {
                assert!(i < 256, "the catalogue holds at most 256 scopes");
                return i as u8;
            }
        }
        i += 1;
    }
    panic!("the scope is not in the catalogue")
}

impl Scope {
    /// `admin:read`: read the school's administration (applications, grants,
    /// audit log) through the admin API.
    pub const ADMIN_READ: Scope = Scope(catalogue_index("admin:read"));
    /// `admin:write`: change the school's administration through the admin API.
    pub const ADMIN_WRITE: Scope = Scope(catalogue_index("admin:write"));

    fn entry(self) -> &'static Entry {
        &CATALOGUE[usize::from(self.0)]
    }

    /// Looks a scope up by its exact name.
    pub fn parse(name: &str) -> Result<Self, UnknownScope> {
        CATALOGUE
            .iter()
            .position(|e| e.name == name)
            .and_then(|i| u8::try_from(i).ok())
            .map(Scope)
            .ok_or_else(|| UnknownScope(name.to_owned()))
    }

    /// Every scope of the catalogue.
    pub fn all() -> impl Iterator<Item = Scope> {
        (0..CATALOGUE.len())
            .filter_map(|i| u8::try_from(i).ok())
            .map(Scope)
    }

    /// The scope's name on the wire.
    pub fn as_str(self) -> &'static str {
        self.entry().name
    }

    /// Its kind.
    pub fn kind(self) -> ScopeKind {
        self.entry().kind
    }

    /// A sentence that tells a person what the scope allows.
    pub fn description(self) -> &'static str {
        self.entry().description
    }

    /// The part before the colon (`courses` for `courses:read`), or the whole name.
    pub fn family(self) -> &'static str {
        let name = self.as_str();
        name.split_once(':').map_or(name, |(family, _)| family)
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes. Order and repetition never matter; subset is the ordering
/// that ceilings and refreshes are defined by.
///
/// ```
/// use oauth_core::ScopeSet;
/// let granted = ScopeSet::parse_request("openid courses:read").unwrap();
/// let asked = ScopeSet::parse_request("courses:read openid openid").unwrap();
/// assert_eq!(granted, asked);
/// assert!(ScopeSet::parse_request("courses:read").unwrap().is_within(&granted));
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet(BTreeSet<Scope>);

/// Why a scope string or set is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScopeError {
    /// A name outside the catalogue.
    #[error(transparent)]
    Unknown(#[from] UnknownScope),
    /// A scope that is named but not yet issuable.
    #[error("the scope `{0}` is reserved and cannot be granted yet")]
    Reserved(Scope),
    /// `admin:*` for an application whose audience is not `org_admin`.
    #[error("the scope `{0}` needs the org_admin audience")]
    AdminNeedsOrgAdmin(Scope),
    /// Above the audience ceiling of a platform application.
    #[error("the scope `{0}` is above what this kind of application may receive")]
    AboveCeiling(Scope),
    /// A request for a scope the application may not receive.
    #[error("the scope `{0}` is not allowed for this application")]
    NotAllowed(Scope),
    /// A refresh asking for more than the grant holds.
    #[error("the scope `{0}` was not granted")]
    Widening(Scope),
    /// A string that is not a space-separated list of scope tokens.
    #[error("the scope parameter is malformed")]
    Malformed,
}

impl ScopeError {
    /// RFC 6749 §4.1.2.1 and §5.2: `invalid_scope` for every scope problem.
    pub fn error_code(&self) -> ErrorCode {
        ErrorCode::InvalidScope
    }
}

impl ScopeSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a `scope` parameter (RFC 6749 §3.3): names separated by spaces.
    /// Unknown names are refused; order and duplicates do not matter.
    pub fn parse_request(s: &str) -> Result<Self, ScopeError> {
        if s.chars().any(|c| c.is_whitespace() && c != ' ') {
            return Err(ScopeError::Malformed);
        }
        s.split(' ')
            .filter(|name| !name.is_empty())
            .map(|name| Scope::parse(name).map_err(ScopeError::from))
            .collect()
    }

    /// Parses an application's configured scopes, where `family:*` stands for
    /// every action of that family.
    pub fn parse_config(s: &str) -> Result<Self, ScopeError> {
        let mut set = ScopeSet::new();
        for name in s.split_whitespace() {
            match name.strip_suffix(":*") {
                Some(family) => {
                    let members: Vec<Scope> = Scope::all()
                        .filter(|sc| sc.family() == family && sc.as_str().contains(':'))
                        .collect();
                    if members.is_empty() {
                        return Err(UnknownScope(name.to_owned()).into());
                    }
                    set.0.extend(members);
                }
                None => {
                    set.0.insert(Scope::parse(name)?);
                }
            }
        }
        Ok(set)
    }

    /// Whether every scope here is also in `other`.
    pub fn is_within(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The scopes in both sets.
    pub fn intersection(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet(self.0.intersection(&other.0).copied().collect())
    }

    /// The scopes in either set.
    pub fn union(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet(self.0.union(&other.0).copied().collect())
    }

    /// The scopes here that are not in `other`.
    pub fn difference(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet(self.0.difference(&other.0).copied().collect())
    }

    /// Narrows this set to `requested`, which must lie within it
    /// (RFC 6749 §6: a refresh may narrow the scope, never widen it).
    pub fn narrow_to(&self, requested: &ScopeSet) -> Result<ScopeSet, ScopeError> {
        match requested.0.difference(&self.0).next() {
            Some(&extra) => Err(ScopeError::Widening(extra)),
            None => Ok(requested.clone()),
        }
    }

    /// Whether the set holds this scope.
    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The scopes, in catalogue order.
    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    /// Keeps only the scopes of the given kinds.
    pub fn of_kinds(&self, kinds: &[ScopeKind]) -> ScopeSet {
        self.iter().filter(|s| kinds.contains(&s.kind())).collect()
    }

    /// Every issuable scope of the given kinds.
    pub fn catalogue_of(kinds: &[ScopeKind]) -> ScopeSet {
        Scope::all().filter(|s| kinds.contains(&s.kind())).collect()
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        ScopeSet(iter.into_iter().collect())
    }
}

impl fmt::Display for ScopeSet {
    /// The space-separated form used on the wire and in storage, in catalogue order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for scope in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
            first = false;
        }
        Ok(())
    }
}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ScopeSet({self})")
    }
}

/// The most a platform application of this audience may ever receive
/// (SPEC: `org_admin` gets identity and resource scopes but never `admin:*`,
/// `member` gets identity scopes only, `staff` anything issuable).
pub fn audience_ceiling(audience: Audience) -> ScopeSet {
    match audience {
        Audience::OrgAdmin => ScopeSet::catalogue_of(&[ScopeKind::Identity, ScopeKind::Resource]),
        Audience::Member => ScopeSet::catalogue_of(&[ScopeKind::Identity]),
        Audience::Staff => {
            ScopeSet::catalogue_of(&[ScopeKind::Identity, ScopeKind::Resource, ScopeKind::Admin])
        }
    }
}

/// Validates the scopes an application is being registered or edited with.
///
/// Reserved scopes are refused for everyone. Platform applications must stay
/// within their audience ceiling. School applications get what their admin
/// chose, except `admin:*`, which needs the `org_admin` audience.
pub fn validate_registration_scopes(
    registration: &Registration,
    audience: Audience,
    scopes: &ScopeSet,
) -> Result<(), ScopeError> {
    if let Some(reserved) = scopes.iter().find(|s| s.kind() == ScopeKind::Reserved) {
        return Err(ScopeError::Reserved(reserved));
    }
    match registration {
        Registration::Platform => {
            match scopes.difference(&audience_ceiling(audience)).iter().next() {
                Some(above) => Err(ScopeError::AboveCeiling(above)),
                None => Ok(()),
            }
        }
        Registration::School(_) => match scopes.iter().find(|s| s.kind() == ScopeKind::Admin) {
            Some(admin) if audience != Audience::OrgAdmin => {
                Err(ScopeError::AdminNeedsOrgAdmin(admin))
            }
            _ => Ok(()),
        },
    }
}

/// The scopes an application may receive right now: its configured scopes,
/// clipped again by the same rules as at registration, so that a configuration
/// that drifted (edited in the database, say) still never yields more.
pub fn allowed_scopes(
    registration: &Registration,
    audience: Audience,
    configured: &ScopeSet,
) -> ScopeSet {
    let issuable =
        configured.of_kinds(&[ScopeKind::Identity, ScopeKind::Resource, ScopeKind::Admin]);
    match registration {
        Registration::Platform => issuable.intersection(&audience_ceiling(audience)),
        Registration::School(_) if audience == Audience::OrgAdmin => issuable,
        Registration::School(_) => issuable.of_kinds(&[ScopeKind::Identity, ScopeKind::Resource]),
    }
}

/// Decides the scopes of an authorization request: all of them must be allowed;
/// an omitted or empty `scope` means the application's allowed set.
pub fn decide_requested_scopes(
    requested: Option<&str>,
    allowed: &ScopeSet,
) -> Result<ScopeSet, ScopeError> {
    let Some(requested) = requested else {
        return Ok(allowed.clone());
    };
    let requested = ScopeSet::parse_request(requested)?;
    if requested.is_empty() {
        return Ok(allowed.clone());
    }
    match requested.difference(allowed).iter().next() {
        Some(extra) => Err(ScopeError::NotAllowed(extra)),
        None => Ok(requested),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::SchoolId;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn set(s: &str) -> ScopeSet {
        ScopeSet::parse_config(s).unwrap()
    }

    fn school() -> Registration {
        Registration::School(SchoolId::from_uuid(Uuid::nil()))
    }

    #[test]
    fn family_wildcard_expands_to_every_action() {
        assert_eq!(set("courses:*"), set("courses:read courses:write"));
        assert!(ScopeSet::parse_config("nothing:*").is_err());
        assert!(ScopeSet::parse_config("openid:*").is_err());
    }

    #[test]
    fn request_refuses_unknown_and_wildcards() {
        assert!(ScopeSet::parse_request("courses:*").is_err());
        assert!(ScopeSet::parse_request("openid\tprofile").is_err());
        assert!(ScopeSet::parse_request("Openid").is_err());
    }

    #[test]
    fn registration_rules() {
        let check = |reg: &Registration, aud, scopes: &str| {
            validate_registration_scopes(reg, aud, &set(scopes))
        };
        use Audience::*;
        assert!(check(
            &Registration::Platform,
            OrgAdmin,
            "openid courses:* students:*"
        )
        .is_ok());
        assert!(matches!(
            check(&Registration::Platform, OrgAdmin, "admin:read"),
            Err(ScopeError::AboveCeiling(_))
        ));
        assert!(matches!(
            check(&Registration::Platform, Member, "courses:read"),
            Err(ScopeError::AboveCeiling(_))
        ));
        assert!(check(&Registration::Platform, Staff, "admin:write courses:read").is_ok());
        assert!(matches!(
            check(&Registration::Platform, Staff, "account:read"),
            Err(ScopeError::Reserved(_))
        ));
        assert!(check(&school(), Member, "openid courses:read").is_ok());
        assert!(matches!(
            check(&school(), Member, "admin:read"),
            Err(ScopeError::AdminNeedsOrgAdmin(_))
        ));
        assert!(check(&school(), OrgAdmin, "admin:read").is_ok());
        assert!(matches!(
            check(&school(), OrgAdmin, "account:write"),
            Err(ScopeError::Reserved(_))
        ));
    }

    #[test]
    fn drifted_configuration_is_clipped() {
        let drifted = set("openid admin:write courses:read account:read");
        assert_eq!(
            allowed_scopes(&Registration::Platform, Audience::OrgAdmin, &drifted),
            set("openid courses:read")
        );
        assert_eq!(
            allowed_scopes(&Registration::Platform, Audience::Member, &drifted),
            set("openid")
        );
        assert_eq!(
            allowed_scopes(&school(), Audience::Member, &drifted),
            set("openid courses:read")
        );
        assert_eq!(
            allowed_scopes(&school(), Audience::OrgAdmin, &drifted),
            set("openid admin:write courses:read")
        );
    }

    #[test]
    fn omitted_scope_means_the_allowed_set() {
        let allowed = set("openid courses:read");
        assert_eq!(decide_requested_scopes(None, &allowed), Ok(allowed.clone()));
        assert_eq!(
            decide_requested_scopes(Some(""), &allowed),
            Ok(allowed.clone())
        );
        assert_eq!(
            decide_requested_scopes(Some("courses:read"), &allowed),
            Ok(set("courses:read"))
        );
        assert!(matches!(
            decide_requested_scopes(Some("courses:write"), &allowed),
            Err(ScopeError::NotAllowed(_))
        ));
        assert!(matches!(
            decide_requested_scopes(Some("bogus"), &allowed),
            Err(ScopeError::Unknown(_))
        ));
    }

    fn any_scope() -> impl Strategy<Value = Scope> {
        (0..CATALOGUE.len()).prop_map(|i| Scope(u8::try_from(i).unwrap()))
    }

    fn any_set() -> impl Strategy<Value = ScopeSet> {
        prop::collection::vec(any_scope(), 0..8).prop_map(|v| v.into_iter().collect())
    }

    fn any_audience() -> impl Strategy<Value = Audience> {
        prop::sample::select(Audience::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn parsing_ignores_order_and_duplicates(names in prop::collection::vec(any_scope(), 0..10), seed in any::<u64>()) {
            let forward: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
            let mut shuffled = forward.clone();
            // A cheap deterministic shuffle plus duplication, driven by the seed.
            let len = shuffled.len();
            shuffled.rotate_left(usize::try_from(seed % 10).unwrap().min(len));
            shuffled.extend(forward.iter().step_by(2));
            let a = ScopeSet::parse_request(&forward.join(" ")).unwrap();
            let b = ScopeSet::parse_request(&shuffled.join("  ")).unwrap();
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(ScopeSet::parse_request(&a.to_string()).unwrap(), a);
        }

        #[test]
        fn narrowing_never_widens(held in any_set(), requested in any_set()) {
            match held.narrow_to(&requested) {
                Ok(narrowed) => {
                    prop_assert!(narrowed.is_within(&held));
                    prop_assert_eq!(narrowed, requested);
                }
                Err(_) => prop_assert!(!requested.is_within(&held)),
            }
        }

        #[test]
        fn allowed_is_never_above_the_platform_ceiling(audience in any_audience(), configured in any_set()) {
            let allowed = allowed_scopes(&Registration::Platform, audience, &configured);
            prop_assert!(allowed.is_within(&audience_ceiling(audience)));
            prop_assert!(allowed.is_within(&configured));
        }

        #[test]
        fn school_apps_never_get_reserved_or_unearned_admin(audience in any_audience(), configured in any_set()) {
            let allowed = allowed_scopes(&school(), audience, &configured);
            prop_assert!(allowed.iter().all(|s| s.kind() != ScopeKind::Reserved));
            if audience != Audience::OrgAdmin {
                prop_assert!(allowed.iter().all(|s| s.kind() != ScopeKind::Admin));
            }
        }

        #[test]
        fn requests_stay_within_allowed(allowed in any_set(), requested in any_set()) {
            if let Ok(granted) = decide_requested_scopes(Some(&requested.to_string()), &allowed) {
                prop_assert!(granted.is_within(&allowed));
            }
        }
    }
}
