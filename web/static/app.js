// vmledger page glue (no inline scripts: the CSP allows only 'self').
// 1. Live updates: <body data-events="/events"> opens an EventSource; each `capture` event is
//    re-dispatched on <body> as `vml-capture`, which htmx regions listen for with
//    hx-trigger="vml-capture from:body". The browser reconnects by itself; we only show state.
// 2. Forms with data-confirm ask before submitting (revoking a token).
(function () {
  'use strict';
  const body = document.body;
  const url = body && body.getAttribute('data-events');
  function setState(state, text) {
    const els = document.querySelectorAll('[data-live]');
    for (let i = 0; i < els.length; i++) {
      els[i].setAttribute('data-state', state);
      els[i].textContent = text;
    }
  }
  if (url && 'EventSource' in globalThis) {
    const source = new EventSource(url);
    source.addEventListener('open', function () {
      setState('open', 'Live');
    });
    source.addEventListener('error', function () {
      setState('error', source.readyState === EventSource.CLOSED ? 'Offline' : 'Reconnecting…');
    });
    source.addEventListener('capture', function (e) {
      let detail = {};
      try {
        detail = JSON.parse(e.data);
      } catch (_) { /* keep empty */ }
      body.dispatchEvent(new CustomEvent('vml-capture', { detail: detail, bubbles: true }));
    });
    globalThis.addEventListener('pagehide', function () {
      source.close();
    });
  }
  document.addEventListener('submit', function (e) {
    const form = e.target;
    const message = form && form.getAttribute && form.getAttribute('data-confirm');
    if (message && !globalThis.confirm(message)) e.preventDefault();
  });
})();
