// The SVG line plot and its PNG rendering.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { niceTicks, renderLinePlotSvg, writePlot, type LinePlot } from '../../src/eval/plot.js';

const dir = mkdtempSync(path.join(tmpdir(), 'clip-ts-plot-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const plot: LinePlot = {
  title: 'Few-shot <test> & co',
  xLabel: 'shots', yLabel: 'accuracy (%)', xScale: 'log2',
  series: [{ name: 'probe', points: [1, 2, 4, 8, 16].map((k, i) => ({ x: k, y: 40 + 8 * i, error: 2 })) }],
  references: [{ name: 'zero-shot', y: 63 }],
};

test('nice ticks are round and cover the range', () => {
  assert.deepEqual(niceTicks(0, 100, 6), [0, 20, 40, 60, 80, 100]);
  assert.deepEqual(niceTicks(37.2, 41.9, 5), [38, 40]);
  assert.deepEqual(niceTicks(0.1, 0.5, 5), [0.1, 0.2, 0.3, 0.4, 0.5]);
});

test('the SVG has the curve, the error bars, the dashed reference line and escaped text', () => {
  const svg = renderLinePlotSvg(plot);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.equal((svg.match(/<polyline /g) ?? []).length, 1);
  assert.equal((svg.match(/<circle /g) ?? []).length, 5);
  assert.match(svg, /stroke-dasharray="7 5"/);
  assert.match(svg, /Few-shot &lt;test&gt; &amp; co/);
  assert.match(svg, />zero-shot</);
  // log2 axis: ticks 1 … 16 equally spaced.
  const xs = [...svg.matchAll(/<text x="([\d.]+)" y="\d+" text-anchor="middle">(1|2|4|8|16)</g)].map((m) => Number(m[1]));
  assert.equal(xs.length, 5);
  const gaps = xs.slice(1).map((x, i) => x - xs[i]);
  assert.ok(gaps.every((g) => Math.abs(g - gaps[0]) < 0.02), `gaps ${gaps}`);
  assert.throws(() => renderLinePlotSvg({ ...plot, series: [] }), /no points/);
});

test('writePlot writes the SVG and a PNG of the same size beside it', async () => {
  const file = path.join(dir, 'fig.svg');
  const png = await writePlot(file, plot);
  assert.equal(png, path.join(dir, 'fig.png'));
  assert.match(readFileSync(file, 'utf8'), /<svg/);
  const meta = await sharp(readFileSync(png)).metadata();
  assert.equal(meta.format, 'png');
  assert.equal(meta.width, 720 * 2); // rendered at 144 dpi: twice the SVG's 72-dpi pixel size
  assert.equal(meta.height, 440 * 2);
});
