//! The audit log: written inside the transaction of the change it records,
//! read by school admins newest first.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use oauth_core::audit::{Actor, AuditEvent, AuditKind};
use oauth_core::ids::{GrantId, SchoolId, UserId};
use oauth_core::ClientId;

use crate::rows::parse;
use crate::schema::audit_events;
use crate::{from_secs, to_secs, Conn, StorageError, Store};

/// Who caused a change and from where, for the audit events it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditMeta {
    /// Who caused it.
    pub actor: Actor,
    /// The address the request came from.
    pub client_ip: Option<String>,
}

impl AuditMeta {
    /// An event of `kind` about `school`, by this actor.
    pub(crate) fn event(&self, school_id: SchoolId, kind: AuditKind) -> AuditEvent {
        AuditEvent {
            school_id,
            kind,
            reason: None,
            actor: self.actor.clone(),
            user_id: None,
            client_id: match &self.actor {
                Actor::Client(client) => Some(client.clone()),
                Actor::User(_) | Actor::Operator => None,
            },
            grant_id: None,
            client_ip: self.client_ip.clone(),
        }
    }
}

/// A stored audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAuditEvent {
    /// Its position in the log; page with `before`.
    pub seq: i64,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// What happened, as stored (`tokens.issued`…).
    pub kind: String,
    /// `success` or `failure`.
    pub outcome: String,
    /// Why, for refusals and revocations.
    pub reason: Option<String>,
    /// `user:<id>` or `client:<client_id>`.
    pub actor: String,
    /// The user concerned.
    pub user_id: Option<UserId>,
    /// The application concerned.
    pub client_id: Option<ClientId>,
    /// The grant concerned.
    pub grant_id: Option<GrantId>,
    /// The client's address.
    pub client_ip: Option<String>,
}

pub(crate) fn insert_audit(
    c: &mut Conn,
    event: &AuditEvent,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::school_id.eq(event.school_id.to_string()),
            audit_events::occurred_at.eq(to_secs(now)),
            audit_events::kind.eq(event.kind.as_str()),
            audit_events::outcome.eq(if event.kind.is_failure() {
                "failure"
            } else {
                "success"
            }),
            audit_events::reason.eq(&event.reason),
            audit_events::actor.eq(event.actor.to_stored()),
            audit_events::user_id.eq(event.user_id.map(|u| u.to_string())),
            audit_events::client_id.eq(event.client_id.as_ref().map(|c| c.as_str().to_owned())),
            audit_events::grant_id.eq(event.grant_id.map(|g| g.to_string())),
            audit_events::client_ip.eq(&event.client_ip),
        ))
        .execute(c)?;
    Ok(())
}

type AuditRow = (
    i64,
    i64,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

impl Store {
    /// Records one event on its own (refusals that change nothing else).
    pub async fn insert_audit_event(
        &self,
        event: AuditEvent,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.run(move |c| insert_audit(c, &event, now)).await
    }

    /// A school's events, newest first: at most `limit`, older than `before`
    /// when given.
    pub async fn list_audit_events(
        &self,
        school: SchoolId,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<StoredAuditEvent>, StorageError> {
        self.run(move |c| {
            let mut query = audit_events::table
                .filter(audit_events::school_id.eq(school.to_string()))
                .order(audit_events::seq.desc())
                .limit(limit)
                .into_boxed();
            if let Some(before) = before {
                query = query.filter(audit_events::seq.lt(before));
            }
            let rows: Vec<AuditRow> = query
                .select((
                    audit_events::seq,
                    audit_events::occurred_at,
                    audit_events::kind,
                    audit_events::outcome,
                    audit_events::reason,
                    audit_events::actor,
                    audit_events::user_id,
                    audit_events::client_id,
                    audit_events::grant_id,
                    audit_events::client_ip,
                ))
                .load(c)?;
            rows.into_iter()
                .map(
                    |(seq, at, kind, outcome, reason, actor, user, client, grant, ip)| {
                        Ok(StoredAuditEvent {
                            seq,
                            occurred_at: from_secs(at)?,
                            kind,
                            outcome,
                            reason,
                            actor,
                            user_id: user.as_deref().map(|u| parse(u, "user id")).transpose()?,
                            client_id: client.as_deref().and_then(|c| ClientId::parse(c).ok()),
                            grant_id: grant.as_deref().map(|g| parse(g, "grant id")).transpose()?,
                            client_ip: ip,
                        })
                    },
                )
                .collect()
        })
        .await
    }
}
