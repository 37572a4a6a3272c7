// The console's own script (no inline script anywhere: the Content-Security-Policy forbids it).
// Keyboard review on the company review page; a typed clean name selects its radio button.
(function () {
  "use strict";
  function rows() { return Array.from(document.querySelectorAll("tr.name-row")); }
  var current = 0;
  function focusRow(i) {
    var all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(i, all.length - 1));
    all.forEach(function (r, n) { r.classList.toggle("current", n === current); });
    all[current].scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("input", function (e) {
    if (e.target.classList && e.target.classList.contains("typed")) {
      var radio = e.target.closest("label").querySelector("input.typed-choice");
      if (radio) radio.checked = e.target.value.trim() !== "";
    }
  });
  document.addEventListener("keydown", function (e) {
    var form = document.getElementById("review-form");
    if (!form) return;
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); return; }
    var t = e.target;
    if (t && (t.tagName === "INPUT" && t.type === "text" || t.tagName === "TEXTAREA")) {
      if (e.key === "Escape") t.blur();
      return;
    }
    var row = rows()[current];
    if (!row) return;
    if (e.key === "j") { focusRow(current + 1); }
    else if (e.key === "k") { focusRow(current - 1); }
    else if (e.key === "s") { row.querySelector("input[type=radio][value='']").checked = true; focusRow(current + 1); }
    else if (e.key === "n") { row.querySelector("input.new-company").checked = true; focusRow(current + 1); }
    else if (e.key === "t") { e.preventDefault(); row.querySelector("input.typed").focus(); }
    else if (/^[1-9]$/.test(e.key)) {
      var c = row.querySelectorAll("input.candidate")[Number(e.key) - 1];
      if (c) { c.checked = true; focusRow(current + 1); }
    } else { return; }
    e.preventDefault();
  });
  document.addEventListener("DOMContentLoaded", function () { focusRow(0); });
})();
