//! `newswire rules test|apply`: the rules judged again over stored entries, and the report
//! of what each rule matched. Pure.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::{
    Entry, FeedScope, Mark, Rule, RuleEntry, UNKEPT, Verdict, applicable, decide, marks_of,
};

/// Examples listed under each rule.
pub const EXAMPLES: usize = 5;

/// What one rule matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleCount {
    /// The rule's name (or [`UNKEPT`]).
    pub rule: String,
    /// Its action as written (`drop`, `hide`, `keep`, `tag:NAME`).
    pub action: String,
    /// Entries it matched.
    pub matches: usize,
    /// A few of them: (feed, title).
    pub examples: Vec<(String, String)>,
}

/// The verdicts on stored entries.
#[derive(Debug, Default)]
pub struct Report {
    /// Entries judged.
    pub judged: usize,
    /// Per rule, in config order; then entries no keep rule kept.
    pub rules: Vec<RuleCount>,
    /// Entries that would be dropped, hidden, and tags that would be given.
    pub totals: (usize, usize, usize),
    /// Every mark, with its feed: what `rules apply` records.
    pub marks: Vec<(String, Mark)>,
}

/// Judges stored entries by `rules`; entries of feeds no longer configured are skipped.
pub fn judge_stored(
    rules: &[Rule],
    feeds: &[FeedScope],
    entries: &[RuleEntry],
    now: DateTime<Utc>,
) -> Report {
    let mut report = Report {
        rules: rules
            .iter()
            .map(|r| RuleCount {
                rule: r.name.clone(),
                action: match &r.action {
                    super::Action::Tag(t) => format!("tag:{t}"),
                    a => a.label().to_string(),
                },
                matches: 0,
                examples: Vec::new(),
            })
            .collect(),
        ..Report::default()
    };
    let mut unkept = RuleCount {
        rule: UNKEPT.into(),
        action: "drop".into(),
        matches: 0,
        examples: Vec::new(),
    };
    let mut scope: Option<(&str, Vec<usize>)> = None;
    for e in entries {
        let Some(feed) = feeds.iter().find(|f| f.name == e.feed) else {
            continue;
        };
        // entries come sorted by feed: the scope is worked out once per feed
        if scope.as_ref().is_none_or(|(name, _)| *name != feed.name) {
            scope = Some((feed.name, applicable(rules, feed.name, feed.tags)));
        }
        let Some((_, applicable)) = &scope else {
            continue;
        };
        report.judged += 1;
        let d = decide(
            rules,
            applicable,
            &Entry::new(&e.article, feed.name, feed.tags, now),
        );
        let example = || (e.feed.clone(), e.article.title.clone());
        for &i in &d.matched {
            let c = &mut report.rules[i];
            c.matches += 1;
            if c.examples.len() < EXAMPLES {
                c.examples.push(example());
            }
        }
        match &d.verdict {
            Verdict::Drop { rule } => {
                report.totals.0 += 1;
                if rule.is_none() {
                    unkept.matches += 1;
                    if unkept.examples.len() < EXAMPLES {
                        unkept.examples.push(example());
                    }
                }
            }
            Verdict::Store { hide, tags } => {
                report.totals.1 += usize::from(hide.is_some());
                report.totals.2 += tags.len();
            }
        }
        report.marks.extend(
            marks_of(&e.entry_key, &d.verdict)
                .into_iter()
                .map(|m| (e.feed.clone(), m)),
        );
    }
    if unkept.matches > 0 {
        report.rules.push(unkept);
    }
    report
}

impl Report {
    /// The report as `rules test` prints it.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let width = self
            .rules
            .iter()
            .map(|r| r.rule.chars().count())
            .chain([4])
            .max()
            .unwrap_or(4);
        let _ = writeln!(out, "{:<width$}  {:<12}  MATCHES", "RULE", "ACTION");
        for r in &self.rules {
            let _ = writeln!(out, "{:<width$}  {:<12}  {}", r.rule, r.action, r.matches);
            for (feed, title) in &r.examples {
                let _ = writeln!(out, "    {feed}: {title}");
            }
            if r.matches > r.examples.len() {
                let _ = writeln!(out, "    ... and {} more", r.matches - r.examples.len());
            }
        }
        let (dropped, hidden, tagged) = self.totals;
        let _ = writeln!(
            out,
            "{} entries judged: {dropped} dropped, {hidden} hidden, {tagged} tags",
            self.judged
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::Article;
    use crate::config::Config;

    fn entry(feed: &str, key: &str, title: &str) -> RuleEntry {
        RuleEntry {
            feed: feed.into(),
            entry_key: format!("guid:{key}"),
            story_id: 1,
            article: Article {
                published: Some(Utc::now()),
                ..Article::for_test(key, title)
            },
        }
    }

    #[test]
    fn counts_examples_and_marks() {
        let config = Config::parse(
            std::path::Path::new("/x/newswire.toml"),
            r#"
[[feed]]
name = "a"
url = "https://a.example/feed"
[[feed]]
name = "b"
url = "https://b.example/feed"
[[rule]]
name = "ads"
when = 'title ~ "(?i)sponsored"'
action = "drop"
[[rule]]
name = "only-news"
when = 'title contains "News"'
action = "keep"
feeds = ["b"]
[[rule]]
name = "ai"
when = 'title contains "AI"'
action = "tag:ai"
"#,
        )
        .unwrap();
        let entries = vec![
            entry("a", "1", "Sponsored AI"),
            entry("a", "2", "AI News"),
            entry("b", "3", "Weather"),
            entry("b", "4", "News"),
            entry("gone", "5", "Sponsored"),
        ];
        let r = judge_stored(&config.rules, &config.feed_scopes(), &entries, Utc::now());
        assert_eq!(r.judged, 4);
        let counts: Vec<(&str, usize)> = r
            .rules
            .iter()
            .map(|c| (c.rule.as_str(), c.matches))
            .collect();
        assert_eq!(
            counts,
            [("ads", 1), ("only-news", 1), ("ai", 2), (UNKEPT, 1)]
        );
        assert_eq!(r.totals, (2, 0, 1));
        assert_eq!(
            r.rules[3].examples,
            [("b".to_string(), "Weather".to_string())]
        );
        let marks: Vec<(&str, &str, &str)> = r
            .marks
            .iter()
            .map(|(f, m)| (f.as_str(), m.entry_key.as_str(), m.action))
            .collect();
        assert_eq!(
            marks,
            [
                ("a", "guid:1", "drop"),
                ("a", "guid:2", "tag"),
                ("b", "guid:3", "drop")
            ]
        );
        let text = r.render();
        assert!(text.contains("ads"), "{text}");
        assert!(text.contains("b: Weather"), "{text}");
        assert!(
            text.contains("4 entries judged: 2 dropped, 0 hidden, 1 tags"),
            "{text}"
        );
    }
}
