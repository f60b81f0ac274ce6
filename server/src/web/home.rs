//! The home page of the clinic's instance and the public pages of its people and groups.

use super::layout::{page, respond};
use crate::{
    Error,
    api::AppState,
    config::RegistrationMode,
    db::{actors, groups},
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use maud::{PreEscaped, html};

/// `GET /`: the clinic's announcements in force, its name and description, its groups and
/// how to join them.
pub async fn home(State(state): State<AppState>) -> Result<Response, Error> {
    let (list, notices) = state
        .db
        .run(|conn| {
            Ok((
                groups::all_with_actors(conn)?,
                crate::service::announcements::in_force(conn)?,
            ))
        })
        .await?;
    let s = &state.settings;
    let domain = state.urls.domain();
    let markup = page(
        &s.instance_name,
        "Welcome",
        html! {
            h1 { (s.instance_name) }
            @for notice in &notices {
                section.card.announcement {
                    @if notice.urgent { p { strong { "Urgent announcement" } } }
                    // Rendered from the admin's plain text, escaped.
                    (PreEscaped(&notice.content))
                }
            }
            p { (s.instance_description) }
            p {
                a href="/auth/sign_in" { "Sign in" }
                " · "
                @if s.registration_mode() != RegistrationMode::Closed {
                    a href="/auth/sign_up" { "Create an account" }
                    " · "
                }
                a href="/settings/sessions" { "Your sessions and apps" }
            }
            h2 { "Support groups" }
            @if list.is_empty() { p.muted { "No groups yet." } }
            @for (group, actor) in &list {
                section.card {
                    h3 { a href=(state.urls.profile(&actor.username).path()) {
                        (actor.display_name.as_deref().unwrap_or(&actor.username))
                    } }
                    p.muted { "@" (actor.username) "@" (domain)
                        @if group.members_only() { " · members only" }
                        @if group.needs_approval() { " · joining needs approval" } }
                }
            }
            h2 { "How to join" }
            p { "Use any Mastodon app (for example Tusky, Ice Cubes, Elk or Phanpy): sign in with this server's address, "
                code { (domain) } ", then search for a group's handle and follow it to join. "
                "From an account on another server, search for the group's full handle." }
            @if !s.contact_email.is_empty() { p { "Contact: " (s.contact_email) } }
        },
    );
    Ok(respond(StatusCode::OK, markup))
}

/// `GET /@{name}`: the public page of a local person or group. A members-only group shows its
/// description and how to ask to join, nothing more.
pub async fn profile(
    State(state): State<AppState>,
    Path(handle): Path<String>,
) -> Result<Response, Error> {
    let name = handle
        .strip_prefix('@')
        .ok_or_else(|| Error::not_found("Record not found"))?
        .to_owned();
    let (row, group) = state
        .db
        .run(move |conn| {
            let row = actors::local_by_username(conn, &name, None)?
                .ok_or_else(|| Error::not_found("Record not found"))?;
            let group = groups::by_actor(conn, row.id)?;
            Ok((row, group))
        })
        .await?;
    let display = row
        .display_name
        .clone()
        .unwrap_or_else(|| row.username.clone());
    let handle = format!("@{}@{}", row.username, state.urls.domain());
    let markup = page(
        &state.settings.instance_name,
        &display,
        html! {
            h1 { (display) }
            p.muted { (handle) }
            // The summary was sanitised (or escaped) when it was stored.
            @if let Some(summary) = &row.summary { div { (PreEscaped(summary)) } }
            @if let Some(group) = &group {
                @let rules = group.rule_list();
                @if !rules.is_empty() {
                    h2 { "Rules" }
                    ol { @for rule in &rules { li { (rule) } } }
                }
                @if group.needs_approval() {
                    p { "To join, follow " (handle) " from your app; a moderator will answer your request." }
                } @else {
                    p { "To join, follow " (handle) " from your app." }
                }
            } @else {
                p { "Follow from any Fediverse account by searching for " (handle) "." }
            }
        },
    );
    let mut response = respond(StatusCode::OK, markup);
    if let Ok(link) = format!(
        "<{}>; rel=\"alternate\"; type=\"application/activity+json\"",
        row.ap_id
    )
    .parse()
    {
        response
            .headers_mut()
            .insert(axum::http::header::LINK, link);
    }
    Ok(response)
}

/// `GET /tags/{name}`: where a hashtag's links lead; it tells how to follow the tag in an app
/// (posts are read in apps, not on these pages).
pub async fn tag(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, Error> {
    let name = crate::service::content::tag_name(&name)
        .ok_or_else(|| Error::not_found("Record not found"))?;
    let title = format!("#{name}");
    let markup = page(
        &state.settings.instance_name,
        &title,
        html! {
            h1 { (title) }
            p { "To read the public posts with this hashtag, open a Mastodon app signed in to "
                code { (state.urls.domain()) } " and search for " strong { (title) } "." }
        },
    );
    Ok(respond(StatusCode::OK, markup))
}
