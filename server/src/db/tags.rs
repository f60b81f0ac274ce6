//! Hashtags and the posts that carry them.

use super::{
    AnyConnection,
    fragments::eq_constant,
    posts::{Page, PostRow},
    schema::{media_attachments, post_tags, posts, tags},
};
use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

/// One hashtag.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = tags)]
pub struct TagRow {
    pub id: i64,
    /// Lower case, without `#`.
    pub name: String,
    pub created_at: NaiveDateTime,
}

/// The tags with these names, made where missing (names already lower-cased and valid).
fn ensure(conn: &mut AnyConnection, names: &[String]) -> QueryResult<Vec<TagRow>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let now = Utc::now().naive_utc();
    let known: Vec<String> = by_names(conn, names)?.into_iter().map(|t| t.name).collect();
    for name in names.iter().filter(|n| !known.contains(n)) {
        let row = TagRow {
            id: super::id::new_id(),
            name: name.clone(),
            created_at: now,
        };
        // Another process may make the same tag at the same time: the name's index decides.
        on_engine!(conn, |c| diesel::insert_into(tags::table)
            .values(&row)
            .on_conflict(tags::name)
            .do_nothing()
            .execute(c))?;
    }
    by_names(conn, names)
}

/// The known tags among these (lower-cased) names.
pub fn by_names(conn: &mut AnyConnection, names: &[String]) -> QueryResult<Vec<TagRow>> {
    tags::table
        .filter(tags::name.eq_any(names))
        .select(TagRow::as_select())
        .load(conn)
}

/// Sets the tags a post carries (replacing those it had).
pub fn set_for_post(conn: &mut AnyConnection, post_id: i64, names: &[String]) -> QueryResult<()> {
    let had: i64 = post_tags::table
        .filter(post_tags::post_id.eq(post_id))
        .count()
        .get_result(conn)?;
    if had > 0 {
        diesel::delete(post_tags::table.filter(post_tags::post_id.eq(post_id))).execute(conn)?;
    }
    for tag in ensure(conn, names)? {
        diesel::insert_into(post_tags::table)
            .values((post_tags::tag_id.eq(tag.id), post_tags::post_id.eq(post_id)))
            .execute(conn)?;
    }
    Ok(())
}

/// The names of the tags a post carries, alphabetically.
pub fn of_post(conn: &mut AnyConnection, post_id: i64) -> QueryResult<Vec<String>> {
    on_engine!(conn, |c| post_tags::table
        .inner_join(tags::table)
        .filter(post_tags::post_id.eq(post_id))
        .order(tags::name.asc())
        .select(tags::name)
        .load(c))
}

