// Parley's only script besides htmx: the live stream and small keyboard niceties.
// No application state lives here; every change arrives as server-rendered HTML.
(function () {
  'use strict';

  // Live updates: one EventSource per page. The browser's own reconnect sends Last-Event-ID,
  // so the server replays what was missed; the first connect starts from the id the page
  // was rendered at. `ui` events carry out-of-band HTML swaps.
  function connectLive() {
    var body = document.body;
    var url = body.getAttribute('data-live');
    if (!url || !window.EventSource) return;
    var after = body.getAttribute('data-last-event-id') || '';
    var es = new EventSource(url + (after ? '?after=' + encodeURIComponent(after) : ''));
    es.addEventListener('ui', function (e) {
      if (window.htmx) window.htmx.swap(document.body, e.data, { swapStyle: 'none' });
      document.dispatchEvent(new CustomEvent('parley:live', { detail: { id: e.lastEventId } }));
    });
    es.addEventListener('reload', function () {
      es.close();
      window.location.reload();
    });
    window.parleyLive = es;
  }

  document.addEventListener('DOMContentLoaded', connectLive);
})();
