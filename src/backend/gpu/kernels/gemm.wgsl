// C = op(A) op(B), with any row and column strides, so one kernel serves the
// forward pass (x~ W), the weight gradient (x~^T dZ, plus the L2 term), the
// input gradient (dZ W^T) and the shared-metric preconditioning (G^-1 grad).
// Matrices live at element offsets inside larger buffers (the parameter arena).

struct Params {
    m: u32, n: u32, k: u32,
    mode: u32,          // 0: C = AB;  1: C = AB + l2 * W on rows < decay_rows (W shaped like C)
    a_off: u32, a_rs: u32, a_cs: u32,
    b_off: u32, b_rs: u32, b_cs: u32,
    c_off: u32, c_rs: u32,
    w_off: u32, decay_rows: u32,
    l2: f32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read> w: array<f32>;

// Each invocation owns a 4x4 block of C: 16 multiply-adds per 8 loads, read
// straight from memory (through the cache). No workgroup memory and no
// barriers: software adapters (lavapipe, SwiftShader) run barriers by
// switching between invocations, which made a 16x16-tiled version several
// times slower there, and at this project's sizes a hardware GPU is bound by
// dispatch overhead rather than by this loop.
@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r0 = gid.y * 4u;
    let c0 = gid.x * 4u;
    if (r0 >= p.m || c0 >= p.n) { return; }
    // Rows and columns past the edge repeat the last one; their results are not stored.
    let rows = vec4<u32>(r0, min(r0 + 1u, p.m - 1u), min(r0 + 2u, p.m - 1u), min(r0 + 3u, p.m - 1u));
    let cols = vec4<u32>(c0, min(c0 + 1u, p.n - 1u), min(c0 + 2u, p.n - 1u), min(c0 + 3u, p.n - 1u));
    var ia = p.a_off + rows * p.a_rs;
    var ib = p.b_off + cols * p.b_cs;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var k = 0u; k < p.k; k++) {
        let bv = vec4<f32>(b[ib.x], b[ib.y], b[ib.z], b[ib.w]);
        acc0 += a[ia.x] * bv;
        acc1 += a[ia.y] * bv;
        acc2 += a[ia.z] * bv;
        acc3 += a[ia.w] * bv;
        ia += vec4<u32>(p.a_cs);
        ib += vec4<u32>(p.b_rs);
    }
    store_row(r0, c0, acc0);
    if (r0 + 1u < p.m) { store_row(r0 + 1u, c0, acc1); }
    if (r0 + 2u < p.m) { store_row(r0 + 2u, c0, acc2); }
    if (r0 + 3u < p.m) { store_row(r0 + 3u, c0, acc3); }
}

fn store_row(row: u32, c0: u32, v: vec4<f32>) {
    for (var j = 0u; j < 4u; j++) {
        let col = c0 + j;
        if (col >= p.n) { return; }
        var out = v[j];
        if (p.mode == 1u && row < p.decay_rows) {
            out += p.l2 * w[p.w_off + row * p.c_rs + col];
        }
        c[p.c_off + row * p.c_rs + col] = out;
    }
}
