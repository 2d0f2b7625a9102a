//! A compiled condition in the agent's program (`crate::program`): the
//! evaluation form ([`Clause`], [`Test`], [`Op`]) written tag by tag, and read
//! back into the same form, so the agent evaluates exactly what the edge
//! compiled. Compile problems are not written (they are the studio's, and a
//! config with errors is never published); what they made fail closed is
//! written as `Never`.

use super::{Clause, Cmp, Condition, ElemMatch, Fold, Literal, Op, Regex, Test};
use crate::prelude::*;
use crate::program::wire::{Reader, Writer};
use crate::program::Malformed;

// Clause tags.
const OR: u8 = 0;
const NOR: u8 = 1;
const AND: u8 = 2;
const NOT: u8 = 3;
const FIELD: u8 = 4;
const NEVER: u8 = 5;

// Test tags.
const STR: u8 = 0;
const STR_FOLDED: u8 = 1;
const NUM: u8 = 2;
const BOOL: u8 = 3;
const NULL: u8 = 4;
const JSON: u8 = 5;
const OPS: u8 = 6;

// Operator tags.
const OP_VERSION: u8 = 0;
const OP_EQ: u8 = 1;
const OP_NE: u8 = 2;
const OP_COMPARE: u8 = 3;
const OP_EXISTS: u8 = 4;
const OP_IN: u8 = 5;
const OP_NOT_IN: u8 = 6;
const OP_IN_GROUP: u8 = 7;
const OP_NOT_IN_GROUP: u8 = 8;
const OP_NOT: u8 = 9;
const OP_SIZE: u8 = 10;
const OP_ELEM_MATCH_VALUE: u8 = 11;
const OP_ELEM_MATCH_CONDITION: u8 = 12;
const OP_ALL: u8 = 13;
const OP_REGEX: u8 = 14;
const OP_LITERAL: u8 = 15;
const OP_TYPE: u8 = 16;
const OP_NEVER: u8 = 17;

impl Condition {
    pub(crate) fn write_program(&self, out: &mut Writer) {
        write_clauses(&self.clauses, out, Spell::AsWritten);
    }

    /// The program with a field's `$regex` of literal alternatives written
    /// as an `$or` of literal tests (`^/(a|b)/` as `^/a/` or `^/b/`): the
    /// same answers, and the agent needs no regex engine for it. Format 2
    /// on (format 1 stays as it was written).
    pub(crate) fn write_program_spelled_out(&self, out: &mut Writer) {
        write_clauses(&self.clauses, out, Spell::Out);
    }

    pub(crate) fn read_program(input: &mut Reader<'_>) -> Result<Condition, Malformed> {
        Ok(Condition {
            clauses: read_clauses(input)?,
            problems: Vec::new(),
        })
    }
}

/// Whether a `$regex` of literal alternatives is written as such.
#[derive(Clone, Copy, PartialEq)]
enum Spell {
    AsWritten,
    Out,
}

fn write_clauses(clauses: &[Clause], out: &mut Writer, spell: Spell) {
    out.count(clauses.len());
    for clause in clauses {
        let spelled = match spell {
            Spell::Out => spelled_out(clause),
            Spell::AsWritten => None,
        };
        write_clause(spelled.as_ref().unwrap_or(clause), out, spell);
    }
}

fn write_clause(clause: &Clause, out: &mut Writer, spell: Spell) {
    match clause {
        Clause::Or(lists) | Clause::Nor(lists) | Clause::And(lists) => {
            out.byte(match clause {
                Clause::Or(_) => OR,
                Clause::Nor(_) => NOR,
                _ => AND,
            });
            out.count(lists.len());
            for list in lists {
                write_clauses(list, out, spell);
            }
        }
        Clause::Not(inner) => {
            out.byte(NOT);
            write_clauses(inner, out, spell);
        }
        Clause::Field(path, test) => {
            out.byte(FIELD);
            out.count(path.len());
            for part in path {
                out.text(part);
            }
            write_test(test, out);
        }
        Clause::Never => out.byte(NEVER),
    }
}

