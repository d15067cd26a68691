import type { Db } from '../db/database.ts';
import type { DocumentKind } from '../db/schema.ts';
import { insertCall, type CallDirection } from './calls.repository.ts';
import { countCrmRecords } from './clients.repository.ts';
import { createClient } from './clients.service.ts';
import { todayIso } from './common.ts';
import { KINDS } from './documents.kinds.ts';
import { createDocument } from './documents.service.ts';
import { normalizePhone } from './phone.ts';

/** A phone and laptop repair shop's clients: French and English, local and international numbers. */
const CLIENTS: Array<{ name: string; phones: string[]; email?: string; notes?: string }> = [
  { name: 'Camille Durand', phones: ['06 12 34 56 78'], email: 'camille.durand@example.fr', notes: 'iPhone 13, écran fissuré. Préfère être appelée après 18 h.' },
  { name: 'Lucas Martin', phones: ['+33 7 81 22 45 90', '01 42 68 53 00'], email: 'lucas.martin@example.fr', notes: 'Deuxième numéro : bureau.' },
  { name: 'Chloé Bernard', phones: ['06 45 98 12 33'] },
  { name: 'Hugo Petit', phones: ['+33 6 70 11 22 33'], email: 'hugo.petit@example.fr' },
  { name: 'Léa Moreau', phones: ['07 66 54 32 10', '+33 1 45 23 67 89'], notes: 'MacBook Air 2020 — clavier, touches collantes.' },
  { name: 'Nathan Lefèvre', phones: ['06 23 45 67 01'], email: 'nathan.lefevre@example.fr' },
  { name: 'Manon Girard', phones: ['+33 6 98 76 54 32'], notes: 'Samsung Galaxy S21, batterie.' },
  { name: 'Théo Roux', phones: ['06 11 22 33 44'] },
  { name: 'Inès Fournier', phones: ['+32 470 12 34 56'], email: 'ines.fournier@example.be', notes: 'Cliente belge, envoie ses appareils par la poste.' },
  { name: 'Julien Mercier', phones: ['06 87 65 43 21', '+33 1 53 24 68 90'], email: 'j.mercier@example.fr', notes: 'Client pro : parc de 12 portables Dell.' },
  { name: 'Sarah Lambert', phones: ['+41 79 123 45 67'], email: 'sarah.lambert@example.ch' },
  { name: 'Émilie Faure', phones: ['06 55 44 33 22'] },
  { name: 'Antoine Blanc', phones: ['0033 6 44 55 66 77'], notes: 'Pixel 6, connecteur de charge.' },
  { name: 'Oliver Smith', phones: ['+44 7700 900123'], email: 'oliver.smith@example.co.uk', notes: 'On holiday until the end of the month.' },
  { name: 'Emma Johnson', phones: ['+44 20 7946 0958', '+44 7700 900456'], email: 'emma.johnson@example.com', notes: 'Second number is her mobile; prefers WhatsApp.' },
  { name: 'James Brown', phones: ['+1 (415) 555-0132'], email: 'james.brown@example.com' },
  { name: 'Charlotte Williams', phones: ['+44 7700 900789'], notes: 'iPad Pro, cracked glass.' },
  { name: 'Harry Taylor', phones: ['07700 900321'] },
  { name: 'Sophie Davies', phones: ['+353 85 123 4567'], email: 'sophie.davies@example.ie' },
  { name: 'Daniel Wilson', phones: ['+1 212-555-0187', '+33 6 01 02 03 04'], notes: 'Lives in Paris half the year.' },
  { name: 'Amélie Rousseau', phones: ['06 39 28 17 46'], email: 'amelie.rousseau@example.fr' },
  { name: 'Mohamed Benali', phones: ['+212 6 61 23 45 67', '06 73 84 95 06'], notes: 'Numéro marocain et numéro français.' },
  { name: 'Atelier Dupont SARL', phones: ['01 40 20 30 40'], email: 'contact@atelier-dupont.example.fr', notes: 'Facturation à 30 jours.' },
  { name: "Grace O'Connor", phones: ['+353 87 765 4321'], email: 'grace.oconnor@example.ie' },
  { name: 'Paul Garnier', phones: ['06 21 43 65 87'] },
];

