// Chats in the CRM: the phone hover card (J1–J4) and the compact chat window (J2).
// Every phone in the CRM renders through views/shared/_phone.eta with its number and client id
// (`data-phone`, `data-client-id`); lists carry nothing more, so they cost no query or byte (P5).
// The card is server-rendered HTML that htmx fetches once per phone, after the pointer rests on
// the number or the keyboard focuses it, and inserts right after it; CSS shows and hides it.
// A sweep of the mouse across a list fetches nothing. No application state lives here.
(function () {
  'use strict';

  var REST_MS = 300;
  var FOCUS_MS = 150;
  var timer = null;
  var pending = null;

  // Phones inside [data-no-hovercard] (the Chats page's client panel) have none: a compact
  // window there would duplicate the open chat's element ids.
  function phoneOf(node) {
    var phone = node?.closest ? node.closest('.phone[data-phone]') : null;
    return phone && !phone.closest('[data-no-hovercard]') ? phone : null;
  }

  function load(phone) {
    var q = 'phone=' + encodeURIComponent(phone.getAttribute('data-phone') || '');
    var client = phone.getAttribute('data-client-id');
    if (client) q += '&client_id=' + encodeURIComponent(client);
    window.htmx.ajax('GET', '/hovercard?' + q, { source: phone, target: phone, swap: 'afterend' });
  }

  function cardOf(phone) {
    var next = phone.nextElementSibling;
    return next?.classList.contains('hovercard') ? next : null;
  }

  function cancel() {
    if (timer) clearTimeout(timer);
    timer = null;
    pending = null;
  }

  // The card is `position: fixed` (no table cell or scrolling list clips it), next to its phone
  // and on the side of the screen with room for it. (CSSOM styles are allowed by the CSP.)
  function place(phone) {
    var card = cardOf(phone);
    if (!card) return;
    var p = phone.getBoundingClientRect();
    var w = card.offsetWidth;
    var h = card.offsetHeight;
    var left = Math.max(8, Math.min(p.left, window.innerWidth - w - 8));
    var top = p.bottom + 2;
    if (top + h > window.innerHeight - 8 && p.top - h - 2 > 8) top = p.top - h - 2;
    card.style.left = left + 'px';
    card.style.top = top + 'px';
  }

  // A new hover or focus brings back a card dismissed with Escape (and only that does).
  function arm(phone, ms) {
    var card = cardOf(phone);
    if (card) card.classList.remove('hovercard--dismissed');
    if (phone.hasAttribute('data-hovercard-loaded')) return place(phone);
    if (pending === phone) return;
    cancel();
    pending = phone;
    timer = setTimeout(function () {
      timer = null;
      pending = null;
      if (!window.htmx) return;
      phone.setAttribute('data-hovercard-loaded', '');
      load(phone);
    }, ms);
  }

  document.addEventListener('mouseover', function (e) {
    var phone = phoneOf(e.target);
    if (phone) arm(phone, REST_MS);
  });
  document.addEventListener('mouseout', function (e) {
    var phone = phoneOf(e.target);
    if (phone && phone === pending && !phone.contains(e.relatedTarget)) cancel();
  });
  document.addEventListener('focusin', function (e) {
    var phone = phoneOf(e.target);
    if (phone) arm(phone, FOCUS_MS);
  });
  document.addEventListener('focusout', function (e) {
    if (phoneOf(e.target) === pending) cancel();
  });

  // Escape hides an open card (content shown on hover must be dismissable) until the next hover.
  document.addEventListener('keydown', function (e) {
    if (e.key !== 'Escape') return;
    document.querySelectorAll('.hovercard').forEach(function (card) {
      card.classList.add('hovercard--dismissed');
    });
  });

  // A scrolled page moves the phones away from their cards: hide them until the next hover.
  window.addEventListener(
    'scroll',
    function (e) {
      if (e.target?.closest?.('.hovercard')) return;
      document.querySelectorAll('.hovercard').forEach(function (card) {
        card.classList.add('hovercard--dismissed');
      });
    },
    { capture: true, passive: true },
  );

  document.addEventListener('htmx:afterSettle', function (e) {
    var elt = e.detail.elt;
    if (elt?.matches?.('.phone[data-hovercard-loaded]')) place(elt);
    var target = e.detail.target;
    if (target && target.id === 'mini-chat-dock') {
      var thread = target.querySelector('.thread');
      if (thread) thread.scrollTop = thread.scrollHeight;
      var ta = target.querySelector('textarea');
      if (ta && !ta.disabled) ta.focus();
    }
  });

  // A chat already on the page (the Chats pane, or the open compact window) is focused rather
  // than opened twice: its element ids (#thread-messages-<id>) must stay unique for live updates.
  document.addEventListener('htmx:beforeRequest', function (e) {
    var elt = e.detail.elt;
    var id = elt?.getAttribute ? elt.getAttribute('data-mini-open') : null;
    if (!id || !document.getElementById('thread-messages-' + id)) return;
    e.preventDefault();
    var ta = document.querySelector('#composer-' + id + ' textarea');
    if (ta && !ta.disabled) ta.focus();
  });

  document.addEventListener('click', function (e) {
    if (!e.target.closest) return;
    // Opening a chat from a card puts the window in front: the card steps aside.
    var opener = e.target.closest('.hovercard [data-mini-open], .hovercard [data-action="start-chat"]');
    if (opener) opener.closest('.hovercard').classList.add('hovercard--dismissed');
    var close = e.target.closest('[data-mini-close]');
    var win = close?.closest('.mini-chat');
    if (win) win.remove();
  });

  // Forms in these parts answer a validation problem with 422 and the form with its errors:
  // show it (htmx leaves 4xx answers unswapped by default).
  document.addEventListener('htmx:beforeSwap', function (e) {
    var elt = e.detail.elt;
    if (e.detail.xhr && e.detail.xhr.status === 422 && elt?.closest?.('[data-swap-errors]')) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });
})();
