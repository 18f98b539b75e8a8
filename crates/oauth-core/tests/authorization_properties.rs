//! Properties of the whole authorization decision, composed from the same core
//! functions the HTTP layer calls: validation, contextual school, audience
//! gate, and the scopes a token is issued with.

#![expect(clippy::unwrap_used, reason = "fixtures are valid by construction")]

use oauth_core::application::{Application, ClientType, Registration};
use oauth_core::audience::{Audience, Role};
use oauth_core::authorize::{check_user, contextual_school, eligible_schools, validate};
use oauth_core::ids::{ApplicationId, ClientId, SchoolId, ServedAt};
use oauth_core::params::Params;
use oauth_core::redirect_uri::RedirectUri;
use oauth_core::scope::{audience_ceiling, Scope, ScopeKind, ScopeSet};
use oauth_core::token::{scopes_to_issue, Binding};
use proptest::prelude::*;
use uuid::Uuid;

const SCHOOLS: usize = 3;
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn school(i: usize) -> SchoolId {
    SchoolId::from_uuid(Uuid::from_u128(1 + i as u128))
}

fn any_scopes() -> impl Strategy<Value = ScopeSet> {
    let all: Vec<Scope> = Scope::all().collect();
    prop::sample::subsequence(all.clone(), 0..all.len()).prop_map(|v| v.into_iter().collect())
}

fn any_role() -> impl Strategy<Value = Option<Role>> {
    prop::option::of(prop::sample::select(Role::ALL.to_vec()))
}

#[derive(Debug, Clone)]
struct World {
    app: Application,
    roles: Vec<Option<Role>>,
    is_staff: bool,
    served_at: ServedAt,
    picked: Option<SchoolId>,
    pick_index: usize,
    requested: Option<ScopeSet>,
}

prop_compose! {
    fn any_world()(
        registration in prop_oneof![Just(None), (0..SCHOOLS).prop_map(Some)],
        audience in prop::sample::select(Audience::ALL.to_vec()),
        configured in any_scopes(),
        roles in prop::collection::vec(any_role(), SCHOOLS),
        is_staff in any::<bool>(),
        served in prop_oneof![Just(None), (0..SCHOOLS).prop_map(Some)],
        picked in prop::option::of(0..SCHOOLS),
        pick_index in 0..SCHOOLS,
        requested in prop::option::of(any_scopes()),
    ) -> World {
        let app = Application {
            id: ApplicationId::from_uuid(Uuid::from_u128(99)),
            client_id: ClientId::parse("app").unwrap(),
            name: "App".into(),
            registration: registration.map_or(Registration::Platform, |i| Registration::School(school(i))),
            audience,
            client_type: ClientType::Public,
            redirect_uris: vec![RedirectUri::register("http://127.0.0.1/cb").unwrap()],
            scopes: configured,
            disabled: false,
        };
        World {
            app,
            roles,
            is_staff,
            served_at: served.map_or(ServedAt::Platform, |i| ServedAt::School(school(i))),
            picked: picked.map(school),
            pick_index,
            requested,
        }
    }
}

fn role_in(world: &World, id: SchoolId) -> Option<Role> {
    (0..SCHOOLS)
        .find(|&i| school(i) == id)
        .and_then(|i| world.roles[i])
}