/// A field whose only test is a case-sensitive `$regex` of two or more
/// literal alternatives, as an `$or` of the literal tests it spells out
/// (one level deeper: far inside the program's nesting bound).
fn spelled_out(clause: &Clause) -> Option<Clause> {
    let Clause::Field(path, Test::Ops(ops)) = clause else {
        return None;
    };
    let [Op::Regex(re)] = ops.as_slice() else {
        return None;
    };
    if re.case_insensitive {
        return None;
    }
    let any = Literal::alternatives(&re.pattern).filter(|any| any.len() > 1)?;
    Some(Clause::Or(
        any.into_iter()
            .map(|literal| {
                vec![Clause::Field(
                    path.clone(),
                    Test::Ops(vec![Op::Literal(literal)]),
                )]
            })
            .collect(),
    ))
}

fn read_clauses(input: &mut Reader<'_>) -> Result<Vec<Clause>, Malformed> {
    input.nested(|input| {
        input.list(|input| {
            Ok(match input.byte()? {
                tag @ (OR | NOR | AND) => {
                    let lists = input.list(read_clauses)?;
                    match tag {
                        OR => Clause::Or(lists),
                        NOR => Clause::Nor(lists),
                        _ => Clause::And(lists),
                    }
                }
                NOT => Clause::Not(read_clauses(input)?),
                FIELD => {
                    let path = input.list(|input| Ok(input.text()?.to_owned()))?;
                    Clause::Field(path, read_test(input)?)
                }
                NEVER => Clause::Never,
                _ => return input.fail("an unknown clause tag"),
            })
        })
    })
}

fn write_test(test: &Test, out: &mut Writer) {
    match test {
        Test::Str(s) => {
            out.byte(STR);
            out.text(s);
        }
        Test::StrFolded(s) => {
            out.byte(STR_FOLDED);
            out.text(s);
        }
        Test::Num(n) => {
            out.byte(NUM);
            out.number(*n);
        }
        Test::Bool(b) => {
            out.byte(BOOL);
            out.byte(u8::from(*b));
        }
        Test::Null => out.byte(NULL),
        Test::Json(value) => {
            out.byte(JSON);
            out.value(value);
        }
        Test::Ops(ops) => {
            out.byte(OPS);
            out.count(ops.len());
            for op in ops {
                write_op(op, out);
            }
        }
    }
}

fn read_test(input: &mut Reader<'_>) -> Result<Test, Malformed> {
    input.nested(|input| {
        Ok(match input.byte()? {
            STR => Test::Str(input.text()?.to_owned()),
            STR_FOLDED => Test::StrFolded(input.text()?.to_owned()),
            NUM => Test::Num(input.number()?),
            BOOL => Test::Bool(input.flag()?),
            NULL => Test::Null,
            JSON => Test::Json(input.value()?),
            OPS => Test::Ops(input.list(read_op)?),
            _ => return input.fail("an unknown test tag"),
        })
    })
}

