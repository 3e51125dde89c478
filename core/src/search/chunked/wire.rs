//! Byte-level helpers shared by every chunk kind: LEB128 varints, length-prefixed and
//! front-coded strings, and a bounds-checked reader that fails (never panics) on
//! truncated or corrupt input.

/// Appends `v` as a LEB128 varint.
pub fn put_v(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a length-prefixed string.
pub fn put_s(out: &mut Vec<u8>, s: &str) {
    put_v(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Appends `s` front-coded against `prev`: shared byte count, then the rest.
pub fn put_f(out: &mut Vec<u8>, prev: &str, s: &str) {
    let mut shared = prev
        .bytes()
        .zip(s.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    while !s.is_char_boundary(shared) {
        shared -= 1;
    }
    put_v(out, shared as u64);
    put_s(out, &s[shared..]);
}

/// A cursor over one chunk's bytes; every read is checked.
pub struct Rd<'a> {
    b: &'a [u8],
    pos: usize,
}

/// A chunk's bytes did not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bad;

impl<'a> Rd<'a> {
    pub fn new(b: &'a [u8]) -> Rd<'a> {
        Rd { b, pos: 0 }
    }

    pub fn done(&self) -> bool {
        self.pos >= self.b.len()
    }

    pub fn byte(&mut self) -> Result<u8, Bad> {
        let v = *self.b.get(self.pos).ok_or(Bad)?;
        self.pos += 1;
        Ok(v)
    }

    pub fn v(&mut self) -> Result<u64, Bad> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Bad)
    }

    /// A varint that must fit in `u32`.
    pub fn v32(&mut self) -> Result<u32, Bad> {
        u32::try_from(self.v()?).map_err(|_| Bad)
    }

    /// A count of items that each take at least one byte (bounds allocations by the
    /// input's size).
    pub fn count(&mut self) -> Result<usize, Bad> {
        let n = self.v()?;
        if n > (self.b.len() - self.pos) as u64 {
            return Err(Bad);
        }
        Ok(n as usize)
    }

    pub fn s(&mut self) -> Result<&'a str, Bad> {
        let n = self.v()?;
        let end = self
            .pos
            .checked_add(usize::try_from(n).map_err(|_| Bad)?)
            .ok_or(Bad)?;
        let bytes = self.b.get(self.pos..end).ok_or(Bad)?;
        self.pos = end;
        std::str::from_utf8(bytes).map_err(|_| Bad)
    }

    /// A front-coded string (see [`put_f`]); `prev` is updated to it.
    pub fn f(&mut self, prev: &mut String) -> Result<(), Bad> {
        let shared = usize::try_from(self.v()?).map_err(|_| Bad)?;
        let rest = self.s()?;
        if shared > prev.len() || !prev.is_char_boundary(shared) {
            return Err(Bad);
        }
        prev.truncate(shared);
        prev.push_str(rest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_truncation() {
        let mut out = Vec::new();
        put_v(&mut out, 300);
        put_f(&mut out, "", "café");
        put_f(&mut out, "café", "cafés");
        let mut r = Rd::new(&out);
        assert_eq!(r.v().unwrap(), 300);
        let mut p = String::new();
        r.f(&mut p).unwrap();
        assert_eq!(p, "café");
        r.f(&mut p).unwrap();
        assert_eq!(p, "cafés");
        assert!(r.done());
        let mut r = Rd::new(&out[..out.len() - 1]);
        r.v().unwrap();
        r.f(&mut p).unwrap();
        assert_eq!(r.f(&mut p), Err(Bad));
    }
}
