/* pb_app voting: progressive enhancement only. Without this file the "Update total" button asks
   the server to recount; with it, the running total updates as people tick or type. */
(function () {
  "use strict";

  if (!document.querySelector) {
    return;
  }
  var form = document.querySelector('[data-module="ballot"]');
  var totals = form ? form.querySelectorAll("[data-total]") : [];
  if (!form || !totals.length) {
    return;
  }
  var data = form.dataset;

  function money(pence) {
    var pounds = Math.floor(pence / 100);
    var rest = pence % 100;
    var text = "£" + pounds.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return rest === 0 ? text : text + "." + (rest < 10 ? "0" : "") + rest;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (match, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? values[name] : match;
    });
  }

  function text() {
    var kind = data.kind;
    if (kind === "cumulative") {
      var used = 0;
      Array.prototype.forEach.call(form.querySelectorAll("[data-points]"), function (input) {
        var value = input.disabled ? NaN : parseInt(input.value, 10);
        if (!isNaN(value) && /^\s*[+-]?\d+\s*$/.test(input.value)) {
          used += value;
        }
      });
      if (!data.maxPoints) {
        return fill(data.textPoints, { used: used });
      }
      var limit = parseInt(data.maxPoints, 10);
      return used <= limit
        ? fill(data.textPointsLeft, { used: used, limit: limit, left: limit - used })
        : fill(data.textPointsOver, { used: used, limit: limit, over: used - limit });
    }
    var ticked = form.querySelectorAll('input[name="project"]:checked');
    var cost = 0;
    Array.prototype.forEach.call(ticked, function (box) {
      cost += parseInt(box.getAttribute("data-cost"), 10) || 0;
    });
    if (kind === "knapsack" && data.limit) {
      var budget = parseInt(data.limit, 10);
      return cost <= budget
        ? fill(data.textLeft, { chosen: money(cost), limit: money(budget), left: money(budget - cost) })
        : fill(data.textOver, { chosen: money(cost), limit: money(budget), over: money(cost - budget) });
    }
    return data.max
      ? fill(data.textCountMax, { count: ticked.length, max: data.max })
      : fill(data.textCount, { count: ticked.length });
  }

  function update() {
    var now = text();
    Array.prototype.forEach.call(totals, function (total) {
      if (total.textContent.trim() !== now) {
        total.textContent = now;
      }
    });
  }

  form.addEventListener("change", update);
  form.addEventListener("input", update);
  // The total is live now, so the no-JavaScript "Update total" button is not needed.
  Array.prototype.forEach.call(form.querySelectorAll(".running-total"), function (box) {
    box.classList.add("is-live");
  });
})();
