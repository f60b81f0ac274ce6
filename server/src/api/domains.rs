//! The federation policy over the API: Mastodon's `/api/v1/admin/domain_blocks` and
//! `/api/v1/admin/domain_allows`, Hearth's `/api/hearth/v1/admin/federation-mode`, and the
//! public list at `/api/v1/instance/domain_blocks`. The rules live in `service::policy`.

use super::{AppState, CurrentUser, entities::mastodon_time};
use crate::{
    Error,
    db::policy::{DomainAllowRow, DomainBlockRow},
    service::policy::{self, BlockRequest, Change, Changed},
};
use axum::{
    Json,
    extract::{Path, State},
    response::Response,
};
use hearth_federation::policy::{Mode, Severity};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The SHA-256 of a domain in hex, by which Mastodon lets others match a hidden one.
fn digest(domain: &str) -> String {
    format!("{:x}", Sha256::digest(domain.as_bytes()))
}

/// Mastodon's `Admin::DomainBlock`.
fn admin_block(row: &DomainBlockRow) -> Value {
    json!({
        "id": row.id.to_string(),
        "domain": row.domain,
        "digest": digest(&row.domain),
        "created_at": mastodon_time(row.created_at.and_utc()),
        "severity": row.severity,
        "reject_media": row.reject_media,
        "reject_reports": row.reject_reports,
        "private_comment": row.private_comment,
        "public_comment": row.public_comment,
        "obfuscate": row.obfuscate,
    })
}

/// Mastodon's `Admin::DomainAllow`.
fn admin_allow(row: &DomainAllowRow) -> Value {
    json!({
        "id": row.id.to_string(),
        "domain": row.domain,
        "created_at": mastodon_time(row.created_at.and_utc()),
    })
}

/// A domain with its middle starred out, as Mastodon shows an obfuscated block.
fn obfuscated(domain: &str) -> String {
    let chars: Vec<char> = domain.chars().collect();
    let (from, len) = (chars.len() / 4, chars.len() / 2);
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if (from..from + len).contains(&i) {
                '*'
            } else {
                *c
            }
        })
        .collect()
}

fn id_of(raw: &str) -> Result<i64, Error> {
    raw.parse()
        .map_err(|_| Error::not_found("Record not found"))
}

/// Paging of an admin list, newest first: `max_id`, `since_id`, `min_id`, `limit` (100, at
/// most 200), as Mastodon pages these lists.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default, deserialize_with = "super::params::number")]
    max_id: Option<i64>,
    #[serde(default, deserialize_with = "super::params::number")]
    since_id: Option<i64>,
    #[serde(default, deserialize_with = "super::params::number")]
    min_id: Option<i64>,
    #[serde(default, deserialize_with = "super::params::number")]
    limit: Option<i64>,
}

impl ListQuery {
    /// One page of `items` (any order) by id, newest first, with its `Link` header.
    fn page<T>(
        &self,
        mut items: Vec<T>,
        id: fn(&T) -> i64,
        show: fn(&T) -> Value,
        base: url::Url,
    ) -> Response {
        items.sort_by_key(|item| std::cmp::Reverse(id(item)));
        items.retain(|item| {
            self.max_id.is_none_or(|max| id(item) < max)
                && self.since_id.is_none_or(|since| id(item) > since)
                && self.min_id.is_none_or(|min| id(item) > min)
        });
        let limit = usize::try_from(self.limit.unwrap_or(100).clamp(1, 200)).unwrap_or(100);
        if self.min_id.is_some() {
            // The page just after `min_id`: the oldest of those newer.
            let skip = items.len().saturating_sub(limit);
            items.drain(..skip);
        }
        items.truncate(limit);
        let cursors = match (items.first(), items.last()) {
            (Some(newest), Some(oldest)) => Some((id(newest).to_string(), id(oldest).to_string())),
            _ => None,
        };
        let shown = items.iter().map(show).collect();
        super::timelines::paged_by::<Value>(shown, cursors, base)
    }
}

/// `GET /api/v1/admin/domain_blocks`: every domain block, newest first (admins).
pub async fn blocks(
    State(state): State<AppState>,
    user: CurrentUser,
    super::ApiQuery(query): super::ApiQuery<ListQuery>,
) -> Result<Response, Error> {
    let overview = policy::overview(&state.ctx, &user.acting()).await?;
    let base = state.urls.path("/api/v1/admin/domain_blocks");
    Ok(query.page(overview.blocks, |b| b.id, admin_block, base))
}

/// `GET /api/v1/admin/domain_blocks/{id}`.
pub async fn block(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    let row = policy::block(&state.ctx, &user.acting(), id_of(&id)?).await?;
    Ok(Json(admin_block(&row)))
}

