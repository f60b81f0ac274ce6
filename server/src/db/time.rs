//! Timestamps read fast from SQLite. SQLite keeps them as text, and diesel parses each by
//! trying a list of chrono formats: a few microseconds a value, a tenth of a timeline page's
//! work. Hearth writes one shape (`YYYY-MM-DD HH:MM:SS[.fraction]`), read here directly;
//! anything else goes to diesel's parser. Rows read in bulk name these types with
//! `#[diesel(deserialize_as = ...)]`.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::{
    backend::Backend,
    deserialize::{self, FromSql},
    pg::Pg,
    sql_types::{Nullable, Timestamp},
    sqlite::Sqlite,
};

/// A timestamp column.
#[derive(Debug, diesel::deserialize::FromSqlRow)]
pub struct Stamp(NaiveDateTime);

/// A nullable timestamp column.
#[derive(Debug, diesel::deserialize::FromSqlRow)]
pub struct MaybeStamp(Option<NaiveDateTime>);

impl Stamp {
    /// The value (the name is what diesel's derive calls).
    pub fn try_into(self) -> Result<NaiveDateTime, std::convert::Infallible> {
        Ok(self.0)
    }
}

impl MaybeStamp {
    /// The value (the name is what diesel's derive calls).
    pub fn try_into(self) -> Result<Option<NaiveDateTime>, std::convert::Infallible> {
        Ok(self.0)
    }
}

/// `YYYY-MM-DD HH:MM:SS` with an optional fraction of up to nine digits, or `None`.
fn parse(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        b.get(range)?.iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    if b[16] != b':' {
        return None;
    }
    let nanos = match b.get(19..) {
        None | Some([]) => 0,
        Some([b'.', digits @ ..]) if (1..=9).contains(&digits.len()) => {
            let n = number(20..b.len())?;
            n * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let year = i32::try_from(number(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?)?.and_hms_nano_opt(
        number(11..13)?,
        number(14..16)?,
        number(17..19)?,
        nanos,
    )
}

fn from_sqlite(mut value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<NaiveDateTime> {
    match parse(value.read_text()) {
        Some(time) => Ok(time),
        None => <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value),
    }
}

impl FromSql<Timestamp, Sqlite> for Stamp {
    fn from_sql(value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        from_sqlite(value).map(Self)
    }
}

impl FromSql<Timestamp, Pg> for Stamp {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(Self)
    }
}

impl FromSql<Nullable<Timestamp>, Sqlite> for MaybeStamp {
    fn from_sql(value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        from_sqlite(value).map(|t| Self(Some(t)))
    }

    fn from_nullable_sql(
        value: Option<<Sqlite as Backend>::RawValue<'_>>,
    ) -> deserialize::Result<Self> {
        value.map_or(
            Ok(Self(None)),
            <Self as FromSql<Nullable<Timestamp>, Sqlite>>::from_sql,
        )
    }
}

impl FromSql<Nullable<Timestamp>, Pg> for MaybeStamp {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(|t| Self(Some(t)))
    }

    fn from_nullable_sql(
        value: Option<<Pg as Backend>::RawValue<'_>>,
    ) -> deserialize::Result<Self> {
        value.map_or(
            Ok(Self(None)),
            <Self as FromSql<Nullable<Timestamp>, Pg>>::from_sql,
        )
    }
}

/// Queries written once for both engines read through diesel's multi-backend.
type Multi = super::MultiBackend;

impl FromSql<Timestamp, Multi> for Stamp {
    fn from_sql(value: <Multi as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        value.from_sql::<Self, Timestamp>()
    }
}

impl FromSql<Nullable<Timestamp>, Multi> for MaybeStamp {
    fn from_sql(value: <Multi as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        value.from_sql::<Self, Nullable<Timestamp>>()
    }

    fn from_nullable_sql(
        value: Option<<Multi as Backend>::RawValue<'_>>,
    ) -> deserialize::Result<Self> {
        value.map_or(
            Ok(Self(None)),
            <Self as FromSql<Nullable<Timestamp>, Multi>>::from_sql,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_the_shapes_hearth_and_sqlite_write() {
        let t = |s: &str| parse(s).map(|t| t.format("%F %T%.f").to_string());
        assert_eq!(t("2026-12-04 17:45:01"), Some("2026-12-04 17:45:01".into()));
        assert_eq!(
            t("2026-12-04 17:45:01.5"),
            Some("2026-12-04 17:45:01.500".into())
        );
        assert_eq!(
            t("2026-12-04 17:45:01.123456789"),
            Some("2026-12-04 17:45:01.123456789".into())
        );
    }

    #[test]
    fn leaves_other_shapes_to_diesel() {
        for odd in [
            "2026-12-04T17:45:01",
            "2026-12-04 17:45",
            "2026-13-04 17:45:01",
            "2026-12-04 17:45:01.",
            "2026-12-04 17:45:01.1234567890",
            "2026-12-04 17:45:01+02:00",
            "2459000.5",
            "",
        ] {
            assert_eq!(parse(odd), None, "{odd}");
        }
    }
}
