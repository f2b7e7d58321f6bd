//! Two backends for the per-neuron metric work: the CPU reference (ndarray)
//! and the wgpu compute kernels, which must agree with it within stated tolerances.

pub mod cpu;
pub mod gpu;
pub mod parity;
pub mod selftest;
