//! A stopwatch that works natively and in the browser, where `std::time::Instant` panics.
//! In the browser it reads `performance.now()` (microsecond-ish resolution, in a
//! window and in a worker alike), not `Date.now()`, whose whole milliseconds are
//! too coarse for one step's parts.

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

#[derive(Debug, Clone, Copy)]
pub struct Stopwatch {
    #[cfg(not(target_arch = "wasm32"))]
    start: std::time::Instant,
    #[cfg(target_arch = "wasm32")]
    start_ms: f64,
}

impl Stopwatch {
    pub fn start() -> Stopwatch {
        Stopwatch {
            #[cfg(not(target_arch = "wasm32"))]
            start: std::time::Instant::now(),
            #[cfg(target_arch = "wasm32")]
            start_ms: performance_now(),
        }
    }

    pub fn seconds(&self) -> f64 {
        #[cfg(not(target_arch = "wasm32"))]
        return self.start.elapsed().as_secs_f64();
        #[cfg(target_arch = "wasm32")]
        return (performance_now() - self.start_ms) / 1000.0;
    }
}

/// Seconds spent in each part of training, accumulated over steps.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Timings {
    pub forward_backward: f64,
    pub metric_update: f64,
    pub inverse: f64,
    pub precondition: f64,
    /// Everything else an optimizer step does (moments, momentum, the update itself).
    pub update: f64,
}

impl Timings {
    /// The time spent between an earlier reading and this one.
    pub fn minus(&self, earlier: &Timings) -> Timings {
        Timings {
            forward_backward: self.forward_backward - earlier.forward_backward,
            metric_update: self.metric_update - earlier.metric_update,
            inverse: self.inverse - earlier.inverse,
            precondition: self.precondition - earlier.precondition,
            update: self.update - earlier.update,
        }
    }
}
