/**
 * A recurrent layer applied to symbolic tensors (functional API): its node
 * reads the sequence and, optionally, one symbolic initial state per state,
 * given either after the sequence in the input list or as `initialState`.
 */
import { SymbolicTensor } from '../symbolic.js';
import type { RecurrentCallArgs } from './recurrentLayer.js';

/**
 * The node's inputs `[x, ...initialStates]`, checked: x of rank 3, and
 * either no states or one (batch, size) tensor per entry of `stateSizes`.
 * `what` names the layer in messages.
 */
export function symbolicRecurrentInputs(inputs: SymbolicTensor | SymbolicTensor[], kwargs: RecurrentCallArgs | undefined, stateSizes: readonly number[], what: string): SymbolicTensor[] {
  const list = Array.isArray(inputs) ? inputs : [inputs];
  const given = kwargs?.initialState;
  let states: SymbolicTensor[] = list.slice(1);
  if (given != null) {
    if (states.length > 0) throw new TypeError(`${what}: give the initial states either in the input list or as initialState, not both`);
    const g = Array.isArray(given) ? given : [given];
    if (!g.every((t) => t instanceof SymbolicTensor)) throw new TypeError(`${what}: in a functional model, initialState must be symbolic tensors (outputs of other layers or inputs)`);
    states = g as SymbolicTensor[];
  }
  if (kwargs?.mask != null || kwargs?.lengths != null) {
    throw new TypeError(`${what}: in a functional model the mask comes from the layers before (Embedding({maskZero}) or Masking), not from apply()`);
  }
  const x = list[0];
  if (x.rank !== 3) throw new RangeError(`${what} input must have shape [batch, timesteps, features], got [${x.shape.join(', ')}]`);
  if (states.length > 0) {
    if (states.length !== stateSizes.length) throw new RangeError(`${what}: initialState must hold ${stateSizes.length} tensor(s) of sizes ${JSON.stringify(stateSizes)}, got ${states.length}`);
    states.forEach((st, i) => {
      const ok = st.rank === 2 && (st.shape[1] === null || st.shape[1] === stateSizes[i]);
      if (!ok) throw new RangeError(`${what}: initialState[${i}] must have shape [batch, ${stateSizes[i]}], got [${st.shape.join(', ')}]`);
    });
  }
  return [x, ...states];
}
