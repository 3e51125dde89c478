//! Golomb–Rice coding of posting gaps, the bulk of a serialized index.
//!
//! Gaps between the documents of one term are close to geometrically distributed, and
//! a Rice code with the parameter derived from the term's document frequency lands
//! within a few percent of their entropy. LEB128 varints compressed by gzip (format v2)
//! cost ~20% more: a varint spends whole bytes, and gzip cannot recover the slack from
//! numbers that look random. The parameter is derived from counts the reader already
//! has, so it is not stored.
//!
//! Bits are written least-significant first; a value `g` is `g >> k` zero bits, a one
//! bit, then the low `k` bits of `g`.

/// The Rice parameter for a term found in `count` of `docs` documents: about
/// `log2(mean gap · ln 2)`, the optimum for geometric gaps.
pub fn parameter(docs: usize, count: usize) -> u32 {
    let ratio = (docs as u64).saturating_mul(69) / 100 / (count.max(1) as u64);
    if ratio == 0 {
        0
    } else {
        (63 - ratio.leading_zeros()).min(31)
    }
}

/// Appends Rice codes to a byte vector.
pub struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    bits: u32,
}

impl BitWriter {
    pub fn new() -> BitWriter {
        BitWriter {
            out: Vec::new(),
            acc: 0,
            bits: 0,
        }
    }

    /// Writes the low `len` (≤ 32) bits of `v`.
    fn put(&mut self, v: u64, len: u32) {
        debug_assert!(len <= 32);
        self.acc |= (v & ((1u64 << len) - 1)) << self.bits;
        self.bits += len;
        while self.bits >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.bits -= 8;
        }
    }

    pub fn rice(&mut self, g: u64, k: u32) {
        let mut q = g >> k;
        while q >= 32 {
            self.put(0, 32);
            q -= 32;
        }
        self.put(1 << q, q as u32 + 1);
        if k > 0 {
            self.put(g, k);
        }
    }

    /// The bytes written, the last one zero-padded.
    pub fn finish(mut self) -> Vec<u8> {
        if self.bits > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// Reads Rice codes; running past the end is an error, not a panic. Bits are taken
/// from a 64-bit buffer refilled a word at a time: index loading decodes millions of
/// gaps, in the browser too, so the common path is a shift and a trailing-zero count.
pub struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte of `data` to move into `buf`.
    next: usize,
    /// Unread bits, lowest first; bits at and above `avail` are zero.
    buf: u64,
    avail: u32,
}

/// The reader ran out of bits.
#[derive(Debug, PartialEq, Eq)]
pub struct OutOfBits;

impl<'a> BitReader<'a> {
    pub fn new(data: &'a [u8]) -> BitReader<'a> {
        BitReader {
            data,
            next: 0,
            buf: 0,
            avail: 0,
        }
    }

    /// Tops `buf` up with as many whole bytes as fit.
    fn refill(&mut self) {
        let room = (64 - self.avail) / 8;
        if room == 0 {
            return;
        }
        if let Some(w) = self.data.get(self.next..self.next + 8) {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            let word = u64::from_le_bytes(b);
            let bits = room * 8;
            let word = if bits == 64 {
                word
            } else {
                word & ((1u64 << bits) - 1)
            };
            self.buf |= word << self.avail;
            self.avail += bits;
            self.next += room as usize;
        } else {
            while self.avail <= 56 && self.next < self.data.len() {
                self.buf |= u64::from(self.data[self.next]) << self.avail;
                self.avail += 8;
                self.next += 1;
            }
        }
    }

    fn consume(&mut self, n: u32) {
        self.buf = if n >= 64 { 0 } else { self.buf >> n };
        self.avail -= n;
    }

    /// One Rice-coded value with parameter `k` (≤ 31); `limit` bounds the quotient so
    /// that a corrupt run of zero bits is caught early.
    pub fn rice(&mut self, k: u32, limit: u64) -> Result<u64, OutOfBits> {
        let mut q: u64 = 0;
        loop {
            if self.avail < 57 {
                self.refill();
            }
            if self.buf != 0 {
                let tz = self.buf.trailing_zeros();
                q += u64::from(tz);
                self.consume(tz + 1);
                break;
            }
            if self.avail == 0 {
                return Err(OutOfBits);
            }
            q += u64::from(self.avail);
            self.consume(self.avail);
            if q > limit {
                return Err(OutOfBits);
            }
        }
        if q > limit {
            return Err(OutOfBits);
        }
        if k == 0 {
            return Ok(q);
        }
        if self.avail < k {
            self.refill();
            if self.avail < k {
                return Err(OutOfBits);
            }
        }
        let r = self.buf & ((1u64 << k) - 1);
        self.consume(k);
        Ok((q << k) | r)
    }

    /// True when only padding (fewer than 8 zero bits) remains.
    pub fn at_end(&self) -> bool {
        self.buf == 0 && self.avail < 8 && self.next == self.data.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parameter_follows_the_mean_gap() {
        assert_eq!(parameter(10_000, 10_000), 0);
        assert_eq!(parameter(10_000, 1), 12);
        assert_eq!(parameter(0, 0), 0);
        assert!(parameter(usize::MAX, 1) <= 31);
    }

    #[test]
    fn reading_past_the_end_is_an_error() {
        let mut w = BitWriter::new();
        w.rice(1000, 2);
        let bytes = w.finish();
        let mut r = BitReader::new(&bytes[..bytes.len() - 30]);
        assert_eq!(r.rice(2, u64::MAX), Err(OutOfBits));
        let mut r = BitReader::new(&[]);
        assert_eq!(r.rice(0, 10), Err(OutOfBits));
        // A run of zeros longer than the limit allows.
        let zeros = [0u8; 64];
        assert_eq!(BitReader::new(&zeros).rice(3, 100), Err(OutOfBits));
    }

    proptest! {
        #[test]
        fn values_round_trip(vals in proptest::collection::vec((0u64..1 << 16, 0u32..32), 0..200)) {
            let mut w = BitWriter::new();
            for &(v, k) in &vals {
                w.rice(v, k);
            }
            let bytes = w.finish();
            let mut r = BitReader::new(&bytes);
            for &(v, k) in &vals {
                prop_assert_eq!(r.rice(k, u64::MAX), Ok(v));
            }
            prop_assert!(r.at_end());
        }
    }
}
