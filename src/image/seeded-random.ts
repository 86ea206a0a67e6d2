// A small, fast, seedable PRNG (xoshiro128**, seeded through splitmix32) so that augmentation is
// reproducible: the same seed gives the same crops on every machine and in every worker layout.
// It does not reproduce PyTorch's generator; only the distributions match torchvision's.

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** `seed` is any integer (or several, e.g. a base seed, an epoch and an item index). */
  constructor(...seed: number[]) {
    if (seed.length === 0) seed = [0];
    const st = { s: 0x2545f491 };
    // Mix every seed word in, so (1, 2) and (2, 1) give unrelated streams.
    for (const word of seed) {
      if (!Number.isSafeInteger(word)) throw new RangeError(`seed must be a safe integer, got ${word}`);
      st.s = (st.s ^ splitmix32(st) ^ (word >>> 0) ^ Math.floor(word / 2 ** 32)) | 0;
      splitmix32(st);
    }
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1; // the all-zero state is a fixed point
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform double in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** A uniform integer in [lo, hi) (like `torch.randint(lo, hi)`), without modulo bias. */
  int(lo: number, hi: number): number {
    const span = hi - lo;
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || span < 1 || span > 2 ** 32) {
      throw new RangeError(`int(${lo}, ${hi}): need integers with 1 <= hi - lo <= 2^32`);
    }
    const limit = Math.floor(2 ** 32 / span) * span;
    for (;;) {
      const r = this.nextUint32();
      if (r < limit) return lo + (r % span);
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