/// Body of a domain block as Mastodon takes it; on `PUT`, absent fields keep their value.
#[derive(Debug, Deserialize)]
pub struct BlockForm {
    domain: Option<String>,
    severity: Option<String>,
    #[serde(default, deserialize_with = "super::params::flag")]
    reject_media: Option<bool>,
    #[serde(default, deserialize_with = "super::params::flag")]
    reject_reports: Option<bool>,
    private_comment: Option<String>,
    public_comment: Option<String>,
    #[serde(default, deserialize_with = "super::params::flag")]
    obfuscate: Option<bool>,
}

impl BlockForm {
    /// The request this form makes of `base` (the existing block, or a new one).
    fn over(self, base: BlockRequest) -> Result<BlockRequest, Error> {
        let severity = match self.severity.as_deref().map(str::trim) {
            None | Some("") => base.severity,
            Some(name) => Severity::parse(name).ok_or_else(|| {
                Error::Unprocessable(format!(
                    "Validation failed: severity {name:?} is not noop, silence or suspend"
                ))
            })?,
        };
        Ok(BlockRequest {
            severity,
            reject_media: self.reject_media.unwrap_or(base.reject_media),
            reject_reports: self.reject_reports.unwrap_or(base.reject_reports),
            private_comment: self.private_comment.or(base.private_comment),
            public_comment: self.public_comment.or(base.public_comment),
            obfuscate: self.obfuscate.unwrap_or(base.obfuscate),
            domain: base.domain,
        })
    }
}

fn blocked(changed: Changed) -> Result<Json<Value>, Error> {
    match changed {
        Changed::Blocked { block, .. } => Ok(Json(admin_block(&block))),
        other => Err(Error::Internal(format!("a block answered {other:?}"))),
    }
}

/// `POST /api/v1/admin/domain_blocks`: blocks a domain (`severity` `silence` unless given, as
/// Mastodon does). A domain blocked already answers 422: change it with `PUT`.
pub async fn create_block(
    State(state): State<AppState>,
    user: CurrentUser,
    super::ApiForm(form): super::ApiForm<BlockForm>,
) -> Result<Json<Value>, Error> {
    let by = user.acting();
    let domain = form.domain.clone().unwrap_or_default();
    if domain.trim().is_empty() {
        return Err(Error::Unprocessable(
            "Validation failed: Domain can't be blank".into(),
        ));
    }
    let existing = policy::overview(&state.ctx, &by).await?.blocks;
    let canonical = hearth_federation::policy::canonical_host(&domain);
    if let Some(block) = existing.iter().find(|b| b.domain == canonical) {
        return Err(Error::Unprocessable(format!(
            "Validation failed: {} is blocked already (id {}); change that block with PUT",
            block.domain, block.id
        )));
    }
    let request = form.over(BlockRequest {
        domain,
        severity: Severity::Silence,
        ..BlockRequest::default()
    })?;
    blocked(policy::change(&state.ctx, &by, Change::Block(request), None).await?)
}

/// `PUT /api/v1/admin/domain_blocks/{id}`: changes a block (not its domain).
pub async fn update_block(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    super::ApiForm(form): super::ApiForm<BlockForm>,
) -> Result<Json<Value>, Error> {
    let by = user.acting();
    let row = policy::block(&state.ctx, &by, id_of(&id)?).await?;
    let request = form.over(BlockRequest::from(row))?;
    blocked(policy::change(&state.ctx, &by, Change::Block(request), None).await?)
}

/// `DELETE /api/v1/admin/domain_blocks/{id}`: lifts a block.
pub async fn delete_block(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    let by = user.acting();
    let row = policy::block(&state.ctx, &by, id_of(&id)?).await?;
    policy::change(&state.ctx, &by, Change::Unblock(row.domain), None).await?;
    Ok(Json(json!({})))
}

/// `GET /api/v1/admin/domain_allows`: the allowed domains, newest first (admins).
pub async fn allows(
    State(state): State<AppState>,
    user: CurrentUser,
    super::ApiQuery(query): super::ApiQuery<ListQuery>,
) -> Result<Response, Error> {
    let overview = policy::overview(&state.ctx, &user.acting()).await?;
    let base = state.urls.path("/api/v1/admin/domain_allows");
    Ok(query.page(overview.allows, |a| a.id, admin_allow, base))
}

/// `GET /api/v1/admin/domain_allows/{id}`.
pub async fn allow(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    let row = policy::allow(&state.ctx, &user.acting(), id_of(&id)?).await?;
    Ok(Json(admin_allow(&row)))
}

