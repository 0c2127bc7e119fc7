// BanGUI's only script besides htmx. htmx runs with allowEval off (the CSP
// forbids eval), so trigger filters are done here instead.
"use strict";

// Polling elements (data-poll) skip their requests while the tab is hidden
// and refresh at once when it becomes visible again.
document.addEventListener("htmx:beforeRequest", function (event) {
  if (document.hidden && event.detail.elt.hasAttribute("data-poll")) {
    event.preventDefault();
  }
});
document.addEventListener("visibilitychange", function () {
  if (!document.hidden && window.htmx) {
    document.querySelectorAll("[data-poll]").forEach(function (el) {
      window.htmx.trigger(el, "refresh");
    });
  }
});
