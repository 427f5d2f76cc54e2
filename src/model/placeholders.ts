/**
 * The placeholder language of task templates: `{{key}}` where key is one of
 *   host | agentId | taskId | unit | generation | volume | port:NAME | var:NAME
 *   unit:OTHER:host | unit:OTHER:port:NAME | unit:OTHER:var:NAME
 * Parsing is shared by validation (model) and rendering (core).
 */

export type Placeholder =
  | { kind: 'host' }
  | { kind: 'agentId' }
  | { kind: 'taskId' }
  | { kind: 'unit' }
  | { kind: 'generation' }
  | { kind: 'volume' }
  | { kind: 'port'; name: string }
  | { kind: 'var'; name: string }
  | { kind: 'otherHost'; unit: string }
  | { kind: 'otherPort'; unit: string; name: string }
  | { kind: 'otherVar'; unit: string; name: string };

export type TemplatePart = { text: string } | { placeholder: Placeholder; raw: string };

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

export function parsePlaceholder(key: string): Placeholder | undefined {
  const parts = key.split(':');
  const [head, a, b, c] = parts;
  if (head === undefined) return undefined;
  switch (parts.length) {
    case 1:
      switch (head) {
        case 'host':
          return { kind: 'host' };
        case 'agentId':
          return { kind: 'agentId' };
        case 'taskId':
          return { kind: 'taskId' };
        case 'unit':
          return { kind: 'unit' };
        case 'generation':
          return { kind: 'generation' };
        case 'volume':
          return { kind: 'volume' };
        default:
          return undefined;
      }
    case 2:
      if (head === 'port' && a) return { kind: 'port', name: a };
      if (head === 'var' && a) return { kind: 'var', name: a };
      return undefined;
    case 3:
      if (head === 'unit' && a && b === 'host') return { kind: 'otherHost', unit: a };
      return undefined;
    case 4:
      if (head === 'unit' && a && b === 'port' && c) return { kind: 'otherPort', unit: a, name: c };
      if (head === 'unit' && a && b === 'var' && c) return { kind: 'otherVar', unit: a, name: c };
      return undefined;
    default:
      return undefined;
  }
}

/** Split a template string into text and placeholders; unknown keys are reported, not thrown. */
export function parseTemplate(text: string): { parts: TemplatePart[]; unknown: string[] } {
  const parts: TemplatePart[] = [];
  const unknown: string[] = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    const start = m.index;
    if (start > last) parts.push({ text: text.slice(last, start) });
    const key = m[1] ?? '';
    const p = parsePlaceholder(key);
    if (p) parts.push({ placeholder: p, raw: m[0] });
    else {
      unknown.push(m[0]);
      parts.push({ text: m[0] });
    }
    last = start + m[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return { parts, unknown };
}

/** Every string of a template that may hold placeholders. */
export function templateStrings(t: {
  command: string;
  arguments?: string[];
  env?: Record<string, string>;
  uris?: Array<{ value: string }>;
  healthCheck?: { type: string; command?: string; path?: string };
  labels?: Record<string, string>;
}): string[] {
  const out = [t.command, ...(t.arguments ?? []), ...Object.values(t.env ?? {}), ...(t.uris ?? []).map((u) => u.value)];
  if (t.healthCheck?.command !== undefined) out.push(t.healthCheck.command);
  if (t.healthCheck?.path !== undefined) out.push(t.healthCheck.path);
  out.push(...Object.values(t.labels ?? {}));
  return out;
}
