//! `[[rule]]`: what the user does not want, decided between normalize and store. Pure.
//!
//! Each rule has a `when` expression ([`expr`]), an action and a scope (feed name globs,
//! feed tags). For one entry, in this order:
//! 1. a matching `drop` rule drops it (not stored; its identity is remembered);
//! 2. else, when `keep` rules cover its feed and none matches, it is dropped the same way
//!    (drop beats keep: a `keep` match never saves an entry a `drop` rule matched);
//! 3. else it is stored, hidden from every output when a `hide` rule matches, and given
//!    the tag of every matching `tag:NAME` rule.

pub mod expr;
pub mod report;

use std::cell::OnceCell;
use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::article::Article;
pub use expr::{Expr, ExprError, Field};

/// What a rule does to the entries it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Not stored; the identity is remembered so that the entry stays dropped.
    Drop,
    /// Stored, left out of every output (until the rule changes and `rules apply` runs).
    Hide,
    /// An allowlist: entries of the rule's feeds that match no `keep` rule are dropped.
    Keep,
    /// Adds a tag to the story (`?tag=`, views).
    Tag(String),
}

impl Action {
    /// Reads `drop`, `hide`, `keep` or `tag:NAME`.
    pub fn parse(text: &str) -> Result<Action, String> {
        match text {
            "drop" => Ok(Action::Drop),
            "hide" => Ok(Action::Hide),
            "keep" => Ok(Action::Keep),
            t => match t.strip_prefix("tag:") {
                Some(tag) if crate::names::valid_name(tag) => Ok(Action::Tag(tag.to_string())),
                Some(_) => Err(
                    "a tag is a slug of lowercase letters, digits, '-', '_' or '.', e.g. \"tag:ai\""
                        .into(),
                ),
                None => Err("expected \"drop\", \"hide\", \"keep\" or \"tag:NAME\"".into()),
            },
        }
    }

    /// The action's name in metrics and reports (`tag` for every tag).
    pub fn label(&self) -> &'static str {
        match self {
            Action::Drop => "drop",
            Action::Hide => "hide",
            Action::Keep => "keep",
            Action::Tag(_) => "tag",
        }
    }
}

/// One validated `[[rule]]`.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Unique name.
    pub name: String,
    /// The expression as written.
    pub when: String,
    /// The expression, parsed.
    pub expr: Expr,
    /// What to do with a match.
    pub action: Action,
    /// Feed name globs (`*`, `?`); empty: every feed.
    pub feeds: Vec<String>,
    /// Only feeds with any of these tags; empty: no tag condition.
    pub tags: Vec<String>,
}

impl PartialEq for Rule {
    fn eq(&self, other: &Self) -> bool {
        (
            &self.name,
            &self.when,
            &self.action,
            &self.feeds,
            &self.tags,
        ) == (
            &other.name,
            &other.when,
            &other.action,
            &other.feeds,
            &other.tags,
        )
    }
}

impl Rule {
    /// Whether the rule's scope covers a feed.
    pub fn applies_to(&self, feed: &str, feed_tags: &[String]) -> bool {
        (self.feeds.is_empty() || self.feeds.iter().any(|g| glob(g, feed)))
            && (self.tags.is_empty() || self.tags.iter().any(|t| feed_tags.contains(t)))
    }
}

/// Shell-style glob over a whole name: `*` any run of characters, `?` one character.
pub fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // iterative matching with one backtrack point: linear in practice, never exponential
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// One entry of one feed, as the rules see it.
pub struct Entry<'a> {
    article: &'a Article,
    feed: &'a str,
    feed_tags: &'a [String],
    now: DateTime<Utc>,
    text: OnceCell<String>,
}

impl<'a> Entry<'a> {
    /// `article` of `feed` (with its tags), judged at `now` (for `age`).
    pub fn new(
        article: &'a Article,
        feed: &'a str,
        feed_tags: &'a [String],
        now: DateTime<Utc>,
    ) -> Entry<'a> {
        Entry {
            article,
            feed,
            feed_tags,
            now,
            text: OnceCell::new(),
        }
    }

    fn content_text(&self) -> &str {
        self.text.get_or_init(|| {
            self.article
                .content
                .as_deref()
                .map(crate::dedup::text_of_html)
                .unwrap_or_default()
        })
    }
}

