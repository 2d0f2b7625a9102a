// A stand-in for Google Tag Manager's gtm.js, which cannot load offline: what
// matters to Nudge is what GTM does to the page. Like GTM, it takes over
// dataLayer.push (calling the push that was there before it, which may be
// Nudge's), processes each entry and keeps the array at most 300 entries long.
(function (w) {
  "use strict";
  var dataLayer = (w.dataLayer = w.dataLayer || []);
  var previous = dataLayer.push;
  var processed = dataLayer.length;
  dataLayer.push = function () {
    var result = previous.apply(dataLayer, arguments);
    processed += arguments.length;
    while (dataLayer.length > 300) dataLayer.shift();
    return result;
  };
  w.google_tag_manager = { "GTM-DEMO": { processed: function () { return processed; } } };
})(window);
