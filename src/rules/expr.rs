//! The `when` expression of a `[[rule]]`: lexer, parser and evaluator. Pure.
//!
//! ```text
//! expr       := or
//! or         := and ("or" and)*
//! and        := unary ("and" unary)*
//! unary      := "not" unary | "(" expr ")" | comparison
//! comparison := FIELD OP VALUE
//! VALUE      := "string" | NUMBER | DURATION (2d, 12h, 30m, 45s, 1w)
//! ```
//! Errors carry the byte offset in the expression where they were found, so that the
//! config can point at line and column.

use std::time::Duration;

use regex::Regex;

/// Why an expression was rejected: where (byte offset in the expression) and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    /// Byte offset in the expression text.
    pub offset: usize,
    /// What was wrong and what was expected.
    pub message: String,
}

impl std::fmt::Display for ExprError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A field an expression can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The entry's title.
    Title,
    /// The entry's link.
    Link,
    /// Any of its authors.
    Author,
    /// Any of its categories.
    Category,
    /// The text of its content (HTML tags removed).
    Content,
    /// Its summary.
    Summary,
    /// The name of its feed.
    Feed,
    /// Any of its feed's tags.
    Tag,
    /// Its language.
    Language,
    /// Words in its content (or summary).
    Words,
    /// Time since publication.
    Age,
}

/// The field names, as written in expressions (also the list the error message offers).
pub const FIELDS: &[(&str, Field)] = &[
    ("title", Field::Title),
    ("link", Field::Link),
    ("author", Field::Author),
    ("category", Field::Category),
    ("content", Field::Content),
    ("summary", Field::Summary),
    ("feed", Field::Feed),
    ("tag", Field::Tag),
    ("language", Field::Language),
    ("words", Field::Words),
    ("age", Field::Age),
];

