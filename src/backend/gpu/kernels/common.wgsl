// Shared by every kernel (the host prepends this file to each kernel's source).

// What changes from one training step to the next. Every step of a submission
// has its own copy in one uniform buffer, picked with a dynamic offset, so that
// many steps can be encoded into one command buffer.
struct StepInfo {
    index_offset: u32,  // first row of this step's minibatch in the index buffer
    step: u32,          // 1-based number of the step being run
    slot: u32,          // where this step (or evaluation chunk) writes its loss sums
    valid: u32,         // rows that count (an evaluation chunk may be padded)
    c1: f32,            // Adam's bias corrections 1 - beta^t, computed on the host as the CPU does
    c2: f32,
    bn_rate: f32,       // batch norm's running-statistics rate for this step (bn_running_rate, on the host)
    pad1: u32,
}

// Activation kinds, numbered as in src/backend/gpu/kernel.rs (ActKind).
const ACT_RELU: u32 = 0u;
const ACT_PRELU: u32 = 1u;
const ACT_ELU: u32 = 2u;
const ACT_TANH: u32 = 3u;
const ACT_SIGMOID: u32 = 4u;

fn sigm(t: f32) -> f32 {
    return 1.0 / (1.0 + exp(-t));
}

// tanh through exp overflows to inf/inf for large |t| on some drivers; in f32
// tanh is exactly +-1 beyond |t| = 9, so clamping changes nothing else.
fn tanh_safe(t: f32) -> f32 {
    return tanh(clamp(t, -15.0, 15.0));
}

// f(t); `p` is the PReLU leak or the ELU alpha.
fn act_f(kind: u32, p: f32, t: f32) -> f32 {
    switch kind {
        case 0u: { return max(t, 0.0); }
        case 1u: { return select(p * t, t, t >= 0.0); }
        case 2u: { return select(p * (exp(t) - 1.0), t, t >= 0.0); }
        case 3u: { return tanh_safe(t); }
        default: { return sigm(t); }
    }
}

// f'(t), with the right derivative at the (P)ReLU kink as on the CPU.
fn act_df(kind: u32, p: f32, t: f32) -> f32 {
    switch kind {
        case 0u: { return select(0.0, 1.0, t > 0.0); }
        case 1u: { return select(p, 1.0, t > 0.0); }
        case 2u: { return select(p * exp(t), 1.0, t >= 0.0); }
        case 3u: { let th = tanh_safe(t); return 1.0 - th * th; }
        default: { let s = sigm(t); return s * (1.0 - s); }
    }
}

// The RFIM selector nu_f(t) (RNGD.md, "One neuron"); omega smooths (P)ReLU.
fn act_nu(kind: u32, p: f32, omega: f32, t: f32) -> f32 {
    switch kind {
        case 0u, 1u: {
            let leak = select(p, 0.0, kind == ACT_RELU);
            let s = leak + (1.0 - leak) * sigm((1.0 - leak) * t / omega);
            return s * s;
        }
        case 2u: { return select(p * p * exp(2.0 * t), 1.0, t >= 0.0); }
        case 3u: { let th = tanh_safe(t); return 1.0 - th * th; }
        default: { let s = sigm(t); return s * (1.0 - s); }
    }
}

// True for NaN and +-inf. Tested on the bits, because WGSL lets compilers
// assume floats are finite and fold `x != x` away.
fn not_finite(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u;
}
