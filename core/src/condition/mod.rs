//! Targeting conditions in GrowthBook's MongoDB-style syntax.
//!
//! A condition is compiled once, when it is read, into a tree of typed tests
//! ([`Clause`], [`Test`], [`Op`]): operators are resolved, regexes compiled,
//! version strings padded and paths split. Evaluating it then walks that tree
//! against [`Attributes`] without parsing and, for the common operators,
//! without allocating.
//!
//! The semantics copy GrowthBook's `mongrule.ts` (JavaScript coercions
//! included) and are checked against its published test vectors. The engine is
//! total and fails closed: an unknown operator, a malformed argument or an
//! invalid regex makes that test false and is reported as a [`Diagnostic`],
//! never a panic.

use crate::prelude::*;

mod version;
mod wire;

use alloc::sync::Arc;

pub use self::version::padded_version;
use crate::diagnostics::{join_path, msg, path_key, Diagnostic};
use crate::host::RegexMatcher;
use crate::value::{js_lowercase, json_eq, Map, Value};

/// The attributes a condition is evaluated against: a JSON object.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attributes(Map);

impl Attributes {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        self.0.insert(key, value);
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    pub fn as_map(&self) -> &Map {
        &self.0
    }
}

impl From<Map> for Attributes {
    fn from(map: Map) -> Self {
        Self(map)
    }
}

impl<'de> serde::Deserialize<'de> for Attributes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Object(map) => Ok(Self(map)),
            other => Err(serde::de::Error::custom(format_args!(
                "attributes must be a JSON object, got {}",
                other.type_name()
            ))),
        }
    }
}

/// Saved groups: named lists of values for `$inGroup` / `$notInGroup`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SavedGroups(Vec<(String, Vec<Value>)>);

impl SavedGroups {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, name: impl Into<String>, members: Vec<Value>) {
        let name = name.into();
        self.0.retain(|(n, _)| *n != name);
        self.0.push((name, members));
    }

    /// Each group's name and members, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[Value])> {
        self.0.iter().map(|(n, m)| (n.as_str(), m.as_slice()))
    }

    fn members(&self, name: &str) -> &[Value] {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or(&[], |(_, m)| m.as_slice())
    }

    /// Reads `{"name": [values...]}`; entries that are not arrays are reported and skipped.
    pub fn from_value(value: &Value) -> (Self, Vec<Diagnostic>) {
        let mut groups = Self::new();
        let mut problems = Vec::new();
        match value {
            Value::Object(map) => {
                for (name, members) in map.iter() {
                    match members {
                        // Keys of a map are unique: no need for `insert`'s
                        // replacing scan, which would be quadratic here.
                        Value::Array(items) => groups.0.push((name.to_owned(), items.clone())),
                        other => problems.push(Diagnostic::error(
                            name,
                            msg!("a saved group must be an array, got {}", other.type_name()),
                        )),
                    }
                }
            }
            Value::Null => {}
            other => problems.push(Diagnostic::error(
                msg!(""),
                msg!("saved groups must be an object, got {}", other.type_name()),
            )),
        }
        (groups, problems)
    }
}

impl<'de> serde::Deserialize<'de> for SavedGroups {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let (groups, problems) = Self::from_value(&value);
        match problems.first() {
            Some(problem) => Err(serde::de::Error::custom(problem)),
            None => Ok(groups),
        }
    }
}

/// A compiled targeting condition.
#[derive(Clone, Debug, Default)]
pub struct Condition {
    clauses: Vec<Clause>,
    problems: Vec<Diagnostic>,
}

impl Condition {
    /// Compiles a condition; problems (unknown operators, bad regexes...) make
    /// the affected tests fail closed and are listed in [`Condition::problems`].
    pub fn compile(value: &Value) -> Self {
        let mut problems = Vec::new();
        let clauses = compile_clauses(value, "", &mut problems);
        Self { clauses, problems }
    }

    /// Whether `attributes` satisfy the condition (no saved groups).
    pub fn matches(&self, attributes: &Attributes) -> bool {
        self.matches_with_groups(attributes, &SavedGroups::default())
    }

