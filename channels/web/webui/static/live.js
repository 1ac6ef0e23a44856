// intakebot's console: live updates. Without this script every page works
// the same; with it, a change made anywhere (another agent, a mail, Slack)
// shows without a reload. The server says which incident changed; the page
// fetches itself again and swaps its live part, unless the agent is typing
// in a form of that part, which is then kept and a note says the page is
// out of date.
(function () {
  "use strict";
  var live = document.querySelector("[data-live]");
  if (!live || !window.EventSource || !window.fetch) return;
  var only = live.getAttribute("data-live"); // an incident id, or "" for any
  var note = document.getElementById("live-note");
  var pending = false, busy = false;

  function typing() {
    var el = document.activeElement;
    if (!el || !live.contains(el)) return false;
    if (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && el.type !== "submit")) return el.value !== "";
    return false;
  }

  function refresh() {
    if (busy) { pending = true; return; }
    if (typing()) { if (note) note.hidden = false; return; }
    busy = true;
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (r.redirected || !r.ok) { throw new Error("status " + r.status); }
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("[data-live]");
        if (!fresh) return;
        var focusId = document.activeElement && document.activeElement.id;
        live.innerHTML = fresh.innerHTML;
        if (focusId) { var el = document.getElementById(focusId); if (el) el.focus(); }
        if (note) note.hidden = true;
        live.setAttribute("data-version", fresh.getAttribute("data-version") || "");
      })
      .catch(function () { if (note) note.hidden = false; })
      .then(function () {
        busy = false;
        if (pending) { pending = false; refresh(); }
      });
  }

  var es = new EventSource("/console/events");
  es.addEventListener("change", function (e) {
    // "ID VERSION": a page that already shows that version (after its own
    // form was sent) has nothing to fetch.
    var parts = String(e.data).split(" ");
    if (only && parts[0] !== only) return;
    var shown = parseInt(live.getAttribute("data-version") || "0", 10);
    if (only && parts.length > 1 && parseInt(parts[1], 10) <= shown) return;
    refresh();
  });
})();
