//! A validated config in the agent's program: what the agent decides with
//! (campaigns, saved groups, the request's geography), field by field in a
//! fixed order. Left out: the origins (the edge's CORS, never the agent's) and
//! everything the config's readers only check (journeys, messaging caps).

use super::wire::{Reader, Writer};
use super::{Format, Malformed};
use crate::campaign::{
    CallToAction, Campaign, CaptureField, Content, Form, FrequencyCap, Image, InlinePosition,
    Layout, Packed, Status, Trigger, TriggerKind, UrlMatch, Variant,
};
use crate::condition::{Condition, SavedGroups};
use crate::config::{Config, Geo};
use crate::prelude::*;
use crate::template;

/// The request's geography: first, so the edge writes it per request before
/// the rest, which it compiles once per config version.
pub(super) fn write_geo(geo: &Geo, out: &mut Writer) {
    out.option(geo.country.as_deref(), Writer::text);
    out.option(geo.region.as_deref(), Writer::text);
}

/// Everything but the geography.
pub(super) fn write_config(config: &Config, format: Format, out: &mut Writer) {
    out.option(config.site.as_deref(), Writer::text);
    let groups: Vec<_> = config.saved_groups.iter().collect();
    out.count(groups.len());
    for (name, members) in groups {
        out.text(name);
        out.values(members);
    }
    out.count(config.campaigns.len());
    for campaign in &config.campaigns {
        write_campaign(campaign, format, out);
    }
}

/// A condition in `format`: from format 2 on, a `$regex` of literal
/// alternatives is spelled out as literal tests (format 1 stays as its
/// agents were served it).
fn write_condition(condition: &Condition, format: Format, out: &mut Writer) {
    match format {
        Format::Inline => condition.write_program(out),
        Format::Packed => condition.write_program_spelled_out(out),
    }
}

pub(super) fn read_config(input: &mut Reader<'_>) -> Result<Config<Packed>, Malformed> {
    let geo = Geo {
        country: input.option(Reader::string)?,
        region: input.option(Reader::string)?,
    };
    let site = input.option(Reader::string)?;
    let mut saved_groups = SavedGroups::new();
    for _ in 0..input.count()? {
        let name = input.string()?;
        saved_groups.insert(name, input.values()?);
    }
    let campaigns = input.list(read_campaign)?;
    Ok(Config {
        site,
        origins: Vec::new(),
        campaigns,
        saved_groups,
        geo,
    })
}

fn write_campaign(c: &Campaign, format: Format, out: &mut Writer) {
    let write_content = match format {
        Format::Inline => write_content,
        Format::Packed => write_packed,
    };
    out.text(&c.id);
    out.text(&c.name);
    out.byte(match c.status {
        Status::Active => 0,
        Status::Paused => 1,
        Status::Draft => 2,
    });
    out.option(c.start, Writer::int);
    out.option(c.end, Writer::int);
    out.int(i64::from(c.priority));
    write_trigger(&c.trigger, format, out);
    write_condition(&c.audience, format, out);
    write_content(&c.content, out);
    write_frequency(&c.frequency, out);
    out.count(c.variants.len());
    for v in &c.variants {
        out.text(&v.key);
        out.number(v.weight);
        out.flag(v.control);
        write_content(&v.content, out);
    }
    out.number(c.coverage);
    out.text(&c.hash_attribute);
    out.option(c.goal.as_deref(), Writer::text);
}

fn read_campaign(input: &mut Reader<'_>) -> Result<Campaign<Packed>, Malformed> {
    Ok(Campaign {
        id: input.string()?,
        name: input.string()?,
        status: match input.byte()? {
            0 => Status::Active,
            1 => Status::Paused,
            2 => Status::Draft,
            _ => return input.fail("an unknown status"),
        },
        start: input.option(Reader::int)?,
        end: input.option(Reader::int)?,
        priority: match i32::try_from(input.int()?) {
            Ok(p) => p,
            Err(_) => return input.fail("a priority past 32 bits"),
        },
        trigger: read_trigger(input)?,
        audience: Condition::read_program(input)?,
        content: read_packed(input)?,
        frequency: read_frequency(input)?,
        variants: input.list(|input| {
            Ok(Variant {
                key: input.string()?,
                weight: input.number()?,
                control: input.flag()?,
                content: read_packed(input)?,
            })
        })?,
        coverage: input.number()?,
        hash_attribute: input.string()?,
        goal: input.option(Reader::string)?,
    })
}