impl expr::Subject for Entry<'_> {
    fn texts(&self, field: Field) -> Vec<&str> {
        let a = self.article;
        match field {
            Field::Title => vec![a.title.as_str()],
            Field::Link => a.link.as_deref().into_iter().collect(),
            Field::Author => a.authors.iter().map(String::as_str).collect(),
            Field::Category => a.categories.iter().map(String::as_str).collect(),
            Field::Content => vec![self.content_text()],
            Field::Summary => a.summary.as_deref().into_iter().collect(),
            Field::Feed => vec![self.feed],
            Field::Tag => self.feed_tags.iter().map(String::as_str).collect(),
            Field::Language => a.language.as_deref().into_iter().collect(),
            Field::Words | Field::Age => Vec::new(),
        }
    }

    fn words(&self) -> f64 {
        let text = match self.content_text() {
            "" => self.article.summary.as_deref().unwrap_or(""),
            t => t,
        };
        text.split_whitespace().count() as f64
    }

    fn age(&self) -> Duration {
        self.article
            .published
            .and_then(|p| (self.now - p).to_std().ok())
            .unwrap_or_default()
    }
}

/// What the rules decided about one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not stored. `rule`: the drop rule that matched; `None` when no keep rule did.
    Drop {
        /// The matching drop rule.
        rule: Option<String>,
    },
    /// Stored.
    Store {
        /// The hide rule that matched, if any.
        hide: Option<String>,
        /// Tags from matching `tag:` rules, with the rule that gave each.
        tags: Vec<(String, String)>,
    },
}

/// A verdict and every rule that matched (indices into the rule list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The outcome.
    pub verdict: Verdict,
    /// Rules whose expression matched, whatever their action.
    pub matched: Vec<usize>,
}

/// A stored entry, as `rules test` and `rules apply` judge it again.
#[derive(Debug, Clone)]
pub struct RuleEntry {
    /// Its feed.
    pub feed: String,
    /// Its identity in the feed (as stored).
    pub entry_key: String,
    /// The story it belongs to.
    pub story_id: i64,
    /// What the feed said (`key` holds the stored key as a guid; `published` is set).
    pub article: Article,
}

/// A configured feed as the rules see it: its name and tags.
#[derive(Debug, Clone, Copy)]
pub struct FeedScope<'a> {
    /// The feed's name.
    pub name: &'a str,
    /// Its tags.
    pub tags: &'a [String],
}

/// The rules whose scope covers `feed` (indices into `rules`): worked out once per poll.
pub fn applicable(rules: &[Rule], feed: &str, feed_tags: &[String]) -> Vec<usize> {
    (0..rules.len())
        .filter(|&i| rules[i].applies_to(feed, feed_tags))
        .collect()
}

/// Judges one entry by the rules at `applicable` (see [`applicable`]).
pub fn decide(rules: &[Rule], applicable: &[usize], entry: &Entry) -> Decision {
    let mut matched = Vec::new();
    let mut has_keep = false;
    let (mut drop, mut kept, mut hide) = (None, false, None);
    let mut tags: Vec<(String, String)> = Vec::new();
    for &i in applicable {
        let rule = &rules[i];
        has_keep |= rule.action == Action::Keep;
        // a keep match cannot change anything once an entry is known to be kept
        if rule.action == Action::Keep && kept {
            continue;
        }
        if !rule.expr.eval(entry) {
            continue;
        }
        matched.push(i);
        match &rule.action {
            Action::Drop => {
                drop.get_or_insert_with(|| rule.name.clone());
            }
            Action::Keep => kept = true,
            Action::Hide => {
                hide.get_or_insert_with(|| rule.name.clone());
            }
            Action::Tag(t) => {
                if !tags.iter().any(|(have, _)| have == t) {
                    tags.push((t.clone(), rule.name.clone()));
                }
            }
        }
    }
    let verdict = if drop.is_some() {
        Verdict::Drop { rule: drop }
    } else if has_keep && !kept {
        Verdict::Drop { rule: None }
    } else {
        Verdict::Store { hide, tags }
    };
    Decision { verdict, matched }
}

