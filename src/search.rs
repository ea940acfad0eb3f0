//! Search queries as people type them: `covid-19`, `don't`, `AT&T`, `"exact phrase"`,
//! `ceasefire OR truce`, `-opinion`, `elect*`. Parsing never fails: every word is a plain
//! term unless it is one of the few documented operators, and what cannot be searched for is
//! dropped with a note that says so. The parsed [`Query`] knows no database; [`Query::fts5`]
//! compiles it to SQLite FTS5 (every term quoted, so no input reaches FTS5 as syntax), and
//! another store could compile the same tree to PostgreSQL's tsquery.

/// At most this many terms are searched for; the rest are dropped with a note.
pub const MAX_TERMS: usize = 32;
/// A term longer than this (in characters) is cut.
pub const MAX_TERM_CHARS: usize = 100;

/// One thing to look for: a word or a phrase, possibly a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// The text as typed (without quotes): a word, or the words of a phrase.
    pub text: String,
    /// Whether it was a phrase in quotes.
    pub phrase: bool,
    /// `word*`: any word starting with it.
    pub prefix: bool,
}

/// One condition a story must meet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clause {
    /// At least one of these terms (one term for a plain word; several joined by `OR`).
    Any(Vec<Term>),
    /// None of these terms (`-word`, `NOT word`).
    Not(Term),
}

/// A parsed search: every clause must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// The conditions, in the order typed.
    pub clauses: Vec<Clause>,
    /// What was ignored and why, in words a reader understands (shown on the page).
    pub notes: Vec<String>,
}

/// A query compiled for SQLite FTS5: stories must match `matching` (when given) and must not
/// match `excluding` (when given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fts5Query {
    /// An FTS5 MATCH expression the story must match.
    pub matching: Option<String>,
    /// An FTS5 MATCH expression the story must not match.
    pub excluding: Option<String>,
}

/// Text as both stores index and search it: lowercase, without diacritics ("Café" and
/// "cafe" are one word), as SQLite's `unicode61 remove_diacritics 2` tokenizer reads it.
/// PostgreSQL's `simple` configuration lowercases but keeps diacritics: its index and its
/// queries are given folded text.
pub fn fold(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Phrase(String),
    Or,
    Not,
}

fn tokens(input: &str) -> (Vec<Token>, bool) {
    let mut out = Vec::new();
    let mut unclosed = false;
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' || c == '\u{201c}' || c == '\u{201d}' {
            chars.next();
            let mut text = String::new();
            let mut closed = false;
            for c in chars.by_ref() {
                if c == '"' || c == '\u{201c}' || c == '\u{201d}' {
                    closed = true;
                    break;
                }
                text.push(c);
            }
            unclosed |= !closed;
            // `"phrase"*`
            let prefix = chars.peek() == Some(&'*');
            if prefix {
                chars.next();
                text.push('*');
            }
            out.push(Token::Phrase(text));
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '"' || c == '\u{201c}' || c == '\u{201d}' {
                    break;
                }
                word.push(c);
                chars.next();
            }
            out.push(match word.as_str() {
                "OR" | "|" => Token::Or,
                "NOT" => Token::Not,
                _ => Token::Word(word),
            });
        }
    }
    (out, unclosed)
}

fn searchable(s: &str) -> bool {
    s.chars().any(char::is_alphanumeric)
}

fn cut(s: &str) -> String {
    s.chars().take(MAX_TERM_CHARS).collect()
}

