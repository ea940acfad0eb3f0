//! Compression bombs built by hand, so that the tests need no compressor: gzip
//! (fixed-Huffman deflate with back-references: a few KiB on the wire inflate to megabytes)
//! and brotli (one copy command per 16 MiB meta-block: under a KiB inflates to a GiB).

/// Bits packed least significant first, as deflate and brotli both pack them.
#[derive(Default)]
pub struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    /// `count` bits of `value`, least significant first (deflate's bit order for headers).
    pub fn bits(&mut self, value: u32, count: u32) {
        self.acc |= u64::from(value) << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code: most significant bit first.
    pub fn code(&mut self, code: u32, len: u32) {
        let mut rev = 0;
        for i in 0..len {
            rev |= ((code >> i) & 1) << (len - 1 - i);
        }
        self.bits(rev, len);
    }

    /// A literal/length symbol with the fixed Huffman table (RFC 1951 3.2.6).
    pub fn symbol(&mut self, s: u32) {
        match s {
            0..=143 => self.code(0x30 + s, 8),
            144..=255 => self.code(0x190 + s - 144, 9),
            256..=279 => self.code(s - 256, 7),
            _ => self.code(0xC0 + s - 280, 8),
        }
    }

    /// Zero bits up to the next byte boundary.
    pub fn align(&mut self) {
        if self.n > 0 {
            self.bits(0, 8 - self.n);
        }
    }

    /// The bytes written, the last one padded with zero bits.
    pub fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// CRC-32 (IEEE), as the gzip trailer carries it.
pub fn crc32(data: &[u8]) -> u32 {
    let mut table = [0u32; 256];
    for (i, t) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *t = c;
    }
    let mut crc = 0xFFFF_FFFFu32;
    for b in data {
        crc = table[((crc ^ u32::from(*b)) & 0xFF) as usize] ^ (crc >> 8);
    }
    crc ^ 0xFFFF_FFFF
}

/// Gzip of `prefix`, then `fill` repeated `fill_len` times, then `suffix`; returns the gzip
/// bytes and the inflated document (to check against).
pub fn gzip_padded(prefix: &[u8], fill: u8, fill_len: usize, suffix: &[u8]) -> (Vec<u8>, Vec<u8>) {
    assert!(fill_len >= 1);
    let mut w = BitWriter::default();
    w.bits(1, 1); // BFINAL
    w.bits(1, 2); // BTYPE = fixed Huffman
    for b in prefix {
        w.symbol(u32::from(*b));
    }
    w.symbol(u32::from(fill));
    let mut left = fill_len - 1;
    while left >= 258 {
        w.symbol(285); // length 258, no extra bits
        w.code(0, 5); // distance code 0: distance 1
        left -= 258;
    }
    for _ in 0..left {
        w.symbol(u32::from(fill));
    }
    for b in suffix {
        w.symbol(u32::from(*b));
    }
    w.symbol(256); // end of block
    let deflated = w.finish();

    let mut plain = prefix.to_vec();
    plain.extend(std::iter::repeat_n(fill, fill_len));
    plain.extend_from_slice(suffix);

    let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    gz.extend_from_slice(&deflated);
    gz.extend_from_slice(&crc32(&plain).to_le_bytes());
    gz.extend_from_slice(&(plain.len() as u32).to_le_bytes());
    (gz, plain)
}

/// The shortest copy that brotli's copy length code 23 encodes; its 24 extra bits add up to
/// 2^24 - 1 to it.
const BROTLI_COPY23_BASE: usize = 2118;
/// The most bytes one brotli meta-block can hold (MLEN is at most 2^24).
const BROTLI_MAX_MLEN: usize = 1 << 24;

/// A brotli meta-block header's length fields (RFC 7932 9.2): MNIBBLES, then MLEN - 1.
fn brotli_mlen(w: &mut BitWriter, mlen: usize) {
    let v = (mlen - 1) as u32;
    let nibbles = match v {
        0..=0xFFFF => 4,
        0x1_0000..=0xF_FFFF => 5,
        _ => 6,
    };
    w.bits(nibbles - 4, 2);
    w.bits(v, nibbles * 4);
}

/// Uncompressed meta-blocks holding `bytes` (at most 65,536 bytes each).
fn brotli_raw(w: &mut BitWriter, bytes: &[u8]) {
    for piece in bytes.chunks(1 << 16) {
        w.bits(0, 1); // ISLAST
        brotli_mlen(w, piece.len());
        w.bits(1, 1); // ISUNCOMPRESSED
        w.align();
        for b in piece {
            w.bits(u32::from(*b), 8);
        }
    }
}

/// One compressed meta-block of `len` bytes (2118 to 2^24), all a copy of the byte before it:
/// a single command (insert nothing, copy `len` bytes from distance 1), with one-symbol
/// prefix codes, which cost no bits per use.
fn brotli_repeat_last(w: &mut BitWriter, len: usize) {
    assert!((BROTLI_COPY23_BASE..=BROTLI_MAX_MLEN).contains(&len));
    w.bits(0, 1); // ISLAST
    brotli_mlen(w, len);
    w.bits(0, 1); // ISUNCOMPRESSED
    w.bits(0, 1); // NBLTYPESL = 1
    w.bits(0, 1); // NBLTYPESI = 1
    w.bits(0, 1); // NBLTYPESD = 1
    w.bits(0, 2); // NPOSTFIX = 0
    w.bits(0, 4); // NDIRECT = 0
    w.bits(0, 2); // context mode of the one literal block type
    w.bits(0, 1); // NTREESL = 1
    w.bits(0, 1); // NTREESD = 1
    // simple prefix codes (HSKIP = 1) of one symbol each (NSYM - 1 = 0)
    w.bits(1, 2);
    w.bits(0, 2);
    w.bits(u32::from(b' '), 8); // literals: never used
    w.bits(1, 2);
    w.bits(0, 2);
    // insert-and-copy 391: insert length code 0 (none), copy length code 23, explicit distance
    w.bits(391, 10);
    w.bits(1, 2);
    w.bits(0, 2);
    w.bits(16, 6); // distance code 16: distance 1 + its one extra bit
    // the command: the symbols cost nothing; copy length extra bits, distance extra bit
    w.bits((len - BROTLI_COPY23_BASE) as u32, 24);
    w.bits(0, 1);
}

/// Brotli of `prefix`, `fill` repeated `fill_len` times, then `suffix`. Each 16 MiB of fill
/// costs 13 bytes on the wire, so a GiB of fill is under a KiB.
pub fn brotli_padded(prefix: &[u8], fill: u8, fill_len: usize, suffix: &[u8]) -> Vec<u8> {
    assert!(fill_len >= 1);
    let mut w = BitWriter::default();
    w.bits(0, 1); // WBITS = 16: distance 1 is all a copy needs
    let mut head = prefix.to_vec();
    head.push(fill);
    brotli_raw(&mut w, &head);
    let mut left = fill_len - 1;
    while left >= BROTLI_COPY23_BASE {
        let len = left.min(BROTLI_MAX_MLEN);
        // never leave a tail too short for one command
        let len = if left - len > 0 && left - len < BROTLI_COPY23_BASE {
            len - BROTLI_COPY23_BASE
        } else {
            len
        };
        brotli_repeat_last(&mut w, len);
        left -= len;
    }
    let mut tail = vec![fill; left];
    tail.extend_from_slice(suffix);
    brotli_raw(&mut w, &tail);
    w.bits(1, 1); // ISLAST
    w.bits(1, 1); // ISLASTEMPTY
    w.finish()
}
