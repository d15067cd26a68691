// Saved replies in the composer (#16 item 3): `/` at the start of the message or after a space
// opens the employee's saved replies (their own and the shop's) matching what follows it. The
// list is server-rendered (GET /chats/:id/saved-replies?q=, views/chats/_saved_replies.eta),
// each option carrying its text with the placeholders already filled for this chat.
// Keyboard: ArrowUp/ArrowDown move, Enter (or Tab) inserts the chosen reply in place of the
// `/query`, Esc closes; a click inserts too. Without JavaScript there is no list: the composer
// works as before. No application state lives here.
// The note composer (#16) also lists colleagues after `@`: its options are in the page
// (views/chats/_mentions.eta, hidden), filtered here by what follows the `@`; choosing one
// inserts `@Full Name `, which the server reads as a mention.
(function () {
  'use strict';

  var DELAY_MS = 120;
  var TEXTAREA = '[data-composer] textarea';
  var timer = null;
  var seq = 0;
  // The open list: { textarea, box, start } (start: where the `/` is).
  var open = null;
  var inserting = false;

  function chatIdOf(textarea) {
    var form = textarea.form;
    var m = form && /^composer-(\d+)$/.exec(form.id || '');
    return m ? m[1] : null;
  }

  // The `/query` (or, in a note, the `@query`) just before the caret, or null.
  function tokenAt(textarea) {
    if (textarea.selectionStart !== textarea.selectionEnd) return null;
    var before = textarea.value.slice(0, textarea.selectionStart);
    var m = /(^|\s)\/([^\s/]{0,30})$/.exec(before);
    if (m) return { start: before.length - m[2].length - 1, q: m[2] };
    if (!textarea.hasAttribute('data-mentions')) return null;
    m = /(^|\s)@([^\s@]{0,30})$/.exec(before);
    return m ? { start: before.length - m[2].length - 1, q: m[2], mention: true } : null;
  }

  // The colleagues whose name has a word starting with `q`, from the page's hidden list.
  function mentionsHtml(textarea, q) {
    var source = document.getElementById(textarea.getAttribute('data-mentions'));
    if (!source) return null;
    var box = source.cloneNode(true);
    box.removeAttribute('hidden');
    box.id = source.id + '-open';
    var needle = q.toLocaleLowerCase();
    var list = box.querySelector('[role="listbox"]');
    if (list) list.id = list.id + '-open';
    Array.prototype.forEach.call(box.querySelectorAll('[role="option"]'), function (o) {
      var words = (o.getAttribute('data-name') || '').toLocaleLowerCase().split(/\s+/);
      var hit =
        !needle ||
        words.some(function (w) {
          return w.indexOf(needle) === 0;
        });
      if (!hit) o.parentNode.removeChild(o);
      else o.id = o.id + '-open';
    });
    if (list && !list.children.length) return null;
    return box.outerHTML;
  }

  function options() {
    return open ? Array.prototype.slice.call(open.box.querySelectorAll('[role="option"]')) : [];
  }

  function active() {
    return open ? open.box.querySelector('[role="option"][aria-selected="true"]') : null;
  }

  function setActive(option) {
    options().forEach(function (o) {
      o.setAttribute('aria-selected', o === option ? 'true' : 'false');
    });
    if (option) {
      open.textarea.setAttribute('aria-activedescendant', option.id);
      option.scrollIntoView({ block: 'nearest' });
    } else open.textarea.removeAttribute('aria-activedescendant');
  }

  function close() {
    seq++;
    if (timer) clearTimeout(timer);
    timer = null;
    if (!open) return;
    var ta = open.textarea;
    if (open.box.parentNode) open.box.parentNode.removeChild(open.box);
    ta.removeAttribute('aria-activedescendant');
    ta.removeAttribute('aria-controls');
    ta.setAttribute('aria-expanded', 'false');
    open = null;
  }

  function show(textarea, start, html) {
    var tpl = document.createElement('template');
    tpl.innerHTML = html;
    var box = tpl.content.querySelector('.saved-replies');
    if (!box) return close();
    if (open?.box.parentNode) open.box.parentNode.removeChild(open.box);
    var row = textarea.closest('.composer__row') || textarea.parentNode;
    row.insertBefore(box, row.firstChild);
    open = { textarea: textarea, box: box, start: start };
    var list = box.querySelector('[role="listbox"]');
    textarea.setAttribute('role', 'combobox');
    textarea.setAttribute('aria-autocomplete', 'list');
    textarea.setAttribute('aria-expanded', list ? 'true' : 'false');
    if (list) textarea.setAttribute('aria-controls', list.id);
    else textarea.removeAttribute('aria-controls');
  }

  function load(textarea, token) {
    if (token.mention) {
      var html = mentionsHtml(textarea, token.q);
      return html ? show(textarea, token.start, html) : close();
    }
    var id = chatIdOf(textarea);
    if (!id || !window.fetch) return;
    var mine = ++seq;
    fetch('/chats/' + id + '/saved-replies?q=' + encodeURIComponent(token.q), {
      credentials: 'same-origin',
      headers: { 'HX-Request': 'true', Accept: 'text/html' },
    })
      .then(function (res) {
        return res.ok ? res.text() : null;
      })
      .then(function (html) {
        // Only the latest request counts, and only while its `/query` is still being typed.
        if (mine !== seq || html === null) return;
        var now = tokenAt(textarea);
        if (!now || now.start !== token.start || document.activeElement !== textarea) return close();
        show(textarea, token.start, html);
      })
      .catch(function () {
        if (mine === seq) close();
      });
  }

  function insert(option) {
    if (!open || !option) return;
    var ta = open.textarea;
    var text = option.getAttribute('data-text') || '';
    var end = ta.selectionStart;
    var value = ta.value;
    var start = open.start;
    close();
    ta.value = value.slice(0, start) + text + value.slice(end);
    var caret = start + text.length;
    ta.focus();
    ta.setSelectionRange(caret, caret);
    // The counter (app.js) follows; the input listener here ignores this one.
    inserting = true;
    try {
      ta.dispatchEvent(new Event('input', { bubbles: true }));
    } finally {
      inserting = false;
    }
  }

  document.addEventListener('input', function (e) {
    var ta = e.target;
    if (inserting || !ta.matches || !ta.matches(TEXTAREA)) return;
    var token = tokenAt(ta);
    if (open && open.textarea !== ta) close();
    if (!token) return close();
    if (timer) clearTimeout(timer);
    timer = setTimeout(function () {
      timer = null;
      load(ta, token);
    }, DELAY_MS);
  });

  // Capture phase: while the list is open its keys are not the composer's (Enter sends, Esc
  // leaves reply mode in app.js).
  document.addEventListener(
    'keydown',
    function (e) {
      if (!open || e.target !== open.textarea || e.isComposing) return;
      var all = options();
      var current = active();
      var i = all.indexOf(current);
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        if (!all.length) return;
        var next = e.key === 'ArrowDown' ? (i + 1) % all.length : (i <= 0 ? all.length : i) - 1;
        setActive(all[next]);
      } else if (e.key === 'Tab') {
        // Tab inserts only a reply the person chose; otherwise focus moves on as usual.
        if (!current || e.shiftKey) return close();
        insert(current);
      } else if (e.key === 'Enter' && !e.shiftKey) {
        if (!all.length) {
          close();
          return; // Enter sends as usual
        }
        insert(current || all[0]);
      } else if (e.key === 'Escape') {
        close();
      } else return;
      e.preventDefault();
      e.stopPropagation();
    },
    true,
  );

  // The textarea keeps the focus while the mouse picks an option.
  document.addEventListener('mousedown', function (e) {
    if (open && e.target.closest?.('.saved-replies')) e.preventDefault();
  });

  document.addEventListener('click', function (e) {
    if (!open || !e.target.closest) return;
    var option = e.target.closest('.saved-replies [role="option"]');
    if (option && open.box.contains(option)) insert(option);
    else if (!open.box.contains(e.target)) close();
  });

  document.addEventListener('focusout', function (e) {
    if (open && e.target === open.textarea) close();
  });

  // Moving the caret away from the `/query` (arrows, a click in the text) closes the list.
  document.addEventListener('selectionchange', function () {
    if (open && document.activeElement === open.textarea) {
      var token = tokenAt(open.textarea);
      if (!token || token.start !== open.start) close();
    }
  });

  // The composer replaced by htmx (a send, reply mode) takes its list with it.
  document.addEventListener('htmx:afterSwap', function () {
    if (open && !document.body.contains(open.textarea)) close();
  });
})();
