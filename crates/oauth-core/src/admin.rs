//! Who may administer a school, and what an administrative change to an
//! application does to the access already granted.
//!
//! School administration is open to the school's owners and managers only, in
//! two ways: their browser session at the school's host (writes also carry the
//! session's CSRF token), or a bearer access token issued at that school which
//! carries `admin:read` (to read) or `admin:write` (to change anything). The
//! school is always the one whose host the request reached; a role elsewhere
//! never counts.

use thiserror::Error;

use crate::access::AccessContext;
use crate::application::Application;
use crate::audience::{Audience, Role};
use crate::error::ErrorCode;
use crate::scope::Scope;

/// What an administrative request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAction {
    /// Reads applications, grants or the audit log.
    Read,
    /// Creates, changes, disables or deletes something.
    Write,
}

impl AdminAction {
    /// The scope a bearer token needs for this action.
    pub fn required_scope(self) -> Scope {
        match self {
            AdminAction::Read => Scope::ADMIN_READ,
            AdminAction::Write => Scope::ADMIN_WRITE,
        }
    }
}

/// How the request proved who is asking.
#[derive(Debug, Clone, Copy)]
pub enum AdminCredential<'a> {
    /// A browser session at the school's host; `csrf_valid` tells whether the
    /// request carried that session's CSRF token.
    Session {
        /// The `X-CSRF-Token` header matched the session's token.
        csrf_valid: bool,
    },
    /// An access token that was already found live and issued at this school.
    Bearer(&'a AccessContext),
}

/// Why an administrative request is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AdminRefusal {
    /// The user is not an owner or manager of this school.
    #[error("only owners and managers of this school may do this")]
    NotSchoolAdmin,
    /// A write from a session without the session's CSRF token.
    #[error("the X-CSRF-Token header is missing or wrong")]
    MissingCsrfToken,
    /// A bearer token without the admin scope the action needs.
    #[error("the access token lacks the scope `{0}`")]
    InsufficientScope(Scope),
}

impl AdminRefusal {
    /// The error code to answer with.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            AdminRefusal::NotSchoolAdmin | AdminRefusal::MissingCsrfToken => {
                ErrorCode::AccessDenied
            }
            AdminRefusal::InsufficientScope(_) => ErrorCode::InsufficientScope,
        }
    }
}

/// Decides an administrative request of a user whose role in the host's
/// school is `role`.
///
/// A token is judged by its scope first, so that a client learns which scope
/// to ask for; the live role is checked in every case, because a token
/// outlives a demotion.
pub fn authorize_admin(
    role: Option<Role>,
    credential: AdminCredential<'_>,
    action: AdminAction,
) -> Result<(), AdminRefusal> {
    match credential {
        AdminCredential::Bearer(access) => {
            let needed = action.required_scope();
            if !access.scopes.contains(needed) {
                return Err(AdminRefusal::InsufficientScope(needed));
            }
        }
        AdminCredential::Session { csrf_valid } => {
            if !role.is_some_and(Role::is_school_admin) {
                return Err(AdminRefusal::NotSchoolAdmin);
            }
            if action == AdminAction::Write && !csrf_valid {
                return Err(AdminRefusal::MissingCsrfToken);
            }
        }
    }
    if role.is_some_and(Role::is_school_admin) {
        Ok(())
    } else {
        Err(AdminRefusal::NotSchoolAdmin)
    }
}

/// Whether changing `before` into `after` takes away something that existing
/// grants rely on: a scope removed, or an audience that admits fewer people.
/// Such a change revokes the application's grants, so that nobody keeps access
/// the application no longer has (users consent again on their next sign-in).
pub fn update_narrows_access(before: &Application, after: &Application) -> bool {
    let scopes_removed = !before.scopes.is_within(&after.scopes);
    let audience_stricter = audience_rank(after.audience) > audience_rank(before.audience);
    scopes_removed || audience_stricter
}

