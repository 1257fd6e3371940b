// The labeling page's only script (hand-written, no framework, no network beyond this server):
// collect the form into {item_id, ranks, likert, flags} in display order, POST it, reload for the next item.
(function () {
  "use strict";
  var form = document.getElementById("label-form");
  if (!form) return;
  var k = parseInt(form.dataset.k, 10), task = form.dataset.task, letters = "ABCDEFGHI";
  var status = document.getElementById("status"), button = document.getElementById("submit");

  function checked(name) {
    var el = form.querySelector('input[name="' + name + '"]:checked');
    return el ? el.value : null;
  }
  function ranks() {
    if (task === "compare") {
      var v = checked("verdict");
      return v ? {A: [1, 2], B: [2, 1], tie: [1, 1]}[v] : null;
    }
    var out = [];
    for (var i = 0; i < k; i++) {
      var v2 = document.getElementById("rank-" + i).value;
      if (!v2) return null;
      out.push(parseInt(v2, 10));
    }
    return out;
  }
  // "A = C > B > D": the ranking as the labeler entered it, so a mistake is visible before submitting.
  function summary() {
    var el = document.getElementById("rank-summary"), r = ranks();
    if (!el) return;
    if (!r) { el.textContent = ""; return; }
    var idx = r.map(function (_, i) { return i; }).sort(function (a, b) { return r[a] - r[b]; });
    el.textContent = idx.map(function (i, n) {
      return (n === 0 ? "" : (r[i] === r[idx[n - 1]] ? " = " : " > ")) + letters[i];
    }).join("");
  }
  form.addEventListener("change", summary);
  document.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var likert = [], flags = [], r = ranks();
    for (var i = 0; i < k; i++) {
      var v = checked("likert-" + i);
      if (!v) { status.textContent = "Give response " + letters[i] + " a 1-7 score."; return; }
      likert.push(parseInt(v, 10));
      flags.push(Array.prototype.map.call(form.querySelectorAll('input[name="flag-' + i + '"]:checked'),
                                          function (el) { return el.value; }));
    }
    if (!r) { status.textContent = task === "compare" ? "Choose A, B or about the same." : "Rank every response."; return; }
    button.disabled = true;
    status.textContent = "Saving…";
    fetch("/api/submit", {
      method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({item_id: form.dataset.itemId, ranks: r, likert: likert, flags: flags})
    }).then(function (resp) {
      return resp.json().then(function (body) { return {ok: resp.ok, code: resp.status, body: body}; });
    }).then(function (res) {
      if (res.ok || res.code === 409) { window.location.reload(); return; }
      var d = res.body && res.body.detail;
      status.textContent = typeof d === "string" ? d : "Not saved: " + JSON.stringify(d);
      button.disabled = false;
    }).catch(function () {
      status.textContent = "Not saved: the server did not answer. Try again.";
      button.disabled = false;
    });
  });
})();
