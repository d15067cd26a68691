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
      var html = presentOnly(e.data);
      if (html && window.htmx) window.htmx.swap(document.body, html, { swapStyle: 'none' });
      pruneFiltered();
      document.dispatchEvent(new CustomEvent('parley:live', { detail: { id: e.lastEventId } }));
    });
    es.addEventListener('red-dot', function (e) {
      var link = document.getElementById('nav-chats');
      if (link) link.setAttribute('data-red-dot', JSON.parse(e.data).on ? 'true' : 'false');
    });
    es.addEventListener('reload', function () {
      es.close();
      window.location.reload();
    });
    window.parleyLive = es;
  }

  // A list filtered to Mine or Unassigned (#16) gets the team's live changes like any list
  // (a chat assigned elsewhere, one moved to the top): keep only the chats that still match.
  function matchesFilter(ul, li) {
    var who = li.getAttribute('data-assignee') || '';
    return ul.getAttribute('data-filter') === 'mine' ? who === (ul.getAttribute('data-me') || '') : who === '';
  }

  function pruneFiltered() {
    document.querySelectorAll('ul.chat-list[data-filter]').forEach(function (ul) {
      ul.querySelectorAll('li.chat-item').forEach(function (li) {
        if (!matchesFilter(ul, li)) li.remove();
      });
    });
  }

  // The other way round: a chat that now matches a filtered list it is not in (assigned to me
  // while *Mine* is open) is placed there in the list's order, newest activity first. One older
  // than the whole page belongs to a later page ("Load more" finds it).
  function joinFiltered(el) {
    var ul = document.querySelector('ul.chat-list[data-filter]');
    if (!ul || !el.classList.contains('chat-item') || ul.getAttribute('data-search') === '1') return false;
    if (ul.id !== 'chat-list-' + el.getAttribute('data-chat-status') || !matchesFilter(ul, el)) return false;
    var time = el.querySelector('time');
    var at = time ? time.getAttribute('datetime') : '';
    var items = ul.querySelectorAll('li.chat-item');
    var before = null;
    for (var i = 0; i < items.length && !before; i++) {
      var t = items[i].querySelector('time');
      if (t && t.getAttribute('datetime') < at) before = items[i];
    }
    var more = ul.querySelector('.chat-list__more');
    if (!before && more) return false;
    var li = el.cloneNode(true);
    li.removeAttribute('hx-swap-oob');
    ul.insertBefore(li, before || null);
    var empty = ul.querySelector('.chat-list__empty');
    if (empty) empty.remove();
    if (window.htmx) window.htmx.process(li);
    return true;
  }

  // A live event carries swaps for every view of a chat (list, thread, header); keep only
  // those whose target this page shows, so htmx has nothing to complain about.
  function presentOnly(html) {
    var tpl = document.createElement('template');
    tpl.innerHTML = html;
    Array.prototype.slice.call(tpl.content.children).forEach(function (el) {
      var spec = el.getAttribute('hx-swap-oob');
      if (!spec) return;
      var colon = spec.indexOf(':');
      var selector = spec === 'true' || colon < 0 ? '#' + el.id : spec.slice(colon + 1);
      var current = document.querySelector(selector);
      if (!current) {
        joinFiltered(el);
        el.remove();
      }
      // A "reload yourself" panel (client panel changed elsewhere) spares the employee who made
      // the change (their answer is already shown) and a panel someone is typing in.
      else if (el.hasAttribute('data-refresh-by') && (el.getAttribute('data-refresh-by') === document.body.getAttribute('data-me') || current.contains(document.activeElement))) el.remove();
    });
    return tpl.content.children.length ? tpl.innerHTML : '';
  }

  // Out-of-band inserts (a message appended to a thread, a chat moved to the top of a list)
  // may carry an element the page already shows: drop the old copy so it is replaced, not
  // doubled. A list showing search results only updates items it already has.
  document.addEventListener('htmx:oobBeforeSwap', function (e) {
    var fragment = e.detail.fragment;
    var target = e.detail.target;
    if (!fragment || !target) return;
    var searching = target.getAttribute && target.getAttribute('data-search') === '1';
    var children = fragment.children ? Array.prototype.slice.call(fragment.children) : [];
    var intoThread = target.classList?.contains('thread__messages');
    children.forEach(function (child) {
      if (!child.id) return;
      var existing = document.getElementById(child.id);
      // An in-place replacement (hx-swap-oob="true") targets the element itself: leave it.
      if (existing === target) return;
      if (searching && !existing) child.remove();
      // A message already in the thread is at least as fresh as this insert (its later
      // changes come as in-place replacements): keep it where it is. A chat moved to the top
      // of a list, on the contrary, replaces its old entry.
      else if (existing && intoThread) child.remove();
      else if (existing) existing.remove();
    });
    var empty = target.querySelector?.('.chat-list__empty');
    if (empty && children.length) empty.remove();
  });

  function threadOf(el) {
    return el?.closest ? el.closest('.thread') : null;
  }

  function scrollToEnd(thread, force) {
    if (!thread) return;
    var nearEnd = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 160;
    if (force || nearEnd) thread.scrollTop = thread.scrollHeight;
  }

  function markSelected() {
    var pane = document.getElementById('chat-pane');
    var id = pane ? pane.getAttribute('data-chat-id') : '';
    document.querySelectorAll('.chat-item').forEach(function (li) {
      if (li.getAttribute('data-chat-id') === id) li.setAttribute('aria-current', 'true');
      else li.removeAttribute('aria-current');
    });
  }

  function updateCounter(textarea) {
    var form = textarea.form;
    var counter = form?.querySelector('[data-counter]');
    if (!counter) return;
    var max = Number(textarea.getAttribute('data-max')) || 1000;
    var n = Array.from(textarea.value).length;
    counter.textContent = n + ' / ' + max;
    counter.classList.toggle('composer__counter--over', n > max);
  }

  document.addEventListener('input', function (e) {
    if (e.target.matches?.('[data-composer] textarea')) updateCounter(e.target);
  });

  // H4: the template's text as the customer will see it, as the values are typed. The parts
  // come from the server (escaped in the attribute); values go in as text, never as HTML.
  function updateTemplatePreview(fieldset) {
    var out = fieldset.querySelector('[data-template-preview]');
    var parts;
    try {
      parts = JSON.parse(fieldset.getAttribute('data-template-parts') || '[]');
    } catch (_err) {
      return;
    }
    var values = Array.prototype.map.call(fieldset.querySelectorAll('input[name^="param_"]'), function (i) {
      return i.value.trim();
    });
    if (out) {
      out.textContent = parts
        .map(function (p) {
          return p.replace(/\{\{\s*(\d+)\s*\}\}/g, function (m, n) {
            return values[Number(n) - 1] || m;
          });
        })
        .join('\n');
    }
  }

  document.addEventListener('input', function (e) {
    var fs = e.target.closest?.('[data-template-form]');
    if (fs) updateTemplatePreview(fs);
  });

  // Reply to a message (where the channel quotes replies): the composer comes back in reply
  // mode. Without JavaScript the link opens the chat with the same composer.
  document.addEventListener('click', function (e) {
    var a = e.target.closest?.('[data-can-reply] .message__reply, .message--comment .message__reply, .message__reply-private');
    if (!a || !window.htmx) return;
    var pane = a.closest('[data-chat-id]');
    var id = pane?.getAttribute('data-chat-id');
    var url = new URL(a.href, location.href);
    if (!id || !url.searchParams.get('reply_to') || !document.getElementById('composer-' + id)) return;
    e.preventDefault();
    htmx.ajax('GET', '/chats/' + id + '/composer' + url.search, { target: '#composer-' + id, swap: 'outerHTML' });
  });

  // A voice note's Transcribe / Retry forms are inside the message bubble, where htmx is off
  // (hx-disable: the bubble shows the customer's content). Send them as htmx would (hx-post,
  // no swap: "Transcribing…" and the text arrive on the live stream) instead of letting the
  // browser post and reload the page. Without JavaScript the form still posts.
  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (!window.htmx || !form.matches?.('.transcript form[hx-post]')) return;
    e.preventDefault();
    window.htmx.ajax('POST', form.getAttribute('hx-post'), { source: form, swap: 'none' });
  });

  // Esc leaves reply mode.
  document.addEventListener('keydown', function (e) {
    if (e.key !== 'Escape' || !e.target.closest) return;
    var form = e.target.closest('[data-composer]');
    var cancel = form?.querySelector('[data-reply-cancel]');
    if (cancel) {
      e.preventDefault();
      cancel.click();
    }
  });

  // Enter sends, Shift+Enter adds a line (E1). Without JavaScript the button still sends.
  document.addEventListener('keydown', function (e) {
    var t = e.target;
    if (e.key !== 'Enter' || e.shiftKey || e.isComposing || !t.matches || !t.matches('[data-composer] textarea')) return;
    e.preventDefault();
    if (t.value.trim() !== '' && t.form.requestSubmit) t.form.requestSubmit();
  });

  document.addEventListener('htmx:afterSettle', function (e) {
    markSelected();
    var elt = e.detail.elt;
    if (elt && elt.id === 'chat-pane') scrollToEnd(elt.querySelector('.thread'), true);
    if (elt?.matches?.('[data-composer]')) {
      var ta = elt.querySelector('textarea');
      if (ta && !ta.disabled) ta.focus();
    }
  });

  document.addEventListener('htmx:oobAfterSwap', function (e) {
    var target = e.detail.target;
    if (target?.classList?.contains('thread__messages')) scrollToEnd(threadOf(target), false);
    markSelected();
  });

  document.addEventListener('DOMContentLoaded', function () {
    connectLive();
    markSelected();
    document.querySelectorAll('.thread').forEach(function (t) {
      scrollToEnd(t, true);
    });
  });
})();
