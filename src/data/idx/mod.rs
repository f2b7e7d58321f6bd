//! Parsing of IDX files (the MNIST container format), gzipped or raw.
//!
//! Every check that can fail returns an [`IdxError`] that says what was wrong,
//! because a corrupt download should never turn into a silent wrong result.
//!
//! Gzipped input is inflated header first: the magic number, then the
//! dimensions, then at most the data size the header declares (never more than
//! [`MAX_IDX_BYTES`]) plus one byte to prove the stream ends there. So a gzip
//! bomb is refused after a few bytes and in under 100 KiB of memory (the
//! decoder's state), not inflated whole before its header is even looked at.

use thiserror::Error;

mod inflate;

pub use inflate::maybe_gunzip;
use inflate::{inflate_bounded, is_gzip};

/// IDX magic for unsigned bytes: two zero bytes, type code 0x08, then the rank.
const UBYTE_TYPE: u8 = 0x08;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The largest rank an IDX magic number can hold: the rank is its last byte.
pub const MAX_IDX_RANK: usize = 255;

/// The most data bytes an IDX file may declare (its header not counted).
///
/// Full MNIST's training images are 47 MB (60,000 × 28 × 28); natively 1 GiB
/// leaves room for datasets twenty times larger and still refuses a header
/// that asks for the impossible before anything is allocated. In wasm32 the
/// whole address space is 4 GiB and a [`crate::data::Split`] holds every pixel
/// again as an f32 (4 bytes per byte) beside the file's own bytes, so the cap
/// there is 256 MiB: a file at the cap then costs about 1.5 GiB of the tab's
/// 4 GiB, which still leaves room for the network.
#[cfg(not(target_arch = "wasm32"))]
pub const MAX_IDX_BYTES: usize = 1 << 30;
#[cfg(target_arch = "wasm32")]
pub const MAX_IDX_BYTES: usize = 256 << 20;

/// The first allocation for inflated data. Later ones double, up to the
/// declared size, so a stream that ends early costs what it held, not what
/// its header claimed.
const FIRST_CHUNK: usize = 64 << 10;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum IdxError {
    #[error("{name}: not a valid gzip stream: {reason}")]
    Gzip { name: String, reason: String },
    #[error("{name}: file is {len} bytes, too short for an IDX header of rank {rank}")]
    TooShortForHeader { name: String, len: usize, rank: usize },
    #[error("{name}: wrong magic number {found:#010x}, expected {expected:#010x} (unsigned-byte IDX of rank {rank})")]
    BadMagic { name: String, found: u32, expected: u32, rank: usize },
    #[error("{name}: header says {expected} data bytes but the file holds {found}")]
    LengthMismatch { name: String, expected: usize, found: usize },
    /// A gzip stream that goes on past the size its header declares. Only the
    /// declared size plus one byte is inflated, so how much more is not known.
    #[error("{name}: header says {expected} data bytes but the file holds more than that")]
    LongerThanDeclared { name: String, expected: usize },
    #[error(
        "{name}: header declares a {} tensor of {} data bytes, over the limit of {cap} bytes for an IDX file; refused before reading it",
        shape(.dims),
        declared_text(.declared)
    )]
    TooLarge { name: String, dims: Vec<usize>, declared: Option<u64>, cap: usize },
    #[error("{name}: cannot read an IDX tensor of rank {rank}: the rank must be 1 to {MAX_IDX_RANK} (the first dimension counts the items, and the magic number holds the rank in one byte)")]
    BadRank { name: String, rank: usize },
    #[error("{name}: images are {rows}x{cols}, expected {want_rows}x{want_cols}")]
    BadImageShape { name: String, rows: usize, cols: usize, want_rows: usize, want_cols: usize },
    #[error("{images} images but {labels} labels: the two files do not belong together")]
    CountMismatch { images: usize, labels: usize },
    #[error("{name}: label {label} at index {index} is out of range 0..{classes}")]
    LabelOutOfRange { name: String, index: usize, label: u8, classes: usize },
    #[error("{name}: the file holds no items")]
    Empty { name: String },
    /// Items of no data: refused, because the other dimensions could then be
    /// anything (their product need not even fit in a usize).
    #[error("{name}: the dimensions {} include a zero, so the items hold no data", shape(.dims))]
    ZeroDimension { name: String, dims: Vec<usize> },
}

/// `60000×28×28`, for messages.
fn shape(dims: &[usize]) -> String {
    dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("×")
}

/// A declared size, or what is known of it when it does not fit in 64 bits.
fn declared_text(declared: &Option<u64>) -> String {
    match declared {
        Some(n) => n.to_string(),
        None => format!("more than {}", u64::MAX),
    }
}

/// The dimension words of a header whose magic says `rank`; `raw` holds the whole header.
pub(super) fn dims_of(raw: &[u8], rank: usize) -> Vec<usize> {
    raw[4..4 + 4 * rank].chunks_exact(4).map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]) as usize).collect()
}

