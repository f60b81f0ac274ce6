//! The admin pages: a dashboard (federation, queues, open reports with crisis first, accounts
//! waiting), the federation policy (mode, domain blocks, allowed domains, CSV import and
//! export), reports, accounts and the audit log. Same look and rules as the sign-in pages: no
//! JavaScript, every form CSRF-protected, usable at phone width. Every act goes through the
//! same service as the API and the command line, so it is checked and recorded the same way.

use super::{
    layout::{page, respond},
    session::{check_csrf, csrf_token, current, form_of},
};
use crate::{
    Error,
    api::AppState,
    db::{audit::Filter, users::UserRow},
    service::{
        accounts::Role,
        announcements,
        audit::{self, Acting, Verdict},
        clinicians, delivery,
        moderation::{self, AccountAction},
        policy::{self, BlockRequest, Change},
        registration, reports,
    },
};
use axum::{
    extract::{Path, Query, Request, State},
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::cookie::CookieJar;
use hearth_federation::policy::{Mode, Severity};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

/// A signed-in admin or moderator, with the CSRF token their page's forms repeat.
struct Staff {
    by: Acting,
    role: Role,
    csrf: String,
    jar: CookieJar,
}

/// The staff member signed in in this browser; a sign-in redirect for nobody, 403 for others.
async fn staff(state: &AppState, jar: CookieJar) -> Result<Staff, Response> {
    let Some(me) = current(state, &jar).await else {
        return Err(Redirect::to("/auth/sign_in").into_response());
    };
    let role = me.user.role();
    if !role.may_moderate() {
        return Err(
            Error::Forbidden("Only moderators and admins may see this page".into()).into_response(),
        );
    }
    let (jar, csrf) = csrf_token(state, jar);
    Ok(Staff {
        by: Acting::person(me.actor, &me.user),
        role,
        csrf,
        jar,
    })
}

/// A staff page, with the admin navigation above `body`.
fn admin_page(state: &AppState, staff: Staff, title: &str, body: Markup) -> Response {
    let markup = page(
        &state.settings.instance_name,
        title,
        html! {
            nav aria-label="Administration" {
                a href="/admin" { "Dashboard" } " · "
                @if staff.role.may_administer() { a href="/admin/federation" { "Federation" } " · " }
                a href="/admin/reports" { "Reports" } " · "
                a href="/admin/accounts" { "Accounts" } " · "
                @if staff.role.may_administer() { a href="/admin/announcements" { "Announcements" } " · " }
                a href="/admin/audit" { "Audit log" }
            }
            h1 { (title) }
            (body)
        },
    );
    (staff.jar, respond(StatusCode::OK, markup)).into_response()
}

/// A button that posts the CSRF token to `action`.
fn button(csrf: &str, action: &str, label: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            button.secondary type="submit" { (label) }
        }
    }
}

