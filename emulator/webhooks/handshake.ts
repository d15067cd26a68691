// The verification handshake Meta performs when a callback URL is saved (§1.1):
// GET <callback>?hub.mode=subscribe&hub.challenge=<random>&hub.verify_token=<token>; the
// endpoint must answer 200 with the challenge as the raw body.
import type { EmulatorConfig, WebhookObject } from '../config.ts';

export interface HandshakeResult {
  url: string;
  objects: WebhookObject[];
  ok: boolean;
  status?: number;
  body?: string;
  error?: string;
}

export function callbackTargets(config: EmulatorConfig): Map<string, WebhookObject[]> {
  const targets = new Map<string, WebhookObject[]>();
  for (const object of ['page', 'instagram', 'whatsapp_business_account'] as WebhookObject[]) {
    const url = config.webhooks.callbackUrls?.[object] ?? config.webhooks.callbackUrl;
    if (!url) continue;
    targets.set(url, [...(targets.get(url) ?? []), object]);
  }
  return targets;
}

export async function verifyCallbacks(config: EmulatorConfig, random: () => number): Promise<HandshakeResult[]> {
  const results: HandshakeResult[] = [];
  for (const [url, objects] of callbackTargets(config)) {
    // Meta's challenge is a random number; receivers must echo it verbatim (§1.1).
    const challenge = String(Math.floor(random() * 1e9) + 1e9);
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      results.push({ url, objects, ok: false, error: 'invalid URL' });
      continue;
    }
    target.searchParams.set('hub.mode', 'subscribe');
    target.searchParams.set('hub.challenge', challenge);
    target.searchParams.set('hub.verify_token', config.webhooks.verifyToken ?? '');
    try {
      const res = await fetch(target, { signal: AbortSignal.timeout(config.webhooks.timeoutMs) });
      const body = (await res.text()).slice(0, 500);
      const ok = res.status === 200 && body === challenge;
      results.push({ url, objects, ok, status: res.status, body, error: ok ? undefined : res.status === 200 ? 'the body is not the challenge' : `HTTP ${res.status}` });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      results.push({ url, objects, ok: false, error: e.cause?.code ?? e.message });
    }
  }
  return results;
}
