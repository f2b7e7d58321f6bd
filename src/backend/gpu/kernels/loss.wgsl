// One workgroup sums a step's (or an evaluation chunk's) per-row results and,
// in training, the L2 penalty's sum of squared weights (bias rows excluded),
// into four numbers at `slot`: [sum ce, sum correct, sum w^2, rows]. The host
// turns them into the loss, so only these scalars are ever read back.

struct Params {
    layers: u32,   // entries in `layout`
    with_l2: u32,  // 0 when evaluating
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> row_out: array<f32>;  // rows x [ce, correct]
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read> table: array<u32>;   // per weight layer: offset, d_in, d_out
@group(0) @binding(4) var<storage, read_write> results: array<f32>;
@group(1) @binding(0) var<uniform> step: StepInfo;

const WG: u32 = 256u;
var<workgroup> part: array<vec3<f32>, WG>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) li: vec3<u32>) {
    let lid = li.x;
    var acc = vec3<f32>(0.0);
    for (var k = lid; k < step.valid; k += WG) {
        acc.x += row_out[2u * k];
        acc.y += row_out[2u * k + 1u];
    }
    if (p.with_l2 == 1u) {
        for (var l = 0u; l < p.layers; l++) {
            let off = table[3u * l];
            let count = table[3u * l + 1u] * table[3u * l + 2u];  // the rows above the bias row
            for (var i = lid; i < count; i += WG) {
                let v = params[off + i];
                acc.z += v * v;
            }
        }
    }
    part[lid] = acc;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) { part[lid] += part[lid + s]; }
        workgroupBarrier();
    }
    if (lid == 0u) {
        let r = 4u * step.slot;
        results[r] = part[0].x;
        results[r + 1u] = part[0].y;
        results[r + 2u] = part[0].z;
        results[r + 3u] = f32(step.valid);
    }
}
