// Rate limits (optional, off by default) and injected faults, checked before a mutating Graph
// call is applied. Rate-limit codes follow meta-platform.md §6/§7: 613 (Messenger/IG calls),
// 4 (app-level), 130429 (WhatsApp throughput), 131056 (WhatsApp pair limit).
import type { RateLimitRule } from '../config.ts';
import type { Channel } from '../state.ts';
import { customError, errors, type GraphError } from './errors.ts';

export interface Fault {
  id: number;
  /** Channel the fault applies to (omitted: every channel). */
  channelId?: string;
  /** Substring of the Graph path (after the version), e.g. "/messages". */
  pathIncludes?: string;
  method?: string;
  code: number;
  subcode?: number;
  message?: string;
  status?: number;
  details?: string;
  /** How many calls fail (default 1). */
  remaining: number;
}

export type FaultInput = Omit<Fault, 'id' | 'remaining'> & { count?: number };

export class Guards {
  rules: RateLimitRule[] = [];
  faults: Fault[] = [];
  private hits = new Map<string, number[]>();
  private nextFaultId = 1;

  constructor(private readonly now: () => number) {}

  reset(rules: RateLimitRule[]): void {
    this.rules = rules.map((r) => ({ ...r }));
    this.faults = [];
    this.hits.clear();
  }

  setRateLimit(rule: RateLimitRule): void {
    if (!(rule.max >= 0) || !(rule.windowMs > 0)) throw new Error('rate limit needs max >= 0 and windowMs > 0');
    this.rules = this.rules.filter((r) => !(r.channelId === rule.channelId && Boolean(r.perRecipient) === Boolean(rule.perRecipient)));
    this.rules.push({ ...rule });
  }

  clearRateLimits(channelId?: string): void {
    this.rules = channelId ? this.rules.filter((r) => r.channelId !== channelId) : [];
    this.hits.clear();
  }

  addFault(input: FaultInput): Fault {
    const fault: Fault = { ...input, id: this.nextFaultId++, remaining: input.count ?? 1 };
    this.faults.push(fault);
    return fault;
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** An injected fault matching this call, consumed on use. */
  takeFault(method: string, path: string, channelId: string | undefined): GraphError | undefined {
    const fault = this.faults.find(
      (f) => f.remaining > 0 && (!f.channelId || f.channelId === channelId) && (!f.pathIncludes || path.includes(f.pathIncludes)) && (!f.method || f.method.toUpperCase() === method.toUpperCase()),
    );
    if (!fault) return undefined;
    fault.remaining--;
    if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
    return customError({ code: fault.code, subcode: fault.subcode, message: fault.message, status: fault.status, details: fault.details });
  }

  /** Counts the call against every matching rule; returns the error of the first exceeded one. */
  checkRate(channel: Channel, recipient?: string): GraphError | undefined {
    const now = this.now();
    for (const rule of this.rules) {
      if (rule.channelId && rule.channelId !== channel.id) continue;
      if (rule.perRecipient && !recipient) continue;
      const key = `${rule.channelId ?? '*'}|${channel.id}|${rule.perRecipient ? recipient : ''}`;
      const list = (this.hits.get(key) ?? []).filter((t) => t > now - rule.windowMs);
      if (list.length >= rule.max) {
        this.hits.set(key, list);
        const code = rule.code ?? (rule.perRecipient ? 131056 : channel.platform === 'whatsapp' ? 130429 : 613);
        return errors.rateLimit(code);
      }
      list.push(now);
      this.hits.set(key, list);
    }
    return undefined;
  }
}