/// Tags whose name starts with `prefix` and that at least one public post carries (a tag used
/// only in members-only groups does not show that it exists), alphabetically.
pub fn search_public(
    conn: &mut AnyConnection,
    prefix: &str,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<TagRow>> {
    tags::table
        .filter(
            tags::name
                .like(format!("{}%", super::like_escaped(prefix)))
                .escape('\\'),
        )
        .filter(
            tags::id.eq_any(
                post_tags::table
                    .inner_join(posts::table)
                    .filter(posts::visibility.eq("public"))
                    .filter(posts::deleted_at.is_null())
                    .select(post_tags::tag_id),
            ),
        )
        .order(tags::name.asc())
        .limit(limit)
        .offset(offset)
        .select(TagRow::as_select())
        .load(conn)
}

/// When, and by whom, public posts carrying `tag_id` were written since `since`.
pub fn public_uses_since(
    conn: &mut AnyConnection,
    tag_id: i64,
    since: NaiveDateTime,
) -> QueryResult<Vec<(NaiveDateTime, i64)>> {
    post_tags::table
        .inner_join(posts::table)
        .filter(post_tags::tag_id.eq(tag_id))
        .filter(posts::visibility.eq("public"))
        .filter(posts::deleted_at.is_null())
        .filter(posts::published_at.ge(since))
        .select((posts::published_at, posts::author_id))
        .limit(100_000)
        .load(conn)
}

/// Whether any public post carries `tag_id`.
pub fn has_public_use(conn: &mut AnyConnection, tag_id: i64) -> QueryResult<bool> {
    let count: i64 = post_tags::table
        .inner_join(posts::table)
        .filter(post_tags::tag_id.eq(tag_id))
        .filter(posts::visibility.eq("public"))
        .filter(posts::deleted_at.is_null())
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

/// What a tag timeline asks for.
#[derive(Clone, Debug, Default)]
pub struct TagFilter {
    /// Posts carrying any of these tags.
    pub any: Vec<i64>,
    /// ...and all of these.
    pub all: Vec<i64>,
    /// ...and none of these.
    pub none: Vec<i64>,
    /// Only local (`Some(true)`) or only remote (`Some(false)`) posts.
    pub local: Option<bool>,
    /// Only posts with media attached.
    pub only_media: bool,
    /// The reader, if signed in: local accounts withheld from them are left out
    /// (`posts::withheld_from`).
    pub viewer: Option<i64>,
}

/// A page of the public posts with one tag (the timeline apps open most), walking the tag's
/// index newest first by a statement prepared once.
fn one_tag(
    conn: &mut AnyConnection,
    tag: i64,
    local: Option<bool>,
    viewer: i64,
    bounds: Page,
) -> QueryResult<Vec<PostRow>> {
    let (upper, lower) = bounds.id_range();
    let (any_origin, only_local) = (local.is_none(), local.unwrap_or(false));
    macro_rules! query {
        () => {
            post_tags::table
                .inner_join(posts::table)
                .filter(post_tags::tag_id.eq(tag))
                .filter(post_tags::post_id.lt(upper))
                .filter(post_tags::post_id.gt(lower))
                .filter(eq_constant(posts::visibility, "public"))
                .filter(posts::deleted_at.is_null())
                .filter(
                    any_origin
                        .into_sql::<diesel::sql_types::Bool>()
                        .or(posts::local.eq(only_local)),
                )
                .filter(diesel::dsl::not(super::posts::withheld_from!(viewer)))
                .select(PostRow::as_select())
        };
    }
    let mut found: Vec<PostRow> = if bounds.min_id.is_some() {
        super::first_rows!(conn, query!().order(post_tags::post_id.asc()), bounds.limit)?
    } else {
        super::first_rows!(
            conn,
            query!().order(post_tags::post_id.desc()),
            bounds.limit
        )?
    };
    if bounds.min_id.is_some() {
        found.reverse();
    }
    Ok(found)
}

/// A page of the public posts a tag timeline shows, newest first (the oldest page first with
/// `min_id`, still newest first within it).
pub fn timeline(
    conn: &mut AnyConnection,
    filter: &TagFilter,
    bounds: Page,
) -> QueryResult<Vec<PostRow>> {
    if filter.any.is_empty() {
        return Ok(Vec::new());
    }
    let viewer = filter.viewer.unwrap_or(super::posts::NOBODY);
    if let ([tag], [], [], false) = (
        filter.any.as_slice(),
        filter.all.as_slice(),
        filter.none.as_slice(),
        filter.only_media,
    ) {
        return one_tag(conn, *tag, filter.local, viewer, bounds);
    }
    let mut query = posts::table
        .filter(posts::visibility.eq("public"))
        .filter(posts::deleted_at.is_null())
        .filter(diesel::dsl::not(super::posts::withheld_from!(viewer)))
        .filter(
            posts::id.eq_any(
                post_tags::table
                    .filter(post_tags::tag_id.eq_any(filter.any.clone()))
                    .select(post_tags::post_id),
            ),
        )
        .select(PostRow::as_select())
        .into_boxed();
    for &tag in &filter.all {
        query = query.filter(
            posts::id.eq_any(
                post_tags::table
                    .filter(post_tags::tag_id.eq(tag))
                    .select(post_tags::post_id),
            ),
        );
    }
    if !filter.none.is_empty() {
        query = query.filter(
            posts::id.ne_all(
                post_tags::table
                    .filter(post_tags::tag_id.eq_any(filter.none.clone()))
                    .select(post_tags::post_id),
            ),
        );
    }
    if let Some(local) = filter.local {
        query = query.filter(posts::local.eq(local));
    }
    if filter.only_media {
        query = query.filter(
            posts::id.nullable().eq_any(
                media_attachments::table
                    .filter(media_attachments::post_id.is_not_null())
                    .select(media_attachments::post_id),
            ),
        );
    }
    if let Some(max_id) = bounds.max_id {
        query = query.filter(posts::id.lt(max_id));
    }
    if let Some(since_id) = bounds.since_id {
        query = query.filter(posts::id.gt(since_id));
    }
    let oldest_first = bounds.min_id.is_some();
    if let Some(min_id) = bounds.min_id {
        query = query.filter(posts::id.gt(min_id)).order(posts::id.asc());
    } else {
        query = query.order(posts::id.desc());
    }
    let mut found = query.limit(bounds.limit).load(conn)?;
    if oldest_first {
        found.reverse();
    }
    Ok(found)
}
