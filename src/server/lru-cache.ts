// A least-recently-used map bounded by entry count and by total weight (bytes for thumbnails).
// Map keeps insertion order, so re-inserting on every hit makes its first key the least recent.

export interface LruLimits {
  /** Most entries kept. Default unbounded. */
  maxEntries?: number;
  /** Most total weight kept (the sum of the weights given to set). Default unbounded. */
  maxWeight?: number;
}

export class LruCache<K, V> {
  private readonly entries = new Map<K, { value: V; weight: number }>();
  private totalWeight = 0;
  private readonly maxEntries: number;
  private readonly maxWeight: number;

  constructor(limits: LruLimits = {}) {
    this.maxEntries = limits.maxEntries ?? Infinity;
    this.maxWeight = limits.maxWeight ?? Infinity;
  }

  get size(): number {
    return this.entries.size;
  }

  get weight(): number {
    return this.totalWeight;
  }

  get(key: K): V | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  /** Stores `value`; an entry heavier than the whole budget is not stored at all. */
  set(key: K, value: V, weight: number): void {
    this.delete(key);
    if (weight > this.maxWeight) return;
    this.entries.set(key, { value, weight });
    this.totalWeight += weight;
    while (this.entries.size > this.maxEntries || this.totalWeight > this.maxWeight) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.delete(oldest.value);
    }
  }

  delete(key: K): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    this.entries.delete(key);
    this.totalWeight -= e.weight;
  }

  clear(): void {
    this.entries.clear();
    this.totalWeight = 0;
  }
}
