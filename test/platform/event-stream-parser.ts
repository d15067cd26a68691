/**
 * An event-stream parser that follows the WHATWG HTML standard, "Interpreting an event stream"
 * (§9.2.6), step by step, so that a test sees a stream exactly as a browser's EventSource does:
 *
 * - the bytes are UTF-8 decoded, one leading BOM is dropped;
 * - lines end at CRLF, at a lone LF and at a lone CR;
 * - an empty line dispatches; a line starting with ':' is a comment;
 * - `field:value` (one leading space of the value stripped), or a whole line as a field name
 *   with an empty value;
 * - `event` sets the event type buffer; `data` appends the value and a LF to the data buffer;
 *   `id` sets the last event ID buffer unless the value contains NULL (and the buffer persists
 *   from event to event); `retry` sets the reconnection time if the value is ASCII digits only;
 *   any other field is ignored;
 * - dispatch: the last event ID is set from its buffer; an empty data buffer resets the buffers
 *   and dispatches nothing; one trailing LF of the data is removed; the type defaults to
 *   `message`;
 * - an incomplete event at the end of the stream is discarded.
 */
export interface ParsedEvent {
  type: string;
  data: string;
  lastEventId: string;
}

export interface ParsedStream {
  events: ParsedEvent[];
  /** Every value a `retry` field set the reconnection time to, in order. */
  retries: number[];
  /** The last event ID after the whole stream (what a reconnect would send). */
  lastEventId: string;
  /** Names of fields that are none of event, data, id, retry (ignored by a browser). */
  unknownFields: string[];
}

export function parseEventStream(bytes: Uint8Array | string): ParsedStream {
  let text = typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const out: ParsedStream = { events: [], retries: [], lastEventId: '', unknownFields: [] };
  let data = '';
  let type = '';
  let idBuffer = '';
  let pos = 0;
  for (;;) {
    // Find the next end of line: CRLF, LF or CR. A line without one is incomplete (discarded).
    let end = -1;
    let next = -1;
    for (let i = pos; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x0a) {
        end = i;
        next = i + 1;
        break;
      }
      if (c === 0x0d) {
        end = i;
        next = text.charCodeAt(i + 1) === 0x0a ? i + 2 : i + 1;
        break;
      }
    }
    if (end < 0) break;
    const line = text.slice(pos, end);
    pos = next;
    if (line === '') {
      out.lastEventId = idBuffer;
      if (data === '') {
        type = '';
        continue;
      }
      if (data.endsWith('\n')) data = data.slice(0, -1);
      out.events.push({ type: type || 'message', data, lastEventId: idBuffer });
      data = '';
      type = '';
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') type = value;
    else if (field === 'data') data += value + '\n';
    else if (field === 'id') {
      if (!value.includes('\u0000')) idBuffer = value;
    } else if (field === 'retry') {
      if (/^[0-9]+$/.test(value)) out.retries.push(Number(value));
    } else out.unknownFields.push(field);
  }
  return out;
}

/** What a browser's data buffer holds for a body sent as UTF-8: line ends become LF. */
export function asBrowserSees(body: string): string {
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(new TextEncoder().encode(body)).replace(/\r\n|\r/g, '\n');
}
