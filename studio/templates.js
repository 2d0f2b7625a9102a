// Starting points for the seed journeys, in the shapes of demo-shop/campaigns.json.
// A template is a campaign without an id: the marketer names it in the editor.

import { h, replace } from "./ui.js";

export const TEMPLATES = [
  {
    key: "welcome",
    title: "Welcome offer",
    summary: "10% off the first order for an email address, when a new visitor has scrolled a quarter of the page.",
    campaign: {
      name: "Welcome: 10% off the first order for an email",
      priority: 10,
      trigger: { scroll_depth: 25 },
      audience: { "visitor.is_new": true, "orders.count": 0, tags: { $nin: ["subscriber"] } },
      content: {
        layout: "modal",
        title: "Hi {{traits.first_name|there}}! Here is 10% off",
        body: "Join our list and get 10% off your first order.",
        form: { field: "email", placeholder: "you@example.com", button: "Get my 10%", success: "Your code is ready:" },
        coupon: "WELCOME10",
        dismiss_label: "No thanks",
      },
      frequency: { per_session: 1, max_impressions: 3, snooze_days_after_dismiss: 7 },
      goal: "Signed Up",
    },
  },
  {
    key: "cart-rescue",
    title: "Cart rescue",
    summary: "Free shipping when a shopper with a full cart is about to leave the cart page.",
    campaign: {
      name: "Exit intent on the cart",
      priority: 20,
      trigger: { exit_intent: { min_seconds_on_page: 2 }, url: { equals: "/cart" } },
      audience: { "cart.items": { $gte: 1 } },
      content: {
        layout: "modal",
        title: "Wait, your cart is waiting{{traits.first_name|}}",
        body: "Complete your order in the next hour and shipping is on us.",
        cta: { label: "Complete my order", url: "/checkout" },
        coupon: "SHIPFREE",
        dismiss_label: "Keep browsing",
        accent: "#b4232a",
      },
      frequency: { per_session: 1, per_days: { days: 1, max: 2 } },
      goal: "Order Completed",
    },
  },
  {
    key: "returning-customer",
    title: "Returning customer",
    summary: "A welcome-back banner for customers on a later visit.",
    campaign: {
      name: "Welcome back a customer",
      priority: 15,
      trigger: { page_view: true },
      audience: { is_customer: true, "visitor.is_returning": true },
      content: {
        layout: "top_banner",
        body: "Welcome back, {{first_name|friend}}! Free shipping on your next order.",
        dismiss_label: "Dismiss",
      },
      frequency: { per_session: 1 },
    },
  },
  {
    key: "coupon-reminder",
    title: "Coupon reminder",
    summary: "Reminds a visitor of an unused coupon they were sent by email.",
    campaign: {
      name: "Coupon sent by email, not used yet",
      priority: 25,
      trigger: { page_view: true },
      audience: { "coupons.available": { $gte: 1 } },
      content: {
        layout: "bottom_banner",
        body: "Your code {{coupons.latest}} is waiting: use it at checkout.",
        cta: { label: "Go to cart", url: "/cart" },
      },
      frequency: { per_session: 1 },
    },
  },
  {
    key: "browse-abandonment",
    title: "Browse abandonment",
    summary: "A nudge on the third look at a category with nothing in the cart.",
    campaign: {
      name: "Third look at a category, nothing in the cart",
      priority: 5,
      trigger: { page_view: true, url: { prefix: "/category/" } },
      audience: { "page.category_views": { $gte: 3 }, "cart.items": 0 },
      content: {
        layout: "bottom_banner",
        body: "Still deciding? Our best sellers in {{page.category|this category}} ship free today.",
        cta: { label: "See best sellers", url: "/category/bestsellers" },
      },
      frequency: { per_session: 1, per_days: { days: 7, max: 2 } },
    },
  },
  {
    key: "cross-sell",
    title: "Cross-sell after the order",
    summary: "A matching product with a coupon, inside the order confirmation page.",
    campaign: {
      name: "Cross-sell on the order confirmation",
      priority: 10,
      trigger: { page_view: true, url: { equals: "/order-confirmation" } },
      content: {
        layout: "inline",
        selector: "#recommendations",
        title: "Complete the look",
        body: "Wool socks pair with everything you just bought: 20% off for the next 24 hours.",
        image: { src: "/img/socks.svg", alt: "Wool socks" },
        cta: { label: "Add socks", url: "/product/wool-socks" },
        coupon: "SOCKS20",
      },
      frequency: { per_session: 3, stop_after_conversion: false },
    },
  },
  {
    key: "vip",
    title: "VIP banner",
    summary: "Early access for customers with three or more orders.",
    campaign: {
      name: "VIP: three or more orders",
      priority: 30,
      trigger: { page_view: true },
      audience: { "orders.count": { $gte: 3 } },
      content: {
        layout: "top_banner",
        body: "VIP early access: the winter collection is yours 48 hours before everyone else.",
        cta: { label: "Shop early", url: "/category/outerwear" },
        accent: "#6b4e16",
      },
      frequency: { per_session: 1 },
    },
  },
  {
    key: "blank",
    title: "Blank",
    summary: "A modal on page view for everyone; start from scratch.",
    campaign: {
      name: "",
      trigger: { page_view: true },
      content: { layout: "modal", title: "", body: "" },
    },
  },
];

export function template(key) {
  const found = TEMPLATES.find((t) => t.key === key);
  return found ? structuredClone(found.campaign) : null;
}

/** The "New campaign" screen: one card per journey. */
export function renderTemplatePicker(main) {
  const cards = TEMPLATES.map((t) => h("li", { class: "template card" },
    h("h2", {}, h("a", { href: `#/new/${t.key}`, "data-template": t.key }, t.title)),
    h("p", {}, t.summary)));
  replace(main,
    h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Campaigns"), " › New campaign"),
    h("h1", {}, "New campaign"),
    h("p", { class: "muted" }, "Pick a starting point. Everything can be changed in the editor before anything is published."),
    h("ul", { class: "templates" }, cards));
  return null;
}