fn time(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `GET /admin`: what needs attention.
pub async fn dashboard(State(state): State<AppState>, jar: CookieJar) -> Result<Response, Error> {
    let staff = match staff(&state, jar).await {
        Ok(staff) => staff,
        Err(answer) => return Ok(answer),
    };
    let open = reports::queue(&state.ctx, &staff.by, false, 200).await?;
    let crisis = open.iter().filter(|r| r.row.category == "crisis").count();
    let waiting = registration::accounts(&state.db, &staff.by, Some(true)).await?;
    let federation = if staff.role.may_administer() {
        Some((
            policy::overview(&state.ctx, &staff.by).await?,
            delivery::queues(&state.ctx, &staff.by).await?,
        ))
    } else {
        None
    };
    let body = html! {
        section.card aria-labelledby="reports-h" {
            h2 #reports-h { "Open reports" }
            @if crisis > 0 {
                p.error role="alert" { (crisis) " crisis report" @if crisis != 1 { "s" } " waiting" }
            }
            p { (open.len()) " open. " a href="/admin/reports" { "Review reports" } }
            ul {
                @for filed in open.iter().take(5) {
                    li { strong { (filed.row.category) } " about @" (filed.target.username)
                        @if !filed.target.local { "@" (filed.target.domain) }
                        " – " (time(filed.row.created_at)) }
                }
            }
        }
        section.card aria-labelledby="accounts-h" {
            h2 #accounts-h { "Accounts waiting for approval" }
            p { (waiting.len()) " waiting. " a href="/admin/accounts" { "Review accounts" } }
        }
        @if let Some((overview, queues)) = &federation {
            section.card aria-labelledby="federation-h" {
                h2 #federation-h { "Federation" }
                p { "Mode: " strong { (overview.mode()) } ", "
                    (overview.blocks.len()) " domain blocks, "
                    (overview.allows.len()) " allowed domains. "
                    a href="/admin/federation" { "Change" } }
                @if queues.is_empty() {
                    p.muted { "No deliveries waiting." }
                } @else {
                    ul {
                        @for q in queues.iter().take(10) {
                            li { strong { (q.host) } ": " (q.pending) " waiting, " (q.failures) " failures"
                                @if let Some(since) = q.unreachable_since { ", unreachable since " (time(since)) } }
                        }
                    }
                }
            }
        }
    };
    Ok(admin_page(&state, staff, "Administration", body))
}

/// `GET /admin/federation`: the mode, the domain blocks and the allowed domains (admins).
pub async fn federation(State(state): State<AppState>, jar: CookieJar) -> Result<Response, Error> {
    let staff = match staff(&state, jar).await {
        Ok(staff) => staff,
        Err(answer) => return Ok(answer),
    };
    let overview = policy::overview(&state.ctx, &staff.by).await?;
    let csrf = staff.csrf.clone();
    let mode = overview.mode();
    let body = html! {
        section.card aria-labelledby="mode-h" {
            h2 #mode-h { "Whom this clinic federates with" }
            form method="post" action="/admin/federation/mode" {
                input type="hidden" name="csrf" value=(csrf);
                fieldset {
                    legend { "Mode" }
                    @for (value, label) in [
                        (Mode::Open, "Open: every server"),
                        (Mode::Blocklist, "Blocklist: every server but blocked domains"),
                        (Mode::Allowlist, "Allowlist: only allowed domains (a closed network of trusted clinics)"),
                    ] {
                        label.check { input type="radio" name="mode" value=(value.as_str()) checked[mode == value]; (label) }
                    }
                }
                label.check { input type="checkbox" name="public_domain_blocks" value="true" checked[overview.settings.public_list];
                    "Show the domain blocks to anyone" }
                label for="mode-reason" { "Reason (for the audit log)" }
                input #mode-reason type="text" name="reason";
                button.primary type="submit" { "Save mode" }
            }
        }
        section.card aria-labelledby="block-h" {
            h2 #block-h { "Block a domain" }
            form method="post" action="/admin/federation/blocks" {
                input type="hidden" name="csrf" value=(csrf);
                label for="block-domain" { "Domain" }
                input #block-domain type="text" name="domain" required autocapitalize="none" spellcheck="false";
                label for="block-severity" { "Severity" }
                p.muted { "Suspending removes what is stored here of the domain and drops its deliveries." }
                select #block-severity name="severity" {
                    option value="suspend" { "Suspend (no federation at all)" }
                    option value="silence" { "Silence (out of public timelines)" }
                    option value="noop" { "None (media or reports only)" }
                }
                label.check { input type="checkbox" name="reject_media" value="true"; "Reject its media" }
                label.check { input type="checkbox" name="reject_reports" value="true"; "Ignore its reports" }
                label for="block-public" { "Public comment" }
                input #block-public type="text" name="public_comment";
                label for="block-private" { "Private comment (admins only)" }
                input #block-private type="text" name="private_comment";
                label.check { input type="checkbox" name="obfuscate" value="true"; "Hide part of the domain in the public list" }
                button.primary type="submit" { "Block domain" }
            }
        }
        section aria-labelledby="blocks-h" {
            h2 #blocks-h { "Domain blocks (" (overview.blocks.len()) ")" }
            @for b in &overview.blocks {
                div.card {
                    p { strong { (b.domain) } ": " (b.severity)
                        @if b.reject_media { ", media rejected" }
                        @if b.reject_reports { ", reports ignored" } }
                    @if let Some(c) = &b.public_comment { p { "Public: " (c) } }
                    @if let Some(c) = &b.private_comment { p.muted { "Private: " (c) } }
                    (button(&csrf, &format!("/admin/federation/blocks/{}/remove", b.id), &format!("Remove block of {}", b.domain)))
                }
            }
            p { a href="/admin/federation/blocks.csv" download="domain_blocks.csv" { "Export as CSV (Mastodon's format)" } }
            form method="post" action="/admin/federation/import" {
                input type="hidden" name="csrf" value=(csrf);
                label for="import-csv" { "Import blocks (Mastodon's CSV)" }
                textarea #import-csv name="csv" rows="4" {}
                button.secondary type="submit" { "Import" }
            }
        }
        section aria-labelledby="allows-h" {
            h2 #allows-h { "Allowed domains (" (overview.allows.len()) ")" }
            p.muted { "In force in allowlist mode." }
            form method="post" action="/admin/federation/allows" {
                input type="hidden" name="csrf" value=(csrf);
                label for="allow-domain" { "Domain" }
                input #allow-domain type="text" name="domain" required autocapitalize="none" spellcheck="false";
                button.primary type="submit" { "Allow domain" }
            }
            @for a in &overview.allows {
                div.card {
                    p { strong { (a.domain) } " – allowed " (time(a.created_at)) }
                    (button(&csrf, &format!("/admin/federation/allows/{}/remove", a.id), &format!("Remove {}", a.domain)))
                }
            }
        }
    };
    Ok(admin_page(&state, staff, "Federation", body))
}

