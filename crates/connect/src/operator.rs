//! The operator's command-line commands. Each prints a clear result and fails
//! with a clear message (and a non-zero exit) on bad input.

use std::io::{BufRead as _, Write as _};

use serde_json::json;

use anyhow::{anyhow, bail, Context as _};
use clap::{Args, Subcommand, ValueEnum};
use oauth_admin::{ApplicationSpec, Operator};
use oauth_core::{Audience, ClientType, Registration, Role};

/// Operator commands.
#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Create a school.
    #[command(name = "school-create")]
    SchoolCreate {
        /// Its subdomain (a DNS label).
        subdomain: String,
        /// Its display name.
        name: String,
    },
    /// Add a custom domain (with `:port` when not the default) to a school.
    #[command(name = "school-add-domain")]
    SchoolAddDomain {
        /// The school's subdomain.
        subdomain: String,
        /// The domain.
        domain: String,
    },
    /// Create a user; the password is read from standard input.
    #[command(name = "user-create")]
    UserCreate {
        /// Email address.
        email: String,
        /// Display name.
        name: String,
    },
    /// Mark a user as platform staff, or take the mark away.
    #[command(name = "user-set-staff")]
    UserSetStaff {
        /// The user's email.
        email: String,
        /// true or false.
        #[arg(action = clap::ArgAction::Set)]
        staff: bool,
    },
    /// Give a user a role in a school.
    #[command(name = "member-set")]
    MemberSet {
        /// The user's email.
        email: String,
        /// The school's subdomain.
        subdomain: String,
        /// owner, manager, ta or student.
        role: String,
    },
    /// Register an application.
    #[command(name = "app-register")]
    AppRegister(AppRegister),
    /// List schools with their custom domains.
    #[command(name = "school-list")]
    SchoolList,
    /// Remove a custom domain from a school.
    #[command(name = "school-remove-domain")]
    SchoolRemoveDomain {
        /// The school's subdomain.
        subdomain: String,
        /// The domain.
        domain: String,
    },
    /// Set a user's password (read from standard input); their sessions end.
    #[command(name = "user-set-password")]
    UserSetPassword {
        /// The user's email.
        email: String,
    },
    /// Take a user's role in a school away.
    #[command(name = "member-revoke")]
    MemberRevoke {
        /// The user's email.
        email: String,
        /// The school's subdomain.
        subdomain: String,
    },
    /// List applications: a school's, or the platform's.
    #[command(name = "app-list")]
    AppList {
        /// The school's subdomain; platform applications when left out.
        #[arg(long)]
        school: Option<String>,
    },
    /// Disable an application and revoke every grant and token it holds.
    #[command(name = "app-disable")]
    AppDisable {
        /// The application's client_id.
        client_id: String,
    },
    /// Register a protected resource (RFC 8707) of a school, such as its MCP
    /// endpoint or API; tokens can then be bound to it with `resource`.
    #[command(name = "resource-add")]
    ResourceAdd {
        /// The school's subdomain.
        subdomain: String,
        /// The resource's absolute URI, e.g. https://demo.teachify.tw/mcp.
        resource: String,
        /// A name people can read.
        #[arg(long, default_value = "API")]
        name: String,
    },
    /// Create a new ID token signing key; the previous one stays published
    /// until tokens it signed have expired.
    #[command(name = "signing-key-rotate")]
    SigningKeyRotate,
    /// List published signing keys.
    #[command(name = "signing-key-list")]
    SigningKeyList,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AudienceArg {
    OrgAdmin,
    Member,
    Staff,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ClientTypeArg {
    Public,
    Confidential,
}

/// What `app-register` takes.
#[derive(Debug, Args)]
pub struct AppRegister {
    /// Name shown on consent pages.
    #[arg(long)]
    name: String,
    /// A chosen client id; generated when left out.
    #[arg(long)]
    client_id: Option<String>,
    /// Register for this school (its subdomain)...
    #[arg(
        long,
        conflicts_with = "platform",
        required_unless_present = "platform"
    )]
    school: Option<String>,
    /// ...or for every school, as a platform application.
    #[arg(long)]
    platform: bool,
    /// Who may authorize it.
    #[arg(long, value_enum, default_value = "member")]
    audience: AudienceArg,
    /// Client type.
    #[arg(long = "type", value_enum, default_value = "public")]
    client_type: ClientTypeArg,
    /// A redirect URI; repeat for several.
    #[arg(long = "redirect-uri", required = true)]
    redirect_uris: Vec<String>,
    /// Scopes, space-separated; `family:*` stands for every action.
    #[arg(long, default_value = "openid")]
    scopes: String,
    /// Let it introspect tokens of its school.
    #[arg(long)]
    introspect: bool,
    /// Read the client secret of a confidential client from standard input
    /// instead of generating one (to import an existing client).
    #[arg(long)]
    secret_stdin: bool,
}

