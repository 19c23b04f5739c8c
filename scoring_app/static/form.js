// Client-side checks for the scoring form: messages next to the field, from the
// same min/max the server enforces (rendered from the model manifest).
"use strict";

(function () {
  // On a phone the result sits below the form: bring it (or the first error) into view.
  const shown = document.getElementById("result") || document.querySelector(".has-error");
  if (shown) shown.scrollIntoView({ block: "start" });

  const form = document.getElementById("score-form");
  if (!form) return;
  // Our messages replace the browser's bubbles; the server checks everything again.
  form.noValidate = true;

  function messageFor(input) {
    const v = input.validity;
    const label = input.dataset.label || input.name;
    const unit = input.dataset.unit ? " " + input.dataset.unit : "";
    if (v.valueMissing) return label + " is required";
    if (v.badInput || v.typeMismatch) return label + " must be a number";
    if (v.rangeUnderflow || v.rangeOverflow) {
      return label + " must be between " + input.min + " and " + input.max + unit;
    }
    return input.validationMessage;
  }

  function check(input) {
    const box = document.getElementById("e-" + input.name);
    const ok = input.checkValidity();
    input.classList.toggle("invalid", !ok);
    if (box) box.textContent = ok ? "" : messageFor(input);
    return ok;
  }

  const inputs = Array.from(form.querySelectorAll("input[name]:not([type=hidden]), select[name]"));
  inputs.forEach(function (input) {
    input.addEventListener("input", function () { check(input); });
    input.addEventListener("change", function () { check(input); });
  });

  form.addEventListener("submit", function (event) {
    let firstBad = null;
    inputs.forEach(function (input) {
      if (!check(input) && firstBad === null) firstBad = input;
    });
    if (firstBad !== null) {
      event.preventDefault();
      firstBad.focus();
    }
  });
})();
