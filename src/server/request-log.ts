// One line per request for the server's log: time, client, method, path, status, duration, bytes.
// The path is escaped and shortened, so a hostile URL cannot forge log lines or flood the log.

export interface RequestLogEntry {
  time: Date;
  remote: string;
  method: string;
  path: string;
  status: number;
  milliseconds: number;
  bytes: number;
}

function printable(s: string, max: number): string {
  const escaped = s.replace(/[^\x21-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return escaped.length > max ? `${escaped.slice(0, max)}...` : escaped;
}

export function formatRequestLog(e: RequestLogEntry): string {
  return `${e.time.toISOString()} ${printable(e.remote, 64)} ${printable(e.method, 16)} ${printable(e.path, 200)} ${e.status} ${e.milliseconds.toFixed(1)}ms ${e.bytes}B`;
}
