// The k largest of many scores, best first, without sorting them all: a size-k min-heap whose root
// is the weakest score kept, so each further score costs one comparison unless it enters the heap.

export interface Ranked {
  /** Position of the score in the input. */
  index: number;
  score: number;
}

/** The `k` highest scores (ties broken by lower index), best first. NaN scores are never selected. */
export function topK(scores: ArrayLike<number>, k: number): Ranked[] {
  const n = scores.length;
  const size = Math.max(0, Math.min(k, n));
  if (size === 0) return [];
  const heapIdx = new Int32Array(size);
  const heapScore = new Float64Array(size);
  let len = 0;
  // "a is worse than b": lower score, or equal score and later position.
  const worse = (sa: number, ia: number, sb: number, ib: number): boolean => sa < sb || (sa === sb && ia > ib);
  const siftDown = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < len && worse(heapScore[l], heapIdx[l], heapScore[m], heapIdx[m])) m = l;
      if (r < len && worse(heapScore[r], heapIdx[r], heapScore[m], heapIdx[m])) m = r;
      if (m === i) return;
      [heapScore[i], heapScore[m]] = [heapScore[m], heapScore[i]];
      [heapIdx[i], heapIdx[m]] = [heapIdx[m], heapIdx[i]];
      i = m;
    }
  };
  for (let j = 0; j < n; j++) {
    const s = scores[j];
    if (Number.isNaN(s)) continue;
    if (len < size) {
      let i = len++;
      heapScore[i] = s;
      heapIdx[i] = j;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(heapScore[i], heapIdx[i], heapScore[p], heapIdx[p])) break;
        [heapScore[i], heapScore[p]] = [heapScore[p], heapScore[i]];
        [heapIdx[i], heapIdx[p]] = [heapIdx[p], heapIdx[i]];
        i = p;
      }
    } else if (worse(heapScore[0], heapIdx[0], s, j)) {
      heapScore[0] = s;
      heapIdx[0] = j;
      siftDown(0);
    }
  }
  const out: Ranked[] = [];
  for (let i = 0; i < len; i++) out.push({ index: heapIdx[i], score: heapScore[i] });
  return out.sort((a, b) => b.score - a.score || a.index - b.index);
}