/// Body of `POST /api/v1/admin/domain_allows`.
#[derive(Debug, Deserialize)]
pub struct AllowForm {
    #[serde(default)]
    domain: String,
}

/// `POST /api/v1/admin/domain_allows`: allows a domain (answers the existing allow if it is
/// allowed already). It takes effect in allowlist mode.
pub async fn create_allow(
    State(state): State<AppState>,
    user: CurrentUser,
    super::ApiForm(form): super::ApiForm<AllowForm>,
) -> Result<Json<Value>, Error> {
    match policy::change(&state.ctx, &user.acting(), Change::Allow(form.domain), None).await? {
        Changed::Allowed(row) => Ok(Json(admin_allow(&row))),
        other => Err(Error::Internal(format!("an allow answered {other:?}"))),
    }
}

/// `DELETE /api/v1/admin/domain_allows/{id}`: removes a domain from the allowed ones.
pub async fn delete_allow(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    let by = user.acting();
    let row = policy::allow(&state.ctx, &by, id_of(&id)?).await?;
    policy::change(&state.ctx, &by, Change::Unallow(row.domain), None).await?;
    Ok(Json(json!({})))
}

/// The mode and the public list's visibility, with the number of rules of each kind.
fn mode_entity(overview: &policy::Overview) -> Value {
    json!({
        "mode": overview.mode().as_str(),
        "public_domain_blocks": overview.settings.public_list,
        "domain_blocks": overview.blocks.len(),
        "domain_allows": overview.allows.len(),
    })
}

/// `GET /api/hearth/v1/admin/federation-mode`.
pub async fn mode(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Value>, Error> {
    let overview = policy::overview(&state.ctx, &user.acting()).await?;
    Ok(Json(mode_entity(&overview)))
}

/// Body of `PUT /api/hearth/v1/admin/federation-mode`: either or both fields, and a reason for
/// the audit log.
#[derive(Debug, Deserialize)]
pub struct ModeForm {
    mode: Option<String>,
    #[serde(default, deserialize_with = "super::params::flag")]
    public_domain_blocks: Option<bool>,
    reason: Option<String>,
}

/// `PUT /api/hearth/v1/admin/federation-mode`: sets `open`, `blocklist` or `allowlist`, and
/// whether the block list is public. In force in this process when it answers, in every other
/// within a second or two.
pub async fn set_mode(
    State(state): State<AppState>,
    user: CurrentUser,
    super::ApiForm(form): super::ApiForm<ModeForm>,
) -> Result<Json<Value>, Error> {
    let by = user.acting();
    let mode = form
        .mode
        .as_deref()
        .map(|name| {
            Mode::parse(name.trim()).ok_or_else(|| {
                Error::Unprocessable(format!(
                    "Validation failed: mode {name:?} is not open, blocklist or allowlist"
                ))
            })
        })
        .transpose()?;
    if mode.is_none() && form.public_domain_blocks.is_none() {
        return Err(Error::Unprocessable(
            "Validation failed: give mode or public_domain_blocks".into(),
        ));
    }
    if let Some(mode) = mode {
        policy::change(&state.ctx, &by, Change::Mode(mode), form.reason.clone()).await?;
    }
    if let Some(public) = form.public_domain_blocks {
        policy::change(&state.ctx, &by, Change::PublicList(public), form.reason).await?;
    }
    let overview = policy::overview(&state.ctx, &by).await?;
    Ok(Json(mode_entity(&overview)))
}

/// `GET /api/v1/instance/domain_blocks`: the blocks, as Mastodon shows them to anyone, if an
/// admin made the list public; 404 if not.
pub async fn public_blocks(State(state): State<AppState>) -> Result<Json<Value>, Error> {
    let blocks = policy::public_blocks(&state.ctx)
        .await?
        .ok_or_else(|| Error::not_found("This server does not show its domain blocks"))?;
    Ok(Json(
        blocks
            .iter()
            .map(|b| {
                json!({
                    "domain": if b.obfuscate { obfuscated(&b.domain) } else { b.domain.clone() },
                    "digest": digest(&b.domain),
                    "severity": b.severity,
                    "comment": b.public_comment,
                })
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_obfuscated_domain_keeps_its_ends() {
        assert_eq!(obfuscated("spam.example"), "spa******ple");
        assert_eq!(obfuscated(""), "");
    }

    #[test]
    fn the_digest_is_the_sha256_of_the_domain() {
        assert_eq!(
            digest("example.com"),
            "a379a6f6eeafb9a55e378c118034e2751e682fab9f2d30ab13d2125586ce1947"
        );
    }
}
