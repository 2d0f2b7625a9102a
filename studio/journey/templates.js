// Starting points for a new journey: blank, or one of the seeds' flows (the
// shapes of demo-shop/campaigns.json, cart abandonment written with the
// "wait for an event" step). A template has no id: the editor names it.

export const JOURNEY_TEMPLATES = [
  {
    key: "blank", title: "Blank", summary: "An event starts it; you add the steps.",
    journey: { name: "", enabled: true, entry: { event: "Product Added" }, steps: [] },
  },
  {
    key: "cart-abandonment", title: "Cart abandonment",
    summary: "Wait up to 4 hours for an order; if none comes, give a coupon and email the cart.",
    journey: {
      name: "Cart abandonment", enabled: true, entry: { event: "Product Added" }, cooldown: { days: 1 },
      exit: { converted_campaigns: ["cart-rescue"] },
      steps: [{ wait_for: { event: "Order Completed", within: { hours: 4 }, then: [], else: [
        { set: { coupon_pool: "cart10", stage: "reminded" } },
        { send: { destination: "email", event: "Cart Abandoned" } },
      ] } }],
    },
  },
  {
    key: "browse-abandonment", title: "Browse abandonment",
    summary: "Three views of one category in a day with an empty cart: an email an hour later.",
    journey: {
      name: "Browse abandonment", enabled: true, entry: { category_views: { min: 3, within_hours: 24 } },
      audience: { "cart.items": 0 }, exit: { goal: "Product Added" }, cooldown: { days: 7 },
      steps: [{ wait: { hours: 1 } }, { send: { destination: "email", event: "Browse Abandoned" } }],
    },
  },
  {
    key: "post-purchase", title: "Post-purchase",
    summary: "Related products by SMS (verified phone) or email after 3 days, a review request after 30.",
    journey: {
      name: "Post-purchase", enabled: true, entry: { event: "Order Completed" },
      steps: [
        { wait: { days: 3 } },
        { branch: { if: { "contact.phone_verified": true },
          then: [{ send: { destination: "sms", event: "Related Products" } }],
          else: [{ send: { destination: "email", event: "Related Products" } }] } },
        { wait: { days: 27 } },
        { send: { destination: "email", event: "Review Requested" } },
      ],
    },
  },
  {
    key: "double-opt-in", title: "Double opt-in",
    summary: "Remind a new subscriber to confirm, twice, until they do.",
    journey: {
      name: "Double opt-in", enabled: true, entry: { event: "Signed Up" }, exit: { goal: "Subscription Confirmed" },
      steps: [
        { wait: { days: 2 } },
        { send: { destination: "email", event: "Confirm Subscription Reminder", purpose: "transactional" } },
        { wait: { days: 5 } },
        { send: { destination: "email", event: "Confirm Subscription Reminder", purpose: "transactional" } },
        { end: true },
      ],
    },
  },
  {
    key: "win-back", title: "Win-back",
    summary: "90 days without a visit: a coupon and two emails, then a sunset tag.",
    journey: {
      name: "Win-back", enabled: true, entry: { inactive_days: 90 }, exit: { goal: "Order Completed" },
      steps: [
        { set: { coupon_pool: "winback15", stage: "invited" } },
        { send: { destination: "email", event: "Win Back" } },
        { wait: { days: 15 } },
        { send: { destination: "email", event: "Win Back Reminder" } },
        { wait: { days: 15 } },
        { set: { tag: "sunset" } },
        { end: true },
      ],
    },
  },
  {
    key: "birthday", title: "Birthday",
    summary: "At 09:00 on the person's birthday: a coupon and an email.",
    journey: {
      name: "Birthday", enabled: true, entry: { date_trait: "birthday" }, cooldown: { days: 300 },
      steps: [{ wait_until: { time: "09:00" } }, { set: { coupon_pool: "birthday" } }, { send: { destination: "email", event: "Happy Birthday" } }],
    },
  },
];

/** A copy of the template `key`, or null. */
export function journeyTemplate(key) {
  const found = JOURNEY_TEMPLATES.find((t) => t.key === key);
  return found ? structuredClone(found.journey) : null;
}
