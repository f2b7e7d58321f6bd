//! Reading a lesson's parameters from the page's JSON, with messages that name
//! the field: the page shows them next to the lesson's controls.

use serde_json::{Map, Value};

/// A lesson's parameters: a JSON object (or null, for every default).
pub struct Params<'a> {
    map: Option<&'a Map<String, Value>>,
}

impl<'a> Params<'a> {
    /// Accepts an object or null; refuses anything else and, to catch typos,
    /// any field not in `known`.
    pub fn new(value: &'a Value, known: &[&str]) -> Result<Self, String> {
        let map = match value {
            Value::Null => None,
            Value::Object(m) => Some(m),
            other => return Err(format!("parameters must be an object, got {other}")),
        };
        if let Some(m) = map {
            if let Some(k) = m.keys().find(|k| !known.contains(&k.as_str())) {
                return Err(format!("unknown parameter {k:?}; expected one of {}", known.join(", ")));
            }
        }
        Ok(Params { map })
    }

    fn get(&self, field: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(field)).filter(|v| !v.is_null())
    }

    /// A number in [lo, hi], or `default` when absent.
    pub fn f64_in(&self, field: &str, default: f64, lo: f64, hi: f64) -> Result<f64, String> {
        let Some(v) = self.get(field) else { return Ok(default) };
        let x = v.as_f64().ok_or_else(|| format!("{field} must be a number, got {v}"))?;
        if !(x.is_finite() && lo <= x && x <= hi) {
            return Err(format!("{field} must be between {lo} and {hi}, got {x}"));
        }
        Ok(x)
    }

    /// A number in (0, hi]: step sizes, widths, scales.
    pub fn positive(&self, field: &str, default: f64, hi: f64) -> Result<f64, String> {
        let x = self.f64_in(field, default, f64::MIN_POSITIVE, hi).map_err(|_| {
            format!("{field} must be a positive number no larger than {hi}, got {}", self.get(field).unwrap())
        })?;
        Ok(x)
    }

    /// A whole number in [lo, hi], or `default` when absent.
    pub fn usize_in(&self, field: &str, default: usize, lo: usize, hi: usize) -> Result<usize, String> {
        let Some(v) = self.get(field) else { return Ok(default) };
        // Compared as f64 before any cast: `1e300 as u64` would saturate and
        // report a number the user never gave.
        let x = v
            .as_u64()
            .map(|n| n as f64)
            .or_else(|| v.as_f64().filter(|x| x.fract() == 0.0))
            .ok_or_else(|| format!("{field} must be a whole number, got {v}"))?;
        if x < lo as f64 || x > hi as f64 {
            return Err(format!("{field} must be between {lo} and {hi}, got {v}"));
        }
        Ok(x as usize)
    }

    /// One of `choices`, or `default` when absent.
    pub fn choice(&self, field: &str, default: &'static str, choices: &[&'static str]) -> Result<&'static str, String> {
        let Some(v) = self.get(field) else { return Ok(default) };
        let s = v.as_str().ok_or_else(|| format!("{field} must be a string, got {v}"))?;
        choices
            .iter()
            .find(|c| **c == s)
            .copied()
            .ok_or_else(|| format!("{field} must be one of {}, got {s:?}", choices.join(", ")))
    }

    /// A number or a list of numbers as a vector of `len` finite values, or `default`.
    pub fn vector(&self, field: &str, default: &[f64], len: usize) -> Result<Vec<f64>, String> {
        let Some(v) = self.get(field) else { return Ok(default.to_vec()) };
        let list = v.as_array().ok_or_else(|| format!("{field} must be a list of {len} numbers, got {v}"))?;
        if list.len() != len {
            return Err(format!("{field} must hold {len} numbers, got {}", list.len()));
        }
        list.iter()
            .map(|x| x.as_f64().filter(|x| x.is_finite()).ok_or_else(|| format!("{field} must hold numbers, got {x}")))
            .collect()
    }

    /// A boolean, or `default` when absent.
    pub fn flag(&self, field: &str, default: bool) -> Result<bool, String> {
        let Some(v) = self.get(field) else { return Ok(default) };
        v.as_bool().ok_or_else(|| format!("{field} must be true or false, got {v}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn messages_name_the_field() {
        let v = json!({"eta": -1, "steps": 2.5, "kind": "x"});
        let p = Params::new(&v, &["eta", "steps", "kind"]).unwrap();
        assert!(p.positive("eta", 0.1, 1.0).unwrap_err().starts_with("eta must be a positive"));
        assert!(p.usize_in("steps", 5, 1, 10).unwrap_err().starts_with("steps must be a whole number"));
        assert!(p.choice("kind", "a", &["a", "b"]).unwrap_err().starts_with("kind must be one of a, b"));
        assert_eq!(p.f64_in("missing", 3.0, 0.0, 5.0).unwrap(), 3.0);
        let e = Params::new(&json!({"etta": 1}), &["eta"]).err().unwrap();
        assert!(e.contains("\"etta\""), "{e}");
        assert!(Params::new(&json!([1]), &[]).is_err());
        // The number given, not a saturated cast of it.
        let v = json!({"steps": 1e300, "n": -3});
        let p = Params::new(&v, &["steps", "n"]).unwrap();
        assert_eq!(p.usize_in("steps", 5, 1, 10).unwrap_err(), "steps must be between 1 and 10, got 1e+300");
        assert_eq!(p.usize_in("n", 5, 1, 10).unwrap_err(), "n must be between 1 and 10, got -3");
    }
}
