// Selects a minibatch on the GPU: rows of the resident image set, by the
// seeded index order the host uploads, into the augmented input x~ = [x, 1].

struct Params {
    rows: u32,    // rows to gather
    pixels: u32,  // values per image
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> images: array<f32>;       // resident set, n x pixels
@group(0) @binding(2) var<storage, read> labels_in: array<u32>;    // resident labels, n
@group(0) @binding(3) var<storage, read> indices: array<u32>;      // row numbers, at step.index_offset
@group(0) @binding(4) var<storage, read_write> x: array<f32>;      // rows x (pixels + 1)
@group(0) @binding(5) var<storage, read_write> labels: array<u32>; // rows
@group(1) @binding(0) var<uniform> step: StepInfo;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let width = p.pixels + 1u;
    let total = p.rows * width;
    // Grid-stride loop: the host caps the workgroup count under the dispatch limit.
    for (var i = gid.x; i < total; i += nwg.x * 64u) {
        let k = i / width;
        let c = i % width;
        let r = indices[step.index_offset + k];
        if (c == p.pixels) {
            x[i] = 1.0;
            labels[k] = labels_in[r];
        } else {
            x[i] = images[r * p.pixels + c];
        }
    }
}
