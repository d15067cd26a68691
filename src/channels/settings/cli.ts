/** The CLI's side of Settings › Chats (`parley channel:add`, `parley channel:list`). */
import type { ValidationError } from '../../platform/errors.ts';
import type { Translate } from '../../platform/i18n/index.ts';
import * as repo from '../channels.repository.ts';
import type { Conn } from '../ports.ts';
import { ConnectError, MAX_NAME, type AccessInput } from './forms.ts';
import { listChannelsForSettings } from './settings.service.ts';

const FLAGS: Record<string, string> = { external_id: '--page-id', waba_id: '--waba-id', token: '--token', name: '--name', kind: '--kind', access: '--access' };

/** A refusal in plain words for the terminal (`--flag: message`). */
export function describeError(err: ValidationError, t: Translate, kind?: string): string {
  const reason = err instanceof ConnectError ? (err.reason ?? '') : '';
  return Object.entries(err.fields)
    .map(([field, key]) => {
      const msg = t(key as never, { max: field === 'name' ? MAX_NAME : '', reason });
      const flag = field === 'external_id' && kind === 'whatsapp' ? '--phone-number-id' : FLAGS[field];
      return flag ? `${flag}: ${msg}` : msg;
    })
    .join('\n');
}

/** `--access all|EMAIL,EMAIL`: unknown (or disabled) emails are named back. */
export async function accessFromEmails(db: Conn, raw: string | undefined): Promise<{ access: AccessInput } | { unknown: string[] }> {
  const v = (raw ?? 'all').trim();
  if (v === '' || v.toLowerCase() === 'all') return { access: { all: true } };
  const emails = [
    ...new Set(
      v
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean),
    ),
  ];
  const found = await repo.findActiveEmployeesByEmails(db, emails);
  const known = new Set(found.map((e) => e.email.toLowerCase()));
  const unknown = emails.filter((e) => !known.has(e.toLowerCase()));
  if (unknown.length) return { unknown };
  return { access: { all: false, employeeIds: found.map((e) => e.id) } };
}

const clean = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');

/** `parley channel:list`: id, kind, name, external id, state, access — never a token. */
export async function formatChannelList(db: Conn): Promise<string> {
  const [rows, access] = await Promise.all([listChannelsForSettings(db), repo.listChannelAccessNames(db)]);
  if (rows.length === 0) return 'No channels connected yet (see parley channel:add).';
  const emails = new Map<number, string[]>();
  for (const a of access) if (!a.disabled_at) emails.set(a.channel_id, [...(emails.get(a.channel_id) ?? []), a.email]);
  const table = [['ID', 'KIND', 'NAME', 'EXTERNAL ID', 'STATE', 'ACCESS']];
  for (const r of rows) {
    const state = r.state === 'needs_reconnect' ? `needs reconnecting${r.stateReason ? ` (${r.stateReason})` : ''}` : r.state;
    const acc = r.accessAll ? 'all' : (emails.get(r.id) ?? []).join(',') || '(admins only)';
    table.push([String(r.id), r.kind, r.name, r.externalId, state, acc].map(clean));
  }
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}
