// Writes small tar archives for the tests (ustar headers; optionally GNU long-name or pax path
// records), so the tests need no `tar` program.

export interface TarEntry {
  name: string;
  data: Uint8Array | string;
  /** How to store a name longer than 100 bytes. */
  longName?: 'gnu' | 'pax';
}

function header(name: string, size: number, type: string): Uint8Array {
  const h = new Uint8Array(512);
  const put = (s: string, at: number, len: number): void => { h.set(new TextEncoder().encode(s).subarray(0, len), at); };
  put(name, 0, 100);
  put('0000644\0', 100, 8);
  put('0000000\0', 108, 8);
  put('0000000\0', 116, 8);
  put(size.toString(8).padStart(11, '0') + '\0', 124, 12);
  put('00000000000\0', 136, 12);
  put('        ', 148, 8);
  put(type, 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

function padded(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.length / 512) * 512);
  out.set(data);
  return out;
}

/** The bytes of a tar archive holding `entries` (with the two zero blocks at the end). */
export function makeTar(entries: readonly TarEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const data = typeof e.data === 'string' ? new TextEncoder().encode(e.data) : e.data;
    let name = e.name;
    if (e.longName === 'gnu') {
      const body = new TextEncoder().encode(e.name + '\0');
      parts.push(header('././@LongLink', body.length, 'L'), padded(body));
      name = e.name.slice(0, 99);
    } else if (e.longName === 'pax') {
      const rec = (len: number): string => `${len} path=${e.name}\n`;
      let len = rec(0).length;
      while (rec(len).length !== len) len = rec(len).length;
      const body = new TextEncoder().encode(rec(len));
      parts.push(header('PaxHeader/x', body.length, 'x'), padded(body));
      name = 'truncated-name';
    }
    parts.push(header(name, data.length, '0'), padded(data));
  }
  parts.push(new Uint8Array(1024));
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