    /// Whether `attributes` satisfy the condition, resolving `$inGroup` against `groups`.
    pub fn matches_with_groups(&self, attributes: &Attributes, groups: &SavedGroups) -> bool {
        let root = Target::Map(&attributes.0);
        eval_clauses(&self.clauses, root, groups)
    }

    /// Problems found while compiling, with paths relative to the condition.
    pub fn problems(&self) -> &[Diagnostic] {
        &self.problems
    }

    /// True for `{}`: matches everyone.
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }
}

impl<'de> serde::Deserialize<'de> for Condition {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Condition::compile(&Value::deserialize(deserializer)?))
    }
}

// ---- the compiled form ----

#[derive(Clone, Debug)]
enum Clause {
    Or(Vec<Vec<Clause>>),
    Nor(Vec<Vec<Clause>>),
    And(Vec<Vec<Clause>>),
    Not(Vec<Clause>),
    Field(Vec<String>, Test),
    /// Malformed input: never matches.
    Never,
}

/// A test of one value (GrowthBook's `evalConditionValue`).
#[derive(Clone, Debug)]
enum Test {
    Str(String),
    /// Case-insensitive string equality (inside `$alli`); stored lowercased.
    StrFolded(String),
    Num(f64),
    Bool(bool),
    Null,
    /// Arrays and plain objects compare as JSON text does.
    Json(Value),
    Ops(Vec<Op>),
}

#[derive(Clone, Debug)]
enum Op {
    Version(Cmp, String),
    Eq(Value),
    Ne(Value),
    Compare(Cmp, Value),
    Exists(bool),
    In(Vec<Value>, Fold),
    NotIn(Vec<Value>, Fold),
    InGroup(String),
    NotInGroup(String),
    Not(Box<Test>),
    Size(Box<Test>),
    ElemMatch(Box<ElemMatch>),
    All(Vec<Test>),
    Regex(Regex),
    /// A `$regex` that is plain text (`^/sale/`, `spring`): same result, no regex engine.
    Literal(Literal),
    Type(String),
    /// Unknown operator or malformed argument: never matches.
    Never,
}

/// A `$regex` compiled by the host, with its source (which the agent's
/// program carries: the agent compiles it again with the browser's RegExp).
#[derive(Clone, Debug)]
struct Regex {
    pattern: String,
    case_insensitive: bool,
    matcher: Arc<dyn RegexMatcher>,
}

impl Regex {
    fn compile(pattern: &str, case_insensitive: bool) -> Option<Regex> {
        let matcher = (crate::host::get().compile_regex)(pattern, case_insensitive)?;
        Some(Regex {
            pattern: pattern.to_owned(),
            case_insensitive,
            matcher,
        })
    }
}

/// The numbers are the agent's program format (`wire.rs`): never reorder.
#[derive(Clone, Copy, Debug)]
enum Cmp {
    Eq = 0,
    Ne = 1,
    Lt = 2,
    Lte = 3,
    Gt = 4,
    Gte = 5,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fold {
    Exact,
    CaseInsensitive,
}

#[derive(Clone, Debug)]
enum ElemMatch {
    Value(Test),
    Condition(Vec<Clause>),
}

// ---- compiling ----

fn compile_clauses(value: &Value, path: &str, problems: &mut Vec<Diagnostic>) -> Vec<Clause> {
    let Value::Object(map) = value else {
        problems.push(Diagnostic::error(
            path,
            msg!("a condition must be an object, got {}", value.type_name()),
        ));
        return vec![Clause::Never];
    };
    map.iter()
        .map(|(key, arg)| {
            let here = join_path(path, &path_key(key));
            match key {
                "$or" | "$nor" | "$and" => {
                    let Value::Array(items) = arg else {
                        problems.push(Diagnostic::error(
                            here,
                            msg!("{key} needs an array of conditions"),
                        ));
                        return Clause::Never;
                    };
                    let list = items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| compile_clauses(item, &msg!("{here}[{i}]"), problems))
                        .collect();
                    match key {
                        "$or" => Clause::Or(list),
                        "$nor" => Clause::Nor(list),
                        _ => Clause::And(list),
                    }
                }
                "$not" => Clause::Not(compile_clauses(arg, &here, problems)),
                _ => Clause::Field(
                    key.split('.').map(str::to_owned).collect(),
                    compile_test(arg, &here, Fold::Exact, problems),
                ),
            }
        })
        .collect()
}