/// What the rules leave a feed's poll to store.
#[derive(Debug, Default)]
pub struct Judged {
    /// The articles to store.
    pub kept: Vec<Article>,
    /// Marks to record, by entry key: drops, hides, tags.
    pub marks: Vec<Mark>,
    /// Matches per rule index, for metrics.
    pub matched: Vec<usize>,
    /// Entries dropped because no keep rule matched.
    pub unkept: usize,
    /// Entries dropped by an earlier poll, left out again without being judged.
    pub still_dropped: usize,
}

/// What a rule decided about a stored or dropped entry, as the store records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// The entry's identity within its feed ([`crate::article::ArticleKey::as_stored`]).
    pub entry_key: String,
    /// `drop`, `hide` or `tag`.
    pub action: &'static str,
    /// The tag, for `tag`; else empty.
    pub value: String,
    /// The rule that decided, or `(no keep rule)`.
    pub rule: String,
}

/// The name recorded for entries dropped because no keep rule matched.
pub const UNKEPT: &str = "(no keep rule)";

/// The marks a decision leaves on an entry.
pub fn marks_of(entry_key: &str, verdict: &Verdict) -> Vec<Mark> {
    let mark = |action, value: &str, rule: &str| Mark {
        entry_key: entry_key.to_string(),
        action,
        value: value.to_string(),
        rule: rule.to_string(),
    };
    match verdict {
        Verdict::Drop { rule } => vec![mark("drop", "", rule.as_deref().unwrap_or(UNKEPT))],
        Verdict::Store { hide, tags } => hide
            .iter()
            .map(|r| mark("hide", "", r))
            .chain(tags.iter().map(|(t, r)| mark("tag", t, r)))
            .collect(),
    }
}

