import { describe, expect, it } from 'vitest';
import { checkRegistry, jobRef, processorOf } from '../../src/platform/jobs/ref.ts';

const a = jobRef<{ id: number }>({ name: 'a', jobId: (p) => `a-${p.id}` });
const b = jobRef<{ id: number }>({ name: 'b', jobId: (p) => `b-${p.id}`, options: { attempts: 2 } });
const run = async () => {};

describe('job refs (platform/jobs/ref.ts)', () => {
  it('a ref carries its name, id rule and options, with the defaults filled in', () => {
    expect(a.jobId({ id: 7 })).toBe('a-7');
    expect(a.options).toEqual({ attempts: 5, backoffMs: 1000 });
    expect(b.options).toEqual({ attempts: 2, backoffMs: 1000 });
    const p = processorOf(b, run);
    expect([p.name, p.jobId({ id: 1 }), p.options, p.process]).toEqual(['b', 'b-1', b.options, run]);
  });

  it('the registry check refuses a ref without a processor, two processors, or a processor never declared', () => {
    expect(() => checkRegistry([a, b], [processorOf(a, run), processorOf(b, run)])).not.toThrow();
    expect(() => checkRegistry([a, b], [processorOf(a, run)])).toThrow(/job b has no processor/);
    expect(() => checkRegistry([a], [processorOf(a, run), processorOf(a, run)])).toThrow(/job a has 2 processors/);
    expect(() => checkRegistry([a], [processorOf(a, run), processorOf(b, run)])).toThrow(/job b has a processor but no declared ref/);
  });
});
