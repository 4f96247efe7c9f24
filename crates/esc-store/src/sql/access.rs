//! Organizations and projects, open sessions, access tokens, audit events,
//! webhooks and the issuer's signing keys.

use std::borrow::Cow;
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::batch::SessionRow;
use super::environments::find;
use super::pins;
use super::{db_number, limit};
use crate::crypto::{EnvironmentCipher, MasterKey, Plaintext, hex, random_bytes, sha256};
use crate::db::{Row, Statement, Tx, args};
use crate::error::StoreError;
use crate::model::{
    AccessToken, AuditEvent, EnvRef, NewAccessToken, NewAuditEvent, NewWebhookDelivery,
    Organization, Page, Project, SigningKey, Timestamp, Webhook, WebhookDelivery,
    WebhookSecretUpdate, WebhookSpec,
};
use crate::store::{MAX_PINS, SharedResult, SharedSession};

/// Prefix of access token values, so scanners can recognise leaked ones.
const TOKEN_PREFIX: &str = "esc_";

pub(super) async fn create_organization(
    tx: &mut dyn Tx,
    name: &str,
) -> Result<Organization, StoreError> {
    if name.is_empty() {
        return Err(StoreError::invalid(
            "an organization name must not be empty",
        ));
    }
    let now = Timestamp::now();
    tx.execute(
        "INSERT INTO organizations (name, created) VALUES ($1, $2)",
        args![name, now.unix_millis()],
    )
    .await
    .map_err(|error| {
        if error.is_unique_violation() {
            StoreError::already_exists(format!("organization {name}"))
        } else {
            error
        }
    })?;
    Ok(Organization {
        name: name.to_owned(),
        created: now,
    })
}

pub(super) async fn organization(tx: &mut dyn Tx, name: &str) -> Result<Organization, StoreError> {
    let row = tx
        .query_opt(
            "SELECT name, created FROM organizations WHERE name = $1",
            args![name],
        )
        .await?
        .ok_or_else(|| StoreError::not_found(format!("organization {name}")))?;
    Ok(Organization {
        name: row.text(0)?,
        created: Timestamp::from_unix_millis(row.int(1)?),
    })
}

pub(super) async fn list_organizations(tx: &mut dyn Tx) -> Result<Vec<Organization>, StoreError> {
    tx.query(
        "SELECT name, created FROM organizations ORDER BY name",
        vec![],
    )
    .await?
    .iter()
    .map(|row| {
        Ok(Organization {
            name: row.text(0)?,
            created: Timestamp::from_unix_millis(row.int(1)?),
        })
    })
    .collect()
}

pub(super) async fn list_projects(tx: &mut dyn Tx, org: &str) -> Result<Vec<Project>, StoreError> {
    organization(tx, org).await?;
    tx.query(
        "SELECT org, name, created FROM projects WHERE org = $1 ORDER BY name",
        args![org],
    )
    .await?
    .iter()
    .map(|row| {
        Ok(Project {
            org: row.text(0)?,
            name: row.text(1)?,
            created: Timestamp::from_unix_millis(row.int(2)?),
        })
    })
    .collect()
}

/// A new session id and the statements that store the session (and its
/// audit event): the result sealed with the environment's cipher, bound to
/// the session id; the session is written only if the environment row
/// still exists, and the event only if the session was (the first
/// statement's count says which).
pub(super) fn create_session(
    cipher: &EnvironmentCipher,
    revision: u64,
    result: &[u8],
    expires: Timestamp,
    audit: Option<&NewAuditEvent>,
) -> Result<(String, Vec<Statement>), StoreError> {
    let (id, id_hash) = new_session_id()?;
    let sealed = cipher.seal("session", &hex(&id_hash), result)?;
    let mut statements = vec![Statement {
        sql: "INSERT INTO sessions (id_hash, env_id, revision, result, created, expires) \
              SELECT $1, id, $3, $4, $5, $6 FROM environments WHERE id = $2"
            .into(),
        args: args![
            id_hash.clone(),
            cipher.environment_id(),
            db_number(revision)?,
            sealed,
            Timestamp::now().unix_millis(),
            expires.unix_millis()
        ],
    }];
    if let Some(event) = audit {
        let mut args = audit_statement(event).1.args;
        args.push(id_hash.into());
        statements.push(Statement {
            sql: AUDIT_IF_SESSION.into(),
            args,
        });
    }
    Ok((id, statements))
}

