import type { CallListRow } from './calls.repository.ts';
import type { PhoneRow } from './clients.repository.ts';
import type { DocumentListRow, DocumentRow } from './documents.repository.ts';
import { KINDS } from './documents.kinds.ts';

/** What views/shared/_phone.eta takes. */
export interface PhoneView {
  raw: string;
  normalized: string;
}

/**
 * A DATE ('YYYY-MM-DD') as a local-midnight Date for it.fmt.date: `new Date('2024-05-01')` is
 * UTC midnight, which a server west of Greenwich would print as April 30.
 */
export function localDate(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
  return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : null;
}

/** Call length as m:ss, or h:mm:ss from one hour on. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export function documentEditUrl(d: Pick<DocumentRow, 'kind' | 'id'>): string {
  return `${KINDS[d.kind].path}/${d.id}/edit`;
}

export function documentView(d: DocumentRow | DocumentListRow) {
  const list = d as Partial<DocumentListRow>;
  return {
    id: d.id,
    kind: d.kind,
    kindKey: KINDS[d.kind].labelKey,
    number: d.number,
    status: d.status,
    statusKey: `status.${d.status}`,
    amountCents: d.amount_cents,
    issuedOn: localDate(d.issued_on),
    dueOn: localDate(d.due_on),
    clientId: d.client_id,
    clientName: list.client_name ?? null,
    phone: list.phone_raw && list.phone_normalized ? ({ raw: list.phone_raw, normalized: list.phone_normalized } satisfies PhoneView) : null,
    editUrl: documentEditUrl(d),
  };
}

export function callView(c: CallListRow) {
  return {
    id: c.id,
    directionKey: `calls.${c.direction}`,
    direction: c.direction,
    phone: { raw: c.phone, normalized: c.phone_normalized } satisfies PhoneView,
    clientId: c.client_id,
    clientName: c.client_name,
    startedAt: c.started_at,
    duration: formatDuration(c.duration_seconds),
  };
}

export function phoneViews(phones: readonly PhoneRow[] | undefined): PhoneView[] {
  return (phones ?? []).map((p) => ({ raw: p.raw, normalized: p.normalized }));
}
