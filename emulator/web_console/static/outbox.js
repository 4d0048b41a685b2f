// The outbox updates itself: every second it asks for the messages sent since it last
// looked (the same filters, rendered and escaped by the server) and puts them on top.
(function () {
  "use strict";
  var list = document.getElementById("outbox");
  var empty = document.getElementById("outbox-empty");
  var size = Number(list.dataset.size);
  var busy = false;

  function poll() {
    if (busy) return;
    busy = true;
    var query = new URLSearchParams(window.location.search);
    query.set("after", String(size));
    fetch("/_console/outbox/new?" + query.toString(), {cache: "no-store"})
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        size = Number(response.headers.get("X-Outbox-Size")) || size;
        return response.text();
      })
      .then(function (html) {
        if (html.trim()) {
          list.insertAdjacentHTML("afterbegin", html);
          empty.hidden = true;
        }
        list.dataset.size = String(size);
      })
      .catch(function () { /* the stack stopped or restarts: try again on the next tick */ })
      .then(function () { busy = false; });
  }

  window.setInterval(poll, 1000);
})();
