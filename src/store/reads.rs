//! What reading stories means, for both stores: the SQL text of the story query and its
//! conditions (feeds, rules' hides and tags, paging), and the fair-share paging over it.
//! SQLite and PostgreSQL run the same statements; only their placeholders (`?1`, `$1`) and
//! their search conditions (FTS5, tsquery) differ, and those are the caller's.

use crate::fair::FairShare;

use super::{Story, StoryQuery};

/// How a store numbers its placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// `?1`, `?2`, ...
    Sqlite,
    /// `$1`, `$2`, ...
    Postgres,
}

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Text(String),
    Int(i64),
}

impl rusqlite::types::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Arg::Text(s) => s.to_sql(),
            Arg::Int(i) => i.to_sql(),
        }
    }
}

impl Arg {
    /// The value as tokio-postgres binds it.
    pub fn pg(&self) -> &(dyn tokio_postgres::types::ToSql + Sync) {
        match self {
            Arg::Text(s) => s,
            Arg::Int(i) => i,
        }
    }
}

/// A statement being written, and the values of its placeholders in order.
#[derive(Debug)]
pub(crate) struct Sql {
    dialect: Dialect,
    /// The values, the first for placeholder 1.
    pub args: Vec<Arg>,
}

impl Sql {
    pub fn new(dialect: Dialect) -> Sql {
        Sql {
            dialect,
            args: Vec::new(),
        }
    }

    /// Binds `arg` to the next placeholder, and returns the placeholder.
    pub fn bind(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        let n = self.args.len();
        match self.dialect {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}"),
        }
    }

    /// The values as tokio-postgres binds them.
    pub fn pg_args(&self) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
        self.args.iter().map(Arg::pg).collect()
    }

    /// Placeholders for `values`, comma separated (for `IN (...)`).
    fn list(&mut self, values: impl IntoIterator<Item = Arg>) -> String {
        values
            .into_iter()
            .map(|v| self.bind(v))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Placeholders for `names`; for an empty list `NULL`, so that `IN (...)` is valid and
    /// matches nothing.
    fn names(&mut self, names: &[String]) -> String {
        if names.is_empty() {
            return "NULL".into();
        }
        self.list(names.iter().cloned().map(Arg::Text))
    }
}

/// How a store searches: the condition that story `story_of` (an SQL expression for a
/// story id) matches the compiled query behind `placeholder`, or (`negate`) does not.
pub(crate) type SearchCondition<'a> = &'a dyn Fn(&str, &str, bool) -> String;

/// The story query (one row per story, or with `q.copies` one per entry, in the columns
/// [`story_columns`] names), or `None` when it can match nothing. `search` and `exclude`
/// are `q.search` and `q.exclude` compiled for the store, `hidden` whether any entry is
/// hidden by a rule.
pub(crate) fn stories_sql(
    q: &StoryQuery,
    sql: &mut Sql,
    search: &[String],
    exclude: &[String],
    hidden: bool,
    matches: SearchCondition,
) -> Option<String> {
    let mut text = String::from(if q.copies {
        "SELECT s.id, 'copy:' || s.feed || ':' || s.entry_key, s.title, coalesce(s.canonical_url, s.link),
                s.published, s.updated, s.summary, s.content, s.authors, s.categories, s.image,
                s.language, s.first_seen, s.image_credit
         FROM entries s"
    } else {
        "SELECT id, story_key, title, link, published, updated,
                (SELECT summary FROM entries WHERE id = s.summary_entry),
                (SELECT content FROM entries WHERE id = s.content_entry), authors,
                categories, image, language, first_seen, image_credit
         FROM stories s"
    });
    let story_of = if q.copies { "s.story_id" } else { "s.id" };
    let mut conditions: Vec<String> = Vec::new();
    if let Some(feeds) = &q.feeds {
        if feeds.is_empty() {
            return None;
        }
        let marks = sql.names(feeds);
        conditions.push(if q.copies {
            format!("s.feed IN ({marks})")
        } else {
            format!(
                "EXISTS (SELECT 1 FROM entries e WHERE e.story_id = s.id AND e.feed IN ({marks}))"
            )
        });
    }
    for s in search {
        let p = sql.bind(Arg::Text(s.clone()));
        conditions.push(matches(story_of, &p, false));
    }
    // stories every entry of which a rule hid are in no output
    if hidden {
        conditions.push(visible_condition(q.copies).into());
    }
    for (feeds, tags) in &q.tagged {
        conditions.push(tagged_condition(sql, q.copies, feeds, tags));
    }
    for s in exclude {
        let p = sql.bind(Arg::Text(s.clone()));
        conditions.push(matches(story_of, &p, true));
    }
    if let Some((published, id)) = q.before {
        let t = sql.bind(Arg::Int(published.timestamp()));
        let id = sql.bind(Arg::Int(id));
        conditions.push(format!(
            "(s.published < {t} OR (s.published = {t} AND s.id < {id}))"
        ));
    }
    if !conditions.is_empty() {
        text.push_str(" WHERE ");
        text.push_str(&conditions.join(" AND "));
    }
    text.push_str(&format!(
        " ORDER BY s.published DESC, s.id DESC LIMIT {}",
        q.limit
    ));
    Some(text)
}

