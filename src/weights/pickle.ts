// A strict, non-executing unpickler for PyTorch checkpoints, written from the opcode descriptions in
// CPython's pickletools.
//
// Python's pickle can call any importable function while loading; this one calls none. It accepts
// only the binary opcodes that torch.save / torch.jit.save produce (protocols 2 to 5) and resolves a
// GLOBAL only when its caller's allow-list (see torch-zip.ts) names it; every other global is an
// error that names it and the byte offset, raised when the opcode is read, before anything could
// use it. REDUCE / NEWOBJ / BUILD on an allowed global are interpreted by that same caller.

export type PyKey = string | number | bigint | boolean | null;

/** A value produced by the unpickler. Lists are plain arrays; tuples, dicts and objects are classes. */
export type PyValue =
  | null | boolean | number | bigint | string | Uint8Array
  | PyValue[] | PyTuple | PyDict | PySet | PyObject | PyGlobal | PyOpaque;

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

export class PyDict {
  readonly map = new Map<PyKey, PyValue>();
  /** Instance attributes set by BUILD (an OrderedDict's `_metadata`, for example); unused. */
  state: PyValue | undefined;
}

export class PySet {
  readonly items: PyValue[] = [];
}

/** An instance of an allowed class built by NEWOBJ (a TorchScript module); BUILD fills `state`. */
export class PyObject {
  state: PyValue | undefined;
  constructor(readonly global: PyGlobal) {}
}

/** A resolved, allowed global: a class or function that the interpreter knows by name. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A value that the caller's interpreter produced (a tensor reference, a storage, ...). */
export class PyOpaque {
  constructor(readonly value: unknown) {}
}

export interface UnpickleHooks {
  /** Returns the global if allowed, else undefined (the unpickler then throws). */
  findGlobal(module: string, name: string): PyGlobal | undefined;
  /** Interprets `callable(*args)` for REDUCE; throws for unsupported callables. */
  call(callable: PyGlobal, args: PyValue[]): PyValue;
  /** Interprets `cls.__new__(cls, *args)` for NEWOBJ. */
  newObject(cls: PyGlobal, args: PyValue[]): PyValue;
  /** Resolves a persistent id (BINPERSID). */
  persistentLoad(pid: PyValue): PyValue;
}

export class UnpickleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnpickleError';
  }
}

const MARK = Symbol('mark');
type StackItem = PyValue | typeof MARK;

const OP = {
  MARK: 0x28, STOP: 0x2e, POP: 0x30, POP_MARK: 0x31, DUP: 0x32,
  BININT: 0x4a, BININT1: 0x4b, BININT2: 0x4d, LONG1: 0x8a, LONG4: 0x8b, BINFLOAT: 0x47,
  NONE: 0x4e, NEWTRUE: 0x88, NEWFALSE: 0x89,
  BINSTRING: 0x54, SHORT_BINSTRING: 0x55, BINUNICODE: 0x58, SHORT_BINUNICODE: 0x8c, BINUNICODE8: 0x8d,
  BINBYTES: 0x42, SHORT_BINBYTES: 0x43, BINBYTES8: 0x8e, BYTEARRAY8: 0x96,
  EMPTY_TUPLE: 0x29, TUPLE: 0x74, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87,
  EMPTY_LIST: 0x5d, APPEND: 0x61, APPENDS: 0x65, LIST: 0x6c,
  EMPTY_DICT: 0x7d, DICT: 0x64, SETITEM: 0x73, SETITEMS: 0x75,
  EMPTY_SET: 0x8f, ADDITEMS: 0x90, FROZENSET: 0x91,
  GLOBAL: 0x63, STACK_GLOBAL: 0x93, REDUCE: 0x52, NEWOBJ: 0x81, BUILD: 0x62,
  BINPERSID: 0x51,
  BINPUT: 0x71, LONG_BINPUT: 0x72, MEMOIZE: 0x94, BINGET: 0x68, LONG_BINGET: 0x6a,
  PROTO: 0x80, FRAME: 0x95,
} as const;

const OP_NAMES = new Map<number, string>(Object.entries(OP).map(([k, v]) => [v, k]));

/**
 * Unpickles `data`. `where` names the source in errors (for example `file.pt: archive/data.pkl`).
 */
