//! Localization of what people read: the languages pages are offered in, the
//! choice between them, and one Project Fluent catalogue per language.
//!
//! The catalogues (`locales/{en,zh-TW}/main.ftl`) are compiled into the binary.
//! They hold every text of the pages, the plain-words descriptions of the scope
//! catalogue, and the page wording of the reasons `oauth-core` gives. The core
//! stays free of localization: it returns reasons as values, and this module
//! names them in each language.
//!
//! Only pages are localized. OAuth error codes, and the `error_description` of
//! redirects and JSON answers, are read by programs and stay in English as the
//! RFCs spell them.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use oauth_core::admin::AdminRefusal;
use oauth_core::authorize::PageError;
use oauth_core::scope::ScopeKind;
use oauth_core::{AudienceDenied, Scope};
use unic_langid::LanguageIdentifier;

/// A language the pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    /// English, the default.
    En,
    /// Traditional Chinese as written in Taiwan.
    ZhTw,
}

impl Locale {
    /// Every language, in the order the language switch lists them.
    pub const ALL: [Locale; 2] = [Locale::En, Locale::ZhTw];

    /// The BCP 47 tag (`lang` attribute, `Content-Language`, the cookie).
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::ZhTw => "zh-TW",
        }
    }

    /// The language's name in itself, for the language switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::ZhTw => "繁體中文",
        }
    }

    /// A tag as stored in the language cookie; exact up to letter case.
    pub fn from_tag(tag: &str) -> Option<Locale> {
        Locale::ALL
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(tag.trim()))
    }

    /// The best language for an `Accept-Language` header (RFC 9110 §12.5.4):
    /// the acceptable range with the highest weight that one of ours matches,
    /// English when none does. Every `zh` range is answered in Traditional
    /// Chinese, the only Chinese the pages are written in.
    pub fn negotiate(accept_language: Option<&str>) -> Locale {
        let Some(header) = accept_language else {
            return Locale::En;
        };
        let mut ranges: Vec<(u16, Locale)> = header
            .split(',')
            .filter_map(|item| {
                let mut parts = item.split(';');
                let range = parts.next()?.trim();
                let weight = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1000), parse_weight)?;
                let locale = Self::matching(range)?;
                (weight > 0).then_some((weight, locale))
            })
            .collect();
        // A stable sort keeps the header's order among equal weights.
        ranges.sort_by_key(|&(weight, _)| std::cmp::Reverse(weight));
        ranges.first().map_or(Locale::En, |(_, locale)| *locale)
    }

    fn matching(range: &str) -> Option<Locale> {
        let id: LanguageIdentifier = range.parse().ok()?;
        match id.language.as_str() {
            "en" => Some(Locale::En),
            "zh" => Some(Locale::ZhTw),
            _ => None,
        }
    }

    fn langid(self) -> LanguageIdentifier {
        // Our own tags always parse; the default (undetermined) is never used.
        self.tag().parse().unwrap_or_default()
    }

    fn source(self) -> &'static str {
        match self {
            Locale::En => include_str!("../locales/en/main.ftl"),
            Locale::ZhTw => include_str!("../locales/zh-TW/main.ftl"),
        }
    }
}

/// A `q` value in thousandths; `None` when malformed (the range is skipped).
fn parse_weight(q: &str) -> Option<u16> {
    let value: f32 = q.trim().parse().ok()?;
    (0.0..=1.0)
        .contains(&value)
        .then(|| (value * 1000.0).round() as u16)
}

/// A message of the catalogue and the values it is filled with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    id: &'static str,
    args: Vec<(&'static str, String)>,
}

impl Msg {
    /// The message `id` without arguments.
    pub fn new(id: &'static str) -> Self {
        Self {
            id,
            args: Vec::new(),
        }
    }

    /// Adds the argument `$name`.
    pub fn arg(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.args.push((name, value.into()));
        self
    }
}

/// The message id that describes `scope` in plain words.
pub fn scope_message_id(scope: Scope) -> String {
    format!("scope-{}", scope.as_str().replace(':', "-"))
}

/// The message id of the group a scope is listed under on the consent page:
/// every identity scope under "about you", the others under their family.
pub fn scope_group_id(scope: Scope) -> String {
    match scope.kind() {
        ScopeKind::Identity => "scope-group-identity".to_owned(),
        ScopeKind::Resource | ScopeKind::Admin | ScopeKind::Reserved => {
            format!("scope-group-{}", scope.family())
        }
    }
}

/// How a page words a request that must not be redirected.
pub fn page_error_message(error: &PageError) -> Msg {
    match error {
        PageError::Duplicate(parameter) => {
            Msg::new("error-duplicate-parameter").arg("name", parameter.0.clone())
        }
        PageError::ClientIdMissing => Msg::new("error-client-id-missing"),
        PageError::UnknownClient => Msg::new("error-unknown-client"),
        PageError::RedirectUriMissing => Msg::new("error-redirect-uri-missing"),
        PageError::RedirectUriNotRegistered => Msg::new("error-redirect-uri-not-registered"),
    }
}

