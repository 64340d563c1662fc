// kelisim serve: reloads the page after each successful rebuild and shows build errors in
// the page. Injected only into preview pages, never into a production build.
(function () {
  "use strict";
  var OVERLAY_ID = "kelisim-build-error";

  function showError(message) {
    var box = document.getElementById(OVERLAY_ID);
    if (!box) {
      box = document.createElement("div");
      box.id = OVERLAY_ID;
      box.setAttribute("role", "alert");
      box.style.cssText =
        "position:fixed;inset:auto 0 0 0;max-height:60vh;overflow:auto;z-index:2147483647;" +
        "background:#3b0d0d;color:#fff;padding:1rem 1.25rem;font:14px/1.4 monospace;" +
        "border-top:4px solid #ff6b6b;box-shadow:0 -4px 16px rgba(0,0,0,.4)";
      var title = document.createElement("strong");
      title.textContent = "kelisim: the build failed. The preview shows the last good build.";
      var pre = document.createElement("pre");
      pre.style.cssText = "white-space:pre-wrap;margin:.5rem 0 0";
      box.appendChild(title);
      box.appendChild(pre);
      document.body.appendChild(box);
    }
    box.querySelector("pre").textContent = message;
  }

  function hideError() {
    var box = document.getElementById(OVERLAY_ID);
    if (box) box.remove();
  }

  fetch("/__kelisim/status", { cache: "no-store" })
    .then(function (r) { return r.json(); })
    .then(function (s) { if (!s.ok) showError(s.error); else hideError(); })
    .catch(function () {});

  if (!window.EventSource) return;
  var events = new EventSource("/__kelisim/events");
  events.addEventListener("reload", function () { window.location.reload(); });
  events.addEventListener("build-error", function (e) { showError(e.data); });
})();