/// The sources of the stories (or, `copies`, the entries) `ids`: (id, feed, feed title,
/// feed URL, site, link), earliest first.
pub(crate) fn sources_sql(sql: &mut Sql, copies: bool, ids: &[i64]) -> String {
    let marks = sql.list(ids.iter().map(|id| Arg::Int(*id)));
    format!(
        "SELECT {key}, e.feed, f.title, f.url, f.site_url, e.link
         FROM entries e JOIN feeds f ON f.name = e.feed
         WHERE {key} IN ({marks}) ORDER BY e.published, e.id",
        key = if copies { "e.id" } else { "e.story_id" }
    )
}

/// The tags rules gave the stories (or, `copies`, the entries) `ids`: (id, tag), by tag.
pub(crate) fn rule_tags_sql(sql: &mut Sql, copies: bool, ids: &[i64]) -> String {
    let marks = sql.list(ids.iter().map(|id| Arg::Int(*id)));
    let key = if copies { "e.id" } else { "e.story_id" };
    // byte order on both stores (PostgreSQL's default collation may be a language's)
    let collate = match sql.dialect {
        Dialect::Sqlite => "",
        Dialect::Postgres => " COLLATE \"C\"",
    };
    format!(
        "SELECT DISTINCT {key}, m.value{collate} FROM entries e
         JOIN rule_marks m ON m.feed = e.feed AND m.entry_key = e.entry_key AND m.action = 'tag'
         WHERE {key} IN ({marks}) ORDER BY 2"
    )
}

/// SQL condition: the story (`s`) has an entry no rule hid. In `copies` mode `s` is an entry.
fn visible_condition(copies: bool) -> &'static str {
    if copies {
        "NOT EXISTS (SELECT 1 FROM rule_marks m WHERE m.feed = s.feed AND m.entry_key = s.entry_key
                     AND m.action = 'hide')"
    } else {
        "EXISTS (SELECT 1 FROM entries e WHERE e.story_id = s.id AND NOT EXISTS (
                 SELECT 1 FROM rule_marks m WHERE m.feed = e.feed AND m.entry_key = e.entry_key
                 AND m.action = 'hide'))"
    }
}

/// SQL condition for one [`StoryQuery::tagged`] pair: an entry of the story comes from one
/// of `feeds` or was tagged by a rule with one of `tags`.
fn tagged_condition(sql: &mut Sql, copies: bool, feeds: &[String], tags: &[String]) -> String {
    let (feed_marks, tag_marks) = (sql.names(feeds), sql.names(tags));
    let test = |e: &str| {
        format!(
            "({e}.feed IN ({feed_marks}) OR EXISTS (SELECT 1 FROM rule_marks m
              WHERE m.feed = {e}.feed AND m.entry_key = {e}.entry_key AND m.action = 'tag'
              AND m.value IN ({tag_marks})))"
        )
    };
    if copies {
        test("s")
    } else {
        format!(
            "EXISTS (SELECT 1 FROM entries e WHERE e.story_id = s.id AND {})",
            test("e")
        )
    }
}

