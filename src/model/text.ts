// The causal text Transformer: token + position embeddings → blocks with a causal mask →
// ln_final → the row at each text's end token → projection.
import { add, embedding, layerNorm, matmul, narrow, selectRows, type Tensor } from '../tensor/index.js';
import { argmaxRows } from '../util/argmax.js';
import type { Activation, TextConfig } from './config.js';
import type { ActivationHook, ParamStore } from './params.js';
import { transformer } from './transformer.js';

/** Position of the first largest id in each row (CLIP's argmax: the first end-of-text token). */
export function endTokenPositions(tokens: Int32Array, batch: number, context: number): Int32Array {
  return argmaxRows(tokens, batch, context);
}

export interface EncodeTextOptions {
  /**
   * Run all `context` positions. By default only positions up to the batch's last end token are
   * computed: the mask is causal, so later positions cannot change the features (exact shortcut).
   */
  fullContext?: boolean;
  hook?: ActivationHook;
}

/** tokens: [batch, context] ids (row-major) → text features [batch, embed] (not normalised). */
export function encodeTextTower(p: ParamStore, cfg: TextConfig, act: Activation, tokens: Int32Array, batch: number,
  opts: EncodeTextOptions = {}): Tensor {
  const ctx = cfg.contextLength;
  if (tokens.length !== batch * ctx) {
    throw new RangeError(`encodeText: expected ${batch} x ${ctx} token ids, got ${tokens.length}`);
  }
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] < 0 || tokens[i] >= cfg.vocabSize) {
      throw new RangeError(`encodeText: token id ${tokens[i]} (text ${Math.floor(i / ctx)}, position ${i % ctx}) is outside the vocabulary of ${cfg.vocabSize}`);
    }
  }
  const eot = endTokenPositions(tokens, batch, ctx);
  const L = opts.fullContext === true ? ctx : Math.max(...eot) + 1;
  let ids = tokens;
  if (L < ctx) {
    ids = new Int32Array(batch * L);
    for (let b = 0; b < batch; b++) ids.set(tokens.subarray(b * ctx, b * ctx + L), b * L);
  }
  let x = embedding(p.get('token_embedding.weight'), ids, [batch, L]);
  const pos = p.get('positional_embedding');
  x = add(x, L < ctx ? narrow(pos, 0, 0, L) : pos);
  x = transformer(p, 'transformer', x, cfg.layers, cfg.heads, true, act, opts.hook);
  x = layerNorm(x, p.get('ln_final.weight'), p.get('ln_final.bias'));
  opts.hook?.('ln_final', x);
  const rows = Int32Array.from(eot, (t, b) => b * L + t);
  return matmul(selectRows(x, rows), p.get('text_projection'));
}