/// Checks a posted form's CSRF token and that a staff member sent it.
async fn posted<T: serde::de::DeserializeOwned>(
    state: &AppState,
    jar: &CookieJar,
    request: Request,
) -> Result<(Acting, T), Error> {
    let form: Csrf<T> = form_of(state, request).await?;
    check_csrf(jar, form.csrf.as_deref())?;
    let me = current(state, jar).await.ok_or(Error::Unauthorized)?;
    Ok((Acting::person(me.actor, &me.user), form.fields))
}

/// A form's CSRF token beside its fields.
#[derive(Debug, Deserialize)]
struct Csrf<T> {
    csrf: Option<String>,
    #[serde(flatten)]
    fields: T,
}

/// Nothing but the token.
#[derive(Debug, Deserialize)]
struct NoFields {}

/// The mode form.
#[derive(Debug, Deserialize)]
struct ModeForm {
    mode: String,
    #[serde(default, deserialize_with = "crate::api::params::flag")]
    public_domain_blocks: Option<bool>,
    reason: Option<String>,
}

/// `POST /admin/federation/mode`.
pub async fn set_mode(
    State(state): State<AppState>,
    jar: CookieJar,
    request: Request,
) -> Result<Response, Error> {
    let (by, form) = posted::<ModeForm>(&state, &jar, request).await?;
    let mode = Mode::parse(&form.mode)
        .ok_or_else(|| Error::Unprocessable(format!("{:?} is not a mode", form.mode)))?;
    let reason = form.reason.filter(|r| !r.trim().is_empty());
    policy::change(&state.ctx, &by, Change::Mode(mode), reason.clone()).await?;
    let public = form.public_domain_blocks.unwrap_or(false);
    if policy::overview(&state.ctx, &by)
        .await?
        .settings
        .public_list
        != public
    {
        policy::change(&state.ctx, &by, Change::PublicList(public), reason).await?;
    }
    Ok(back("/admin/federation"))
}

/// The block form.
#[derive(Debug, Deserialize)]
struct BlockForm {
    domain: String,
    severity: String,
    #[serde(default, deserialize_with = "crate::api::params::flag")]
    reject_media: Option<bool>,
    #[serde(default, deserialize_with = "crate::api::params::flag")]
    reject_reports: Option<bool>,
    #[serde(default, deserialize_with = "crate::api::params::flag")]
    obfuscate: Option<bool>,
    public_comment: Option<String>,
    private_comment: Option<String>,
}

