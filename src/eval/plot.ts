// A small SVG line plot (series with optional ± error bars, horizontal reference lines), enough
// for the few-shot figure (accuracy against examples per class, zero-shot as a dashed line, like
// the CLIP paper's Figure 6). PNG output renders the same SVG with sharp.
import sharp from 'sharp';
import { writeFileAtomic, writeAll, writeTextAtomic } from '../weights/atomic-file.js';

export interface PlotPoint {
  x: number;
  y: number;
  /** Half-height of the error bar (e.g. one standard deviation). */
  error?: number;
}

export interface PlotSeries {
  name: string;
  points: PlotPoint[];
  color?: string;
}

export interface ReferenceLine {
  name: string;
  y: number;
  color?: string;
}

export interface LinePlot {
  title: string;
  xLabel: string;
  yLabel: string;
  series: PlotSeries[];
  references?: ReferenceLine[];
  /** 'log2' spaces x by powers of two (shots 1, 2, 4, …). Default 'linear'. */
  xScale?: 'linear' | 'log2';
  /** Tick positions on x; default: the distinct x values of the series. */
  xTicks?: number[];
  width?: number;
  height?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A round tick spacing (1, 2 or 5 × 10ⁿ) giving about `count` ticks over [lo, hi]. */
export function niceStep(lo: number, hi: number, count = 6): number {
  const raw = (hi - lo) / Math.max(1, count - 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
}

/** Round tick positions inside [lo, hi], about `count` of them (1, 2 or 5 × 10ⁿ apart). */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) return [lo];
  const step = niceStep(lo, hi, count);
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toFixed(12)));
  return ticks;
}

function formatTick(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
}

/** The plot as a standalone SVG document. */
export function renderLinePlotSvg(plot: LinePlot): string {
  const W = plot.width ?? 720;
  const H = plot.height ?? 440;
  // Room on the right for the legend: about 7 px per character at 13 px.
  const names = [...plot.series.map((s) => s.name), ...(plot.references ?? []).map((r) => r.name)];
  const legendWidth = 60 + 7 * Math.max(0, ...names.map((n) => n.length));
  const m = { left: 70, right: Math.min(legendWidth, W / 2), top: 46, bottom: 60 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const log = plot.xScale === 'log2';
  const refs = plot.references ?? [];
  const xs = plot.series.flatMap((s) => s.points.map((p) => p.x));
  if (xs.length === 0) throw new RangeError('plot: no points');
  if (log && xs.some((x) => !(x > 0))) throw new RangeError('plot: a log2 x axis needs positive x values');
  const ys = [
    ...plot.series.flatMap((s) => s.points.flatMap((p) => [p.y - (p.error ?? 0), p.y + (p.error ?? 0)])),
    ...refs.map((r) => r.y),
  ].filter(Number.isFinite);
  const tx = (x: number): number => (log ? Math.log2(x) : x);
  let x0 = Math.min(...xs.map(tx));
  let x1 = Math.max(...xs.map(tx));
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  const xpad = (x1 - x0) * 0.05;
  x0 -= xpad;
  x1 += xpad;
  let y0 = Math.min(...ys);
  let y1 = Math.max(...ys);
  if (y0 === y1) { y0 -= 1; y1 += 1; }
  const ypad = (y1 - y0) * 0.05;
  const allPositive = ys.every((y) => y >= 0);
  y0 -= ypad;
  y1 += ypad;
  if (allPositive) y0 = Math.max(0, y0);
  // Snap the range out to whole tick steps, so the axis starts and ends on a labelled tick.
  const yStep = niceStep(y0, y1);
  y0 = Math.floor(y0 / yStep + 1e-9) * yStep;
  y1 = Math.ceil(y1 / yStep - 1e-9) * yStep;
  const yTicks = niceTicks(y0, y1);
  const px = (x: number): number => m.left + ((tx(x) - x0) / (x1 - x0)) * pw;
  const py = (y: number): number => m.top + (1 - (y - y0) / (y1 - y0)) * ph;
  const f = (v: number): string => v.toFixed(2);

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="13">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${f(m.left + pw / 2)}" y="26" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(plot.title)}</text>`);
  // Grid and axes.
  for (const t of yTicks) {
    out.push(`<line x1="${m.left}" y1="${f(py(t))}" x2="${m.left + pw}" y2="${f(py(t))}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${m.left - 8}" y="${f(py(t) + 4)}" text-anchor="end">${formatTick(t)}</text>`);
  }
  const xTicks = plot.xTicks ?? [...new Set(xs)].sort((a, b) => a - b);
  for (const t of xTicks) {
    out.push(`<line x1="${f(px(t))}" y1="${m.top}" x2="${f(px(t))}" y2="${m.top + ph}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${f(px(t))}" y="${m.top + ph + 20}" text-anchor="middle">${formatTick(t)}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${f(m.left + pw / 2)}" y="${H - 16}" text-anchor="middle">${escapeXml(plot.xLabel)}</text>`);
  out.push(`<text transform="translate(20 ${f(m.top + ph / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(plot.yLabel)}</text>`);
  // Reference lines, then series on top.
  const legend: { name: string; color: string; dashed: boolean }[] = [];
  for (const r of refs) {
    const color = r.color ?? '#555';
    out.push(`<line x1="${m.left}" y1="${f(py(r.y))}" x2="${m.left + pw}" y2="${f(py(r.y))}" stroke="${color}" stroke-width="2" stroke-dasharray="7 5"/>`);
    legend.push({ name: r.name, color, dashed: true });
  }
  plot.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    for (const p of pts) {
      if (p.error !== undefined && p.error > 0) {
        const xa = px(p.x);
        out.push(`<line x1="${f(xa)}" y1="${f(py(p.y - p.error))}" x2="${f(xa)}" y2="${f(py(p.y + p.error))}" stroke="${color}" stroke-width="1.5"/>`);
        for (const yy of [p.y - p.error, p.y + p.error]) {
          out.push(`<line x1="${f(xa - 5)}" y1="${f(py(yy))}" x2="${f(xa + 5)}" y2="${f(py(yy))}" stroke="${color}" stroke-width="1.5"/>`);
        }
      }
    }
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2.5" points="${pts.map((p) => `${f(px(p.x))},${f(py(p.y))}`).join(' ')}"/>`);
    for (const p of pts) out.push(`<circle cx="${f(px(p.x))}" cy="${f(py(p.y))}" r="4" fill="${color}"/>`);
    legend.push({ name: s.name, color, dashed: false });
  });
  legend.forEach((l, i) => {
    const lx = m.left + pw + 14;
    const ly = m.top + 14 + i * 22;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 26}" y2="${ly}" stroke="${l.color}" stroke-width="2.5"${l.dashed ? ' stroke-dasharray="7 5"' : ''}/>`);
    out.push(`<text x="${lx + 32}" y="${ly + 4}">${escapeXml(l.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Rasterises an SVG document to PNG bytes (sharp/librsvg). */
export async function svgToPng(svg: string, density = 144): Promise<Uint8Array> {
  const buf = await sharp(Buffer.from(svg, 'utf8'), { density }).png().toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Writes `file` (.svg) and, beside it, the same plot as .png (both atomically); returns the PNG path. */
export async function writePlot(file: string, plot: LinePlot): Promise<string> {
  const svg = renderLinePlotSvg(plot);
  const png = await svgToPng(svg);
  const pngFile = file.toLowerCase().endsWith('.svg') ? file.slice(0, -4) + '.png' : file + '.png';
  writeTextAtomic(file, svg);
  writeFileAtomic(pngFile, (fd) => writeAll(fd, png));
  return pngFile;
}
