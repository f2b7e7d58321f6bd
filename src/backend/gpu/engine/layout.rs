//! Where each parameter lives in the parameter arena.
//!
//! Every trainable parameter sits in one buffer, in [`Mlp::params`] order
//! (the weight matrices, then each batch norm's scale and shift), and the
//! gradients, Adam's moments, momentum and RNGD's preconditioned updates use
//! buffers of the same layout. So the optimizer's last stage is one dispatch
//! over the whole arena, whatever the network's depth.

use crate::model::Mlp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arena {
    /// Offset and length, in f32s, of each parameter.
    pub slots: Vec<(usize, usize)>,
    /// Weight layers: the first `layers` slots.
    pub layers: usize,
    pub total: usize,
}

impl Arena {
    pub fn of(net: &Mlp<f32>) -> Arena {
        let mut slots = Vec::new();
        let mut at = 0;
        for p in net.params() {
            slots.push((at, p.len()));
            at += p.len();
        }
        Arena { slots, layers: net.layers(), total: at }
    }

    pub fn weight_offset(&self, l: usize) -> usize {
        self.slots[l].0
    }

    /// Where the weight layers end: RNGD preconditions everything before it.
    pub fn weights_end(&self) -> usize {
        self.slots.get(self.layers).map_or(self.total, |s| s.0)
    }

    /// Offsets of batch norm `j`'s scale and shift.
    pub fn bn_offsets(&self, j: usize) -> (usize, usize) {
        (self.slots[self.layers + 2 * j].0, self.slots[self.layers + 2 * j + 1].0)
    }

    /// Copies the network's parameters into one arena-shaped vector.
    pub fn gather(&self, net: &Mlp<f32>) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.total);
        for p in net.params() {
            out.extend(p.iter());
        }
        out
    }

    /// Writes an arena-shaped vector back into the network's parameters.
    pub fn scatter(&self, values: &[f32], net: &mut Mlp<f32>) {
        for (p, &(off, len)) in net.params_mut().into_iter().zip(&self.slots) {
            p.as_slice_mut().expect("parameters are contiguous").copy_from_slice(&values[off..off + len]);
        }
    }
}

impl Arena {
    /// Writes an arena-shaped vector into arrays shaped like the parameters
    /// (Adam's moments, momentum's velocity).
    pub fn scatter_arrays(&self, values: &[f32], arrays: &mut [ndarray::Array2<f32>]) {
        for (a, &(off, len)) in arrays.iter_mut().zip(&self.slots) {
            a.as_slice_mut().expect("state arrays are contiguous").copy_from_slice(&values[off..off + len]);
        }
    }
}
