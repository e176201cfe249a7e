//! A bounds-checked cursor over the input. Every read checks the remaining length first, so no
//! read can panic, and every variable-length field is checked against the input before it is
//! sliced (nothing is ever allocated from an unchecked length).

use super::error::{Context, ParseError, ParseErrorKind};

/// A cursor over `buf[pos..end]`. Offsets in errors are indices into `buf`, the whole input.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
    ctx: Context,
}

impl<'a> Reader<'a> {
    /// A reader over the whole input.
    pub(crate) fn new(buf: &'a [u8], ctx: Context) -> Self {
        Self {
            buf,
            pos: 0,
            end: buf.len(),
            ctx,
        }
    }

    /// The current offset in the whole input.
    pub(crate) fn offset(&self) -> usize {
        self.pos
    }

    /// Octets left before the end of this reader's region.
    pub(crate) fn remaining(&self) -> usize {
        self.end.saturating_sub(self.pos)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Sets the payload named in errors from now on.
    pub(crate) fn set_context(&mut self, ctx: Context) {
        self.ctx = ctx;
    }

    /// An error at `offset` in the current context.
    pub(crate) fn error_at(&self, offset: usize, kind: ParseErrorKind) -> ParseError {
        ParseError::new(offset, self.ctx, kind)
    }

    /// `n` octets of a fixed-size field.
    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], ParseError> {
        let available = self.remaining();
        if n > available {
            return Err(self.error_at(
                self.pos,
                ParseErrorKind::Truncated {
                    field,
                    needed: n,
                    available,
                },
            ));
        }
        self.slice(n)
    }

    /// `n` octets of a variable-length field whose length field started at `len_offset`.
    pub(crate) fn take_len(
        &mut self,
        n: usize,
        len_offset: usize,
        field: &'static str,
    ) -> Result<&'a [u8], ParseError> {
        let available = self.remaining();
        if n > available {
            return Err(self.error_at(
                len_offset,
                ParseErrorKind::LengthExceedsInput {
                    field,
                    length: n,
                    available,
                },
            ));
        }
        self.slice(n)
    }

    fn slice(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        // `n <= remaining()` was checked by the callers; `get` keeps this panic-free anyway.
        let start = self.pos;
        let out = self
            .buf
            .get(start..start.saturating_add(n))
            .ok_or_else(|| {
                self.error_at(
                    start,
                    ParseErrorKind::Truncated {
                        field: "field",
                        needed: n,
                        available: 0,
                    },
                )
            })?;
        self.pos = start + out.len();
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, ParseError> {
        let b = self.array::<1>(field)?;
        Ok(b[0])
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, ParseError> {
        Ok(u16::from_be_bytes(self.array::<2>(field)?))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, ParseError> {
        Ok(u32::from_be_bytes(self.array::<4>(field)?))
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, ParseError> {
        Ok(u64::from_be_bytes(self.array::<8>(field)?))
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], ParseError> {
        let at = self.pos;
        let s = self.take(N, field)?;
        <[u8; N]>::try_from(s).map_err(|_| {
            self.error_at(
                at,
                ParseErrorKind::Truncated {
                    field,
                    needed: N,
                    available: s.len(),
                },
            )
        })
    }

    /// A reader over the next `n` octets (a length-delimited region such as the SP policy
    /// parameters); this reader skips past them. The region's errors keep absolute offsets.
    pub(crate) fn sub(
        &mut self,
        n: usize,
        len_offset: usize,
        field: &'static str,
    ) -> Result<Reader<'a>, ParseError> {
        let start = self.pos;
        self.take_len(n, len_offset, field)?;
        Ok(Reader {
            buf: self.buf,
            pos: start,
            end: self.pos,
            ctx: self.ctx,
        })
    }
}
