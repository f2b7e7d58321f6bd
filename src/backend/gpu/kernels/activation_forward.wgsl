// Hidden layer output h = f(z) into the next layer's augmented input [h, 1],
// and RNGD's selectors nu_f(z) when the layer keeps per-neuron metrics.

struct Params {
    rows: u32,
    width: u32,
    kind: u32,      // ACT_*
    write_nu: u32,  // 1: also write nu
    param: f32,     // PReLU leak or ELU alpha
    omega: f32,     // (P)ReLU selector smoothing
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;         // rows x width
@group(0) @binding(2) var<storage, read_write> h: array<f32>;   // rows x (width + 1)
@group(0) @binding(3) var<storage, read_write> nu: array<f32>;  // rows x width

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let total = p.rows * p.width;
    for (var i = gid.x; i < total; i += nwg.x * 64u) {
        let k = i / p.width;
        let j = i % p.width;
        let t = z[i];
        h[k * (p.width + 1u) + j] = act_f(p.kind, p.param, t);
        if (j == 0u) { h[k * (p.width + 1u) + p.width] = 1.0; }
        if (p.write_nu == 1u) { nu[i] = act_nu(p.kind, p.param, p.omega, t); }
    }
}