fn is_operator_object(map: &Map) -> bool {
    !map.is_empty() && map.keys().all(|k| k.starts_with('$'))
}

fn compile_test(value: &Value, path: &str, fold: Fold, problems: &mut Vec<Diagnostic>) -> Test {
    match value {
        Value::String(s) if fold == Fold::CaseInsensitive => Test::StrFolded(js_lowercase(s)),
        Value::String(s) => Test::Str(s.clone()),
        Value::Number(n) => Test::Num(*n),
        Value::Bool(b) => Test::Bool(*b),
        Value::Null => Test::Null,
        Value::Object(map) if is_operator_object(map) => Test::Ops(
            map.iter()
                .map(|(op, arg)| compile_op(op, arg, &join_path(path, &path_key(op)), problems))
                .collect(),
        ),
        Value::Array(_) | Value::Object(_) => Test::Json(value.clone()),
    }
}

fn compile_op(op: &str, arg: &Value, path: &str, problems: &mut Vec<Diagnostic>) -> Op {
    let mut never = |message: String| {
        problems.push(Diagnostic::error(path, message));
        Op::Never
    };
    let version = |cmp| Op::Version(cmp, padded_version(arg));
    let list = |arg: &Value| arg.as_array().map(<[Value]>::to_vec);
    match op {
        "$veq" => version(Cmp::Eq),
        "$vne" => version(Cmp::Ne),
        "$vgt" => version(Cmp::Gt),
        "$vgte" => version(Cmp::Gte),
        "$vlt" => version(Cmp::Lt),
        "$vlte" => version(Cmp::Lte),
        "$eq" => Op::Eq(arg.clone()),
        "$ne" => Op::Ne(arg.clone()),
        "$lt" => Op::Compare(Cmp::Lt, arg.clone()),
        "$lte" => Op::Compare(Cmp::Lte, arg.clone()),
        "$gt" => Op::Compare(Cmp::Gt, arg.clone()),
        "$gte" => Op::Compare(Cmp::Gte, arg.clone()),
        "$exists" => Op::Exists(arg.truthy()),
        "$in" | "$ini" | "$nin" | "$nini" => {
            let Some(values) = list(arg) else {
                return never(msg!("{op} needs an array, got {}", arg.type_name()));
            };
            let fold = if op.ends_with('i') {
                Fold::CaseInsensitive
            } else {
                Fold::Exact
            };
            if op.starts_with("$in") {
                Op::In(values, fold)
            } else {
                Op::NotIn(values, fold)
            }
        }
        "$inGroup" => Op::InGroup(arg.to_js_string().into_owned()),
        "$notInGroup" => Op::NotInGroup(arg.to_js_string().into_owned()),
        "$not" => Op::Not(Box::new(compile_test(arg, path, Fold::Exact, problems))),
        "$size" => Op::Size(Box::new(compile_test(arg, path, Fold::Exact, problems))),
        "$elemMatch" => Op::ElemMatch(Box::new(match arg {
            Value::Object(map) if is_operator_object(map) => {
                ElemMatch::Value(compile_test(arg, path, Fold::Exact, problems))
            }
            _ => ElemMatch::Condition(compile_clauses(arg, path, problems)),
        })),
        "$all" | "$alli" => {
            let Some(values) = arg.as_array() else {
                return never(msg!("{op} needs an array, got {}", arg.type_name()));
            };
            let fold = if op == "$alli" {
                Fold::CaseInsensitive
            } else {
                Fold::Exact
            };
            Op::All(
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| compile_test(v, &msg!("{path}[{i}]"), fold, problems))
                    .collect(),
            )
        }
        "$regex" | "$regexi" => {
            let pattern = arg.to_js_string();
            if op == "$regex" {
                if let Some(literal) = Literal::of(&pattern) {
                    return Op::Literal(literal);
                }
            }
            match Regex::compile(&pattern, op == "$regexi") {
                Some(re) => Op::Regex(re),
                None => never(msg!("invalid regular expression \"{pattern}\"")),
            }
        }
        "$type" => Op::Type(arg.to_js_string().into_owned()),
        _ => never(msg!("unknown operator {op}")),
    }
}

