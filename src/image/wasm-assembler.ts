// A minimal WebAssembly binary writer: just enough to build the SIMD resampling kernels of
// `resample-simd.ts` from TypeScript (no toolchain, no prebuilt blob). Each helper appends the
// encoding of one instruction; names follow the WebAssembly text format.

export const I32 = 0x7f;
export const V128 = 0x7b;

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (32-bit). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function str(s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/** Builds the body of one function. Locals are numbered after the parameters. */
export class FunctionBuilder {
  readonly code: number[] = [];
  private readonly extraLocals: number[] = [];

  constructor(readonly params: number[]) {}

  /** Declares a new local of `type` and returns its index. */
  local(type: number): number {
    this.extraLocals.push(type);
    return this.params.length + this.extraLocals.length - 1;
  }

  private op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  private simd(sub: number, ...imm: number[]): this {
    return this.op(0xfd, ...uleb(sub), ...imm);
  }

  get(i: number): this { return this.op(0x20, ...uleb(i)); }
  set(i: number): this { return this.op(0x21, ...uleb(i)); }
  tee(i: number): this { return this.op(0x22, ...uleb(i)); }
  i32(v: number): this { return this.op(0x41, ...sleb(v)); }
  add(): this { return this.op(0x6a); }
  sub(): this { return this.op(0x6b); }
  mul(): this { return this.op(0x6c); }
  shl(): this { return this.op(0x74); }
  ltS(): this { return this.op(0x48); }
  geS(): this { return this.op(0x4e); }
  eqz(): this { return this.op(0x45); }
  /** i32.load with alignment 2^2 and a constant offset. */
  load(offset = 0): this { return this.op(0x28, 2, ...uleb(offset)); }
  block(): this { return this.op(0x02, 0x40); }
  loop(): this { return this.op(0x03, 0x40); }
  br(depth: number): this { return this.op(0x0c, ...uleb(depth)); }
  brIf(depth: number): this { return this.op(0x0d, ...uleb(depth)); }
  end(): this { return this.op(0x0b); }

  // SIMD (opcodes from the WebAssembly 128-bit SIMD specification)
  v128Load(offset = 0): this { return this.simd(0x00, 0, ...uleb(offset)); }
  v128Store(offset = 0): this { return this.simd(0x0b, 0, ...uleb(offset)); }
  v128Load32Zero(offset = 0): this { return this.simd(0x5c, 0, ...uleb(offset)); }
  v128Load64Zero(offset = 0): this { return this.simd(0x5d, 0, ...uleb(offset)); }
  i8x16Swizzle(): this { return this.simd(0x0e); }
  v128Const(bytes: readonly number[]): this { return this.simd(0x0c, ...bytes); }
  i32x4DotI16x8S(): this { return this.simd(0xba); }
  i32x4Shl(): this { return this.simd(0xab); }
  v128Store32Lane(lane: number, offset = 0): this { return this.simd(0x5a, 0, ...uleb(offset), lane); }
  i32x4Splat(): this { return this.simd(0x11); }
  i32x4Add(): this { return this.simd(0xae); }
  i32x4Mul(): this { return this.simd(0xb5); }
  i32x4ShrS(): this { return this.simd(0xac); }
  i16x8ExtendLowI8x16U(): this { return this.simd(0x89); }
  i16x8ExtendHighI8x16U(): this { return this.simd(0x8a); }
  i32x4ExtendLowI16x8U(): this { return this.simd(0xa9); }
  i32x4ExtendHighI16x8U(): this { return this.simd(0xaa); }
  i16x8NarrowI32x4S(): this { return this.simd(0x85); }
  i8x16NarrowI16x8U(): this { return this.simd(0x66); }

  /** The function's entry in the code section. */
  encode(): number[] {
    const groups: number[][] = [];
    for (const t of this.extraLocals) groups.push([1, t]); // one local per group: simple and valid
    const body = [...vec(groups), ...this.code, 0x0b];
    return [...uleb(body.length), ...body];
  }
}

/** A module with one exported memory (`memory`, initially `pages` 64 KiB pages) and exported functions. */
export function buildModule(pages: number, functions: { name: string; fn: FunctionBuilder }[]): Uint8Array {
  const types = functions.map(({ fn }) => [0x60, ...uleb(fn.params.length), ...fn.params, 0]);
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(5, vec([[0x00, ...uleb(pages)]])),
    ...section(7, vec([
      [...str('memory'), 0x02, 0],
      ...functions.map(({ name }, i) => [...str(name), 0x00, ...uleb(i)]),
    ])),
    ...section(10, vec(functions.map(({ fn }) => fn.encode()))),
  ];
  return new Uint8Array(bytes);
}
