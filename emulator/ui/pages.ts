// Server-rendered pages of the customer-side UI. All user text goes through the `html` tag.
import type { ChannelView, EmulatorCore, MessageView, PersonView, ThreadView } from '../emulator.ts';
import type { Comment } from '../state.ts';
import { fmtBytes, fmtTime, html, page, Raw, safeUrl } from './html.ts';

const PLATFORM_LABEL: Record<string, string> = { messenger: 'Messenger', instagram: 'Instagram', whatsapp: 'WhatsApp' };

function channelLabel(c: ChannelView): Raw {
  const extra = c.platform === 'whatsapp' ? `+${c.displayPhoneNumber ?? ''}` : c.platform === 'instagram' ? `@${c.username ?? ''}` : c.id;
  return html`<span class="badge ${c.platform}">${PLATFORM_LABEL[c.platform]}</span> ${c.name} <span class="muted small">${extra}</span>`;
}

function chatLink(c: ChannelView, p: PersonView): string {
  return `/ui/chat?channel=${encodeURIComponent(c.id)}&person=${encodeURIComponent(p.id)}`;
}

export function homePage(core: EmulatorCore): string {
  const channels = core.channels();
  const people = core.people();
  const config = core.ctx.config;
  const clock = core.clockInfo();
  const deliveries = core.deliveries();
  const failed = deliveries.filter((d) => d.state === 'dropped' || d.state === 'retrying').length;
  const callbacks = [config.webhooks.callbackUrl, ...Object.entries(config.webhooks.callbackUrls ?? {}).map(([o, u]) => (u ? `${o}: ${u}` : ''))].filter(Boolean);
  const body = html`
<div class="grid">
<section class="card">
  <h1>Accounts (the shop)</h1>
  <table>${channels.map(
    (c) => html`<tr><td>${channelLabel(c)}<div class="small muted">token <code>${c.token}</code></div>
    ${c.platform === 'whatsapp' ? html`<div class="small muted">WABA ${c.wabaId ?? ''}</div>` : html`<div class="small muted">webhook fields: ${c.subscribedFields.join(', ') || '(not subscribed)'}</div>`}</td></tr>`,
  )}</table>
</section>
<section class="card">
  <h1>Webhooks</h1>
  <p>${callbacks.length ? html`Callback: ${callbacks.map((u) => html`<code>${u}</code> `)}` : html`<strong>No callback URL</strong>: set <code>EMULATOR_CALLBACK_URL</code>; events are dropped.`}</p>
  <p class="small">App id <code>${config.appId}</code> · verify token <code>${config.webhooks.verifyToken ?? '(none)'}</code> · ${deliveries.length} deliveries, ${failed} failing · <a href="/ui/log">log</a></p>
  <div class="row">
    <form method="post" action="/ui/webhooks/verify" class="inline"><button class="secondary">Run verification handshake</button></form>
    <form method="post" action="/ui/chaos" class="inline"><input type="hidden" name="enabled" value="${config.chaos.enabled ? '0' : '1'}"><button class="secondary">${config.chaos.enabled ? 'Turn chaos off' : 'Turn chaos on'}</button></form>
  </div>
  <p class="small muted">Chaos: ${config.chaos.enabled ? `on — duplicates ${Math.round(config.chaos.duplicateRate * 100)}%, ${config.chaos.reorder ? 're-ordering' : 'in order'}, delays up to ${config.chaos.maxDelayMs} ms` : 'off'}</p>
</section>
<section class="card">
  <h1>Clock</h1>
  <p>Emulator time: <strong>${fmtTime(clock.now)}</strong> <span class="muted small">(offset ${Math.round(clock.offsetMs / 60000)} min)</span></p>
  <form method="post" action="/ui/clock" class="row">
    ${['1h', '23h59m', '24h1m', '7d1m'].map((d) => html`<button name="advance" value="${d}" class="secondary">+${d}</button>`)}
    <button name="reset" value="1" class="secondary">Reset</button>
  </form>
</section>
</div>
<section class="card">
  <h1>People (customers)</h1>
  <table><tr><th>Person</th><th>Write as this person to…</th></tr>
  ${people.map(
    (p) => html`<tr><td><strong>${p.name}</strong> <span class="muted small">${p.id}</span>${p.hiddenProfile ? html` <span class="badge bad">profile hidden</span>` : ''}${
      p.unreachable ? html` <span class="badge bad">unreachable</span>` : ''
    }<div class="small muted">${p.phone ? `+${p.phone}` : 'no phone'} · @${p.username}</div>
    <form method="post" action="/ui/people/${p.id}/toggle-hidden" class="inline"><button class="link small">${p.hiddenProfile ? 'show profile' : 'hide profile'}</button></form></td>
    <td>${channels.map((c) => (c.platform === 'whatsapp' && !p.phone ? '' : html`<a href="${chatLink(c, p)}">${channelLabel(c)}</a><br>`))}
    <a href="/ui/posts?person=${encodeURIComponent(p.id)}">Comment on posts</a></td></tr>`,
  )}</table>
  <h2>New person</h2>
  <form method="post" action="/ui/people" class="row">
    <input type="text" name="name" placeholder="Name" required>
    <input type="tel" name="phone" placeholder="WhatsApp number (digits)">
    <input type="text" name="username" placeholder="Instagram username">
    <label><input type="checkbox" name="hiddenProfile" value="1"> hides profile</label>
    <button>Create</button>
  </form>
</section>`;
  return page('Home', body);
}

