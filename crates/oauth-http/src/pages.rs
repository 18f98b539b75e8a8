//! Server-rendered pages. Templates are compiled into the binary; values are
//! HTML-escaped by the template engine.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use minijinja::{context, Environment, Value};

use crate::respond::html;

/// The page templates.
#[derive(Debug)]
pub struct Pages {
    env: Environment<'static>,
}

impl Pages {
    /// Loads the templates shipped with the crate.
    pub fn new() -> Self {
        let mut env = Environment::new();
        for (name, source) in [
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
        ] {
            // The templates are part of the binary and covered by tests; a syntax
            // error in one is a build defect, reported when the page is rendered.
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "page template does not compile");
            }
        }
        Self { env }
    }

    /// Renders a template, or a bare error page if rendering fails.
    pub fn render(&self, status: StatusCode, name: &str, values: Value) -> HttpResponse {
        match self.env.get_template(name).and_then(|t| t.render(values)) {
            Ok(body) => html(status, body),
            Err(e) => {
                tracing::error!(template = name, error = %e, "page could not be rendered");
                html(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "<!doctype html><title>Error</title><p>Something went wrong.</p>".into(),
                )
            }
        }
    }

    /// An error page: a problem the user must see and that is not redirected.
    pub fn error(
        &self,
        status: StatusCode,
        school_name: &str,
        title: &str,
        message: &str,
        code: Option<&str>,
    ) -> HttpResponse {
        self.render(
            status,
            "error.html",
            context! { school_name, title, message, code },
        )
    }
}