/// One line of standard input, without its line ending: how secrets reach
/// these commands, so they never appear in a process list or shell history.
fn read_line_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading a secret from standard input")?;
    let line = line.trim_end_matches(['\r', '\n']).to_owned();
    if line.is_empty() {
        bail!("expected a secret on standard input");
    }
    Ok(line)
}

/// Prints a command's result: a sentence for people, or one JSON object per
/// line with `--json` for scripts.
struct Printer {
    json: bool,
}

impl Printer {
    fn say(&self, text: &str, value: serde_json::Value) -> anyhow::Result<()> {
        let mut stdout = std::io::stdout().lock();
        if self.json {
            writeln!(stdout, "{value}")?;
        } else {
            writeln!(stdout, "{text}")?;
        }
        Ok(())
    }
}

async fn school_id(
    store: &oauth_storage::Store,
    subdomain: &str,
) -> anyhow::Result<oauth_core::SchoolId> {
    store
        .find_school_by_subdomain(subdomain)
        .await?
        .map(|s| s.id)
        .ok_or_else(|| anyhow!("no school has the subdomain `{subdomain}`"))
}

async fn user_by_email(
    store: &oauth_storage::Store,
    email: &str,
) -> anyhow::Result<oauth_storage::User> {
    store
        .find_user_by_email(email)
        .await?
        .ok_or_else(|| anyhow!("no user has the email `{email}`"))
}

