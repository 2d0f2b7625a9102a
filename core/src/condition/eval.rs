//! Evaluating a compiled condition against attributes: GrowthBook's
//! `evalCondition`, JavaScript's coercions included, without parsing and,
//! for the common operators, without allocating.

use super::*;

/// A value being tested: either borrowed from the attributes or a number
/// computed on the fly (`$size`), so evaluation needs no allocation.
#[derive(Clone, Copy)]
pub(super) enum Target<'a> {
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

pub(super) fn eval_clauses(clauses: &[Clause], target: Target<'_>, groups: &SavedGroups) -> bool {
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

pub(super) fn eval_test(test: &Test, actual: Target<'_>, groups: &SavedGroups) -> bool {
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

pub(super) fn compare(cmp: Cmp, ordering: Option<core::cmp::Ordering>) -> bool {
    use core::cmp::Ordering::*;
    match (cmp, ordering) {
        (Cmp::Eq, Some(Equal)) => true,
        (Cmp::Ne, o) => o != Some(Equal),
        (Cmp::Lt, Some(Less)) | (Cmp::Gt, Some(Greater)) => true,
        (Cmp::Lte, Some(Less | Equal)) | (Cmp::Gte, Some(Greater | Equal)) => true,
        _ => false,
    }
}

pub(super) fn eval_op(op: &Op, actual: Target<'_>, groups: &SavedGroups) -> bool {
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
pub(super) fn is_in(actual: &Value, list: &[Value], fold: Fold) -> bool {
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
