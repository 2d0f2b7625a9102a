//! The JavaScript boundary: values in and out, the console, and the regex
//! engine core's conditions use in the browser.

use std::cell::RefCell;
use std::sync::Arc;

use js_sys::{Array, Object, Reflect};
use nudge_core::host::{Host, RegexMatcher};
use nudge_core::{Map, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Deeper structures are cut off: shop-supplied objects may be cyclic.
const MAX_DEPTH: u32 = 16;

/// Converts a JS value (from the shop or `JSON.parse`) into a [`Value`].
/// Functions, symbols and the like become `null`; nothing here throws.
pub fn to_value(js: &JsValue) -> Value {
    to_value_at(js, 0)
}

fn to_value_at(js: &JsValue, depth: u32) -> Value {
    if js.is_null() || js.is_undefined() || depth > MAX_DEPTH {
        return Value::Null;
    }
    if let Some(b) = js.as_bool() {
        return Value::Bool(b);
    }
    if let Some(n) = js.as_f64() {
        return if n.is_finite() {
            Value::Number(n)
        } else {
            Value::Null
        };
    }
    if let Some(s) = js.as_string() {
        return Value::String(s);
    }
    if Array::is_array(js) {
        let array: &Array = js.unchecked_ref();
        return Value::Array(
            array
                .iter()
                .map(|item| to_value_at(&item, depth + 1))
                .collect(),
        );
    }
    if js.is_object() && !js.is_function() {
        let mut map = Map::new();
        for entry in Object::entries(js.unchecked_ref()).iter() {
            let pair: Array = entry.unchecked_into();
            if let Some(key) = pair.get(0).as_string() {
                map.insert(key, to_value_at(&pair.get(1), depth + 1));
            }
        }
        return Value::Object(map);
    }
    Value::Null
}

/// Converts a [`Value`] into a plain JS value.
pub fn from_value(value: &Value) -> JsValue {
    match value {
        Value::Null => JsValue::NULL,
        Value::Bool(b) => JsValue::from_bool(*b),
        Value::Number(n) => JsValue::from_f64(*n),
        Value::String(s) => JsValue::from_str(s),
        Value::Array(items) => items.iter().map(from_value).collect::<Array>().into(),
        Value::Object(map) => {
            let object = Object::new();
            for (k, v) in map.iter() {
                let _ = Reflect::set(&object, &JsValue::from_str(k), &from_value(v));
            }
            object.into()
        }
    }
}

/// Parses JSON text; `None` for anything that is not JSON.
pub fn parse(text: &str) -> Option<Value> {
    js_sys::JSON::parse(text).ok().map(|js| to_value(&js))
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    fn console_warn(prefix: &str, message: &str);
    #[wasm_bindgen(js_namespace = console, js_name = info)]
    fn console_info(prefix: &str, message: &str);

    #[wasm_bindgen(js_name = RegExp)]
    type JsRegExp;
    #[wasm_bindgen(constructor, js_class = RegExp, catch)]
    fn new_regexp(pattern: &str, flags: &str) -> Result<JsRegExp, JsValue>;
    #[wasm_bindgen(method, js_class = RegExp)]
    fn test(this: &JsRegExp, text: &str) -> bool;

    /// `promise.then(f)` with any JS function (a once-closure frees itself when called).
    #[wasm_bindgen(js_name = Promise)]
    pub type Thenable;
    #[wasm_bindgen(method, js_name = then)]
    pub fn then_call(this: &Thenable, on_fulfilled: &JsValue) -> JsValue;
    #[wasm_bindgen(method, js_name = then)]
    pub fn then_both(this: &Thenable, on_fulfilled: &JsValue, on_rejected: &JsValue) -> JsValue;
}

pub fn warn(message: &str) {
    console_warn("[nudge]", message);
}

pub fn info(message: &str) {
    console_info("[nudge]", message);
}

thread_local! {
    /// Compiled patterns, owned here so conditions hold only an index (which
    /// is `Send + Sync`, as core's matcher trait requires).
    static PATTERNS: RefCell<Vec<JsRegExp>> = const { RefCell::new(Vec::new()) };
}

struct JsPattern(usize);

impl RegexMatcher for JsPattern {
    fn is_match(&self, haystack: &str) -> bool {
        PATTERNS.with(|p| p.borrow().get(self.0).is_some_and(|re| re.test(haystack)))
    }
}

fn compile_regex(pattern: &str, case_insensitive: bool) -> Option<Arc<dyn RegexMatcher>> {
    let re = JsRegExp::new_regexp(pattern, if case_insensitive { "i" } else { "" }).ok()?;
    let index = PATTERNS.with(|p| {
        let mut p = p.borrow_mut();
        p.push(re);
        p.len() - 1
    });
    Some(Arc::new(JsPattern(index)))
}

/// Makes core use the JS engine's own regex, number and lowercase functions:
/// exactly GrowthBook's semantics, and none of Rust's versions in the wasm.
pub fn install_host() {
    nudge_core::host::install(Host {
        compile_regex,
        number_to_string: |n| {
            js_sys::Number::from(n)
                .to_string_with_radix(10)
                .ok()
                .and_then(|s| s.as_string())
                .unwrap_or_default()
        },
        string_to_number: |s| js_sys::Number::from(JsValue::from_str(s)).value_of(),
        to_lowercase: |s| js_sys::JsString::from(s).to_lower_case().into(),
    });
}

/// Reads a property of a JS object as a string, if it is one.
pub fn get_string(object: &JsValue, key: &str) -> Option<String> {
    Reflect::get(object, &JsValue::from_str(key))
        .ok()?
        .as_string()
}

/// Reads a property of a JS object as a bool (JS truthiness of real booleans only).
pub fn get_bool(object: &JsValue, key: &str) -> Option<bool> {
    Reflect::get(object, &JsValue::from_str(key))
        .ok()?
        .as_bool()
}
