// The phone page: login once, hold to raise, a cancel window, then the alarm's way to central.
//
// Why it is shaped so: the alarm must never be lost and never be raised by accident. So the
// page makes the alarm_id itself and writes the alarm to IndexedDB (store.js) before the first
// byte goes out; it sends it again on every chance (now, a timer, the "online" event, the
// worker's Background Sync) until central's answer says `stored: true`, and central's PUT is
// idempotent. Until the hold (hold.js) and the cancel window are over, nothing exists at all.
// While the alarm is active the page polls central every POLL_MS for what colleagues do and
// sends the phone's position at most every POSITION_MS; a refused or absent position never
// holds the alarm back. Texts come from the page's JSON data block (central/web/mobile.py).
// An alarm belongs to whoever raised it: it goes out (and is shown as active) only while that
// person is logged in; another login leaves it waiting, and the home screen says so. A refusal
// from central is final: shown with the call-112 prompt, kept, never retried.

import { holdControl } from "/static/mobile/hold.js";

const CANCEL_S = 3;
const POLL_MS = 2000;
const RETRY_MS = 5000;
const POSITION_MS = 5000;
const SYNC_TAG = "trygg-outbox";

const T = JSON.parse(document.getElementById("strings").textContent);
const $ = (id) => document.getElementById(id);
const store = () => self.TryggStore; // store.js is a deferred classic script: ready by now

