// The ZIP reader, the strict unpickler and format detection on hand-built and damaged files:
// ZIP64, deflate members, strided and offset tensors, and every error naming the file and what is
// wrong — a forbidden global above all, refused without executing anything.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { openCheckpoint } from '../../src/weights/index.js';
import { crc32 } from '../../src/weights/zip.js';
import { binUnicode, buildZip, bytesOf, dataFile, pickleBytes, readBytes, tempDir, torchSaveZip, type ZipInput } from './helpers.js';

interface PickledTensor {
  name: string;
  storageType: string;
  key: string;
  numel: number;
  offset: number;
  size: number[];
  stride: number[];
}

function intTuple(xs: number[]): (string | number[])[] {
  return ['(', ...xs.flatMap((x) => ['J', [...new Uint8Array(Int32Array.from([x]).buffer)]]), 't'];
}

/** A protocol-2 pickle of {name: _rebuild_tensor_v2(...)}, as torch.save writes it. */
function stateDictPickle(tensors: PickledTensor[], extraGlobal?: [string, string]): Uint8Array {
  const parts: (string | number[] | Uint8Array)[] = ['\x80\x02', '}', '('];
  for (const t of tensors) {
    parts.push(binUnicode(t.name), 'ctorch._utils\n_rebuild_tensor_v2\n', '(',
      '(', binUnicode('storage'), `ctorch\n${t.storageType}\n`, binUnicode(t.key), binUnicode('cpu'),
      'J', [...new Uint8Array(Int32Array.from([t.numel]).buffer)], 't', 'Q',
      'J', [...new Uint8Array(Int32Array.from([t.offset]).buffer)],
      ...intTuple(t.size), ...intTuple(t.stride), '\x89', 'ccollections\nOrderedDict\n', ')', 'R', 't', 'R');
  }
  if (extraGlobal !== undefined) {
    parts.push(binUnicode('hook'), `c${extraGlobal[0]}\n${extraGlobal[1]}\n`, '(', binUnicode('touch /tmp/clip-ts-pwned'), 't', 'R');
  }
  parts.push('u', '.');
  return pickleBytes(...parts);
}

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

function writeTemp(name: string, bytes: Uint8Array): string {
  const file = path.join(tempDir(), name);
  writeFileSync(file, bytes);
  return file;
}

const six = f32Bytes([0, 1, 2, 3, 4, 5]);