fn write_trigger(t: &Trigger, format: Format, out: &mut Writer) {
    match &t.kind {
        TriggerKind::PageView => out.byte(0),
        TriggerKind::ScrollDepth { percent } => {
            out.byte(1);
            out.byte(*percent);
        }
        TriggerKind::ExitIntent {
            min_seconds_on_page,
        } => {
            out.byte(2);
            out.number(*min_seconds_on_page);
        }
        TriggerKind::TimeOnPage { seconds } => {
            out.byte(3);
            out.number(*seconds);
        }
        TriggerKind::TimeOnSite { seconds } => {
            out.byte(4);
            out.number(*seconds);
        }
        TriggerKind::Inactivity { seconds } => {
            out.byte(5);
            out.number(*seconds);
        }
        TriggerKind::Event { name } => {
            out.byte(6);
            out.text(name);
        }
    }
    out.option(t.url.as_ref(), |out, url| match url {
        UrlMatch::Equals(p) => {
            out.byte(0);
            out.text(p);
        }
        UrlMatch::Prefix(p) => {
            out.byte(1);
            out.text(p);
        }
        UrlMatch::Contains(p) => {
            out.byte(2);
            out.text(p);
        }
        UrlMatch::Regex(condition) => {
            out.byte(3);
            write_condition(condition, format, out);
        }
    });
}

fn read_trigger(input: &mut Reader<'_>) -> Result<Trigger, Malformed> {
    let kind = match input.byte()? {
        0 => TriggerKind::PageView,
        1 => TriggerKind::ScrollDepth {
            percent: input.byte()?,
        },
        2 => TriggerKind::ExitIntent {
            min_seconds_on_page: input.number()?,
        },
        3 => TriggerKind::TimeOnPage {
            seconds: input.number()?,
        },
        4 => TriggerKind::TimeOnSite {
            seconds: input.number()?,
        },
        5 => TriggerKind::Inactivity {
            seconds: input.number()?,
        },
        6 => TriggerKind::Event {
            name: input.string()?,
        },
        _ => return input.fail("an unknown trigger"),
    };
    let url = input.option(|input| {
        Ok(match input.byte()? {
            0 => UrlMatch::Equals(input.string()?),
            1 => UrlMatch::Prefix(input.string()?),
            2 => UrlMatch::Contains(input.string()?),
            3 => UrlMatch::Regex(Condition::read_program(input)?),
            _ => return input.fail("an unknown URL test"),
        })
    })?;
    Ok(Trigger { kind, url })
}

/// A content in format 2: its layout and coupon for the agent, then the
/// whole content as a program of its own, for the display module.
fn write_packed(c: &Content, out: &mut Writer) {
    write_layout(&c.layout, out);
    out.option(c.coupon.as_deref(), Writer::text);
    out.bytes(&super::encode_content(c));
}

fn read_packed(input: &mut Reader<'_>) -> Result<Packed, Malformed> {
    Ok(Packed {
        layout: read_layout(input)?,
        coupon: input.option(Reader::string)?,
        bytes: input.bytes()?.to_vec(),
    })
}