/// A regular expression that is only literal text, optionally anchored with
/// `^` and `$`. Without the `m` flag JavaScript's anchors mean the start and
/// the end of the input, so these are exact text tests. Most `$regex`
/// conditions marketers write are like that (`^/collections/`), and testing
/// them here spares a call into the host's regex engine per evaluation (in
/// the agent, a string copy across the wasm boundary).
#[derive(Clone, Debug, PartialEq)]
enum Literal {
    Contains(String),
    Prefix(String),
    Suffix(String),
    Exact(String),
}

impl Literal {
    fn of(pattern: &str) -> Option<Literal> {
        let (anchored_start, rest) = match pattern.strip_prefix('^') {
            Some(rest) => (true, rest),
            None => (false, pattern),
        };
        let (anchored_end, text) = match rest.strip_suffix('$') {
            Some(text) => (true, text),
            None => (false, rest),
        };
        if text.bytes().any(|b| b"\\.^$|?*+()[]{}".contains(&b)) {
            return None;
        }
        let text = text.to_owned();
        Some(match (anchored_start, anchored_end) {
            (false, false) => Literal::Contains(text),
            (true, false) => Literal::Prefix(text),
            (false, true) => Literal::Suffix(text),
            (true, true) => Literal::Exact(text),
        })
    }

    /// A pattern of literal text around one group of literal alternatives,
    /// each part optionally anchored: `^/(category|product)/`,
    /// `(?:spring|summer)-sale`, `(^/cart|/checkout$)`. It matches exactly
    /// when one of the literal patterns it spells out does (`^/category/`,
    /// `^/product/`): the usual shape of a page rule, which the agent's
    /// program then carries as literals (no regex engine, no string copy
    /// into the browser's). `None` for anything else.
    fn alternatives(pattern: &str) -> Option<Vec<Literal>> {
        let (head, rest) = pattern.split_once('(')?;
        let (group, tail) = rest.rsplit_once(')')?;
        let group = group.strip_prefix("?:").unwrap_or(group);
        // A parenthesis or bar left in any part makes its literal refuse.
        group
            .split('|')
            .map(|choice| Literal::of(&[head, choice, tail].concat()))
            .collect()
    }

    fn matches(&self, haystack: &str) -> bool {
        match self {
            Literal::Contains(t) => crate::small::contains(haystack, t),
            Literal::Prefix(t) => haystack.starts_with(t.as_str()),
            Literal::Suffix(t) => haystack.ends_with(t.as_str()),
            Literal::Exact(t) => haystack == t,
        }
    }
}

// ---- evaluating ----

/// A value being tested: either borrowed from the attributes or a number
/// computed on the fly (`$size`), so evaluation needs no allocation.
#[derive(Clone, Copy)]
enum Target<'a> {
    Value(&'a Value),
    Map(&'a Map),
    Number(f64),
    Missing,
}

impl<'a> Target<'a> {
    fn with<R>(self, f: impl FnOnce(&Value) -> R) -> R {
        match self {
            Target::Value(v) => f(v),
            Target::Number(n) => f(&Value::Number(n)),
            Target::Missing => f(&Value::Null),
            // Only the root is a bare map and only `$elemMatch` paths reach it as
            // a whole value; cloning is acceptable on that rare path.
            Target::Map(m) => f(&Value::Object(m.clone())),
        }
    }

    fn is_null(self) -> bool {
        matches!(self, Target::Missing | Target::Value(Value::Null))
    }

    /// GrowthBook's `getPath`: missing anywhere along the way is `null`.
    fn lookup(self, path: &[String]) -> Target<'a> {
        let mut current = self;
        for part in path {
            current = match current {
                Target::Map(map) | Target::Value(Value::Object(map)) => match map.get(part) {
                    Some(v) => Target::Value(v),
                    None => return Target::Missing,
                },
                Target::Value(Value::Array(items)) => {
                    if part == "length" {
                        Target::Number(items.len() as f64)
                    } else {
                        match part.parse::<usize>().ok().and_then(|i| items.get(i)) {
                            Some(v) => Target::Value(v),
                            None => return Target::Missing,
                        }
                    }
                }
                _ => return Target::Missing,
            };
        }
        current
    }
}

