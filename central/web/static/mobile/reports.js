// Incident reports on the phone page: "you are asked to write a report" after a real alarm
// (central.reports asks the alarm's raiser once it is resolved), and a way to report a threat
// that came without an alarm (a phone call, a letter).
//
// Why it is shaped so: the report itself is the console's form (/reports/new), in the phone's
// browser, where the person signs in as on any PC: the form's free text must not sit in this
// page's storage, and the console records who read what. This file only asks central which
// reports this phone's owner still owes (GET /api/reports/asked, with the phone's credential)
// and links to the form. Nothing of it is needed for the alarm, and a failure says nothing.

const T = JSON.parse(document.getElementById("strings").textContent);
const $ = (id) => document.getElementById(id);
const store = () => self.TryggStore;

function say(key, values = {}) {
  return (T[key] || key).replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

function clock(iso) {
  return new Date(iso).toLocaleTimeString(document.documentElement.lang, {
    hour: "2-digit", minute: "2-digit",
  });
}

function paint(asked) {
  const list = $("report-asks");
  list.replaceChildren();
  for (const ask of asked) {
    const item = document.createElement("li");
    item.className = "notice";
    item.dataset.alarm = ask.alarm_id;
    const text = document.createElement("span");
    text.textContent = say("report_asked", { room: ask.room, clock: clock(ask.raised_at) }) + " ";
    const link = document.createElement("a");
    link.href = ask.path; // the console's form, filled in from the alarm
    link.textContent = say("report_write");
    item.append(text, link);
    list.append(item);
  }
  $("reports-asked").hidden = asked.length === 0;
}

async function refresh() {
  const session = store() && await store().get("session");
  if (!session) { return; }
  try {
    const answer = await fetch("/api/reports/asked", {
      headers: { "Authorization": `Bearer ${session.token}` }, cache: "no-store",
    });
    if (answer.ok) { paint((await answer.json()).asked); }
  } catch (_) { /* offline: asked again when the page is next shown */ }
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") { refresh(); }
});
// The home screen is painted after the sign-in check; look once it is there, and again
// whenever it is shown (an alarm just ended, or the page came back to the front).
new MutationObserver(() => { if (!$("home").hidden) { refresh(); } })
  .observe($("home"), { attributes: true, attributeFilter: ["hidden"] });
refresh();
