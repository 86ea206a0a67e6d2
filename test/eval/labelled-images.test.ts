// Reading ImageFolder trees and filepath,label CSVs, and their error messages.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { classCounts, parseCsv, readLabelledImages } from '../../src/eval/labelled-images.js';

const root = mkdtempSync(path.join(tmpdir(), 'clip-ts-labelled-'));
after(() => rmSync(root, { recursive: true, force: true }));

function touch(p: string, content = 'x'): string {
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, content);
  return p;
}

test('an ImageFolder tree: classes sorted, images sorted and found recursively, other files ignored', () => {
  const dir = path.join(root, 'folder');
  touch(path.join(dir, 'dog', 'b.jpg'));
  touch(path.join(dir, 'dog', 'a.PNG'));
  touch(path.join(dir, 'dog', 'notes.txt'));
  touch(path.join(dir, 'dog', '.hidden.jpg'));
  touch(path.join(dir, 'cat', 'sub', 'z.webp'));
  touch(path.join(dir, 'Zebra', 'q.jpeg'));
  const set = readLabelledImages(dir);
  assert.deepEqual(set.classes, ['Zebra', 'cat', 'dog']); // codepoint order, as Python's sorted()
  assert.deepEqual(set.items.map((it) => [path.relative(dir, it.path), it.label]), [
    ['Zebra/q.jpeg', 0], ['cat/sub/z.webp', 1], ['dog/a.PNG', 2], ['dog/b.jpg', 2],
  ]);
  assert.deepEqual(classCounts(set), [1, 1, 2]);
});

test('ImageFolder errors name the folder', () => {
  assert.throws(() => readLabelledImages(path.join(root, 'nope')), /nope: no such folder or file/);
  const empty = path.join(root, 'emptyclass');
  touch(path.join(empty, 'a', '1.png'));
  mkdirSync(path.join(empty, 'b'), { recursive: true });
  touch(path.join(empty, 'b', 'readme.txt'));
  assert.throws(() => readLabelledImages(empty), /emptyclass\/b: class folder "b" holds no images/);
  const flat = path.join(root, 'flat');
  touch(path.join(flat, '1.png'));
  assert.throws(() => readLabelledImages(flat), /images lie directly in the folder/);
  const stray = path.join(root, 'stray');
  touch(path.join(stray, 'a', '1.png'));
  touch(path.join(stray, '2.png'));
  assert.throws(() => readLabelledImages(stray), /2\.png lies outside the class folders/);
  const none = path.join(root, 'none');
  mkdirSync(none, { recursive: true });
  assert.throws(() => readLabelledImages(none), /no class folders/);
});

test('a test folder aligned to the training classes: missing classes allowed, unknown ones refused', () => {
  const dir = path.join(root, 'aligned');
  touch(path.join(dir, 'dog', '1.png'));
  const set = readLabelledImages(dir, { classes: ['cat', 'dog', 'emu'] });
  assert.deepEqual(set.classes, ['cat', 'dog', 'emu']);
  assert.equal(set.items[0].label, 1);
  touch(path.join(dir, 'yak', '1.png'));
  assert.throws(() => readLabelledImages(dir, { classes: ['cat', 'dog'] }), /class "yak" is not one of the expected classes/);
});

test('a CSV with a header, quoted paths and paths relative to the CSV', () => {
  const dir = path.join(root, 'csv');
  touch(path.join(dir, 'img', 'a,1.png'));
  touch(path.join(dir, 'img', 'b.png'));
  touch(path.join(dir, 'img', 'c.png'));
  const csv = touch(path.join(dir, 'list.csv'), 'filepath,label\r\n"img/a,1.png",dog\nimg/b.png, cat \n\nimg/c.png,dog\n');
  const set = readLabelledImages(csv);
  assert.deepEqual(set.classes, ['cat', 'dog']);
  assert.deepEqual(set.items.map((it) => [path.basename(it.path), it.label]), [['a,1.png', 1], ['b.png', 0], ['c.png', 1]]);
});

test('integer CSV labels sort numerically', () => {
  const dir = path.join(root, 'csvnum');
  for (const n of ['a', 'b', 'c']) touch(path.join(dir, `${n}.png`));
  const csv = touch(path.join(dir, 'l.csv'), 'a.png,10\nb.png,2\nc.png,1\n');
  assert.deepEqual(readLabelledImages(csv).classes, ['1', '2', '10']);
});

test('CSV errors name the row', () => {
  const dir = path.join(root, 'csvbad');
  touch(path.join(dir, 'ok.png'));
  const bad = (name: string, text: string): string => touch(path.join(dir, name), text);
  assert.throws(() => readLabelledImages(bad('fields.csv', 'ok.png,dog\nok.png,dog,extra\n')), /fields\.csv row 2: expected 2 fields/);
  assert.throws(() => readLabelledImages(bad('missing.csv', 'filepath,label\nok.png,dog\ngone.png,cat\n')), /missing\.csv row 3: image file not found: .*gone\.png/);
  assert.throws(() => readLabelledImages(bad('nolabel.csv', 'ok.png,\n')), /nolabel\.csv row 1: empty label/);
  assert.throws(() => readLabelledImages(bad('empty.csv', 'filepath,label\n')), /empty\.csv: no rows/);
  assert.throws(() => readLabelledImages(bad('quote.csv', '"ok.png,dog\n')), /quote\.csv: line 1: a quoted field is not closed/);
  assert.throws(() => readLabelledImages(bad('unknown.csv', 'ok.png,yak\n'), { classes: ['dog'] }), /unknown\.csv row 1: label "yak"/);
});

test('parseCsv keeps the line number of each row', () => {
  const rows = parseCsv('a,b\n"multi\nline",c\n\nd,e');
  assert.deepEqual(rows.map((r) => r.line), [1, 2, 5]);
  assert.deepEqual(rows[1].fields, ['multi\nline', 'c']);
});
