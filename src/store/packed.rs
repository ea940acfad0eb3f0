//! Bodies compressed at rest, in the SQLite file. An entry's content of [`LEAST`] bytes or
//! more is stored as one LZ4 block behind a small header ([`MAGIC`], then its length: a
//! BLOB) when that saves at least a tenth; shorter or incompressible text, and every body
//! stored before this existed, stays TEXT. Bodies stored as zstd frames (before LZ4 was
//! chosen) are read as they are. Reading takes any of them, so a database never needs
//! rewriting.
//!
//! Why LZ4 and not zstd: on the N=1000 farm's 50,000 bodies (1.2 KB each) zstd level 1
//! packs to 0.50 of the text in 0.40 s, LZ4 to 0.70 in 0.10 s, and unpacks 7x faster; that
//! is 5-6% of a first poll's CPU, for a database a tenth to a fifth larger (bench/RESULTS.md).
//!
//! The search index is contentless and reads bodies in Rust, never in SQL, so nothing else
//! sees the difference. (PostgreSQL compresses long values itself: TOAST.)
//!
//! Entries also record their content's length in bytes (`content_len`), which SQL would
//! otherwise read from the stored value: the fullest copy of a story is chosen by it.

use std::sync::Mutex;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, Value, ValueRef};

/// Shorter bodies are stored as text: a frame's header and a page's slack eat what
/// compressing them saves.
const LEAST: usize = 200;

/// What a packed body starts with: an LZ4 block follows its length (4 bytes, little-endian).
/// A zstd frame starts with `28 B5 2F FD`.
const MAGIC: &[u8; 4] = b"nwL4";

/// The most a stored frame may unpack to, so that a damaged frame cannot ask for an
/// allocation of any size: a longer body (only with `fetch.max_size` raised past it) is
/// stored as text.
const MOST: usize = 64 << 20;

/// zstd contexts, shared by the threads that unpack bodies stored as zstd frames. One a
/// thread cost a context for every thread that ever unpacked, and every poll waiting for
/// the writer holds a thread of tokio's blocking pool: this keeps as many as unpack at once.
struct Pool<T>(Mutex<Vec<T>>);

impl<T> Pool<T> {
    const fn new() -> Pool<T> {
        Pool(Mutex::new(Vec::new()))
    }

    /// `f` on a context taken from the pool (or made, `None` if that fails), given back after.
    fn with<R>(&self, make: impl FnOnce() -> Option<T>, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let taken = self.0.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut context = match taken {
            Some(c) => c,
            None => make()?,
        };
        let out = f(&mut context);
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(context);
        Some(out)
    }
}

static UNPACKERS: Pool<zstd::bulk::Decompressor<'static>> = Pool::new();

/// A body as written (`text`: `None` is NULL), packed as it is written, or before it reached
/// the writer (by the thread that handed its poll over), so that the writer only writes it.
pub(super) struct Packed<'a> {
    pub(super) text: Option<&'a str>,
    /// `Some`: packed ahead, [`frame`]'s answer for `text`; `None`: packed when written.
    pub(super) ahead: Option<Option<&'a [u8]>>,
}

impl<'a> Packed<'a> {
    /// `text`, packed when written.
    pub(super) fn now(text: Option<&'a str>) -> Packed<'a> {
        Packed { text, ahead: None }
    }

    /// The text's length in bytes, what `content_len` records beside it.
    pub(super) fn text_len(&self) -> Option<i64> {
        self.text.map(|t| t.len() as i64)
    }
}

impl ToSql for Packed<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match (self.ahead, self.text) {
            (_, None) => ToSqlOutput::Owned(Value::Null),
            (None, Some(text)) => match pack(text) {
                Some(frame) => ToSqlOutput::Owned(Value::Blob(frame)),
                None => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            },
            (Some(Some(frame)), Some(_)) => ToSqlOutput::Borrowed(ValueRef::Blob(frame)),
            (Some(None), Some(text)) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
        })
    }
}

/// What a body is stored as when packing it saves (see [`pack`]): [`Packed::ahead`].
pub(super) fn frame(text: Option<&str>) -> Option<Vec<u8>> {
    text.and_then(pack)
}

/// `text` packed ([`MAGIC`], its length, an LZ4 block), if it is long enough (and not
/// longer than [`MOST`]) and the result at least a tenth smaller.
fn pack(text: &str) -> Option<Vec<u8>> {
    if text.len() < LEAST || text.len() > MOST {
        return None;
    }
    let bytes = text.as_bytes();
    let head = MAGIC.len() + 4;
    let mut frame = vec![0; head + lz4_flex::block::get_maximum_output_size(bytes.len())];
    frame[..MAGIC.len()].copy_from_slice(MAGIC);
    frame[MAGIC.len()..head].copy_from_slice(&(bytes.len() as u32).to_le_bytes());
    let packed = lz4_flex::block::compress_into(bytes, &mut frame[head..]).ok()?;
    frame.truncate(head + packed);
    (frame.len() <= text.len() - text.len() / 10).then_some(frame)
}

/// A body as SQLite stores it (packed or text), and its length in bytes (`content_len`),
/// for a write that builds its values itself.
pub(super) fn stored_body(text: String) -> (Value, Value) {
    let len = Value::Integer(text.len() as i64);
    match pack(&text) {
        Some(frame) => (Value::Blob(frame), len),
        None => (Value::Text(text), len),
    }
}

/// A body as read: stored TEXT as it is, a BLOB unpacked.
pub(super) struct Unpacked(pub(super) String);