/// `POST /admin/federation/blocks`: blocks a domain (or changes its block).
pub async fn block(
    State(state): State<AppState>,
    jar: CookieJar,
    request: Request,
) -> Result<Response, Error> {
    let (by, form) = posted::<BlockForm>(&state, &jar, request).await?;
    let severity = Severity::parse(&form.severity)
        .ok_or_else(|| Error::Unprocessable(format!("{:?} is not a severity", form.severity)))?;
    let request = BlockRequest {
        domain: form.domain,
        severity,
        reject_media: form.reject_media.unwrap_or(false),
        reject_reports: form.reject_reports.unwrap_or(false),
        private_comment: form.private_comment,
        public_comment: form.public_comment,
        obfuscate: form.obfuscate.unwrap_or(false),
    };
    policy::change(&state.ctx, &by, Change::Block(request), None).await?;
    Ok(back("/admin/federation"))
}

/// `POST /admin/federation/blocks/{id}/remove`.
pub async fn unblock(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<i64>,
    request: Request,
) -> Result<Response, Error> {
    let (by, NoFields {}) = posted(&state, &jar, request).await?;
    let row = policy::block(&state.ctx, &by, id).await?;
    policy::change(&state.ctx, &by, Change::Unblock(row.domain), None).await?;
    Ok(back("/admin/federation"))
}

/// The allow form.
#[derive(Debug, Deserialize)]
struct AllowForm {
    domain: String,
}

/// `POST /admin/federation/allows`.
pub async fn allow(
    State(state): State<AppState>,
    jar: CookieJar,
    request: Request,
) -> Result<Response, Error> {
    let (by, form) = posted::<AllowForm>(&state, &jar, request).await?;
    policy::change(&state.ctx, &by, Change::Allow(form.domain), None).await?;
    Ok(back("/admin/federation"))
}

/// `POST /admin/federation/allows/{id}/remove`.
pub async fn unallow(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<i64>,
    request: Request,
) -> Result<Response, Error> {
    let (by, NoFields {}) = posted(&state, &jar, request).await?;
    let row = policy::allow(&state.ctx, &by, id).await?;
    policy::change(&state.ctx, &by, Change::Unallow(row.domain), None).await?;
    Ok(back("/admin/federation"))
}

/// The import form.
#[derive(Debug, Deserialize)]
struct ImportForm {
    csv: String,
}

/// `POST /admin/federation/import`: Mastodon's CSV; a bad row changes nothing.
pub async fn import(
    State(state): State<AppState>,
    jar: CookieJar,
    request: Request,
) -> Result<Response, Error> {
    let (by, form) = posted::<ImportForm>(&state, &jar, request).await?;
    policy::import(&state.ctx, &by, &form.csv).await?;
    Ok(back("/admin/federation"))
}

