// The visit timer's controls on the phone page: start a home visit, check out.
//
// Why it is shaped so: the timer runs on central (central.core.visits), never here — a page is
// frozen while the screen is locked, and a dead phone runs nothing. So this file only starts
// the visit, asks for the notification permission then (and subscribes to Web Push with
// central's key, so that central's question reaches a locked screen), sends positions while
// the page happens to be open, and checks out. If push is refused or unsupported, the visit
// still runs: the colleague's desk and the alarm do not depend on it.

const POSITION_MS = 30000;
const T = JSON.parse(document.getElementById("strings").textContent);
const $ = (id) => document.getElementById(id);
const store = () => self.TryggStore;

function say(key, values = {}) {
  return (T[key] || key).replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

function newId() {
  if (crypto.randomUUID) { return crypto.randomUUID(); }
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

async function api(method, path, body) {
  const session = await store().get("session");
  if (!session) { throw new Error("signed_out"); }
  const headers = { "Authorization": `Bearer ${session.token}` };
  if (body !== undefined) { headers["Content-Type"] = "application/json"; }
  return fetch(path, {
    method, headers, cache: "no-store",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

function keyBytes(base64url) {
  const text = atob(base64url.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

// Asked when the visit starts: that is when the user sees why. False: no push (the rest works).
async function subscribe() {
  if (!("serviceWorker" in navigator) || !("PushManager" in self) || !("Notification" in self)) {
    return false;
  }
  try {
    if ((await Notification.requestPermission()) !== "granted") { return false; }
    const key = await (await api("GET", "/api/mobile/push-key")).json();
    const registration = await navigator.serviceWorker.ready;
    const subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true, applicationServerKey: keyBytes(key.public_key),
    });
    const answer = await api("PUT", "/api/mobile/push-subscription", subscription.toJSON());
    return answer.ok;
  } catch (_) {
    return false;
  }
}

function untilToday(hhmm) {
  const [h, m] = hhmm.split(":").map(Number);
  const until = new Date();
  until.setHours(h, m, 0, 0);
  return until;
}

let watch = null;
let lastSent = 0;

function follow(visitId) {
  if (watch !== null || !navigator.geolocation) { return; }
  watch = navigator.geolocation.watchPosition((p) => {
    if (Date.now() - lastSent < POSITION_MS) { return; }
    lastSent = Date.now();
    api("POST", `/api/mobile/visits/${visitId}/position`, {
      lat: p.coords.latitude, lon: p.coords.longitude,
      accuracy_m: Math.min(p.coords.accuracy, 100000), at: new Date(p.timestamp).toISOString(),
    }).catch(() => { /* offline: the next one, or the last one central has */ });
  }, () => { /* refused or unavailable: the visit runs without a position */ },
  { enableHighAccuracy: true, maximumAge: 15000 });
}

function unfollow() {
  if (watch !== null) { navigator.geolocation.clearWatch(watch); }
  watch = null;
}

function showVisit(visit) {
  const running = visit && visit.state !== "checked_out";
  $("visit-form").hidden = running;
  $("visit-running").hidden = !visit;
  $("visit-checkout").hidden = !running;
  if (!visit) { return; }
  const until = new Date(visit.until).toLocaleTimeString(document.documentElement.lang, {
    hour: "2-digit", minute: "2-digit",
  });
  const key = { running: "visit_running", asked: "visit_asked", raised: "visit_raised" };
  $("visit-state").textContent = running ? say(key[visit.state], { until }) : say("visit_done");
  if (running) {
    $("visit").open = true;
    follow(visit.visit_id);
  } else {
    unfollow();
  }
}

async function start(event) {
  event.preventDefault();
  const form = event.target;
  const error = $("visit-error");
  error.hidden = true;
  const until = untilToday(form.elements.until.value);
  if (until <= new Date()) {
    error.textContent = say("visit_until_past");
    error.hidden = false;
    return;
  }
  const pushed = await subscribe();
  const body = {
    visit_id: newId(), until: until.toISOString(),
    grace_min: Number(form.elements.grace.value || 0),
    address: form.elements.address.value.trim(),
  };
  const colleague = form.elements.colleague.value.trim();
  if (colleague) { body.colleague = colleague; }
  try {
    const answer = await api("POST", "/api/mobile/visits", body);
    const got = await answer.json();
    if (!answer.ok) {
      const reason = typeof got.detail === "string" ? got.detail : String(answer.status);
      error.textContent = reason === "until_past" ? say("visit_until_past")
        : say("visit_failed", { reason });
      error.hidden = false;
      return;
    }
    await store().set("visit", got.visit_id);
    $("visit-push").hidden = pushed;
    showVisit(got);
  } catch (_) {
    error.textContent = say("visit_failed", { reason: "offline" });
    error.hidden = false;
  }
}

async function checkout() {
  const visitId = await store().get("visit");
  if (!visitId) { return; }
  const answer = await api("POST", `/api/mobile/visits/${visitId}/checkout`);
  if (answer.ok || answer.status === 404) {
    await store().del("visit");
    showVisit(answer.ok ? await answer.json() : null);
  }
}

async function resume() {
  const visitId = await store().get("visit");
  if (!visitId) { return; }
  try {
    const answer = await api("GET", `/api/mobile/visits/${visitId}`);
    if (answer.ok) { showVisit(await answer.json()); }
  } catch (_) { /* offline: central watches the visit all the same */ }
}

$("visit-form").addEventListener("submit", start);
$("visit-checkout").addEventListener("click", checkout);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") { resume(); }
});
resume();
