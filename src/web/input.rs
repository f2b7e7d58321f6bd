//! Values from JavaScript, checked before Rust uses them.
//!
//! wasm-bindgen's own conversions are silent where the page needs a message:
//! a `u32` argument wraps (`step(-1)` is 4294967295 steps, `step(NaN)` is 0),
//! and `JSON.stringify` turns NaN and ±Infinity into `null` (a default) and
//! drops functions. So the API takes counts as `JsValue` and reads them with
//! [`count`], and reads configs and lesson parameters with [`json_of`], which
//! walks the value and refuses, by the path of the member, anything JSON would
//! change or lose:
//!
//! - numbers must be finite (NaN, Infinity and -Infinity are refused);
//! - functions, symbols, BigInts, class instances (a Date, a Map, a typed
//!   array, a boxed Number, …) are refused with what was given;
//! - an `undefined` member of an object is absent, as in JSON (the default
//!   applies), but an `undefined` element of an array (a hole included) is
//!   refused: JSON would make it `null`;
//! - strings must be well-formed UTF-16 (no lone surrogates);
//! - nesting deeper than [`MAX_DEPTH`] (a cycle, say) is refused.

use js_sys::{Array, BigInt, JsString, Object, Reflect};
use serde_json::{Map, Number, Value};
use wasm_bindgen::{JsCast, JsValue};

/// The deepest nesting a config or lesson's parameters may have.
pub(crate) const MAX_DEPTH: usize = 16;

/// A value refused at `field` (its path in the object: `lr`, `rngd.lambda`, `hidden[2]`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Refused {
    pub field: String,
    pub message: String,
}

/// A number as JavaScript writes it: `NaN`, `Infinity`, `-1`, `1.5`, `1e+300`.
pub(crate) fn number_text(x: f64) -> String {
    js_sys::Number::from(x).to_string_with_radix(10).map(String::from).unwrap_or_else(|_| x.to_string())
}

/// What a JS value is, in words: `NaN`, `the string "0.1"`, `a function`, `the BigInt 5n`, `a Map`.
pub(crate) fn describe(v: &JsValue) -> String {
    if let Some(x) = v.as_f64() {
        return number_text(x);
    }
    if let Some(s) = v.as_string() {
        const MAX: usize = 40;
        return if s.chars().count() > MAX {
            format!("the string {:?}…", s.chars().take(MAX).collect::<String>())
        } else {
            format!("the string {s:?}")
        };
    }
    if let Some(b) = v.as_bool() {
        return b.to_string();
    }
    if v.is_undefined() {
        return "undefined".into();
    }
    if v.is_null() {
        return "null".into();
    }
    if v.is_function() {
        return "a function".into();
    }
    if v.is_symbol() {
        return "a symbol".into();
    }
    if v.is_bigint() {
        let text = v.unchecked_ref::<BigInt>().to_string(10).map(String::from).unwrap_or_default();
        return format!("the BigInt {text}n");
    }
    if Array::is_array(v) {
        return "an array".into();
    }
    match class_name(v) {
        None => "an object".into(),
        Some(name) => format!("{} {name}", if name.starts_with(['A', 'E', 'I', 'O']) { "an" } else { "a" }),
    }
}

/// The class of an object that is not a plain one (`Date`, `Map`, `Float32Array`); None for a plain object.
fn class_name(v: &JsValue) -> Option<String> {
    let object: &Object = v.dyn_ref()?;
    let proto = Object::get_prototype_of(object);
    let object_prototype: JsValue = Object::get_prototype_of(&Object::new()).into();
    if proto.is_null() || *proto == object_prototype {
        return None;
    }
    let name = Reflect::get(&proto, &"constructor".into())
        .and_then(|c| Reflect::get(&c, &"name".into()))
        .ok()
        .and_then(|n| n.as_string())
        .filter(|n| !n.is_empty());
    Some(name.unwrap_or_else(|| "object of a class".into()))
}

/// A plain object: `{…}` or `Object.create(null)`, not an array, function or class instance.
pub(crate) fn is_plain_object(v: &JsValue) -> bool {
    v.is_object() && !Array::is_array(v) && class_name(v).is_none()
}

