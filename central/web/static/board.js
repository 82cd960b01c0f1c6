// The live board: a socket says "a site changed"; fetch the fresh board and swap it in.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var state = document.getElementById("live-state");
  if (!live) { return; }
  var busy = false, again = false, delay = 1000;

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(live.dataset.fragment, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (r.redirected || !r.ok) { throw new Error("status " + r.status); }
        return r.text();
      })
      .then(function (html) { live.innerHTML = html; live.dataset.updated = String(Date.now()); })
      .catch(function () { if (state) { state.textContent = state.dataset.offline || "…"; } })
      .finally(function () { busy = false; if (again) { again = false; refresh(); } });
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + live.dataset.feed);
    socket.onopen = function () { delay = 1000; live.dataset.connected = "yes"; refresh(); };
    socket.onmessage = function () { refresh(); };
    socket.onclose = function () {
      live.dataset.connected = "no";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 15000);
    };
  }
  connect();
})();
