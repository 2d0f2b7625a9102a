//! Where a site's data lives once one Durable Object is not enough (issue #22).
//!
//! A site's persons are spread over [`LOGICAL_SHARDS`] logical shards by a
//! hash of the browser that first made them. `SITE_SHARDS` objects (a power
//! of two, 1 to 1,024) hold them interleaved: object `k` of `N` holds the
//! logical shards `l ≡ k (mod N)`, so when a site doubles its objects every
//! object keeps half of what it holds (`l ≡ k (mod 2N)`) and gives the other
//! half to one new object, `k + N` (resharding: ARCHITECTURE.md). A
//! contiguous range per object would move all of every object's data but
//! object 0's. Object 0 is also the site's
//! home: config versions, studio drafts, keys, coupon pools and dead letters
//! live there until each site-wide table gets its own home (ARCHITECTURE.md).
//! With one object, it is the object sites have always had, under its name.
//!
//! Nothing is looked up on the event path: a batch goes to the object of its
//! browser's hash, and a person id names its logical shard (`p0a3_…`), so a
//! command about a person goes straight to its object. Each command says
//! where it goes (`Placed`), and how the answers of several objects make
//! one (`Placed::gather`); `store::call` does the rest.

use std::borrow::Cow;

use sha2::{Digest, Sha256};

use super::protocol::{Ask, StoreError, StoreResult};

/// Logical shards per site: the unit a future move between objects takes.
pub const LOGICAL_SHARDS: u16 = 1024;

/// How many objects a site's logical shards are mapped onto.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardMap {
    objects: u16,
}

impl Default for ShardMap {
    fn default() -> Self {
        ShardMap::ONE
    }
}

impl ShardMap {
    /// Every logical shard in one object: a site as it always was.
    pub const ONE: ShardMap = ShardMap { objects: 1 };

    /// `objects` objects: a power of two from 1 to [`LOGICAL_SHARDS`].
    pub fn new(objects: u32) -> Result<ShardMap, String> {
        if objects == 0 || !objects.is_power_of_two() || objects > u32::from(LOGICAL_SHARDS) {
            return Err(format!(
                "SITE_SHARDS must be a power of two from 1 to {LOGICAL_SHARDS}, not {objects}"
            ));
        }
        Ok(ShardMap {
            objects: objects as u16,
        })
    }

    /// The map `SITE_SHARDS` names (unset or empty: one object).
    pub fn from_var(value: Option<&str>) -> Result<ShardMap, String> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(ShardMap::ONE),
            Some(text) => match text.parse::<u32>() {
                Ok(n) => ShardMap::new(n),
                Err(_) => Err(format!("SITE_SHARDS must be a number, not {text:?}")),
            },
        }
    }

    pub fn objects(self) -> u16 {
        self.objects
    }

    /// Every object's index.
    pub fn all(self) -> impl Iterator<Item = u16> {
        0..self.objects
    }

    /// The site's home object: site-wide tables.
    pub fn home(self) -> u16 {
        0
    }

    /// The object holding a logical shard: interleaved (the module's header).
    pub fn object_of_logical(self, logical: u16) -> u16 {
        (logical % LOGICAL_SHARDS) % self.objects
    }

    /// The object that keeps a browser's person (unless a merge moved it).
    pub fn browser(self, anonymous_id: &str) -> u16 {
        self.object_of_logical(logical_of_browser(anonymous_id))
    }

    /// The object a person id names. Ids from before shards name none:
    /// they were made in the one object there was, object 0.
    pub fn person(self, person: &str) -> u16 {
        logical_of_person(person).map_or(0, |logical| self.object_of_logical(logical))
    }
}

/// The directory object of an identifier (a user id, an email or phone
/// hash, a coupon pool): the object it hashes to.
pub fn directory_object(map: ShardMap, kind: &str, value: &str) -> u16 {
    map.object_of_logical(logical_of_identifier(kind, value))
}

/// A browser's logical shard: the first bytes of a SHA-256 of its id, so
/// browsers spread evenly whatever ids they pick.
pub fn logical_of_browser(anonymous_id: &str) -> u16 {
    let digest = Sha256::new()
        .chain_update(b"browser\0")
        .chain_update(anonymous_id.as_bytes())
        .finalize();
    u16::from_be_bytes([digest[0], digest[1]]) % LOGICAL_SHARDS
}