/// A packed content with its title's and body's merge fields filled:
/// everything but those two texts is copied as the edge wrote it.
pub(super) fn fill(
    packed: &Packed,
    value_of: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<u8>, Malformed> {
    let bytes = packed.bytes.as_slice();
    let mut input = Reader::new(bytes);
    input.header()?;
    // The session placed the campaign by the outer layout: the display
    // module must draw the same one.
    if read_layout(&mut input)? != packed.layout {
        return input.fail("a content whose layout is not its campaign's");
    }
    let head = bytes.get(..input.at()).unwrap_or_default();
    let (title, body) = (input.text()?, input.text()?);
    let tail = bytes.get(input.at()..).unwrap_or_default();
    let value_of = template::with_coupon(packed.coupon.as_deref(), value_of);
    let mut out = Writer::new();
    out.raw(head);
    out.text(&template::render(title, &value_of));
    out.text(&template::render(body, &value_of));
    out.raw(tail);
    Ok(out.finish())
}

fn write_layout(layout: &Layout, out: &mut Writer) {
    match layout {
        Layout::Modal => out.byte(0),
        Layout::SlideIn => out.byte(1),
        Layout::TopBanner => out.byte(2),
        Layout::BottomBanner => out.byte(3),
        Layout::Inline { selector, position } => {
            out.byte(4);
            out.text(selector);
            out.byte(match position {
                InlinePosition::Append => 0,
                InlinePosition::Prepend => 1,
                InlinePosition::Before => 2,
                InlinePosition::After => 3,
            });
        }
    }
}

fn read_layout(input: &mut Reader<'_>) -> Result<Layout, Malformed> {
    Ok(match input.byte()? {
        0 => Layout::Modal,
        1 => Layout::SlideIn,
        2 => Layout::TopBanner,
        3 => Layout::BottomBanner,
        4 => Layout::Inline {
            selector: input.string()?,
            position: match input.byte()? {
                0 => InlinePosition::Append,
                1 => InlinePosition::Prepend,
                2 => InlinePosition::Before,
                3 => InlinePosition::After,
                _ => return input.fail("an unknown inline position"),
            },
        },
        _ => return input.fail("an unknown layout"),
    })
}

/// A content whole: inline in format 1, and the display module's part of a
/// packed one.
pub(super) fn write_content(c: &Content, out: &mut Writer) {
    write_layout(&c.layout, out);
    out.text(&c.title);
    out.text(&c.body);
    out.option(c.image.as_ref(), |out, image| {
        out.text(&image.src);
        out.text(&image.alt);
    });
    out.option(c.cta.as_ref(), |out, cta| {
        out.text(&cta.label);
        out.option(cta.url.as_deref(), Writer::text);
    });
    out.option(c.form.as_ref(), |out, form| {
        out.flag(form.field == CaptureField::Phone);
        out.text(&form.placeholder);
        out.text(&form.button);
        out.text(&form.success);
    });
    out.option(c.coupon.as_deref(), Writer::text);
    out.flag(c.coupon_sealed);
    out.text(&c.dismiss_label);
    out.option(c.accent.as_deref(), Writer::text);
}

pub(super) fn read_content(input: &mut Reader<'_>) -> Result<Content, Malformed> {
    let layout = read_layout(input)?;
    Ok(Content {
        layout,
        title: input.string()?,
        body: input.string()?,
        image: input.option(|input| {
            Ok(Image {
                src: input.string()?,
                alt: input.string()?,
            })
        })?,
        cta: input.option(|input| {
            Ok(CallToAction {
                label: input.string()?,
                url: input.option(Reader::string)?,
            })
        })?,
        form: input.option(|input| {
            Ok(Form {
                field: if input.flag()? {
                    CaptureField::Phone
                } else {
                    CaptureField::Email
                },
                placeholder: input.string()?,
                button: input.string()?,
                success: input.string()?,
            })
        })?,
        coupon: input.option(Reader::string)?,
        coupon_sealed: input.flag()?,
        dismiss_label: input.string()?,
        accent: input.option(Reader::string)?,
    })
}

fn write_frequency(f: &FrequencyCap, out: &mut Writer) {
    out.option(f.per_session, |out, n| out.count(n as usize));
    out.option(f.per_days, |out, (days, max)| {
        out.count(days as usize);
        out.count(max as usize);
    });
    out.option(f.max_impressions, |out, n| out.count(n as usize));
    out.flag(f.stop_after_conversion);
    out.count(f.snooze_days_after_dismiss as usize);
}

fn read_frequency(input: &mut Reader<'_>) -> Result<FrequencyCap, Malformed> {
    Ok(FrequencyCap {
        per_session: input.option(Reader::small)?,
        per_days: input.option(|input| Ok((input.small()?, input.small()?)))?,
        max_impressions: input.option(Reader::small)?,
        stop_after_conversion: input.flag()?,
        snooze_days_after_dismiss: input.small()?,
    })
}