/// How a page words the audience gate's refusal in `school`.
pub fn audience_message(denied: AudienceDenied, school: &str) -> Msg {
    match denied {
        AudienceDenied::NotSchoolAdmin => Msg::new("denied-not-school-admin"),
        AudienceDenied::NotMember => Msg::new("denied-not-member"),
        AudienceDenied::NotStaff => Msg::new("denied-not-staff"),
    }
    .arg("school", school)
}

/// How a page words the refusal of an administration request.
pub fn admin_refusal_message(refusal: &AdminRefusal) -> Msg {
    match refusal {
        AdminRefusal::NotSchoolAdmin => Msg::new("error-admin-not-school-admin"),
        AdminRefusal::MissingCsrfToken => Msg::new("error-admin-forged"),
        AdminRefusal::InsufficientScope(scope) => {
            Msg::new("error-admin-insufficient-scope").arg("scope", scope.as_str())
        }
    }
}

/// One Fluent bundle per language. Bundles are the thread-safe kind, shared by
/// every worker.
pub struct Catalogue {
    bundles: Vec<(Locale, FluentBundle<FluentResource>)>,
}

impl std::fmt::Debug for Catalogue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalogue").finish_non_exhaustive()
    }
}

impl Default for Catalogue {
    fn default() -> Self {
        Self::new()
    }
}

impl Catalogue {
    /// Loads the catalogues compiled into the binary. They are covered by
    /// tests; a defect found here anyway is logged and the rest still loads.
    pub fn new() -> Self {
        let bundles = Locale::ALL
            .into_iter()
            .map(|locale| {
                let resource = match FluentResource::try_new(locale.source().to_owned()) {
                    Ok(resource) => resource,
                    Err((resource, errors)) => {
                        tracing::error!(locale = locale.tag(), errors = ?errors, "message catalogue does not parse");
                        resource
                    }
                };
                let mut bundle = FluentBundle::new_concurrent(vec![locale.langid()]);
                // Pages are left to right; isolation marks would only get in
                // the way of copying text and of tests.
                bundle.set_use_isolating(false);
                if let Err(errors) = bundle.add_resource(resource) {
                    tracing::error!(locale = locale.tag(), errors = ?errors, "message catalogue has conflicts");
                }
                (locale, bundle)
            })
            .collect();
        Self { bundles }
    }

