// Fjell & Fog: a small storefront that behaves like a real one: a catalog,
// a cart kept in localStorage, checkout, and the Segment e-commerce calls a
// shop makes to its analytics (here: Nudge). Nothing in it knows about
// campaigns: those live in campaigns.json and the agent.
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
  var nudge = window.nudge;

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
  function fill(id, products) {
    var target = document.getElementById(id);
    if (target) products.forEach(function (p) { target.appendChild(card(p)); });
  }

  var page = document.body.getAttribute("data-page");
  var path = location.pathname;
  writeCart(readCart());

  if (page === "home") {
    nudge.page({ type: "home" });
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
    nudge.page({ type: "category", category: category });
    nudge.track("Product List Viewed", { category: category, products: products.map(function (p) { return { product_id: p.id }; }) });
    fill("products", products);
  }

  if (page === "product") {
    var product = byId(path.split("/")[2]) || CATALOG[0];
    document.title = product.name + " · Fjell & Fog";
    nudge.page({ type: "product", category: product.category, product_id: product.id });
    nudge.track("Product Viewed", { product_id: product.id, name: product.name, price: product.price, category: product.category });
    var add = el("button", { class: "button", type: "button", id: "add-to-cart", text: "Add to cart" });
    add.addEventListener("click", function () {
      var cart = readCart();
      var line = cart.filter(function (l) { return l.id === product.id; })[0];
      if (line) line.quantity += 1; else cart.push({ id: product.id, quantity: 1 });
      writeCart(cart);
      add.textContent = "Added ✓";
      nudge.track("Product Added", { product_id: product.id, name: product.name, price: product.price, quantity: 1, category: product.category });
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
    nudge.page({ type: "cart" });
    nudge.track("Cart Viewed", { products: cartProducts(cart), value: total(cart) });
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
    nudge.page({ type: "checkout" });
    nudge.track("Checkout Started", { products: cartProducts(lines), value: total(lines) });
    document.getElementById("checkout-summary").textContent = lines.length ? "Order total: " + money(total(lines)) : "Your cart is empty.";
    document.getElementById("checkout").addEventListener("submit", function (event) {
      event.preventDefault();
      var form = event.target;
      var cartNow = readCart();
      var orderId = "FF-" + Date.now().toString(36).toUpperCase();
      nudge.identify({ first_name: form.first_name.value, email: form.email.value });
      nudge.track("Order Completed", {
        order_id: orderId, total: total(cartNow), currency: "USD", coupon: form.coupon.value || undefined, products: cartProducts(cartNow)
      });
      writeCart([]);
      sessionStorage.setItem("shop:last-order", orderId);
      // Let the agent hand its events to the network before we navigate.
      setTimeout(function () { location.href = "/order-confirmation"; }, 50);
    });
  }

  if (page === "confirmation") {
    nudge.page({ type: "confirmation" });
    var order = sessionStorage.getItem("shop:last-order");
    if (order) document.getElementById("order-summary").textContent = "Order " + order + " is confirmed. A receipt is on its way.";
  }
})();
