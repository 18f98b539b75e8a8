//! Token introspection (RFC 7662) and revocation (RFC 7009) decisions.

use chrono::{DateTime, Utc};

use crate::access::{check_access_token, AccessTokenRecord};
use crate::application::{Application, ClientType, Registration};
use crate::ids::{SchoolId, ServedAt};
use crate::token::{is_unexpired, RefreshRecord};

/// The school whose tokens `caller` may introspect at `served_at`, if any: a
/// confidential application of that school, allowed to introspect, calling at
/// one of the school's hosts. Everyone else learns only `{"active": false}`.
pub fn introspection_school(
    caller: &Application,
    may_introspect: bool,
    served_at: ServedAt,
) -> Option<SchoolId> {
    match (caller.registration, served_at) {
        (Registration::School(own), ServedAt::School(host))
            if own == host
                && may_introspect
                && caller.client_type == ClientType::Confidential
                && !caller.disabled =>
        {
            Some(own)
        }
        _ => None,
    }
}

/// Whether an access token is active for an introspection in `school`.
pub fn is_access_token_active(
    token: &AccessTokenRecord,
    school: SchoolId,
    now: DateTime<Utc>,
) -> bool {
    check_access_token(Some(token), school, now).is_ok()
}

/// Whether a refresh token is active for an introspection in `school`: of that
/// school, not rotated, not revoked, not expired.
pub fn is_refresh_token_active(
    token: &RefreshRecord,
    school: SchoolId,
    now: DateTime<Utc>,
) -> bool {
    token.binding.school_id == school
        && token.rotated_at.is_none()
        && !token.revoked
        && is_unexpired(token.expires_at, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audience::Audience;
    use crate::ids::{ApplicationId, ClientId};
    use crate::scope::ScopeSet;
    use uuid::Uuid;

    fn school(n: u128) -> SchoolId {
        SchoolId::from_uuid(Uuid::from_u128(n))
    }

    fn caller(registration: Registration, client_type: ClientType) -> Application {
        Application {
            id: ApplicationId::from_uuid(Uuid::from_u128(7)),
            client_id: ClientId::parse("rs").unwrap(),
            name: "Resource server".into(),
            registration,
            audience: Audience::Member,
            client_type,
            redirect_uris: vec![],
            scopes: ScopeSet::new(),
            disabled: false,
        }
    }

    #[test]
    fn only_allowed_confidential_callers_of_the_host_school_introspect() {
        let mine = caller(Registration::School(school(1)), ClientType::Confidential);
        assert_eq!(
            introspection_school(&mine, true, ServedAt::School(school(1))),
            Some(school(1))
        );
        assert_eq!(
            introspection_school(&mine, false, ServedAt::School(school(1))),
            None
        );
        assert_eq!(
            introspection_school(&mine, true, ServedAt::School(school(2))),
            None
        );
        assert_eq!(introspection_school(&mine, true, ServedAt::Platform), None);
        let public = caller(Registration::School(school(1)), ClientType::Public);
        assert_eq!(
            introspection_school(&public, true, ServedAt::School(school(1))),
            None
        );
        let platform = caller(Registration::Platform, ClientType::Confidential);
        assert_eq!(
            introspection_school(&platform, true, ServedAt::School(school(1))),
            None
        );
    }
}
