// Progressive enhancement for the bid form: a live total of the budget lines.
// The form works fully without this file; the server always recalculates the total.
(function () {
  "use strict";
  var total = document.querySelector("[data-budget-total]");
  if (!total) { return; }
  var pattern = /^£?\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?$/;

  function pence(text) {
    var match = pattern.exec(text.trim());
    if (!match) { return 0; }
    var pounds = parseInt(match[1].replace(/,/g, ""), 10);
    var rest = parseInt(((match[2] || "0") + "0").slice(0, 2), 10);
    return pounds * 100 + rest;
  }

  function format(p) {
    var pounds = Math.floor(p / 100).toLocaleString("en-GB");
    var rest = p % 100;
    return "£" + pounds + (rest ? "." + (rest < 10 ? "0" : "") + rest : "");
  }

  function update() {
    var sum = 0;
    document.querySelectorAll("[data-budget-line] input[name$='-amount']").forEach(function (input) {
      sum += pence(input.value);
    });
    total.textContent = format(sum);
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("input[name$='-amount']")) { update(); }
  });
})();
