/*! Nudge loader (MIT). Instantiates the Nudge agent (WebAssembly) without
    blocking the page, and never throws into it: if WebAssembly, the network or
    a Content-Security-Policy says no, the shop works exactly as without us. */
(function (w, d) {
  "use strict";
  var script = d.currentScript;
  var api = (w.nudge = w.nudge || []);
  if (!script || api.loaded) return; // no tag to read, or loaded twice
  api.loaded = true;
  var agent = null;
  var queue = [];
  var data = function (name) { return script.getAttribute("data-" + name); };
  var debug = data("debug") !== null || /[?&]nudge_debug=1/.test(location.search);
  var report = function (what, err) { if (debug) console.warn("[nudge] " + what, err); };

  // `nudge.on(name, cb)` works at once: it listens for our DOM events.
  var on = function (name, cb) {
    if (typeof cb === "function") w.addEventListener("nudge:" + name, function (e) {
      try { cb(e.detail); } catch (err) { report("nudge.on(" + name + ") callback threw", err); }
    });
    return api;
  };

  // Calls queued by the optional stub (`nudge.push(['track', ...])`). Its
  // `on` callbacks listen from now, before anything can be shown: a campaign
  // decided on the first page view reaches them too.
  for (var i = 0; i < api.length; i++) {
    if (api[i] && api[i][0] === "on") on(api[i][1], api[i][2]);
    else queue.push(api[i]);
  }
  ["page", "track", "identify", "consent", "reset"].forEach(function (m) {
    api[m] = function () {
      var args = [].slice.call(arguments);
      if (!agent) queue.push([m].concat(args));
      else try { agent[m](args[0], args[1], args[2]); } catch (err) { report(m + " failed", err); }
      return api;
    };
  });
  api.on = on;
  api.debug = function () { return agent ? agent.debug() : null; };
  api.push = function (call) { api[call[0]].apply(api, call.slice(1)); };

  if (!w.WebAssembly || !w.fetch || !w.Promise) return; // old browser: nothing to do

  // The shop's GA4 events (agent/src/datalayer.rs): GTM pushes and gtag()
  // calls on window.dataLayer, each handed to the agent once, in order. Our
  // push wraps whatever push is there and hands its entries over before
  // calling it (so what GTM pushes while handling one comes after it); GTM,
  // loading before or after us, wraps push the same way and calls ours. A
  // sweep every second finds what a push that does not chain, or a new array,
  // kept from us; a WeakSet remembers the entries seen so the sweep takes each
  // once. Never more than the last 300 (GTM's own bound) per look.
  var early = [];
  var layer = function () {
    var seen = new WeakSet(), hooked = new WeakSet(), timer;
    var take = function (list, i, again) {
      try {
        var entry = list[i];
        if (!entry || typeof entry !== "object" || (!again && seen.has(entry))) return;
        seen.add(entry);
        // gtag() pushes its arguments object: the agent reads it as an array.
        if (Object.prototype.toString.call(entry) === "[object Arguments]") entry = [].slice.call(entry, 0, 3);
        if (agent) agent.dataLayer(entry);
        else if (early.push(entry) > 300) early.shift();
      } catch (err) { report("dataLayer entry skipped", err); }
    };
    var sweep = function () {
      if (api.failed) return clearInterval(timer);
      try {
        // Made if missing, as GTM's and gtag's snippets do (`w.dataLayer =
        // w.dataLayer || []`): a theme's pushes then reach our push at once.
        if (w.dataLayer === undefined) w.dataLayer = [];
        var list = w.dataLayer, inner = list && list.push;
        if (!Array.isArray(list) || typeof inner !== "function") return;
        if (!hooked.has(list)) {
          hooked.add(list);
          list.push = function () {
            // A push is an action, even of an object pushed before: again.
            for (var i = 0; i < arguments.length && i < 300; i++) take(arguments, i, true);
            return inner.apply(this, arguments);
          };
        }
        var n = list.length; // read once: a hostile length cannot keep us looping
        if (!(n > 0 && n < 4294967296)) return;
        for (var j = Math.max(0, n - 300); j < n; j++) take(list, j);
      } catch (err) { report("dataLayer unavailable", err); }
    };
    sweep();
    timer = setInterval(sweep, 1000);
    w.addEventListener("pagehide", sweep); // before the agent sends what is queued
  };
  if (data("datalayer") !== "off" && w.WeakSet) layer();

  var src = script.src;
  var site = data("site") || "default";
  var at = function (path) { return new URL(path, src).href; };
  var collect = data("collect");

  // Events and profile requests carry same-origin cookies only: an edge served on
  // the shop's own origin may keep the anonymous id in an HttpOnly cookie.
  // Sends a body; resolves to [HTTP status (0 on network error), answer text],
  // never rejects. text/plain keeps it a CORS "simple request": no preflight.
  var post = function (url, body, beacon) {
    try {
      if (beacon && navigator.sendBeacon && navigator.sendBeacon(url, new Blob([body], { type: "text/plain" })))
        return Promise.resolve([202, ""]);
      return fetch(url, {
        method: "POST", body: body, credentials: "same-origin", keepalive: body.length < 60000,
        headers: { "content-type": "text/plain" }
      }).then(function (r) { return r.text().then(function (t) { return [r.status, t]; }); })
        .catch(function () { return [0, ""]; });
    } catch (err) { return Promise.resolve([0, ""]); }
  };

  // Reads a URL as text, with optional request headers; resolves to null on
  // any failure, never rejects.
  var get = function (url, headers) {
    try {
      return fetch(url, { credentials: "same-origin", headers: headers || {} })
        .then(function (r) { return r.ok ? r.text() : null; }).catch(function () { return null; });
    } catch (err) { return Promise.resolve(null); }
  };

  var configUrl = data("config") || at("/v1/config?site=" + encodeURIComponent(site));

  // A preview link from the studio (?nudge_preview=<token>): the token leaves
  // the address bar at once (before the hook below: no page view), and the
  // edge's answer, [status, text], goes to the agent (agent/src/preview.rs).
  // A preview's tab (a link, or one kept in sessionStorage) runs the studio's
  // build, the only one with preview code, and so does debug mode: the shops'
  // build carries no words for the console. Visitors never download it.
  var preview = null, build = "";
  try {
    var here = new URL(location.href), token = here.searchParams.get("nudge_preview");
    if (token !== null) {
      here.searchParams.delete("nudge_preview");
      history.replaceState(history.state, "", here.href);
      preview = fetch(new URL("/v1/preview?site=" + encodeURIComponent(site) + "&token=" + encodeURIComponent(token), new URL(configUrl, location.href)).href, { credentials: "omit" })
        .then(function (r) { return r.text().then(function (t) { return [r.status, t]; }); })
        .catch(function () { return [0, ""]; });
    }
    if (preview || debug || sessionStorage.getItem("nudge_preview")) build = "/studio/agent/";
  } catch (err) { report("preview unavailable", err); }

  // Single-page apps: turn history changes into an event the agent listens to.
  ["pushState", "replaceState"].forEach(function (name) {
    var original = history[name];
    history[name] = function () {
      var result = original.apply(this, arguments);
      try { w.dispatchEvent(new Event("nudge:locationchange")); } catch (err) { /* never break navigation */ }
      return result;
    };
  });

  var local = collect === "off";
  var endpoint = function (path) { return local ? "off" : at(path + "?site=" + encodeURIComponent(site)); };
  var options = {
    site: site, debug: debug, post: post, get: get,
    collect: local ? "off" : collect || endpoint("/v1/events"),
    profile: data("profile") || endpoint("/v1/profile"), identify: data("identify") || endpoint("/v1/identify"),
    consent: data("consent"), spa: data("spa"), country: data("country")
  };
  // The site's campaigns as the edge compiled them for agents (core::program):
  // bytes the agent executes, with no JSON reader or validator of its own. The
  // format is the one this build's agent reads (core::program::FORMAT; an edge
  // test checks this line).
  var config = fetch(configUrl + (configUrl.indexOf("?") < 0 ? "?" : "&") + "program=2", { credentials: "omit" })
    .then(function (r) {
      // A refusal says why (an origin the site does not list, an unknown site).
      if (!r.ok) return r.text().then(function (t) { throw new Error("HTTP " + r.status + " " + t.slice(0, 200)); });
      return r.arrayBuffer().then(function (b) { return new Uint8Array(b); });
    })
    .catch(function (err) { report("config unavailable; running with no campaigns", err); return new Uint8Array(0); });
  // The build's content hash (set by `cargo xtask build-agent`): the edge
  // serves these two files as immutable under it, so a returning visitor
  // downloads them once per build.
  var v = typeof NUDGE_BUILD === "string" ? "?v=" + NUDGE_BUILD : "";
  var load = function (name) {
    return import(at(name + ".js" + v)).then(function (m) {
      return m.default({ module_or_path: at(name + "_bg.wasm" + v) }).then(function () { return m; });
    });
  };
  var wasm = load(build + "nudge_agent");
  // The display module (render/: popups, banners, forms, coupons), which a
  // page view that shows nothing never downloads. The agent asks for it with
  // ui(false) when a campaign waits for its trigger (fetched when the
  // browser is idle, so it is here when the trigger fires) and ui(true) when
  // a campaign shows before it arrived. One promise per attempt, resolving
  // to the module or null, never rejecting; after a failure the next ask
  // tries again.
  var ui = null, uiGo = null;
  options.ui = function (now) {
    if (!ui) ui = new Promise(function (resolve) {
      var started = false;
      uiGo = function () {
        if (started) return;
        started = true;
        load("nudge_render").then(resolve, function (err) {
          report("campaign display unavailable", err);
          ui = null;
          resolve(null);
        });
      };
      if (now) return;
      if (w.requestIdleCallback) requestIdleCallback(uiGo, { timeout: 2000 });
      else setTimeout(uiGo, 200); // Safari
    });
    if (now) uiGo();
    return ui;
  };
  // The shop's deferred scripts, which may call `nudge.page` with the page's
  // properties, run after readyState turns "interactive" and before
  // DOMContentLoaded: starting in between would count the page twice (the
  // agent's own page view, then the shop's, closing what the first showed).
  // So wait for that event unless it has passed; `load` backs it up.
  var domReady = new Promise(function (resolve) {
    // The navigation entry only where the state alone cannot say: the
    // browser's first read of it can take milliseconds.
    var contentLoaded = function () {
      var nav = w.performance && performance.getEntriesByType && performance.getEntriesByType("navigation")[0];
      return !nav || nav.domContentLoadedEventStart > 0;
    };
    var passed = d.readyState === "complete" || (d.readyState === "interactive" && contentLoaded());
    if (passed) return resolve();
    d.addEventListener("DOMContentLoaded", resolve);
    w.addEventListener("load", resolve);
  });

  // Debug mode: the program carries no problem messages (they would cost
  // every visitor bytes); the studio's build, which debug mode runs, reads the
  // config's JSON and names each problem.
  var explain = function (m) {
    get(configUrl).then(function (text) {
      if (text !== null) m.validateConfig(text).forEach(function (p) {
        console.warn("[nudge] config: " + (p.path ? p.path + ": " : "") + p.message);
      });
    }).catch(function (err) { report("config messages unavailable", err); });
  };

  Promise.all([wasm, config, domReady, preview]).then(function (r) {
    var started = performance.now();
    if (r[3]) options.preview = r[3];
    agent = r[0].start(options, r[1]);
    if (debug) explain(r[0]);
    // GA4 entries from before now describe this page: the agent holds them
    // for the first page view (agent/src/datalayer.rs).
    early.splice(0).forEach(function (entry) {
      try { agent.dataLayer(entry); } catch (err) { report("dataLayer entry skipped", err); }
    });
    var explicitPage = queue.some(function (call) { return call[0] === "page"; });
    if (!explicitPage) agent.page({});
    queue.splice(0).forEach(function (call) {
      try { api.push(call); } catch (err) { report("queued call skipped", err); }
    });
    api.ready = { startMs: performance.now() - started, at: performance.now() };
    w.dispatchEvent(new CustomEvent("nudge:ready", { detail: api.ready }));
  }).catch(function (err) { api.failed = true; report("agent unavailable; the page is unaffected", err); });
})(window, document);
