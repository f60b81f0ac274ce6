//! Post bodies: HTML from anywhere is sanitised to a small safe subset; plain text from the
//! client API is escaped and its links, mentions and hashtags are rendered.

use std::{collections::HashSet, sync::LazyLock};

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::empty();
    builder
        .add_tags([
            "p",
            "br",
            "a",
            "span",
            "strong",
            "em",
            "b",
            "i",
            "u",
            "s",
            "del",
            "blockquote",
            "code",
            "pre",
            "ul",
            "ol",
            "li",
        ])
        .add_tag_attributes("a", ["href"])
        .url_schemes(HashSet::from(["http", "https"]))
        .link_rel(Some("nofollow noopener noreferrer"))
        .allowed_classes(std::collections::HashMap::from([
            ("a", HashSet::from(["mention", "hashtag", "u-url"])),
            ("span", HashSet::from(["h-card", "invisible", "ellipsis"])),
        ]));
    builder
});

/// Keeps only safe HTML: no scripts, styles, images (tracking), iframes or event handlers.
pub fn sanitize(html: &str) -> String {
    SANITIZER.clean(html).to_string()
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The plain text of stored HTML, for posts whose source text was not kept: paragraphs and
/// line breaks become newlines, every tag goes, entities are decoded.
pub fn html_to_text(html: &str) -> String {
    let with_breaks = html
        .replace("</p><p>", "\n\n")
        .replace("<br>", "\n")
        .replace("<br/>", "\n")
        .replace("<br />", "\n");
    let text = ammonia::Builder::empty().clean(&with_breaks).to_string();
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// The ISO 639 code of a language as an app or a remote `contentMap` gives it: its primary
/// subtag (`fr` of `fr-CA`), lower-cased; `None` if it is not two or three letters.
pub fn language_code(raw: &str) -> Option<String> {
    let primary = raw.trim().split(['-', '_']).next().unwrap_or_default();
    ((2..=3).contains(&primary.len()) && primary.chars().all(|c| c.is_ascii_alphabetic()))
        .then(|| primary.to_ascii_lowercase())
}

/// The language an app sent: none if left out or blank, 422 if it is not a language code.
pub fn asked_language(raw: Option<&str>) -> Result<Option<String>, crate::Error> {
    match raw.map(str::trim).filter(|l| !l.is_empty()) {
        None => Ok(None),
        Some(raw) => language_code(raw).map(Some).ok_or_else(|| {
            crate::Error::Unprocessable(format!(
                "Validation failed: {raw:?} is not a language code"
            ))
        }),
    }
}

/// A mention found in plain text: `@name` or `@name@domain`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MentionText {
    /// The handle.
    pub name: String,
    /// The domain, if given.
    pub domain: Option<String>,
}

/// The mentions written in plain text.
pub fn mentions_in(text: &str) -> Vec<MentionText> {
    let mut found = Vec::new();
    for word in text.split_whitespace() {
        if let Some(mention) = parse_mention(word)
            && !found.contains(&mention)
        {
            found.push(mention);
        }
    }
    found
}

fn parse_mention(word: &str) -> Option<MentionText> {
    let word = word.trim_end_matches(['.', ',', ':', ';', '!', '?', ')']);
    let rest = word.strip_prefix('@')?;
    let (name, domain) = match rest.split_once('@') {
        Some((name, domain)) => (name, Some(domain)),
        None => (rest, None),
    };
    let name_ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let domain_ok = domain.is_none_or(|d| {
        !d.is_empty()
            && d.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
    });
    (name_ok && domain_ok).then(|| MentionText {
        name: name.to_ascii_lowercase(),
        domain: domain.map(str::to_ascii_lowercase),
    })
}

/// Longest hashtag kept, in characters.
pub const MAX_TAG_CHARS: usize = 100;

/// Most hashtags kept of one post (its own or another server's).
pub const MAX_TAGS_PER_POST: usize = 30;

/// A hashtag's name as stored and compared (lower case), if `raw` (without `#`) is one:
/// letters, digits and underscores, with at least one letter, as Mastodon (`#2026` is none).
pub fn tag_name(raw: &str) -> Option<String> {
    let valid = !raw.is_empty()
        && raw.chars().count() <= MAX_TAG_CHARS
        && raw.chars().all(|c| c.is_alphanumeric() || c == '_')
        && raw.chars().any(char::is_alphabetic);
    valid.then(|| raw.to_lowercase())
}

/// A `#tag` word: the tag as written, and the punctuation after it.
fn split_hashtag(word: &str) -> Option<(&str, &str)> {
    let rest = word.strip_prefix('#')?;
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let (tag, tail) = rest.split_at(end);
    let only_punctuation = tail
        .chars()
        .all(|c| matches!(c, '.' | ',' | ':' | ';' | '!' | '?' | ')' | '"' | '\''));
    (only_punctuation && tag_name(tag).is_some()).then_some((tag, tail))
}

/// The hashtags written in plain text, lower-cased, each once, at most
/// [`MAX_TAGS_PER_POST`].
pub fn hashtags_in(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        if let Some(name) = split_hashtag(word).and_then(|(tag, _)| tag_name(tag))
            && !found.contains(&name)
            && found.len() < MAX_TAGS_PER_POST
        {
            found.push(name);
        }
    }
    found
}

