// The optimizer's last stage over the whole parameter arena at once, as on
// the CPU (src/optim/mod.rs): precondition (RNGD's output for the weight
// layers, or Adam's moments) -> momentum -> decoupled weight decay -> w -= lr u.
// A parameter that stops being finite records the step in `bad`, so the host
// can stop the run at the same step as the CPU would.

struct Params {
    count: u32,
    precond_end: u32,  // elements below this take `upd` (RNGD's weight layers); the rest take the gradient
    adam: u32,
    momentum_on: u32,
    lr: f32,
    weight_decay: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    mu: f32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> params: array<f32>;
@group(0) @binding(2) var<storage, read> grads: array<f32>;
@group(0) @binding(3) var<storage, read> upd: array<f32>;
@group(0) @binding(4) var<storage, read_write> m1: array<f32>;   // Adam's first moment
@group(0) @binding(5) var<storage, read_write> m2: array<f32>;   // Adam's second moment
@group(0) @binding(6) var<storage, read_write> vel: array<f32>;  // momentum's velocity
@group(0) @binding(7) var<storage, read_write> bad: array<atomic<u32>>;
@group(1) @binding(0) var<uniform> step: StepInfo;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    for (var i = gid.x; i < p.count; i += nwg.x * 64u) {
        var u = grads[i];
        if (i < p.precond_end) { u = upd[i]; }
        if (p.adam == 1u) {
            let g = u;
            m1[i] = p.beta1 * m1[i] + (1.0 - p.beta1) * g;
            m2[i] = p.beta2 * m2[i] + (1.0 - p.beta2) * g * g;
            u = (m1[i] / step.c1) / (sqrt(m2[i] / step.c2) + p.eps);
        }
        if (p.momentum_on == 1u) {
            vel[i] = p.mu * vel[i] + u;
            u = vel[i];
        }
        var w = params[i];
        if (p.weight_decay > 0.0) { w = w * (1.0 - p.lr * p.weight_decay); }
        w = w + (-p.lr) * u;
        params[i] = w;
        if (not_finite(w)) { atomicMin(&bad[0], step.step); }
    }
}
