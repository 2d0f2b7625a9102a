//! A/B reports: the campaigns the reports roll up, and the rows and counts
//! they answer.

use super::*;

/// One campaign's rollups for the UTC days `from_day..=to_day` (days since
/// 1970-01-01), conversions and revenue within `window_days` of each
/// person's first exposure.
#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    pub campaign: String,
    pub from_day: i64,
    pub to_day: i64,
    pub window_days: i64,
}

/// Every campaign with rollups in `from_day..=to_day`, in totals.
#[derive(Debug, Serialize, Deserialize)]
pub struct ReportSummary {
    pub from_day: i64,
    pub to_day: i64,
    pub window_days: i64,
}

/// A campaign of the published config, as the reports see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportedCampaign {
    pub id: String,
    /// The event name that counts as this campaign's conversion.
    #[serde(default)]
    pub goal: Option<String>,
    /// The A/B arms; empty for a campaign without a test (reported as the
    /// one arm `""`).
    #[serde(default)]
    pub variants: Vec<ReportedVariant>,
}

/// One arm of a campaign's A/B test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportedVariant {
    pub key: String,
    #[serde(default)]
    pub weight: f64,
    /// A control arm shows nothing; its exposures are where it would have.
    #[serde(default)]
    pub control: bool,
}

/// One campaign's rollups over a range of days (`Command::Report`).
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportRows {
    /// Whether the store has any rollup for this campaign, on any day.
    pub known: bool,
    /// One row per day and arm that has data, by day then arm.
    pub days: Vec<DayRow>,
}

/// What a report counts for one arm, over a day or a range. Impressions,
/// clicks, submits and dismissals are counted on the day they happened;
/// exposed persons, conversions and revenue on the day of each person's
/// first exposure (its cohort).
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub exposed_persons: i64,
    pub impressions: i64,
    pub clicks: i64,
    pub submits: i64,
    pub dismissals: i64,
    pub conversions: i64,
    pub revenue: f64,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.exposed_persons += other.exposed_persons;
        self.impressions += other.impressions;
        self.clicks += other.clicks;
        self.submits += other.submits;
        self.dismissals += other.dismissals;
        self.conversions += other.conversions;
        self.revenue = add_money(self.revenue, other.revenue);
    }
}

/// Revenue is summed in whole millionths, so a sum is the same whatever
/// order its parts come in (one object's rows, or several objects' totals):
/// floats added in another order differ in their last bits.
pub fn add_money(a: f64, b: f64) -> f64 {
    (to_micros(a) + to_micros(b)) as f64 / 1e6
}

/// An amount in whole millionths (`add_money`).
pub fn to_micros(amount: f64) -> i64 {
    (amount * 1e6).round() as i64
}

/// What one arm did on one UTC day.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayRow {
    pub day: i64,
    pub variant: String,
    pub control: bool,
    #[serde(flatten)]
    pub counts: Counts,
    /// Persons of this cohort seen in more than one arm.
    pub several_arms: i64,
}

/// One campaign's totals in a summary (`Command::ReportSummary`).
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    pub campaign: String,
    pub exposed_persons: i64,
    /// Of the arms that show something (a control's exposures are not).
    pub impressions: i64,
    pub clicks: i64,
    pub conversions: i64,
    pub revenue: f64,
}
