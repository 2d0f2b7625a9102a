//! The agent's program: what the edge compiles a validated config into, once
//! per version, for the agent to execute (issue #20, "the edge compiles, the
//! agent executes").
//!
//! Reading the marketer's JSON in every browser on every page view means
//! carrying a JSON reader, a float parser, the validator and the condition
//! compiler to every visitor. The program is the compiled form instead:
//! operators resolved, paths split, versions padded, plain-text regexes turned
//! into text tests, numbers as their IEEE-754 bits (no float parsing), and no
//! marketer-facing messages. The agent decodes it straight into the engine's
//! evaluation form, so a program decides exactly what its config does.
//!
//! The format is bytes, read by [`wire::Reader`] with structural bounds:
//! every count and length is checked against the bytes that remain (so
//! decoding costs at most linear time and memory in the program's size),
//! nesting is bounded, and anything truncated, corrupted or hostile is a
//! [`Malformed`] error, never a panic, a loop or an allocation past the input's
//! size. A program starts with [`MAGIC`] and [`FORMAT`]: an agent that meets
//! another format says so instead of guessing, which is how old and new agents
//! live side by side during a deploy.
//!
//! A config's program holds what the agent decides with: campaigns (trigger,
//! audience, content, variants, caps), saved groups and the request's
//! geography. Since format 2 each content is packed ([`Packed`]): its layout
//! and coupon code, then its texts, image, button and form as a content
//! program of their own. The agent fills the title's and body's merge fields
//! only when the campaign shows ([`fill`]), and only the display module reads
//! the whole. The edge still writes format 1 (content inline)
//! for agents of the previous build, which visitors' caches keep running for
//! a page view or so after a deploy.

use crate::prelude::*;

mod config;
pub mod wire;

use crate::campaign::{Content, Packed};
use crate::condition::Condition;
use crate::config::{Config, Geo};
pub use wire::Malformed;

/// The first bytes of every program.
pub const MAGIC: [u8; 4] = *b"NDGP";
/// The format this build's agent reads (and its loader asks for).
pub const FORMAT: u8 = Format::CURRENT as u8;

/// The formats the edge writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Content inline, decoded by the agent: agents built before format 2.
    /// Their loader asks for it; browsers use a cached loader for at most a
    /// week past its 5 minutes (`edge/src/assets.rs`), so a week after every
    /// deployment serves format 2's agent, this can go.
    Inline = 1,
    /// Content packed: the agent reads its layout and coupon, and a shown
    /// campaign's title and body to fill their merge fields.
    Packed = 2,
}

impl Format {
    pub const CURRENT: Format = Format::Packed;

    /// The format an agent asks for (`program=<n>`), if the edge writes it.
    pub fn from_number(n: &str) -> Option<Format> {
        match n {
            "1" => Some(Format::Inline),
            "2" => Some(Format::Packed),
            _ => None,
        }
    }
}

/// A condition's program: header, then the compiled condition as this
/// build's format writes it (a `$regex` of literal alternatives spelled out
/// as literal tests).
pub fn encode_condition(condition: &Condition) -> Vec<u8> {
    let mut out = wire::Writer::new();
    out.header();
    condition.write_program_spelled_out(&mut out);
    out.finish()
}

/// Reads a condition's program; regexes are compiled again by the host.
pub fn decode_condition(bytes: &[u8]) -> Result<Condition, Malformed> {
    read_whole(bytes, Condition::read_program)
}

/// A validated config's program, in this build's format.
pub fn encode_config(config: &Config) -> Vec<u8> {
    assemble(
        Format::CURRENT,
        &config.geo,
        &compile(config, Format::CURRENT),
    )
}

/// What the edge compiles once per config version and format: the program
/// without its header and the request's geography (`config.geo` is left out).
pub fn compile(config: &Config, format: Format) -> Vec<u8> {
    let mut out = wire::Writer::new();
    config::write_config(config, format, &mut out);
    out.finish()
}

/// The program served for one request: the header, the request's
/// geography, then what [`compile`] made in the same format.
pub fn assemble(format: Format, geo: &Geo, compiled: &[u8]) -> Vec<u8> {
    let mut out = wire::Writer::new();
    out.header_of(format);
    config::write_geo(geo, &mut out);
    let mut bytes = out.finish();
    bytes.extend_from_slice(compiled);
    bytes
}

/// Reads a config's program into the config the agent decides with: its
/// contents stay packed.
pub fn decode_config(bytes: &[u8]) -> Result<Config<Packed>, Malformed> {
    read_whole(bytes, config::read_config)
}

/// `config` as the agent holds it, through its program: what the studio's
/// build runs in a preview link's tab, and what tests decide with. A config
/// whose program does not read back (conditions nested past the program's
/// bound) runs with no campaigns: fail closed.
pub fn pack(config: &Config) -> Config<Packed> {
    decode_config(&encode_config(config)).unwrap_or_default()
}

/// One campaign's content as the display module (render/) reads it, in the
/// program's own format: packed into the program by the edge, handed over
/// by the agent as it is.
pub fn encode_content(content: &Content) -> Vec<u8> {
    let mut out = wire::Writer::new();
    out.header();
    config::write_content(content, &mut out);
    out.finish()
}

/// Reads what [`encode_content`] wrote.
pub fn decode_content(bytes: &[u8]) -> Result<Content, Malformed> {
    read_whole(bytes, config::read_content)
}

/// A packed content ready to draw: its title's and body's merge fields
/// filled (`{{coupon}}` with its code, any other field `value_of(name)`),
/// the rest as the edge wrote it; what the agent hands the display module
/// when the campaign shows. Bytes that do not read are refused.
pub fn fill(
    packed: &Packed,
    value_of: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<u8>, Malformed> {
    config::fill(packed, value_of)
}

/// The header, what `read` reads, and nothing after it.
fn read_whole<'a, T>(
    bytes: &'a [u8],
    read: impl FnOnce(&mut wire::Reader<'a>) -> Result<T, Malformed>,
) -> Result<T, Malformed> {
    let mut input = wire::Reader::new(bytes);
    input.header()?;
    let read = read(&mut input)?;
    input.end()?;
    Ok(read)
}

#[cfg(test)]
mod tests;
