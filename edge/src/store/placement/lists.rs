//! Lists each object numbers on its own (the merge log, dead letters),
//! paged by site-wide numbers (`shards::qualify`), and the commands that
//! name one of those numbers.

use std::collections::BTreeMap;

use serde_json::Value;

use super::each_object;
use crate::store::protocol::*;
use crate::store::shards::{qualify, unqualify, Placed, Placement, ShardMap};

/// The objects a list going down from `before` (a site-wide sequence
/// number, `shards::qualify`) still has to read, each with its own
/// `before`: lists are in site-wide numbers, the last object's first.
fn objects_below(map: ShardMap, before: Option<i64>) -> Vec<(u16, Option<i64>)> {
    let (last, local) = match before.and_then(unqualify) {
        Some((object, local)) => (object.min(map.objects() - 1), Some(local)),
        None => (map.objects() - 1, None),
    };
    (0..=last)
        .map(|object| (object, if object == last { local } else { None }))
        .collect()
}

/// As `objects_below`, going up from `after`; the objects already read
/// are asked past their last number, for their totals.
fn objects_above(map: ShardMap, after: Option<i64>) -> Vec<(u16, Option<i64>)> {
    let (first, local) = match after.and_then(unqualify) {
        Some((object, local)) => (object, Some(local)),
        None => (0, None),
    };
    map.all()
        .map(|object| match object.cmp(&first) {
            std::cmp::Ordering::Less => (object, Some(i64::MAX)),
            std::cmp::Ordering::Equal => (object, local),
            std::cmp::Ordering::Greater => (object, None),
        })
        .collect()
}

/// A list command's parts: for each object, the command with that
/// object's own cursor set on its page (`set`).
fn paged<A: Clone + HasPage>(
    ask: &A,
    cursors: Vec<(u16, Option<i64>)>,
    set: impl Fn(&mut Page, Option<i64>),
) -> Placement<A> {
    Placement::Parts(
        cursors
            .into_iter()
            .map(|(object, cursor)| {
                let mut part = ask.clone();
                set(part.page_mut(), cursor);
                (object, part)
            })
            .collect(),
    )
}

/// A command that lists by pages.
trait HasPage {
    fn page_mut(&mut self) -> &mut Page;
}

impl HasPage for ListMerges {
    fn page_mut(&mut self) -> &mut Page {
        &mut self.page
    }
}

impl HasPage for ListDeadLetters {
    fn page_mut(&mut self) -> &mut Page {
        &mut self.page
    }
}

/// A seq field of a JSON row as the site names it.
fn qualify_field(object: u16, row: &mut serde_json::Map<String, Value>, field: &str) {
    if let Some(seq) = row.get(field).and_then(Value::as_i64) {
        row.insert(field.into(), Value::from(qualify(object, seq)));
    }
}

impl Placed for ListMerges {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        if let Some(person) = &self.person {
            // One object's log, its own numbers: the cursor read back.
            let object = map.person(person);
            let mut part = self.clone();
            part.page.before = self.page.before.map(|before| match unqualify(before) {
                Some((o, local)) if o == object => local,
                Some((o, _)) if o < object => 0,
                _ => before,
            });
            return Placement::Parts(vec![(object, part)]);
        }
        if map.objects() == 1 {
            return Placement::One(map.home());
        }
        paged(
            self,
            objects_below(map, self.page.before),
            |page, before| {
                page.before = before;
            },
        )
    }

    fn gather(&self, _map: ShardMap, answers: Vec<(u16, MergeLog)>) -> StoreResult<MergeLog> {
        let limit = self.page.limit() as usize;
        let mut merges = Vec::new();
        for (object, log) in answers {
            for mut merge in log.merges {
                qualify_field(object, &mut merge, "seq");
                merges.push(merge);
            }
        }
        let seq = |m: &serde_json::Map<String, Value>| m.get("seq").and_then(Value::as_i64);
        merges.sort_by_key(|m| std::cmp::Reverse(seq(m)));
        let next_before = if merges.len() >= limit {
            merges.truncate(limit);
            merges.last().and_then(seq)
        } else {
            None
        };
        Ok(MergeLog {
            merges,
            next_before,
        })
    }
}

impl Placed for UndoMerge {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        match unqualify(self.seq) {
            Some((object, seq)) if object < map.objects() && object > 0 => {
                Placement::Parts(vec![(
                    object,
                    UndoMerge {
                        seq,
                        reason: self.reason.clone(),
                    },
                )])
            }
            // Object 0's numbers are its own (and a number no object gave
            // is refused there as unknown).
            _ => Placement::One(map.home()),
        }
    }

    fn gather(&self, _map: ShardMap, answers: Vec<(u16, Undone)>) -> StoreResult<Undone> {
        let (object, mut undone) = answers
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Internal("no object undid".into()))?;
        undone.undone = qualify(object, undone.undone);
        Ok(undone)
    }
}

impl Placed for ListDeadLetters {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        if map.objects() == 1 {
            return Placement::One(map.home());
        }
        paged(self, objects_above(map, self.page.after), |page, after| {
            page.after = after;
        })
    }

    fn gather(
        &self,
        _map: ShardMap,
        answers: Vec<(u16, DeadLetterPage)>,
    ) -> StoreResult<DeadLetterPage> {
        let limit = self.page.limit() as usize;
        let mut total = 0;
        let mut letters = Vec::new();
        for (object, page) in answers {
            // A total counts every letter of the object, whatever the page.
            total += page.total;
            letters.extend(page.letters.into_iter().map(|mut letter| {
                letter.seq = qualify(object, letter.seq);
                letter
            }));
        }
        letters.sort_by_key(|letter| letter.seq);
        let next_after = if letters.len() >= limit {
            letters.truncate(limit);
            letters.last().map(|letter| letter.seq)
        } else {
            None
        };
        Ok(DeadLetterPage {
            letters,
            total,
            next_after,
        })
    }
}

impl Placed for RemoveDeadLetters {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        let mut parts: BTreeMap<u16, Vec<i64>> = BTreeMap::new();
        for seq in &self.seqs {
            // A number no object gave goes home, where it matches nothing.
            let (object, local) = unqualify(*seq)
                .filter(|(object, _)| *object < map.objects())
                .unwrap_or((map.home(), *seq));
            parts.entry(object).or_default().push(local);
        }
        if parts.len() <= 1 {
            let object = parts.keys().next().copied().unwrap_or(map.home());
            if object == map.home() {
                return Placement::One(object);
            }
        }
        each_object(parts, |seqs| RemoveDeadLetters { seqs })
    }

    fn gather(&self, _map: ShardMap, answers: Vec<(u16, Removed)>) -> StoreResult<Removed> {
        Ok(Removed {
            removed: answers.iter().map(|(_, r)| r.removed).sum(),
        })
    }
}