function attachmentHtml(a: MessageView['attachments'][number]): Raw {
  const url = safeUrl(a.url ?? a.sourceUrl);
  if (a.type === 'image' || a.type === 'sticker') return html`<img src="${url}" alt="${a.filename ?? a.type}">`;
  if (a.type === 'audio') return html`<div>${a.voice ? 'Voice message' : 'Audio'}</div><audio controls preload="none" src="${url}"></audio>`;
  if (a.type === 'video') return html`<video controls preload="none" src="${url}"></video>`;
  if (a.type === 'template') return html`<em>[template]</em>`;
  return html`<a href="${url}" target="_blank" rel="noopener">📄 ${a.filename ?? 'file'}</a> <span class="small">${fmtBytes(a.size)}</span>`;
}

function statusText(m: MessageView, thread: ThreadView, platform: string): string {
  if (m.direction === 'in') {
    const seen = m.readByBusinessAt !== undefined || (thread.seenByBusinessAt ?? 0) >= m.timestamp;
    return seen ? 'Seen by the shop' : 'Sent';
  }
  if (m.status === 'failed') return `Failed (${m.error?.code ?? ''} ${m.error?.title ?? ''})`;
  const src = m.source === 'page_inbox' ? ' · from Meta inbox' : m.source === 'private_reply' ? ' · private reply' : m.tag ? ` · ${m.tag}` : '';
  return `${platform === 'whatsapp' && m.template ? `template ${m.template.name} · ` : ''}${m.status ?? 'sent'}${src}`;
}

/** The conversation as the customer sees it (also the polling fragment). */
export function messagesFragment(channel: ChannelView, person: PersonView, thread: ThreadView | undefined): string {
  if (!thread?.messages.length) return html`<p class="muted" data-unread="0">No messages yet. Say hello!</p>`.value;
  const unread = thread.messages.filter((m) => m.direction === 'out' && (m.status === 'sent' || m.status === 'delivered')).length;
  const lastOut = [...thread.messages].reverse().find((m) => m.direction === 'out');
  const items = thread.messages.map((m) => {
    const mine = m.direction === 'in';
    const reactions = m.reactions.map((r) => r.emoji).join(' ');
    const actions = mine
      ? m.deleted
        ? ''
        : html`<span class="actions"><form method="post" action="/ui/chat/unsend"><input type="hidden" name="channel" value="${channel.id}"><input type="hidden" name="person" value="${person.id}"><input type="hidden" name="messageId" value="${m.id}"><button title="Unsend">↩ unsend</button></form></span>`
      : html`<span class="actions">${['👍', '❤️', '😂'].map(
          (e) =>
            html`<form method="post" action="/ui/chat/react"><input type="hidden" name="channel" value="${channel.id}"><input type="hidden" name="person" value="${person.id}"><input type="hidden" name="messageId" value="${m.id}"><input type="hidden" name="emoji" value="${e}"><button title="React">${e}</button></form>`,
        )}</span>`;
    const quick =
      !mine && m === lastOut && m.quickReplies?.length
        ? html`<div class="row">${m.quickReplies.map(
            (q) =>
              html`<form method="post" action="/ui/chat/send" enctype="multipart/form-data" class="inline"><input type="hidden" name="channel" value="${channel.id}"><input type="hidden" name="person" value="${person.id}"><input type="hidden" name="text" value="${q.title ?? q.payload ?? ''}"><input type="hidden" name="quickReplyPayload" value="${q.payload ?? ''}"><button class="secondary">${q.title ?? q.content_type}</button></form>`,
          )}</div>`
        : '';
    return html`<div class="msg ${mine ? 'mine' : ''} ${m.deleted ? 'deleted' : ''}" id="msg-${m.id}">
      ${m.deleted ? html`<em>Message unsent</em>` : html`${m.text !== undefined ? html`<div>${m.text}</div>` : ''}${m.attachments.map(attachmentHtml)}`}
      ${reactions ? html`<div>${reactions}</div>` : ''}
      <div class="meta">${fmtTime(m.timestamp)} · ${statusText(m, thread, channel.platform)} ${actions}</div>${quick}</div>`;
  });
  const typing = thread.typing ? html`<div class="typing">${channel.name} is typing…</div>` : '';
  return html`<span hidden data-unread="${String(unread)}"></span>${items}${typing}`.value;
}

