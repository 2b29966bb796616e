// The dashboard's only script (no inline script: the Content-Security-Policy forbids it).
// Logs: follow the page's Server-Sent Events stream, appending each line as text (never as HTML).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var log = document.getElementById("log");
  var status = document.getElementById("log-status");
  if (!log || !log.dataset.stream || !window.EventSource) {
    return;
  }
  var MAX_LINES = 5000;
  log.scrollTop = log.scrollHeight;
  var source = new EventSource(log.dataset.stream);
  source.onopen = function () { status.textContent = "following"; };
  source.onerror = function () { status.textContent = "reconnecting…"; };
  source.onmessage = function (event) {
    var atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
    log.appendChild(document.createTextNode(event.data + "\n"));
    while (log.childNodes.length > MAX_LINES) {
      log.removeChild(log.firstChild);
    }
    if (atEnd) {
      log.scrollTop = log.scrollHeight;
    }
  };
});