export function unpickle(data: Uint8Array, hooks: UnpickleHooks, where: string): PyValue {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const latin1 = new TextDecoder('latin1');
  const stack: StackItem[] = [];
  const memo = new Map<number, PyValue>();
  let pos = 0;
  let opAt = 0;

  const fail = (msg: string): never => {
    throw new UnpickleError(`${where}: ${msg} (pickle opcode at byte ${opAt})`);
  };
  const need = (n: number): void => {
    if (pos + n > data.length) fail(`truncated: needs ${n} more bytes at byte ${pos}, has ${data.length - pos}`);
  };
  const u8 = (): number => { need(1); return data[pos++]; };
  const u16 = (): number => { need(2); const v = view.getUint16(pos, true); pos += 2; return v; };
  const u32 = (): number => { need(4); const v = view.getUint32(pos, true); pos += 4; return v; };
  const i32 = (): number => { need(4); const v = view.getInt32(pos, true); pos += 4; return v; };
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(data.length)) fail(`length ${v} exceeds the pickle size`);
    return Number(v);
  };
  const bytes = (n: number): Uint8Array => { need(n); const b = data.subarray(pos, pos + n); pos += n; return b; };
  const decodeUtf8 = (b: Uint8Array): string => {
    try {
      return utf8.decode(b);
    } catch {
      return fail('invalid UTF-8 in a string');
    }
  };
  const pop = (): PyValue => {
    const v = stack.pop();
    if (v === undefined) fail('stack underflow');
    if (v === MARK) fail('unexpected MARK on the stack');
    return v as PyValue;
  };
  const top = (): PyValue => {
    if (stack.length === 0) fail('stack underflow');
    const v = stack[stack.length - 1];
    if (v === MARK) fail('unexpected MARK on the stack');
    return v as PyValue;
  };
  const popMark = (): PyValue[] => {
    let i = stack.length - 1;
    while (i >= 0 && stack[i] !== MARK) i--;
    if (i < 0) fail('no MARK on the stack');
    const items = stack.slice(i + 1) as PyValue[];
    stack.length = i;
    return items;
  };
  const key = (k: PyValue): PyKey => {
    if (k === null || typeof k === 'string' || typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean') return k;
    return fail('unsupported dict key type (only str, int, float, bool and None keys are allowed)');
  };
  const setItems = (target: PyValue, items: PyValue[]): void => {
    if (!(target instanceof PyDict)) fail('SETITEM(S) on a value that is not a dict');
    if (items.length % 2 !== 0) fail('SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) (target as PyDict).map.set(key(items[i]), items[i + 1]);
  };
  const smallInt = (v: bigint): number | bigint =>
    v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  const decodeLong = (b: Uint8Array): number | bigint => {
    // Two's complement, little-endian, of any length.
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b.length > 0 && (b[b.length - 1] & 0x80) !== 0) v -= 1n << BigInt(8 * b.length);
    return smallInt(v);
  };
  const global = (module: string, name: string): PyGlobal => {
    const g = hooks.findGlobal(module, name);
    if (g === undefined) fail(`forbidden global ${module}.${name}: not on the allow-list, refused (nothing was executed)`);
    return g as PyGlobal;
  };
  const readLine = (): string => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) fail('unterminated GLOBAL line');
    const s = latin1.decode(data.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  // Errors from the interpreter hooks get the same prefix and opcode offset as the unpickler's own.
  const guard = (f: () => PyValue): PyValue => {
    try {
      return f();
    } catch (err) {
      if (err instanceof UnpickleError) throw err;
      return fail((err as Error).message);
    }
  };
  const memoGet = (i: number): PyValue => {
    if (!memo.has(i)) fail(`memo key ${i} not defined`);
    return memo.get(i) as PyValue;
  };

  for (;;) {
    opAt = pos;
    const op = u8();
    switch (op) {
      case OP.PROTO: {
        const proto = u8();
        if (proto < 2 || proto > 5) fail(`unsupported pickle protocol ${proto}`);
        break;
      }
      case OP.FRAME: u64(); break; // frames only group opcodes; the bytes follow inline
      case OP.STOP: {
        const result = pop();
        if (stack.length !== 0) fail(`${stack.length} values left on the stack at STOP`);
        return result;
      }
      case OP.MARK: stack.push(MARK); break;
      case OP.POP: stack.pop(); break;
      case OP.POP_MARK: popMark(); break;
      case OP.DUP: stack.push(top()); break;

      case OP.NONE: stack.push(null); break;
      case OP.NEWTRUE: stack.push(true); break;
      case OP.NEWFALSE: stack.push(false); break;
      case OP.BININT: stack.push(i32()); break;
      case OP.BININT1: stack.push(u8()); break;
      case OP.BININT2: stack.push(u16()); break;
      case OP.LONG1: stack.push(decodeLong(bytes(u8()))); break;
      case OP.LONG4: stack.push(decodeLong(bytes(u32()))); break;
      case OP.BINFLOAT: { need(8); stack.push(view.getFloat64(pos, false)); pos += 8; break; } // big-endian

      case OP.BINUNICODE: stack.push(decodeUtf8(bytes(u32()))); break;
      case OP.SHORT_BINUNICODE: stack.push(decodeUtf8(bytes(u8()))); break;
      case OP.BINUNICODE8: stack.push(decodeUtf8(bytes(u64()))); break;
      // Python 2 str: bytes that Python 3 decodes as ASCII/latin-1 by default.
      case OP.BINSTRING: { const n = i32(); if (n < 0) fail('negative BINSTRING length'); stack.push(latin1.decode(bytes(n))); break; }
      case OP.SHORT_BINSTRING: stack.push(latin1.decode(bytes(u8()))); break;
      case OP.BINBYTES: stack.push(bytes(u32()).slice()); break;
      case OP.SHORT_BINBYTES: stack.push(bytes(u8()).slice()); break;
      case OP.BINBYTES8: case OP.BYTEARRAY8: stack.push(bytes(u64()).slice()); break;

      case OP.EMPTY_TUPLE: stack.push(new PyTuple([])); break;
      case OP.TUPLE: stack.push(new PyTuple(popMark())); break;
      case OP.TUPLE1: { const a = pop(); stack.push(new PyTuple([a])); break; }
      case OP.TUPLE2: { const b = pop(); const a = pop(); stack.push(new PyTuple([a, b])); break; }
      case OP.TUPLE3: { const c = pop(); const b = pop(); const a = pop(); stack.push(new PyTuple([a, b, c])); break; }

      case OP.EMPTY_LIST: stack.push([]); break;
      case OP.LIST: stack.push(popMark()); break;
      case OP.APPEND: {
        const v = pop();
        const list = top();
        if (!Array.isArray(list)) fail('APPEND to a value that is not a list');
        (list as PyValue[]).push(v);
        break;
      }
      case OP.APPENDS: {
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) fail('APPENDS to a value that is not a list');
        for (const it of items) (list as PyValue[]).push(it);
        break;
      }

      case OP.EMPTY_DICT: stack.push(new PyDict()); break;
      case OP.DICT: { const d = new PyDict(); setItems(d, popMark()); stack.push(d); break; }
      case OP.SETITEM: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; }
      case OP.SETITEMS: { const items = popMark(); setItems(top(), items); break; }

      case OP.EMPTY_SET: stack.push(new PySet()); break;
      case OP.ADDITEMS: {
        const items = popMark();
        const s = top();
        if (!(s instanceof PySet)) fail('ADDITEMS to a value that is not a set');
        (s as PySet).items.push(...items);
        break;
      }
      case OP.FROZENSET: { const s = new PySet(); s.items.push(...popMark()); stack.push(s); break; }

      case OP.GLOBAL: {
        const module = readLine();
        const name = readLine();
        stack.push(global(module, name));
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case OP.REDUCE: {
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PyGlobal)) fail('REDUCE on a value that is not an allowed global');
        if (!(args instanceof PyTuple)) fail('REDUCE arguments are not a tuple');
        stack.push(guard(() => hooks.call(fn as PyGlobal, (args as PyTuple).items)));
        break;
      }
      case OP.NEWOBJ: {
        const args = pop();
        const cls = pop();
        if (!(cls instanceof PyGlobal)) fail('NEWOBJ on a value that is not an allowed class');
        if (!(args instanceof PyTuple)) fail('NEWOBJ arguments are not a tuple');
        stack.push(guard(() => hooks.newObject(cls as PyGlobal, (args as PyTuple).items)));
        break;
      }
      case OP.BUILD: {
        const state = pop();
        const obj = top();
        if (obj instanceof PyObject || obj instanceof PyDict) obj.state = state;
        else fail('BUILD on a value that is not an object or a dict');
        break;
      }
      case OP.BINPERSID: { const pid = pop(); stack.push(guard(() => hooks.persistentLoad(pid))); break; }

      case OP.BINPUT: memo.set(u8(), top()); break;
      case OP.LONG_BINPUT: memo.set(u32(), top()); break;
      case OP.MEMOIZE: memo.set(memo.size, top()); break;
      case OP.BINGET: stack.push(memoGet(u8())); break;
      case OP.LONG_BINGET: stack.push(memoGet(u32())); break;

      default: {
        const name = OP_NAMES.get(op);
        fail(name !== undefined
          ? `opcode ${name} is not supported`
          : `unknown or unsupported opcode 0x${op.toString(16).padStart(2, '0')} (${JSON.stringify(String.fromCharCode(op))})`);
      }
    }
  }
}