export function chatPage(core: EmulatorCore, channel: ChannelView, person: PersonView, flash?: string): string {
  const thread = core.thread(channel.id, person.id);
  const windowInfo = thread
    ? thread.windowOpen
      ? `24 h window open (last customer message ${fmtTime(thread.lastInboundAt ?? 0)})`
      : thread.humanAgentOpen
        ? 'outside 24 h — the shop can only answer with the HUMAN_AGENT tag'
        : channel.platform === 'whatsapp'
          ? 'outside the 24 h window — templates only'
          : 'window closed'
    : 'no conversation yet';
  const samples = core.ctx.media.sampleList().filter((s) => s.name !== 'avatar.png');
  const pollUrl = `/ui/chat/messages?channel=${encodeURIComponent(channel.id)}&person=${encodeURIComponent(person.id)}`;
  const body = html`
<section class="card">
  <div class="row"><h1>${person.name} → ${channelLabel(channel)}</h1></div>
  <p class="small muted">You act as <strong>${person.name}</strong>${person.hiddenProfile ? ' (profile hidden)' : ''} · id on this channel <code>${person.ids[channel.id] ?? ''}</code> · ${windowInfo} · <a href="/ui">switch</a></p>
  ${flash ? html`<p class="badge bad">${flash}</p>` : ''}
  <div class="chat" data-poll="${pollUrl}">${new Raw(messagesFragment(channel, person, thread))}</div>
</section>
<section class="card">
  <form method="post" action="/ui/chat/send" enctype="multipart/form-data">
    <input type="hidden" name="channel" value="${channel.id}"><input type="hidden" name="person" value="${person.id}">
    <textarea name="text" placeholder="Write a message…"></textarea>
    <div class="row">
      <label>Attach a sample: <select name="sample"><option value="">—</option>${samples.map((s) => html`<option value="${s.name}">${s.name} (${s.kind}, ${fmtBytes(s.size)})</option>`)}</select></label>
      <label>or a file: <input type="file" name="file"></label>
      <label><input type="checkbox" name="sticker" value="1"> sticker</label>
      <button>Send</button>
    </div>
  </form>
  <div class="row" style="margin-top:10px">
    <form method="post" action="/ui/chat/read" id="read-form" class="inline"><input type="hidden" name="channel" value="${channel.id}"><input type="hidden" name="person" value="${person.id}"><button class="secondary">Read the shop's messages</button></form>
    <label class="small"><input type="checkbox" id="autoread"> read automatically (chat open on the phone)</label>
  </div>
</section>`;
  return page(`${person.name} · ${channel.name}`, body, { refreshScript: true });
}