/// Orders school audiences from the widest to the narrowest. `staff` is never
/// a school application's audience and ranks as the narrowest.
fn audience_rank(audience: Audience) -> u8 {
    match audience {
        Audience::Member => 0,
        Audience::OrgAdmin => 1,
        Audience::Staff => 2,
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use uuid::Uuid;

    use super::*;
    use crate::application::{ClientType, Registration};
    use crate::ids::{ApplicationId, ClientId, SchoolId, UserId};
    use crate::scope::ScopeSet;

    fn context(scopes: &str) -> AccessContext {
        AccessContext {
            school_id: SchoolId::from_uuid(Uuid::nil()),
            user_id: UserId::from_uuid(Uuid::nil()),
            client_id: ClientId::parse("admin-tool").unwrap(),
            scopes: ScopeSet::parse_request(scopes).unwrap(),
            resource: None,
            expires_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        }
    }

    fn app(audience: Audience, scopes: &str) -> Application {
        Application {
            id: ApplicationId::from_uuid(Uuid::nil()),
            client_id: ClientId::parse("app").unwrap(),
            name: "App".into(),
            registration: Registration::School(SchoolId::from_uuid(Uuid::nil())),
            audience,
            client_type: ClientType::Public,
            redirect_uris: vec![],
            scopes: ScopeSet::parse_config(scopes).unwrap(),
            disabled: false,
        }
    }

    #[test]
    fn sessions_need_an_admin_role_and_csrf_for_writes() {
        let session = |csrf_valid| AdminCredential::Session { csrf_valid };
        for role in Role::ALL {
            for action in [AdminAction::Read, AdminAction::Write] {
                for csrf in [false, true] {
                    let expected = if !role.is_school_admin() {
                        Err(AdminRefusal::NotSchoolAdmin)
                    } else if action == AdminAction::Write && !csrf {
                        Err(AdminRefusal::MissingCsrfToken)
                    } else {
                        Ok(())
                    };
                    assert_eq!(authorize_admin(Some(role), session(csrf), action), expected);
                }
            }
        }
        assert_eq!(
            authorize_admin(None, session(true), AdminAction::Read),
            Err(AdminRefusal::NotSchoolAdmin)
        );
    }

    #[test]
    fn tokens_need_the_scope_of_the_action_and_a_live_admin_role() {
        let read = context("openid admin:read");
        let write = context("admin:write");
        let none = context("openid courses:read");
        let owner = Some(Role::Owner);
        let bearer = AdminCredential::Bearer;
        assert_eq!(
            authorize_admin(owner, bearer(&read), AdminAction::Read),
            Ok(())
        );
        assert_eq!(
            authorize_admin(owner, bearer(&read), AdminAction::Write),
            Err(AdminRefusal::InsufficientScope(Scope::ADMIN_WRITE))
        );
        assert_eq!(
            authorize_admin(owner, bearer(&write), AdminAction::Write),
            Ok(())
        );
        // Write does not imply read: each action names its own scope.
        assert_eq!(
            authorize_admin(owner, bearer(&write), AdminAction::Read),
            Err(AdminRefusal::InsufficientScope(Scope::ADMIN_READ))
        );
        assert_eq!(
            authorize_admin(owner, bearer(&none), AdminAction::Read),
            Err(AdminRefusal::InsufficientScope(Scope::ADMIN_READ))
        );
        // A token outlives a demotion; the role is checked live.
        assert_eq!(
            authorize_admin(Some(Role::Student), bearer(&read), AdminAction::Read),
            Err(AdminRefusal::NotSchoolAdmin)
        );
        assert_eq!(
            authorize_admin(None, bearer(&write), AdminAction::Write),
            Err(AdminRefusal::NotSchoolAdmin)
        );
    }

    #[test]
    fn insufficient_scope_has_its_own_code() {
        assert_eq!(
            AdminRefusal::InsufficientScope(Scope::ADMIN_READ).error_code(),
            ErrorCode::InsufficientScope
        );
        assert_eq!(
            AdminRefusal::NotSchoolAdmin.error_code(),
            ErrorCode::AccessDenied
        );
    }

    #[test]
    fn removing_scopes_or_tightening_the_audience_narrows_access() {
        let base = app(Audience::Member, "openid courses:read");
        assert!(!update_narrows_access(&base, &base));
        assert!(!update_narrows_access(
            &base,
            &app(Audience::Member, "openid courses:read courses:write")
        ));
        assert!(update_narrows_access(
            &base,
            &app(Audience::Member, "openid")
        ));
        assert!(update_narrows_access(
            &base,
            &app(Audience::OrgAdmin, "openid courses:read")
        ));
        assert!(!update_narrows_access(
            &app(Audience::OrgAdmin, "openid"),
            &app(Audience::Member, "openid")
        ));
    }
}
