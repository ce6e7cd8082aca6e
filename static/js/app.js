/* pb_app: progressive enhancement only. Every page works without this file (old phones,
   blocked scripts); it only makes forms with errors quicker to fix, as GOV.UK's ErrorSummary. */
(function () {
  "use strict";

  var summary = document.querySelector && document.querySelector('[data-module="error-summary"]');
  if (!summary) {
    return;
  }

  // Move focus to the summary, so screen readers read it and keyboard users start from it.
  summary.focus();

  // A summary link focuses its field and scrolls its label into view too (a plain #anchor
  // link scrolls the box to the top edge, hiding the question above it, and may not focus it).
  summary.addEventListener("click", function (event) {
    var link = event.target;
    while (link && link !== summary && link.tagName !== "A") {
      link = link.parentNode;
    }
    var href = link && link.getAttribute ? link.getAttribute("href") : null;
    if (!href || href.charAt(0) !== "#") {
      return;
    }
    var field = document.getElementById(href.slice(1));
    if (!field || typeof field.focus !== "function") {
      return;
    }
    event.preventDefault();
    var label = document.querySelector('label[for="' + field.id + '"]');
    (label || field).scrollIntoView();
    field.focus({ preventScroll: true });
  });
})();
