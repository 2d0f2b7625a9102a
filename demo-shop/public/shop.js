// Fjell & Fog: a small storefront that behaves like a real one: a catalog,
// a cart kept in localStorage, checkout, and the e-commerce calls a shop
// makes to its analytics. Nothing in it knows about campaigns: those live in
// campaigns.json and the agent.
//
// Three flavours of analytics, picked with ?analytics= (kept for the tab):
// - nudge (default): Segment e-commerce calls to `nudge.*`;
// - gtm: GA4 events pushed to Google Tag Manager's dataLayer, and a GTM
//   stand-in (/gtm.js) that takes over dataLayer.push as GTM does;
// - gtag: GA4 events through gtag().
// The GA4 flavours make no `nudge.*` call: the tag reads their events.
(function () {
  "use strict";
  var CATALOG = [
    { id: "trail-runner", name: "Trail Runner", price: 129, category: "shoes", color: "#9a3412", best: true },
    { id: "city-sneaker", name: "City Sneaker", price: 89, category: "shoes", color: "#57534e" },
    { id: "leather-boot", name: "Fjord Leather Boot", price: 219, category: "shoes", color: "#78350f", best: true },
    { id: "rain-shell", name: "Rain Shell", price: 179, category: "outerwear", color: "#1e3a5f", best: true },
    { id: "down-parka", name: "Down Parka", price: 329, category: "outerwear", color: "#0f172a" },
    { id: "wool-coat", name: "Wool Overcoat", price: 289, category: "outerwear", color: "#44403c" },
    { id: "wool-socks", name: "Merino Socks", price: 19, category: "accessories", color: "#b45309", best: true },
    { id: "beanie", name: "Rib Beanie", price: 29, category: "accessories", color: "#365314" },
    { id: "scarf", name: "Lambswool Scarf", price: 59, category: "accessories", color: "#7f1d1d" },
    { id: "day-pack", name: "Day Pack 22L", price: 119, category: "accessories", color: "#134e4a" }
  ];
  var byId = function (id) { return CATALOG.filter(function (p) { return p.id === id; })[0]; };
  var money = function (n) { return "$" + n.toFixed(2); };
  var flavour = (function () {
    try {
      var asked = new URLSearchParams(location.search).get("analytics");
      if (asked) sessionStorage.setItem("shop:analytics", asked);
      return sessionStorage.getItem("shop:analytics") || "nudge";
    } catch (e) { return "nudge"; }
  })();
  var analytics = flavour === "nudge" ? segment(window.nudge) : ga4(flavour);

  // Segment's e-commerce spec, as `nudge.*` calls.
  function segment(nudge) {
    return {
      page: function (props) { nudge.page(props); },
      list: function (category, products) {
        nudge.track("Product List Viewed", { category: category, products: products.map(function (p) { return { product_id: p.id }; }) });
      },
      view: function (p) { nudge.track("Product Viewed", { product_id: p.id, name: p.name, price: p.price, category: p.category }); },
      add: function (p) { nudge.track("Product Added", { product_id: p.id, name: p.name, price: p.price, quantity: 1, category: p.category }); },
      cart: function (lines) { nudge.track("Cart Viewed", { products: cartProducts(lines), value: total(lines) }); },
      checkout: function (lines) { nudge.track("Checkout Started", { products: cartProducts(lines), value: total(lines) }); },
      order: function (orderId, lines, coupon, form) {
        nudge.identify({ first_name: form.first_name.value, email: form.email.value });
        nudge.track("Order Completed", {
          order_id: orderId, total: total(lines), currency: "USD", coupon: coupon || undefined, products: cartProducts(lines)
        });
      }
    };
  }

  // GA4's recommended events, through GTM's dataLayer or gtag().
  function ga4(kind) {
    var dataLayer = (window.dataLayer = window.dataLayer || []);
    var gtag = function () { dataLayer.push(arguments); };
    if (kind === "gtag") {
      gtag("js", new Date());
      gtag("config", "G-DEMO0000");
    } else {
      dataLayer.push({ "gtm.start": Date.now(), event: "gtm.js" });
      var gtm = document.createElement("script");
      gtm.src = "/gtm.js";
      gtm.async = true;
      document.head.appendChild(gtm);
    }
    var event = function (name, params) {
      if (kind === "gtag") return gtag("event", name, params);
      dataLayer.push({ ecommerce: null }); // GTM's reset, as Google's guide shows
      dataLayer.push({ event: name, ecommerce: params });
    };
    var item = function (p, quantity) {
      return { item_id: p.id, item_name: p.name, item_category: p.category, price: p.price, quantity: quantity || 1 };
    };
    var items = function (lines) { return lines.map(function (l) { return item(byId(l.id), l.quantity); }); };
    return {
      page: function (props) {
        if (kind === "gtag") gtag("set", { page_type: props.type });
        else dataLayer.push({ page_type: props.type });
      },
      list: function (category, products) {
        event("view_item_list", { item_list_id: category, item_list_name: category, items: products.map(function (p) { return item(p); }) });
      },
      view: function (p) { event("view_item", { currency: "USD", value: p.price, items: [item(p)] }); },
      add: function (p) { event("add_to_cart", { currency: "USD", value: p.price, items: [item(p)] }); },
      cart: function (lines) { event("view_cart", { currency: "USD", value: total(lines), items: items(lines) }); },
      checkout: function (lines) { event("begin_checkout", { currency: "USD", value: total(lines), items: items(lines) }); },
      order: function (orderId, lines, coupon) {
        event("purchase", { transaction_id: orderId, currency: "USD", value: total(lines), coupon: coupon || undefined, items: items(lines) });
      }
    };
  }

  function readCart() {
    try { return JSON.parse(localStorage.getItem("shop:cart")) || []; } catch (e) { return []; }
  }
  function writeCart(cart) {
    localStorage.setItem("shop:cart", JSON.stringify(cart));
    document.getElementById("cart-count").textContent = cart.reduce(function (n, l) { return n + l.quantity; }, 0);
  }
  function cartProducts(cart) {
    return cart.map(function (line) {
      var p = byId(line.id);
      return { product_id: p.id, name: p.name, price: p.price, quantity: line.quantity, category: p.category };
    });
  }
  function total(cart) {
    return cartProducts(cart).reduce(function (sum, p) { return sum + p.price * p.quantity; }, 0);
  }

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { if (k === "text") e.textContent = attrs[k]; else e.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { e.appendChild(c); });
    return e;
  }
  function card(p) {
    return el("div", { class: "card" }, [el("a", { href: "/product/" + p.id }, [
      el("div", { class: "swatch", style: "background:" + p.color }),
      el("strong", { text: p.name }), el("div", { text: money(p.price) })
    ])]);
  }
  // A grid the page's HTML already lays out with placeholder cards (the home
  // page's) is filled in place: the same boxes, so nothing below it moves.
  function fill(id, products) {
    var target = document.getElementById(id);
    if (!target) return;
    while (target.firstChild) target.removeChild(target.firstChild);
    products.forEach(function (p) { target.appendChild(card(p)); });
  }

  var page = document.body.getAttribute("data-page");
  var path = location.pathname;
  writeCart(readCart());

  if (page === "home") {
    analytics.page({ type: "home" });
    fill("featured", CATALOG.filter(function (p) { return p.best; }));
    fill("new", CATALOG.slice(4, 8));
  }

  if (page === "category") {
    var category = decodeURIComponent(path.split("/")[2] || "");
    var products = category === "bestsellers"
      ? CATALOG.filter(function (p) { return p.best; })
      : CATALOG.filter(function (p) { return p.category === category; });
    document.getElementById("category-title").textContent = category.charAt(0).toUpperCase() + category.slice(1);
    document.getElementById("category-lede").textContent = products.length + " products";
    document.title = category + " · Fjell & Fog";
    analytics.page({ type: "category", category: category });
    analytics.list(category, products);
    fill("products", products);
  }

  if (page === "product") {
    var product = byId(path.split("/")[2]) || CATALOG[0];
    document.title = product.name + " · Fjell & Fog";
    analytics.page({ type: "product", category: product.category, product_id: product.id });
    analytics.view(product);
    var add = el("button", { class: "button", type: "button", id: "add-to-cart", text: "Add to cart" });
    add.addEventListener("click", function () {
      var cart = readCart();
      var line = cart.filter(function (l) { return l.id === product.id; })[0];
      if (line) line.quantity += 1; else cart.push({ id: product.id, quantity: 1 });
      writeCart(cart);
      add.textContent = "Added ✓";
      analytics.add(product);
    });
    var article = document.getElementById("product");
    article.appendChild(el("div", { class: "swatch", style: "background:" + product.color }));
    article.appendChild(el("div", {}, [
      el("h1", { text: product.name }), el("p", { class: "price", text: money(product.price) }),
      el("p", { text: "Designed in Bergen. Repaired for the cost of shipping, for as long as you own it." }), add
    ]));
    fill("related", CATALOG.filter(function (p) { return p.category === product.category && p.id !== product.id; }));
  }

  if (page === "cart") {
    var cart = readCart();
    analytics.page({ type: "cart" });
    analytics.cart(cart);
    var box = document.getElementById("cart");
    if (!cart.length) {
      box.appendChild(el("p", { text: "Your cart is empty." }));
    } else {
      var rows = cartProducts(cart).map(function (p) {
        return el("tr", {}, [el("td", { text: p.name }), el("td", { text: String(p.quantity) }), el("td", { text: money(p.price * p.quantity) })]);
      });
      box.appendChild(el("table", {}, [el("tbody", {}, rows)]));
      box.appendChild(el("p", { text: "Total: " + money(total(cart)) }));
      box.appendChild(el("a", { class: "button", href: "/checkout", id: "to-checkout", text: "Checkout" }));
    }
  }

  if (page === "checkout") {
    var lines = readCart();
    analytics.page({ type: "checkout" });
    analytics.checkout(lines);
    document.getElementById("checkout-summary").textContent = lines.length ? "Order total: " + money(total(lines)) : "Your cart is empty.";
    document.getElementById("checkout").addEventListener("submit", function (event) {
      event.preventDefault();
      var form = event.target;
      var cartNow = readCart();
      var orderId = "FF-" + Date.now().toString(36).toUpperCase();
      analytics.order(orderId, cartNow, form.coupon.value, form);
      writeCart([]);
      sessionStorage.setItem("shop:last-order", orderId);
      // Let the agent hand its events to the network before we navigate.
      setTimeout(function () { location.href = "/order-confirmation"; }, 50);
    });
  }

  if (page === "confirmation") {
    analytics.page({ type: "confirmation" });
    var order = sessionStorage.getItem("shop:last-order");
    if (order) document.getElementById("order-summary").textContent = "Order " + order + " is confirmed. A receipt is on its way.";
  }
})();
