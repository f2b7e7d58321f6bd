// Back through a hidden activation: dz = dh * f'(z).

struct Params {
    count: u32,  // rows x width
    kind: u32,
    param: f32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> dh: array<f32>;
@group(0) @binding(3) var<storage, read_write> dz: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    for (var i = gid.x; i < p.count; i += nwg.x * 64u) {
        dz[i] = dh[i] * act_df(p.kind, p.param, z[i]);
    }
}