function say(key, values = {}) {
  return (T[key] || key).replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

function clock(iso) {
  return new Date(iso).toLocaleTimeString(document.documentElement.lang, {
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

function newAlarmId() {
  if (crypto.randomUUID) { return crypto.randomUUID(); }
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// --- screens --------------------------------------------------------------------------------

function show(name) {
  for (const screen of document.querySelectorAll(".screen")) {
    screen.hidden = screen.id !== name;
  }
  document.body.dataset.screen = name;
}

// --- the session (the device credential) ----------------------------------------------------

let session = null;

async function login(event) {
  event.preventDefault();
  const form = event.target;
  const error = $("login-error");
  const button = form.querySelector("button[type=submit]");
  error.hidden = true;
  button.disabled = true;
  button.textContent = say("login_busy");
  const password = form.elements.password;
  try {
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const answer = await fetch("/api/mobile/credential", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({
        username: form.elements.username.value.trim(),
        password: password.value,
        label: form.elements.label.value.trim() || say("label_default"),
      }),
      credentials: "same-origin",
      cache: "no-store",
    });
    if (answer.status === 201 || answer.ok) {
      const got = await answer.json();
      // Only what central gave back: the token and who it is. Never the password.
      session = {
        token: got.token, user: got.user, name: got.name, site: got.site,
        sites: got.sites || [], expires_at: got.expires_at,
      };
      await store().set("session", session);
      password.value = "";
      $("revoked").hidden = true;
      await home();
      // Logged in again during an alarm (a revoked key): back to it, it goes out now (only
      // if it is this person's: someone else's waits for its raiser).
      await resumeActive();
      await flushOutbox();
      askForPositionEarly();
      return;
    }
    error.textContent = answer.status === 401 ? say("login_failed")
      : answer.status === 429 ? say("login_throttled")
        : say("login_error", { status: answer.status });
  } catch {
    error.textContent = say("login_offline");
  } finally {
    password.value = "";
    button.disabled = false;
    button.textContent = say("login_button");
  }
  error.hidden = false;
}

// Ask for the position permission once, right after login: the prompt then comes now and not
// in the middle of an emergency. Whatever the answer, the alarm works.
function askForPositionEarly() {
  if (!navigator.geolocation) { return; }
  navigator.geolocation.getCurrentPosition(() => {}, () => {}, { maximumAge: 600000, timeout: 10000 });
}

async function signedOut() {
  session = null;
  $("revoked").hidden = false;
  show("login");
}

async function home() {
  $("who").textContent = say("signed_in_as", { name: session.name || session.user });
  show("home");
  await paintHeld();
}

// Alarms raised on this phone by someone other than the person logged in now: they wait for
// their raiser's login (never sent in another's name), and the home screen says so.
async function paintHeld() {
  const held = (await store().pending()).filter((a) => !session || a.user !== session.user);
  const line = $("held");
  const who = [...new Set(held.map((a) => a.user_name || a.user || "?"))];
  line.textContent = who.length ? say("held", { names: names(who.map((name) => ({ name }))) }) : "";
  line.hidden = !who.length;
}

function mine(alarm) {
  return Boolean(session) && alarm.user === session.user;
}

async function logout() {
  // Only this person's own unsent alarm holds the logout back: someone else's waits for
  // their login, which needs this one to end.
  if ((await store().pending()).some(mine)) {
    $("hold-hint").textContent = say("logout_blocked");
    return;
  }
  await store().del("session");
  await store().del("active");
  session = null;
  $("revoked").hidden = true;
  show("login");
}

// --- position -------------------------------------------------------------------------------

let watchId = null;
let position = null; // the newest fix, as the API wants it
let positionState = "waiting"; // waiting | ok | none
let postedAt = 0; // when the last position was sent (performance.now())
let postedFix = null; // the `at` of the fix last sent
let postTimer = 0;

function startPosition() {
  if (watchId !== null) { return; }
  if (!navigator.geolocation) {
    positionState = "none";
    paintPosition();
    return;
  }
  positionState = position ? "ok" : "waiting";
  watchId = navigator.geolocation.watchPosition(
    (fix) => {
      position = {
        lat: fix.coords.latitude,
        lon: fix.coords.longitude,
        accuracy_m: Math.min(100000, Math.max(0, fix.coords.accuracy || 0)),
        at: new Date(fix.timestamp || Date.now()).toISOString(),
      };
      positionState = "ok";
      paintPosition();
      postPositionSoon();
    },
    (error) => {
      if (!position) { positionState = "none"; }
      paintPosition();
      if (error.code === error.PERMISSION_DENIED) { stopPosition(); }
    },
    { enableHighAccuracy: true, maximumAge: 5000, timeout: 15000 },
  );
}

function stopPosition() {
  if (watchId !== null && navigator.geolocation) { navigator.geolocation.clearWatch(watchId); }
  watchId = null;
  clearTimeout(postTimer);
  postTimer = 0;
}

function paintPosition() {
  const line = $("position");
  line.dataset.state = positionState;
  line.textContent = positionState === "ok"
    ? say("position_at", { time: clock(position.at), acc: Math.round(position.accuracy_m) })
    : positionState === "none" ? say("position_none") : say("position_waiting");
}

// At most one position every POSITION_MS, and only once central holds the alarm.
function postPositionSoon() {
  if (!active || !active.stored || active.finished || !position || position.at === postedFix) {
    return;
  }
  const wait = postedAt ? postedAt + POSITION_MS - performance.now() : 0;
  if (wait > 0) {
    if (!postTimer) { postTimer = setTimeout(() => { postTimer = 0; postPositionSoon(); }, wait); }
    return;
  }
  const fix = position;
  postedAt = performance.now();
  postedFix = fix.at;
  fetch(`/api/mobile/alarms/${active.alarm_id}/position`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Authorization": `Bearer ${session.token}` },
    body: JSON.stringify(fix),
    cache: "no-store",
  }).then((r) => {
    if (r.status === 401) { signedOut(); }
  }, () => { postedFix = null; /* offline: the next fix or tick tries again */ });
}

// --- raising --------------------------------------------------------------------------------

let countdownTimer = 0;
let unreachable = false; // the last send of the active alarm found no network
let active = null; // the alarm record (as in IndexedDB) while it is shown

function chosenLevel() {
  return document.querySelector('input[name="level"]:checked').value;
}

function silent() {
  return $("silent").checked;
}

function buzz(pattern) {
  if (!silent() && !(active && active.silent) && navigator.vibrate) {
    try { navigator.vibrate(pattern); } catch { /* not allowed now */ }
  }
}

function startCountdown() {
  let left = CANCEL_S;
  const text = $("countdown-text");
  text.textContent = say("countdown", { n: left });
  show("countdown");
  $("cancel").focus();
  buzz(150);
  startPosition(); // a fix may be ready by the time the alarm goes
  countdownTimer = setInterval(() => {
    left -= 1;
    if (left <= 0) {
      clearInterval(countdownTimer);
      raise();
      return;
    }
    text.textContent = say("countdown", { n: left });
  }, 1000);
}

function cancelCountdown() {
  clearInterval(countdownTimer);
  stopPosition();
  position = null;
  show("home");
  $("hold-hint").textContent = say("cancelled");
  $("hold").focus();
}

async function raise() {
  const alarm = {
    alarm_id: newAlarmId(),
    level: chosenLevel(),
    silent: silent(),
    raised_at: new Date().toISOString(),
    site: session.site || undefined,
    user: session.user, // sent only with this user's token (store.js)
    user_name: session.name || session.user,
    position: position,
    stored: false,
    answer: null,
  };
  // Kept before anything is sent: from here on, the alarm outlives a reload or a crash.
  await store().putAlarm(alarm);
  await store().set("active", alarm.alarm_id);
  active = alarm;
  postedAt = 0;
  postedFix = alarm.position ? alarm.position.at : null;
  showActive();
  buzz([300, 100, 300]);
  requestSync();
  await flushOutbox();
  startPolling();
}

async function requestSync() {
  try {
    const registration = await navigator.serviceWorker?.ready;
    if (registration && "sync" in registration) { await registration.sync.register(SYNC_TAG); }
  } catch { /* no Background Sync here: the page's own retries do the job */ }
}

// One send round of whatever the outbox holds; the answers update the screen.
async function flushOutbox() {
  const results = await store().flush();
  if (results.some((r) => r.outcome === "unauthorized")) { await signedOut(); }
  if (active) {
    const sent = results.find((r) => r.alarm_id === active.alarm_id);
    if (sent) { unreachable = Boolean(sent.offline); }
    const fresh = await store().alarm(active.alarm_id);
    if (fresh) { active = fresh; }
    if (active.answer) { paintAnswer(active.answer); } else { paintState(); }
    if (active.refused && !active.finished) { finishRefused(); }
    postPositionSoon();
  }
  if (session) { await paintHeld(); }
  return results;
}

// Back to the alarm kept as active (a reload, a login again), if it is this person's.
async function resumeActive() {
  if (!active) {
    const activeId = await store().get("active");
    active = (activeId && (await store().alarm(activeId))) || null;
  }
  if (!active || active.finished) { return; }
  if (!mine(active)) {
    // Someone else's alarm: it waits for its raiser (paintHeld says so), not on this screen.
    stopPolling();
    stopPosition();
    active = null;
    return;
  }
  postedFix = active.position ? active.position.at : null;
  showActive();
  if (active.refused) { finishRefused(); return; }
  startPosition();
  startPolling();
}

// --- the active alarm -----------------------------------------------------------------------

function showActive() {
  $("active-heading").textContent = say(active.level === "acute" ? "alarm_acute" : "alarm_assist")
    + (active.silent ? ` (${say("alarm_silent")})` : "");
  $("sent").textContent = say("raised_at", { time: clock(active.raised_at) });
  $("done").hidden = true;
  if (!position && positionState !== "none") { positionState = "waiting"; }
  paintPosition();
  paintState();
  show("active");
}

function paintState() {
  const line = $("state");
  if (active.refused) {
    line.dataset.state = "refused";
    line.textContent = say("state_refused", { detail: active.refused });
  } else if (!active.stored) {
    // "queued" once a send has failed for want of network (or the browser says it has none).
    const queued = unreachable || !navigator.onLine;
    line.dataset.state = queued ? "queued" : "sending";
    line.textContent = say(queued ? "state_queued" : "state_sending");
  }
}

function names(list) {
  const all = list.map((r) => r.name);
  if (all.length <= 1) { return all.join(""); }
  return `${all.slice(0, -1).join(", ")} ${say("and")} ${all[all.length - 1]}`;
}

function paintAnswer(answer) {
  const line = $("state");
  let state;
  if (answer.state === "resolved") {
    state = "resolved";
  } else if (answer.responders && answer.responders.length) {
    state = "coming";
  } else if (answer.state === "received" || answer.state === "acknowledged" || answer.shown) {
    state = "received";
  } else {
    state = "raised";
  }
  if (line.dataset.state !== state || state === "coming") {
    if (state === "coming" && line.dataset.state !== "coming") { buzz([100, 60, 100]); }
    line.dataset.state = state;
    line.textContent = state === "coming"
      ? say(answer.responders.length > 1 ? "state_coming_many" : "state_coming",
        { names: names(answer.responders) })
      : say(`state_${state}`);
  }
  if (answer.position) {
    // Central's own copy of the position, the last one it holds.
    if (!position) { position = answer.position; positionState = "ok"; paintPosition(); }
  } else if (positionState === "none") {
    paintPosition();
  }
  if (state === "resolved") { finishActive(); }
}

// Central refused the alarm for good (403/409/422): the refusal and the call-112 prompt stay
// on the screen; the record stays in IndexedDB, marked refused; nothing is retried.
function finishRefused() {
  active.finished = true;
  stopPolling();
  stopPosition();
  paintState();
  $("done").hidden = false;
  store().del("active");
}

function finishActive() {
  active.finished = true;
  stopPolling();
  stopPosition();
  $("done").hidden = false;
  store().dropAlarm(active.alarm_id);
  store().del("active");
}

let pollTimer = 0;

function startPolling() {
  if (!pollTimer) { pollTimer = setInterval(poll, POLL_MS); }
}

function stopPolling() {
  clearInterval(pollTimer);
  pollTimer = 0;
}

async function poll() {
  if (!active || active.finished) { stopPolling(); return; }
  if (!active.stored) { await flushOutbox(); return; }
  try {
    const r = await fetch(`/api/mobile/alarms/${active.alarm_id}`, {
      headers: { "Authorization": `Bearer ${session.token}` }, cache: "no-store",
    });
    if (r.status === 401) { await signedOut(); return; }
    if (!r.ok) { return; }
    const answer = await r.json();
    active.answer = answer;
    paintAnswer(answer);
    postPositionSoon();
  } catch { /* offline: the next tick tries again */ }
}

function done() {
  active = null;
  position = null;
  positionState = "waiting";
  $("hold-hint").textContent = say("hold_hint");
  show("home");
  $("hold").focus();
}

// --- start ----------------------------------------------------------------------------------

async function start() {
  if (!self.TryggStore) { await new Promise((resolve) => addEventListener("DOMContentLoaded", resolve)); }
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/m/sw.js", { scope: "/m" }).catch(() => {});
  }
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("cancel").addEventListener("click", cancelCountdown);
  $("done").addEventListener("click", done);
  holdControl($("hold"), $("ring-fill"), {
    onStart: () => { $("hold-hint").textContent = say("holding"); },
    onProgress: () => {},
    onEarly: () => { $("hold-hint").textContent = say("released_early"); },
    onDone: startCountdown,
  });
  addEventListener("online", () => { flushOutbox(); if (active) { paintState(); } });
  addEventListener("offline", () => { if (active && !active.stored) { paintState(); } });
  // Hidden (the screen locks, another app): the page is about to be frozen. The worker may
  // live a little longer, so it gets one more send round of whatever is still waiting.
  document.addEventListener("visibilitychange", async () => {
    if (!document.hidden || !navigator.serviceWorker?.controller) { return; }
    if ((await store().pending()).length) { navigator.serviceWorker.controller.postMessage("flush"); }
  });
  // The outbox is retried on a timer too: "online" is not fired everywhere, nor reliably.
  setInterval(async () => {
    if ((await store().pending()).length) { await flushOutbox(); }
  }, RETRY_MS);

  session = (await store().get("session")) || null;
  if (!session) {
    show("login");
  } else {
    await home();
    // A reload or a reopened page: the alarm goes on where it was.
    await resumeActive();
    await flushOutbox();
  }
  document.body.dataset.ready = "yes";
}

start();
