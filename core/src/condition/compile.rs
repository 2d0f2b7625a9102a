//! Compiling a condition: its JSON read once into typed clauses and tests,
//! operators resolved, regexes compiled (or kept as literal text), versions
//! padded; every problem a [`Diagnostic`] with its path.

use super::*;

pub(super) fn compile_clauses(
    value: &Value,
    path: &str,
    problems: &mut Vec<Diagnostic>,
) -> Vec<Clause> {
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

pub(super) fn is_operator_object(map: &Map) -> bool {
    !map.is_empty() && map.keys().all(|k| k.starts_with('$'))
}

pub(super) fn compile_test(
    value: &Value,
    path: &str,
    fold: Fold,
    problems: &mut Vec<Diagnostic>,
) -> Test {
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

pub(super) fn compile_op(op: &str, arg: &Value, path: &str, problems: &mut Vec<Diagnostic>) -> Op {
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