/// The data size `dims` declare, refused over [`MAX_IDX_BYTES`].
pub(super) fn declared_size(name: &str, dims: &[usize]) -> Result<usize, IdxError> {
    // Checked product in 64 bits: a corrupt header must not overflow into a
    // small, plausible size (nor differ between wasm32 and 64-bit targets). A
    // zero dimension makes the tensor empty whatever the others say.
    let declared =
        if dims.contains(&0) { Some(0) } else { dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64)) };
    match declared {
        Some(n) if n <= MAX_IDX_BYTES as u64 => Ok(n as usize),
        _ => Err(IdxError::TooLarge { name: name.into(), dims: dims.to_vec(), declared, cap: MAX_IDX_BYTES }),
    }
}

/// Checks the header of a whole unsigned-byte IDX file of `rank` (already
/// known to be 1 to 255) against its length; returns the dimensions and the
/// header's length. The same checks for raw files and for inflated ones.
fn check(name: &str, raw: &[u8], rank: usize) -> Result<(Vec<usize>, usize), IdxError> {
    // The magic number before the rest of the header, as inflation reads it:
    // a file of the wrong kind is named as such even when it is short.
    if raw.len() < 4 {
        return Err(IdxError::TooShortForHeader { name: name.into(), len: raw.len(), rank });
    }
    let magic = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
    let expected_magic = ((UBYTE_TYPE as u32) << 8) | rank as u32;
    if magic != expected_magic {
        return Err(IdxError::BadMagic { name: name.into(), found: magic, expected: expected_magic, rank });
    }
    let header = 4 + 4 * rank;
    if raw.len() < header {
        return Err(IdxError::TooShortForHeader { name: name.into(), len: raw.len(), rank });
    }
    let dims = dims_of(raw, rank);
    let expected = declared_size(name, &dims)?;
    let found = raw.len() - header;
    if expected != found {
        return Err(IdxError::LengthMismatch { name: name.into(), expected, found });
    }
    if dims[0] == 0 {
        return Err(IdxError::Empty { name: name.into() });
    }
    if dims.contains(&0) {
        return Err(IdxError::ZeroDimension { name: name.into(), dims });
    }
    Ok((dims, header))
}

/// An unsigned-byte IDX tensor: its dimensions and its data, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxTensor {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Parses an unsigned-byte IDX tensor of the given rank (1 to 255), gzipped or
/// raw, checking magic and length exactly and the declared size against
/// [`MAX_IDX_BYTES`]. Any rank and any bytes give a tensor or an [`IdxError`].
pub fn parse_ubyte(name: &str, bytes: &[u8], rank: usize) -> Result<IdxTensor, IdxError> {
    // Rank 0 has no first dimension to count items by, and above 255 the
    // rank does not fit in the magic number (nor `4 + 4·rank` in a usize).
    if rank == 0 || rank > MAX_IDX_RANK {
        return Err(IdxError::BadRank { name: name.into(), rank });
    }
    if is_gzip(bytes) {
        let mut raw = inflate_bounded(name, bytes, Some(rank))?;
        let (dims, header) = check(name, &raw, rank)?;
        // In place: the data moves down over the header, with no second copy.
        raw.drain(..header);
        Ok(IdxTensor { dims, data: raw })
    } else {
        let (dims, header) = check(name, bytes, rank)?;
        Ok(IdxTensor { dims, data: bytes[header..].to_vec() })
    }
}
/// Parses a rank-3 image file and checks each image is `rows`×`cols`.
pub fn parse_images(name: &str, bytes: &[u8], rows: usize, cols: usize) -> Result<IdxTensor, IdxError> {
    let t = parse_ubyte(name, bytes, 3)?;
    if t.dims[1] != rows || t.dims[2] != cols {
        return Err(IdxError::BadImageShape {
            name: name.into(),
            rows: t.dims[1],
            cols: t.dims[2],
            want_rows: rows,
            want_cols: cols,
        });
    }
    Ok(t)
}

/// Parses a rank-1 label file and checks every label is below `classes`.
pub fn parse_labels(name: &str, bytes: &[u8], classes: usize) -> Result<Vec<u8>, IdxError> {
    let t = parse_ubyte(name, bytes, 1)?;
    if let Some((index, &label)) = t.data.iter().enumerate().find(|(_, &l)| l as usize >= classes) {
        return Err(IdxError::LabelOutOfRange { name: name.into(), index, label, classes });
    }
    Ok(t.data)
}

/// Encodes an unsigned-byte IDX tensor (raw, not gzipped). Used by tests and tools.
pub fn encode_ubyte(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + 4 * dims.len() + data.len());
    out.extend_from_slice(&[0, 0, UBYTE_TYPE, dims.len() as u8]);
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests;
