/* Kiosk mode, progressive enhancement: every kiosk page works without it.
 * - an inactivity reset that warns first and offers at least 20 s to continue (WCAG 2.2.1);
 * - the confirmed ballot sent with fetch, signed with the kiosk's key, and queued in memory
 *   (never in storage) while the network is down, then sent once it returns;
 * - scanning a voter code's QR code where the browser has BarcodeDetector;
 * - the live event screen reloading itself.
 */
(function () {
  "use strict";

  function idleTimer(body) {
    var idle = parseInt(body.getAttribute("data-kiosk-idle"), 10) * 1000;
    var warning = parseInt(body.getAttribute("data-kiosk-warning"), 10) * 1000;
    var dialog = document.getElementById("kiosk-idle");
    if (!idle || !dialog || typeof dialog.showModal !== "function") return null;
    var countdown = dialog.querySelector("[data-kiosk-countdown]");
    var resetForm = dialog.querySelector("[data-kiosk-reset]");
    var warnAt = null, tick = null, deadline = 0, paused = false;

    function stop() {
      window.clearTimeout(warnAt);
      window.clearInterval(tick);
    }
    function restart() {
      stop();
      if (paused) return;
      warnAt = window.setTimeout(warn, Math.max(0, idle - warning));
    }
    function warn() {
      deadline = Date.now() + warning;
      countdown.textContent = String(Math.round(warning / 1000));
      dialog.showModal();
      tick = window.setInterval(function () {
        var left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
        countdown.textContent = String(left);
        if (left <= 0) {
          stop();
          resetForm.submit();
        }
      }, 1000);
    }
    dialog.querySelector("[data-kiosk-continue]").addEventListener("click", function () {
      dialog.close();
      restart();
    });
    dialog.addEventListener("cancel", function () { restart(); }); // Escape also continues
    ["pointerdown", "keydown", "input", "scroll", "touchstart"].forEach(function (type) {
      document.addEventListener(type, function () { if (!dialog.open) restart(); },
        { passive: true, capture: true });
    });
    restart();
    return {
      pause: function () { paused = true; stop(); },
    };
  }

  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }
  function bytes(hexText) {
    var out = new Uint8Array(hexText.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(hexText.substr(i * 2, 2), 16);
    return out;
  }
  function sign(keyHex, message) {
    var subtle = window.crypto && window.crypto.subtle;
    return subtle.importKey("raw", bytes(keyHex), { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
      .then(function (key) { return subtle.sign("HMAC", key, new TextEncoder().encode(message)); })
      .then(hex);
  }

  function confirmForm(form, timer) {
    if (!(window.crypto && window.crypto.subtle && window.fetch)) return; // the form posts as usual
    var queued = document.querySelector("[data-kiosk-queued]");
    var failed = document.querySelector("[data-kiosk-send-error]");
    var failedText = document.querySelector("[data-kiosk-send-error-text]");
    var button = form.querySelector("button[type=submit]");
    var token = form.querySelector("input[name=csrf_token]").value;
    var pending = null; // the signed ballot, in memory only, until the server has it
    var sending = false, retry = null;

    function finish(next) {
      pending = null;
      window.clearInterval(retry);
      window.location.replace(next);
    }
    function send() {
      if (!pending || sending) return;
      sending = true;
      window.fetch(form.getAttribute("data-cast-url"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token },
        body: JSON.stringify(pending),
      }).then(function (response) {
        return response.json().then(function (answer) {
          sending = false;
          if (answer.status === "counted") return finish(answer.next);
          pending = null;
          window.clearInterval(retry);
          queued.hidden = true;
          failedText.textContent = answer.message || "";
          failed.hidden = false;
          failed.focus();
          if (answer.status === "already counted") {
            window.setTimeout(function () { window.location.replace(form.getAttribute("data-start-url")); }, 8000);
          }
        });
      }, function () {
        // No answer: the network is down, or the answer was lost. Keep the ballot and retry;
        // a retry of a ballot already accepted is answered "already counted", never cast twice.
        sending = false;
        if (queued.hidden) {
          queued.hidden = false;
          queued.focus();
        }
      });
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (pending) return;
      button.disabled = true;
      if (timer) timer.pause(); // a queued vote must never be reset away
      var message = form.getAttribute("data-message");
      sign(form.getAttribute("data-key"), message).then(function (signature) {
        pending = { message: message, signature: signature };
        send();
        retry = window.setInterval(send, 3000);
      });
    });
    window.addEventListener("online", send);
  }

  function scanner(box) {
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices) return;
    var input = box.closest("form").querySelector("input[name=code]");
    var video = box.querySelector("[data-kiosk-scan-video]");
    var status = box.querySelector("[data-kiosk-scan-status]");
    box.hidden = false;
    box.querySelector("[data-kiosk-scan-start]").addEventListener("click", function () {
      var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
        video.srcObject = stream;
        video.hidden = false;
        video.play();
        status.textContent = box.getAttribute("data-text-looking");
        function look() {
          detector.detect(video).then(function (codes) {
            if (!codes.length) return window.requestAnimationFrame(look);
            var text = codes[0].rawValue;
            try { text = new URL(text).searchParams.get("code") || text; } catch (e) { /* plain text */ }
            input.value = text;
            stream.getTracks().forEach(function (track) { track.stop(); });
            video.hidden = true;
            status.textContent = box.getAttribute("data-text-found");
            input.focus();
          }, function () { window.requestAnimationFrame(look); });
        }
        look();
      }, function () {
        status.textContent = box.getAttribute("data-text-no-camera");
      });
    });
  }

  // The event's big screen reloads itself (a meta refresh would fail WCAG 2.2.1 checks, and
  // nobody interacts with this screen).
  var live = document.querySelector("[data-kiosk-refresh]");
  if (live) {
    window.setTimeout(function () { window.location.reload(); },
      (parseInt(live.getAttribute("data-kiosk-refresh"), 10) || 30) * 1000);
  }

  var body = document.body;
  var timer = body.hasAttribute("data-kiosk-idle") ? idleTimer(body) : null;
  var confirm = document.querySelector("[data-kiosk-confirm]");
  if (confirm) confirmForm(confirm, timer);
  var scan = document.querySelector("[data-kiosk-scan]");
  if (scan) scanner(scan);
  // Each voter starts clean: nothing of theirs in this tab's history state or storage.
  if (document.querySelector("[data-kiosk-start]")) {
    window.history.replaceState(null, "", window.location.href);
    try { window.sessionStorage.clear(); window.localStorage.clear(); } catch (e) { /* disabled */ }
  }
})();
