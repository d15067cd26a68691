import { describe, expect, it } from 'vitest';
import { maintenanceRef } from '../../src/platform/maintenance.jobs.ts';
import { transcribeRef } from '../../src/transcription/transcription.service.ts';

/** #22 changes no job name, id or option: the refs declared beside their processors say today's. */
describe('job refs of platform and transcription', () => {
  it('maintenance: one per hour, 3 attempts, 10 s backoff', () => {
    expect([maintenanceRef.name, maintenanceRef.jobId({ hour: '2026-01-02T03' }), maintenanceRef.options]).toEqual(['maintenance', '2026-01-02T03', { attempts: 3, backoffMs: 10_000 }]);
  });

  it('transcribe: one per message, 3 attempts, 2 s backoff', () => {
    expect([transcribeRef.name, transcribeRef.jobId({ messageId: 42 }), transcribeRef.options]).toEqual(['transcribe', '42', { attempts: 3, backoffMs: 2000 }]);
  });
});
