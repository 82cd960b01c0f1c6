// The phone's outbox and credential in IndexedDB, shared by the page and the service worker.
//
// Why one classic script for both: an alarm must be sent by whichever of them runs when the
// network comes back (the page's retry timer and "online" event, or the worker's Background
// Sync), and both must do it the same way. An alarm stays in the "alarms" store from the
// moment the hold ends until central's answer says `stored: true`; the same alarm_id is sent
// again and again until then, and central's PUT is idempotent, so it is stored exactly once
// however many copies arrive (the edge's outbox makes the same promise, docs/protocol.md).
// The credential is the device token central gave at login; the password is never kept.
// Each alarm carries the user id of whoever raised it, and goes out only with that user's
// token: a phone logged in again by someone else leaves it waiting (never sent in their name).
// A refusal (401 aside: the credential is gone, not the alarm) is final: kept, marked refused.
(function (root) {
  "use strict";
  var NAME = "trygg-mobile";
  var VERSION = 1;
  var opened = null;

  function request(req) {
    return new Promise(function (resolve, reject) {
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function open() {
    if (!opened) {
      opened = new Promise(function (resolve, reject) {
        var req = root.indexedDB.open(NAME, VERSION);
        req.onupgradeneeded = function () {
          var db = req.result;
          if (!db.objectStoreNames.contains("kv")) { db.createObjectStore("kv"); }
          if (!db.objectStoreNames.contains("alarms")) {
            db.createObjectStore("alarms", { keyPath: "alarm_id" });
          }
        };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { opened = null; reject(req.error); };
      });
    }
    return opened;
  }

  function run(storeName, mode, action) {
    return open().then(function (db) {
      var tx = db.transaction(storeName, mode);
      var result = request(action(tx.objectStore(storeName)));
      return new Promise(function (resolve, reject) {
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  var store = {
    get: function (key) { return run("kv", "readonly", function (s) { return s.get(key); }); },
    set: function (key, value) {
      return run("kv", "readwrite", function (s) { return s.put(value, key); });
    },
    del: function (key) { return run("kv", "readwrite", function (s) { return s.delete(key); }); },
    alarm: function (id) { return run("alarms", "readonly", function (s) { return s.get(id); }); },
    alarms: function () { return run("alarms", "readonly", function (s) { return s.getAll(); }); },
    putAlarm: function (alarm) {
      return run("alarms", "readwrite", function (s) { return s.put(alarm); });
    },
    dropAlarm: function (id) {
      return run("alarms", "readwrite", function (s) { return s.delete(id); });
    },
    // Alarms central has not confirmed as stored yet: what the outbox still owes (anyone's).
    pending: function () {
      return store.alarms().then(function (all) {
        return all.filter(function (a) { return !a.stored && !a.refused; });
      });
    },
  };

  // One PUT of one alarm. Resolves with what happened: "stored", "retry" (network or server
  // trouble: keep it), "unauthorized" (the phone's credential is gone: keep it for the next
  // login of the same user) or "refused" (central will never take it: 403/409/422, kept for
  // the record and shown; retrying it for ever would leave it "sending" for ever).
  function sendOne(alarm, token) {
    var body = {
      level: alarm.level,
      silent: alarm.silent,
      raised_at: alarm.raised_at,
      position: alarm.position || null,
    };
    if (alarm.site) { body.site = alarm.site; }
    return root.fetch("/api/mobile/alarms/" + encodeURIComponent(alarm.alarm_id), {
      method: "PUT",
      headers: { "Content-Type": "application/json", "Authorization": "Bearer " + token },
      body: JSON.stringify(body),
      cache: "no-store",
    }).then(function (r) {
      if (r.status === 401) { return { outcome: "unauthorized" }; }
      if (r.status === 403 || r.status === 409 || r.status === 422) {
        return r.json().catch(function () { return {}; }).then(function (answer) {
          return { outcome: "refused", detail: String(answer.detail || r.status) };
        });
      }
      if (!r.ok) { return { outcome: "retry" }; }
      return r.json().then(function (answer) {
        return { outcome: answer.stored ? "stored" : "retry", answer: answer };
      });
    }, function () { return { outcome: "retry", offline: true }; });
  }

  var flushing = null;

  // Send every pending alarm of the logged-in user once; resolves with the list of outcomes
  // (another user's alarm: "held", not sent). Concurrent calls in the same context share one
  // round (the page and the worker may overlap: harmless).
  function flush() {
    if (flushing) { return flushing; }
    flushing = Promise.all([store.get("session"), store.pending()]).then(function (got) {
      var session = got[0];
      var pending = got[1];
      if (!pending.length) { return []; }
      if (!session || !session.token) {
        return pending.map(function () { return { outcome: "unauthorized" }; });
      }
      return Promise.all(pending.map(function (alarm) {
        if (!alarm.user || alarm.user !== session.user) {
          return { outcome: "held", alarm_id: alarm.alarm_id, user: alarm.user || null };
        }
        return sendOne(alarm, session.token).then(function (result) {
          result.alarm_id = alarm.alarm_id;
          if (result.outcome !== "stored" && result.outcome !== "refused") { return result; }
          // Read again: the page may have changed the record (its position) meanwhile.
          return store.alarm(alarm.alarm_id).then(function (now) {
            var kept = now || alarm;
            if (result.outcome === "stored") {
              kept.stored = true;
              kept.answer = result.answer;
            } else {
              kept.refused = result.detail;
            }
            return store.putAlarm(kept).then(function () { return result; });
          });
        });
      }));
    }).finally(function () { flushing = null; });
    return flushing;
  }

  store.flush = flush;
  store.sendOne = sendOne;
  root.TryggStore = store;
})(self);
