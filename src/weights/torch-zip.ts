// PyTorch's ZIP checkpoints: TorchScript archives (torch.jit.save; OpenAI's released .pt files) and
// torch.save files (open_clip's and Hugging Face's .pt/.bin state dicts).
//
// Both are a ZIP with one root folder (its name varies: `ViT-B-32.jit/`, `archive/`, ...), a pickle
// `<root>/data.pkl`, and one stored member `<root>/data/<key>` per tensor storage. A TorchScript
// pickle describes the module tree (objects of `__torch__.*` classes whose BUILD state holds their
// parameters, buffers and submodules); a torch.save pickle is an ordinary dict. Tensors are
// `_rebuild_tensor_v2(storage, storage_offset, size, stride, ...)` with the storage a persistent id
// `('storage', torch.<Type>Storage, key, location, numel)`.
import { CheckpointError } from './errors.js';
import { DTYPE_BYTES, type StorageDType } from './dtype.js';
import type { FileSource } from './file-source.js';
import {
  PyDict, PyGlobal, PyObject, PyOpaque, PyTuple, unpickle, UnpickleError,
  type PyValue, type UnpickleHooks,
} from './pickle.js';
import { FileRangeStorage, MemoryStorage, StoredTensorEntry, type StorageBytes, type TensorEntry } from './tensor-entry.js';
import type { ZipArchive, ZipMember } from './zip.js';

export type TorchZipFormat = 'torchscript' | 'torch-save';

export interface TorchZipContents {
  format: TorchZipFormat;
  root: string;
  entries: Map<string, TensorEntry>;
  metadata: Record<string, string>;
}

/** Storage classes named in persistent ids, and the element type each holds. */
const STORAGE_TYPES: Readonly<Record<string, StorageDType>> = {
  FloatStorage: 'float32', HalfStorage: 'float16', BFloat16Storage: 'bfloat16', DoubleStorage: 'float64',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8',
  ByteStorage: 'uint8', BoolStorage: 'bool',
};

/** The only functions and classes a checkpoint pickle may name (besides `__torch__.*` module classes). */
const ALLOWED_GLOBALS = new Set<string>([
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'collections.OrderedDict',
  // Protocol 2 has no bytes opcode; Python pickles bytes as _codecs.encode(text, 'latin1').
  '_codecs.encode',
  ...Object.keys(STORAGE_TYPES).map((s) => `torch.${s}`),
]);

interface StorageRef {
  key: string;
  dtype: StorageDType;
  numel: number;
}

/** A tensor as the pickle describes it, before it is bound to its storage bytes. */
interface TensorRef {
  storage: StorageRef;
  storageOffset: number;
  shape: number[];
  strides: number[];
}

function isTensorRef(v: PyValue): v is PyOpaque {
  return v instanceof PyOpaque && (v.value as { kind?: string }).kind === 'tensor';
}

function asInt(v: PyValue, what: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  throw new Error(`${what} must be an integer, got ${describe(v)}`);
}

function asIntTuple(v: PyValue, what: string): number[] {
  if (!(v instanceof PyTuple) && !Array.isArray(v)) throw new Error(`${what} must be a tuple, got ${describe(v)}`);
  const items = v instanceof PyTuple ? v.items : v;
  return items.map((x, i) => asInt(x, `${what}[${i}]`));
}

function describe(v: PyValue): string {
  if (v === null) return 'None';
  if (v instanceof PyTuple) return `a tuple of ${v.items.length}`;
  if (v instanceof PyDict) return 'a dict';
  if (v instanceof PyGlobal) return v.qualified;
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'object') return v.constructor.name;
  return `${typeof v} ${String(v)}`;
}

