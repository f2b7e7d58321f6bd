//! Bounded inflation of gzipped IDX files: the header first, then at most
//! the data it declares, so a gzip bomb costs a few bytes of output.

use std::io::Read;

use super::{declared_size, dims_of, IdxError, FIRST_CHUNK, GZIP_MAGIC, UBYTE_TYPE};

pub(super) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && bytes[..2] == GZIP_MAGIC
}

/// Decompresses `bytes` when they start with the gzip magic, else returns them as they are.
///
/// The inflation is bounded the way [`parse_ubyte`]'s is: when the stream
/// starts with an unsigned-byte IDX header, at most the data size it declares
/// is inflated (refused over [`MAX_IDX_BYTES`], or when the stream goes on
/// past it); when it does not, only the first bytes are inflated and
/// returned, so that parsing them names the wrong magic number or the short
/// header. The parse functions take gzipped input themselves; this is for
/// callers that want the raw bytes.
pub fn maybe_gunzip<'a>(name: &str, bytes: &'a [u8]) -> Result<std::borrow::Cow<'a, [u8]>, IdxError> {
    if is_gzip(bytes) {
        Ok(std::borrow::Cow::Owned(inflate_bounded(name, bytes, None)?))
    } else {
        Ok(std::borrow::Cow::Borrowed(bytes))
    }
}

/// Inflates a gzipped IDX file header first, never past what the header declares.
///
/// Returns the inflated bytes (header and data) when the stream holds exactly
/// what its header declares, or a prefix when it stops early or its first
/// bytes are not the header wanted (`rank`, or any unsigned-byte rank when
/// `None`): [`check`] on that prefix then says what was wrong, in the same
/// words as for a raw file. Refuses here only what needs the stream: a size
/// over the cap, and data past the declared size.
pub(super) fn inflate_bounded(name: &str, gz: &[u8], rank: Option<usize>) -> Result<Vec<u8>, IdxError> {
    let mut z = flate2::read::GzDecoder::new(gz);
    let mut out = Vec::new();
    // The magic number alone first: a stream that is not what was asked for
    // is refused after 4 inflated bytes, whatever it would expand to.
    if fill(name, &mut z, &mut out, 4)? < 4 {
        return Ok(out);
    }
    let found_rank = out[3] as usize;
    let wanted = out[..3] == [0, 0, UBYTE_TYPE] && found_rank >= 1 && rank.is_none_or(|r| r == found_rank);
    if !wanted {
        return Ok(out);
    }
    let header = 4 + 4 * found_rank;
    if fill(name, &mut z, &mut out, header)? < header {
        return Ok(out);
    }
    // The size is checked against the cap before any room is made for the data.
    let declared = declared_size(name, &dims_of(&out, found_rank))?;
    if fill(name, &mut z, &mut out, header + declared)? < header + declared {
        return Ok(out);
    }
    // One byte more, into a buffer of its own so that `out` never grows past
    // the declared size: it proves the stream ends here, and reading to the
    // end also makes the decoder check the gzip trailer's CRC and length.
    let mut probe = [0u8; 1];
    loop {
        match z.read(&mut probe) {
            Ok(0) => return Ok(out),
            Ok(_) => return Err(IdxError::LongerThanDeclared { name: name.into(), expected: declared }),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(gzip_error(name, e)),
        }
    }
}

fn gzip_error(name: &str, e: std::io::Error) -> IdxError {
    IdxError::Gzip { name: name.into(), reason: e.to_string() }
}

/// Reads from `r` until `out` holds `target` bytes or the stream ends, and
/// returns how many it holds. Room grows by doubling from [`FIRST_CHUNK`] but
/// never past `target`, so `out` never holds more than was asked for, and a
/// stream that ends early never costs more than twice what it held.
pub(super) fn fill(name: &str, r: &mut impl Read, out: &mut Vec<u8>, target: usize) -> Result<usize, IdxError> {
    let mut filled = out.len();
    while filled < target {
        if filled == out.len() {
            let step = out.len().max(FIRST_CHUNK).min(target - filled);
            out.reserve_exact(step);
            // Zeroed once per growth, not once per read, so the cost stays linear.
            out.resize(filled + step, 0);
        }
        match r.read(&mut out[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(gzip_error(name, e)),
        }
    }
    out.truncate(filled);
    Ok(filled)
}