function commentTree(core: EmulatorCore, comments: Comment[], parentId: string | undefined, personId: string | undefined, postId: string): Raw {
  const people = core.ctx.store.people;
  return html`${comments
    .filter((c) => c.parentId === parentId && !c.deleted)
    .map((c) => {
      const author = c.from.kind === 'business' ? (core.ctx.store.channels.get(c.channelId)?.name ?? 'Shop') : (people.get(c.from.personId)?.name ?? '?');
      return html`<div class="comment ${c.from.kind === 'business' ? 'business' : ''}"><strong>${author}</strong> ${c.text} <span class="muted small">${fmtTime(c.createdAt)}${
        c.privateReplyMessageId ? ' · got a private reply' : ''
      }${c.hidden ? ' · hidden' : ''}</span>
      ${personId ? html`<form method="post" action="/ui/posts/comment" class="row"><input type="hidden" name="person" value="${personId}"><input type="hidden" name="postId" value="${postId}"><input type="hidden" name="parentId" value="${c.id}"><input type="text" name="text" placeholder="Reply…" required><button class="secondary">Reply</button></form>` : ''}
      ${commentTree(core, comments, c.id, personId, postId)}</div>`;
    })}`;
}

export function postsPage(core: EmulatorCore, personId: string | undefined): string {
  const people = core.people();
  const posts = core.posts();
  const body = html`
<section class="card">
  <h1>Posts</h1>
  <form method="get" action="/ui/posts" class="row">Comment as <select name="person">${people.map((p) => html`<option value="${p.id}" ${p.id === personId ? 'selected' : ''}>${p.name}</option>`)}</select><button class="secondary">Choose</button></form>
</section>
${posts.map((post) => {
  const channel = core.channel(post.channelId);
  return html`<section class="card"><div>${channelLabel(channel)} <span class="muted small">post ${post.id} · ${fmtTime(post.createdAt)}</span></div>
  <p><strong>${post.text}</strong></p>
  ${commentTree(core, post.comments, undefined, personId, post.id)}
  ${personId ? html`<form method="post" action="/ui/posts/comment" class="row"><input type="hidden" name="person" value="${personId}"><input type="hidden" name="postId" value="${post.id}"><input type="text" name="text" placeholder="Write a comment…" required><button>Comment</button></form>` : ''}
  </section>`;
})}
<section class="card"><h2>New post</h2><form method="post" action="/ui/posts" class="row"><select name="channel">${core
    .channels()
    .filter((c) => c.platform !== 'whatsapp')
    .map(
      (c) => html`<option value="${c.id}">${c.name} (${PLATFORM_LABEL[c.platform]})</option>`,
    )}</select><input type="text" name="text" placeholder="Post text" required><button class="secondary">Publish</button></form></section>`;
  return page('Posts', body, { refreshScript: false });
}

export function logPage(core: EmulatorCore): string {
  const calls = core.calls({ all: true }).slice(-100).reverse();
  const deliveries = [...core.deliveries()].slice(-100).reverse();
  const body = html`
<section class="card"><h1>Graph API calls (newest first)</h1>
<table><tr><th>#</th><th>Call</th><th>Status</th><th>Body / response</th></tr>
${calls.map(
  (
    c,
  ) => html`<tr><td>${c.seq}</td><td><code>${c.method} ${c.path}</code><div class="small muted">${fmtTime(c.at)}</div></td><td><span class="badge ${c.status < 400 ? 'ok' : 'bad'}">${c.status}</span></td>
  <td>${c.body !== undefined ? html`<pre>${JSON.stringify(c.body, null, 1)}</pre>` : ''}<pre>${JSON.stringify(c.response, null, 1)}</pre></td></tr>`,
)}</table></section>
<section class="card"><h1>Webhook deliveries (newest first)</h1>
<table><tr><th>#</th><th>To</th><th>State</th><th>Body</th></tr>
${deliveries.map(
  (d) => html`<tr><td>${d.id}</td><td><code>${d.url}</code><div class="small muted">${d.object} · ${d.eventCount} event(s)${d.chaos ? ` · chaos delay ${d.chaos.delayMs} ms` : ''}</div></td>
  <td><span class="badge ${d.state === 'delivered' ? 'ok' : 'bad'}">${d.state}</span><div class="small">${d.attempts.map((a) => html`${a.status ?? a.error ?? ''} `)}</div></td>
  <td><pre>${d.body}</pre></td></tr>`,
)}</table></section>`;
  return page('Log', body);
}