/// Sources as the story query's second statement returns them, one per feed, into the
/// stories they belong to (rows are (id, source), earliest first).
pub(crate) fn attach_sources(
    stories: &mut [Story],
    rows: impl IntoIterator<Item = (i64, super::StorySource)>,
) {
    let mut by_story: std::collections::HashMap<i64, Vec<super::StorySource>> =
        std::collections::HashMap::new();
    for (id, src) in rows {
        let list = by_story.entry(id).or_default();
        if !list.iter().any(|s| s.feed == src.feed) {
            list.push(src);
        }
    }
    for s in stories {
        s.sources = by_story.remove(&s.id).unwrap_or_default();
    }
}

/// [`super::Storage::stories_fair`]'s paging: reads on, page by page, past the stories the
/// cap leaves out until `q.limit` are found or none are left. The store reads each
/// [`FairPages::page`] and hands it to [`FairPages::take`].
pub(crate) struct FairPages {
    share: FairShare,
    out: Vec<Story>,
    limit: usize,
    page: StoryQuery,
    /// The feeds still read: those that have not had their share.
    feeds: Vec<String>,
}

impl FairPages {
    /// At most `per_feed` stories of one feed, of `feeds` (`q.feeds`, or every feed).
    pub fn new(q: &StoryQuery, per_feed: Option<usize>, feeds: Vec<String>) -> FairPages {
        let mut page = q.clone();
        page.limit = q.limit.clamp(50, 1000);
        FairPages {
            share: FairShare::new(per_feed),
            out: Vec::with_capacity(q.limit),
            limit: q.limit,
            page,
            feeds,
        }
    }

    /// The next page to read.
    pub fn page(&self) -> &StoryQuery {
        &self.page
    }

    /// Takes a page's stories; whether to read another.
    pub fn take(&mut self, batch: Vec<Story>) -> bool {
        let Some(last) = batch.last() else {
            return false;
        };
        self.page.before = Some((last.fields.published, last.id));
        let full = batch.len() == self.page.limit;
        for s in batch {
            let first = s.sources.first().map_or("", |src| src.feed.as_str());
            if self.share.admit(first) {
                self.out.push(s);
                if self.out.len() == self.limit {
                    return false;
                }
            }
        }
        if !full {
            return false;
        }
        // the next pages leave out the feeds that had their share: a flood of one feed
        // is read once, not page after page
        let open = self.feeds.len();
        let share = &self.share;
        self.feeds.retain(|f| !share.is_full(f));
        if self.feeds.is_empty() {
            return false;
        }
        if self.feeds.len() < open {
            self.page.feeds = Some(self.feeds.clone());
        }
        true
    }

    /// The stories admitted.
    pub fn done(self) -> Vec<Story> {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_each_dialect() {
        let q = StoryQuery {
            feeds: Some(vec!["a".into(), "b".into()]),
            limit: 5,
            tagged: vec![(vec![], vec!["t".into()])],
            before: Some((chrono::DateTime::from_timestamp(100, 0).unwrap(), 7)),
            ..Default::default()
        };
        let never = |_: &str, _: &str, _: bool| String::new();
        for (dialect, mark) in [(Dialect::Sqlite, "?"), (Dialect::Postgres, "$")] {
            let mut sql = Sql::new(dialect);
            let text = stories_sql(&q, &mut sql, &[], &[], false, &never).unwrap();
            // a, b; t (no feed: NULL); the time (twice) and the id
            assert_eq!(sql.args.len(), 5);
            assert!(
                text.contains(&format!(
                    "s.published < {mark}4 OR (s.published = {mark}4 AND s.id < {mark}5)"
                )),
                "{text}"
            );
            assert!(text.contains("feed IN (NULL) OR"), "{text}");
            assert_eq!(sql.args[2], Arg::Text("t".into()));
        }
        let mut sql = Sql::new(Dialect::Sqlite);
        let none = StoryQuery {
            feeds: Some(vec![]),
            ..q
        };
        assert_eq!(stories_sql(&none, &mut sql, &[], &[], false, &never), None);
    }
}
