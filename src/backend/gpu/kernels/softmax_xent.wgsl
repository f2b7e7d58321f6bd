// Softmax cross-entropy per row, from the logits as on the CPU (log p =
// z_y - logsumexp z, with the row's max subtracted first), the gradient
// (softmax - onehot) / rows, and whether the row's argmax is its label.

struct Params {
    rows: u32,
    classes: u32,
    write_grad: u32,  // 0 when evaluating
    pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;           // rows x classes
@group(0) @binding(2) var<storage, read> labels: array<u32>;      // rows
@group(0) @binding(3) var<storage, read_write> dz: array<f32>;    // rows x classes
@group(0) @binding(4) var<storage, read_write> row_out: array<f32>;  // rows x [ce, correct]

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let k = gid.x;
    if (k >= p.rows) { return; }
    let base = k * p.classes;
    let y = labels[k];
    var m = z[base];
    var best = 0u;
    for (var c = 1u; c < p.classes; c++) {
        // Strictly greater: ties go to the first class, as on the CPU.
        if (z[base + c] > m) { m = z[base + c]; best = c; }
    }
    var s = 0.0;
    for (var c = 0u; c < p.classes; c++) { s += exp(z[base + c] - m); }
    row_out[2u * k] = m + log(s) - z[base + y];
    row_out[2u * k + 1u] = select(0.0, 1.0, best == y);
    if (p.write_grad == 1u) {
        let inv_rows = 1.0 / f32(p.rows);
        for (var c = 0u; c < p.classes; c++) {
            let prob = exp(z[base + c] - m) / s;
            dz[base + c] = (prob - select(0.0, 1.0, c == y)) * inv_rows;
        }
    }
}
