//! The IDX parser against valid, corrupt, truncated and hostile files.

// In wasm, `#[test]` means wasm-bindgen-test, so the same tests run in headless Chrome.
use super::inflate::fill;
use super::*;
use std::io::{Read, Write};
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
    let e = parse_ubyte("i", &raw, 3).unwrap_err();
    assert!(matches!(e, IdxError::TooLarge { declared: None, .. }), "{e}");
    assert!(e.to_string().contains(&format!("more than {}", u64::MAX)), "{e}");
    // A zero dimension makes the product zero even when the others would overflow.
    let raw = encode_ubyte(&[0, u32::MAX as usize, u32::MAX as usize], &[]);
    assert!(matches!(parse_ubyte("i", &raw, 3).unwrap_err(), IdxError::Empty { .. }));
}

/// A gzip stream of `header` followed by `zeros` zero bytes (a few MiB here;
/// `tests/idx_bomb.rs` builds the gigabyte ones a block at a time).
fn gzip_with_zeros(header: &[u8], zeros: usize) -> Vec<u8> {
    let mut bytes = header.to_vec();
    bytes.resize(header.len() + zeros, 0);
    gzip(&bytes)
}

/// A reader that hands out its bytes at most `step` at a time and counts
/// how many it gave, to see how far the parser reads.
struct Trickle<'a> {
    bytes: &'a [u8],
    step: usize,
    given: usize,
}
impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.step).min(self.bytes.len() - self.given);
        buf[..n].copy_from_slice(&self.bytes[self.given..self.given + n]);
        self.given += n;
        Ok(n)
    }
}

#[test]
fn gzip_header_is_read_first_and_a_wrong_magic_refused_there() {
    // 8 MiB of zeros: the magic number reads 0x00000000 and nothing past
    // the first 4 bytes is kept.
    let gz = gzip_with_zeros(&[], 8 << 20);
    let e = parse_labels("bomb", &gz, 10).unwrap_err();
    assert_eq!(e, IdxError::BadMagic { name: "bomb".into(), found: 0, expected: 0x0801, rank: 1 });
    assert_eq!(maybe_gunzip("bomb", &gz).unwrap().len(), 4, "only the magic number is inflated");
    // The right type but the wrong rank is refused there too, in the words a raw file gets.
    let gz = gzip_with_zeros(&[0, 0, 8, 3, 0, 0, 0, 1], 8 << 20);
    let e = parse_labels("imgs", &gz, 10).unwrap_err();
    assert!(matches!(e, IdxError::BadMagic { found: 0x0803, expected: 0x0801, .. }), "{e}");
    assert_eq!(e, parse_labels("imgs", &images(1), 10).unwrap_err());
    // A stream that ends inside the header is a short header, with its length.
    let e = parse_images("imgs", &gzip(&images(1)[..10]), 28, 28).unwrap_err();
    assert_eq!(e, IdxError::TooShortForHeader { name: "imgs".into(), len: 10, rank: 3 });
    let e = parse_images("imgs", &gzip(&[0, 0]), 28, 28).unwrap_err();
    assert_eq!(e, IdxError::TooShortForHeader { name: "imgs".into(), len: 2, rank: 3 });
}

#[test]
fn declared_size_over_the_cap_is_refused_before_reading_the_data() {
    // Just over the cap, in a few bytes: refused from the header alone, gzipped or raw.
    let rows = MAX_IDX_BYTES / 784 + 1;
    let header = encode_ubyte(&[rows, 28, 28], &[]);
    for bytes in [header.clone(), gzip(&header)] {
        let e = parse_images("big", &bytes, 28, 28).unwrap_err();
        let declared = Some(rows as u64 * 784);
        assert_eq!(
            e,
            IdxError::TooLarge { name: "big".into(), dims: vec![rows, 28, 28], declared, cap: MAX_IDX_BYTES }
        );
        let msg = e.to_string();
        assert!(msg.contains(&format!("{rows}×28×28 tensor of {} data bytes", rows * 784)), "{msg}");
        assert!(msg.contains(&format!("over the limit of {MAX_IDX_BYTES} bytes")), "{msg}");
    }
    // maybe_gunzip refuses it too, whatever rank the stream says.
    assert!(matches!(maybe_gunzip("big", &gzip(&header)).unwrap_err(), IdxError::TooLarge { .. }));
    // At the cap, a short stream is a length mismatch, not an allocation of the cap.
    let header = encode_ubyte(&[MAX_IDX_BYTES], &[]);
    let e = parse_ubyte("cap", &gzip(&header), 1).unwrap_err();
    assert_eq!(e, IdxError::LengthMismatch { name: "cap".into(), expected: MAX_IDX_BYTES, found: 0 });
}

