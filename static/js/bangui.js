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

// Lazy panels (<details data-lazy="URL">): the body is fetched when the panel is
// first opened, with the fields of the form named by data-follows, and again
// whenever an htmx swap replaces the element named by data-refresh-on (the
// filters changed). A closed panel is only marked stale.
function loadLazy(details) {
  var body = details.querySelector("[data-lazy-body]");
  var form = document.getElementById(details.getAttribute("data-follows"));
  var query = form ? new URLSearchParams(new FormData(form)).toString() : "";
  var url = details.getAttribute("data-lazy") + (query ? "?" + query : "");
  details.setAttribute("data-loaded", "");
  window.htmx.ajax("GET", url, { target: body, swap: "innerHTML" });
}
document.addEventListener("toggle", function (event) {
  var details = event.target;
  if (details.matches && details.matches("details[data-lazy]") && details.open &&
      !details.hasAttribute("data-loaded") && window.htmx) {
    loadLazy(details);
  }
}, true);  // toggle does not bubble
document.addEventListener("htmx:afterSwap", function (event) {
  var target = event.detail.target;
  if (!target || !target.id) {
    return;
  }
  document.querySelectorAll("details[data-lazy][data-loaded]").forEach(function (details) {
    if (details.getAttribute("data-refresh-on") !== target.id) {
      return;
    }
    if (details.open) {
      loadLazy(details);
    } else {
      details.removeAttribute("data-loaded");
    }
  });
});

// A search box over a long table (input[data-table-filter=TABLE_ID]): rows
// whose first cell does not contain the text are hidden. Without JavaScript
// the box stays hidden and the whole table shows.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("input[data-table-filter]").forEach(function (input) {
    var table = document.getElementById(input.getAttribute("data-table-filter"));
    if (!table) {
      return;
    }
    input.hidden = false;
    input.addEventListener("input", function () {
      var text = input.value.trim().toLowerCase();
      table.querySelectorAll("tbody tr").forEach(function (row) {
        var cell = row.cells[0];
        row.hidden = Boolean(text) && !!cell && cell.textContent.toLowerCase().indexOf(text) < 0;
      });
    });
  });
});

// The regex tester: choosing a filter fills in the log file of a jail that uses it
// (select[data-logpaths] maps filter files to log paths), unless one was typed.
// Delegated from the document: htmx replaces the tester after every test run.
document.addEventListener("change", function (event) {
  var select = event.target;
  if (!(select instanceof HTMLSelectElement) || !select.hasAttribute("data-logpaths")) {
    return;
  }
  var path = document.getElementById("id_log_path");
  if (!path) {
    return;
  }
  var logs = JSON.parse(select.getAttribute("data-logpaths") || "{}");
  var filled = select.getAttribute("data-filled") || "";
  if (path.value && path.value !== filled) {
    return; // typed by hand: keep it
  }
  filled = logs[select.value] || "";
  select.setAttribute("data-filled", filled);
  path.value = filled;
});
