//! What a person brings from another account: the CSV files of Mastodon's export, and of
//! Hearth's (see [`export`](super::export)), naming accounts to follow (groups to join), to
//! block or to mute. Each account is found here or on its server, as a search would.

use super::{Context, blocks, follows, search};
use crate::{Error, db::actors::ActorRow};
use activitypub_federation::config::Data;
use hearth_federation::FederationData;
use std::str::FromStr;

/// Most accounts one file may name.
pub const MAX_ROWS: usize = 1000;

/// What a file lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportKind {
    /// Accounts to follow and groups to join (`following_accounts.csv`).
    Following,
    /// Accounts to block (`blocked_accounts.csv`).
    Blocks,
    /// Accounts to mute (`muted_accounts.csv`).
    Mutes,
}

impl FromStr for ImportKind {
    type Err = Error;
    /// Mastodon's names (`following`, `blocking`, `muting`), and `blocks`, `mutes`.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim() {
            "following" => Ok(Self::Following),
            "blocking" | "blocks" => Ok(Self::Blocks),
            "muting" | "mutes" => Ok(Self::Mutes),
            other => Err(Error::Unprocessable(format!(
                "Validation failed: cannot import {other:?}: use following, blocking or muting"
            ))),
        }
    }
}

/// What an import did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Imported {
    /// The accounts followed (or asked), blocked or muted.
    pub done: Vec<String>,
    /// The addresses that named no account that could be found, or were refused.
    pub failed: Vec<String>,
}

/// One row of a file: the address and, for mutes, whether notifications are hidden too.
struct Row {
    address: String,
    hide_notifications: bool,
}

/// Reads the rows of a file: the first column holds `name@domain` (an `@` before it is
/// dropped); a header row is skipped; so are empty rows.
fn rows(file: &[u8]) -> Result<Vec<Row>, Error> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(file);
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            Error::Unprocessable(format!("Validation failed: the file is not CSV: {e}"))
        })?;
        let address = record.get(0).unwrap_or_default().trim_start_matches('@');
        if address.is_empty() || address.eq_ignore_ascii_case("Account address") {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(Error::Unprocessable(format!(
                "Validation failed: a file may name at most {MAX_ROWS} accounts"
            )));
        }
        let hide = record
            .get(1)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        rows.push(Row {
            address: address.to_owned(),
            hide_notifications: hide,
        });
    }
    Ok(rows)
}

/// Takes in `file` for `person`: each account named is found (here or on its server) and
/// followed, blocked or muted. An account that cannot be found is reported, not an error.
pub async fn import(
    ctx: &Context,
    data: &Data<FederationData>,
    person: &ActorRow,
    kind: ImportKind,
    file: &[u8],
) -> Result<Imported, Error> {
    let mut imported = Imported::default();
    for row in rows(file)? {
        let Some((name, domain)) = row.address.split_once('@') else {
            imported.failed.push(row.address);
            continue;
        };
        let target = search::resolve_account(ctx, data, name, domain, true).await?;
        let Some(target) = target.filter(|t| t.id != person.id) else {
            imported.failed.push(row.address);
            continue;
        };
        let done = match kind {
            ImportKind::Following => follows::follow(ctx, person.clone(), target.id)
                .await
                .map(drop),
            ImportKind::Blocks => blocks::block(ctx, person.clone(), target.id).await,
            ImportKind::Mutes => {
                blocks::mute(ctx, person.clone(), target.id, row.hide_notifications, None).await
            }
        };
        match done {
            Ok(()) => imported.done.push(row.address),
            Err(e) if e.status().is_client_error() => imported.failed.push(row.address),
            Err(e) => return Err(e),
        }
    }
    Ok(imported)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_from_mastodons_files() {
        let following = b"Account address,Show boosts,Notify on new posts,Languages\n\
            ana@clinic.example,true,false,\n@bo@other.example:8443,false,false,en\n\n";
        let read: Vec<String> = rows(following)
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.address)
            .collect();
        assert_eq!(read, ["ana@clinic.example", "bo@other.example:8443"]);
        let blocks = b"eve@spam.example\n";
        assert_eq!(rows(blocks).map(|r| r.len()).ok(), Some(1));
        let mutes = b"Account address,Hide notifications\nmo@x.example,true\n";
        assert!(rows(mutes).is_ok_and(|r| r[0].hide_notifications));
        let many: String = (0..=MAX_ROWS)
            .map(|n| format!("p{n}@x.example\n"))
            .collect();
        assert!(rows(many.as_bytes()).is_err());
        assert!("lists".parse::<ImportKind>().is_err());
        assert_eq!("muting".parse::<ImportKind>().ok(), Some(ImportKind::Mutes));
    }
}
