//! Federation policy as admins set it: the mode (open, blocklist, allowlist), domain blocks and
//! allowed domains, their CSV import and export, and keeping every process's copy current.
//!
//! The rules themselves (which host is refused, silenced, ...) are decided in one place,
//! `hearth_federation::policy::Policy`; this module stores them, records each change in the
//! audit log in the change's own transaction, and loads them into the [`SharedPolicy`] every
//! gate reads. A process sees another process's change within [`REFRESH_EVERY`].

use super::{
    Context,
    accounts::Role,
    audit::{self, Acting, Action, Entry, Target},
};
use crate::{
    Error,
    db::{
        AnyConnection, Database, actors, deliveries,
        policy::{self as rows, DomainAllowRow, DomainBlockRow, PolicyRow},
    },
};
use chrono::Utc;
use hearth_federation::policy::{
    DomainRule, Mode, Policy, Severity, SharedPolicy, canonical_host, covers,
};
use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// How often each process looks for a change made elsewhere (by another process sharing the
/// database, or the command line).
pub const REFRESH_EVERY: Duration = Duration::from_secs(1);

/// How long after a change every process sharing the database applies it: the command line
/// waits this long before it returns, so that what it reports is in force everywhere.
pub const SETTLES_WITHIN: Duration = Duration::from_millis(1500);

/// The error for anything asked of a server the policy refuses.
pub fn refused(host: &str) -> Error {
    Error::Forbidden(format!(
        "federation with {host} is not allowed by this instance's policy"
    ))
}

/// The stored policy, as the gates read it.
pub fn load(conn: &mut AnyConnection) -> Result<Policy, Error> {
    let settings = rows::settings(conn)?;
    let rules = rows::blocks(conn)?
        .into_iter()
        .map(|row| {
            let block = BlockRequest::from(row);
            DomainRule {
                severity: block.severity,
                domain: block.domain,
                reject_media: block.reject_media,
                reject_reports: block.reject_reports,
            }
        })
        .collect();
    let allowed = rows::allows(conn)?.into_iter().map(|a| a.domain).collect();
    Ok(Policy {
        mode: mode_of(&settings),
        rules,
        allowed,
        version: settings.version,
    })
}

/// Reads the stored policy and puts it in force in this process.
pub async fn refresh(db: &Database, policy: &SharedPolicy) -> Result<(), Error> {
    let loaded = db.lookup(load).await?;
    policy.replace(loaded);
    Ok(())
}

/// Keeps `policy` current with the database in the background, until the instance that owns
/// it is dropped.
pub fn keep_current(db: Database, policy: &SharedPolicy) {
    let weak = policy.downgrade();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(REFRESH_EVERY).await;
            let Some(policy) = weak.upgrade() else { break };
            let seen = policy.current().version;
            match db.lookup(|conn| Ok(rows::version(conn)?)).await {
                Ok(version) if version == seen => {}
                Ok(_) => {
                    if let Err(e) = refresh(&db, &policy).await {
                        tracing::error!(error = %e, "reloading the federation policy failed");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "checking the federation policy failed"),
            }
        }
    });
}

/// Everything an admin sees of the policy.
#[derive(Clone, Debug)]
pub struct Overview {
    /// The mode and whether the block list is public.
    pub settings: PolicyRow,
    /// Domain blocks, by domain.
    pub blocks: Vec<DomainBlockRow>,
    /// Allowed domains, by domain.
    pub allows: Vec<DomainAllowRow>,
}

impl Overview {
    /// The mode in force.
    pub fn mode(&self) -> Mode {
        mode_of(&self.settings)
    }
}

/// The whole policy (admins).
pub async fn overview(ctx: &Context, by: &Acting) -> Result<Overview, Error> {
    by.check(Role::may_administer)?;
    ctx.db
        .lookup(|conn| {
            Ok(Overview {
                settings: rows::settings(conn)?,
                blocks: rows::blocks(conn)?,
                allows: rows::allows(conn)?,
            })
        })
        .await
}

/// One domain block (admins).
pub async fn block(ctx: &Context, by: &Acting, id: i64) -> Result<DomainBlockRow, Error> {
    by.check(Role::may_administer)?;
    ctx.db
        .lookup(move |conn| rows::block_by_id(conn, id)?.ok_or_else(record_not_found))
        .await
}

/// One allowed domain (admins).
pub async fn allow(ctx: &Context, by: &Acting, id: i64) -> Result<DomainAllowRow, Error> {
    by.check(Role::may_administer)?;
    ctx.db
        .lookup(move |conn| rows::allow_by_id(conn, id)?.ok_or_else(record_not_found))
        .await
}

