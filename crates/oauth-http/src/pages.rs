//! Server-rendered pages. Templates are compiled into the binary; values are
//! HTML-escaped by the template engine.
//!
//! Every page extends `base.html`, which frames it with the school's name and
//! a language switch, and fills its blocks: `content` (the page), and when
//! needed `head` (more styles) and `main_attributes` (` class="wide"` for
//! tables). A new page is a template that does so plus one line in
//! [`TEMPLATES`], rendered with [`Pages::render`] and a [`Ui`]. (The school
//! administration pages still have a layout of their own, `admin_layout.html`,
//! and are written in English only.)
//!
//! Texts come from the message catalogues of [`crate::i18n`]: templates call
//! `t("message-id", name=value)`, handlers pass [`Msg`]s for titles and
//! errors. The language is chosen per request ([`Ui`]): the language cookie
//! set by the switch, else `Accept-Language`, else English.
//!
//! Pages work without JavaScript and load nothing from elsewhere; the
//! stylesheet is part of `base.html`.

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::web;
use actix_web::{HttpRequest, HttpResponse};
use fluent_bundle::FluentValue;
use minijinja::value::Kwargs;
use minijinja::{context, Environment, State, Value};
use oauth_core::ErrorCode;
use std::sync::Arc;

use crate::host::resolve;
use crate::i18n::{Catalogue, Locale, Msg};
use crate::respond::{html, html_shareable, redirect};
use crate::AppState;

/// Every template: its name and its source. A new page is one more line here.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("consent.html", include_str!("../templates/consent.html")),
    ("denied.html", include_str!("../templates/denied.html")),
    ("picker.html", include_str!("../templates/picker.html")),
    (
        "connected.html",
        include_str!("../templates/connected.html"),
    ),
    // The school administration pages have a layout of their own.
    (
        "admin_layout.html",
        include_str!("../templates/admin_layout.html"),
    ),
    (
        "admin_apps.html",
        include_str!("../templates/admin_apps.html"),
    ),
    (
        "admin_app.html",
        include_str!("../templates/admin_app.html"),
    ),
    (
        "admin_secret.html",
        include_str!("../templates/admin_secret.html"),
    ),
    (
        "admin_grants.html",
        include_str!("../templates/admin_grants.html"),
    ),
    (
        "admin_audit.html",
        include_str!("../templates/admin_audit.html"),
    ),
    (
        "admin_error.html",
        include_str!("../templates/admin_error.html"),
    ),
];

/// The cookie that remembers the language picked with the switch.
pub const LANGUAGE_COOKIE: &str = "lwc_lang";
/// The path of the language switch.
pub const LANGUAGE_PATH: &str = "/oauth/language";
/// Where the language switch returns to when a page was the answer to a form.
const DEFAULT_RETURN: &str = "/oauth/login";
/// How long the language choice is remembered.
const LANGUAGE_COOKIE_DAYS: i64 = 365;
/// How long a browser may keep a page that holds no secret or personal data.
const SHAREABLE_SECONDS: u32 = 60;

/// What a page needs to know about the person's browser: the language to
/// write in, and the page the language switch comes back to.
#[derive(Debug, Clone)]
pub struct Ui {
    locale: Locale,
    here: String,
}

impl Ui {
    /// The language of this request (cookie, else `Accept-Language`, else
    /// English). The switch returns to this very address for a `GET`; the
    /// answer to a form names its own with [`Ui::returning_to`].
    pub fn from_request(req: &HttpRequest) -> Self {
        let locale = req
            .cookie(LANGUAGE_COOKIE)
            .and_then(|c| Locale::from_tag(c.value()))
            .unwrap_or_else(|| {
                Locale::negotiate(
                    req.headers()
                        .get(header::ACCEPT_LANGUAGE)
                        .and_then(|v| v.to_str().ok()),
                )
            });
        let here = if req.method() == Method::GET {
            match req.query_string() {
                "" => req.path().to_owned(),
                query => format!("{}?{query}", req.path()),
            }
        } else {
            DEFAULT_RETURN.to_owned()
        };
        Self { locale, here }
    }