fn write_op(op: &Op, out: &mut Writer) {
    match op {
        Op::Version(cmp, version) => {
            out.byte(OP_VERSION);
            out.byte(*cmp as u8);
            out.text(version);
        }
        Op::Eq(value) => {
            out.byte(OP_EQ);
            out.value(value);
        }
        Op::Ne(value) => {
            out.byte(OP_NE);
            out.value(value);
        }
        Op::Compare(cmp, value) => {
            out.byte(OP_COMPARE);
            out.byte(*cmp as u8);
            out.value(value);
        }
        Op::Exists(should) => {
            out.byte(OP_EXISTS);
            out.byte(u8::from(*should));
        }
        Op::In(values, fold) | Op::NotIn(values, fold) => {
            out.byte(if matches!(op, Op::In(..)) {
                OP_IN
            } else {
                OP_NOT_IN
            });
            out.byte(u8::from(*fold == Fold::CaseInsensitive));
            out.values(values);
        }
        Op::InGroup(name) => {
            out.byte(OP_IN_GROUP);
            out.text(name);
        }
        Op::NotInGroup(name) => {
            out.byte(OP_NOT_IN_GROUP);
            out.text(name);
        }
        Op::Not(test) => {
            out.byte(OP_NOT);
            write_test(test, out);
        }
        Op::Size(test) => {
            out.byte(OP_SIZE);
            write_test(test, out);
        }
        Op::ElemMatch(matcher) => match &**matcher {
            ElemMatch::Value(test) => {
                out.byte(OP_ELEM_MATCH_VALUE);
                write_test(test, out);
            }
            ElemMatch::Condition(clauses) => {
                out.byte(OP_ELEM_MATCH_CONDITION);
                write_clauses(clauses, out, Spell::AsWritten);
            }
        },
        Op::All(tests) => {
            out.byte(OP_ALL);
            out.count(tests.len());
            for test in tests {
                write_test(test, out);
            }
        }
        Op::Regex(re) => {
            out.byte(OP_REGEX);
            out.byte(u8::from(re.case_insensitive));
            out.text(&re.pattern);
        }
        Op::Literal(literal) => {
            out.byte(OP_LITERAL);
            let (kind, text) = match literal {
                Literal::Contains(t) => (0, t),
                Literal::Prefix(t) => (1, t),
                Literal::Suffix(t) => (2, t),
                Literal::Exact(t) => (3, t),
            };
            out.byte(kind);
            out.text(text);
        }
        Op::Type(name) => {
            out.byte(OP_TYPE);
            out.text(name);
        }
        Op::Never => out.byte(OP_NEVER),
    }
}

fn read_op(input: &mut Reader<'_>) -> Result<Op, Malformed> {
    Ok(match input.byte()? {
        OP_VERSION => Op::Version(read_cmp(input)?, input.text()?.to_owned()),
        OP_EQ => Op::Eq(input.value()?),
        OP_NE => Op::Ne(input.value()?),
        OP_COMPARE => Op::Compare(read_cmp(input)?, input.value()?),
        OP_EXISTS => Op::Exists(input.flag()?),
        tag @ (OP_IN | OP_NOT_IN) => {
            let fold = if input.flag()? {
                Fold::CaseInsensitive
            } else {
                Fold::Exact
            };
            let values = input.values()?;
            if tag == OP_IN {
                Op::In(values, fold)
            } else {
                Op::NotIn(values, fold)
            }
        }
        OP_IN_GROUP => Op::InGroup(input.text()?.to_owned()),
        OP_NOT_IN_GROUP => Op::NotInGroup(input.text()?.to_owned()),
        OP_NOT => Op::Not(Box::new(read_test(input)?)),
        OP_SIZE => Op::Size(Box::new(read_test(input)?)),
        OP_ELEM_MATCH_VALUE => Op::ElemMatch(Box::new(ElemMatch::Value(read_test(input)?))),
        OP_ELEM_MATCH_CONDITION => {
            Op::ElemMatch(Box::new(ElemMatch::Condition(read_clauses(input)?)))
        }
        OP_ALL => Op::All(input.list(read_test)?),
        OP_REGEX => {
            let case_insensitive = input.flag()?;
            let pattern = input.text()?;
            // The browser's RegExp in the agent; a pattern it refuses fails
            // closed, as at compile time.
            Regex::compile(pattern, case_insensitive).map_or(Op::Never, Op::Regex)
        }
        OP_LITERAL => {
            let kind = input.byte()?;
            let text = input.text()?.to_owned();
            Op::Literal(match kind {
                0 => Literal::Contains(text),
                1 => Literal::Prefix(text),
                2 => Literal::Suffix(text),
                3 => Literal::Exact(text),
                _ => return input.fail("an unknown text test"),
            })
        }
        OP_TYPE => Op::Type(input.text()?.to_owned()),
        OP_NEVER => Op::Never,
        _ => return input.fail("an unknown operator tag"),
    })
}

fn read_cmp(input: &mut Reader<'_>) -> Result<Cmp, Malformed> {
    Ok(match input.byte()? {
        0 => Cmp::Eq,
        1 => Cmp::Ne,
        2 => Cmp::Lt,
        3 => Cmp::Lte,
        4 => Cmp::Gt,
        5 => Cmp::Gte,
        _ => return input.fail("an unknown comparison"),
    })
}
