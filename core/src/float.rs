//! `floor`, `round`, `trunc` and `fract` of an `f64`: std's methods where
//! there is std, `libm`'s (exact, as these operations are) in the `no_std`
//! browser builds, whose `f64` has no such methods.

#[cfg(any(feature = "std", test))]
mod imp {
    pub fn floor(x: f64) -> f64 {
        x.floor()
    }
    pub fn round(x: f64) -> f64 {
        x.round()
    }
    pub fn trunc(x: f64) -> f64 {
        x.trunc()
    }
}

#[cfg(not(any(feature = "std", test)))]
mod imp {
    pub use libm::{floor, round, trunc};
}

pub use imp::{floor, round, trunc};

/// `x.fract()`: what is left after the integer part.
pub fn fract(x: f64) -> f64 {
    x - trunc(x)
}