/** Interprets the allowed globals; shared by both archive kinds. */
function makeHooks(): UnpickleHooks {
  const storages = new Map<string, StorageRef>();
  return {
    findGlobal(module, name) {
      const q = `${module}.${name}`;
      if (module === '__torch__' || module.startsWith('__torch__.') || ALLOWED_GLOBALS.has(q)) return new PyGlobal(module, name);
      return undefined;
    },
    call(fn, args) {
      switch (fn.qualified) {
        case 'torch._utils._rebuild_tensor_v2':
        case 'torch._utils._rebuild_tensor': {
          if (args.length < 4) throw new Error(`${fn.qualified} needs at least 4 arguments, got ${args.length}`);
          const storage = args[0];
          if (!(storage instanceof PyOpaque) || (storage.value as { kind?: string }).kind !== 'storage') {
            throw new Error(`${fn.qualified}: first argument is not a storage (${describe(storage)})`);
          }
          const ref: TensorRef = {
            storage: (storage.value as { ref: StorageRef }).ref,
            storageOffset: asInt(args[1], 'storage_offset'),
            shape: asIntTuple(args[2], 'size'),
            strides: asIntTuple(args[3], 'stride'),
          };
          return new PyOpaque({ kind: 'tensor', ref });
        }
        case 'torch._utils._rebuild_parameter':
        case 'torch._utils._rebuild_parameter_with_state': {
          if (args.length < 1 || !isTensorRef(args[0])) throw new Error(`${fn.qualified}: first argument is not a tensor`);
          return args[0];
        }
        case 'collections.OrderedDict': {
          if (args.length !== 0) throw new Error('OrderedDict with constructor arguments is not supported');
          return new PyDict();
        }
        case '_codecs.encode': {
          const [text, encoding] = args;
          if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) {
            throw new Error('_codecs.encode is only supported as encode(str, "latin1")');
          }
          const out = new Uint8Array(text.length);
          for (let i = 0; i < text.length; i++) {
            const c = text.charCodeAt(i);
            if (c > 255) throw new Error('_codecs.encode: character outside latin-1');
            out[i] = c;
          }
          return out;
        }
        default:
          throw new Error(`calling ${fn.qualified} is not supported`);
      }
    },
    newObject(cls, args) {
      if (cls.module === '__torch__' || cls.module.startsWith('__torch__.')) return new PyObject(cls);
      if (cls.qualified === 'collections.OrderedDict' && args.length === 0) return new PyDict();
      throw new Error(`creating an instance of ${cls.qualified} is not supported`);
    },
    persistentLoad(pid) {
      // ('storage', storage_type, key, location, numel)
      if (!(pid instanceof PyTuple) || pid.items.length < 5 || pid.items[0] !== 'storage') {
        throw new Error(`unsupported persistent id ${describe(pid)} (expected ('storage', type, key, location, numel))`);
      }
      const [, type, key, , numel] = pid.items;
      if (!(type instanceof PyGlobal) || type.module !== 'torch' || !(type.name in STORAGE_TYPES)) {
        throw new Error(`unsupported storage type ${describe(type)}`);
      }
      if (typeof key !== 'string') throw new Error(`storage key must be a string, got ${describe(key)}`);
      const dtype = STORAGE_TYPES[type.name];
      const ref: StorageRef = { key, dtype, numel: asInt(numel, `numel of storage ${key}`) };
      const seen = storages.get(key);
      if (seen !== undefined) {
        if (seen.dtype !== ref.dtype) throw new Error(`storage ${key} is used both as ${seen.dtype} and ${ref.dtype}`);
        return new PyOpaque({ kind: 'storage', ref: seen });
      }
      storages.set(key, ref);
      return new PyOpaque({ kind: 'storage', ref });
    },
  };
}

/** The single root folder of the archive, found from the member names (never from the file name). */
function findRoot(file: string, zip: ZipArchive): string {
  const roots = new Set<string>();
  for (const name of zip.members.keys()) {
    const slash = name.indexOf('/');
    roots.add(slash < 0 ? '' : name.slice(0, slash));
  }
  const withPickle = [...roots].filter((r) => r !== '' && zip.members.has(`${r}/data.pkl`));
  if (withPickle.length === 0) {
    throw new CheckpointError(file, 'ZIP archive without <root>/data.pkl: not a PyTorch checkpoint');
  }
  if (withPickle.length > 1) {
    throw new CheckpointError(file, `ZIP archive with several roots holding data.pkl (${withPickle.join(', ')})`);
  }
  return withPickle[0];
}