fn record_not_found() -> Error {
    Error::not_found("Record not found")
}

/// The blocks anyone may read at `/api/v1/instance/domain_blocks`, if an admin made the list
/// public; `None` if not.
pub async fn public_blocks(ctx: &Context) -> Result<Option<Vec<DomainBlockRow>>, Error> {
    ctx.db
        .lookup(|conn| {
            if !rows::settings(conn)?.public_list {
                return Ok(None);
            }
            Ok(Some(rows::blocks(conn)?))
        })
        .await
}

/// A domain block as an admin asks for it.
#[derive(Clone, Debug, Default)]
pub struct BlockRequest {
    /// The domain (a host, `host:port`, or a URL on it).
    pub domain: String,
    /// How hard.
    pub severity: Severity,
    /// Reject its media.
    pub reject_media: bool,
    /// Drop its reports.
    pub reject_reports: bool,
    /// A comment for admins only.
    pub private_comment: Option<String>,
    /// A comment shown with the public list.
    pub public_comment: Option<String>,
    /// Show the domain partly hidden in the public list.
    pub obfuscate: bool,
}

impl From<DomainBlockRow> for BlockRequest {
    /// The request that would save this block as it is: the base of a change to it.
    fn from(row: DomainBlockRow) -> Self {
        Self {
            severity: Severity::parse(&row.severity).unwrap_or(Severity::Suspend),
            reject_media: row.reject_media,
            reject_reports: row.reject_reports,
            private_comment: row.private_comment,
            public_comment: row.public_comment,
            obfuscate: row.obfuscate,
            domain: row.domain,
        }
    }
}

/// One change an admin makes.
#[derive(Clone, Debug)]
pub enum Change {
    /// Set the mode.
    Mode(Mode),
    /// Show or hide the block list at `/api/v1/instance/domain_blocks`.
    PublicList(bool),
    /// Add a domain block, or replace the one of the same domain.
    Block(BlockRequest),
    /// Remove the block of a domain.
    Unblock(String),
    /// Allow a domain (allowlist mode).
    Allow(String),
    /// Remove a domain from the allowed ones.
    Unallow(String),
}

/// What a change did.
#[derive(Clone, Debug)]
pub enum Changed {
    /// The mode now in force.
    Mode(Mode),
    /// Whether the block list is now public.
    PublicList(bool),
    /// The block as saved, the mode it put in force (a first block in open mode switches to
    /// blocklist), and how much was removed of a suspended domain.
    Blocked {
        /// The saved block.
        block: DomainBlockRow,
        /// The mode in force after it.
        mode: Mode,
        /// What a suspension removed.
        purged: Purged,
    },
    /// The removed block, if there was one.
    Unblocked(Option<DomainBlockRow>),
    /// The allow as saved.
    Allowed(DomainAllowRow),
    /// The removed allow, if there was one.
    Unallowed(Option<DomainAllowRow>),
}

/// What cutting a server off removed here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    /// Its accounts and groups known here, with their posts, follows and memberships.
    pub actors: usize,
    /// Deliveries waiting for it, dropped.
    pub deliveries: i64,
}

/// Makes one change (admins), records it in the audit log in the same transaction, and puts
/// the new policy in force in this process at once (others follow within [`REFRESH_EVERY`]).
/// Servers the change cuts off lose their waiting deliveries; a suspended domain's accounts and
/// everything stored from them are removed.
pub async fn change(
    ctx: &Context,
    by: &Acting,
    change: Change,
    reason: Option<String>,
) -> Result<Changed, Error> {
    by.check(Role::may_administer)?;
    let by = by.clone();
    let changed = ctx
        .write(move |conn, ctx| apply(conn, ctx, &by, change, reason))
        .await?;
    refresh(&ctx.db, &ctx.policy).await?;
    Ok(changed)
}

