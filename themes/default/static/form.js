// kelisim: progressive enhancement for the contact form and the form-error page.
// Without this script the form posts normally and the relay redirects. With it, the form is
// sent as JSON in place and the answer is shown on the page, with a link to save the signed
// consent receipt when the relay sends one. Form values are only ever sent in the request
// body, never put in a URL.
(function () {
  "use strict";

  var form = document.getElementById("contact-form");
  if (form) {
    enhanceForm(form);
  }
  var details = document.getElementById("error-details");
  if (details) {
    showErrorCodes(details);
  }

  function enhanceForm(form) {
    // One key per page visit: a double submit or a retry after a network error is stored
    // once by the relay. Without crypto.randomUUID the field stays empty, as without script.
    var key = form.elements.namedItem("idempotency_key");
    if (key && !key.value && window.crypto && typeof window.crypto.randomUUID === "function") {
      key.value = window.crypto.randomUUID();
    }
    var status = document.getElementById("form-status");
    var button = form.querySelector("button[type=submit]");
    var sending = false;
    var receipt = null;

    form.addEventListener("submit", function (event) {
      if (!window.fetch || !window.FormData) {
        return; // old browser: let the normal post happen
      }
      event.preventDefault();
      if (sending) {
        return;
      }
      sending = true;
      clearErrors(form);
      setStatus(status, form.dataset.msgSending, "");
      if (button) {
        button.disabled = true;
      }
      fetch(form.action, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify(toJson(form)),
        credentials: "same-origin",
      })
        .then(function (response) {
          return response
            .json()
            .catch(function () { return {}; })
            .then(function (body) { return { status: response.status, body: body }; });
        })
        .then(function (answer) {
          if (answer.status === 201 || answer.status === 200) {
            setStatus(status, form.dataset.msgSuccess, "success");
            if (receipt) {
              URL.revokeObjectURL(receipt);
            }
            receipt = offerReceipt(status, form.dataset.msgReceipt, answer.body);
            form.reset();
            if (key && window.crypto && typeof window.crypto.randomUUID === "function") {
              key.value = window.crypto.randomUUID();
            }
          } else if (answer.status === 422 && answer.body && answer.body.fields) {
            showFieldErrors(form, status, answer.body.fields);
          } else if (answer.status === 413) {
            setStatus(status, form.dataset.msgTooLarge, "error");
          } else if (answer.status === 503) {
            setStatus(status, (answer.body && answer.body.message) || form.dataset.msgUnavailable, "error");
          } else {
            setStatus(status, (answer.body && answer.body.message) || form.dataset.msgNetwork, "error");
          }
        })
        .catch(function () {
          setStatus(status, form.dataset.msgNetwork, "error");
        })
        .then(function () {
          sending = false;
          if (button) {
            button.disabled = false;
          }
        });
    });
  }

  // The relay's 201 may carry `receipt`, a compact JWS: offered as a file to keep, made in the
  // page (a Blob), so nothing more is fetched. Returns the object URL to revoke later.
  function offerReceipt(status, text, body) {
    if (!body || typeof body.receipt !== "string" || !body.receipt || !text ||
        !window.Blob || !window.URL || typeof URL.createObjectURL !== "function") {
      return null;
    }
    var id = String(body.id || "").replace(/[^A-Za-z0-9-]/g, "") || "record";
    var url = URL.createObjectURL(new Blob([body.receipt], { type: "application/jose" }));
    var paragraph = document.createElement("p");
    var link = document.createElement("a");
    link.href = url;
    link.download = "kelisim-receipt-" + id + ".jws";
    link.textContent = text;
    paragraph.className = "receipt";
    paragraph.appendChild(link);
    status.appendChild(paragraph);
    return url;
  }

  // Same names as the plain form; `consent` becomes an array of the ticked purposes.
  function toJson(form) {
    var data = { consent: [] };
    new FormData(form).forEach(function (value, name) {
      if (name === "consent") {
        data.consent.push(String(value));
      } else {
        data[name] = String(value);
      }
    });
    return data;
  }

  function setStatus(status, text, kind) {
    status.textContent = text || "";
    status.className = "form-status" + (kind ? " form-status-" + kind : "");
  }

  function clearErrors(form) {
    var errors = form.querySelectorAll(".field-error");
    for (var i = 0; i < errors.length; i++) {
      errors[i].textContent = "";
      errors[i].hidden = true;
    }
    var invalid = form.querySelectorAll("[aria-invalid]");
    for (var j = 0; j < invalid.length; j++) {
      invalid[j].removeAttribute("aria-invalid");
    }
  }

  // Puts each message next to its field (what was typed stays), and the rest in the summary.
  function showFieldErrors(form, status, fields) {
    var general = [];
    var first = null;
    Object.keys(fields).forEach(function (name) {
      var error = fields[name] || {};
      var message = error.message || error.code || "";
      var id = name === "consent" ? "f-consent-reply" : "f-" + name;
      var input = document.getElementById(id);
      var slot = document.getElementById(id + "-error");
      if (input && slot) {
        slot.textContent = message;
        slot.hidden = false;
        input.setAttribute("aria-invalid", "true");
        if (!first) {
          first = input;
        }
      } else {
        general.push(message);
      }
    });
    var summary = form.dataset.msgInvalid || "";
    setStatus(status, general.length ? summary + " " + general.join(" ") : summary, "error");
    if (first) {
      first.focus();
    }
  }

  // The relay redirects plain posts here with ?errors=field:code,... (codes only).
  function showErrorCodes(details) {
    var raw = new URLSearchParams(window.location.search).get("errors");
    var texts = document.getElementById("error-texts");
    var list = document.getElementById("error-list");
    if (!raw || !texts || !list) {
      return;
    }
    var lookup = function (attr, value) {
      var nodes = texts.content.querySelectorAll("[data-" + attr + "]");
      for (var i = 0; i < nodes.length; i++) {
        if (nodes[i].getAttribute("data-" + attr) === value) {
          return nodes[i].textContent;
        }
      }
      return null;
    };
    raw.split(",").forEach(function (pair) {
      var parts = pair.split(":");
      var field = lookup("field", parts[0] || "");
      var code = lookup("code", parts[1] || "");
      if (!code) {
        return; // unknown codes are not shown: the general text already explains
      }
      var item = document.createElement("li");
      item.textContent = field ? field + ": " + code : code;
      list.appendChild(item);
    });
    if (list.children.length) {
      details.hidden = false;
    }
  }
})();