/** Repairs with their usual price in cents. */
const JOBS: Array<[string, number]> = [
  ['Remplacement écran iPhone 13', 18900],
  ['Battery replacement, Samsung Galaxy S21', 7900],
  ['MacBook Air keyboard replacement', 24900],
  ['Nettoyage et pâte thermique, PC portable', 5900],
  ['Data recovery from a failing SSD', 14900],
  ['Connecteur de charge Pixel 6', 6900],
  ['iPad Pro glass replacement', 12900],
  ['Diagnostic complet', 2900],
  ['Windows reinstall and data transfer', 8900],
  ['Remplacement batterie MacBook Pro', 15900],
  ['Caméra arrière iPhone 12', 9900],
  ['Dell Latitude hinge repair', 11900],
];

const UNKNOWN_NUMBERS = ['+33 6 99 88 77 66', '01 44 55 66 77', '+44 7700 900999', '06 00 11 22 33', '+49 1512 3456789', '09 72 10 20 30', '+33 7 55 44 33 22', '+1 646 555 0100'];

/** How many documents of each kind (40 in all). */
const DOCUMENT_COUNTS: Array<[DocumentKind, number]> = [
  ['lead', 8],
  ['order', 14],
  ['estimate', 9],
  ['invoice', 9],
];
const CALLS = 30;

/** A small seeded generator (mulberry32): the same demo data on every run. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!,
  };
}

function addDays(iso: string, days: number): string {
  const [y, m, d] = iso.split('-').map(Number) as [number, number, number];
  return todayIso(new Date(y, m - 1, d + days));
}

/** The database already holds CRM records and `force` was not given. */
export class SeedRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SeedRefusedError';
  }
}

/**
 * Demo clients, documents and calls for a phone/laptop repair shop (`parley seed --demo`).
 * Refuses a database that already holds CRM records unless `force`, which adds the demo data
 * next to them (nothing is deleted). Dates are relative to `now`.
 */
export async function seedDemo(db: Db, opts: { force: boolean; now?: Date }): Promise<string> {
  const existing = await countCrmRecords(db);
  if (!opts.force && existing.clients + existing.documents + existing.calls > 0) {
    throw new SeedRefusedError(
      `The database already has CRM data (${existing.clients} clients, ${existing.documents} documents, ${existing.calls} calls); ` +
        'nothing was seeded. Run `parley seed --demo --force` to add the demo data anyway.',
    );
  }
  const now = opts.now ?? new Date();
  const today = todayIso(now);
  const rnd = prng(0x5eed);

  return db.transaction().execute(async (trx) => {
    const clients: Array<{ id: number; phones: string[] }> = [];
    for (const c of CLIENTS) {
      const id = await createClient(trx, { name: c.name, email: c.email ?? null, notes: c.notes ?? null, phones: c.phones });
      clients.push({ id, phones: c.phones });
    }

    const perKind: string[] = [];
    let documents = 0;
    for (const [kind, count] of DOCUMENT_COUNTS) {
      const cfg = KINDS[kind];
      for (let i = 0; i < count; i++) {
        const [job, price] = rnd.pick(JOBS);
        const issuedOn = addDays(today, -rnd.int(0, 60));
        // One lead in eight comes from someone not yet in the client list.
        const client = kind === 'lead' && i % 8 === 7 ? null : rnd.pick(clients);
        await createDocument(trx, {
          kind,
          clientId: client?.id ?? null,
          status: rnd.pick(cfg.statuses),
          amountCents: kind === 'lead' ? 0 : price + rnd.int(0, 4) * 500,
          issuedOn,
          dueOn: kind === 'invoice' || kind === 'estimate' ? addDays(issuedOn, 30) : null,
          notes: job,
        });
        documents++;
      }
      perKind.push(`${count} ${cfg.permission}`);
    }

    let unknown = 0;
    const directions: CallDirection[] = ['in', 'in', 'out', 'missed'];
    for (let i = 0; i < CALLS; i++) {
      const fromUnknown = i % 4 === 3;
      const client = fromUnknown ? null : rnd.pick(clients);
      const phone = client ? rnd.pick(client.phones) : rnd.pick(UNKNOWN_NUMBERS);
      const direction = fromUnknown ? rnd.pick<CallDirection>(['in', 'missed']) : rnd.pick(directions);
      if (fromUnknown) unknown++;
      const startedAt = new Date(now.getTime() - rnd.int(5, 14 * 24 * 60) * 60_000);
      startedAt.setSeconds(0, 0);
      await insertCall(trx, {
        direction,
        phone,
        phoneNormalized: normalizePhone(phone)!,
        clientId: client?.id ?? null,
        startedAt,
        durationSeconds: direction === 'missed' ? 0 : rnd.int(20, 900),
      });
    }

    return `Demo data added: ${clients.length} clients, ${documents} documents (${perKind.join(', ')}), ${CALLS} calls (${unknown} from unknown numbers).`;
  });
}