/// An open's audit event (`access::audit_statement`'s arguments, then the
/// session's `id_hash`), written only if its session was.
const AUDIT_IF_SESSION: &str = "INSERT INTO audit_events (id, time, org, actor, action, target, detail) \
     SELECT $1, $2, $3, $4, $5, $6, $7 FROM sessions WHERE id_hash = $8";

/// A session pointing to a stored result (its 7 parameters as
/// `create_shared_session` binds them), written only if the result exists
/// for the environment and is kept at least as long; pin conditions may
/// follow (`AND …`).
const SESSION_OF_STORED_RESULT: &str = "INSERT INTO sessions (id_hash, env_id, revision, result, created, expires, result_id) \
     SELECT $1, env_id, $2, $3, $4, $5, id FROM session_results \
     WHERE id = $6 AND env_id = $7 AND expires >= $5";

/// [`SESSION_OF_STORED_RESULT`] under `n_pins` pins (their parameters
/// after its 7), each text built once per process (building it was ~6% of
/// the server's CPU time per open when built per call).
fn session_of_stored_result(n_pins: usize) -> Cow<'static, str> {
    static TEXTS: [OnceLock<String>; MAX_PINS + 1] = [const { OnceLock::new() }; MAX_PINS + 1];
    // the pins' parameters follow the statement's own 7
    let build = || {
        format!(
            "{SESSION_OF_STORED_RESULT}{}",
            pins::pins_hold_at(7 + 1, n_pins)
        )
    };
    match (n_pins, TEXTS.get(n_pins)) {
        (0, _) => Cow::Borrowed(SESSION_OF_STORED_RESULT),
        (_, Some(text)) => Cow::Borrowed(text.get_or_init(build)),
        // more than a session takes (`pins::pin_args` refuses them)
        (_, None) => Cow::Owned(build()),
    }
}

/// Hex digits of the creation time that start a session id.
const SESSION_TIME_DIGITS: usize = 12;

/// A new session id and the key it is stored under ([`session_key`]): the
/// creation time in milliseconds (12 hex digits), then 128 random bits.
fn new_session_id() -> Result<(String, Vec<u8>), StoreError> {
    let millis = u64::try_from(Timestamp::now().unix_millis()).unwrap_or(0) & 0xffff_ffff_ffff;
    let id = format!(
        "{millis:0width$x}{}",
        hex(&random_bytes::<16>()?),
        width = SESSION_TIME_DIGITS
    );
    let key = session_key(&id);
    Ok((id, key))
}

/// The key a session is stored under (`sessions.id_hash`): the SHA-256 of
/// its id (a bearer capability, never stored), after the id's creation
/// time for ids that start with one, so new sessions append to the key
/// index instead of dirtying a random page of it each (SQLite writes
/// every dirtied page to its WAL at commit). The time is no secret: the
/// row keeps it anyway (`created`). Ids of the earlier form (32 hex
/// digits, no time) are keyed by their SHA-256 alone.
pub(super) fn session_key(id: &str) -> Vec<u8> {
    let digest = sha256(id.as_bytes());
    let time = id
        .get(..SESSION_TIME_DIGITS)
        .filter(|_| id.len() == SESSION_TIME_DIGITS + 32)
        // digits only: `from_str_radix` also takes a leading '+'
        .filter(|time| time.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|time| u64::from_str_radix(time, 16).ok());
    match time {
        Some(millis) => {
            let mut key = millis.to_be_bytes()[2..].to_vec();
            key.extend_from_slice(&digest);
            key
        }
        None => digest,
    }
}

/// The sealing context of shared session results (bound to their id).
const SHARED_RESULT_CONTEXT: &str = "session-result";

