//! Search queries as people type them: `covid-19`, `don't`, `AT&T`, `"exact phrase"`,
//! `ceasefire OR truce`, `-opinion`, `elect*`. Parsing never fails: every word is a plain
//! term unless it is one of the few documented operators, and what cannot be searched for is
//! dropped with a note that says so. The parsed [`Query`] knows no database; [`Query::fts5`]
//! compiles it to SQLite FTS5 (every term quoted, so no input reaches FTS5 as syntax), and
//! [`Query::tsquery`] compiles the same tree to PostgreSQL's tsquery (every term cut into
//! words as FTS5 cuts it, so no input reaches tsquery as syntax either).
//!
//! Both stores must cut text into the same words. SQLite's `unicode61` tokenizer cuts at
//! every character that is not a letter, a digit or private use; PostgreSQL's parser reads
//! `covid-19` as `covid` and `-19`, `example.com` as one host name. So the PostgreSQL index
//! is given [`index_text`] (folded, cut as FTS5 cuts, words joined by spaces), where its
//! parser finds nothing left to read differently, and its queries are given [`words`].

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

/// A query compiled for PostgreSQL, each text for `to_tsquery('simple', $n)` over the
/// stories' `search` column (headline weight A, body weight D): as [`Fts5Query`], stories
/// must match `matching` (when given) and must not match `excluding` (when given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TsQuery {
    /// A tsquery the story must match.
    pub matching: Option<String>,
    /// A tsquery the story must not match.
    pub excluding: Option<String>,
}

/// A tsquery no story matches: what an FTS5 string without a word (`""`) matches.
const NEVER: &str = "('0' & !'0')";

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

/// Whether FTS5's `unicode61` tokenizer keeps `c` in a word (its default categories: letters,
/// numbers and private use; everything else separates words).
fn word_char(c: char) -> bool {
    c.is_alphanumeric()
        || matches!(c, '\u{e000}'..='\u{f8ff}' | '\u{f0000}'..='\u{ffffd}' | '\u{100000}'..='\u{10fffd}')
}

/// The words of `text` as FTS5's `unicode61 remove_diacritics 2` tokenizer finds them:
/// folded ([`fold`]) and cut at every other character (`covid-19` is `covid`, `19`; `AT&T`
/// is `at`, `t`).
pub fn words(text: &str) -> Vec<String> {
    fold(text)
        .split(|c: char| !word_char(c))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// What the PostgreSQL index is given of a text: its [`words`], joined by spaces, which
/// `to_tsvector('simple', ...)` reads as those same words, in that order.
pub fn index_text(text: &str) -> String {
    words(text).join(" ")
}

/// A search compiled from either side: a [`Query`]'s clauses or an FTS5 expression.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    All(Vec<Expr>),
    Any(Vec<Expr>),
    Term(Term),
}

impl Expr {
    /// As tsquery text. A term is a phrase of its words (`<->`), the last one a prefix
    /// (`:*`) for `word*`. FTS5 matches a phrase within one column: a phrase of several
    /// words must be all headline (A) or all body (D), not run from one into the other.
    fn tsquery(&self) -> String {
        fn lexeme(word: &str, prefix: bool, weight: &str) -> String {
            // words hold no quote or backslash (they separate words), escaped all the same
            let quoted = word.replace('\\', "\\\\").replace('\'', "''");
            let label = format!("{}{weight}", if prefix { "*" } else { "" });
            if label.is_empty() {
                format!("'{quoted}'")
            } else {
                format!("'{quoted}':{label}")
            }
        }
        let group = |parts: &[Expr], op: &str| {
            let parts: Vec<String> = parts.iter().map(Expr::tsquery).collect();
            match parts.len() {
                1 => parts.into_iter().next().unwrap_or_default(),
                _ => format!("({})", parts.join(op)),
            }
        };
        match self {
            Expr::All(parts) => group(parts, " & "),
            Expr::Any(parts) => group(parts, " | "),
            Expr::Term(t) => {
                let words = words(&t.text);
                let phrase = |weight: &str| {
                    words
                        .iter()
                        .enumerate()
                        .map(|(i, w)| lexeme(w, t.prefix && i + 1 == words.len(), weight))
                        .collect::<Vec<_>>()
                        .join(" <-> ")
                };
                match words.len() {
                    0 => NEVER.to_string(),
                    1 => phrase(""),
                    _ => format!("({} | {})", phrase("A"), phrase("D")),
                }
            }
        }
    }
}

