// The phone page's service worker (served as /m/sw.js, scope /m).
//
// Two jobs, neither of which the page depends on: (1) keep the page's files so that /m opens
// without network (the shell network-first, so a fresh one wins whenever there is network;
// the files cache-first, refreshed behind); (2) Background Sync: when the browser says the
// network is back, send what the outbox still holds (the same code as the page, store.js).
// Browsers without Background Sync (Safari, Firefox) rely on the page's own retries.
// Nothing of the API is ever cached: an alarm's state must be central's, not a copy.
"use strict";

importScripts("/static/mobile/store.js");

var CACHE = "trygg-mobile-v3";
var SHELL = "/m";
var FILES = [
  "/static/mobile/store.js",
  "/static/mobile/app.js",
  "/static/mobile/hold.js",
  "/static/mobile/visit.js",
  "/static/mobile/reports.js",
  "/static/mobile/mobile.css",
  "/static/mobile/icon.svg",
  "/static/mobile/icon-192.png",
  "/m/manifest.webmanifest",
];
var SYNC_TAG = "trygg-outbox";

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE)
      .then(function (cache) { return cache.addAll(FILES.concat([SHELL])); })
      .catch(function () { /* offline at install: the page still works while open */ })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) {
        return n.indexOf("trygg-mobile-") === 0 && n !== CACHE;
      }).map(function (n) { return caches.delete(n); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function networkFirst(request) {
  return fetch(request).then(function (answer) {
    if (answer.ok) {
      var copy = answer.clone();
      caches.open(CACHE).then(function (cache) { cache.put(SHELL, copy); });
    }
    return answer;
  }, function () {
    return caches.match(SHELL).then(function (cached) {
      return cached || Response.error();
    });
  });
}

function cacheFirst(request) {
  return caches.match(request).then(function (cached) {
    var fresh = fetch(request).then(function (answer) {
      if (answer.ok) {
        var copy = answer.clone();
        caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
      }
      return answer;
    });
    if (cached) {
      fresh.catch(function () { /* offline: the cached copy serves */ });
      return cached;
    }
    return fresh;
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname === SHELL && request.mode === "navigate") {
    event.respondWith(networkFirst(request));
  } else if (url.pathname.indexOf("/static/mobile/") === 0 || url.pathname === "/m/manifest.webmanifest") {
    event.respondWith(cacheFirst(request));
  }
  // Everything else (the API above all) goes to the network untouched.
});

// Background Sync: the browser calls this when it believes the network is back. Rejecting
// makes it try again later, so a round that leaves anything unsent rejects.
self.addEventListener("sync", function (event) {
  if (event.tag !== SYNC_TAG) { return; }
  event.waitUntil(
    self.TryggStore.flush().then(function (results) {
      var left = results.filter(function (r) { return r.outcome === "retry"; });
      if (left.length) { throw new Error(left.length + " alarm(s) still unsent"); }
    })
  );
});

// The page asks for a send round too (e.g. when it is about to be hidden).
self.addEventListener("message", function (event) {
  if (event.data === "flush") { event.waitUntil(self.TryggStore.flush()); }
});

// The visit timer's question (central.visiting): a Web Push reaches an installed page even
// with the screen locked — the one thing that does. It only asks; the alarm follows on
// central's side whatever happens here.
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (_) { data = {}; }
  var body = data.body || "Er du OK? Sjekk ut av besøket";
  event.waitUntil(self.registration.showNotification(data.title || "Trygg", {
    body: body,
    tag: "trygg-visit-" + (data.visit_id || ""),
    renotify: true,
    requireInteraction: true,
    icon: "/static/mobile/icon-192.png",
    data: { url: data.url || SHELL },
    actions: [{ action: "open", title: body.indexOf("Er du") === 0 ? "Åpne" : "Open" }],
  }));
});

// A tap on the notification (or its action) opens /m, where the check-out button is.
self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = (event.notification.data && event.notification.data.url) || SHELL;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (open) {
      for (var i = 0; i < open.length; i++) {
        if (new URL(open[i].url).pathname === SHELL && "focus" in open[i]) {
          return open[i].focus();
        }
      }
      return self.clients.openWindow(url);
    })
  );
});