/// Runs one operator command.
pub async fn run(
    store: oauth_storage::Store,
    config: &crate::config::Config,
    command: OperatorCommand,
    json: bool,
) -> anyhow::Result<()> {
    let operator = Operator::new(store.clone());
    let p = Printer { json };
    match command {
        OperatorCommand::SchoolCreate { subdomain, name } => {
            if store.find_school_by_subdomain(&subdomain).await?.is_some() {
                bail!("a school with the subdomain `{subdomain}` exists already");
            }
            let school = operator.ensure_school(&subdomain, &name).await?;
            p.say(
                &format!("created school {} ({}) with id {}", school.display_name, school.subdomain, school.id),
                json!({"id": school.id.to_string(), "subdomain": school.subdomain.as_str(), "name": school.display_name}),
            )
        }
        OperatorCommand::SchoolList => {
            let schools = store.list_schools().await?;
            if json {
                let list: Vec<_> = schools
                    .iter()
                    .map(|s| json!({"id": s.school.id.to_string(), "subdomain": s.school.subdomain.as_str(), "name": s.school.display_name, "domains": s.domains}))
                    .collect();
                return p.say("", json!(list));
            }
            for s in schools {
                p.say(
                    &format!(
                        "{}\t{}\t{}\t{}",
                        s.school.subdomain,
                        s.school.id,
                        s.school.display_name,
                        s.domains.join(" ")
                    ),
                    json!(null),
                )?;
            }
            Ok(())
        }
        OperatorCommand::SchoolAddDomain { subdomain, domain } => {
            let id = school_id(&store, &subdomain).await?;
            operator
                .add_domain(
                    id,
                    &domain,
                    &config.platform_host,
                    &format!(".{}", config.base_domain),
                )
                .await?;
            p.say(
                &format!("school {subdomain} now answers at {domain}"),
                json!({"subdomain": subdomain, "domain": domain}),
            )
        }
        OperatorCommand::SchoolRemoveDomain { subdomain, domain } => {
            let id = school_id(&store, &subdomain).await?;
            if !store.delete_school_domain(id, &domain).await? {
                bail!("school {subdomain} has no domain `{domain}`");
            }
            p.say(
                &format!("school {subdomain} no longer answers at {domain}"),
                json!({"subdomain": subdomain, "removed": domain}),
            )
        }
        OperatorCommand::UserCreate { email, name } => {
            if store.find_user_by_email(&email).await?.is_some() {
                bail!("a user with the email `{email}` exists already");
            }
            let password = read_line_from_stdin()?;
            let id = operator.ensure_user(&email, &name, &password).await?;
            p.say(
                &format!("created user {email} with id {id}"),
                json!({"id": id.to_string(), "email": email}),
            )
        }
        OperatorCommand::UserSetPassword { email } => {
            let user = user_by_email(&store, &email).await?;
            let password = read_line_from_stdin()?;
            operator.set_password(user.id, &password).await?;
            p.say(
                &format!("{email} has a new password; their sessions ended"),
                json!({"email": email, "password_changed": true}),
            )
        }
        OperatorCommand::ResourceAdd {
            subdomain,
            resource,
            name,
        } => {
            let resource = oauth_core::resource::parse_resource(&resource)?;
            let id = school_id(&store, &subdomain).await?;
            store
                .upsert_school_resource(id, resource.clone(), name, chrono::Utc::now())
                .await?;
            p.say(
                &format!("school {subdomain} has the resource {resource}"),
                json!({"subdomain": subdomain, "resource": resource}),
            )
        }
        OperatorCommand::SigningKeyRotate => {
            let kid = operator.rotate_signing_key().await?;
            p.say(
                &format!("signing with the new key {kid}"),
                json!({"kid": kid}),
            )
        }
        OperatorCommand::SigningKeyList => {
            let keys = store
                .list_published_keys(chrono::Utc::now(), chrono::Duration::days(3650))
                .await?;
            if json {
                let list: Vec<_> = keys
                    .iter()
                    .map(|k| json!({"kid": k.kid, "active": k.retired_at.is_none(), "created_at": k.created_at, "retired_at": k.retired_at}))
                    .collect();
                return p.say("", json!(list));
            }
            for key in keys {
                let state = if key.retired_at.is_some() {
                    "retired"
                } else {
                    "active"
                };
                p.say(&format!("{} {state}", key.kid), json!(null))?;
            }
            Ok(())
        }
        OperatorCommand::UserSetStaff { email, staff } => {
            let user = user_by_email(&store, &email).await?;
            store.update_user_staff(user.id, staff).await?;
            p.say(
                &format!(
                    "{email} is {}platform staff",
                    if staff { "" } else { "no longer " }
                ),
                json!({"email": email, "staff": staff}),
            )
        }
        OperatorCommand::MemberSet {
            email,
            subdomain,
            role,
        } => {
            let role: Role = role.parse()?;
            let user = user_by_email(&store, &email).await?;
            let id = school_id(&store, &subdomain).await?;
            let revoked = operator.set_role(user.id, id, role).await?;
            p.say(
                &format!("{email} is now {role} of {subdomain}{}", revoked_note(revoked)),
                json!({"email": email, "subdomain": subdomain, "role": role.as_str(), "revoked_grants": revoked}),
            )
        }
        OperatorCommand::MemberRevoke { email, subdomain } => {
            let user = user_by_email(&store, &email).await?;
            let id = school_id(&store, &subdomain).await?;
            let Some(revoked) = operator.revoke_role(user.id, id).await? else {
                bail!("{email} has no role in {subdomain}");
            };
            p.say(
                &format!("{email} no longer belongs to {subdomain}{}", revoked_note(revoked)),
                json!({"email": email, "subdomain": subdomain, "role": null, "revoked_grants": revoked}),
            )
        }
        OperatorCommand::AppList { school } => {
            let scope = match &school {
                Some(subdomain) => Some(school_id(&store, subdomain).await?),
                None => None,
            };
            let apps = store.list_applications(scope).await?;
            if json {
                let list: Vec<_> = apps
                    .iter()
                    .map(|a| json!({
                        "client_id": a.app.client_id.as_str(),
                        "name": a.app.name,
                        "audience": a.app.audience.as_str(),
                        "client_type": a.app.client_type.as_str(),
                        "scope": a.app.scopes.to_string(),
                        "redirect_uris": a.app.redirect_uris.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
                        "disabled": a.app.disabled,
                        "self_registered": a.self_registered,
                    }))
                    .collect();
                return p.say("", json!(list));
            }
            for a in apps {
                let state = if a.app.disabled {
                    "disabled"
                } else {
                    "enabled"
                };
                p.say(
                    &format!(
                        "{}\t{}\t{}\t{}\t{state}",
                        a.app.client_id, a.app.audience, a.app.client_type, a.app.name
                    ),
                    json!(null),
                )?;
            }
            Ok(())
        }
        OperatorCommand::AppDisable { client_id } => {
            let client_id = oauth_core::ClientId::parse(&client_id)
                .map_err(|_| anyhow!("`{client_id}` is not a client_id"))?;
            let revoked = operator.disable_application(&client_id).await?;
            p.say(
                &format!("{client_id} is disabled; {revoked} grant(s) and their tokens were revoked"),
                json!({"client_id": client_id.as_str(), "disabled": true, "grants_revoked": revoked}),
            )
        }
        OperatorCommand::AppRegister(args) => {
            let registration = match &args.school {
                Some(subdomain) => Registration::School(school_id(&store, subdomain).await?),
                None => Registration::Platform,
            };
            let spec = ApplicationSpec {
                client_id: args.client_id,
                name: args.name,
                registration,
                audience: match args.audience {
                    AudienceArg::OrgAdmin => Audience::OrgAdmin,
                    AudienceArg::Member => Audience::Member,
                    AudienceArg::Staff => Audience::Staff,
                },
                client_type: match args.client_type {
                    ClientTypeArg::Public => ClientType::Public,
                    ClientTypeArg::Confidential => ClientType::Confidential,
                },
                redirect_uris: args.redirect_uris,
                scopes: args.scopes,
                secret: if args.secret_stdin {
                    Some(read_line_from_stdin()?)
                } else {
                    None
                },
                may_introspect: args.introspect,
            };
            let registered = operator.register_application(spec).await?;
            let mut text = format!(
                "registered {} with client_id {}",
                registered.app.name, registered.app.client_id
            );
            if let Some(secret) = &registered.secret {
                text.push_str(&format!(
                    "\nclient_secret {} (shown once; store it now)",
                    secret.expose_secret()
                ));
            }
            p.say(
                &text,
                json!({
                    "client_id": registered.app.client_id.as_str(),
                    "name": registered.app.name,
                    "client_secret": registered.secret.as_ref().map(|s| s.expose_secret().to_owned()),
                }),
            )
        }
    }
}

/// How a role change's revocations read after the change itself.
fn revoked_note(revoked: usize) -> String {
    match revoked {
        0 => String::new(),
        1 => "; 1 grant it no longer allows was revoked".to_owned(),
        n => format!("; {n} grants it no longer allows were revoked"),
    }
}
