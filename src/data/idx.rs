//! Parsing of IDX files (the MNIST container format), gzipped or raw.
//!
//! Every check that can fail returns an [`IdxError`] that says what was wrong,
//! because a corrupt download should never turn into a silent wrong result.

use std::io::Read;

use thiserror::Error;

/// IDX magic for unsigned bytes: two zero bytes, type code 0x08, then the rank.
const UBYTE_TYPE: u8 = 0x08;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

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
    #[error("{name}: images are {rows}x{cols}, expected {want_rows}x{want_cols}")]
    BadImageShape { name: String, rows: usize, cols: usize, want_rows: usize, want_cols: usize },
    #[error("{images} images but {labels} labels: the two files do not belong together")]
    CountMismatch { images: usize, labels: usize },
    #[error("{name}: label {label} at index {index} is out of range 0..{classes}")]
    LabelOutOfRange { name: String, index: usize, label: u8, classes: usize },
    #[error("{name}: the file holds no items")]
    Empty { name: String },
}

/// Decompresses `bytes` when they start with the gzip magic, else returns them as they are.
pub fn maybe_gunzip<'a>(name: &str, bytes: &'a [u8]) -> Result<std::borrow::Cow<'a, [u8]>, IdxError> {
    if bytes.len() >= 2 && bytes[..2] == GZIP_MAGIC {
        let mut out = Vec::with_capacity(bytes.len() * 4);
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|e| IdxError::Gzip { name: name.to_string(), reason: e.to_string() })?;
        Ok(std::borrow::Cow::Owned(out))
    } else {
        Ok(std::borrow::Cow::Borrowed(bytes))
    }
}

/// An unsigned-byte IDX tensor: its dimensions and its data, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxTensor {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Parses an unsigned-byte IDX tensor of the given rank, checking magic and length exactly.
pub fn parse_ubyte(name: &str, bytes: &[u8], rank: usize) -> Result<IdxTensor, IdxError> {
    let raw = maybe_gunzip(name, bytes)?;
    let header = 4 + 4 * rank;
    if raw.len() < header {
        return Err(IdxError::TooShortForHeader { name: name.into(), len: raw.len(), rank });
    }
    let word = |i: usize| u32::from_be_bytes([raw[4 * i], raw[4 * i + 1], raw[4 * i + 2], raw[4 * i + 3]]);
    let expected_magic = ((UBYTE_TYPE as u32) << 8) | rank as u32;
    let magic = word(0);
    if magic != expected_magic {
        return Err(IdxError::BadMagic { name: name.into(), found: magic, expected: expected_magic, rank });
    }
    let dims: Vec<usize> = (1..=rank).map(|i| word(i) as usize).collect();
    // Checked product: a corrupt header must not overflow into a small, plausible size.
    let expected = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).unwrap_or(usize::MAX);
    let found = raw.len() - header;
    if expected != found {
        return Err(IdxError::LengthMismatch { name: name.into(), expected, found });
    }
    if dims[0] == 0 {
        return Err(IdxError::Empty { name: name.into() });
    }
    Ok(IdxTensor { dims, data: raw[header..].to_vec() })
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
mod tests {
    // In wasm, `#[test]` means wasm-bindgen-test, so the same tests run in headless Chrome.
    use super::*;
    use std::io::Write;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn labels(ls: &[u8]) -> Vec<u8> {
        encode_ubyte(&[ls.len()], ls)
    }
    fn images(n: usize) -> Vec<u8> {
        encode_ubyte(&[n, 28, 28], &vec![7u8; n * 784])
    }
    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn parses_raw_and_gzipped_alike() {
        let raw = images(3);
        let a = parse_images("x", &raw, 28, 28).unwrap();
        let b = parse_images("x", &gzip(&raw), 28, 28).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.dims, vec![3, 28, 28]);
        assert_eq!(parse_labels("y", &labels(&[0, 9, 3]), 10).unwrap(), vec![0, 9, 3]);
    }

    #[test]
    fn rejects_truncated_file() {
        let mut raw = images(2);
        raw.truncate(raw.len() - 1);
        let e = parse_images("imgs", &raw, 28, 28).unwrap_err();
        assert_eq!(e, IdxError::LengthMismatch { name: "imgs".into(), expected: 2 * 784, found: 2 * 784 - 1 });
        assert!(e.to_string().contains("header says 1568 data bytes but the file holds 1567"));
        // Cut inside the header.
        let e = parse_images("imgs", &raw[..10], 28, 28).unwrap_err();
        assert!(matches!(e, IdxError::TooShortForHeader { len: 10, .. }), "{e}");
        // A truncated gzip stream is a gzip error, not a panic.
        let gz = gzip(&images(2));
        let e = parse_images("imgs.gz", &gz[..gz.len() / 2], 28, 28).unwrap_err();
        assert!(matches!(e, IdxError::Gzip { .. }), "{e}");
    }

    #[test]
    fn rejects_wrong_magic() {
        let mut raw = labels(&[1, 2]);
        raw[2] = 0x0D; // float type code instead of ubyte
        let e = parse_labels("lbl", &raw, 10).unwrap_err();
        assert!(matches!(e, IdxError::BadMagic { found: 0x0D01, expected: 0x0801, .. }), "{e}");
        // An image file handed in as labels has the wrong rank in its magic.
        let e = parse_labels("lbl", &images(1), 10).unwrap_err();
        assert!(matches!(e, IdxError::BadMagic { found: 0x0803, .. }), "{e}");
    }

    #[test]
    fn rejects_label_out_of_range() {
        let e = parse_labels("lbl", &labels(&[1, 2, 11, 4]), 10).unwrap_err();
        assert_eq!(e, IdxError::LabelOutOfRange { name: "lbl".into(), index: 2, label: 11, classes: 10 });
        assert!(e.to_string().contains("label 11 at index 2"));
    }

    #[test]
    fn rejects_bad_shapes_and_empty_files() {
        let raw = encode_ubyte(&[1, 14, 14], &[0u8; 196]);
        assert!(matches!(parse_images("i", &raw, 28, 28).unwrap_err(), IdxError::BadImageShape { rows: 14, .. }));
        assert!(matches!(parse_labels("l", &labels(&[]), 10).unwrap_err(), IdxError::Empty { .. }));
    }

    #[test]
    fn huge_dimensions_do_not_overflow() {
        let raw = encode_ubyte(&[u32::MAX as usize, u32::MAX as usize, u32::MAX as usize], &[]);
        assert!(matches!(parse_ubyte("i", &raw, 3).unwrap_err(), IdxError::LengthMismatch { .. }));
    }
}
