// Back through BNA's batch norm and the activation before it, one workgroup
// per column: the scale and shift gradients, then
//   da = inv_std / n * (n dx^ - sum dx^ - x^ sum(dx^ x^)),  dz = da * f'(z).

struct Params {
    rows: u32,
    width: u32,
    kind: u32,
    pad0: u32,
    param: f32,
    scale_off: u32,  // offsets in the parameter and gradient arenas
    shift_off: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dh: array<f32>;          // rows x width
@group(0) @binding(2) var<storage, read> xhat: array<f32>;        // rows x width
@group(0) @binding(3) var<storage, read> stats: array<f32>;       // [mean | var | inv_std]
@group(0) @binding(4) var<storage, read> params: array<f32>;
@group(0) @binding(5) var<storage, read> z: array<f32>;
@group(0) @binding(6) var<storage, read_write> dz: array<f32>;
@group(0) @binding(7) var<storage, read_write> grads: array<f32>;

// `WG` and `reduce` come from reduce64.wgsl.

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) li: vec3<u32>) {
    let j = wg.x;
    let lid = li.x;
    let w = p.width;
    let n = f32(p.rows);
    let scale = params[p.scale_off + j];
    var s_dout_xhat = 0.0;
    var s_dout = 0.0;
    for (var k = lid; k < p.rows; k += WG) {
        let d = dh[k * w + j];
        s_dout_xhat += d * xhat[k * w + j];
        s_dout += d;
    }
    let dscale = reduce(s_dout_xhat, lid);
    let dshift = reduce(s_dout, lid);
    // dx^ = dout * scale, so its sums follow from the two above.
    let sum_dxhat = dshift * scale;
    let sum_dxhat_xhat = dscale * scale;
    let k_inv = stats[2u * w + j] / n;
    for (var k = lid; k < p.rows; k += WG) {
        let i = k * w + j;
        let dxh = dh[i] * scale;
        let da = (dxh * n - sum_dxhat - xhat[i] * sum_dxhat_xhat) * k_inv;
        dz[i] = da * act_df(p.kind, p.param, z[i]);
    }
    if (lid == 0u) {
        grads[p.scale_off + j] = dscale;
        grads[p.shift_off + j] = dshift;
    }
}
