//! A drawn digit made to look like an MNIST one, so that a network trained on
//! MNIST sees what it was trained on.
//!
//! MNIST's recipe (LeCun et al.): the ink's bounding box is scaled to fit a
//! 20×20 box with its aspect ratio kept, anti-aliased, then placed in a 28×28
//! field so that its centre of mass sits at the field's centre. We follow it:
//! area averaging does the anti-aliasing (every output pixel is the mean ink
//! of the drawing's area it covers), and the shift is a whole number of pixels,
//! as in MNIST, so strokes stay as sharp as the scaling made them.

use thiserror::Error;

use super::{IMAGE_SIDE, PIXELS};

/// The side of the box the ink is scaled to fit.
pub const BOX_SIDE: usize = 20;
/// Ink below this share of the darkest pixel does not widen the bounding box.
const BOX_INK: f32 = 0.2;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DigitError {
    #[error("draw something first: the drawing has no ink")]
    Empty,
    #[error("a {width}×{height} drawing needs {expected} values, got {got}")]
    BadLength { width: usize, height: usize, expected: usize, got: usize },
}

/// Preprocesses an RGBA drawing (row-major, 4 bytes a pixel, as a canvas's
/// `getImageData` gives). The ink is the alpha channel, whatever the colour:
/// the page draws on a transparent canvas, so a light stroke in dark mode and
/// a dark one in light mode mean the same digit.
pub fn preprocess_rgba(rgba: &[u8], width: usize, height: usize) -> Result<Vec<f32>, DigitError> {
    // Checked: on wasm32 a usize is 32 bits, and 65536 × 65536 × 4 would wrap to 0.
    let expected = width.saturating_mul(height).saturating_mul(4);
    if rgba.len() != expected {
        return Err(DigitError::BadLength { width, height, expected, got: rgba.len() });
    }
    let ink: Vec<f32> = rgba.chunks_exact(4).map(|p| p[3] as f32 / 255.0).collect();
    preprocess_ink(&ink, width, height)
}

/// Preprocesses a drawing given as ink in [0, 1] per pixel (row-major,
/// `width × height`) into 784 MNIST-like pixels in [0, 1], row-major 28×28.
pub fn preprocess_ink(ink: &[f32], width: usize, height: usize) -> Result<Vec<f32>, DigitError> {
    let expected = width.saturating_mul(height);
    if ink.len() != expected {
        return Err(DigitError::BadLength { width, height, expected, got: ink.len() });
    }
    let at = |x: usize, y: usize| ink[y * width + x].clamp(0.0, 1.0);
    // The box holds the ink above a fifth of the darkest: the faint fringe that
    // anti-aliasing or a smoothed enlargement adds around strokes would
    // otherwise widen it and shrink the digit.
    let floor = BOX_INK * ink.iter().fold(0f32, |m, &v| m.max(v.clamp(0.0, 1.0)));
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for y in 0..height {
        for x in 0..width {
            if at(x, y) > floor {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
            }
        }
    }
    if x0 == usize::MAX {
        return Err(DigitError::Empty);
    }
    let (w, h) = (x1 - x0, y1 - y0);
    // The longer side becomes 20 pixels; the shorter one keeps the aspect ratio.
    let side = w.max(h) as f64;
    let out_w = ((w as f64 * BOX_SIDE as f64 / side).round() as usize).clamp(1, BOX_SIDE);
    let out_h = ((h as f64 * BOX_SIDE as f64 / side).round() as usize).clamp(1, BOX_SIDE);
    let cols = area_weights(w, out_w);
    let rows = area_weights(h, out_h);

    // Separable area averaging: first along x, then along y.
    let mut across = vec![0f32; h * out_w];
    for y in 0..h {
        for (j, taps) in cols.iter().enumerate() {
            across[y * out_w + j] = taps.iter().map(|&(x, wt)| wt * at(x0 + x, y0 + y)).sum();
        }
    }
    let mut small = vec![0f32; out_h * out_w];
    for (i, taps) in rows.iter().enumerate() {
        for j in 0..out_w {
            small[i * out_w + j] = taps.iter().map(|&(y, wt)| wt * across[y * out_w + j]).sum();
        }
    }
    // A thin pen stroke averages to grey; MNIST strokes are saturated at their
    // core, so the darkest pixel is made full ink.
    let peak = small.iter().cloned().fold(0f32, f32::max);
    small.iter_mut().for_each(|v| *v = (*v / peak).clamp(0.0, 1.0));

    // Centre of mass in continuous coordinates (pixel i spans [i, i+1]).
    let (mut mass, mut mx, mut my) = (0f64, 0f64, 0f64);
    for i in 0..out_h {
        for j in 0..out_w {
            let v = small[i * out_w + j] as f64;
            mass += v;
            mx += v * (j as f64 + 0.5);
            my += v * (i as f64 + 0.5);
        }
    }
    // MNIST's centre of mass falls on pixel (14, 14), whose middle is 14.5 in
    // these coordinates (its test digits' lie between 14 and 15).
    let centre = IMAGE_SIDE as f64 / 2.0 + 0.5;
    // A whole-pixel shift that brings the centre of mass nearest the field's
    // centre, kept inside the field so that no ink is cut off.
    let shift = |c: f64, size: usize| ((centre - c / mass).round().max(0.0) as usize).min(IMAGE_SIDE - size);
    let (ox, oy) = (shift(mx, out_w), shift(my, out_h));
    let mut out = vec![0f32; PIXELS];
    for i in 0..out_h {
        out[(oy + i) * IMAGE_SIDE + ox..][..out_w].copy_from_slice(&small[i * out_w..][..out_w]);
    }
    Ok(out)
}