/// The pure step between normalize and store: judges a feed's articles. Entries whose key
/// is in `dropped` stay dropped without being judged again (a feed that edits a dropped
/// entry does not bring it back).
pub fn judge(
    rules: &[Rule],
    feed: &str,
    feed_tags: &[String],
    articles: Vec<Article>,
    dropped: &HashSet<String>,
    now: DateTime<Utc>,
) -> Judged {
    let scope = applicable(rules, feed, feed_tags);
    let mut out = Judged::default();
    for a in articles {
        let key = a.key.as_stored();
        if dropped.contains(&key) {
            out.still_dropped += 1;
            continue;
        }
        if scope.is_empty() {
            out.kept.push(a);
            continue;
        }
        let d = decide(rules, &scope, &Entry::new(&a, feed, feed_tags, now));
        out.matched.extend(&d.matched);
        out.marks.extend(marks_of(&key, &d.verdict));
        match d.verdict {
            Verdict::Drop { rule } => out.unkept += usize::from(rule.is_none()),
            Verdict::Store { .. } => out.kept.push(a),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, when: &str, action: &str, feeds: &[&str], tags: &[&str]) -> Rule {
        Rule {
            name: name.into(),
            when: when.into(),
            expr: expr::parse(when).unwrap(),
            action: Action::parse(action).unwrap(),
            feeds: feeds.iter().map(|s| s.to_string()).collect(),
            tags: tags.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn article(key: &str, title: &str) -> Article {
        Article {
            link: Some(format!("https://e.com/{key}")),
            authors: vec!["Ann".into()],
            content: Some("<p>one <b>two</b> three</p>".into()),
            categories: vec!["World".into()],
            language: Some("en".into()),
            ..Article::for_test(key, title)
        }
    }

    #[test]
    fn actions_parse() {
        assert_eq!(Action::parse("tag:ai").unwrap(), Action::Tag("ai".into()));
        assert!(Action::parse("tag:").unwrap_err().contains("slug"));
        assert!(Action::parse("tag:A I").is_err());
        assert!(Action::parse("delete").unwrap_err().contains("\"drop\""));
    }

    #[test]
    fn globs() {
        assert!(glob("*", "bbc"));
        assert!(glob("bbc-*", "bbc-world"));
        assert!(!glob("bbc-*", "bbc"));
        assert!(glob("b?c", "bbc"));
        assert!(glob("*-world", "bbc-world"));
        assert!(glob("*w*d", "bbc-world"));
        assert!(!glob("bbc", "bbc-world"));
        assert!(glob("a*b*c", "aXbYbZc"));
    }

    #[test]
    fn scope_by_feed_and_tag() {
        let r = rule("r", "title = \"x\"", "hide", &["bbc-*"], &["world"]);
        assert!(r.applies_to("bbc-news", &["world".into()]));
        assert!(!r.applies_to("bbc-news", &["sport".into()]));
        assert!(!r.applies_to("cnn", &["world".into()]));
    }

    #[test]
    fn drop_beats_keep_and_keep_is_an_allowlist() {
        let rules = vec![
            rule("only-world", "category = \"World\"", "keep", &["bbc"], &[]),
            rule("no-ads", "title ~ \"(?i)sponsored\"", "drop", &[], &[]),
            rule("hide-short", "words < 5", "hide", &[], &[]),
            rule("ai", "title contains \"AI\"", "tag:ai", &[], &[]),
        ];
        let now = Utc::now();
        let judge_one = |feed: &str, a: Article| {
            let scope = applicable(&rules, feed, &[]);
            decide(&rules, &scope, &Entry::new(&a, feed, &[], now)).verdict
        };
        // matches keep and drop: dropped by the drop rule
        assert_eq!(
            judge_one("bbc", article("1", "Sponsored AI")),
            Verdict::Drop {
                rule: Some("no-ads".into())
            }
        );
        // bbc has a keep rule; this one does not match it
        let mut sport = article("2", "AI wins");
        sport.categories = vec!["Sport".into()];
        assert_eq!(
            judge_one("bbc", sport.clone()),
            Verdict::Drop { rule: None }
        );
        // another feed: no keep rule covers it; hidden (3 words) and tagged
        assert_eq!(
            judge_one("cnn", sport),
            Verdict::Store {
                hide: Some("hide-short".into()),
                tags: vec![("ai".into(), "ai".into())]
            }
        );
    }

    #[test]
    fn judge_remembers_drops_and_records_marks() {
        let rules = vec![
            rule("no-ads", "title ~ \"(?i)sponsored\"", "drop", &[], &[]),
            rule("t", "feed = \"f\"", "tag:mine", &[], &[]),
        ];
        let dropped: HashSet<String> = ["guid:old".to_string()].into();
        let j = judge(
            &rules,
            "f",
            &[],
            vec![
                article("old", "no longer sponsored"),
                article("a", "Sponsored"),
                article("b", "News"),
            ],
            &dropped,
            Utc::now(),
        );
        assert_eq!(j.still_dropped, 1);
        assert_eq!(j.kept.len(), 1);
        assert_eq!(j.kept[0].title, "News");
        let marks: Vec<(&str, &str, &str)> = j
            .marks
            .iter()
            .map(|m| (m.entry_key.as_str(), m.action, m.value.as_str()))
            .collect();
        assert_eq!(
            marks,
            vec![("guid:a", "drop", ""), ("guid:b", "tag", "mine")]
        );
    }

    #[test]
    fn entry_fields() {
        use expr::Subject;
        let mut a = article("1", "T");
        a.published = Some(Utc::now() - chrono::Duration::hours(30));
        let tags = vec!["world".to_string()];
        let e = Entry::new(&a, "f", &tags, Utc::now());
        assert_eq!(e.words(), 3.0);
        assert_eq!(e.texts(Field::Content), vec!["one two three"]);
        assert!(e.age() > Duration::from_secs(29 * 3600));
        let keep = rule("k", "age < 1d or tag = \"world\"", "keep", &[], &[]);
        assert!(keep.expr.eval(&e));
    }
}