/// As [`create_session`], for a shared result: the statements store the
/// result first if it is new, then the session pointing to it, written
/// only if the result exists for this environment and is kept at least
/// until the session expires, then the audit event, written only if the
/// session was. Returns the session id, the result id, the index of the
/// session's statement (it changes no row when the session was not
/// written), and for a stored result the same writes as a row of a merged
/// batch (see `batch`).
pub(super) fn create_shared_session(
    cipher: &EnvironmentCipher,
    revision: u64,
    result: SharedResult<'_>,
    expires: Timestamp,
    audit: Option<&NewAuditEvent>,
) -> Result<(SharedSession, usize, Vec<Statement>, Option<SessionRow>), StoreError> {
    let (id, id_hash) = new_session_id()?;
    let now = Timestamp::now().unix_millis();
    let mut statements = Vec::with_capacity(3);
    let result_id = match result {
        SharedResult::New { result, keep_until } => {
            if keep_until.unix_millis() < expires.unix_millis() {
                return Err(StoreError::invalid(
                    "a shared session result must be kept at least as long as its session",
                ));
            }
            let result_id = hex(&random_bytes::<16>()?);
            let sealed = cipher.seal(SHARED_RESULT_CONTEXT, &result_id, result)?;
            statements.push(Statement {
                sql: "INSERT INTO session_results (id, env_id, result, created, expires) \
                      VALUES ($1, $2, $3, $4, $5)"
                    .into(),
                args: args![
                    result_id.as_str(),
                    cipher.environment_id(),
                    sealed,
                    now,
                    keep_until.unix_millis()
                ],
            });
            result_id
        }
        SharedResult::Stored(result_id) | SharedResult::StoredWhile { result_id, .. } => {
            result_id.to_owned()
        }
    };
    let pins = match &result {
        SharedResult::StoredWhile { pins, .. } => match pins::pin_args(pins)? {
            Some(args) => args,
            // it cannot hold: nothing to write
            None => return Err(StoreError::not_found("a pinned revision")),
        },
        _ => Vec::new(),
    };
    let n_pins = pins.len() / pins::PIN_COLUMNS.len();
    // one event id for both forms of the write
    let audit_args = audit.map(|event| audit_statement(event).1.args);
    let row = match &result {
        SharedResult::Stored(result_id) | SharedResult::StoredWhile { result_id, .. } => Some(
            SessionRow::new(
                id_hash.clone(),
                db_number(revision)?,
                now,
                expires.unix_millis(),
                result_id,
                cipher.environment_id(),
                audit_args.clone(),
            )?
            .pinned(pins.clone())?,
        ),
        SharedResult::New { .. } => None,
    };
    let session_statement = statements.len();
    let mut session_args = args![
        id_hash.clone(),
        db_number(revision)?,
        Vec::<u8>::new(),
        now,
        expires.unix_millis(),
        result_id.as_str(),
        cipher.environment_id()
    ];
    session_args.extend(pins);
    statements.push(Statement {
        sql: session_of_stored_result(n_pins),
        args: session_args,
    });
    if let Some(mut args) = audit_args {
        args.push(id_hash.into());
        statements.push(Statement {
            sql: AUDIT_IF_SESSION.into(),
            args,
        });
    }
    Ok((
        SharedSession { id, result_id },
        session_statement,
        statements,
        row,
    ))
}

pub(super) async fn session(
    tx: &mut dyn Tx,
    master: &MasterKey,
    env: &EnvRef,
    id: &str,
) -> Result<Plaintext, StoreError> {
    let row = find(tx, env, false).await?;
    let id_hash = session_key(id);
    let found = tx
        .query_opt(
            "SELECT s.result, s.result_id, r.result FROM sessions s \
             LEFT JOIN session_results r ON r.id = s.result_id AND r.env_id = s.env_id \
             WHERE s.id_hash = $1 AND s.env_id = $2 AND s.expires > $3",
            args![
                id_hash.clone(),
                &row.info.id,
                Timestamp::now().unix_millis()
            ],
        )
        .await?
        .ok_or_else(|| StoreError::not_found("session"))?;
    let cipher = row.cipher(master)?;
    match found.opt_text(1)? {
        None => cipher.open("session", &hex(&id_hash), &found.bytes(0)?),
        // written only while the result is kept at least as long
        Some(result_id) => cipher.open(
            SHARED_RESULT_CONTEXT,
            &result_id,
            &found.opt_bytes(2)?.ok_or_else(|| StoreError::Corrupt {
                table: "sessions",
                reason: "a session's shared result is missing".into(),
            })?,
        ),
    }
}

/// Which rows [`purge_expired`] deletes from.
#[derive(Clone, Copy)]
pub(super) enum Purged {
    Sessions,
    SessionResults,
}

