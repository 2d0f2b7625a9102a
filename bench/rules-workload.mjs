// The rule-engine workload shared by every engine under test: 100 realistic
// campaign targeting conditions (GrowthBook/Mongo syntax, as marketers write
// them for Nudge) and 1,000 visitor profiles, from a fixed seed so every run
// and every engine sees the same data.
//
//   node bench/rules-workload.mjs > target/bench/rules.json
export function workload(seed = 20261123) {
  let state = seed >>> 0;
  const rand = () => { state = (state * 1664525 + 1013904223) >>> 0; return state / 2 ** 32; };
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

  const countries = ["US", "CA", "GB", "DE", "FR", "NL", "SE", "AU", "JP", "BR"];
  const categories = ["shoes", "bags", "coats", "hats", "socks", "scarves"];
  const sources = ["email", "google", "facebook", "instagram", "direct", "sms"];
  const tags = ["subscriber", "vip", "wholesale", "returning", "bargain"];
  const paths = ["/", "/cart", "/checkout", "/category/shoes", "/category/bags", "/product/p-17", "/product/p-4"];

  // One marketer's rule each: audiences, carts, loyalty, traffic source, page.
  const shapes = [
    () => ({ "geo.country": { $in: [pick(countries), pick(countries)] } }),
    () => ({ "cart.value": { $gte: int(20, 150) }, orders: 0 }),
    () => ({ $or: [{ tags: { $elemMatch: { $eq: pick(tags) } } }, { total_spent: { $gt: int(100, 900) } }] }),
    () => ({ "page.path": { $regex: `^/(category|product)/` } }),
    () => ({ "device.type": pick(["mobile", "desktop"]), sessions: { $gt: int(1, 4) } }),
    () => ({ $and: [{ "utm.source": pick(sources) }, { "traits.email": { $exists: true } }] }),
    () => ({ categories_viewed: { $all: [pick(categories)] } }),
    () => ({ $not: { "geo.country": pick(countries) } }),
    () => ({ orders: { $gte: int(2, 4) }, days_since_last_order: { $lt: int(14, 60) } }),
    () => ({ "cart.items": { $size: { $gt: int(0, 3) } }, "page.path": "/cart" }),
    () => ({ seconds_on_site: { $gt: int(30, 300) }, "scroll.max": { $gte: pick([25, 50, 75]) } }),
    () => ({ $or: [{ "geo.region": { $in: ["ON", "QC", "BC"] } }, { "geo.country": "US", "cart.value": { $lt: int(30, 80) } }] }),
    () => ({ "traits.first_name": { $exists: true }, "coupons.active": { $size: 0 } }),
    () => ({ "utm.campaign": { $regex: pick(["spring", "sale", "vip"]) }, returning: true }),
  ];
  const conditions = Array.from({ length: 100 }, () => {
    const shape = pick(shapes)();
    return rand() < 0.3 ? { ...shape, ...pick(shapes)() } : shape;
  });

  const profiles = Array.from({ length: 1000 }, () => {
    const orders = rand() < 0.6 ? 0 : int(1, 8);
    const items = Array.from({ length: int(0, 4) }, () => ({ product_id: `p-${int(1, 40)}`, price: int(5, 90) }));
    const profile = {
      geo: { country: pick(countries), region: pick(["ON", "QC", "CA", "NY", "BY", ""]) },
      device: { type: pick(["mobile", "desktop", "tablet"]) },
      page: { path: pick(paths) },
      cart: { value: items.reduce((s, i) => s + i.price, 0), items },
      orders, total_spent: orders * int(20, 140), days_since_last_order: orders ? int(1, 200) : null,
      sessions: int(1, 12), seconds_on_site: int(0, 1800), returning: rand() < 0.5,
      scroll: { max: pick([0, 25, 50, 75, 100]) },
      tags: tags.filter(() => rand() < 0.25),
      categories_viewed: categories.filter(() => rand() < 0.3),
      utm: { source: pick(sources), campaign: pick(["spring-sale", "vip-week", "none", ""]) },
      traits: rand() < 0.4 ? { email: "a@example.com", first_name: "Ada" } : {},
      coupons: { active: rand() < 0.2 ? ["SAVE10"] : [] },
    };
    if (profile.days_since_last_order === null) delete profile.days_since_last_order;
    return profile;
  });
  return { conditions, profiles };
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(JSON.stringify(workload()));
