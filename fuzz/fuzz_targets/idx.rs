//! Arbitrary bytes into the IDX parser, through every public entry point:
//! no input may panic, and whatever parses must be a tensor that its own
//! dimensions describe. Run with `cargo +nightly fuzz run idx` in the repo root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rngd_lab::data::idx::{self, IdxTensor};
use rngd_lab::data::{Dataset, Split, CLASSES, PIXELS};

/// What every tensor the parser returns must satisfy.
fn check(t: &IdxTensor, rank: usize) {
    assert_eq!(t.dims.len(), rank);
    assert!(t.dims[0] > 0, "an empty tensor was accepted: {:?}", t.dims);
    let product = t.dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).expect("dims overflow");
    assert_eq!(t.data.len(), product, "dims {:?}", t.dims);
    assert!(t.data.len() <= idx::MAX_IDX_BYTES);
}

fuzz_target!(|data: &[u8]| {
    // For the entry points that take two files (images and labels), the last
    // two bytes say where the second one starts; all of `data` is also one file.
    let (body, tail) = data.split_at(data.len().saturating_sub(2));
    let cut = match *tail {
        [lo, hi] => u16::from_le_bytes([lo, hi]) as usize % (body.len() + 1),
        _ => 0,
    };
    let (a, b) = body.split_at(cut);

    for rank in 0..=4 {
        match idx::parse_ubyte("fuzz", data, rank) {
            Ok(t) => check(&t, rank),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
    if let Ok(t) = idx::parse_images("fuzz", data, 28, 28) {
        check(&t, 3);
        assert_eq!(t.dims[1..], [28, 28]);
    }
    if let Ok(l) = idx::parse_labels("fuzz", data, CLASSES) {
        assert!(!l.is_empty() && l.iter().all(|&x| (x as usize) < CLASSES));
    }
    // maybe_gunzip then parse, as the wasm draw view does; and maybe_gunzip
    // alone, for a gzip stream of any IDX rank.
    if let Ok(raw) = idx::maybe_gunzip("fuzz", data) {
        assert!(raw.len() <= 4 + 4 * idx::MAX_IDX_RANK + idx::MAX_IDX_BYTES);
        if let Ok(t) = idx::parse_ubyte("fuzz", &raw, 1) {
            check(&t, 1);
        }
    }
    // The real entry points, images and labels from the two halves.
    if let Ok(s) = Split::from_idx("train", a, b) {
        assert!(!s.is_empty());
        assert_eq!(s.images.dim(), (s.len(), PIXELS));
        assert!(s.images.iter().all(|p| (0.0..=1.0).contains(p)));
    }
    if let Ok(d) = Dataset::from_idx(a, b, a, b) {
        assert_eq!(d.train.len(), d.test.len());
    }
});