fn compile(parts: Vec<Expr>, join: fn(Vec<Expr>) -> Expr) -> Option<String> {
    (!parts.is_empty()).then(|| join(parts).tsquery())
}

/// Reads an FTS5 expression as [`Query::fts5`] writes them (strings in double quotes, a
/// prefix ` *`, `AND`, `OR`, parentheses; bare words too) and compiles it to tsquery text,
/// so that a store given FTS5 text answers as SQLite would. Anything else is refused, as
/// FTS5 would refuse what it cannot read.
pub fn tsquery_from_fts5(fts5: &str) -> Result<String, String> {
    struct Reader<'a> {
        rest: std::iter::Peekable<std::str::CharIndices<'a>>,
        text: &'a str,
    }
    impl Reader<'_> {
        fn skip_space(&mut self) {
            while self.rest.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        }
        fn peek(&mut self) -> Option<char> {
            self.skip_space();
            self.rest.peek().map(|p| p.1)
        }
        fn bare(&mut self) -> String {
            let mut w = String::new();
            while let Some((_, c)) = self
                .rest
                .next_if(|(_, c)| c.is_alphanumeric() || *c == '_' || !c.is_ascii())
            {
                w.push(c);
            }
            w
        }
        fn or(&mut self) -> Result<Expr, String> {
            let mut any = vec![self.and()?];
            while self.keyword("OR") {
                any.push(self.and()?);
            }
            Ok(if any.len() == 1 {
                any.remove(0)
            } else {
                Expr::Any(any)
            })
        }
        fn and(&mut self) -> Result<Expr, String> {
            let mut all = vec![self.primary()?];
            loop {
                if self.keyword("AND") {
                    all.push(self.primary()?);
                    continue;
                }
                match self.peek() {
                    // FTS5 reads two phrases side by side as AND
                    Some(c) if c != ')' && !self.at_keyword("OR") => all.push(self.primary()?),
                    _ => break,
                }
            }
            Ok(if all.len() == 1 {
                all.remove(0)
            } else {
                Expr::All(all)
            })
        }
        fn at_keyword(&mut self, k: &str) -> bool {
            self.skip_space();
            let Some(&(i, _)) = self.rest.peek() else {
                return false;
            };
            let after = &self.text[i..];
            after.starts_with(k)
                && !after[k.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
        }
        fn keyword(&mut self, k: &str) -> bool {
            if !self.at_keyword(k) {
                return false;
            }
            for _ in 0..k.len() {
                self.rest.next();
            }
            true
        }
        fn primary(&mut self) -> Result<Expr, String> {
            let text = match self.peek() {
                Some('(') => {
                    self.rest.next();
                    let e = self.or()?;
                    if self.peek() != Some(')') {
                        return Err("a parenthesis is not closed".into());
                    }
                    self.rest.next();
                    return Ok(e);
                }
                Some('"') => {
                    self.rest.next();
                    let mut s = String::new();
                    loop {
                        match self.rest.next() {
                            None => return Err("a string is not closed".into()),
                            Some((_, '"')) if self.rest.next_if(|p| p.1 == '"').is_some() => {
                                s.push('"')
                            }
                            Some((_, '"')) => break,
                            Some((_, c)) => s.push(c),
                        }
                    }
                    s
                }
                Some(c) if c.is_alphanumeric() || c == '_' || !c.is_ascii() => {
                    if self.at_keyword("NOT") || self.at_keyword("NEAR") {
                        return Err("NOT and NEAR are not read here".into());
                    }
                    self.bare()
                }
                Some(c) => return Err(format!("syntax error near \"{c}\"")),
                None => return Err("an operand is missing".into()),
            };
            let prefix = self.peek() == Some('*');
            if prefix {
                self.rest.next();
            }
            Ok(Expr::Term(Term {
                text,
                phrase: false,
                prefix,
            }))
        }
    }
    let mut r = Reader {
        rest: fts5.char_indices().peekable(),
        text: fts5,
    };
    let e = r.or()?;
    match r.peek() {
        None => Ok(e.tsquery()),
        Some(c) => Err(format!("syntax error near \"{c}\"")),
    }
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

