// "Add a missed defect" on a detection result: the operator drags a box over the picture (mouse,
// touch or pen: pointer events) or types its edges, with the class chosen beside the button. Each box
// is drawn (dashed), listed with a remove button and sent as a "missed" field, class@x1,y1,x2,y2 in
// fractions of the picture: edgeloop/domain/detection_labels.py's grammar, checked again by the server.
"use strict";

(function () {
  const panel = document.getElementById("missed");
  const figure = document.getElementById("scored-image");
  const image = document.getElementById("result-image");
  if (!panel || !figure || !image) return;
  const most = Number(panel.dataset.max) || 5;
  const list = document.getElementById("missed-list");
  const hint = document.getElementById("missed-hint");
  const addButton = document.getElementById("missed-add");
  const classChoice = document.getElementById("missed-class");
  const overlays = new Map(); // list item -> its box drawn over the picture
  let drawing = false;
  let start = null;
  let draft = null;

  function fraction(value) {
    return Math.round(Math.min(1, Math.max(0, value)) * 10000) / 10000; // at most 4 decimals
  }

  function pointAt(event) {
    const r = image.getBoundingClientRect();
    return { x: fraction((event.clientX - r.left) / r.width), y: fraction((event.clientY - r.top) / r.height) };
  }

  function corners(a, b) {
    return [Math.min(a.x, b.x), Math.min(a.y, b.y), Math.max(a.x, b.x), Math.max(a.y, b.y)];
  }

  function place(element, box) { // the figure is the picture's size: percentages of it are of the picture
    element.style.left = box[0] * 100 + "%";
    element.style.top = box[1] * 100 + "%";
    element.style.width = (box[2] - box[0]) * 100 + "%";
    element.style.height = (box[3] - box[1]) * 100 + "%";
  }

  function setDrawing(on) {
    drawing = on;
    figure.classList.toggle("drawing", on);
    addButton.setAttribute("aria-pressed", String(on));
    hint.textContent = on ? "Drag a box over the defect on the picture (Esc: cancel)" : "";
  }

  function renumber() {
    Array.from(list.children).forEach(function (item, index) {
      const number = String(index + 1);
      item.querySelector("button").setAttribute("aria-label", "remove missed defect " + number);
      overlays.get(item).querySelector(".overlay-number").textContent = number;
    });
    addButton.disabled = list.children.length >= most;
  }

  function percentText(value) {
    return (value * 100).toFixed(1).replace(/\.0$/, "") + " %";
  }

  function add(name, box) {
    if (list.children.length >= most) {
      hint.textContent = "at most " + most + " missed defects";
      return;
    }
    const overlay = document.createElement("div");
    overlay.className = "overlay overlay-box overlay-missed";
    overlay.innerHTML = '<span class="overlay-label">missed <span class="overlay-number"></span></span>';
    overlay.querySelector(".overlay-label").append(" " + name);
    place(overlay, box);
    figure.appendChild(overlay);
    const item = document.createElement("li");
    item.className = "missed-item";
    item.innerHTML = '<span class="missed-text"></span> ' +
      '<input type="hidden" name="missed"> <button type="button" class="missed-remove">remove</button>';
    item.querySelector(".missed-text").textContent = name + ": " + percentText(box[0]) + " to " +
      percentText(box[2]) + " across, " + percentText(box[1]) + " to " + percentText(box[3]) + " down";
    item.querySelector("input").value = name + "@" + box.join(",");
    item.querySelector("button").addEventListener("click", function () {
      overlays.get(item).remove();
      overlays.delete(item);
      item.remove();
      renumber();
      hint.textContent = "removed " + name;
      addButton.focus();
    });
    overlays.set(item, overlay);
    list.appendChild(item);
    renumber();
    hint.textContent = "added missed defect " + list.children.length + ": " + name;
  }

  function finish(event, keep) {
    if (start === null) return;
    const box = corners(start, pointAt(event));
    draft.remove();
    draft = null;
    start = null;
    if (!keep) return;
    if (box[2] - box[0] < 0.01 || box[3] - box[1] < 0.01) {
      hint.textContent = "too small: drag across the whole defect";
      return;
    }
    setDrawing(false);
    add(classChoice.value, box);
  }

  addButton.addEventListener("click", function () { setDrawing(!drawing); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && drawing) setDrawing(false);
  });
  image.addEventListener("dragstart", function (event) { event.preventDefault(); });
  image.addEventListener("pointerdown", function (event) {
    if (!drawing) return;
    event.preventDefault();
    image.setPointerCapture(event.pointerId); // the drag may leave the picture: it still ends here
    start = pointAt(event);
    draft = document.createElement("div");
    draft.className = "overlay overlay-box overlay-missed overlay-draft";
    figure.appendChild(draft);
    place(draft, corners(start, start));
  });
  image.addEventListener("pointermove", function (event) {
    if (start !== null) place(draft, corners(start, pointAt(event)));
  });
  image.addEventListener("pointerup", function (event) { finish(event, true); });
  image.addEventListener("pointercancel", function (event) { finish(event, false); });

  document.getElementById("missed-enter").addEventListener("click", function () {
    const edges = ["x1", "y1", "x2", "y2"].map(function (name) {
      const value = document.getElementById("missed-" + name).valueAsNumber;
      return value / 100;
    });
    if (edges.some(function (v) { return !(v >= 0 && v <= 1); })) {
      hint.textContent = "each edge must be a number from 0 to 100";
    } else if (!(edges[0] < edges[2] && edges[1] < edges[3])) {
      hint.textContent = "left must be less than right, and top less than bottom";
    } else {
      add(classChoice.value, edges.map(fraction));
    }
  });
})();
