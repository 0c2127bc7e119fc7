// Regex tester: show only the input the "Lines to test" choice uses.
// Without JavaScript both stay visible and the server reads the chosen one.
(function () {
  "use strict";

  function sync(root) {
    var form = root.querySelector ? root.querySelector(".regex-form") : null;
    if (!form) return;
    var checked = form.querySelector('input[name="source"]:checked');
    var fromFile = checked && checked.value === "file";
    var lines = form.querySelector("#id_lines");
    var paste = lines ? lines.closest(".field") : null;
    var file = form.querySelector(".log-source");
    if (paste) paste.hidden = fromFile;
    if (file) file.hidden = !fromFile;
  }

  document.addEventListener("change", function (event) {
    if (event.target && event.target.name === "source") sync(document);
  });
  document.addEventListener("DOMContentLoaded", function () { sync(document); });
  document.addEventListener("htmx:afterSwap", function () { sync(document); });
})();