impl Query {
    /// Compiles to PostgreSQL tsquery text, with FTS5's meaning (see [`TsQuery`]): each
    /// term is cut into [`words`] (`covid-19` is the phrase `covid <-> 19`), so that no
    /// character of the input is tsquery syntax; clauses are ANDed, `OR` groups ORed, and
    /// stories matching any `NOT` term are left out.
    pub fn tsquery(&self) -> TsQuery {
        let mut must = Vec::new();
        let mut not = Vec::new();
        for c in &self.clauses {
            match c {
                Clause::Any(terms) => {
                    let mut any: Vec<Expr> = terms.iter().cloned().map(Expr::Term).collect();
                    must.push(if any.len() == 1 {
                        any.remove(0)
                    } else {
                        Expr::Any(any)
                    });
                }
                Clause::Not(t) => not.push(Expr::Term(t.clone())),
            }
        }
        TsQuery {
            matching: compile(must, Expr::All),
            excluding: compile(not, Expr::Any),
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

    fn ts(input: &str) -> (Option<String>, Option<String>) {
        let t = parse(input).tsquery();
        (t.matching, t.excluding)
    }

    #[test]
    fn words_are_cut_as_fts5_cuts_them() {
        assert_eq!(words("Covid-19 AT&T"), ["covid", "19", "at", "t"]);
        assert_eq!(words("Café ÉLAN naïve"), ["cafe", "elan", "naive"]);
        assert_eq!(
            words("a&b|c:*! don't x_y"),
            ["a", "b", "c", "don", "t", "x", "y"]
        );
        assert_eq!(index_text("example.com, 3.14!"), "example com 3 14");
        assert!(words("+++ --").is_empty());
    }

    #[test]
    fn tsquery_has_fts5s_meaning() {
        // one word matches anywhere; several make a phrase within one column
        assert_eq!(ts("Café").0.as_deref(), Some("'cafe'"));
        assert_eq!(
            ts("covid-19").0.as_deref(),
            Some("('covid':A <-> '19':A | 'covid':D <-> '19':D)")
        );
        assert_eq!(
            ts("\"climate summ\"* ceasefire OR truce -opinion elect*"),
            (
                Some(
                    "(('climate':A <-> 'summ':*A | 'climate':D <-> 'summ':*D) \
                     & ('ceasefire' | 'truce') & 'elect':*)"
                        .into()
                ),
                Some("'opinion'".into())
            )
        );
        assert_eq!(
            ts("-sport NOT opinion"),
            (None, Some("('sport' | 'opinion')".into()))
        );
        assert_eq!(ts(""), (None, None));
    }

    #[test]
    fn tsquery_syntax_in_terms_is_only_separators() {
        assert_eq!(
            ts("a&b|c:*!").0.as_deref(),
            Some("('a':A <-> 'b':A <-> 'c':A | 'a':D <-> 'b':D <-> 'c':D)")
        );
        for input in ["it's", "a\\b", "x'):*|!(", "\"<-> & !\"", "'';--"] {
            let m = ts(input).0.unwrap_or_default();
            assert!(
                !m.contains("''") && !m.contains('\\') && !m.contains("--"),
                "{input}: {m}"
            );
        }
    }

    #[test]
    fn fts5_text_reads_back_to_the_same_tsquery() {
        for input in [
            "covid-19",
            "AT&T budget:",
            "\"climate summit\" ceasefire OR truce -opinion elect*",
            "a NOT b",
            "-sport -opinion",
            "it\u{201d}s a\"b",
            "\"say \"\"hi\"\"\" q OR r OR s t",
            "Ελλάδα OR ünïcödé*",
        ] {
            let q = parse(input);
            let (f, t) = (q.fts5(), q.tsquery());
            let back = |s: Option<String>| s.map(|s| tsquery_from_fts5(&s).unwrap());
            assert_eq!(back(f.matching), t.matching, "{input}");
            assert_eq!(back(f.excluding), t.excluding, "{input}");
        }
        assert_eq!(
            tsquery_from_fts5("zephyrbrand").as_deref(),
            Ok("'zephyrbrand'")
        );
        for bad in ["\"open", "(a", "a NOT b", "title:x", "a OR", ""] {
            assert!(tsquery_from_fts5(bad).is_err(), "{bad}");
        }
    }
}
