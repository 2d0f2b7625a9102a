//! A journey's steps flattened into the program the engine walks with one
//! counter (branches and `wait_for` become forward jumps, so a run cannot
//! loop), each op with its path in the journey's JSON, and the program's
//! shape: what an edit must leave alone for runs in flight to go on.

use super::Step;
use crate::condition::Condition;
use crate::prelude::*;
use crate::time::Millis;

/// FNV-1a over the kinds of the program's ops and its jump targets, in 53
/// bits: the edge's store (SQLite through JavaScript) keeps it exactly as a
/// double.
pub(super) fn shape_of(program: &[Op]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |n: u64| {
        for byte in n.to_le_bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    for op in program {
        match op {
            Op::Branch { otherwise, .. } => (feed(1), feed(*otherwise as u64)),
            Op::Jump(to) => (feed(2), feed(*to as u64)),
            Op::Step(Step::Wait { .. } | Step::WaitUntil { .. }) => (feed(3), ()),
            Op::Step(Step::Send { .. }) => (feed(4), ()),
            Op::Step(Step::Set { .. }) => (feed(5), ()),
            Op::Step(Step::End) => (feed(6), ()),
            Op::Step(Step::Branch { .. }) => (feed(7), ()),
            Op::Await { .. } => (feed(8), ()),
            Op::Timeout { otherwise, .. } => (feed(9), feed(*otherwise as u64)),
            Op::Step(Step::WaitFor { .. }) => (feed(10), ()),
        };
    }
    hash & ((1 << 53) - 1)
}

/// One instruction of a journey's flattened program. Branches become a
/// conditional forward jump, so a run's position is one counter and the
/// engine cannot loop.
#[derive(Clone, Debug)]
pub(crate) enum Op {
    Step(Step),
    /// Go on at the next op when the condition holds, else at `otherwise`.
    Branch {
        condition: Condition,
        otherwise: usize,
    },
    Jump(usize),
    /// A `wait_for` begins: wait at most `within` (at the next op).
    Await {
        within: Millis,
    },
    /// Where a `wait_for` waits. Reached by its timer, the event did not
    /// come: go on at `otherwise`; the event coming moves the run to the
    /// next op instead ([`super::Journeys::on_event`]).
    Timeout {
        event: String,
        otherwise: usize,
    },
}

/// Compiles `then`, a jump over `otherwise` if there is one, and
/// `otherwise`, at `path` (the branching step's); returns where
/// `otherwise` starts.
fn compile_arms(
    (then, otherwise): (&[Step], &[Step]),
    path: &str,
    out: &mut Vec<Op>,
    paths: &mut Vec<String>,
) -> usize {
    compile(then, &format!("{path}.then"), out, paths);
    let jump = (!otherwise.is_empty()).then(|| {
        out.push(Op::Jump(0));
        paths.push(path.to_owned());
        out.len() - 1
    });
    let else_at = out.len();
    compile(otherwise, &format!("{path}.else"), out, paths);
    let end = out.len();
    if let Some(Op::Jump(to)) = jump.and_then(|j| out.get_mut(j)) {
        *to = end;
    }
    else_at
}

/// Flattens `steps` (at `path` in the journey's JSON) into `out`, with the
/// path of each op in `paths`.
pub(super) fn compile(steps: &[Step], path: &str, out: &mut Vec<Op>, paths: &mut Vec<String>) {
    for (i, step) in steps.iter().enumerate() {
        let here = format!("{path}[{i}]");
        match step {
            Step::Branch {
                condition,
                then,
                otherwise,
            } => {
                let branch = out.len();
                out.push(Op::Branch {
                    condition: condition.clone(),
                    otherwise: 0,
                });
                paths.push(here.clone());
                let at = format!("{here}.branch");
                let else_at = compile_arms((then, otherwise), &at, out, paths);
                if let Some(Op::Branch { otherwise, .. }) = out.get_mut(branch) {
                    *otherwise = else_at;
                }
            }
            Step::WaitFor {
                event,
                within,
                then,
                otherwise,
            } => {
                out.push(Op::Await { within: *within });
                let timeout = out.len();
                out.push(Op::Timeout {
                    event: event.clone(),
                    otherwise: 0,
                });
                paths.extend([here.clone(), here.clone()]);
                let at = format!("{here}.wait_for");
                let else_at = compile_arms((then, otherwise), &at, out, paths);
                if let Some(Op::Timeout { otherwise, .. }) = out.get_mut(timeout) {
                    *otherwise = else_at;
                }
            }
            other => {
                out.push(Op::Step(other.clone()));
                paths.push(here);
            }
        }
    }
}
