//! Gzip bombs against the IDX parser, with the memory each refusal takes
//! measured by a counting allocator: decompression is bounded by the header.
//!
//! One test function on purpose: the allocator's peak is process-wide, and the
//! tests of one binary run on parallel threads, so the cases run one after
//! another in the same test.
#![cfg(not(target_arch = "wasm32"))]

#[path = "support/peak_alloc.rs"]
mod peak_alloc;

#[global_allocator]
static A: peak_alloc::Peak = peak_alloc::Peak;

use std::io::Write;
use std::time::{Duration, Instant};

use rngd_lab::data::idx::{self, encode_ubyte, IdxError, MAX_IDX_BYTES};
use rngd_lab::data::{DataError, Dataset};

const MIB: usize = 1 << 20;

/// The most live bytes a refusal may take. Inflating takes the decoder's state
/// (a 32 KiB window and its Huffman tables, about 45 KiB in miniz_oxide), the
/// gzip reader's 32 KiB input buffer, and the inflated bytes kept, which here
/// are at most a header and a small declared tensor: about 100 KiB in all. One
/// MiB leaves room for the allocator's rounding and the error's strings,
/// and is three orders of magnitude under what the bombs expand to.
const BOUND: usize = MIB;

/// `header` followed by `zeros` zero bytes, gzipped with the fast level from a
/// reused 1 MiB block (about 0.5 GB/s here; the best level packs 4× tighter
/// but is 3× slower).
fn bomb(header: &[u8], zeros: usize) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(header).unwrap();
    let block = vec![0u8; MIB];
    let mut left = zeros;
    while left > 0 {
        let n = left.min(block.len());
        e.write_all(&block[..n]).unwrap();
        left -= n;
    }
    e.finish().unwrap()
}

/// Runs `f`, prints what it took, and checks the memory bound and (loosely) the time.
fn refused<T: std::fmt::Debug, E: std::fmt::Display>(case: &str, f: impl FnOnce() -> Result<T, E>) -> E {
    let t = Instant::now();
    let (r, peak) = peak_alloc::peak_during(f);
    let took = t.elapsed();
    let e = r.expect_err(case);
    println!("{case}: refused in {took:?} with {peak} bytes live at peak: {e}");
    assert!(peak < BOUND, "{case}: {peak} bytes live at peak, over {BOUND}");
    // Loose, for a shared machine: inflating the bombs whole takes seconds.
    assert!(took < Duration::from_secs(5), "{case}: took {took:?}");
    e
}

#[test]
fn gzip_bombs_are_refused_fast_in_little_memory() {
    // (a) 2 GiB of zeros: the magic number reads 0x00000000, refused after 4 bytes.
    let t = Instant::now();
    let zeros = bomb(&[], 2048 * MIB);
    println!("(a) built {} bytes of gzip holding 2 GiB of zeros in {:?}", zeros.len(), t.elapsed());
    let e = refused("(a) zeros as images", || idx::parse_images("bomb", &zeros, 28, 28));
    assert_eq!(e, IdxError::BadMagic { name: "bomb".into(), found: 0, expected: 0x0803, rank: 3 });
    refused("(a) zeros as labels", || idx::parse_labels("bomb", &zeros, 10));
    refused("(a) zeros through maybe_gunzip and parse", || {
        idx::maybe_gunzip("bomb", &zeros).and_then(|raw| idx::parse_ubyte("bomb", &raw, 1))
    });
    let small = encode_ubyte(&[1], &[3]);
    let e = refused("(a) zeros as the test images of a Dataset", || {
        Dataset::from_idx(&encode_ubyte(&[1, 28, 28], &[0; 784]), &small, &zeros, &small)
    });
    assert!(matches!(e, DataError::Idx { split: "test", source: IdxError::BadMagic { .. } }), "{e}");
    drop(zeros);

    // (b) A valid header declaring 3 labels, then 1 GiB of zeros: the 3 bytes
    // and one more are inflated, and the stream is refused as longer than declared.
    let t = Instant::now();
    let long = bomb(&encode_ubyte(&[3], &[]), 1024 * MIB);
    println!("(b) built {} bytes of gzip: a 3-label header and 1 GiB of zeros, in {:?}", long.len(), t.elapsed());
    let e = refused("(b) header then zeros", || idx::parse_labels("labels", &long, 10));
    assert_eq!(e, IdxError::LongerThanDeclared { name: "labels".into(), expected: 3 });
    assert!(e.to_string().contains("header says 3 data bytes but the file holds more than that"), "{e}");
    refused("(b) header then zeros, as the labels of a Dataset", || {
        Dataset::from_idx(&encode_ubyte(&[3, 28, 28], &[0; 3 * 784]), &long, &[], &[])
    });
    drop(long);

    // (c) A header declaring more than the cap (and a little data): refused
    // from the header alone, before anything is allocated for the data.
    let rows = MAX_IDX_BYTES / 784 + 1;
    let over = bomb(&encode_ubyte(&[rows, 28, 28], &[]), MIB);
    let e = refused("(c) over the cap", || idx::parse_images("images", &over, 28, 28));
    assert!(matches!(e, IdxError::TooLarge { cap: MAX_IDX_BYTES, .. }), "{e}");
    // The same header, raw.
    refused("(c) over the cap, raw", || idx::parse_images("images", &encode_ubyte(&[rows, 28, 28], &[]), 28, 28));

    // (d) A header declaring a tensor just under the cap over 1 MiB of data:
    // room grows with what is inflated, so the header's claim costs nothing.
    let under = bomb(&encode_ubyte(&[MAX_IDX_BYTES / 784, 28, 28], &[]), MIB);
    let t = Instant::now();
    let (r, peak) = peak_alloc::peak_during(|| idx::parse_images("images", &under, 28, 28));
    let e = r.unwrap_err();
    println!("(d) short stream under a huge header: refused in {:?} with {peak} bytes live at peak: {e}", t.elapsed());
    assert!(matches!(e, IdxError::LengthMismatch { found, .. } if found == MIB), "{e}");
    // The 1 MiB held, in room grown by doubling (at most twice that), plus the decoder.
    assert!(peak < 2 * MIB + BOUND, "{peak} bytes live at peak");
}