/// The logical shard of a person first known by a verified identifier (a
/// webhook's user id, email or phone hash) rather than a browser.
pub fn logical_of_identifier(kind: &str, value: &str) -> u16 {
    let digest = Sha256::new()
        .chain_update(kind.as_bytes())
        .chain_update(b"\0")
        .chain_update(value.as_bytes())
        .finalize();
    u16::from_be_bytes([digest[0], digest[1]]) % LOGICAL_SHARDS
}

/// The start of the id of a person made in `logical`: `p` and three hex
/// digits. (Ids made before shards start `p_`, and name none.)
pub fn person_prefix(logical: u16) -> String {
    format!("p{:03x}", logical % LOGICAL_SHARDS)
}

/// The logical shard a person id names, if it names one.
pub fn logical_of_person(person: &str) -> Option<u16> {
    let digits = person.strip_prefix('p')?.get(..3)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u16::from_str_radix(digits, 16)
        .ok()
        .filter(|l| *l < LOGICAL_SHARDS)
}

/// The Durable Object name of a site's object: the home keeps the site's
/// own name (the object every site had before shards), the others
/// `{site}/{index}` (site keys have no `/`, so no site's name is another's).
pub fn object_name(site: &str, object: u16) -> Cow<'_, str> {
    if object == 0 {
        Cow::Borrowed(site)
    } else {
        Cow::Owned(format!("{site}/{object}"))
    }
}

/// A site object's name read back: the site and the object's index.
pub fn read_object_name(name: &str) -> (&str, u16) {
    match name.rsplit_once('/') {
        Some((site, index)) => match index.parse::<u16>() {
            Ok(object) if object < LOGICAL_SHARDS && !site.is_empty() => (site, object),
            _ => (name, 0),
        },
        None => (name, 0),
    }
}

/// Where a command goes.
pub enum Placement<A> {
    /// One object, the command as it is.
    One(u16),
    /// Every object, the command as it is; `Placed::gather` makes one answer.
    Every,
    /// Each object its own part of the command (a batch split by browser);
    /// `Placed::gather` makes one answer.
    Parts(Vec<(u16, A)>),
}

/// A command that knows where it goes: every command sent to a site's
/// store states it (`store::call` takes only these).
pub trait Placed: Ask + Sized {
    fn place(&self, map: ShardMap) -> Placement<Self>;

    /// One answer from the answers of the objects the command went to,
    /// each with its object's index (called for every placement; by
    /// default the one answer of a command placed on `One`).
    fn gather(
        &self,
        _map: ShardMap,
        answers: Vec<(u16, Self::Answer)>,
    ) -> StoreResult<Self::Answer> {
        let mut answers = answers;
        match (answers.pop(), answers.is_empty()) {
            (Some((_, answer)), true) => Ok(answer),
            _ => Err(StoreError::Internal(format!(
                "{} cannot gather the answers of several objects",
                Self::COMMAND
            ))),
        }
    }

    /// Where a command placed on one object goes next when that object
    /// knows nothing of what it names (`NotFound`), or only stale redirects
    /// lead on from it (`Moved`): a lookup by a name that may be a user id
    /// or a browser's id. None by default.
    fn otherwise(&self, _map: ShardMap) -> Option<u16> {
        None
    }

    /// The parts that must go again, to where their browsers' persons
    /// moved in a merge (a batch's `Appended::moved`); none by default.
    fn moved_parts(&self, _map: ShardMap, _answer: &Self::Answer) -> Vec<(u16, Self)> {
        Vec::new()
    }

    /// The answer with the answers of the parts that went again added.
    fn add_moved(
        &self,
        answer: Self::Answer,
        _moved: Vec<(u16, Self::Answer)>,
    ) -> StoreResult<Self::Answer> {
        Ok(answer)
    }
}

/// Numbers that an object counts on its own (merge-log and dead-letter
/// sequence numbers) made unique across a site's objects: the object's
/// index above bit 40. Object 0's numbers are unchanged, so a site with one
/// object answers as it always did.
pub const OBJECT_SHIFT: u32 = 40;

/// An object's own sequence number as the site names it.
pub fn qualify(object: u16, seq: i64) -> i64 {
    seq | (i64::from(object) << OBJECT_SHIFT)
}

