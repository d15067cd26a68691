import type { DocumentKind } from '../db/schema.ts';
import type { Permission } from '../auth/permissions.ts';

/** What differs between leads, orders, estimates and invoices; everything else is shared. */
export interface KindConfig {
  kind: DocumentKind;
  /** The permission that opens this kind, also its URL segment (`/orders`). */
  permission: Permission & ('leads' | 'orders' | 'estimates' | 'invoices');
  path: string;
  /** Auto numbers look like `O-0001`. */
  prefix: string;
  /** The first status is the default for a new document. */
  statuses: readonly string[];
  labelKey: `doc.${DocumentKind}`;
  titleKey: `doc.${string}s`;
  newKey: `doc.new_${DocumentKind}`;
}

export const KINDS: Readonly<Record<DocumentKind, KindConfig>> = {
  lead: {
    kind: 'lead',
    permission: 'leads',
    path: '/leads',
    prefix: 'L',
    statuses: ['new', 'in_progress', 'won', 'lost'],
    labelKey: 'doc.lead',
    titleKey: 'doc.leads',
    newKey: 'doc.new_lead',
  },
  order: {
    kind: 'order',
    permission: 'orders',
    path: '/orders',
    prefix: 'O',
    statuses: ['new', 'in_progress', 'ready', 'done', 'cancelled'],
    labelKey: 'doc.order',
    titleKey: 'doc.orders',
    newKey: 'doc.new_order',
  },
  estimate: {
    kind: 'estimate',
    permission: 'estimates',
    path: '/estimates',
    prefix: 'E',
    statuses: ['draft', 'sent', 'accepted', 'declined'],
    labelKey: 'doc.estimate',
    titleKey: 'doc.estimates',
    newKey: 'doc.new_estimate',
  },
  invoice: {
    kind: 'invoice',
    permission: 'invoices',
    path: '/invoices',
    prefix: 'I',
    statuses: ['unpaid', 'paid', 'overdue', 'cancelled'],
    labelKey: 'doc.invoice',
    titleKey: 'doc.invoices',
    newKey: 'doc.new_invoice',
  },
};

export const DOCUMENT_KINDS: readonly DocumentKind[] = ['lead', 'order', 'estimate', 'invoice'];

export function isDocumentKind(v: unknown): v is DocumentKind {
  return typeof v === 'string' && (DOCUMENT_KINDS as readonly string[]).includes(v);
}
