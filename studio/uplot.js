// uPlot, the studio's charting library (vendored from npm into
// /studio/vendor by build-edge), loaded once when a chart is first drawn.

import { h } from "./ui.js";

let uplotLoading = null;
/** uPlot from vendor/ (a classic script); resolves null if it is not there. */
export function loadUplot() {
  if (!uplotLoading) {
    uplotLoading = new Promise((resolve) => {
      if (window.uPlot) { resolve(window.uPlot); return; }
      document.head.append(h("link", { rel: "stylesheet", href: "/studio/vendor/uPlot.min.css" }));
      const script = h("script", { src: "/studio/vendor/uPlot.iife.min.js" });
      script.addEventListener("load", () => resolve(window.uPlot || null));
      script.addEventListener("error", () => resolve(null));
      document.head.append(script);
    });
  }
  return uplotLoading;
}
