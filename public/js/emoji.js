// The composer's emoji picker (issue 16): the button beside Attach opens a grid of common
// emoji, plain text drawn by the system's colour emoji font (no images, no CDN). Keyboard:
// Tab enters the grid (one tab stop), arrows/Home/End move, Enter or Space inserts at the
// textarea's caret, Esc closes and gives focus back to the button. The button is rendered
// hidden and shown here: without JavaScript it could do nothing. Headings come, translated,
// from the button's data-emoji-labels.
(function () {
  'use strict';
  var COLS = 8;
  // Each group fills whole rows of COLS, so Up/Down (±COLS) keeps the column across groups.
  var GROUPS = [
    ['faces', '😀 😃 😄 😁 😆 😅 😂 🤣 😊 😇 🙂 😉 😌 😍 🥰 😘 😋 😎 🤓 🤔 🤨 😐 😶 🙄 😏 😬 😮 😲 😢 😭 😡 😴'],
    ['hands', '👍 👎 👌 ✌️ 🤞 🤝 👏 🙌 🙏 👋 ✋ 👊 ✊ 💪 👆 👉'],
    ['hearts', '❤️ 🧡 💛 💚 💙 💜 🖤 🤍 🤎 💔 ❣️ 💕 💞 💓 💗 💖'],
    ['shop', '📱 📲 💻 🖥️ ⌨️ 🖱️ 🖨️ 📷 🎧 🔌 🔋 🔍 💾 💿 🔧 🔨 🪛 ⚙️ 🧰 🔩 🧲 💡 🔦 📦 🚚 🏪 💶 💳 🧾 📄 📅 🛠️'],
    ['symbols', '✅ ❌ ⚠️ ❗ ❓ ⏰ ⏳ ⌛ 📍 📞 ☎️ 📧 ✉️ 💬 🔔 🔒 🆗 🆕 🔥 ⭐ ✨ 🎉 👀 💯'],
  ];
  var TOGGLE = '[data-emoji-toggle]';

  function reveal(root) {
    if (!root?.querySelectorAll) return;
    var buttons = Array.prototype.slice.call(root.querySelectorAll(TOGGLE + '[hidden]'));
    if (root.matches?.(TOGGLE + '[hidden]')) buttons.push(root);
    buttons.forEach(function (b) {
      b.hidden = false;
    });
  }

  function build(toggle) {
    var labels = {};
    try {
      labels = JSON.parse(toggle.getAttribute('data-emoji-labels') || '{}');
    } catch (_err) {
      /* headings stay empty */
    }
    var picker = document.createElement('div');
    picker.className = 'emoji-picker';
    picker.id = 'emoji-picker-' + (toggle.form ? toggle.form.id : 'x');
    picker.setAttribute('role', 'dialog');
    picker.setAttribute('aria-label', labels.picker || '');
    picker.hidden = true;
    GROUPS.forEach(function (g) {
      var heading = document.createElement('p');
      heading.className = 'emoji-picker__heading';
      heading.textContent = labels[g[0]] || '';
      var grid = document.createElement('div');
      grid.className = 'emoji-picker__grid';
      grid.setAttribute('role', 'group');
      grid.setAttribute('aria-label', heading.textContent);
      g[1].split(' ').forEach(function (emoji) {
        var b = document.createElement('button');
        b.type = 'button';
        b.className = 'emoji-picker__emoji';
        b.tabIndex = -1;
        b.setAttribute('data-emoji', '');
        b.textContent = emoji;
        grid.appendChild(b);
      });
      picker.appendChild(heading);
      picker.appendChild(grid);
    });
    picker.querySelector('[data-emoji]').tabIndex = 0;
    toggle.setAttribute('aria-controls', picker.id);
    toggle.insertAdjacentElement('afterend', picker); // next in Tab order after the button
    return picker;
  }

  function pickerOf(toggle) {
    var next = toggle.nextElementSibling;
    return next?.classList.contains('emoji-picker') ? next : null;
  }

  function setOpen(toggle, open) {
    var picker = pickerOf(toggle) || (open ? build(toggle) : null);
    if (picker) picker.hidden = !open;
    toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
  }

  function closeAll(except) {
    document.querySelectorAll(TOGGLE + '[aria-expanded="true"]').forEach(function (t) {
      if (t !== except) setOpen(t, false);
    });
  }

  function insert(button) {
    var form = button.closest('[data-composer]');
    var ta = form?.querySelector('textarea');
    if (!ta || ta.disabled) return;
    // A textarea keeps its selection while focus is in the picker: replace it, caret after.
    ta.setRangeText(button.textContent, ta.selectionStart, ta.selectionEnd, 'end');
    ta.dispatchEvent(new Event('input', { bubbles: true })); // the counter (app.js) follows
  }

  function listOf(picker) {
    return Array.prototype.slice.call(picker.querySelectorAll('[data-emoji]'));
  }

  function focusEmoji(list, i) {
    i = Math.max(0, Math.min(list.length - 1, i));
    list.forEach(function (b, j) {
      b.tabIndex = j === i ? 0 : -1;
    });
    list[i].focus();
  }

  document.addEventListener('click', function (e) {
    var t = e.target.closest ? e.target : e.target.parentElement;
    var toggle = t?.closest(TOGGLE);
    if (toggle) {
      closeAll(toggle);
      setOpen(toggle, toggle.getAttribute('aria-expanded') !== 'true');
      return;
    }
    var emoji = t?.closest('.emoji-picker [data-emoji]');
    if (emoji) {
      insert(emoji);
      var list = listOf(emoji.closest('.emoji-picker'));
      focusEmoji(list, list.indexOf(emoji));
      return;
    }
    if (!t?.closest('.emoji-picker')) closeAll(null);
  });

  // Capture phase: Esc here must not also cancel the composer's reply mode (app.js).
  document.addEventListener(
    'keydown',
    function (e) {
      var t = e.target;
      var picker = t.closest?.('.emoji-picker');
      if (e.key === 'Escape') {
        var form = t.closest?.('[data-composer]');
        var toggle = form?.querySelector(TOGGLE + '[aria-expanded="true"]');
        if (!toggle) return;
        e.preventDefault();
        e.stopPropagation();
        setOpen(toggle, false);
        if (picker || t === toggle) toggle.focus();
        return;
      }
      if (!picker || !t.matches('[data-emoji]')) return;
      var list = listOf(picker);
      var i = list.indexOf(t);
      var moves = { ArrowRight: i + 1, ArrowLeft: i - 1, ArrowDown: i + COLS, ArrowUp: i - COLS, Home: 0, End: list.length - 1 };
      if (!(e.key in moves)) return;
      e.preventDefault();
      focusEmoji(list, moves[e.key]);
    },
    true,
  );

  reveal(document);
  document.addEventListener('htmx:load', function (e) {
    reveal(e.detail?.elt);
  });
})();