impl Field {
    fn kind(self) -> Kind {
        match self {
            Field::Words => Kind::Number,
            Field::Age => Kind::Duration,
            _ => Kind::Text,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Number,
    Duration,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `~`: the regex matches.
    Matches,
    /// `!~`: the regex does not match.
    NotMatches,
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `contains`: substring, case-sensitive.
    Contains,
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `>=`
    Ge,
}

/// What a field is compared with.
#[derive(Debug, Clone)]
pub enum Value {
    /// A string literal (`=`, `!=`, `contains`).
    Text(String),
    /// A compiled regex (`~`, `!~`).
    Regex(Regex),
    /// A number (`words`).
    Number(f64),
    /// A duration (`age`).
    Duration(Duration),
}

/// A parsed expression.
#[derive(Debug, Clone)]
pub enum Expr {
    /// Both.
    And(Box<Expr>, Box<Expr>),
    /// Either.
    Or(Box<Expr>, Box<Expr>),
    /// Negation.
    Not(Box<Expr>),
    /// `FIELD OP VALUE`.
    Compare(Field, Op, Value),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Dur(Duration),
    Op(Op),
    LParen,
    RParen,
}

fn lex(text: &str) -> Result<Vec<(usize, Tok)>, ExprError> {
    let err = |offset, message: String| ExprError { offset, message };
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' => {
                out.push((start, Tok::LParen));
                i += 1;
            }
            b')' => {
                out.push((start, Tok::RParen));
                i += 1;
            }
            b'~' => {
                out.push((start, Tok::Op(Op::Matches)));
                i += 1;
            }
            b'!' | b'<' | b'>' | b'=' => {
                let next = bytes.get(i + 1).copied();
                let (op, len) = match (c, next) {
                    (b'!', Some(b'~')) => (Op::NotMatches, 2),
                    (b'!', Some(b'=')) => (Op::Ne, 2),
                    (b'<', Some(b'=')) => (Op::Le, 2),
                    (b'>', Some(b'=')) => (Op::Ge, 2),
                    (b'=', Some(b'=')) => (Op::Eq, 2),
                    (b'<', _) => (Op::Lt, 1),
                    (b'>', _) => (Op::Gt, 1),
                    (b'=', _) => (Op::Eq, 1),
                    _ => {
                        return Err(err(
                            start,
                            "`!` alone is not an operator: use `!=`, `!~` or `not`".into(),
                        ));
                    }
                };
                out.push((start, Tok::Op(op)));
                i += len;
            }
            b'"' => {
                i += 1;
                let mut s = String::new();
                loop {
                    let Some(&b) = bytes.get(i) else {
                        return Err(err(
                            start,
                            "this string is not closed: add a `\"` at its end".into(),
                        ));
                    };
                    match b {
                        b'"' => {
                            i += 1;
                            break;
                        }
                        b'\\' => match bytes.get(i + 1) {
                            Some(b'"') => {
                                s.push('"');
                                i += 2;
                            }
                            Some(b'\\') => {
                                s.push('\\');
                                i += 2;
                            }
                            // kept as written, so that regexes read as usual: "\d+", "\bAI\b"
                            _ => {
                                s.push('\\');
                                i += 1;
                            }
                        },
                        _ => {
                            let ch = text[i..].chars().next().unwrap_or_default();
                            s.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                out.push((start, Tok::Str(s)));
            }
            b'0'..=b'9' | b'.' => {
                while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                    i += 1;
                }
                let unit_start = i;
                while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                    i += 1;
                }
                let number = &text[start..unit_start];
                let unit = &text[unit_start..i];
                let n: f64 = number
                    .parse()
                    .map_err(|_| err(start, format!("`{number}` is not a number")))?;
                if unit.is_empty() {
                    out.push((start, Tok::Num(n)));
                } else {
                    let secs = match unit {
                        "s" => 1.0,
                        "m" | "min" => 60.0,
                        "h" => 3600.0,
                        "d" => 86400.0,
                        "w" => 7.0 * 86400.0,
                        _ => {
                            return Err(err(
                                unit_start,
                                format!(
                                    "unknown duration unit `{unit}`: use s, m, h, d or w, e.g. `2d`"
                                ),
                            ));
                        }
                    };
                    out.push((start, Tok::Dur(Duration::from_secs_f64(n * secs))));
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let word = &text[start..i];
                if word == "contains" {
                    out.push((start, Tok::Op(Op::Contains)));
                } else {
                    out.push((start, Tok::Ident(word.to_string())));
                }
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or_default();
                let hint = if ch == '\'' {
                    ": string literals take double quotes, e.g. \"Sponsored\"".to_string()
                } else {
                    String::new()
                };
                return Err(err(start, format!("unexpected `{ch}`{hint}")));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    len: usize,
}

fn field_list() -> String {
    FIELDS.iter().map(|f| f.0).collect::<Vec<_>>().join(", ")
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.1)
    }

    fn offset(&self) -> usize {
        self.toks.get(self.pos).map_or(self.len, |t| t.0)
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, ExprError> {
        Err(ExprError {
            offset: self.offset(),
            message: message.into(),
        })
    }

    fn keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Ident(w)) if w == word) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ExprError> {
        if self.keyword("not") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            let open = self.offset();
            self.pos += 1;
            let inner = self.or()?;
            if self.peek() != Some(&Tok::RParen) {
                if self.peek().is_none() {
                    return Err(ExprError {
                        offset: open,
                        message: "this `(` is not closed: add a `)`".into(),
                    });
                }
                return self.err("expected `)`, `and` or `or`");
            }
            self.pos += 1;
            return Ok(inner);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, ExprError> {
        let field = match self.peek() {
            Some(Tok::Ident(name)) => match FIELDS.iter().find(|f| f.0 == name) {
                Some(&(_, f)) => f,
                None => {
                    return self.err(format!(
                        "unknown field `{name}`: expected one of {}",
                        field_list()
                    ));
                }
            },
            None => {
                return self.err(format!(
                    "the expression ends too soon: expected a field ({})",
                    field_list()
                ));
            }
            Some(_) => {
                return self.err(format!("expected a field ({}), `not` or `(`", field_list()));
            }
        };
        let field_name = FIELDS.iter().find(|f| f.1 == field).map_or("", |f| f.0);
        self.pos += 1;
        let op = match self.peek() {
            Some(Tok::Op(op)) => *op,
            _ => {
                return self.err(format!(
                    "expected an operator after `{field_name}`: ~ !~ = != contains < > <= >="
                ));
            }
        };
        let op_offset = self.offset();
        self.pos += 1;
        let value = match (field.kind(), op, self.peek().cloned()) {
            (Kind::Text, Op::Matches | Op::NotMatches, Some(Tok::Str(s))) => match Regex::new(&s) {
                Ok(re) => Value::Regex(re),
                Err(e) => {
                    let why = e.to_string();
                    let last = why.lines().last().unwrap_or("").trim().to_string();
                    return self.err(format!("invalid regex: {last}"));
                }
            },
            (Kind::Text, Op::Eq | Op::Ne | Op::Contains, Some(Tok::Str(s))) => Value::Text(s),
            (Kind::Text, Op::Lt | Op::Gt | Op::Le | Op::Ge, _) => {
                return Err(ExprError {
                    offset: op_offset,
                    message: format!(
                        "`{field_name}` is text: compare it with ~, !~, =, != or contains"
                    ),
                });
            }
            (Kind::Text, _, _) => {
                return self.err(format!(
                    "expected a string in double quotes after `{field_name}`, e.g. \"Sponsored\""
                ));
            }
            (Kind::Number | Kind::Duration, Op::Matches | Op::NotMatches | Op::Contains, _) => {
                return Err(ExprError {
                    offset: op_offset,
                    message: format!(
                        "`{field_name}` is a {}: compare it with <, >, <=, >=, = or !=",
                        if field.kind() == Kind::Number {
                            "number"
                        } else {
                            "duration"
                        }
                    ),
                });
            }
            (Kind::Number, _, Some(Tok::Num(n))) => Value::Number(n),
            (Kind::Number, _, _) => {
                return self.err("`words` is compared with a number, e.g. `words < 50`");
            }
            (Kind::Duration, _, Some(Tok::Dur(d))) => Value::Duration(d),
            (Kind::Duration, _, _) => {
                return self.err("`age` is compared with a duration such as 2d, 12h or 30m");
            }
        };
        self.pos += 1;
        Ok(Expr::Compare(field, op, value))
    }
}

/// Parses an expression.
pub fn parse(text: &str) -> Result<Expr, ExprError> {
    let toks = lex(text)?;
    if toks.is_empty() {
        return Err(ExprError {
            offset: 0,
            message: "the expression is empty: write a condition such as title ~ \"(?i)sponsored\""
                .into(),
        });
    }
    let mut p = Parser {
        toks,
        pos: 0,
        len: text.len(),
    };
    let expr = p.or()?;
    if p.pos < p.toks.len() {
        return p.err(match p.peek() {
            Some(Tok::RParen) => "this `)` has no `(`",
            _ => "expected `and`, `or` or the end of the expression",
        });
    }
    Ok(expr)
}

/// What an expression is evaluated against: one entry and its feed. Content text and word
/// count are computed on first use only.
pub trait Subject {
    /// The values of a text field (several for author, category and tag; none when absent).
    fn texts(&self, field: Field) -> Vec<&str>;
    /// Words in the content (or summary).
    fn words(&self) -> f64;
    /// Time since publication (zero when undated).
    fn age(&self) -> Duration;
}

impl Expr {
    /// Whether the entry matches.
    pub fn eval(&self, s: &dyn Subject) -> bool {
        match self {
            Expr::And(a, b) => a.eval(s) && b.eval(s),
            Expr::Or(a, b) => a.eval(s) || b.eval(s),
            Expr::Not(a) => !a.eval(s),
            Expr::Compare(field, op, value) => compare(s, *field, *op, value),
        }
    }

    /// Whether any comparison reads `field` (to skip costly preparation).
    pub fn uses(&self, field: Field) -> bool {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => a.uses(field) || b.uses(field),
            Expr::Not(a) => a.uses(field),
            Expr::Compare(f, _, _) => *f == field,
        }
    }
}

fn ordered<T: PartialOrd>(a: T, op: Op, b: T) -> bool {
    match op {
        Op::Lt => a < b,
        Op::Gt => a > b,
        Op::Le => a <= b,
        Op::Ge => a >= b,
        Op::Eq => a == b,
        Op::Ne => a != b,
        _ => false,
    }
}

fn compare(s: &dyn Subject, field: Field, op: Op, value: &Value) -> bool {
    match value {
        Value::Number(n) => ordered(s.words(), op, *n),
        Value::Duration(d) => ordered(s.age(), op, *d),
        Value::Regex(re) => {
            // a multi-valued field matches when any value does; `!~` when none does
            let values = s.texts(field);
            let any = match values.as_slice() {
                [] => re.is_match(""),
                vs => vs.iter().any(|v| re.is_match(v)),
            };
            if op == Op::NotMatches { !any } else { any }
        }
        Value::Text(t) => {
            let values = s.texts(field);
            let one = |v: &str| match op {
                Op::Contains => v.contains(t.as_str()),
                _ => v == t,
            };
            let any = match values.as_slice() {
                [] => one(""),
                vs => vs.iter().any(|v| one(v)),
            };
            if op == Op::Ne { !any } else { any }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct S {
        title: &'static str,
        categories: Vec<&'static str>,
        words: f64,
        age: Duration,
    }

    impl Subject for S {
        fn texts(&self, field: Field) -> Vec<&str> {
            match field {
                Field::Title => vec![self.title],
                Field::Category => self.categories.clone(),
                Field::Feed => vec!["bbc"],
                _ => vec![],
            }
        }
        fn words(&self) -> f64 {
            self.words
        }
        fn age(&self) -> Duration {
            self.age
        }
    }

    fn s() -> S {
        S {
            title: "Sponsored: buy now",
            categories: vec!["Advertorial", "Money"],
            words: 40.0,
            age: Duration::from_secs(3 * 86400),
        }
    }

    fn eval(text: &str) -> bool {
        parse(text)
            .unwrap_or_else(|e| panic!("{text}: {e:?}"))
            .eval(&s())
    }

    fn error(text: &str) -> ExprError {
        match parse(text) {
            Ok(e) => panic!("{text} parsed: {e:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn comparisons() {
        assert!(eval(r#"title ~ "(?i)^sponsored""#));
        assert!(!eval(r#"title ~ "^sponsored""#));
        assert!(eval(r#"title !~ "^sponsored""#));
        assert!(eval(r#"category = "Advertorial""#));
        assert!(!eval(r#"category = "advertorial""#));
        assert!(eval(r#"category != "Sport""#));
        assert!(!eval(r#"category != "Money""#));
        assert!(eval(r#"title contains "buy""#));
        assert!(eval(
            "words < 50 and words >= 40 and words != 41 and words = 40"
        ));
        assert!(!eval("words > 40"));
        assert!(eval("age > 2d and age < 1w and age <= 72h and age >= 3d"));
        assert!(eval(r#"feed = "bbc""#));
        // absent fields are the empty string
        assert!(eval(r#"language = """#));
        assert!(eval(r#"author !~ ".""#));
    }

    #[test]
    fn precedence_and_parentheses() {
        // and binds tighter than or
        assert!(eval(
            r#"feed = "x" and words > 100 or title contains "buy""#
        ));
        assert!(!eval(
            r#"feed = "x" and (words > 100 or title contains "buy")"#
        ));
        assert!(eval(r#"not feed = "x""#));
        assert!(!eval(r#"not (feed = "bbc" or feed = "x")"#));
        assert!(eval(r#"not not feed = "bbc""#));
    }

    #[test]
    fn string_escapes() {
        let e = parse(r#"title = "say \"hi\" \\ now""#).unwrap();
        let Expr::Compare(_, _, Value::Text(t)) = e else {
            panic!()
        };
        assert_eq!(t, r#"say "hi" \ now"#);
        // regex escapes pass through
        assert!(eval(r#"title ~ "\bbuy\b""#));
    }

    #[test]
    fn uses_reports_fields() {
        let e = parse(r#"title ~ "a" or not (content contains "b")"#).unwrap();
        assert!(e.uses(Field::Content) && e.uses(Field::Title) && !e.uses(Field::Words));
    }

    #[test]
    fn bad_input_is_located_and_explained() {
        let cases: &[(&str, usize, &str)] = &[
            ("", 0, "empty"),
            ("titel ~ \"x\"", 0, "unknown field `titel`"),
            ("title", 5, "expected an operator"),
            ("title ~", 7, "expected a string"),
            ("title ~ \"(\"", 8, "invalid regex"),
            ("title ~ \"x", 8, "not closed"),
            ("title > 3", 6, "is text"),
            ("words ~ \"3\"", 6, "is a number"),
            ("age > 3", 6, "duration such as"),
            ("age > 3y", 7, "unknown duration unit"),
            ("words > 2d", 8, "compared with a number"),
            ("(title = \"a\"", 0, "not closed"),
            ("title = \"a\")", 11, "has no `(`"),
            ("title = \"a\" feed = \"b\"", 12, "expected `and`, `or`"),
            ("title = 'a'", 8, "double quotes"),
            ("title ! \"a\"", 6, "`!` alone"),
            ("title = \"a\" and", 15, "ends too soon"),
            ("and title = \"a\"", 0, "unknown field `and`"),
            ("(title = \"a\" feed", 13, "expected `)`"),
            ("words > 1.2.3", 8, "not a number"),
            ("title = \"a\" or @", 15, "unexpected `@`"),
        ];
        for &(text, offset, hint) in cases {
            let e = error(text);
            assert!(e.message.contains(hint), "{text:?}: {e:?}");
            assert_eq!(e.offset, offset, "{text:?}: {e:?}");
        }
    }

    #[test]
    fn unicode_is_handled() {
        assert!(!eval("title = \"Рекламa\""));
        let e = error("title = \"é\" £");
        assert_eq!(e.offset, "title = \"é\" ".len());
    }
}