/// Runs the decision; `None` when no token would be issued.
fn issue(world: &World) -> Option<(SchoolId, ScopeSet, Binding)> {
    let mut pairs = vec![
        ("client_id".to_owned(), "app".to_owned()),
        (
            "redirect_uri".to_owned(),
            "http://127.0.0.1:5000/cb".to_owned(),
        ),
        ("response_type".to_owned(), "code".to_owned()),
        ("code_challenge".to_owned(), CHALLENGE.to_owned()),
        ("code_challenge_method".to_owned(), "S256".to_owned()),
    ];
    if let Some(requested) = &world.requested {
        pairs.push(("scope".to_owned(), requested.to_string()));
    }
    let request = validate(
        &Params::from_pairs(pairs),
        Some(&world.app),
        world.served_at,
    )
    .ok()?;
    let school = match contextual_school(&world.app, world.served_at, world.picked) {
        Some(school) => school,
        None => {
            let memberships: Vec<(SchoolId, Role)> = (0..SCHOOLS)
                .filter_map(|i| world.roles[i].map(|r| (school(i), r)))
                .collect();
            let eligible = eligible_schools(&world.app, &memberships, world.is_staff);
            *eligible.get(world.pick_index % eligible.len().max(1))?
        }
    };
    check_user(&world.app, role_in(world, school), world.is_staff).ok()?;
    Some((
        school,
        scopes_to_issue(&request.scopes, &world.app),
        Binding::new(world.served_at, school),
    ))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn issued_scopes_stay_within_the_allowed_set_and_the_ceiling(world in any_world()) {
        if let Some((_, scopes, _)) = issue(&world) {
            prop_assert!(scopes.is_within(&world.app.allowed_scopes()));
            prop_assert!(scopes.is_within(&world.app.scopes));
            prop_assert!(scopes.iter().all(|s| s.kind() != ScopeKind::Reserved));
            if world.app.registration == Registration::Platform {
                prop_assert!(scopes.is_within(&audience_ceiling(world.app.audience)));
            }
            if let Some(requested) = &world.requested {
                if !requested.is_empty() {
                    prop_assert!(scopes.is_within(requested));
                }
            }
        }
    }

    #[test]
    fn org_admin_tokens_only_for_owners_and_managers_of_the_tokens_school(world in any_world()) {
        if let Some((school, _, _)) = issue(&world) {
            if world.app.audience == Audience::OrgAdmin {
                prop_assert!(role_in(&world, school).is_some_and(Role::is_school_admin));
            }
            if world.app.audience == Audience::Member {
                prop_assert!(role_in(&world, school).is_some());
            }
            if world.app.audience == Audience::Staff {
                prop_assert!(world.is_staff);
            }
        }
    }

    #[test]
    fn the_tokens_school_is_the_contextual_school(world in any_world()) {
        if let Some((school, _, binding)) = issue(&world) {
            prop_assert_eq!(binding.school_id, school);
            prop_assert!(binding.is_usable_at(world.served_at));
            if let ServedAt::School(host_school) = world.served_at {
                prop_assert_eq!(school, host_school);
            }
            if let Registration::School(own) = world.app.registration {
                prop_assert_eq!(school, own);
            }
        }
    }
}

fn school_app(audience: Audience, scopes: ScopeSet) -> Application {
    Application {
        id: ApplicationId::from_uuid(Uuid::from_u128(7)),
        client_id: ClientId::parse("school-app").unwrap(),
        name: "School App".into(),
        registration: Registration::School(school(0)),
        audience,
        client_type: ClientType::Public,
        redirect_uris: vec![],
        scopes,
        disabled: false,
    }
}

proptest! {
    /// An administrative change that is not judged to narrow access keeps
    /// every grant honest: each scope a grant could hold is still allowed,
    /// and everyone the audience admitted is still admitted. Otherwise the
    /// grants are revoked, so no user keeps access the application lost.
    #[test]
    fn changes_that_keep_grants_never_leave_access_behind(
        before_audience in prop::sample::select(vec![Audience::Member, Audience::OrgAdmin]),
        after_audience in prop::sample::select(vec![Audience::Member, Audience::OrgAdmin]),
        before_scopes in any_scopes(),
        after_scopes in any_scopes(),
        granted in any_scopes(),
    ) {
        let before = school_app(before_audience, before_scopes.clone());
        let after = school_app(after_audience, after_scopes.clone());
        if !oauth_core::admin::update_narrows_access(&before, &after) {
            let held = granted.intersection(&before_scopes);
            prop_assert!(held.is_within(&after_scopes));
            for role in Role::ALL.into_iter().map(Some).chain([None]) {
                if before_audience.admits(role, false) {
                    prop_assert!(after_audience.admits(role, false));
                }
            }
        } else {
            let lost_scope = !before_scopes.is_within(&after_scopes);
            let lost_people = Role::ALL
                .into_iter()
                .any(|r| before_audience.admits(Some(r), false) && !after_audience.admits(Some(r), false));
            prop_assert!(lost_scope || lost_people);
        }
    }
}