fn apply(
    conn: &mut AnyConnection,
    ctx: &Context,
    by: &Acting,
    change: Change,
    reason: Option<String>,
) -> Result<Changed, Error> {
    let now = Utc::now().naive_utc();
    // First, so that its row lock (PostgreSQL) orders changes made at once.
    rows::bump(conn)?;
    let (changed, entry) = match change {
        Change::Mode(mode) => {
            rows::set_mode(conn, mode.as_str())?;
            let dropped = cut_off(conn)?.deliveries;
            let entry = Entry::new(Action::FederationMode, Target::host(ctx.urls.domain()))
                .detail(format!("mode {mode}; {dropped} deliveries dropped"));
            (Changed::Mode(mode), entry)
        }
        Change::PublicList(public) => {
            rows::set_public_list(conn, public)?;
            let entry = Entry::new(
                Action::FederationPublicList,
                Target::host(ctx.urls.domain()),
            )
            .detail(if public { "public" } else { "hidden" });
            (Changed::PublicList(public), entry)
        }
        Change::Block(request) => {
            let domain = domain_of(&request.domain)?;
            let existing = rows::block_of(conn, &domain)?;
            let block = DomainBlockRow {
                id: existing
                    .as_ref()
                    .map_or_else(crate::db::id::new_id, |b| b.id),
                domain: domain.clone(),
                severity: request.severity.as_str().to_owned(),
                reject_media: request.reject_media,
                reject_reports: request.reject_reports,
                private_comment: nonempty(request.private_comment),
                public_comment: nonempty(request.public_comment),
                obfuscate: request.obfuscate,
                created_at: existing.as_ref().map_or(now, |b| b.created_at),
                updated_at: now,
            };
            rows::save_block(conn, &block)?;
            let mut mode = mode_of(&rows::settings(conn)?);
            if mode == Mode::Open {
                // A block in open mode would do nothing: blocking is what the admin asked for.
                mode = Mode::Blocklist;
                rows::set_mode(conn, mode.as_str())?;
            }
            let purged = if request.severity == Severity::Suspend {
                Purged {
                    actors: purge(conn, &domain)?,
                    ..cut_off(conn)?
                }
            } else {
                Purged::default()
            };
            let entry = Entry::new(Action::DomainBlock, Target::host(&domain))
                .detail(describe_block(&block, mode, purged));
            (
                Changed::Blocked {
                    block,
                    mode,
                    purged,
                },
                entry,
            )
        }
        Change::Unblock(domain) => {
            let domain = domain_of(&domain)?;
            let existing = rows::block_of(conn, &domain)?;
            rows::delete_block(conn, &domain)?;
            let entry = Entry::new(Action::DomainUnblock, Target::host(&domain)).detail(
                existing
                    .as_ref()
                    .map_or("no block".to_owned(), |b| format!("was {}", b.severity)),
            );
            (Changed::Unblocked(existing), entry)
        }
        Change::Allow(domain) => {
            let domain = domain_of(&domain)?;
            if let Some(allowed) = rows::allow_of(conn, &domain)? {
                // Allowing what is allowed changes nothing, so nothing is recorded.
                return Ok(Changed::Allowed(allowed));
            }
            rows::insert_allow(
                conn,
                &DomainAllowRow {
                    id: crate::db::id::new_id(),
                    domain: domain.clone(),
                    created_at: now,
                },
            )?;
            let allow = rows::allow_of(conn, &domain)?
                .ok_or_else(|| Error::Internal("an allow just saved is missing".into()))?;
            (
                Changed::Allowed(allow),
                Entry::new(Action::DomainAllow, Target::host(&domain)),
            )
        }
        Change::Unallow(domain) => {
            let domain = domain_of(&domain)?;
            let existing = rows::allow_of(conn, &domain)?;
            rows::delete_allow(conn, &domain)?;
            let dropped = cut_off(conn)?.deliveries;
            let entry = Entry::new(Action::DomainUnallow, Target::host(&domain))
                .detail(format!("{dropped} deliveries dropped"));
            (Changed::Unallowed(existing), entry)
        }
    };
    // An allowed domain is a trusted clinic: its clinicians' verification counts here.
    let policy = load(conn)?;
    super::clinicians::rejudge(conn, &policy)?;
    audit::record(conn, by, entry.reason(reason))?;
    Ok(changed)
}

/// What a block does, as the audit log and the command line say it: "suspend, reject media;
/// mode blocklist; 2 accounts and 5 deliveries removed".
pub fn describe_block(block: &DomainBlockRow, mode: Mode, purged: Purged) -> String {
    let mut what = block.severity.clone();
    if block.reject_media {
        what.push_str(", reject media");
    }
    if block.reject_reports {
        what.push_str(", reject reports");
    }
    format!(
        "{what}; mode {mode}; {} accounts and {} deliveries removed",
        purged.actors, purged.deliveries
    )
}

/// Drops the deliveries waiting for every server the stored policy (as changed in this
/// transaction) refuses.
fn cut_off(conn: &mut AnyConnection) -> Result<Purged, Error> {
    let policy = load(conn)?;
    let mut purged = Purged::default();
    for queue in deliveries::queues(conn)? {
        if policy.refuses(&queue.host) {
            purged.deliveries += deliveries::drop_host(conn, &queue.host)?;
        }
    }
    Ok(purged)
}