/// Deletes at most `limit` rows of `table` expired at `now` (the oldest
/// first); returns how many. A purge is a loop of these, each its own
/// transaction, so a large backlog never holds the writer for long.
pub(super) async fn purge_expired(
    tx: &mut dyn Tx,
    table: Purged,
    now: Timestamp,
    limit: u32,
) -> Result<u64, StoreError> {
    // Sessions pointing to a shared result expire no later than it, so
    // the two tables are purged independently (an expired session is
    // never read, whatever it points to).
    let sql = match table {
        Purged::Sessions => {
            "DELETE FROM sessions WHERE id_hash IN \
             (SELECT id_hash FROM sessions WHERE expires <= $1 ORDER BY expires LIMIT $2)"
        }
        Purged::SessionResults => {
            "DELETE FROM session_results WHERE id IN \
             (SELECT id FROM session_results WHERE expires <= $1 ORDER BY expires LIMIT $2)"
        }
    };
    tx.execute(sql, args![now.unix_millis(), i64::from(limit)])
        .await
}

const TOKEN_COLUMNS: &str = "id, owner, description, created, last_used, expires";

fn token_from_row(row: &Row) -> Result<AccessToken, StoreError> {
    Ok(AccessToken {
        id: row.text(0)?,
        owner: row.text(1)?,
        description: row.text(2)?,
        created: Timestamp::from_unix_millis(row.int(3)?),
        last_used: row.opt_int(4)?.map(Timestamp::from_unix_millis),
        expires: row.opt_int(5)?.map(Timestamp::from_unix_millis),
    })
}

pub(super) async fn create_token(
    tx: &mut dyn Tx,
    owner: &str,
    description: &str,
    expires: Option<Timestamp>,
) -> Result<NewAccessToken, StoreError> {
    if owner.is_empty() {
        return Err(StoreError::invalid("a token owner must not be empty"));
    }
    let secret =
        Plaintext::new(format!("{TOKEN_PREFIX}{}", hex(&random_bytes::<32>()?)).into_bytes());
    let now = Timestamp::now();
    let token = AccessToken {
        id: uuid::Uuid::new_v4().to_string(),
        owner: owner.to_owned(),
        description: description.to_owned(),
        created: now,
        last_used: None,
        expires,
    };
    tx.execute(
        "INSERT INTO access_tokens (id, token_hash, owner, description, created, last_used, expires) \
         VALUES ($1, $2, $3, $4, $5, NULL, $6)",
        args![
            &token.id,
            sha256(secret.expose()),
            owner,
            description,
            now.unix_millis(),
            expires.map(Timestamp::unix_millis)
        ],
    )
    .await?;
    Ok(NewAccessToken { token, secret })
}

/// How stale `last_used` may get before an authentication rewrites it.
const LAST_USED_GRANULARITY_MILLIS: i64 = 60_000;

/// The unexpired token a bearer value belongs to, or `NotFound`.
pub(super) async fn find_token(tx: &mut dyn Tx, secret: &str) -> Result<AccessToken, StoreError> {
    let found = tx
        .query_opt(
            &format!("SELECT {TOKEN_COLUMNS} FROM access_tokens WHERE token_hash = $1"),
            args![sha256(secret.as_bytes())],
        )
        .await?
        .ok_or_else(|| StoreError::not_found("access token"))?;
    let token = token_from_row(&found)?;
    if token
        .expires
        .is_some_and(|expires| expires <= Timestamp::now())
    {
        return Err(StoreError::not_found("access token"));
    }
    Ok(token)
}

/// The time to record as `token`'s last use, when the recorded one is a
/// minute or more old (so a busy token is not a row write per request).
pub(super) fn last_used_due(token: &AccessToken) -> Option<Timestamp> {
    let now = Timestamp::now();
    token
        .last_used
        .is_none_or(|used| used.unix_millis() + LAST_USED_GRANULARITY_MILLIS <= now.unix_millis())
        .then_some(now)
}

/// Records a use of a token (unless a concurrent request just did).
pub(super) async fn touch_token(
    tx: &mut dyn Tx,
    id: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE access_tokens SET last_used = $1 WHERE id = $2 AND (last_used IS NULL OR last_used < $1)",
        args![now.unix_millis(), id],
    )
    .await?;
    Ok(())
}