/// The object and its own sequence number, from a site-wide one; `None`
/// for a number no object gave.
pub fn unqualify(seq: i64) -> Option<(u16, i64)> {
    if seq < 0 {
        return None;
    }
    let object = seq >> OBJECT_SHIFT;
    let local = seq & ((1 << OBJECT_SHIFT) - 1);
    (object < i64::from(LOGICAL_SHARDS)).then_some((object as u16, local))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_takes_powers_of_two_up_to_the_logical_shards() {
        assert_eq!(ShardMap::from_var(None), Ok(ShardMap::ONE));
        assert_eq!(ShardMap::from_var(Some(" ")), Ok(ShardMap::ONE));
        assert_eq!(ShardMap::from_var(Some("64")).unwrap().objects(), 64);
        assert_eq!(ShardMap::from_var(Some("1024")).unwrap().objects(), 1024);
        for bad in ["0", "3", "2048", "-4", "four", "65536"] {
            assert!(ShardMap::from_var(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn objects_hold_interleaved_shards_that_a_doubling_halves_in_place() {
        let four = ShardMap::new(4).unwrap();
        let eight = ShardMap::new(8).unwrap();
        let mut moved = 0;
        for logical in 0..LOGICAL_SHARDS {
            assert_eq!(ShardMap::ONE.object_of_logical(logical), 0);
            assert_eq!(four.object_of_logical(logical), logical % 4);
            // Each shard stays where it was, or goes to the one new object
            // paired with it (k -> k + 4).
            let (before, after) = (
                four.object_of_logical(logical),
                eight.object_of_logical(logical),
            );
            assert!(after == before || after == before + 4, "{logical}");
            moved += usize::from(after != before);
        }
        assert_eq!(moved, usize::from(LOGICAL_SHARDS) / 2);
        for objects in [2, 16, 64, 1024] {
            let map = ShardMap::new(objects).unwrap();
            let held = (0..LOGICAL_SHARDS).filter(|l| map.object_of_logical(*l) == 1);
            assert_eq!(held.count(), usize::from(LOGICAL_SHARDS) / objects as usize);
        }
    }

    #[test]
    fn browsers_spread_evenly_over_objects() {
        let map = ShardMap::new(64).unwrap();
        let mut counts = [0u32; 64];
        for i in 0..64_000 {
            counts[usize::from(map.browser(&format!("anon-{i}")))] += 1;
        }
        // 1,000 expected in each; a fair hash stays within ±15% here.
        let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        assert!(*min > 850 && *max < 1150, "{min}..{max}");
        assert_eq!(map.browser("anon-1"), map.browser("anon-1"));
    }

    #[test]
    fn a_person_id_names_its_object_and_old_ids_name_the_first() {
        let map = ShardMap::new(4).unwrap();
        let logical = logical_of_browser("b1");
        let id = format!("{}_18f_0a0b0c0d", person_prefix(logical));
        assert_eq!(logical_of_person(&id), Some(logical));
        assert_eq!(map.person(&id), map.browser("b1"));
        assert_eq!(map.person("p_18f0a_0a0b0c0d"), 0);
        for odd in ["", "p", "p12", "pzzz_1", "q123_1", "p\u{e9}12_1"] {
            assert_eq!(logical_of_person(odd), None, "{odd}");
        }
        assert_eq!(logical_of_person("p3ff_1"), Some(1023));
        assert_eq!(logical_of_person("p400_1"), None);
    }

    #[test]
    fn object_names_read_back() {
        assert_eq!(object_name("shop", 0), "shop");
        assert_eq!(object_name("shop", 7), "shop/7");
        assert_eq!(read_object_name("shop"), ("shop", 0));
        assert_eq!(read_object_name("shop/7"), ("shop", 7));
        assert_eq!(read_object_name("shop/x"), ("shop/x", 0));
        assert_eq!(read_object_name("/7"), ("/7", 0));
    }

    #[test]
    fn sequence_numbers_keep_their_object() {
        assert_eq!(qualify(0, 42), 42);
        assert_eq!(unqualify(42), Some((0, 42)));
        let seq = qualify(63, 42);
        assert_eq!(unqualify(seq), Some((63, 42)));
        assert_eq!(unqualify(-1), None);
        assert_eq!(unqualify(i64::MAX), None);
    }
}
