// BNA's hidden layer in evaluation mode, fused with its activation: the
// running statistics normalise, as on the CPU.

struct Params {
    rows: u32,
    width: u32,
    kind: u32,
    pad0: u32,
    param: f32,
    eps: f32,
    scale_off: u32,
    shift_off: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read> running: array<f32>;  // [mean | var]
@group(0) @binding(4) var<storage, read_write> h: array<f32>;  // rows x (width + 1)

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let w = p.width;
    let total = p.rows * w;
    for (var i = gid.x; i < total; i += nwg.x * 64u) {
        let k = i / w;
        let j = i % w;
        let inv_std = 1.0 / sqrt(running[w + j] + p.eps);
        let a = act_f(p.kind, p.param, z[i]);
        h[k * (w + 1u) + j] = (a - running[j]) * inv_std * params[p.scale_off + j] + params[p.shift_off + j];
        if (j == 0u) { h[k * (w + 1u) + w] = 1.0; }
    }
}
