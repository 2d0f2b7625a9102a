//! The JavaScript boundary: values in and out, the console, and the regex
//! engine core's conditions use in the browser.

use crate::prelude::*;
use alloc::sync::Arc;

use js_sys::{Array, Object, Reflect};
use nudge_core::host::{Host, RegexMatcher};
use nudge_core::limits::{MAX_ARRAY_ITEMS, MAX_DEPTH, MAX_EVENT_NODES, MAX_KEYS, MAX_NODES};
use nudge_core::{Map, Value};

use crate::local::PageLocal;
use wasm_bindgen::prelude::*;

/// How far [`Reader`] reads a JS value before it stops.
#[derive(Clone, Copy)]
enum Bounds {
    /// Shop objects and stored or fetched text: cut at the limits. Past the
    /// node budget (which also ends cycles) values are dropped; deeper ones
    /// become `null`; strings are truncated on a character boundary.
    Cut { nodes: usize },
    /// A config: read one step past each limit, so `limits::check` finds
    /// and names whatever went over, and the config is refused.
    Check,
}

/// Converts a JS value into a [`Value`] within [`Bounds`]. Nothing here
/// throws: getters and proxy traps that throw read as `null`.
struct Reader {
    nodes_left: usize,
    slack: usize,
    truncate: bool,
}

impl Reader {
    fn new(bounds: Bounds) -> Reader {
        match bounds {
            Bounds::Cut { nodes } => Reader {
                nodes_left: nodes,
                slack: 0,
                truncate: true,
            },
            Bounds::Check => Reader {
                nodes_left: MAX_NODES + 1,
                slack: 1,
                truncate: false,
            },
        }
    }

    /// Takes one value from the budget; `false` once it is spent.
    fn take(&mut self) -> bool {
        let left = self.nodes_left > 0;
        self.nodes_left = self.nodes_left.saturating_sub(1);
        left
    }

    fn text(&self, mut s: String) -> String {
        if self.truncate {
            nudge_core::limits::cut_text(&mut s);
        }
        s
    }

    /// Reads a value whose node was already taken, at `depth`.
    fn read(&mut self, js: &JsValue, depth: usize) -> Value {
        if depth > MAX_DEPTH + self.slack || js.is_null() || js.is_undefined() {
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
            return Value::String(self.text(s));
        }
        if !js.is_object() {
            return Value::Null; // functions, symbols, bigints
        }
        // A container's members take their nodes before any of them is read,
        // so a cycle or a huge first member cannot crowd out the later ones:
        // past the budget, the deepest values go first.
        if is_array(js).unwrap_or(false) {
            let length = Reflect::get(js, &JsValue::from_str("length"))
                .ok()
                .and_then(|n| n.as_f64())
                .unwrap_or(0.0);
            let count = (length.max(0.0) as usize).min(MAX_ARRAY_ITEMS + self.slack);
            let mut items = Vec::new();
            for i in 0..count as u32 {
                if !self.take() {
                    break;
                }
                items.push(Reflect::get_u32(js, i).unwrap_or(JsValue::NULL));
            }
            let mut values = Vec::with_capacity(items.len());
            for item in &items {
                values.push(self.read(item, depth + 1));
            }
            return Value::Array(values);
        }
        let mut members = Vec::new();
        let keys = object_keys(js).unwrap_or_default();
        for key in keys.iter().take(MAX_KEYS + self.slack) {
            let Some(name) = key.as_string() else {
                continue;
            };
            if !self.take() {
                break;
            }
            members.push((name, Reflect::get(js, &key).unwrap_or(JsValue::NULL)));
        }
        let mut map = Map::new();
        for (name, item) in members {
            let item = self.read(&item, depth + 1);
            map.insert(self.text(name), item);
        }
        Value::Object(map)
    }
}

fn read(js: &JsValue, bounds: Bounds) -> Value {
    let mut reader = Reader::new(bounds);
    reader.take();
    reader.read(js, 0)
}

/// Converts a JS value from the shop (`nudge.track(name, props)` ...) into a
/// [`Value`], at most [`MAX_EVENT_NODES`] values of it, cycles included.
/// Functions, symbols and the like become `null`; nothing here throws.
pub fn to_value(js: &JsValue) -> Value {
    read(
        js,
        Bounds::Cut {
            nodes: MAX_EVENT_NODES,
        },
    )
}

/// Reads a config the page already parsed (the studio's editor): refused,
/// with the bound it goes past named, when it is over the limits the edge enforces.
pub fn config_from_js(js: &JsValue) -> Result<Value, String> {
    let value = read(js, Bounds::Check);
    nudge_core::bounds::check(&value)?;
    Ok(value)
}

/// Parses JSON text that carries a config in `member` (the edge's preview
/// answer): the config read as [`config_from_js`] reads one, the rest as
/// [`parse`] does (without the config).
pub fn parse_with_config(text: &str, member: &str) -> Result<(Value, Value), String> {
    let js = js_sys::JSON::parse(text).map_err(|_| "not JSON".to_owned())?;
    if !js.is_object() {
        return Err("not a JSON object".into());
    }
    let key = JsValue::from_str(member);
    let config = config_from_js(&Reflect::get(&js, &key).unwrap_or(JsValue::NULL))?;
    let _ = Reflect::delete_property(js.unchecked_ref::<Object>(), &key);
    Ok((read(&js, Bounds::Cut { nodes: MAX_NODES }), config))
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

/// Parses JSON text (storage, the edge's answers), cut at the document
/// limits as a shop's object is; `None` for anything that is not JSON. The
/// browser's own `JSON.parse` reads it, so the shops' wasm carries no JSON
/// reader (about 2 KB gzip); these texts are small (a profile, an answer),
/// and the config, the one large document, comes as a binary program.
pub fn parse(text: &str) -> Option<Value> {
    if text.is_empty() {
        return None;
    }
    let js = js_sys::JSON::parse(text).ok()?;
    Some(read(&js, Bounds::Cut { nodes: MAX_NODES }))
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    fn console_warn(prefix: &str, message: &str);
    #[wasm_bindgen(js_namespace = console, js_name = info)]
    fn console_info(prefix: &str, message: &str);

    // Both run shop code (a proxy's traps) and so may throw: caught here.
    #[wasm_bindgen(js_namespace = Array, js_name = isArray, catch)]
    fn is_array(value: &JsValue) -> Result<bool, JsValue>;
    #[wasm_bindgen(js_namespace = Object, js_name = keys, catch)]
    fn object_keys(value: &JsValue) -> Result<Array, JsValue>;

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

/// Compiled patterns, owned here so conditions hold only an index (which
/// is `Send + Sync`, as core's matcher trait requires).
static PATTERNS: PageLocal<Vec<JsRegExp>> = PageLocal::new(Vec::new());

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

/// The loader's `post` resolves to `[status, body text]` (status 0 on a
/// network error); anything else reads as a network error.
pub fn answer_of(resolved: &JsValue) -> (u16, String) {
    if !js_sys::Array::is_array(resolved) {
        return (0, String::new());
    }
    let pair: &js_sys::Array = resolved.unchecked_ref();
    let status = pair.get(0).as_f64().unwrap_or(0.0) as u16;
    (status, pair.get(1).as_string().unwrap_or_default())
}

/// Calls a JS function, swallowing anything it throws.
pub fn call_quietly(function: &js_sys::Function, args: &[JsValue]) -> Option<JsValue> {
    let array: js_sys::Array = args.iter().collect();
    function.apply(&JsValue::NULL, &array).ok()
}
