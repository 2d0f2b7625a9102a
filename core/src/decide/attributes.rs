//! The attributes a decision sees: what audience conditions and merge
//! fields read about the visitor, built from the profile, the page and the
//! geography at one instant ([`build_attributes`]), and the query string's
//! pairs ([`query_pairs`]) the page's UTM attributes come from.

use super::PageState;
use crate::condition::Attributes;
use crate::config::Geo;
use crate::prelude::*;
use crate::profile::Profile;
use crate::time::Millis;
use crate::value::Map;

/// The attributes audience conditions and merge fields see. Documented for
/// marketers in README.md ("Audience attributes").
pub fn build_attributes(profile: &Profile, page: &PageState, geo: &Geo, now: Millis) -> Attributes {
    let mut a = Attributes::new();
    a.insert(
        "id",
        profile.user_id.as_deref().unwrap_or(&profile.anonymous_id),
    );
    a.insert("anonymous_id", profile.anonymous_id.as_str());
    a.insert("user_id", profile.user_id.clone());

    let seconds_on_site = profile.seconds_on_site + page.seconds_on_page(now);
    let mut visitor = Map::new();
    visitor.insert("is_new", profile.sessions <= 1 && profile.orders == 0);
    visitor.insert("is_returning", profile.sessions > 1);
    visitor.insert("sessions", profile.sessions);
    visitor.insert("page_views", profile.page_views);
    visitor.insert("session_page_views", profile.session_page_views);
    visitor.insert("seconds_on_site", crate::float::floor(seconds_on_site));
    visitor.insert(
        "max_scroll_depth",
        u32::from(profile.max_scroll_depth.max(page.max_scroll)),
    );
    visitor.insert(
        "days_since_first_visit",
        crate::profile::days_between(profile.first_seen, now),
    );
    a.insert("visitor", visitor);
    a.insert("is_customer", profile.is_customer());

    let mut cart = Map::new();
    cart.insert("items", profile.cart.items);
    cart.insert(
        "value",
        crate::float::round(profile.cart.value * 100.0) / 100.0,
    );
    a.insert("cart", cart);

    let mut orders = Map::new();
    orders.insert("count", profile.orders);
    orders.insert(
        "total_spent",
        crate::float::round(profile.total_spent * 100.0) / 100.0,
    );
    orders.insert(
        "days_since_last",
        profile
            .last_order_at
            .map(|at| crate::profile::days_between(at, now)),
    );
    a.insert("orders", orders);

    a.insert("traits", profile.traits.clone());
    a.insert("tags", profile.tags.clone());
    a.insert("segments", profile.segments.clone());
    let usable: Vec<&str> = profile
        .usable_coupons(now)
        .map(|c| c.code.as_str())
        .collect();
    let mut coupons = Map::new();
    coupons.insert("available", usable.len() as u32);
    coupons.insert("latest", usable.last().copied());
    a.insert("coupons", coupons);

    let mut consent = Map::new();
    consent.insert("analytics", profile.consent.analytics);
    consent.insert("marketing", profile.consent.marketing);
    a.insert("consent", consent);

    let ctx = &page.context;
    let mut p = Map::new();
    p.insert("url", ctx.url.as_str());
    p.insert("path", ctx.path.as_str());
    p.insert("search", ctx.search.as_str());
    p.insert("referrer", ctx.referrer.as_str());
    p.insert("title", ctx.title.as_str());
    p.insert("type", page.page_type.clone());
    p.insert("category", page.category.clone());
    p.insert(
        "category_views",
        page.category
            .as_deref()
            .map_or(0, |c| profile.category_views(c)),
    );
    p.insert("product_id", page.product_id.clone());
    p.insert("scroll_depth", u32::from(page.max_scroll));
    p.insert("seconds", crate::float::floor(page.seconds_on_page(now)));
    a.insert("page", p);

    let mut utm = Map::new();
    for (key, value) in query_pairs(&ctx.search) {
        if let Some(name) = key.strip_prefix("utm_") {
            if ["source", "medium", "campaign", "term", "content"].contains(&name) {
                utm.insert(name, value);
            }
        }
    }
    a.insert("utm", utm);

    let mut device = Map::new();
    device.insert("type", page.device.kind.name());
    device.insert("language", page.device.language.as_str());
    device.insert("width", page.device.viewport_width);
    device.insert("touch", page.device.touch);
    a.insert("device", device);

    let mut g = Map::new();
    g.insert("country", geo.country.clone());
    g.insert("region", geo.region.clone());
    a.insert("geo", g);

    let mut campaigns = Map::new();
    for h in &profile.campaigns {
        let mut c = Map::new();
        c.insert("shown", h.total_impressions);
        c.insert("dismissed", h.dismissed_at.is_some());
        c.insert("converted", h.converted_at.is_some());
        campaigns.insert(h.id.as_str(), c);
    }
    a.insert("campaigns", campaigns);
    a
}

/// `key=value` pairs of a query string (`?` optional), with `+` and `%xx` decoded.
pub fn query_pairs(search: &str) -> impl Iterator<Item = (String, String)> + '_ {
    search
        .trim_start_matches('?')
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(text.get(i + 1..i + 3).unwrap_or(""), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
