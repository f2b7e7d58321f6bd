// RNGD's per-neuron preconditioning: column i of a layer's gradient (neuron
// i's weights and bias) times its stored inverse metric, u_i = G_i^-1 g_i.
// One invocation per (row a, neuron i).

struct Params {
    dim: u32,      // D = d_in + 1
    neurons: u32,  // m, the layer's width; the gradient is D x m row-major
    off: u32,      // the layer's offset in the gradient and update arenas
    pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ginv: array<f32>;         // m x D x D
@group(0) @binding(2) var<storage, read> grads: array<f32>;
@group(0) @binding(3) var<storage, read_write> upd: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let a = gid.x;
    let i = gid.y;
    if (a >= p.dim || i >= p.neurons) { return; }
    let row = i * p.dim * p.dim + a * p.dim;
    var acc = 0.0;
    for (var b = 0u; b < p.dim; b++) {
        acc += ginv[row + b] * grads[p.off + b * p.neurons + i];
    }
    upd[p.off + a * p.neurons + i] = acc;
}