/// `field` within `path` ("" at the top).
fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

fn refused(field: &str, message: String) -> Refused {
    Refused { field: field.to_string(), message }
}

/// A JS number as JSON would carry it: whole numbers as integers (so that
/// `80` reads as a width), others as floats. `x` is finite.
fn json_number(x: f64) -> Number {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if x.fract() == 0.0 && x >= 0.0 && x < 2.0 * TWO_63 {
        Number::from(x as u64)
    } else if x.fract() == 0.0 && (-TWO_63..0.0).contains(&x) {
        Number::from(x as i64)
    } else {
        Number::from_f64(x).expect("a finite number")
    }
}

/// `v` as JSON, refusing by its path (`path`, "" at the top) whatever JSON
/// would change or lose (see the module's documentation).
pub(crate) fn json_of(v: &JsValue, path: &str) -> Result<Value, Refused> {
    walk(v, path, 0)
}

fn walk(v: &JsValue, path: &str, depth: usize) -> Result<Value, Refused> {
    if let Some(x) = v.as_f64() {
        if !x.is_finite() {
            return Err(refused(path, format!("{path} must be a finite number, got {}", number_text(x))));
        }
        return Ok(Value::Number(json_number(x)));
    }
    if let Some(b) = v.as_bool() {
        return Ok(Value::Bool(b));
    }
    if v.is_null() {
        return Ok(Value::Null);
    }
    if let Some(s) = v.dyn_ref::<JsString>() {
        if !s.is_valid_utf16() {
            return Err(refused(path, format!("{path} must be valid text, got a string with a lone surrogate")));
        }
        return Ok(Value::String(s.into()));
    }
    let plain = is_plain_object(v);
    if (plain || Array::is_array(v)) && depth >= MAX_DEPTH {
        return Err(refused(path, format!("{path} is nested more than {MAX_DEPTH} levels deep (a cycle?)")));
    }
    if Array::is_array(v) {
        let items: &Array = v.unchecked_ref();
        // No capacity from `length`: `new Array(1e9)` is a hole, refused at [0], not 32 GB.
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{path}[{i}]");
            if item.is_undefined() {
                return Err(refused(&at, format!("{at} must be a value, got undefined (JSON would make it null)")));
            }
            out.push(walk(&item, &at, depth + 1)?);
        }
        return Ok(Value::Array(out));
    }
    if plain {
        let object: &Object = v.unchecked_ref();
        let mut out = Map::new();
        for key in Object::keys(object).iter() {
            let key = key.as_string().unwrap_or_default();
            let at = join(path, &key);
            let member = Reflect::get(object, &JsValue::from_str(&key))
                .map_err(|_| refused(&at, format!("{at} cannot be read (its getter throws)")))?;
            if member.is_undefined() {
                continue; // absent, as in JSON: the default applies
            }
            out.insert(key, walk(&member, &at, depth + 1)?);
        }
        return Ok(Value::Object(out));
    }
    Err(refused(
        path,
        format!("{path} must be a number, string, boolean, null, array or plain object, got {}", describe(v)),
    ))
}

/// The largest count a `usize` argument takes (wasm32's `usize` is 32 bits).
pub(crate) const MAX_COUNT: u64 = u32::MAX as u64;

/// A count from JS: a whole number in `0..=max`. `what` names the argument in
/// the message ("Trainer.step: n"). Strings, NaN, ±Infinity, negative and
/// fractional numbers and values above `max` are refused; nothing wraps.
pub(crate) fn count(v: &JsValue, what: &str, max: u64) -> Result<u64, String> {
    let Some(x) = v.as_f64() else {
        return Err(format!("{what} must be a whole number, got {}", describe(v)));
    };
    if !x.is_finite() || x < 0.0 || x.fract() != 0.0 || x > max as f64 {
        return Err(format!("{what} must be a whole number from 0 to {max}, got {}", number_text(x)));
    }
    Ok(x as u64)
}

/// [`count`] for a `usize` argument.
pub(crate) fn count_usize(v: &JsValue, what: &str) -> Result<usize, String> {
    count(v, what, MAX_COUNT).map(|n| n as usize)
}