impl FromSql for Unpacked {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value {
            ValueRef::Text(t) => String::from_utf8(t.to_vec())
                .map(Unpacked)
                .map_err(|e| FromSqlError::Other(Box::new(e))),
            ValueRef::Blob(frame) => unpack(frame).map(Unpacked).map_err(FromSqlError::Other),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}

fn unpack(frame: &[u8]) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    if let Some(rest) = frame.strip_prefix(MAGIC) {
        let (len, block) = rest
            .split_first_chunk::<4>()
            .ok_or("a stored body is cut short after its header")?;
        let size = u32::from_le_bytes(*len) as usize;
        if size > MOST {
            return Err(format!("a stored body claims to unpack to {size} bytes").into());
        }
        let bytes = lz4_flex::block::decompress(block, size)?;
        if bytes.len() != size {
            return Err("a stored body unpacks to another length than its header says".into());
        }
        return Ok(String::from_utf8(bytes)?);
    }
    let size = zstd::decompressed_size(frame).ok_or(
        "a stored body is a BLOB but neither packed here nor a zstd frame that records its size",
    )?;
    let size = usize::try_from(size)
        .ok()
        .filter(|s| *s <= MOST)
        .ok_or_else(|| format!("a stored body claims to unpack to {size} bytes"))?;
    let bytes = UNPACKERS
        .with(
            || zstd::bulk::Decompressor::new().ok(),
            |u| u.decompress(frame, size),
        )
        .ok_or("no zstd context for unpacking")??;
    Ok(String::from_utf8(bytes)?)
}

/// Reads column `i` of `row` as a body (NULL: `None`).
pub(super) fn body(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<String>> {
    Ok(row.get::<_, Option<Unpacked>>(i)?.map(|u| u.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    /// How `text` is stored and read back, the same whether packed when written or ahead.
    fn round_trip(text: Option<&str>) -> (String, Option<String>) {
        let db = Connection::open_in_memory().unwrap();
        db.execute_batch("CREATE TABLE t (body TEXT)").unwrap();
        db.execute("INSERT INTO t VALUES (?1)", [Packed::now(text)])
            .unwrap();
        let frame = frame(text);
        let ahead = Packed {
            text,
            ahead: Some(frame.as_deref()),
        };
        assert_eq!(ahead.text_len(), text.map(|t| t.len() as i64));
        db.execute("INSERT INTO t VALUES (?1)", [ahead]).unwrap();
        let rows: Vec<(String, Option<String>)> = db
            .prepare("SELECT typeof(body), body FROM t ORDER BY rowid")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, body(r, 1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows[0], rows[1], "packed when written, and ahead");
        rows[0].clone()
    }

    #[test]
    fn long_bodies_are_stored_packed_and_read_back_whole() {
        let html: String = (0..200)
            .map(|i| format!("<p>Paragraph {i} of the story, with ünïcode — and “quotes”.</p>"))
            .collect();
        let (kind, back) = round_trip(Some(&html));
        assert_eq!(kind, "blob");
        assert_eq!(back.as_deref(), Some(html.as_str()));
    }

    #[test]
    fn short_huge_and_missing_bodies_stay_as_they_are() {
        assert_eq!(
            round_trip(Some("<p>Short.</p>")),
            ("text".into(), Some("<p>Short.</p>".into()))
        );
        assert_eq!(round_trip(None), ("null".into(), None));
        // the boundary: a compressible body one byte short of LEAST stays text
        let long = "ab".repeat(LEAST);
        assert_eq!(round_trip(Some(&long[..LEAST - 1])).0, "text");
        assert_eq!(round_trip(Some(&long[..LEAST])).0, "blob");
        // beyond what a frame may claim to unpack to, a body stays text, and reads back
        let huge = "<p>x</p>".repeat(MOST / 8 + 1);
        assert_eq!(pack(&huge), None);
        assert!(pack(&huge[..MOST]).is_some());
    }

    #[test]
    fn bodies_stored_as_zstd_frames_read_as_they_were() {
        // what databases written before LZ4 hold: a zstd frame (level 1) that records its size
        let db = Connection::open_in_memory().unwrap();
        let html = "<p>Paragraph of an older story, ünïcode — “quotes”.</p>".repeat(40);
        let old = zstd::bulk::compress(html.as_bytes(), 1).unwrap();
        assert_eq!(&old[..4], &[0x28, 0xB5, 0x2F, 0xFD]);
        let got: Option<String> = db.query_row("SELECT ?1", [old], |r| body(r, 0)).unwrap();
        assert_eq!(got.as_deref(), Some(html.as_str()));
        // and what is packed now is not a zstd frame
        assert!(pack(&html).unwrap().starts_with(MAGIC));
    }

    #[test]
    fn a_damaged_frame_is_an_error() {
        let db = Connection::open_in_memory().unwrap();
        let mut frame = pack(&"<p>words words words</p>".repeat(100)).unwrap();
        frame.truncate(frame.len() / 2);
        let mut lying = pack(&"<p>words words words</p>".repeat(100)).unwrap();
        lying[MAGIC.len()..MAGIC.len() + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut longer = pack(&"<p>words words words</p>".repeat(100)).unwrap();
        longer[MAGIC.len()] ^= 1;
        let old = zstd::bulk::compress("<p>words</p>".repeat(100).as_bytes(), 1).unwrap();
        let old_cut = old[..old.len() / 2].to_vec();
        for value in [
            frame,
            lying,
            longer,
            old_cut,
            MAGIC.to_vec(),
            b"not a frame".to_vec(),
        ] {
            let got: rusqlite::Result<Option<String>> =
                db.query_row("SELECT ?1", [value], |r| body(r, 0));
            assert!(got.is_err(), "{got:?}");
        }
    }
}