/// Reads what a reader typed. Never fails: see the module's documentation.
pub fn parse(input: &str) -> Query {
    let (tokens, unclosed) = tokens(input);
    let mut q = Query::default();
    if unclosed {
        q.notes
            .push("a quote was not closed: the phrase runs to the end".to_string());
    }
    let mut ignored: Vec<String> = Vec::new();
    let mut negate_next = false;
    let mut or_pending = false;
    let mut terms = 0usize;
    for token in tokens {
        let (raw, phrase) = match token {
            Token::Or => {
                or_pending = true;
                continue;
            }
            Token::Not => {
                negate_next = true;
                continue;
            }
            Token::Word(w) => (w, false),
            Token::Phrase(p) => (p, true),
        };
        let mut text = raw.as_str();
        let mut negated = std::mem::take(&mut negate_next);
        if !phrase && text.len() > 1 && text.starts_with('-') {
            negated = true;
            text = &text[1..];
        }
        if !phrase && text.eq_ignore_ascii_case("AND") {
            // `a AND b` is `a b`; a lowercase "and" is a word
            if text == "AND" {
                continue;
            }
        }
        let prefix = text.len() > 1 && text.ends_with('*') && searchable(text);
        let text = if prefix {
            text.trim_end_matches('*')
        } else {
            text
        };
        if !searchable(text) {
            if !text.trim().is_empty() {
                ignored.push(text.to_string());
            }
            or_pending = false;
            continue;
        }
        if terms == MAX_TERMS {
            q.notes.push(format!(
                "only the first {MAX_TERMS} words were searched for"
            ));
            terms += 1;
            continue;
        }
        if terms > MAX_TERMS {
            continue;
        }
        terms += 1;
        let term = Term {
            text: cut(text),
            phrase,
            prefix,
        };
        let joins = std::mem::take(&mut or_pending);
        if negated {
            q.clauses.push(Clause::Not(term));
        } else if let (true, Some(Clause::Any(any))) = (joins, q.clauses.last_mut()) {
            any.push(term);
        } else {
            q.clauses.push(Clause::Any(vec![term]));
        }
    }
    if !ignored.is_empty() {
        q.notes.push(format!(
            "ignored {}: no letters or digits to look for",
            ignored
                .iter()
                .map(|w| format!("\u{201c}{w}\u{201d}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    q
}

impl Query {
    /// Whether there is nothing to search for (every story matches).
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// The query as a reader would type it again, operators and all (for titles and the
    /// search box).
    pub fn display(&self) -> String {
        let term = |t: &Term| {
            let mut s = if t.phrase || t.text.contains(char::is_whitespace) {
                format!("\"{}\"", t.text)
            } else {
                t.text.clone()
            };
            if t.prefix {
                s.push('*');
            }
            s
        };
        self.clauses
            .iter()
            .map(|c| match c {
                Clause::Any(terms) => terms.iter().map(term).collect::<Vec<_>>().join(" OR "),
                Clause::Not(t) => format!("-{}", term(t)),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Compiles to SQLite FTS5. Every term becomes an FTS5 string (`"..."`, quotes doubled),
    /// which FTS5 splits with the index's own tokenizer: `covid-19` is the phrase
    /// `covid 19`, `AT&T` is `at t`. So the expression is always valid FTS5.
    pub fn fts5(&self) -> Fts5Query {
        fn term(t: &Term) -> String {
            let mut s = format!("\"{}\"", t.text.replace('"', "\"\""));
            if t.prefix {
                s.push_str(" *");
            }
            s
        }
        let mut must = Vec::new();
        let mut not = Vec::new();
        for c in &self.clauses {
            match c {
                Clause::Any(terms) if terms.len() == 1 => must.push(term(&terms[0])),
                Clause::Any(terms) => must.push(format!(
                    "({})",
                    terms.iter().map(term).collect::<Vec<_>>().join(" OR ")
                )),
                Clause::Not(t) => not.push(term(t)),
            }
        }
        let join = |parts: Vec<String>, op: &str| (!parts.is_empty()).then(|| parts.join(op));
        Fts5Query {
            matching: join(must, " AND "),
            excluding: join(not, " OR "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(t: &str) -> Term {
        Term {
            text: t.into(),
            phrase: false,
            prefix: false,
        }
    }

    fn fts(input: &str) -> (Option<String>, Option<String>) {
        let f = parse(input).fts5();
        (f.matching, f.excluding)
    }

    #[test]
    fn ordinary_words_are_plain_terms() {
        for input in ["covid-19", "don't", "U.S.", "AT&T", "C++", "budget:", "x:y"] {
            let q = parse(input);
            assert_eq!(q.clauses, vec![Clause::Any(vec![word(input)])], "{input}");
            assert!(q.notes.is_empty(), "{input}: {:?}", q.notes);
        }
        assert_eq!(fts("covid-19").0.as_deref(), Some("\"covid-19\""));
        assert_eq!(
            fts("AT&T budget:").0.as_deref(),
            Some("\"AT&T\" AND \"budget:\"")
        );
    }

    #[test]
    fn phrases_or_not_and_prefix_are_the_documented_extras() {
        assert_eq!(
            fts("\"climate summit\" ceasefire OR truce -opinion elect*"),
            (
                Some("\"climate summit\" AND (\"ceasefire\" OR \"truce\") AND \"elect\" *".into()),
                Some("\"opinion\"".into())
            )
        );
        assert_eq!(fts("a NOT b"), (Some("\"a\"".into()), Some("\"b\"".into())));
        assert_eq!(fts("a AND b"), (Some("\"a\" AND \"b\"".into()), None));
        // lowercase operators are words
        assert_eq!(
            fts("war and peace or not")
                .0
                .unwrap()
                .matches(" AND ")
                .count(),
            4
        );
    }

    #[test]
    fn an_unclosed_quote_runs_to_the_end_with_a_note() {
        let q = parse("\"peace talks");
        assert_eq!(
            q.clauses,
            vec![Clause::Any(vec![Term {
                text: "peace talks".into(),
                phrase: true,
                prefix: false
            }])]
        );
        assert_eq!(q.notes.len(), 1);
        assert!(q.notes[0].contains("quote"));
    }

    #[test]
    fn quotes_inside_terms_cannot_break_out() {
        // a typographic quote opens a phrase; an ASCII quote in the middle of a word too
        let f = parse("it\u{201d}s a\"b").fts5();
        let m = f.matching.unwrap();
        assert_eq!(m.matches('"').count() % 2, 0, "{m}");
    }

    #[test]
    fn punctuation_alone_is_ignored_with_a_note() {
        let q = parse("+++ - * OR ...");
        assert!(q.is_empty());
        assert_eq!(q.notes.len(), 1, "{:?}", q.notes);
        assert!(q.notes[0].contains("+++"));
        assert!(parse("").is_empty());
        assert!(parse("   ").notes.is_empty());
    }

    #[test]
    fn only_exclusions_leave_matching_empty() {
        assert_eq!(
            fts("-sport -opinion"),
            (None, Some("\"sport\" OR \"opinion\"".into()))
        );
    }

    #[test]
    fn too_many_terms_are_cut_with_a_note() {
        let input = (0..50)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let q = parse(&input);
        assert_eq!(q.clauses.len(), MAX_TERMS);
        assert_eq!(q.notes.len(), 1);
        let long = "x".repeat(5000);
        match &parse(&long).clauses[0] {
            Clause::Any(t) => assert_eq!(t[0].text.chars().count(), MAX_TERM_CHARS),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn display_gives_back_what_was_searched() {
        assert_eq!(
            parse("  \"climate  summit\"   ceasefire OR truce NOT opinion elect* +++").display(),
            "\"climate  summit\" ceasefire OR truce -opinion elect*"
        );
    }
}
