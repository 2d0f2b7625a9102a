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

mod compile;
mod eval;
mod literal;
mod version;
mod wire;

use self::compile::*;
use self::eval::*;
use self::literal::Literal;

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
