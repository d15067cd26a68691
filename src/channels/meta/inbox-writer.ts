import type { Db } from '../../db/database.ts';
import { insertInboxDeliveries } from './inbox.repository.ts';

interface Pending {
  source: string;
  body: string;
  resolve: (id: number) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for webhook deliveries (P1): a delivery is written at once when a connection is
 * free; while the writers are busy, arriving deliveries wait and go in together, one
 * multi-row INSERT and one commit (one disk sync) for the whole batch. Every caller still
 * hears back only after its own row is durable, so a 200 always means stored (R1).
 */
export class InboxWriter {
  private queue: Pending[] = [];
  private active = 0;

  constructor(
    private readonly db: Db,
    private readonly maxWriters = 4,
    private readonly maxBatch = 200,
  ) {}

  write(source: string, body: string): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ source, body, resolve, reject });
      this.pump();
    });
  }

  private pump() {
    while (this.active < this.maxWriters && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.active++;
      void this.flush(batch).finally(() => {
        this.active--;
        this.pump();
      });
    }
  }

  private async flush(batch: Pending[]) {
    try {
      const ids = await insertInboxDeliveries(
        this.db,
        batch.map((p) => ({ source: p.source, body: p.body })),
      );
      batch.forEach((p, i) => p.resolve(ids[i]!));
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}