fn eval_clauses(clauses: &[Clause], target: Target<'_>, groups: &SavedGroups) -> bool {
    clauses.iter().all(|clause| match clause {
        Clause::Or(list) => list.is_empty() || list.iter().any(|c| eval_clauses(c, target, groups)),
        Clause::Nor(list) => {
            !(list.is_empty() || list.iter().any(|c| eval_clauses(c, target, groups)))
        }
        Clause::And(list) => list.iter().all(|c| eval_clauses(c, target, groups)),
        Clause::Not(inner) => !eval_clauses(inner, target, groups),
        Clause::Field(path, test) => eval_test(test, target.lookup(path), groups),
        Clause::Never => false,
    })
}

fn eval_test(test: &Test, actual: Target<'_>, groups: &SavedGroups) -> bool {
    match test {
        Test::Str(s) => match actual {
            Target::Value(Value::String(a)) => a == s,
            _ => actual.with(|v| v.to_js_string() == s.as_str()),
        },
        Test::StrFolded(s) => actual.with(|v| js_lowercase(&v.to_js_string()) == *s),
        Test::Num(n) => match actual {
            Target::Value(Value::Number(a)) => a == n,
            Target::Number(a) => a == *n,
            _ => actual.with(|v| v.to_js_number() == *n),
        },
        Test::Bool(b) => !actual.is_null() && actual.with(Value::truthy) == *b,
        Test::Null => actual.is_null(),
        Test::Json(expected) => actual.with(|v| json_eq(v, expected)),
        Test::Ops(ops) => ops.iter().all(|op| eval_op(op, actual, groups)),
    }
}

fn compare(cmp: Cmp, ordering: Option<core::cmp::Ordering>) -> bool {
    use core::cmp::Ordering::*;
    match (cmp, ordering) {
        (Cmp::Eq, Some(Equal)) => true,
        (Cmp::Ne, o) => o != Some(Equal),
        (Cmp::Lt, Some(Less)) | (Cmp::Gt, Some(Greater)) => true,
        (Cmp::Lte, Some(Less | Equal)) | (Cmp::Gte, Some(Greater | Equal)) => true,
        _ => false,
    }
}

fn eval_op(op: &Op, actual: Target<'_>, groups: &SavedGroups) -> bool {
    match op {
        Op::Version(cmp, expected) => {
            let padded = actual.with(padded_version);
            compare(*cmp, Some(padded.as_str().cmp(expected.as_str())))
        }
        Op::Eq(expected) => actual.with(|v| v.js_strict_eq(expected)),
        Op::Ne(expected) => !actual.with(|v| v.js_strict_eq(expected)),
        Op::Compare(cmp, expected) => actual.with(|v| compare(*cmp, v.js_compare(expected))),
        Op::Exists(should) => actual.is_null() != *should,
        Op::In(list, fold) => actual.with(|v| is_in(v, list, *fold)),
        Op::NotIn(list, fold) => !actual.with(|v| is_in(v, list, *fold)),
        Op::InGroup(name) => actual.with(|v| is_in(v, groups.members(name), Fold::Exact)),
        Op::NotInGroup(name) => !actual.with(|v| is_in(v, groups.members(name), Fold::Exact)),
        Op::Not(test) => !eval_test(test, actual, groups),
        Op::Size(test) => match actual {
            Target::Value(Value::Array(items)) => {
                eval_test(test, Target::Number(items.len() as f64), groups)
            }
            _ => false,
        },
        Op::ElemMatch(matcher) => {
            match actual {
                Target::Value(Value::Array(items)) => items
                    .iter()
                    .filter(|item| item.truthy())
                    .any(|item| match &**matcher {
                        ElemMatch::Value(test) => eval_test(test, Target::Value(item), groups),
                        ElemMatch::Condition(clauses) => {
                            eval_clauses(clauses, Target::Value(item), groups)
                        }
                    }),
                _ => false,
            }
        }
        Op::All(tests) => match actual {
            Target::Value(Value::Array(items)) => tests.iter().all(|test| {
                items
                    .iter()
                    .any(|item| eval_test(test, Target::Value(item), groups))
            }),
            _ => false,
        },
        Op::Regex(re) => actual.with(|v| re.matcher.is_match(&v.to_js_string())),
        Op::Literal(literal) => actual.with(|v| literal.matches(&v.to_js_string())),
        Op::Type(name) => actual.with(|v| v.type_name() == name),
        Op::Never => false,
    }
}

