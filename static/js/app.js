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

/* Show/Hide password (GOV.UK's password input): the button stays hidden without this script. */
(function () {
  "use strict";

  if (!document.querySelectorAll) {
    return;
  }
  var wrappers = document.querySelectorAll('[data-module="password-input"]');
  Array.prototype.forEach.call(wrappers, function (wrapper) {
    var input = wrapper.querySelector("input");
    var button = wrapper.querySelector("button");
    if (!input || !button) {
      return;
    }
    var text = wrapper.dataset;
    var status = document.createElement("div");
    status.className = "visually-hidden";
    status.setAttribute("aria-live", "polite");
    wrapper.appendChild(status);

    function show(visible, announce) {
      input.setAttribute("type", visible ? "text" : "password");
      button.textContent = visible ? text.hideText : text.showText;
      button.setAttribute("aria-label", visible ? text.hideLabel : text.showLabel);
      if (announce) {
        status.textContent = visible ? text.shownAnnouncement : text.hiddenAnnouncement;
      }
    }

    button.addEventListener("click", function () {
      show(input.getAttribute("type") === "password", true);
    });
    // Never leave a password visible to be sent as text, or restored by the back button.
    if (input.form) {
      input.form.addEventListener("submit", function () { show(false, false); });
    }
    window.addEventListener("pageshow", function () { show(false, false); });
    button.hidden = false;
  });
})();
