// Graph `fields` syntax: "id,name,messages.limit(5){id,message},participants".
export interface FieldSpec {
  name: string;
  limit?: number;
  sub?: FieldSpec[];
}

export function parseFields(input: string | undefined): FieldSpec[] | undefined {
  if (!input?.trim()) return undefined;
  let pos = 0;
  const parseList = (): FieldSpec[] => {
    const list: FieldSpec[] = [];
    while (pos < input.length) {
      const ch = input[pos];
      if (ch === '}') break;
      if (ch === ',' || ch === ' ') {
        pos++;
        continue;
      }
      const nameMatch = /^[A-Za-z0-9_]+/.exec(input.slice(pos));
      if (!nameMatch) {
        pos++;
        continue;
      }
      const spec: FieldSpec = { name: nameMatch[0] };
      pos += nameMatch[0].length;
      while (input[pos] === '.') {
        const mod = /^\.(\w+)\(([^)]*)\)/.exec(input.slice(pos));
        if (!mod) break;
        if (mod[1] === 'limit') spec.limit = Number(mod[2]);
        pos += mod[0].length;
      }
      if (input[pos] === '{') {
        pos++;
        spec.sub = parseList();
        pos++; // '}'
      }
      list.push(spec);
    }
    return list;
  };
  return parseList();
}

export function hasField(fields: FieldSpec[] | undefined, name: string): boolean {
  return Boolean(fields?.some((f) => f.name === name));
}

export function field(fields: FieldSpec[] | undefined, name: string): FieldSpec | undefined {
  return fields?.find((f) => f.name === name);
}

/** Keeps only requested keys (plus `id`, which Graph always returns). */
export function pick(obj: Record<string, unknown>, fields: FieldSpec[] | undefined, defaults: string[]): Record<string, unknown> {
  const names = fields ? fields.map((f) => f.name) : defaults;
  const out: Record<string, unknown> = {};
  for (const name of names) if (obj[name] !== undefined) out[name] = obj[name];
  if (obj.id !== undefined) out.id = obj.id;
  return out;
}