pub(super) async fn list_tokens(
    tx: &mut dyn Tx,
    owner: &str,
) -> Result<Vec<AccessToken>, StoreError> {
    tx.query(
        &format!("SELECT {TOKEN_COLUMNS} FROM access_tokens WHERE owner = $1 ORDER BY created, id"),
        args![owner],
    )
    .await?
    .iter()
    .map(token_from_row)
    .collect()
}

pub(super) async fn delete_token(tx: &mut dyn Tx, owner: &str, id: &str) -> Result<(), StoreError> {
    let n_deleted = tx
        .execute(
            "DELETE FROM access_tokens WHERE owner = $1 AND id = $2",
            args![owner, id],
        )
        .await?;
    if n_deleted == 0 {
        return Err(StoreError::not_found(format!("access token {id}")));
    }
    Ok(())
}

/// A new audit event id and the statement that appends the event.
fn audit_statement(event: &NewAuditEvent) -> (String, Statement) {
    // time-ordered (version 7): new events append to the id index
    let id = match random_bytes::<10>() {
        Ok(random) => {
            let millis = u64::try_from(event.time.unix_millis()).unwrap_or(0);
            uuid::Builder::from_unix_timestamp_millis(millis, &random)
                .into_uuid()
                .to_string()
        }
        Err(_) => uuid::Uuid::new_v4().to_string(),
    };
    let statement = Statement {
        sql: "INSERT INTO audit_events (id, time, org, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)".into(),
        args: args![
            id.as_str(),
            event.time.unix_millis(),
            &event.org,
            &event.actor,
            &event.action,
            &event.target,
            &event.detail
        ],
    };
    (id, statement)
}

pub(super) async fn append_audit(
    tx: &mut dyn Tx,
    event: &NewAuditEvent,
) -> Result<AuditEvent, StoreError> {
    let (id, statement) = audit_statement(event);
    tx.execute(&statement.sql, statement.args).await?;
    Ok(AuditEvent {
        id,
        event: event.clone(),
    })
}