    fn format(&self, locale: Locale, id: &str, args: &FluentArgs<'_>) -> Option<String> {
        let (_, bundle) = self.bundles.iter().find(|(l, _)| *l == locale)?;
        let pattern = bundle.get_message(id)?.value()?;
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, Some(args), &mut errors);
        if !errors.is_empty() {
            tracing::error!(locale = locale.tag(), message = id, errors = ?errors, "message could not be formatted");
            return None;
        }
        Some(text.into_owned())
    }

    /// Whether `locale` has the message `id`.
    #[cfg(test)]
    pub fn has(&self, locale: Locale, id: &str) -> bool {
        self.bundles
            .iter()
            .any(|(l, bundle)| *l == locale && bundle.has_message(id))
    }

    /// The text of `id` with `args`, in `locale`; in English when that
    /// language lacks it, and the bare id when English does too.
    pub fn text(&self, locale: Locale, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, value.clone());
        }
        self.format(locale, id, &fluent_args)
            .or_else(|| self.format(Locale::En, id, &fluent_args))
            .unwrap_or_else(|| {
                tracing::error!(locale = locale.tag(), message = id, "message missing");
                id.to_owned()
            })
    }

    /// The text of a [`Msg`] in `locale`.
    pub fn message(&self, locale: Locale, msg: &Msg) -> String {
        let args: Vec<(&str, FluentValue<'_>)> = msg
            .args
            .iter()
            .map(|(name, value)| (*name, FluentValue::from(value.as_str())))
            .collect();
        self.text(locale, msg.id, &args)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use oauth_core::params::DuplicateParameter;

    use super::*;

    fn check_negotiation(header: Option<&str>, expected: Locale) {
        assert_eq!(Locale::negotiate(header), expected, "{header:?}");
    }

    #[test]
    fn accept_language_picks_the_heaviest_language_we_have() {
        check_negotiation(None, Locale::En);
        check_negotiation(Some(""), Locale::En);
        check_negotiation(Some("zh-TW"), Locale::ZhTw);
        check_negotiation(Some("zh-Hant-TW,zh;q=0.9,en;q=0.8"), Locale::ZhTw);
        check_negotiation(Some("zh-CN"), Locale::ZhTw);
        check_negotiation(Some("en-US,en;q=0.9,zh-TW;q=0.8"), Locale::En);
        check_negotiation(Some("fr-FR, zh-TW;q=0.5"), Locale::ZhTw);
        check_negotiation(Some("en;q=0.2, zh-tw;q=0.7"), Locale::ZhTw);
        check_negotiation(Some("zh-TW;q=0, en;q=0.1"), Locale::En);
        check_negotiation(Some("de, fr"), Locale::En);
        check_negotiation(Some("*"), Locale::En);
        check_negotiation(Some("zh-TW;q=abc, en"), Locale::En);
        check_negotiation(Some("zh-TW;q=2"), Locale::En);
    }

    #[test]
    fn cookie_tags_are_exact() {
        assert_eq!(Locale::from_tag("zh-TW"), Some(Locale::ZhTw));
        assert_eq!(Locale::from_tag("zh-tw"), Some(Locale::ZhTw));
        assert_eq!(Locale::from_tag("en"), Some(Locale::En));
        assert_eq!(Locale::from_tag("zh"), None);
        assert_eq!(Locale::from_tag("fr"), None);
    }

    /// The message ids a catalogue file defines, read from its text.
    fn ids_of(source: &str) -> BTreeSet<String> {
        source
            .lines()
            .filter(|line| line.starts_with(|c: char| c.is_ascii_alphabetic()))
            .filter_map(|line| line.split_once(" ="))
            .map(|(id, _)| id.trim().to_owned())
            .collect()
    }

    #[test]
    fn catalogues_parse_without_errors() {
        for locale in Locale::ALL {
            assert!(
                FluentResource::try_new(locale.source().to_owned()).is_ok(),
                "{} does not parse",
                locale.tag()
            );
        }
    }

    #[test]
    fn every_message_exists_in_both_languages() {
        let english = ids_of(Locale::En.source());
        assert!(english.len() > 50, "the catalogue was read: {english:?}");
        for locale in Locale::ALL {
            assert_eq!(
                ids_of(locale.source()),
                english,
                "{} defines other ids than English",
                locale.tag()
            );
        }
        let catalogue = Catalogue::new();
        for locale in Locale::ALL {
            for id in &english {
                assert!(catalogue.has(locale, id), "{} lacks {id}", locale.tag());
            }
        }
    }

    #[test]
    fn every_scope_is_described_in_both_languages() {
        let catalogue = Catalogue::new();
        for scope in Scope::all() {
            for locale in Locale::ALL {
                for id in [scope_message_id(scope), scope_group_id(scope)] {
                    assert!(catalogue.has(locale, &id), "{} lacks {id}", locale.tag());
                    assert_ne!(catalogue.text(locale, &id, &[]), id);
                }
            }
        }
        let courses_read = Scope::parse("courses:read").unwrap();
        assert_eq!(
            catalogue.text(Locale::ZhTw, &scope_message_id(courses_read), &[]),
            "檢視學校的課程"
        );
    }

    /// Every id the code or a template names exists in both languages, so a
    /// page never shows a bare id.
    #[test]
    fn every_id_used_by_code_and_templates_exists() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut used = BTreeSet::new();
        for (folder, needle) in [("src", "Msg::new(\""), ("templates", "t(\"")] {
            for entry in std::fs::read_dir(root.join(folder)).unwrap().flatten() {
                let text = std::fs::read_to_string(entry.path()).unwrap();
                for tail in text.split(needle).skip(1) {
                    let id = tail.split('"').next().unwrap();
                    if !id.is_empty() && !id.contains(' ') {
                        used.insert(id.to_owned());
                    }
                }
            }
        }
        assert!(used.contains("login-title"), "ids were found: {used:?}");
        let catalogue = Catalogue::new();
        for id in &used {
            for locale in Locale::ALL {
                assert!(catalogue.has(locale, id), "{} lacks {id}", locale.tag());
            }
        }
    }

    #[test]
    fn core_reasons_have_page_wording_in_both_languages() {
        let catalogue = Catalogue::new();
        let messages = [
            page_error_message(&PageError::Duplicate(DuplicateParameter(
                "client_id".into(),
            ))),
            page_error_message(&PageError::ClientIdMissing),
            page_error_message(&PageError::UnknownClient),
            page_error_message(&PageError::RedirectUriMissing),
            page_error_message(&PageError::RedirectUriNotRegistered),
            audience_message(AudienceDenied::NotSchoolAdmin, "Demo School"),
            audience_message(AudienceDenied::NotMember, "Demo School"),
            audience_message(AudienceDenied::NotStaff, "Demo School"),
            admin_refusal_message(&AdminRefusal::NotSchoolAdmin),
            admin_refusal_message(&AdminRefusal::MissingCsrfToken),
            admin_refusal_message(&AdminRefusal::InsufficientScope(
                Scope::parse("admin:read").unwrap(),
            )),
        ];
        for msg in &messages {
            for locale in Locale::ALL {
                let text = catalogue.message(locale, msg);
                assert!(catalogue.has(locale, msg.id), "{}", msg.id);
                assert!(!text.contains('{'), "{text}");
            }
        }
        assert_eq!(
            catalogue.message(Locale::ZhTw, &messages[6]),
            "這個應用程式只開放給 Demo School 的成員使用。"
        );
        assert_eq!(
            catalogue.message(Locale::En, &messages[0]),
            "The parameter client_id was sent more than once."
        );
    }

    #[test]
    fn a_missing_message_falls_back_to_its_id() {
        let catalogue = Catalogue::new();
        assert_eq!(
            catalogue.text(Locale::ZhTw, "no-such-message", &[]),
            "no-such-message"
        );
    }
}