#[test]
fn stream_longer_than_declared_is_refused() {
    // A header declaring 3 labels followed by 4 MiB of zeros.
    let gz = gzip_with_zeros(&encode_ubyte(&[3], &[]), 4 << 20);
    let e = parse_labels("lbl", &gz, 10).unwrap_err();
    assert_eq!(e, IdxError::LongerThanDeclared { name: "lbl".into(), expected: 3 });
    assert_eq!(e.to_string(), "lbl: header says 3 data bytes but the file holds more than that");
    assert_eq!(maybe_gunzip("lbl", &gz).unwrap_err(), e);
    // One byte too many is enough.
    let gz = gzip(&encode_ubyte(&[2, 28, 28], &[5u8; 2 * 784 + 1]));
    let e = parse_images("imgs", &gz, 28, 28).unwrap_err();
    assert_eq!(e, IdxError::LongerThanDeclared { name: "imgs".into(), expected: 2 * 784 });
    // A raw file says exactly how much it holds.
    let raw = encode_ubyte(&[2, 28, 28], &[5u8; 2 * 784 + 1]);
    let e = parse_images("imgs", &raw, 28, 28).unwrap_err();
    assert_eq!(e, IdxError::LengthMismatch { name: "imgs".into(), expected: 2 * 784, found: 2 * 784 + 1 });
}

#[test]
fn rank_zero_and_ranks_past_the_magic_are_errors_not_panics() {
    for rank in [0, MAX_IDX_RANK + 1, usize::MAX] {
        for bytes in [&[][..], &[0, 0, 8, 0][..], &encode_ubyte(&[1], &[1])[..], &gzip(&[0, 0, 8, 0])[..]] {
            let e = parse_ubyte("t", bytes, rank).unwrap_err();
            assert_eq!(e, IdxError::BadRank { name: "t".into(), rank });
            assert!(e.to_string().contains(&format!("rank {rank}: the rank must be 1 to 255")), "{e}");
        }
    }
    // The top rank works, and a rank-0 stream passed through maybe_gunzip is left for the parser.
    let dims = [1usize; MAX_IDX_RANK];
    let t = parse_ubyte("t", &gzip(&encode_ubyte(&dims, &[9])), MAX_IDX_RANK).unwrap();
    assert_eq!((t.dims.len(), t.data), (MAX_IDX_RANK, vec![9]));
    assert_eq!(maybe_gunzip("t", &gzip(&[0, 0, 8, 0, 1, 2])).unwrap().as_ref(), &[0, 0, 8, 0]);
}

#[test]
fn inflation_reads_in_steps_and_only_as_far_as_asked() {
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let raw = encode_ubyte(&[data.len()], &data);
    // One byte per read, and a few at a time: the same bytes, whatever the steps.
    for step in [1, 3, 4096] {
        let mut r = Trickle { bytes: &raw, step, given: 0 };
        let mut out = Vec::new();
        assert_eq!(fill("t", &mut r, &mut out, 4).unwrap(), 4);
        assert_eq!(r.given, 4, "no read past the magic number");
        assert_eq!(fill("t", &mut r, &mut out, 8).unwrap(), 8);
        assert_eq!(fill("t", &mut r, &mut out, raw.len()).unwrap(), raw.len());
        assert_eq!(out, raw);
        // Room grew by doubling, never past what was asked for.
        assert!(out.capacity() <= raw.len(), "{} > {}", out.capacity(), raw.len());
        // Asking past the end gives what there is.
        assert_eq!(fill("t", &mut r, &mut out, raw.len() + 10).unwrap(), raw.len());
    }
    // A stream that ends early costs at most twice what it held, not what was asked.
    let mut r = Trickle { bytes: &raw[..100_000], step: 1000, given: 0 };
    let mut out = Vec::new();
    assert_eq!(fill("t", &mut r, &mut out, 1 << 30).unwrap(), 100_000);
    assert!(out.capacity() <= 2 * 100_000 + FIRST_CHUNK, "{}", out.capacity());
    // Through gzip, many inflate steps give the whole tensor back.
    assert_eq!(parse_ubyte("t", &gzip(&raw), 1).unwrap().data, data);
}

#[test]
fn a_zero_inner_dimension_is_refused() {
    // Found by the fuzzer (fuzz/fuzz_targets/idx.rs): 2303 items of
    // 4278386431×335544320×0 bytes were accepted with no data, and the
    // product of the first dimensions overflows a usize.
    let input = [0, 0, 8, 4, 0, 0, 8, 255, 255, 2, 254, 255, 20, 0, 0, 0, 0, 0, 0, 0];
    let e = parse_ubyte("t", &input, 4).unwrap_err();
    assert_eq!(e, IdxError::ZeroDimension { name: "t".into(), dims: vec![2303, 4278386431, 335544320, 0] });
    assert_eq!(
        e.to_string(),
        "t: the dimensions 2303×4278386431×335544320×0 include a zero, so the items hold no data"
    );
    assert!(matches!(parse_ubyte("t", &gzip(&input), 4).unwrap_err(), IdxError::ZeroDimension { .. }));
    let e = parse_images("i", &encode_ubyte(&[2, 0, 28], &[]), 28, 28).unwrap_err();
    assert!(matches!(e, IdxError::ZeroDimension { .. }), "{e}");
}

#[test]
fn a_corrupt_gzip_trailer_is_an_error() {
    // The data inflates fine; the CRC at the end does not match it.
    let mut gz = gzip(&labels(&[1, 2, 3]));
    let n = gz.len();
    gz[n - 8] ^= 0xff;
    let e = parse_labels("lbl", &gz, 10).unwrap_err();
    assert!(matches!(e, IdxError::Gzip { .. }), "{e}");
}
