//! Audiences: who may complete authorization into an application.
//!
//! The gate is evaluated against the contextual school alone: a role held in
//! another school never counts.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::application::Registration;
use crate::error::ErrorCode;

/// A user's role in one school.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Runs the school.
    Owner,
    /// Helps run the school.
    Manager,
    /// Teaching assistant.
    Ta,
    /// Learner.
    Student,
}

impl Role {
    /// Every role, for tests and forms.
    pub const ALL: [Role; 4] = [Role::Owner, Role::Manager, Role::Ta, Role::Student];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Manager => "manager",
            Role::Ta => "ta",
            Role::Student => "student",
        }
    }

    /// Whether this role operates the school (the `org_admin` audience).
    pub fn is_school_admin(self) -> bool {
        matches!(self, Role::Owner | Role::Manager)
    }
}

/// A string that names no role.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown role; expected owner, manager, ta or student")]
pub struct UnknownRole;

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(UnknownRole)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who may authorize an application.
///
/// ```
/// use oauth_core::{Audience, Role};
/// assert!(Audience::OrgAdmin.admits(Some(Role::Manager), false));
/// assert!(!Audience::OrgAdmin.admits(Some(Role::Student), false));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// Owners and managers of the contextual school.
    OrgAdmin,
    /// Anyone with a role in the contextual school.
    Member,
    /// Platform staff; only for platform-internal applications.
    Staff,
}

impl Audience {
    /// Every audience.
    pub const ALL: [Audience; 3] = [Audience::OrgAdmin, Audience::Member, Audience::Staff];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::OrgAdmin => "org_admin",
            Audience::Member => "member",
            Audience::Staff => "staff",
        }
    }

    /// Whether a user with `role` in the contextual school (and the given staff
    /// flag) belongs to this audience.
    pub fn admits(self, role: Option<Role>, is_staff: bool) -> bool {
        match self {
            Audience::OrgAdmin => role.is_some_and(Role::is_school_admin),
            Audience::Member => role.is_some(),
            Audience::Staff => is_staff,
        }
    }

    /// Whether an application registered this way may have this audience.
    /// `staff` is for platform-internal applications only.
    pub fn is_allowed_for(self, registration: &Registration) -> bool {
        !(self == Audience::Staff && matches!(registration, Registration::School(_)))
    }
}

/// A string that names no audience.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown audience; expected org_admin, member or staff")]
pub struct UnknownAudience;

impl FromStr for Audience {
    type Err = UnknownAudience;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Audience::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or(UnknownAudience)
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a user may not authorize an application in the contextual school.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum AudienceDenied {
    /// The application is for school administrators and the user is not an owner
    /// or manager of this school.
    #[error("this application is only for owners and managers of the school")]
    NotSchoolAdmin,
    /// The user has no role in this school.
    #[error("this application is only for members of the school")]
    NotMember,
    /// The application is for platform staff.
    #[error("this application is only for platform staff")]
    NotStaff,
}

impl AudienceDenied {
    /// RFC 6749 §4.1.2.1: the resource owner (or policy) denied the request.
    pub fn error_code(self) -> ErrorCode {
        ErrorCode::AccessDenied
    }
}

/// The audience gate: may this user authorize an application of `audience` in
/// the contextual school, where they hold `role` (if any)?
pub fn check_audience(
    audience: Audience,
    role: Option<Role>,
    is_staff: bool,
) -> Result<(), AudienceDenied> {
    if audience.admits(role, is_staff) {
        return Ok(());
    }
    Err(match audience {
        Audience::OrgAdmin => AudienceDenied::NotSchoolAdmin,
        Audience::Member => AudienceDenied::NotMember,
        Audience::Staff => AudienceDenied::NotStaff,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_table() {
        use Audience::*;
        use Role::*;
        let cases: &[(Audience, Option<Role>, bool, bool)] = &[
            (OrgAdmin, Some(Owner), false, true),
            (OrgAdmin, Some(Manager), false, true),
            (OrgAdmin, Some(Ta), false, false),
            (OrgAdmin, Some(Student), false, false),
            (OrgAdmin, None, true, false),
            (Member, Some(Student), false, true),
            (Member, Some(Ta), false, true),
            (Member, None, false, false),
            (Member, None, true, false),
            (Staff, None, true, true),
            (Staff, Some(Owner), false, false),
        ];
        for &(audience, role, staff, expected) in cases {
            assert_eq!(
                check_audience(audience, role, staff).is_ok(),
                expected,
                "{audience} {role:?} staff={staff}"
            );
        }
    }

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        for audience in Audience::ALL {
            assert_eq!(audience.as_str().parse::<Audience>(), Ok(audience));
        }
    }
}
