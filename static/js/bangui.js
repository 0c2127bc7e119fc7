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

// When fail2ban goes away or comes back: say it once to screen readers (not on
// every poll) and refresh the other live parts of the page at once.
var lastState = null;
function statusState() {
  var bar = document.getElementById("status-bar");
  return bar ? bar.getAttribute("data-state") : null;
}
document.addEventListener("DOMContentLoaded", function () {
  lastState = statusState();
});
document.addEventListener("htmx:afterSettle", function () {
  var state = statusState();
  if (state && lastState && state !== lastState) {
    var announce = document.getElementById("status-announce");
    if (announce) {
      announce.textContent = state;
    }
    document.querySelectorAll("[data-poll]:not(#status-bar)").forEach(function (el) {
      window.htmx.trigger(el, "refresh");
    });
  }
  lastState = state;
});