/// Removes the accounts and groups of a suspended domain (and its subdomains) and, with them,
/// their posts, follows, memberships, likes and notifications; how many actors.
fn purge(conn: &mut AnyConnection, domain: &str) -> Result<usize, Error> {
    let doomed: Vec<i64> = actors::remote_under(conn, domain)?
        .into_iter()
        .filter(|(_, host)| covers(domain, &canonical_host(host)))
        .map(|(id, _)| id)
        .collect();
    Ok(actors::delete_remote(conn, &doomed)?)
}

/// The silenced authors, kept between requests (the public timeline asks on every read): read
/// again when the policy changes, and at most once per [`REFRESH_EVERY`] otherwise, so that a
/// silenced server's accounts first seen since are hidden within that time.
#[derive(Clone, Debug, Default)]
pub struct SilencedAuthors(Arc<Mutex<Option<SilencedRead>>>);

#[derive(Debug)]
struct SilencedRead {
    version: i64,
    at: Instant,
    ids: Arc<Vec<i64>>,
}

impl SilencedAuthors {
    /// The ids of the remote accounts and groups `policy` silences.
    pub fn get(&self, conn: &mut AnyConnection, policy: &Policy) -> Result<Arc<Vec<i64>>, Error> {
        let fresh = |read: &SilencedRead| {
            read.version == policy.version && read.at.elapsed() < REFRESH_EVERY
        };
        if let Ok(kept) = self.0.lock()
            && let Some(read) = kept.as_ref().filter(|r| fresh(r))
        {
            return Ok(read.ids.clone());
        }
        let ids = Arc::new(silenced_authors(conn, policy)?);
        if let Ok(mut kept) = self.0.lock() {
            *kept = Some(SilencedRead {
                version: policy.version,
                at: Instant::now(),
                ids: ids.clone(),
            });
        }
        Ok(ids)
    }
}

/// The remote accounts and groups whose content stays out of public timelines, search and
/// discovery (their domain is silenced); none, without a query, when no rule silences.
fn silenced_authors(conn: &mut AnyConnection, policy: &Policy) -> Result<Vec<i64>, Error> {
    let mut silenced = Vec::new();
    if policy.mode == Mode::Open {
        return Ok(silenced);
    }
    for rule in policy
        .rules
        .iter()
        .filter(|r| r.severity == Severity::Silence)
    {
        silenced.extend(
            actors::remote_under(conn, &rule.domain)?
                .into_iter()
                .filter(|(_, host)| policy.silences(host))
                .map(|(id, _)| id),
        );
    }
    Ok(silenced)
}

/// Whether the policy keeps `author`'s posts out of `viewer`'s search and public streams:
/// always those of a refused server; those of a silenced one unless the viewer follows the
/// author. (Public timelines apply the same rule to many authors at once, with
/// [`SilencedAuthors`].)
pub fn kept_from_discovery(
    conn: &mut AnyConnection,
    policy: &Policy,
    author: &actors::ActorRow,
    viewer: i64,
) -> Result<bool, Error> {
    if author.local {
        return Ok(false);
    }
    if policy.refuses(&author.domain) {
        return Ok(true);
    }
    if policy.silences(&author.domain) {
        let follows = crate::db::follows::between(conn, viewer, author.id)?;
        return Ok(!follows.is_some_and(|f| f.accepted));
    }
    Ok(false)
}

/// Imports blocks in Mastodon's CSV format (`#domain,#severity,#reject_media,#reject_reports,
/// #public_comment,#obfuscate`; a file of bare domains suspends each); how many were saved.
/// Every row is checked before any is saved, and all are saved in one transaction (one audit
/// entry each), so a bad file changes nothing.
pub async fn import(ctx: &Context, by: &Acting, csv_text: &str) -> Result<usize, Error> {
    by.check(Role::may_administer)?;
    let requests = parse_csv(csv_text)?;
    let count = requests.len();
    let by = by.clone();
    ctx.write(move |conn, ctx| {
        for request in requests {
            apply(
                conn,
                ctx,
                &by,
                Change::Block(request),
                Some("imported".into()),
            )?;
        }
        Ok(())
    })
    .await?;
    refresh(&ctx.db, &ctx.policy).await?;
    Ok(count)
}