describe('torch.save ZIP archives built by hand', () => {
  it('reads contiguous, transposed and offset views of one shared storage', () => {
    const pkl = stateDictPickle([
      { name: 'w', storageType: 'FloatStorage', key: '0', numel: 6, offset: 0, size: [2, 3], stride: [3, 1] },
      { name: 'wT', storageType: 'FloatStorage', key: '0', numel: 6, offset: 0, size: [3, 2], stride: [1, 3] },
      { name: 'tail', storageType: 'FloatStorage', key: '0', numel: 6, offset: 4, size: [2], stride: [1] },
      { name: 'col1', storageType: 'FloatStorage', key: '0', numel: 6, offset: 1, size: [2], stride: [3] },
    ]);
    const file = writeTemp('views.pt', torchSaveZip('archive', pkl, { 0: six }));
    const c = openCheckpoint(file);
    try {
      assert.equal(c.format, 'torch-save');
      assert.deepEqual([...(c.entries.get('w')?.toFloat32() ?? [])], [0, 1, 2, 3, 4, 5]);
      assert.deepEqual([...(c.entries.get('wT')?.toFloat32() ?? [])], [0, 3, 1, 4, 2, 5]);
      assert.deepEqual([...(c.entries.get('tail')?.toFloat32() ?? [])], [4, 5]);
      assert.deepEqual([...(c.entries.get('col1')?.toFloat32() ?? [])], [1, 4]);
      assert.deepEqual([...new Float32Array((c.entries.get('wT')?.rawBytes() as Uint8Array).buffer)], [0, 3, 1, 4, 2, 5]);
    } finally {
      c.close();
    }
  });

  it('reads ZIP64 records, deflated members and an archive comment', () => {
    const pkl = stateDictPickle([{ name: 'h', storageType: 'HalfStorage', key: '7', numel: 2, offset: 0, size: [2], stride: [1] }]);
    const half = Uint8Array.from([0x00, 0x3c, 0x00, 0xc0]); // 1, -2
    const members: ZipInput[] = [
      { name: 'weird_root/data.pkl', data: bytesOf(deflateRawSync(pkl)), method: 8, size: pkl.length, crc: crc32(pkl) },
      { name: 'weird_root/data/7', data: bytesOf(deflateRawSync(half)), method: 8, size: half.length, crc: crc32(half) },
    ];
    const file = writeTemp('zip64.bin', buildZip(members, { zip64: true, comment: 'made by hand' }));
    const c = openCheckpoint(file, { verifyCrc: true });
    try {
      assert.deepEqual([...(c.entries.get('h')?.toFloat32() ?? [])], [1, -2]);
    } finally {
      c.close();
    }
  });

  it('refuses a forbidden global by name, executing nothing', () => {
    const marker = '/tmp/clip-ts-pwned';
    const pkl = stateDictPickle([{ name: 'w', storageType: 'FloatStorage', key: '0', numel: 6, offset: 0, size: [6], stride: [1] }], ['os', 'system']);
    const file = writeTemp('evil.pt', torchSaveZip('archive', pkl, { 0: six }));
    assert.throws(() => openCheckpoint(file), (err: Error) => {
      assert.ok(err.message.startsWith(file + ': archive/data.pkl: '), err.message);
      assert.match(err.message, /forbidden global os\.system/);
      assert.match(err.message, /nothing was executed/);
      assert.match(err.message, /at byte \d+/);
      return true;
    });
    assert.equal(existsSync(marker), false);
  });

  it('refuses a protocol-4 STACK_GLOBAL of builtins.eval', () => {
    const pkl = pickleBytes('\x80\x04', '\x8c', [8], 'builtins', '\x94', '\x8c', [4], 'eval', '\x94', '\x93', '.');
    const file = writeTemp('eval.pt', torchSaveZip('archive', pkl));
    assert.throws(() => openCheckpoint(file), /forbidden global builtins\.eval/);
  });

  it('names unsupported opcodes and an unsupported call on an allowed global', () => {
    const inst = pickleBytes('\x80\x02', 'i', 'os\nsystem\n', '.');
    assert.throws(() => openCheckpoint(writeTemp('inst.pt', torchSaveZip('archive', inst))), /unknown or unsupported opcode 0x69/);
    const call = pickleBytes('\x80\x02', 'ctorch\nFloatStorage\n', ')', 'R', '.');
    assert.throws(() => openCheckpoint(writeTemp('call.pt', torchSaveZip('archive', call))), /calling torch\.FloatStorage is not supported/);
  });

  it('reports a storage member that is missing or too small, and a view past its storage', () => {
    const pkl = stateDictPickle([{ name: 'w', storageType: 'FloatStorage', key: '0', numel: 6, offset: 0, size: [6], stride: [1] }]);
    assert.throws(() => openCheckpoint(writeTemp('nostorage.pt', torchSaveZip('archive', pkl))), /storage 0: member archive\/data\/0 is missing/);
    assert.throws(() => openCheckpoint(writeTemp('small.pt', torchSaveZip('archive', pkl, { 0: six.subarray(0, 8) }))),
      /member archive\/data\/0 has 8 bytes, 6 float32 elements need 24/);
    const past = stateDictPickle([{ name: 'w', storageType: 'FloatStorage', key: '0', numel: 6, offset: 3, size: [2, 2], stride: [2, 1] }]);
    assert.throws(() => openCheckpoint(writeTemp('past.pt', torchSaveZip('archive', past, { 0: six }))),
      /tensor w: shape \[2, 2\], strides \[2, 1\] at storage offset 3 need 28 bytes of float32, but its storage has 24/);
  });

  it('detects a corrupted pickle by its CRC', () => {
    const pkl = stateDictPickle([{ name: 'w', storageType: 'FloatStorage', key: '0', numel: 6, offset: 0, size: [6], stride: [1] }]);
    const members: ZipInput[] = [{ name: 'archive/data.pkl', data: pkl, crc: crc32(pkl) ^ 1 }, { name: 'archive/data/0', data: six }];
    assert.throws(() => openCheckpoint(writeTemp('crc.pt', buildZip(members))), /member archive\/data\.pkl: CRC-32 mismatch/);
  });
});

describe('damaged and foreign files', () => {
  it('a truncated TorchScript archive', () => {
    const bytes = readBytes(dataFile('map-vit.openai.pt'));
    const file = writeTemp('truncated.pt', bytes.subarray(0, Math.floor(bytes.length / 2)));
    assert.throws(() => openCheckpoint(file), (err: Error) => {
      assert.ok(err.message.startsWith(file + ': '));
      assert.match(err.message, /no ZIP end-of-central-directory record \(truncated file, or not a ZIP archive\)/);
      return true;
    });
  });

  it('a ZIP whose central directory points past the end', () => {
    const bytes = buildZip([{ name: 'a/data.pkl', data: pickleBytes('\x80\x02}.') }]);
    const view = new DataView(bytes.buffer);
    view.setUint32(bytes.length - 6, 1_000_000, true); // central directory offset
    assert.throws(() => openCheckpoint(writeTemp('cd.pt', bytes)), /central directory .* lies past the end of the file/);
  });

  it('a ZIP that is not a PyTorch checkpoint', () => {
    const file = writeTemp('plain.zip', buildZip([{ name: 'readme.txt', data: new TextEncoder().encode('hi') }]));
    assert.throws(() => openCheckpoint(file), /without <root>\/data\.pkl: not a PyTorch checkpoint/);
  });

  it('wrong magic, an empty file, a legacy torch.save file', () => {
    assert.throws(() => openCheckpoint(writeTemp('junk.bin', new TextEncoder().encode('GIF89a not a model'))),
      /unrecognised checkpoint format \(first bytes 47 49 46 38 39 61 20 6e\)/);
    assert.throws(() => openCheckpoint(writeTemp('empty.pt', new Uint8Array(0))), /unrecognised checkpoint format/);
    assert.throws(() => openCheckpoint(writeTemp('legacy.pt', pickleBytes('\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.'))),
      /legacy \(pre-1\.6, non-ZIP\) torch\.save format is not supported/);
  });

  it('a missing file', () => {
    assert.throws(() => openCheckpoint(path.join(tempDir(), 'nope.pt')), /nope\.pt: cannot open/);
  });
});