/// For each of `n_out` output pixels, the input pixels it covers and their
/// weights, when `n_in` input pixels are resampled to `n_out` by area
/// averaging. Each output pixel's weights sum to 1.
fn area_weights(n_in: usize, n_out: usize) -> Vec<Vec<(usize, f32)>> {
    let span = n_in as f64 / n_out as f64; // input pixels per output pixel
    (0..n_out)
        .map(|j| {
            let (a, b) = (j as f64 * span, (j + 1) as f64 * span);
            let first = a.floor() as usize;
            let last = (b.ceil() as usize).min(n_in);
            (first..last)
                .filter_map(|x| {
                    let overlap = (b.min(x as f64 + 1.0) - a.max(x as f64)).max(0.0);
                    (overlap > 0.0).then(|| (x, (overlap / span) as f32))
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// Centre of mass (x, y) of a 28×28 image, pixel i spanning [i, i+1].
    fn centre_of_mass(img: &[f32]) -> (f64, f64) {
        let (mut m, mut x, mut y) = (0f64, 0f64, 0f64);
        for (k, &v) in img.iter().enumerate() {
            m += v as f64;
            x += v as f64 * ((k % IMAGE_SIDE) as f64 + 0.5);
            y += v as f64 * ((k / IMAGE_SIDE) as f64 + 0.5);
        }
        (x / m, y / m)
    }

    /// Columns and rows (half-open) holding any ink.
    fn extent(img: &[f32]) -> ((usize, usize), (usize, usize)) {
        let inked: Vec<usize> = (0..PIXELS).filter(|&k| img[k] > 0.0).collect();
        let xs = inked.iter().map(|k| k % IMAGE_SIDE);
        let ys = inked.iter().map(|k| k / IMAGE_SIDE);
        ((xs.clone().min().unwrap(), xs.max().unwrap() + 1), (ys.clone().min().unwrap(), ys.max().unwrap() + 1))
    }

    fn rgba_from_ink(ink: &[f32]) -> Vec<u8> {
        ink.iter().flat_map(|&a| [20, 30, 40, (a * 255.0).round() as u8]).collect()
    }

    #[test]
    fn an_off_centre_drawing_ends_centred_by_mass_not_by_box() {
        // A 200×150 canvas: a thick vertical bar near the top-left corner with
        // a heavy blob at its foot, so the bounding box's centre and the centre
        // of mass differ by several pixels after scaling.
        let (w, h) = (200, 150);
        let mut ink = vec![0f32; w * h];
        for y in 10..90 {
            for x in 15..25 {
                ink[y * w + x] = 1.0;
            }
        }
        for y in 70..90 {
            for x in 25..55 {
                ink[y * w + x] = 1.0;
            }
        }
        let img = preprocess_rgba(&rgba_from_ink(&ink), w, h).unwrap();
        assert_eq!(img.len(), PIXELS);
        let (cx, cy) = centre_of_mass(&img);
        assert!((cx - 14.5).abs() <= 0.5 && (cy - 14.5).abs() <= 0.5, "centre of mass ({cx}, {cy})");
        let ((xa, xb), (ya, yb)) = extent(&img);
        let box_centre = ((xa + xb) as f64 / 2.0, (ya + yb) as f64 / 2.0);
        assert!(box_centre.1 < 12.5, "the box centre {box_centre:?} should sit above the mass centre");
        assert!(img.iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!(img.iter().cloned().fold(0f32, f32::max), 1.0);
    }

    #[test]
    fn a_large_drawing_is_scaled_into_twenty_by_twenty_keeping_its_aspect() {
        // A 500×300 ellipse outline filling a 600×400 canvas.
        let (w, h) = (600, 400);
        let mut ink = vec![0f32; w * h];
        for y in 0..h {
            for x in 0..w {
                let (u, v) = ((x as f64 - 300.0) / 250.0, (y as f64 - 200.0) / 150.0);
                let r = (u * u + v * v).sqrt();
                if (0.8..=1.0).contains(&r) {
                    ink[y * w + x] = 1.0;
                }
            }
        }
        let img = preprocess_ink(&ink, w, h).unwrap();
        let ((xa, xb), (ya, yb)) = extent(&img);
        assert_eq!(xb - xa, 20, "the longer side fills the box");
        assert_eq!(yb - ya, 12, "300/500 of 20");
        let (cx, cy) = centre_of_mass(&img);
        assert!((cx - 14.5).abs() <= 0.5 && (cy - 14.5).abs() <= 0.5, "centre of mass ({cx}, {cy})");
        // The hole of the ring survives the scaling.
        assert_eq!(img[14 * IMAGE_SIDE + 14], 0.0);
    }

    #[test]
    fn an_empty_drawing_is_refused_with_a_message() {
        let e = preprocess_rgba(&[255u8, 255, 255, 0].repeat(50 * 40), 50, 40).unwrap_err();
        assert_eq!(e, DigitError::Empty);
        assert!(e.to_string().starts_with("draw something first"));
        let e = preprocess_rgba(&[0; 12], 2, 2).unwrap_err();
        assert_eq!(e.to_string(), "a 2×2 drawing needs 16 values, got 12");
    }

    #[test]
    fn a_single_dot_becomes_a_centred_blob() {
        let mut ink = vec![0f32; 9];
        ink[0] = 0.3;
        let img = preprocess_ink(&ink, 3, 3).unwrap();
        // One pixel of ink fills the whole 20×20 box, at full strength.
        assert_eq!(img.iter().filter(|&&v| v == 1.0).count(), 400);
        // Its centre of mass is 10 from its edge: 4.5 pixels of shift round to 5.
        assert_eq!(centre_of_mass(&img), (15.0, 15.0));
    }

    #[test]
    fn area_weights_cover_each_input_pixel_once() {
        for (n_in, n_out) in [(280, 20), (7, 20), (33, 12), (20, 20)] {
            let w = area_weights(n_in, n_out);
            let mut per_input = vec![0f64; n_in];
            for taps in &w {
                let s: f32 = taps.iter().map(|t| t.1).sum();
                assert!((s - 1.0).abs() < 1e-5, "{n_in}→{n_out}: weights sum to {s}");
                for &(x, wt) in taps {
                    per_input[x] += wt as f64;
                }
            }
            let expected = n_out as f64 / n_in as f64;
            assert!(per_input.iter().all(|&s| (s - expected).abs() < 1e-5), "{n_in}→{n_out}");
        }
    }

    /// A real test digit drawn about ten times larger, off-centre on a bigger
    /// canvas and smoothed (bilinear, as a browser scales an image), comes back
    /// close to itself. The scale is not a whole number, so the area averaging
    /// cannot simply undo the enlargement.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn an_mnist_digit_drawn_ten_times_larger_comes_back_close_to_itself() {
        let data = super::super::bundled::mnist_subset().unwrap();
        let (w, h, scale, ox, oy) = (330, 300, 9.6, 41.0, 17.0);
        let (mut worst, mut total, mut poor) = (f64::INFINITY, 0.0, 0);
        let n = 100;
        for row in 0..n {
            let original = data.test.image(row).to_vec();
            let px = |x: i64, y: i64| {
                let inside = (0..IMAGE_SIDE as i64).contains(&x) && (0..IMAGE_SIDE as i64).contains(&y);
                if inside {
                    original[y as usize * IMAGE_SIDE + x as usize]
                } else {
                    0.0
                }
            };
            let big: Vec<f32> = (0..w * h)
                .map(|k| {
                    let u = ((k % w) as f64 + 0.5 - ox) / scale - 0.5;
                    let v = ((k / w) as f64 + 0.5 - oy) / scale - 0.5;
                    let (x, y) = (u.floor() as i64, v.floor() as i64);
                    let (fx, fy) = ((u - u.floor()) as f32, (v - v.floor()) as f32);
                    (1.0 - fy) * ((1.0 - fx) * px(x, y) + fx * px(x + 1, y))
                        + fy * ((1.0 - fx) * px(x, y + 1) + fx * px(x + 1, y + 1))
                })
                .collect();
            let back = preprocess_rgba(&rgba_from_ink(&big), w, h).unwrap();
            let c = correlation(&original, &back);
            worst = worst.min(c);
            total += c;
            poor += usize::from(c < 0.85);
            poor += usize::from(c < 0.85);
        }
        let mean = total / n as f64;
        // A whole-pixel centring can land one pixel off the original's for a
        // few thin digits, which costs them much correlation: hence the count.
        assert!(
            mean > 0.95 && poor <= n / 10,
            "correlation over {n} digits: mean {mean}, {poor} under 0.85, worst {worst}"
        );
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn correlation(a: &[f32], b: &[f32]) -> f64 {
        let n = a.len() as f64;
        let (ma, mb) = (a.iter().map(|&v| v as f64).sum::<f64>() / n, b.iter().map(|&v| v as f64).sum::<f64>() / n);
        let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
        for (&x, &y) in a.iter().zip(b) {
            let (x, y) = (x as f64 - ma, y as f64 - mb);
            sab += x * y;
            saa += x * x;
            sbb += y * y;
        }
        sab / (saa * sbb).sqrt()
    }
}
