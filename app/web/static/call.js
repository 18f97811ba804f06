// Call page: clicking a time, bar or marker jumps the player (or scrolls the transcript when
// there is no recording); #t=SECONDS or ?t=SECONDS in the address opens the call there.
(function () {
  "use strict";
  var player = document.getElementById("player");
  var svg = document.querySelector("svg.timeline");
  var playhead = document.getElementById("playhead");
  var rows = Array.prototype.slice.call(document.querySelectorAll(".utt-row"));
  var current = null;

  function rowAt(t) {
    var found = null;
    rows.forEach(function (r) { if (parseFloat(r.dataset.start) <= t + 0.01) { found = r; } });
    return found;
  }

  function mark(t, scroll) {
    var row = rowAt(t);
    if (row !== current) {
      if (current) { current.classList.remove("now"); }
      if (row) { row.classList.add("now"); }
      current = row;
    }
    if (scroll && row) { row.scrollIntoView({block: "center", behavior: "smooth"}); }
    if (svg && playhead) {
      var x = parseFloat(svg.dataset.left) + t * parseFloat(svg.dataset.scale);
      playhead.setAttribute("x1", x);
      playhead.setAttribute("x2", x);
      playhead.style.display = "inline";
    }
  }

  function jump(t, scroll) {
    if (isNaN(t)) { return; }
    if (player) {
      player.currentTime = t;
      var p = player.play();
      if (p && p.catch) { p.catch(function () {}); }  // autoplay may be refused: the seek still holds
    }
    mark(t, scroll);
  }

  document.addEventListener("click", function (e) {
    var el = e.target.closest ? e.target.closest("[data-t]") : null;
    if (!el) { return; }
    e.preventDefault();
    jump(parseFloat(el.dataset.t), !el.classList.contains("time"));
  });

  if (player) {
    player.addEventListener("timeupdate", function () { mark(player.currentTime, false); });
  }

  function fromAddress() {
    var m = /[#&?]t=([0-9.]+)/.exec(location.hash) || /[?&]t=([0-9.]+)/.exec(location.search);
    if (!m) { return; }
    var t = parseFloat(m[1]);
    if (player) {
      var seek = function () { player.currentTime = t; };
      if (player.readyState >= 1) { seek(); } else { player.addEventListener("loadedmetadata", seek, {once: true}); }
    }
    mark(t, true);
  }
  window.addEventListener("hashchange", fromAddress);
  fromAddress();
})();

// Label review (coaches): every line whose step differs from the matcher's, or that was corrected
// before, is sent as the call's corrections; the page reloads with the new path and deviations.
(function () {
  "use strict";
  var bar = document.getElementById("review");
  if (!bar) { return; }
  var status = document.getElementById("review-status");
  var url = "/api/v1/calls/" + bar.dataset.call + "/sop/review";

  function send(method, body) {
    status.textContent = "saving…";
    fetch(url, {method: method, credentials: "same-origin",
                headers: body ? {"Content-Type": "application/json"} : {},
                body: body ? JSON.stringify(body) : undefined})
      .then(function (r) {
        if (r.ok) {
          // Enough reviews of the SOP changed: say that its calls are being re-matched.
          return r.json().then(function (saved) {
            if (saved.sop_rematch_queued) { window.location.search = "?relearn=1"; } else { window.location.reload(); }
          });
        }
        return r.json().then(function (e) { var d = e.detail; status.textContent = "not saved: " + (typeof d === "string" ? d : JSON.stringify(d || r.status)); });
      })
      .catch(function () { status.textContent = "not saved: the server could not be reached"; });
  }

  document.getElementById("review-save").addEventListener("click", function () {
    var corrections = [];
    document.querySelectorAll("select.relabel").forEach(function (s) {
      if (s.value !== s.dataset.matcher || s.dataset.corrected === "1") {
        corrections.push({index: parseInt(s.dataset.index, 10), step: s.value || null});
      }
    });
    send("PUT", {corrections: corrections, complete: document.getElementById("review-complete").checked});
  });
  var clear = document.getElementById("review-clear");
  if (clear) { clear.addEventListener("click", function () { send("DELETE"); }); }
})();