/// Renders plain text as HTML paragraphs: escaped, with links, resolved mentions (`resolve`
/// gives the profile URL of a mention it knows) and hashtags (linked to `tag_url` of their
/// lower-cased name).
pub fn render_plain(
    text: &str,
    resolve: impl Fn(&MentionText) -> Option<String>,
    tag_url: impl Fn(&str) -> String,
) -> String {
    text.split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|paragraph| {
            let lines: Vec<String> = paragraph
                .lines()
                .map(|line| {
                    line.split(' ')
                        .map(|word| render_word(word, &resolve, &tag_url))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect();
            format!("<p>{}</p>", lines.join("<br>"))
        })
        .collect()
}

fn render_word(
    word: &str,
    resolve: &impl Fn(&MentionText) -> Option<String>,
    tag_url: &impl Fn(&str) -> String,
) -> String {
    if (word.starts_with("https://") || word.starts_with("http://"))
        && url::Url::parse(word).is_ok()
    {
        let href = escape(word);
        return format!("<a href=\"{href}\" rel=\"nofollow noopener noreferrer\">{href}</a>");
    }
    if let Some(mention) = parse_mention(word)
        && let Some(href) = resolve(&mention)
    {
        return format!(
            "<span class=\"h-card\"><a href=\"{}\" class=\"u-url mention\">@<span>{}</span></a></span>",
            escape(&href),
            escape(&mention.name)
        );
    }
    if let Some((tag, tail)) = split_hashtag(word) {
        return format!(
            "<a href=\"{}\" class=\"mention hashtag\" rel=\"tag\">#<span>{}</span></a>{}",
            escape(&tag_url(&tag.to_lowercase())),
            escape(tag),
            escape(tail)
        );
    }
    escape(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_short_codes() {
        assert_eq!(language_code(" fr-CA "), Some("fr".into()));
        assert_eq!(language_code("DE"), Some("de".into()));
        assert_eq!(language_code("yue_HK"), Some("yue".into()));
        for odd in ["", "f", "fren", "e1", "français"] {
            assert_eq!(language_code(odd), None, "{odd}");
        }
        assert!(matches!(asked_language(Some("  ")), Ok(None)));
        assert!(matches!(
            asked_language(Some("english")),
            Err(crate::Error::Unprocessable(_))
        ));
    }

    #[test]
    fn stored_html_reads_back_as_text() {
        assert_eq!(
            html_to_text("<p>Tea &amp; <a href=\"x\">biscuits</a></p><p>line<br>two &lt;3</p>"),
            "Tea & biscuits\n\nline\ntwo <3"
        );
    }

    #[test]
    fn hashtags_are_found_linked_and_lower_cased() {
        assert_eq!(
            hashtags_in("#T1D and #t1d, #Café! #2026 #no-dash #a_b #"),
            ["t1d", "café", "a_b"]
        );
        let html = render_plain("Hi #LongCovid, bye", |_| None, |t| format!("/tags/{t}"));
        assert_eq!(
            html,
            "<p>Hi <a href=\"/tags/longcovid\" class=\"mention hashtag\" rel=\"tag\">#<span>LongCovid</span></a>, bye</p>"
        );
        assert_eq!(tag_name(&"x".repeat(MAX_TAG_CHARS + 1)), None);
        let many: String = (0..50).map(|i| format!("#tag{i} ")).collect();
        assert_eq!(hashtags_in(&many).len(), MAX_TAGS_PER_POST);
    }

    #[test]
    fn hostile_html_is_reduced_to_a_safe_subset() {
        let dirty = r#"<p onclick="x()">Hi <script>alert(1)</script><img src="https://t.example/pixel.gif"><a href="javascript:alert(1)">x</a><a href="https://ok.example" class="mention evil">ok</a><iframe src="https://e.example"></iframe><b style="color:red">b</b></p>"#;
        let clean = sanitize(dirty);
        for banned in [
            "script",
            "onclick",
            "img",
            "javascript",
            "iframe",
            "style",
            "evil",
        ] {
            assert!(!clean.contains(banned), "{banned} survived: {clean}");
        }
        assert!(clean.contains(r#"<a href="https://ok.example" class="mention" rel="nofollow noopener noreferrer">ok</a>"#), "{clean}");
        assert!(clean.contains("<b>b</b>"));
    }

    #[test]
    fn plain_text_is_escaped_and_linked() {
        let html = render_plain(
            "Hi @ana and @bob@b.example <3 #t1d\nsee https://clinic.example/x?a=1&b=2\n\nBye",
            |m| (m.name == "ana").then(|| "https://a.example/@ana".to_owned()),
            |tag| format!("https://a.example/tags/{tag}"),
        );
        assert!(
            html.starts_with("<p>Hi <span class=\"h-card\"><a href=\"https://a.example/@ana\""),
            "{html}"
        );
        assert!(
            html.contains("@bob@b.example &lt;3"),
            "unknown mentions stay text: {html}"
        );
        assert!(
            html.contains("<a href=\"https://a.example/tags/t1d\" class=\"mention hashtag\" rel=\"tag\">#<span>t1d</span></a>"),
            "{html}"
        );
        assert!(
            html.contains("<br>see <a href=\"https://clinic.example/x?a=1&amp;b=2\""),
            "{html}"
        );
        assert!(html.ends_with("<p>Bye</p>"), "{html}");
        assert_eq!(
            mentions_in("@ana, @bob@b.example! @ana"),
            vec![
                MentionText {
                    name: "ana".into(),
                    domain: None
                },
                MentionText {
                    name: "bob".into(),
                    domain: Some("b.example".into())
                },
            ]
        );
    }
}
