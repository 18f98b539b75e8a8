//! Pages in English and Traditional Chinese: the choice from `Accept-Language`
//! and from the language switch's cookie, what may be cached, and errors on
//! the wire that stay in the RFCs' English whatever the page language.

mod common;

use common::*;
use reqwest::header::{
    ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_LANGUAGE, LOCATION, SET_COOKIE, VARY,
};
use reqwest::StatusCode;

const QUIZ: &str = "http://127.0.0.1/callback";

#[tokio::test]
async fn accept_language_and_the_language_switch_choose_the_language() {
    let server = Server::start().await;
    let browser = server.browser();
    let login = |language: &'static str| {
        browser
            .get(server.url(Host::Demo, "/oauth/login"))
            .header(ACCEPT_LANGUAGE, language)
            .send()
    };

    let english = login("en-US,en;q=0.9").await.unwrap();
    assert_eq!(english.headers()[CONTENT_LANGUAGE], "en");
    assert!(english
        .text()
        .await
        .unwrap()
        .contains("Log in to Demo School"));

    let chinese = login("zh-TW,zh;q=0.9,en;q=0.5").await.unwrap();
    assert_eq!(chinese.status(), StatusCode::OK);
    assert_eq!(chinese.headers()[CONTENT_LANGUAGE], "zh-TW");
    // The login form holds a CSRF token: never stored.
    assert_eq!(chinese.headers()[CACHE_CONTROL], "no-store");
    assert_eq!(chinese.headers()[VARY], "Accept-Language, Cookie");
    let html = chinese.text().await.unwrap();
    assert!(html.contains("<html lang=\"zh-TW\">"), "{html}");
    assert!(html.contains("登入 Demo School"), "{html}");

    // The switch remembers Chinese and returns to the page, query and all.
    let back_to = "/oauth/login?return_to=%2Foauth%2Fauthorize%3Fclient_id%3Ddemo-quiz";
    let switched = browser
        .get(server.url(Host::Demo, "/oauth/language"))
        .query(&[("lang", "zh-TW"), ("return_to", back_to)])
        .send()
        .await
        .unwrap();
    assert_eq!(switched.status(), StatusCode::SEE_OTHER);
    assert_eq!(switched.headers()[LOCATION], back_to);
    let cookie = switched.headers()[SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("lwc_lang=zh-TW;"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    let remembered = login("en").await.unwrap();
    assert_eq!(remembered.headers()[CONTENT_LANGUAGE], "zh-TW");

    // An unknown language changes nothing; a foreign address is not followed.
    let refused = browser
        .get(server.url(Host::Demo, "/oauth/language"))
        .query(&[("lang", "fr"), ("return_to", "//evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.headers()[LOCATION], "/oauth/login");
    assert!(refused.headers().get(SET_COOKIE).is_none());
    assert_eq!(
        login("en").await.unwrap().headers()[CONTENT_LANGUAGE],
        "zh-TW"
    );
}

#[tokio::test]
async fn error_pages_are_localized_and_briefly_cacheable_but_wire_errors_stay_english() {
    let server = Server::start().await;
    let browser = server.browser();

    // A page naming no person may be kept by the browser, never by a proxy.
    let unknown_client = browser
        .get(authorize_url(
            &server,
            Host::Demo,
            &good_request("no-such-app", QUIZ),
        ))
        .header(ACCEPT_LANGUAGE, "zh-TW")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_client.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        unknown_client.headers()[CACHE_CONTROL],
        "private, max-age=60"
    );
    let html = unknown_client.text().await.unwrap();
    assert!(
        html.contains("這裡找不到提出存取請求的應用程式。"),
        "{html}"
    );
    assert!(html.contains("<code>invalid_client</code>"), "{html}");

    // Once the client and its redirect URI are good, errors go back to the
    // client in English, with the RFC's codes.
    let bad_scope = with(good_request("demo-quiz", QUIZ), "scope", "courses:delete");
    let redirected = browser
        .get(authorize_url(&server, Host::Demo, &bad_scope))
        .header(ACCEPT_LANGUAGE, "zh-TW")
        .send()
        .await
        .unwrap();
    let redirect = Redirect::from_response(&redirected);
    assert_eq!(redirect.get("error").as_deref(), Some("invalid_scope"));
    let description = redirect.get("error_description").unwrap();
    assert!(description.is_ascii(), "{description}");
}

#[tokio::test]
async fn consent_in_chinese_names_the_app_its_registrar_and_its_scopes_by_family() {
    let server = Server::start().await;
    let browser = server.browser();
    server
        .login(&browser, Host::Demo, "student@demo.test")
        .await;
    let params = with(
        good_request("demo-quiz", QUIZ),
        "scope",
        "openid profile courses:read",
    );
    let page = browser
        .get(authorize_url(&server, Host::Demo, &params))
        .header(ACCEPT_LANGUAGE, "zh-TW")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()[CACHE_CONTROL], "no-store");
    let html = page.text().await.unwrap();
    for expected in [
        "要允許 Demo Quiz 存取 Demo School 嗎？",
        "<dt>註冊者</dt>",
        "<dd>Demo School</dd>",
        "<code>http:&#x2f;&#x2f;127.0.0.1</code>",
        "這個位址位於你自己的裝置上",
        "<h3>關於你</h3>",
        "<h3>課程</h3>",
        "檢視學校的課程 <span class=\"tag\">僅能檢視</span>",
        "按「拒絕」會帶你回到應用程式",
    ] {
        assert!(html.contains(expected), "missing {expected:?} in {html}");
    }
    // The form still carries the request and nothing else of the page's.
    let inputs = hidden_inputs(&html);
    assert_eq!(value_of(&inputs, "client_id").as_deref(), Some("demo-quiz"));
    assert_eq!(inputs.iter().filter(|(k, _)| k == "csrf_token").count(), 1);
}