/// GrowthBook's `isIn`: membership, or intersection when the attribute is an array.
fn is_in(actual: &Value, list: &[Value], fold: Fold) -> bool {
    let same = |a: &Value, b: &Value| match (fold, a, b) {
        (Fold::CaseInsensitive, Value::String(x), Value::String(y)) => {
            js_lowercase(x) == js_lowercase(y)
        }
        _ => a.js_strict_eq(b),
    };
    match actual {
        Value::Array(items) => items.iter().any(|item| list.iter().any(|e| same(item, e))),
        _ => list.iter().any(|e| same(actual, e)),
    }
}

#[cfg(all(test, feature = "native"))]
mod tests {
    use super::Literal;

    /// Plain-text patterns give the regex engine's answer for every haystack;
    /// anything with a metacharacter is left to the engine.
    #[test]
    fn literal_patterns_agree_with_the_regex_engine() {
        let patterns = [
            "", "^", "$", "^$", "sale", "^/sale/", "/shoes$", "^exact$", "ünï", "a\\$", "^/(a|b)/",
            "x.y", "a+", "[a]",
        ];
        let haystacks = [
            "",
            "/sale/shoes",
            "exact",
            "exactly",
            "a$",
            "xzy",
            "sale",
            "/a/",
            "ünïcode",
        ];
        let mut literal = 0;
        for pattern in patterns {
            let Some(fast) = Literal::of(pattern) else {
                continue;
            };
            literal += 1;
            let engine = regex_lite::Regex::new(pattern).unwrap();
            for haystack in haystacks {
                assert_eq!(
                    fast.matches(haystack),
                    engine.is_match(haystack),
                    "{pattern:?} on {haystack:?}"
                );
            }
        }
        assert_eq!(literal, 9, "the last five patterns need the engine");
    }

    /// Patterns of literal alternatives give the regex engine's answer for
    /// every haystack; any other group is left to the engine.
    #[test]
    fn alternatives_agree_with_the_regex_engine() {
        let spelled_out = [
            "^/(category|product)/",
            "(?:spring|summer)-sale",
            "(^/cart|/checkout$)",
            "^(a|)$",
            "x(a|b|c)",
            "()",
            "^/(ünï|sale)$",
        ];
        let left_to_the_engine = [
            "a|(b|c)",
            "((a|b))",
            "(a)(b)",
            "x(^a|b)",
            "(a$|b)c",
            "(?=a)",
            "(?i:a|b)",
            "\\\\(a|b)",
            "(a.b|c)",
            "(a|b",
            ")a|b(",
            "a+(b|c)",
        ];
        let haystacks = [
            "",
            "/category/shoes",
            "/product/p-4",
            "/products/",
            "spring-sale",
            "summer-sales",
            "autumn-sale",
            "/cart",
            "/cart/x",
            "/x/checkout",
            "a",
            "xa",
            "xc",
            "x",
            "ab",
            "/ünï",
            "/sale",
        ];
        for pattern in spelled_out {
            let any = Literal::alternatives(pattern)
                .unwrap_or_else(|| panic!("{pattern:?} is literal alternatives"));
            let engine = regex_lite::Regex::new(pattern).unwrap();
            for haystack in haystacks {
                assert_eq!(
                    any.iter().any(|literal| literal.matches(haystack)),
                    engine.is_match(haystack),
                    "{pattern:?} on {haystack:?}"
                );
            }
        }
        for pattern in left_to_the_engine {
            assert_eq!(Literal::alternatives(pattern), None, "{pattern:?}");
        }
    }
}
