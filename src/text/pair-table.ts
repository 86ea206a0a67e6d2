// An open-addressing hash table from an adjacent pair of token ids to its merge rank.
//
// BPE looks up every adjacent pair on every merge round, so this lookup is the hot loop of
// uncached encoding. A JavaScript Map keyed by `left * 65536 + right` works but the keys exceed the
// small-integer range and are hashed as doubles; a flat Int32Array table is several times faster.

const EMPTY = -1;

export class PairTable {
  private readonly keys: Int32Array;
  private readonly values: Int32Array;
  private readonly shift: number;
  private readonly mask: number;
  private count = 0;

  /** `capacityHint`: how many pairs will be stored (the table keeps itself at most half full). */
  constructor(capacityHint: number) {
    let bits = 4;
    while (1 << bits < capacityHint * 2) bits++;
    this.keys = new Int32Array(1 << bits).fill(EMPTY);
    this.values = new Int32Array(1 << bits);
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
  }

  get size(): number {
    return this.count;
  }

  // Both ids are below 65535, so no key equals the empty marker -1 (keys may be negative).
  private static key(left: number, right: number): number {
    return (left << 16) | right;
  }

  private slot(key: number): number {
    return Math.imul(key, 0x9e3779b1) >>> this.shift;
  }

  set(left: number, right: number, value: number): void {
    const key = PairTable.key(left, right);
    for (let i = this.slot(key); ; i = (i + 1) & this.mask) {
      const k = this.keys[i];
      if (k === EMPTY) {
        if ((this.count + 1) * 2 > this.keys.length) throw new Error('PairTable: more pairs than the capacity hint');
        this.keys[i] = key;
        this.values[i] = value;
        this.count++;
        return;
      }
      if (k === key) {
        this.values[i] = value;
        return;
      }
    }
  }

  /** The value of a pair, or -1 when the pair is absent. */
  get(left: number, right: number): number {
    const key = PairTable.key(left, right);
    for (let i = this.slot(key); ; i = (i + 1) & this.mask) {
      const k = this.keys[i];
      if (k === key) return this.values[i];
      if (k === EMPTY) return -1;
    }
  }
}