pub(super) async fn list_audit(
    tx: &mut dyn Tx,
    org: &str,
    page_token: Option<&str>,
    count: u32,
) -> Result<Page<AuditEvent>, StoreError> {
    let (before_time, before_id) = match page_token.filter(|t| !t.is_empty()) {
        Some(token) => decode_audit_token(token)?,
        None => (i64::MAX, String::new()),
    };
    let n_wanted = limit(count);
    let rows = tx
        .query(
            "SELECT id, time, org, actor, action, target, detail FROM audit_events \
             WHERE org = $1 AND (time < $2 OR (time = $2 AND id < $3)) ORDER BY time DESC, id DESC LIMIT $4",
            args![org, before_time, before_id, n_wanted + 1],
        )
        .await?;
    let mut items = rows
        .iter()
        .map(|row| {
            Ok(AuditEvent {
                id: row.text(0)?,
                event: NewAuditEvent {
                    time: Timestamp::from_unix_millis(row.int(1)?),
                    org: row.text(2)?,
                    actor: row.text(3)?,
                    action: row.text(4)?,
                    target: row.text(5)?,
                    detail: row.text(6)?,
                },
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let next = if items.len() as i64 > n_wanted {
        items.truncate(n_wanted as usize);
        items.last().map(|last| {
            URL_SAFE_NO_PAD.encode(format!("{}:{}", last.event.time.unix_millis(), last.id))
        })
    } else {
        None
    };
    Ok(Page { items, next })
}

fn decode_audit_token(token: &str) -> Result<(i64, String), StoreError> {
    let invalid = || StoreError::invalid("malformed continuation token");
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?)
        .map_err(|_| invalid())?;
    let (time, id) = text.split_once(':').ok_or_else(invalid)?;
    Ok((time.parse().map_err(|_| invalid())?, id.to_owned()))
}

const WEBHOOK_COLUMNS: &str = "name, display_name, payload_url, format, filters, groups_list, active, \
     secret IS NOT NULL, created, modified";

fn join_list(items: &[String], what: &str) -> Result<String, StoreError> {
    if items
        .iter()
        .any(|item| item.contains('\n') || item.is_empty())
    {
        return Err(StoreError::invalid(format!(
            "webhook {what} must be non-empty single-line names"
        )));
    }
    Ok(items.join("\n"))
}

fn split_list(text: &str) -> Vec<String> {
    text.split('\n')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn webhook_from_row(env: &EnvRef, row: &Row) -> Result<Webhook, StoreError> {
    Ok(Webhook {
        environment: env.clone(),
        name: row.text(0)?,
        display_name: row.text(1)?,
        payload_url: row.text(2)?,
        format: row.text(3)?,
        filters: split_list(&row.text(4)?),
        groups: split_list(&row.text(5)?),
        active: row.bool(6)?,
        has_secret: row.bool(7)?,
        created: Timestamp::from_unix_millis(row.int(8)?),
        modified: Timestamp::from_unix_millis(row.int(9)?),
    })
}

pub(super) async fn create_webhook(
    tx: &mut dyn Tx,
    master: &MasterKey,
    env: &EnvRef,
    name: &str,
    spec: &WebhookSpec,
    secret: Option<&Plaintext>,
) -> Result<Webhook, StoreError> {
    if name.is_empty() {
        return Err(StoreError::invalid("a webhook name must not be empty"));
    }
    let row = find(tx, env, false).await?;
    let sealed = match secret {
        Some(secret) => Some(
            row.cipher(master)?
                .seal("webhook-secret", name, secret.expose())?,
        ),
        None => None,
    };
    let now = Timestamp::now().unix_millis();
    tx.execute(
        "INSERT INTO webhooks (env_id, name, display_name, payload_url, format, filters, groups_list, active, secret, \
         created, modified) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        args![
            &row.info.id,
            name,
            &spec.display_name,
            &spec.payload_url,
            &spec.format,
            join_list(&spec.filters, "filters")?,
            join_list(&spec.groups, "groups")?,
            spec.active,
            sealed,
            now
        ],
    )
    .await
    .map_err(|error| {
        if error.is_unique_violation() {
            StoreError::already_exists(format!("webhook {name}"))
        } else {
            error
        }
    })?;
    webhook(tx, env, name).await
}

pub(super) async fn webhook(
    tx: &mut dyn Tx,
    env: &EnvRef,
    name: &str,
) -> Result<Webhook, StoreError> {
    let row = find(tx, env, false).await?;
    let found = tx
        .query_opt(
            &format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE env_id = $1 AND name = $2"),
            args![&row.info.id, name],
        )
        .await?
        .ok_or_else(|| StoreError::not_found(format!("webhook {name}")))?;
    webhook_from_row(env, &found)
}

pub(super) async fn list_webhooks(
    tx: &mut dyn Tx,
    env: &EnvRef,
) -> Result<Vec<Webhook>, StoreError> {
    let row = find(tx, env, false).await?;
    tx.query(
        &format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE env_id = $1 ORDER BY name"),
        args![&row.info.id],
    )
    .await?
    .iter()
    .map(|found| webhook_from_row(env, found))
    .collect()
}

pub(super) async fn update_webhook(
    tx: &mut dyn Tx,
    master: &MasterKey,
    env: &EnvRef,
    name: &str,
    spec: &WebhookSpec,
    secret: &WebhookSecretUpdate,
) -> Result<Webhook, StoreError> {
    let row = find(tx, env, false).await?;
    webhook(tx, env, name).await?;
    let now = Timestamp::now().unix_millis();
    tx.execute(
        "UPDATE webhooks SET display_name = $1, payload_url = $2, format = $3, filters = $4, groups_list = $5, \
         active = $6, modified = $7 WHERE env_id = $8 AND name = $9",
        args![
            &spec.display_name,
            &spec.payload_url,
            &spec.format,
            join_list(&spec.filters, "filters")?,
            join_list(&spec.groups, "groups")?,
            spec.active,
            now,
            &row.info.id,
            name
        ],
    )
    .await?;
    let new_secret = match secret {
        WebhookSecretUpdate::Keep => None,
        WebhookSecretUpdate::Remove => Some(None),
        WebhookSecretUpdate::Set(secret) => Some(Some(row.cipher(master)?.seal(
            "webhook-secret",
            name,
            secret.expose(),
        )?)),
    };
    if let Some(sealed) = new_secret {
        tx.execute(
            "UPDATE webhooks SET secret = $1 WHERE env_id = $2 AND name = $3",
            args![sealed, &row.info.id, name],
        )
        .await?;
    }
    webhook(tx, env, name).await
}

pub(super) async fn delete_webhook(
    tx: &mut dyn Tx,
    env: &EnvRef,
    name: &str,
) -> Result<(), StoreError> {
    let row = find(tx, env, false).await?;
    let n_deleted = tx
        .execute(
            "DELETE FROM webhooks WHERE env_id = $1 AND name = $2",
            args![&row.info.id, name],
        )
        .await?;
    if n_deleted == 0 {
        return Err(StoreError::not_found(format!("webhook {name}")));
    }
    Ok(())
}

pub(super) async fn webhook_secret(
    tx: &mut dyn Tx,
    master: &MasterKey,
    env: &EnvRef,
    name: &str,
) -> Result<Option<Plaintext>, StoreError> {
    let row = find(tx, env, false).await?;
    let found = tx
        .query_opt(
            "SELECT secret FROM webhooks WHERE env_id = $1 AND name = $2",
            args![&row.info.id, name],
        )
        .await?
        .ok_or_else(|| StoreError::not_found(format!("webhook {name}")))?;
    match found.opt_bytes(0)? {
        Some(sealed) => row
            .cipher(master)?
            .open("webhook-secret", name, &sealed)
            .map(Some),
        None => Ok(None),
    }
}

/// Deliveries kept per webhook (older ones are deleted as new ones are
/// recorded): the most one listing returns.
const KEPT_DELIVERIES: i64 = 1000;

pub(super) async fn record_delivery(
    tx: &mut dyn Tx,
    master: &MasterKey,
    env: &EnvRef,
    name: &str,
    delivery: &NewWebhookDelivery,
) -> Result<WebhookDelivery, StoreError> {
    webhook(tx, env, name).await?;
    let row = find(tx, env, false).await?;
    let id = uuid::Uuid::new_v4().to_string();
    let sealed = row
        .cipher(master)?
        .seal("webhook-delivery", &id, delivery.details.expose())?;
    tx.execute(
        "INSERT INTO webhook_deliveries (id, env_id, webhook, kind, time, duration_ms, response_code, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![
            id.as_str(),
            &row.info.id,
            name,
            &delivery.kind,
            delivery.time.unix_millis(),
            delivery.duration_ms,
            delivery.response_code.map(i64::from),
            sealed
        ],
    )
    .await?;
    // a busy hook's log stays bounded: the newest are kept, as many as one
    // listing can show
    tx.execute(
        "DELETE FROM webhook_deliveries WHERE env_id = $1 AND webhook = $2 AND id NOT IN \
         (SELECT id FROM webhook_deliveries WHERE env_id = $1 AND webhook = $2 \
         ORDER BY time DESC, id DESC LIMIT $3)",
        args![&row.info.id, name, KEPT_DELIVERIES],
    )
    .await?;
    Ok(WebhookDelivery {
        id,
        webhook: name.to_owned(),
        delivery: delivery.clone(),
    })
}

pub(super) async fn list_deliveries(
    tx: &mut dyn Tx,
    master: &MasterKey,
    env: &EnvRef,
    name: &str,
    count: u32,
) -> Result<Vec<WebhookDelivery>, StoreError> {
    webhook(tx, env, name).await?;
    let row = find(tx, env, false).await?;
    let cipher = row.cipher(master)?;
    tx.query(
        "SELECT id, kind, time, duration_ms, response_code, details FROM webhook_deliveries \
         WHERE env_id = $1 AND webhook = $2 ORDER BY time DESC, id DESC LIMIT $3",
        args![&row.info.id, name, limit(count)],
    )
    .await?
    .iter()
    .map(|found| {
        let id = found.text(0)?;
        let response_code = found
            .opt_int(4)?
            .map(|code| {
                u16::try_from(code).map_err(|_| StoreError::Corrupt {
                    table: "webhook_deliveries",
                    reason: "response code out of range".into(),
                })
            })
            .transpose()?;
        Ok(WebhookDelivery {
            webhook: name.to_owned(),
            delivery: NewWebhookDelivery {
                kind: found.text(1)?,
                time: Timestamp::from_unix_millis(found.int(2)?),
                duration_ms: found.int(3)?,
                response_code,
                details: cipher.open("webhook-delivery", &id, &found.bytes(5)?)?,
            },
            id,
        })
    })
    .collect()
}

pub(super) async fn put_signing_key(
    tx: &mut dyn Tx,
    master: &MasterKey,
    kid: &str,
    algorithm: &str,
    private_key: &Plaintext,
) -> Result<(), StoreError> {
    if kid.is_empty() {
        return Err(StoreError::invalid("a signing key id must not be empty"));
    }
    let sealed = master.seal_global("signing-key", kid, private_key.expose())?;
    tx.execute(
        "INSERT INTO signing_keys (kid, algorithm, private_key, created, retired) VALUES ($1, $2, $3, $4, NULL)",
        args![kid, algorithm, sealed, Timestamp::now().unix_millis()],
    )
    .await
    .map_err(|error| {
        if error.is_unique_violation() {
            StoreError::already_exists(format!("signing key {kid}"))
        } else {
            error
        }
    })?;
    Ok(())
}

pub(super) async fn list_signing_keys(
    tx: &mut dyn Tx,
    master: &MasterKey,
) -> Result<Vec<SigningKey>, StoreError> {
    let rows = tx
        .query(
            "SELECT kid, algorithm, private_key, created, retired FROM signing_keys ORDER BY created, kid",
            vec![],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let kid = row.text(0)?;
            let private_key = master.open_global("signing-key", &kid, &row.bytes(2)?)?;
            Ok(SigningKey {
                algorithm: row.text(1)?,
                private_key,
                created: Timestamp::from_unix_millis(row.int(3)?),
                retired: row.opt_int(4)?.map(Timestamp::from_unix_millis),
                kid,
            })
        })
        .collect()
}

pub(super) async fn retire_signing_key(tx: &mut dyn Tx, kid: &str) -> Result<(), StoreError> {
    let n_changed = tx
        .execute(
            "UPDATE signing_keys SET retired = $1 WHERE kid = $2 AND retired IS NULL",
            args![Timestamp::now().unix_millis(), kid],
        )
        .await?;
    if n_changed == 0 {
        tx.query_opt("SELECT kid FROM signing_keys WHERE kid = $1", args![kid])
            .await?
            .ok_or_else(|| StoreError::not_found(format!("signing key {kid}")))?;
    }
    Ok(())
}

pub(super) async fn delete_signing_key(tx: &mut dyn Tx, kid: &str) -> Result<(), StoreError> {
    let n_deleted = tx
        .execute("DELETE FROM signing_keys WHERE kid = $1", args![kid])
        .await?;
    if n_deleted == 0 {
        return Err(StoreError::not_found(format!("signing key {kid}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn session_ids_start_with_their_time_and_keys_sort_by_it() {
        let (first, first_key) = new_session_id().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(3));
        let (second, second_key) = new_session_id().unwrap();
        for (id, key) in [(&first, &first_key), (&second, &second_key)] {
            assert_eq!(id.len(), 44);
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
            assert_eq!(*key, session_key(id));
            // 6 bytes of time, then the digest of the whole id
            assert_eq!(key.len(), 6 + 32);
            assert_eq!(key[6..], sha256(id.as_bytes())[..]);
            let millis = u64::from_str_radix(&id[..12], 16).unwrap();
            let now = u64::try_from(Timestamp::now().unix_millis()).unwrap();
            assert!(millis <= now && now - millis < 60_000, "{millis} vs {now}");
        }
        assert!(first < second);
        assert!(first_key < second_key);
    }

    #[test]
    fn ids_of_the_earlier_form_keep_their_key() {
        // 32 hex digits: what sessions were stored under before
        let old = "0123456789abcdef0123456789abcdef";
        assert_eq!(session_key(old), sha256(old.as_bytes()));
        // anything else a client sends: its digest alone, no panic
        let signed = format!("+{}", "0".repeat(43));
        for other in ["", "zz", &"g".repeat(44), "é", &"0".repeat(45), &signed] {
            assert_eq!(session_key(other), sha256(other.as_bytes()));
        }
    }

    #[test]
    fn audit_ids_are_time_ordered_uuids() {
        let event = |millis| NewAuditEvent {
            time: Timestamp::from_unix_millis(millis),
            org: "acme".into(),
            actor: "alice".into(),
            action: "environment.open".into(),
            target: "app/dev".into(),
            detail: String::new(),
        };
        let (early, _) = audit_statement(&event(1_700_000_000_000));
        let (late, _) = audit_statement(&event(1_700_000_000_001));
        for id in [&early, &late] {
            let parsed = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(parsed.get_version_num(), 7);
        }
        assert!(early < late);
    }
}