/// `GET /admin/federation/blocks.csv`: the blocks in Mastodon's CSV format.
pub async fn export(State(state): State<AppState>, jar: CookieJar) -> Result<Response, Error> {
    let me = current(&state, &jar).await.ok_or(Error::Unauthorized)?;
    let csv = policy::export(&state.ctx, &Acting::person(me.actor, &me.user)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"domain_blocks.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

/// After a form's act, back to its page (`303`, so that reloading does not post again).
fn back(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Query of the reports page.
#[derive(Debug, Default, Deserialize)]
pub struct ReportsQuery {
    #[serde(default, deserialize_with = "crate::api::params::flag")]
    resolved: Option<bool>,
}

/// `GET /admin/reports`: open reports, crisis first (or resolved ones), each with a resolve
/// form.
pub async fn reports_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<ReportsQuery>,
) -> Result<Response, Error> {
    let staff = match staff(&state, jar).await {
        Ok(staff) => staff,
        Err(answer) => return Ok(answer),
    };
    let resolved = query.resolved.unwrap_or(false);
    let list = reports::queue(&state.ctx, &staff.by, resolved, 200).await?;
    let csrf = staff.csrf.clone();
    let body = html! {
        p { @if resolved { a href="/admin/reports" { "Open reports" } }
            @else { a href="/admin/reports?resolved=true" { "Resolved reports" } } }
        @if list.is_empty() { p.muted { "No reports." } }
        @for filed in &list {
            article.card aria-label={ "Report " (filed.row.id) } {
                h2 { (filed.row.category) " – @" (filed.target.username)
                    @if !filed.target.local { "@" (filed.target.domain) } }
                p.muted { "Report " (filed.row.id) ", filed " (time(filed.row.created_at))
                    @if filed.row.forward { ", forwarded" } }
                @if !filed.row.comment.is_empty() { p { (filed.row.comment) } }
                @if let Some(at) = filed.row.action_taken_at {
                    p { "Resolved " (time(at))
                        @if let Some(note) = &filed.row.resolution_note { ": " (note) } }
                } @else {
                    form method="post" action={ "/admin/reports/" (filed.row.id) "/resolve" } {
                        input type="hidden" name="csrf" value=(csrf);
                        label for={ "note-" (filed.row.id) } { "Decision (for the record)" }
                        input id={ "note-" (filed.row.id) } type="text" name="note";
                        button.primary type="submit" { "Resolve report " (filed.row.id) }
                    }
                }
            }
        }
    };
    Ok(admin_page(&state, staff, "Reports", body))
}

/// The resolve form.
#[derive(Debug, Deserialize)]
struct ResolveForm {
    note: Option<String>,
}

/// `POST /admin/reports/{id}/resolve`.
pub async fn resolve(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<i64>,
    request: Request,
) -> Result<Response, Error> {
    let (by, form) = posted::<ResolveForm>(&state, &jar, request).await?;
    let note = form.note.filter(|n| !n.trim().is_empty());
    reports::resolve(&state.ctx, &by, id, note).await?;
    Ok(back("/admin/reports"))
}

/// An act on the accounts page: its name in `POST /admin/accounts/{id}/{act}`, its button's
/// label (before the username), when the button shows, and the service it calls.
struct AccountAct {
    name: &'static str,
    label: &'static str,
    shown: fn(&UserRow) -> bool,
    call: AccountCall,
}

/// The service an account act calls.
#[derive(Clone, Copy)]
enum AccountCall {
    Approve,
    Reject,
    Moderate(AccountAction),
}

/// Every act of the accounts page, in the order its buttons show; the one table both the page
/// and the handler read, so a new act is one entry here.
const ACCOUNT_ACTS: [AccountAct; 6] = [
    AccountAct {
        name: "approve",
        label: "Approve",
        shown: waiting,
        call: AccountCall::Approve,
    },
    AccountAct {
        name: "reject",
        label: "Reject",
        shown: waiting,
        call: AccountCall::Reject,
    },
    AccountAct {
        name: "unsuspend",
        label: "Unsuspend",
        shown: |u| moderated(u) && u.suspended_at.is_some(),
        call: AccountCall::Moderate(AccountAction::Unsuspend),
    },
    AccountAct {
        name: "suspend",
        label: "Suspend",
        shown: |u| moderated(u) && u.suspended_at.is_none(),
        call: AccountCall::Moderate(AccountAction::Suspend),
    },
    AccountAct {
        name: "unlimit",
        label: "Lift limit of",
        shown: |u| moderated(u) && u.limited_at.is_some(),
        call: AccountCall::Moderate(AccountAction::Unlimit),
    },
    AccountAct {
        name: "limit",
        label: "Limit",
        shown: |u| moderated(u) && u.limited_at.is_none(),
        call: AccountCall::Moderate(AccountAction::Limit),
    },
];

/// Waiting for approval: only approving or rejecting applies.
fn waiting(user: &UserRow) -> bool {
    !user.approved
}

/// Approved and not staff: staff are not suspended or limited from this page.
fn moderated(user: &UserRow) -> bool {
    user.approved && !user.role().may_moderate()
}

/// `GET /admin/accounts`: local accounts, those waiting first, with their standing and the
/// acts on them.
pub async fn accounts_page(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<Response, Error> {
    let staff = match staff(&state, jar).await {
        Ok(staff) => staff,
        Err(answer) => return Ok(answer),
    };
    let mut list = registration::accounts(&state.db, &staff.by, None).await?;
    list.sort_by_key(|(_, user)| user.approved);
    let csrf = staff.csrf.clone();
    let administers = staff.role.may_administer();
    let body = html! {
        @for (actor, user) in &list {
            div.card {
                p { strong { "@" (actor.username) } " – " (user.role().as_str())
                    @if !user.approved { ", waiting for approval" }
                    @if user.suspended_at.is_some() { ", suspended" }
                    @if user.limited_at.is_some() { ", limited" }
                    @if user.sensitized_at.is_some() { ", posts shown as sensitive" } }
                @if let Some(reason) = user.sign_up_reason.as_deref().filter(|_| !user.approved) {
                    p { "Reason given: " (reason) }
                }
                @for act in ACCOUNT_ACTS.iter().filter(|act| (act.shown)(user)) {
                    (button(
                        &csrf,
                        &format!("/admin/accounts/{}/{}", actor.id, act.name),
                        &format!("{} @{}", act.label, actor.username),
                    ))
                }
                @if administers && user.approved {
                    @if let Some(attestation) = actor.to_federated().ok().and_then(|a| a.clinician) {
                        p { "Verified clinician: " (attestation.credential) }
                        (button(&csrf, &format!("/admin/clinicians/{}/revoke", actor.id),
                            &format!("Revoke @{}'s verification", actor.username)))
                    } @else {
                        form method="post" action=(format!("/admin/clinicians/{}", actor.id)) {
                            input type="hidden" name="csrf" value=(csrf);
                            label { "Credential the clinic verified "
                                input type="text" name="credential" maxlength="200" required
                                    placeholder="Registered nurse, diabetes care"; }
                            button.secondary type="submit" { "Verify @" (actor.username) " as a clinician" }
                        }
                    }
                }
            }
        }
    };
    Ok(admin_page(&state, staff, "Accounts", body))
}

/// The clinician form.
#[derive(Debug, Deserialize)]
struct CredentialForm {
    credential: String,
}

/// `POST /admin/clinicians/{id}`: verifies a local person as a clinician (admins).
pub async fn verify_clinician(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<i64>,
    request: Request,
) -> Result<Response, Error> {
    let (by, form) = posted::<CredentialForm>(&state, &jar, request).await?;
    clinicians::verify(&state.ctx, &by, id, &form.credential).await?;
    Ok(back("/admin/accounts"))
}

/// `POST /admin/clinicians/{id}/revoke`: takes the verification away (admins).
pub async fn revoke_clinician(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<i64>,
    request: Request,
) -> Result<Response, Error> {
    let (by, NoFields {}) = posted(&state, &jar, request).await?;
    clinicians::revoke(&state.ctx, &by, id, None).await?;
    Ok(back("/admin/accounts"))
}

/// `GET /admin/announcements`: the clinic's announcements, a form to publish one, and a
/// button to withdraw each (admins).
pub async fn announcements_page(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<Response, Error> {
    let staff = match staff(&state, jar).await {
        Ok(staff) => staff,
        Err(answer) => return Ok(answer),
    };
    if !staff.role.may_administer() {
        return Err(Error::Forbidden("Only admins may see this page".into()));
    }
    let list = state
        .db
        .run(|conn| Ok(crate::db::announcements::all(conn)?))
        .await?;
    let csrf = staff.csrf.clone();
    let body = html! {
        form method="post" action="/admin/announcements" {
            input type="hidden" name="csrf" value=(csrf);
            label { "Announcement to everyone here" textarea name="text" rows="4" required {} }
            label { input type="checkbox" name="urgent" value="true";
                " Urgent: also post it in every group, pinned, so members on other servers see it" }
            button type="submit" { "Publish" }
        }
        @for notice in &list {
            section.card {
                p.muted { (time(notice.published_at)) @if notice.urgent { " · urgent" } }
                (PreEscaped(&notice.content))
                (button(&csrf, &format!("/admin/announcements/{}/withdraw", notice.id), "Withdraw"))
            }
        }
    };
    Ok(admin_page(&state, staff, "Announcements", body))
}

/// The publishing form.
#[derive(Debug, Deserialize)]
struct AnnouncementForm {
    text: String,
    #[serde(default, deserialize_with = "crate::api::params::flag")]
    urgent: Option<bool>,
}

/// `POST /admin/announcements`: publishes one (admins).
pub async fn publish_announcement(
    State(state): State<AppState>,
    jar: CookieJar,
    request: Request,
) -> Result<Response, Error> {
    let (by, form) = posted::<AnnouncementForm>(&state, &jar, request).await?;
    let new = announcements::NewAnnouncement {
        text: form.text,
        urgent: form.urgent.unwrap_or(false),
        ..Default::default()
    };
    announcements::publish(&state.ctx, &by, new).await?;
    Ok(back("/admin/announcements"))
}

/// `POST /admin/announcements/{id}/withdraw` (admins).
pub async fn withdraw_announcement(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<i64>,
    request: Request,
) -> Result<Response, Error> {
    let (by, NoFields {}) = posted(&state, &jar, request).await?;
    announcements::withdraw(&state.ctx, &by, id).await?;
    Ok(back("/admin/announcements"))
}

/// `POST /admin/accounts/{id}/{act}`: one of `ACCOUNT_ACTS` (approve, reject, suspend, ...).
pub async fn account_act(
    State(state): State<AppState>,
    jar: CookieJar,
    Path((id, act)): Path<(i64, String)>,
    request: Request,
) -> Result<Response, Error> {
    let (by, NoFields {}) = posted(&state, &jar, request).await?;
    let Some(act) = ACCOUNT_ACTS.iter().find(|known| known.name == act) else {
        return Err(Error::not_found("No such act"));
    };
    match act.call {
        AccountCall::Approve => registration::approve(&state.ctx, &by, id).await,
        AccountCall::Reject => registration::reject(&state.ctx, &by, id).await,
        AccountCall::Moderate(action) => {
            moderation::act_on_account(&state.ctx, &by, id, action, None).await
        }
    }?;
    Ok(back("/admin/accounts"))
}

/// Query of the audit page.
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    action: Option<String>,
}

/// `GET /admin/audit`: whether the chain verifies, and the newest 100 entries (optionally of
/// one action).
pub async fn audit_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<AuditQuery>,
) -> Result<Response, Error> {
    let staff = match staff(&state, jar).await {
        Ok(staff) => staff,
        Err(answer) => return Ok(answer),
    };
    let action = query
        .action
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty());
    let filter = Filter {
        action: action.clone(),
        actor_name: None,
    };
    let page_of = crate::db::posts::Page {
        limit: 100,
        ..Default::default()
    };
    let rows = audit::list(&state.db, &staff.by, filter, page_of).await?;
    let verdict = audit::verify(&state.db).await?;
    let body = html! {
        @match &verdict {
            Verdict::Intact { entries, .. } => p role="status" { "The chain of " (entries) " entries verifies." },
            Verdict::Broken { id, problem } => p.error role="alert" { "Entry " (id) " is wrong: " (problem) },
        }
        form method="get" action="/admin/audit" {
            label for="audit-action" { "Only this action (e.g. domain.block)" }
            input #audit-action type="text" name="action" value=(action.unwrap_or_default());
            button.secondary type="submit" { "Filter" }
        }
        @for row in &rows {
            div.card {
                p { strong { (row.action) } " – " (row.target_name) }
                p.muted { (time(row.created_at)) " by " (row.actor_name) " (" (row.actor_role) ")" }
                @if !row.detail.is_empty() { p { (row.detail) } }
                @if let Some(reason) = &row.reason { p { "Reason: " (reason) } }
            }
        }
    };
    Ok(admin_page(&state, staff, "Audit log", body))
}
