/* Admin dashboard: reload the box plot every few seconds (a live view of the ratings). */
"use strict";

(function () {
  const image = document.getElementById("boxplot");
  if (!image) return;
  const base = image.src.split("?")[0];
  const seconds = Number(image.dataset.refreshS || 20);
  setInterval(() => { image.src = `${base}?t=${Date.now()}`; }, seconds * 1000);
})();
