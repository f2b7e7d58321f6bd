//! Each kernel's static `Params`, laid out as its `.wgsl` file declares them.

macro_rules! params {
    ($(#[$doc:meta])* $name:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[repr(C)]
        #[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
        pub struct $name { $(pub $field: $ty),* }
    };
}

params!(Gather { rows: u32, pixels: u32, pad0: u32, pad1: u32 });
params!(
    /// `C = op(A)·op(B)`; element (i, j) of A is at `a_off + i·a_rs + j·a_cs`, and so on.
    Gemm {
        m: u32, n: u32, k: u32, mode: u32,
        a_off: u32, a_rs: u32, a_cs: u32,
        b_off: u32, b_rs: u32, b_cs: u32,
        c_off: u32, c_rs: u32,
        w_off: u32, decay_rows: u32,
        l2: f32, pad: u32,
    }
);
params!(ActivationForward {
    rows: u32,
    width: u32,
    kind: u32,
    write_nu: u32,
    param: f32,
    omega: f32,
    pad0: u32,
    pad1: u32
});
params!(ActivationBackward { count: u32, kind: u32, param: f32, pad: u32 });
params!(BatchNormTrain {
    rows: u32,
    width: u32,
    kind: u32,
    write_nu: u32,
    param: f32,
    omega: f32,
    eps: f32,
    scale_off: u32,
    shift_off: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
});
params!(BatchNormEval {
    rows: u32,
    width: u32,
    kind: u32,
    pad0: u32,
    param: f32,
    eps: f32,
    scale_off: u32,
    shift_off: u32
});
params!(BatchNormBackward {
    rows: u32,
    width: u32,
    kind: u32,
    pad0: u32,
    param: f32,
    scale_off: u32,
    shift_off: u32,
    pad1: u32
});
params!(SoftmaxXent { rows: u32, classes: u32, write_grad: u32, pad: u32 });
params!(Loss { layers: u32, with_l2: u32, pad0: u32, pad1: u32 });
params!(MetricUpdate {
    batch: u32,
    dim: u32,
    neurons: u32,
    lambda: f32,
    one_metric: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32
});
params!(Precondition { dim: u32, neurons: u32, off: u32, pad: u32 });
params!(Apply {
    count: u32,
    precond_end: u32,
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
});

impl Gemm {
    /// Row-major `C (m×n) = A (m×k) · B (k×n)`, every matrix contiguous from its offset.
    pub fn plain(m: usize, n: usize, k: usize) -> Gemm {
        Gemm {
            m: m as u32,
            n: n as u32,
            k: k as u32,
            a_rs: k as u32,
            a_cs: 1,
            b_rs: n as u32,
            b_cs: 1,
            c_rs: n as u32,
            ..Gemm::default()
        }
    }
}