/// The blocks in Mastodon's CSV format.
pub async fn export(ctx: &Context, by: &Acting) -> Result<String, Error> {
    let overview = overview(ctx, by).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let write = |out: &mut csv::Writer<Vec<u8>>, row: [&str; 6]| {
        out.write_record(row)
            .map_err(|e| Error::Internal(format!("writing CSV: {e}")))
    };
    write(
        &mut out,
        [
            "#domain",
            "#severity",
            "#reject_media",
            "#reject_reports",
            "#public_comment",
            "#obfuscate",
        ],
    )?;
    for block in &overview.blocks {
        write(
            &mut out,
            [
                &block.domain,
                &block.severity,
                bool_str(block.reject_media),
                bool_str(block.reject_reports),
                block.public_comment.as_deref().unwrap_or_default(),
                bool_str(block.obfuscate),
            ],
        )?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| Error::Internal(format!("writing CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::Internal(format!("writing CSV: {e}")))
}

fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// Reads Mastodon's domain-block CSV: a header naming the columns (with or without `#`), or
/// none and one domain per line.
fn parse_csv(text: &str) -> Result<Vec<BlockRequest>, Error> {
    let bad = |line: usize, why: String| Error::Unprocessable(format!("line {line}: {why}"));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut columns: Option<Vec<String>> = None;
    let mut requests = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 1;
        let record = record.map_err(|e| bad(line, e.to_string()))?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        if i == 0 && record.iter().any(|f| f.trim_start_matches('#') == "domain") {
            columns = Some(
                record
                    .iter()
                    .map(|f| f.trim_start_matches('#').to_owned())
                    .collect(),
            );
            continue;
        }
        let field = |name: &str| -> Option<&str> {
            match &columns {
                Some(columns) => columns
                    .iter()
                    .position(|c| c == name)
                    .and_then(|at| record.get(at)),
                None if name == "domain" => record.get(0),
                None => None,
            }
        };
        let flag = |name: &str| -> Result<bool, Error> {
            match field(name)
                .unwrap_or_default()
                .to_ascii_lowercase()
                .as_str()
            {
                "" | "false" | "0" => Ok(false),
                "true" | "1" => Ok(true),
                other => Err(bad(line, format!("{name} is {other:?}, not true or false"))),
            }
        };
        let domain = field("domain").unwrap_or_default();
        domain_of(domain).map_err(|e| bad(line, e.to_string()))?;
        let severity = match field("severity").unwrap_or_default() {
            "" => Severity::Suspend,
            name => Severity::parse(name).ok_or_else(|| {
                bad(
                    line,
                    format!("severity is {name:?}: use noop, silence or suspend"),
                )
            })?,
        };
        requests.push(BlockRequest {
            domain: domain.to_owned(),
            severity,
            reject_media: flag("reject_media")?,
            reject_reports: flag("reject_reports")?,
            private_comment: None,
            public_comment: field("public_comment").map(str::to_owned),
            obfuscate: flag("obfuscate")?,
        });
    }
    Ok(requests)
}

/// The canonical domain of what an admin typed, or a clear error.
fn domain_of(input: &str) -> Result<String, Error> {
    let domain = canonical_host(input);
    let valid = !domain.is_empty()
        && domain.len() <= 253
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'))
        && !domain.starts_with('.');
    if valid {
        Ok(domain)
    } else {
        Err(Error::Unprocessable(format!(
            "Validation failed: {input:?} is not a domain"
        )))
    }
}

fn nonempty(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

/// The stored mode; an unknown one is read as the closed one, never the open one.
fn mode_of(settings: &PolicyRow) -> Mode {
    Mode::parse(&settings.mode).unwrap_or(Mode::Allowlist)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mastodon_csv_is_read_with_its_header() {
        let text = "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
                    bad.example,suspend,true,false,Spam,false\n\
                    loud.example,silence,false,true,,true\n";
        let rows = parse_csv(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].domain, "bad.example");
        assert_eq!(rows[0].severity, Severity::Suspend);
        assert!(rows[0].reject_media && !rows[0].reject_reports);
        assert_eq!(rows[0].public_comment.as_deref(), Some("Spam"));
        assert_eq!(rows[1].severity, Severity::Silence);
        assert!(rows[1].reject_reports && rows[1].obfuscate);
    }

    #[test]
    fn a_bare_list_of_domains_suspends_each() {
        let rows = parse_csv("one.example\nTwo.Example.\n\n").unwrap_or_else(|e| panic!("{e}"));
        let domains: Vec<_> = rows.iter().map(|r| r.domain.as_str()).collect();
        assert_eq!(domains, ["one.example", "Two.Example."]);
        assert!(rows.iter().all(|r| r.severity == Severity::Suspend));
    }

    #[test]
    fn a_bad_row_is_named_and_nothing_is_read() {
        let text = "#domain,#severity\nok.example,silence\nbad.example,obliterate\n";
        let err = parse_csv(text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("line 3"), "{err}");
        let err = parse_csv("not a domain!\n").err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("line 1")));
    }
}
