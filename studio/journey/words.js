// What journeys know about a person (the edge's attributes, docs/journeys.md
// "Attributes"), for audiences and branches: [name, type, words], as the
// campaign rule builder's list is.

export const PERSON_ATTRIBUTES = [
  ["is_customer", "bool", "Has ordered before"],
  ["orders.count", "number", "Orders"],
  ["orders.total_spent", "number", "Total spent"],
  ["orders.days_since_last", "number", "Days since the last order"],
  ["cart.items", "number", "Items in the cart"],
  ["cart.value", "number", "Cart value"],
  ["tags", "list", "Tags"],
  ["segments", "list", "Segments (tags and journey stages)"],
  ["coupons.available", "number", "Unused coupons"],
  ["coupons.latest", "string", "Latest unused coupon code"],
  ["consent.marketing", "bool", "Consented to marketing"],
  ["consent.analytics", "bool", "Consented to analytics"],
  ["contact.has_email", "bool", "Has an email address"],
  ["contact.has_phone", "bool", "Has a phone number"],
  ["contact.phone_verified", "bool", "Phone number verified"],
  ["id", "string", "Person id (user id once known)"],
  ["user_id", "string", "The shop's user id"],
];

/** What starts a run, in the form's words: the entry's one key. */
export const ENTRY_KINDS = {
  event: { label: "When the person sends an event", make: () => ({ event: "Product Added" }) },
  category_views: { label: "When the person views one category several times", make: () => ({ category_views: { min: 3, within_hours: 24 } }) },
  inactive_days: { label: "When the person has not visited for some days", make: () => ({ inactive_days: 90 }) },
  date_trait: { label: "On the day of a date the shop knows (a birthday)", make: () => ({ date_trait: "birthday" }) },
};

/** Properties shops commonly send with their events, for an entry's filter. */
export const EVENT_PROPERTIES = [
  ["product_id", "string", "Product id"],
  ["name", "string", "Product name"],
  ["category", "string", "Category"],
  ["price", "number", "Price"],
  ["quantity", "number", "Quantity"],
  ["value", "number", "Value"],
  ["total", "number", "Order total"],
  ["currency", "string", "Currency"],
  ["coupon", "string", "Coupon used"],
];

/** How a run ended (the edge's `exited_<reason>` counters), in words. */
export const EXIT_WORDS = {
  exited_goal: "Reached the goal", exited_completed: "Completed", exited_end: "Ended by a step",
  exited_edited: "Ended by an edit", exited_disabled: "Ended when turned off", exited_removed: "Ended when removed",
  exited_merged: "Ended by a merge",
};
