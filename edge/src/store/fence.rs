//! The number of objects a site's persons were spread over when its
//! objects were made. A person lives in the object its browser's hash maps
//! to under `SITE_SHARDS`; served under another count, every browser would
//! be looked for in the wrong object and made again there, splitting each
//! person in two. Until resharding is built (persons moved under a
//! versioned map), each object keeps the count it was first served under
//! and refuses to serve under another: object 0 (the site's home) records
//! its own, and any other object asks the home once, when it starts.

use super::persons::Db;
use super::protocol::{ShardCount, StoreError, StoreResult};
use super::{route, Objects};

/// The `store_clock` row that keeps it (its `at` is the count, its cursor
/// the layout).
const CLOCK: &str = "site_objects";

/// How logical shards map onto objects (`ShardMap::object_of_logical`):
/// interleaved. Objects recorded with no layout were made by a build that
/// gave each object a contiguous range; with more than one object, those
/// hold their persons elsewhere than this build looks.
const LAYOUT: &str = "interleaved";

impl Db<'_> {
    /// The count this object was first served under, if it was.
    pub fn served_objects(&self) -> StoreResult<Option<u16>> {
        Ok(self
            .clock(CLOCK)?
            .and_then(|(count, _)| u16::try_from(count).ok()))
    }

    /// Whether this object was made under another layout of shards than
    /// this build's (only matters with more than one object).
    fn made_under_ranges(&self) -> StoreResult<bool> {
        Ok(self
            .clock(CLOCK)?
            .is_some_and(|(count, layout)| count > 1 && layout.as_deref() != Some(LAYOUT)))
    }

    fn serve_objects(&self, objects: u16) -> StoreResult<()> {
        self.set_clock(CLOCK, i64::from(objects), Some(LAYOUT))
    }
}

/// Checks that object `here` may serve with the deployment's map: the count
/// it recorded (recorded now on first use), and for an object other than
/// the home, the home's. A mismatch is an error every command answers.
pub async fn fence(objects: &impl Objects, here: u16, db: &Db<'_>) -> StoreResult<()> {
    let count = objects.map().objects();
    let refused = |made: u16| {
        StoreError::Internal(format!(
            "this site's objects were made for SITE_SHARDS = {made}, and it is {count} now: \
             changing it needs resharding, which is not built (ARCHITECTURE.md)"
        ))
    };
    if db.made_under_ranges()? {
        return Err(StoreError::Internal(
            "this site's objects were made by an earlier build that mapped shards to objects \
             in ranges, which this build does not read (its local state must be cleared)"
                .into(),
        ));
    }
    match db.served_objects()? {
        Some(made) if made == count => return Ok(()),
        Some(made) => return Err(refused(made)),
        None => {}
    }
    if here != objects.map().home() {
        match route(objects, &ShardCount {}).await? {
            Some(made) if made == count => {}
            Some(made) => return Err(refused(made)),
            None => {
                return Err(StoreError::Internal(
                    "the site's home has not recorded its objects yet".into(),
                ))
            }
        }
    }
    db.serve_objects(count)
}
