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
//! geography. Templates are still parsed when a campaign renders.

use crate::prelude::*;

mod config;
pub mod wire;

use crate::campaign::Content;
use crate::condition::Condition;
use crate::config::{Config, Geo};
pub use wire::Malformed;

/// The first bytes of every program.
pub const MAGIC: [u8; 4] = *b"NDGP";
/// The format this build writes and reads.
pub const FORMAT: u8 = 1;

/// A condition's program: header, then the compiled condition.
pub fn encode_condition(condition: &Condition) -> Vec<u8> {
    let mut out = wire::Writer::new();
    out.header();
    condition.write_program(&mut out);
    out.finish()
}

/// Reads a condition's program; regexes are compiled again by the host.
pub fn decode_condition(bytes: &[u8]) -> Result<Condition, Malformed> {
    read_whole(bytes, Condition::read_program)
}

/// A validated config's program.
pub fn encode_config(config: &Config) -> Vec<u8> {
    assemble(&config.geo, &compile(config))
}

/// What the edge compiles once per config version: the program without its
/// header and the request's geography (`config.geo` is left out).
pub fn compile(config: &Config) -> Vec<u8> {
    let mut out = wire::Writer::new();
    config::write_config(config, &mut out);
    out.finish()
}

/// The program served for one request: the header, the request's
/// geography, then what [`compile`] made.
pub fn assemble(geo: &Geo, compiled: &[u8]) -> Vec<u8> {
    let mut out = wire::Writer::new();
    out.header();
    config::write_geo(geo, &mut out);
    let mut bytes = out.finish();
    bytes.extend_from_slice(compiled);
    bytes
}

/// Reads a config's program into the config the agent decides with.
pub fn decode_config(bytes: &[u8]) -> Result<Config, Malformed> {
    read_whole(bytes, config::read_config)
}

/// One campaign's content, its merge fields filled: what the agent hands
/// the display module (render/) to draw, in the program's own format.
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

/// The header, what `read` reads, and nothing after it.
fn read_whole<T>(
    bytes: &[u8],
    read: impl FnOnce(&mut wire::Reader<'_>) -> Result<T, Malformed>,
) -> Result<T, Malformed> {
    let mut input = wire::Reader::new(bytes);
    input.header()?;
    let read = read(&mut input)?;
    input.end()?;
    Ok(read)
}

#[cfg(test)]
mod tests;
