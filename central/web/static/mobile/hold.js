// Hold-to-raise: the one alarm control, hard to set off in a pocket.
//
// Why a hold and not a tap: accidental triggering is the commonest complaint about lone-worker
// alarms. The control fires only after it has been held for HOLD_MS without a break (pointer
// events, so a finger, a stylus and a mouse behave alike; Space or Enter held down does the
// same for a keyboard or switch user). A progress ring shows how far the hold has come.
// Letting go early, a cancelled touch (the page scrolled, a call came in) or the page being
// hidden ends the hold with nothing raised. Time comes from performance.now() and
// requestAnimationFrame, so the same code runs under a test's installed clock.

export const HOLD_MS = 2000;

export function holdControl(button, ring, { onStart, onProgress, onEarly, onDone }) {
  let started = null; // performance.now() of the press, null when not held
  let pointer = null; // the pointer holding it, if a pointer does
  let frame = 0;

  function paint(fraction) {
    ring.style.strokeDashoffset = String(100 - Math.min(1, fraction) * 100);
    button.style.setProperty("--progress", String(fraction));
  }

  function tick() {
    if (started === null) { return; }
    const fraction = (performance.now() - started) / HOLD_MS;
    paint(fraction);
    onProgress(fraction);
    if (fraction >= 1) {
      finish(true);
      return;
    }
    frame = requestAnimationFrame(tick);
  }

  function begin() {
    if (started !== null || button.disabled) { return; }
    started = performance.now();
    button.dataset.state = "holding";
    onStart();
    frame = requestAnimationFrame(tick);
  }

  function finish(completed) {
    if (started === null) { return; }
    // A release is judged by the time held, not by whether a frame happened to be painted.
    const held = performance.now() - started >= HOLD_MS;
    started = null;
    cancelAnimationFrame(frame);
    if (pointer !== null && button.hasPointerCapture && button.hasPointerCapture(pointer)) {
      try { button.releasePointerCapture(pointer); } catch { /* already released */ }
    }
    pointer = null;
    paint(0);
    button.dataset.state = "idle";
    if (completed || held) { onDone(); } else { onEarly(); }
  }

  button.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 && event.pointerType === "mouse") { return; }
    event.preventDefault(); // no text selection, no long-press menu, no focus shuffle
    pointer = event.pointerId;
    try { button.setPointerCapture(event.pointerId); } catch { /* a synthetic pointer */ }
    begin();
  });
  for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
    button.addEventListener(type, (event) => {
      if (pointer === null || event.pointerId === pointer) { finish(false); }
    });
  }
  // Long-press on a phone opens a menu or starts a drag: neither belongs here.
  button.addEventListener("contextmenu", (event) => event.preventDefault());
  button.addEventListener("dragstart", (event) => event.preventDefault());
  button.addEventListener("keydown", (event) => {
    if ((event.key === " " || event.key === "Enter") && !event.repeat) {
      event.preventDefault();
      begin();
    } else if (event.key === " " || event.key === "Enter") {
      event.preventDefault();
    }
  });
  button.addEventListener("keyup", (event) => {
    if (event.key === " " || event.key === "Enter") {
      event.preventDefault();
      finish(false);
    }
  });
  button.addEventListener("blur", () => finish(false));
  // A click (a tap, or a screen reader's activation) alone raises nothing.
  button.addEventListener("click", (event) => event.preventDefault());
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) { finish(false); }
  });
  paint(0);
}
