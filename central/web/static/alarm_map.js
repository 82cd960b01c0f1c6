// The map of a phone alarm's last position on the alarm page (templates/mobile.html): the
// vendored Leaflet, the configured tile server, a dot and the accuracy circle. No inline script
// (the pages' Content-Security-Policy); the data comes in the container's data- attributes.
"use strict";
(function () {
  var box = document.getElementById("alarm-map");
  if (!box || !window.L) {
    return;
  }
  var where = [parseFloat(box.dataset.lat), parseFloat(box.dataset.lon)];
  var accuracy = parseFloat(box.dataset.accuracy);
  var map = window.L.map(box, { scrollWheelZoom: false }).setView(where, 16);
  window.L.tileLayer(box.dataset.tiles, {
    maxZoom: 19,
    attribution: box.dataset.attribution || "",
  }).addTo(map);
  var circle = window.L.circle(where, { radius: accuracy, weight: 2 }).addTo(map);
  window.L.circleMarker(where, { radius: 8, weight: 3, fillOpacity: 1 }).addTo(map);
  if (accuracy > 60) {
    map.fitBounds(circle.getBounds());
  }
})();