    /// English whatever the browser asks, for pages whose texts are not in
    /// the catalogues yet; the switch still returns to this address.
    pub fn in_english(req: &HttpRequest) -> Self {
        Self {
            locale: Locale::En,
            ..Self::from_request(req)
        }
    }

    /// The same language, with the switch returning to `here` (a local path).
    pub fn returning_to(self, here: impl Into<String>) -> Self {
        Self {
            here: here.into(),
            ..self
        }
    }

    /// What every page's frame shows: its language and the switch's links.
    fn frame(&self) -> Value {
        let languages: Vec<Value> = Locale::ALL
            .into_iter()
            .map(|locale| {
                let query = form_urlencoded::Serializer::new(String::new())
                    .append_pair("lang", locale.tag())
                    .append_pair("return_to", &self.here)
                    .finish();
                context! {
                    tag => locale.tag(),
                    name => locale.native_name(),
                    href => format!("{LANGUAGE_PATH}?{query}"),
                    current => locale == self.locale,
                }
            })
            .collect();
        context! { locale => self.locale.tag(), languages }
    }
}

/// The page templates and the message catalogues they are written with.
#[derive(Debug)]
pub struct Pages {
    env: Environment<'static>,
    catalogue: Arc<Catalogue>,
}

impl Default for Pages {
    fn default() -> Self {
        Self::new()
    }
}

impl Pages {
    /// Loads the templates and catalogues shipped with the crate.
    pub fn new() -> Self {
        let catalogue = Arc::new(Catalogue::new());
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            // The templates are part of the binary and covered by tests; a syntax
            // error in one is a build defect, reported when the page is rendered.
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "page template does not compile");
            }
        }
        let texts = Arc::clone(&catalogue);
        env.add_function(
            "t",
            move |state: &State, id: &str, kwargs: Kwargs| -> Result<String, minijinja::Error> {
                let locale = state
                    .lookup("locale")
                    .and_then(|v| v.as_str().and_then(Locale::from_tag))
                    .unwrap_or(Locale::En);
                let mut args = Vec::new();
                for name in kwargs.args() {
                    let value: Value = kwargs.get(name)?;
                    let text = value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_owned);
                    args.push((name, FluentValue::from(text)));
                }
                Ok(texts.text(locale, id, &args))
            },
        );
        Self { env, catalogue }
    }

    /// The text of `msg` in the page's language.
    pub fn text(&self, ui: &Ui, msg: &Msg) -> String {
        self.catalogue.message(ui.locale, msg)
    }

    /// The text of the message `id` without arguments.
    pub fn text_of(&self, ui: &Ui, id: &str) -> String {
        self.catalogue.text(ui.locale, id, &[])
    }

    fn body(&self, ui: &Ui, name: &str, values: Value) -> Result<String, minijinja::Error> {
        let values = context! { ..ui.frame(), ..values };
        self.env.get_template(name)?.render(values)
    }

    fn answer(
        &self,
        ui: &Ui,
        status: StatusCode,
        name: &str,
        values: Value,
        shareable: bool,
    ) -> HttpResponse {
        let mut response = match self.body(ui, name, values) {
            Ok(body) if shareable && !status.is_server_error() => {
                html_shareable(status, body, SHAREABLE_SECONDS)
            }
            Ok(body) => html(status, body),
            Err(e) => {
                tracing::error!(template = name, error = %e, "page could not be rendered");
                return html(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "<!doctype html><title>Error</title><p>Something went wrong.</p>".into(),
                );
            }
        };
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_LANGUAGE,
            HeaderValue::from_static(ui.locale.tag()),
        );
        // The language follows these request headers; a cache must too.
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Accept-Language, Cookie"),
        );
        response
    }

    /// Renders a page that holds a secret (a CSRF token) or personal data: the
    /// browser must not store it. A failure renders a bare error page.
    pub fn render(&self, ui: &Ui, status: StatusCode, name: &str, values: Value) -> HttpResponse {
        self.answer(ui, status, name, values, false)
    }

    /// Renders a page that holds neither a secret nor personal data, which a
    /// browser may keep for a minute (server errors are never kept).
    pub fn render_shareable(
        &self,
        ui: &Ui,
        status: StatusCode,
        name: &str,
        values: Value,
    ) -> HttpResponse {
        self.answer(ui, status, name, values, true)
    }

    /// An error page: a problem the user must see and that is not redirected.
    /// It names no person, so a browser may keep it briefly.
    pub fn error(
        &self,
        ui: &Ui,
        status: StatusCode,
        school_name: &str,
        title: Msg,
        message: Msg,
        code: Option<ErrorCode>,
    ) -> HttpResponse {
        self.render_shareable(
            ui,
            status,
            "error.html",
            context! {
                school_name,
                title => self.text(ui, &title),
                message => self.text(ui, &message),
                code => code.map(ErrorCode::as_str),
            },
        )
    }
}