/** Reads a PyTorch ZIP checkpoint: parses its pickle and binds every tensor to its storage member. */
export function readTorchZip(source: FileSource, zip: ZipArchive, opts: { verifyCrc?: boolean } = {}): TorchZipContents {
  const file = source.path;
  const root = findRoot(file, zip);
  const byteorder = zip.members.get(`${root}/byteorder`);
  if (byteorder !== undefined) {
    const order = new TextDecoder().decode(zip.read(byteorder)).trim();
    if (order !== 'little') throw new CheckpointError(file, `${root}/byteorder says "${order}"; only little-endian checkpoints are supported`);
  }
  const isTorchScript = zip.members.has(`${root}/constants.pkl`) || [...zip.members.keys()].some((n) => n.startsWith(`${root}/code/`));
  const format: TorchZipFormat = isTorchScript ? 'torchscript' : 'torch-save';

  const pklName = `${root}/data.pkl`;
  const pkl = zip.read(zip.members.get(pklName) as ZipMember);
  let value: PyValue;
  try {
    value = unpickle(pkl, makeHooks(), `${file}: ${pklName}`);
  } catch (err) {
    if (err instanceof UnpickleError) throw new CheckpointError(file, err.message.slice(file.length + 2));
    throw err;
  }

  // Bind storages to their members once, so shared storages share one StorageBytes.
  const storageBytes = new Map<string, StorageBytes>();
  const bind = (ref: StorageRef): StorageBytes => {
    const known = storageBytes.get(ref.key);
    if (known !== undefined) return known;
    const memberName = `${root}/data/${ref.key}`;
    const member = zip.members.get(memberName);
    if (member === undefined) throw new CheckpointError(file, `storage ${ref.key}: member ${memberName} is missing`);
    const need = ref.numel * DTYPE_BYTES[ref.dtype];
    if (member.size < need) {
      throw new CheckpointError(file, `storage ${ref.key}: member ${memberName} has ${member.size} bytes, ${ref.numel} ${ref.dtype} elements need ${need}`);
    }
    if (opts.verifyCrc === true) zip.verify(member);
    const bytes: StorageBytes = member.method === 0
      ? new FileRangeStorage(source, zip.dataOffset(member), member.size)
      : new MemoryStorage(file, () => zip.read(member), member.size);
    storageBytes.set(ref.key, bytes);
    return bytes;
  };

  const entries = new Map<string, TensorEntry>();
  const metadata: Record<string, string> = {};
  const add = (name: string, t: PyOpaque): void => {
    if (entries.has(name)) throw new CheckpointError(file, `two tensors are named ${name}`);
    const ref = (t.value as { ref: TensorRef }).ref;
    entries.set(name, new StoredTensorEntry(file, name, ref.storage.dtype, ref.shape, ref.strides, bind(ref.storage), ref.storageOffset));
  };

  if (format === 'torchscript') {
    if (!(value instanceof PyObject)) throw new CheckpointError(file, `${pklName}: the root is ${describe(value)}, expected a TorchScript module`);
    // Attribute paths from the root module name the tensors; flags such as `training` are skipped.
    const walk = (obj: PyObject, prefix: string, depth: number): void => {
      if (depth > 64) throw new CheckpointError(file, `${pklName}: module tree deeper than 64 levels at ${prefix}`);
      const state = obj.state;
      if (state === undefined) return;
      if (!(state instanceof PyDict)) throw new CheckpointError(file, `${pklName}: module ${prefix || '<root>'} has a non-dict state`);
      for (const [k, v] of state.map) {
        if (typeof k !== 'string') continue;
        const name = prefix + k;
        if (isTensorRef(v)) add(name, v);
        else if (v instanceof PyObject) walk(v, name + '.', depth + 1);
      }
    };
    walk(value, '', 0);
  } else {
    // A state dict, or a dict wrapping one ({'epoch', 'name', 'state_dict': {...}, 'optimizer': ...}).
    // Nested containers are flattened with '.'; top-level scalars become metadata.
    const walk = (v: PyValue, prefix: string, depth: number): void => {
      if (depth > 64) throw new CheckpointError(file, `${pklName}: containers nested deeper than 64 levels at ${prefix}`);
      if (isTensorRef(v)) {
        add(prefix === '' ? '<root>' : prefix, v);
        return;
      }
      const sep = prefix === '' ? '' : prefix + '.';
      if (v instanceof PyDict) {
        for (const [k, x] of v.map) {
          if (depth === 0 && (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean' || typeof x === 'bigint')) {
            metadata[String(k)] = String(x);
          }
          walk(x, sep + String(k), depth + 1);
        }
      } else if (Array.isArray(v) || v instanceof PyTuple) {
        const items = Array.isArray(v) ? v : v.items;
        items.forEach((x, i) => walk(x, sep + String(i), depth + 1));
      }
    };
    walk(value, '', 0);
  }
  return { format, root, entries, metadata };
}
