// A sum over a 64-invocation workgroup, prepended to the kernels that reduce
// a batch column by column (one workgroup per column).

const WG: u32 = 64u;
var<workgroup> part: array<f32, WG>;

// Sum of `v` over the workgroup, returned to every invocation.
fn reduce(v: f32, lid: u32) -> f32 {
    part[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) { part[lid] += part[lid + s]; }
        workgroupBarrier();
    }
    let total = part[0];
    workgroupBarrier();
    return total;
}