/// Whether `path` is a path on this site, safe to redirect to: it starts with
/// one slash (not `//`, which would name another host), and holds no
/// backslash or control character that a browser might read differently.
fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
}

/// `GET /oauth/language?lang=…&return_to=…`: remembers the language in a
/// cookie and goes back to the page the switch was pressed on. A plain link,
/// so it works without scripts; an unknown language changes nothing.
pub async fn switch_language(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let resolved = match resolve(&req, &state).await {
        Ok(resolved) => resolved,
        Err(e) => return crate::authorize::host_error_page(&state, &Ui::from_request(&req), e),
    };
    let query: Vec<(String, String)> = form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let field = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let return_to = field("return_to")
        .filter(|path| is_local_path(path))
        .unwrap_or(DEFAULT_RETURN);
    let mut response = redirect(StatusCode::SEE_OTHER, return_to);
    if let Some(locale) = field("lang").and_then(Locale::from_tag) {
        let cookie = Cookie::build(LANGUAGE_COOKIE, locale.tag())
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(resolved.is_https())
            .max_age(time::Duration::days(LANGUAGE_COOKIE_DAYS))
            .finish();
        let _ = response.add_cookie(&cookie);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to() {
        for (path, local) in [
            ("/oauth/authorize?client_id=a&scope=openid", true),
            ("/oauth/login", true),
            ("//evil.example/x", false),
            ("/\\evil.example", false),
            ("https://evil.example/", false),
            ("/oauth/login\n", false),
            ("", false),
        ] {
            assert_eq!(is_local_path(path), local, "{path:?}");
        }
    }

    #[test]
    fn every_template_renders_in_both_languages() {
        let pages = Pages::new();
        for locale in Locale::ALL {
            let ui = Ui {
                locale,
                here: "/oauth/login".into(),
            };
            let framed = TEMPLATES
                .iter()
                .filter(|(_, source)| source.starts_with("{% extends \"base.html\" %}"));
            for (name, _) in framed {
                let body = pages
                    .body(
                        &ui,
                        name,
                        context! { school_name => "Demo School", app_name => "Quiz" },
                    )
                    .unwrap_or_else(|e| panic!("{name}: {e:#}"));
                assert!(
                    body.contains(&format!("lang=\"{}\"", locale.tag())),
                    "{name}"
                );
                assert!(body.contains("Demo School"), "{name}");
            }
        }
    }

    #[test]
    fn every_page_for_people_authorizing_is_framed_by_the_base_layout() {
        for name in [
            "error.html",
            "login.html",
            "consent.html",
            "denied.html",
            "picker.html",
            "connected.html",
        ] {
            let (_, source) = TEMPLATES.iter().find(|(n, _)| *n == name).unwrap();
            assert!(source.starts_with("{% extends \"base.html\" %}"), "{name}");
        }
    }

    #[test]
    fn the_language_switch_returns_to_the_same_page() {
        let ui = Ui {
            locale: Locale::ZhTw,
            here: "/oauth/authorize?client_id=demo-quiz&state=a b".into(),
        };
        let body = Pages::new()
            .body(&ui, "login.html", context! { school_name => "Demo School" })
            .unwrap();
        assert!(body.contains("請使用你在 Demo School 的帳號。"), "{body}");
        assert!(
            body.contains("language?lang=en&amp;return_to=%2Foauth%2Fauthorize%3Fclient_id%3Ddemo-quiz%26state%3Da+b"),
            "{body}"
        );
    }
}
