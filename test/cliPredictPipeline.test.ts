/**
 * What makes the predict job fast, and that it changes nothing it writes:
 * it parses the next block of rows while the model computes the current one
 * (the forward runs off the main thread), and reads CSV rows of plain
 * numbers through JSON.parse. What it writes (order, resume, bad rows,
 * shards) is in cliPredict.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { layers, LayersModel, sequential } from '../lib/index';
import { runPredictJob } from '../lib/cli/predict/job';
import { RowReader } from '../lib/cli/predict/rows';

let tmp: string;
let modelDir: string;
let input: string;
const WINDOW = 6;
const BATCH = 8;
const BLOCKS = 6;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gatedrnn-predict-pipeline-'));
  modelDir = path.join(tmp, 'model');
  const model = sequential({ layers: [layers.gru({ units: 4, inputShape: [null, 1], seed: 1 }), layers.dense({ units: 1, seed: 2 })] });
  await model.save(modelDir);
  const prep = {
    format: 'gatedrnn-preprocessing',
    version: 1,
    createdBy: 'test',
    task: 'forecast',
    columns: ['v'],
    target: 'v',
    targetIndex: 0,
    window: WINDOW,
    horizon: 1,
    difference: true,
    inputMean: [0],
    inputStd: [1],
    outputMean: [0],
    outputStd: [1],
  };
  fs.writeFileSync(path.join(modelDir, 'preprocessing.json'), JSON.stringify(prep));
  input = path.join(tmp, 'in.jsonl');
  const rows = Array.from({ length: BATCH * BLOCKS }, (_, i) => JSON.stringify({ id: i, x: Array.from({ length: WINDOW }, (_, t) => i + t * 0.5) }));
  fs.writeFileSync(input, `${rows.join('\n')}\n`);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('predict job pipeline', () => {
  const originalPredict = LayersModel.prototype.predict;
  const originalRead = RowReader.prototype.read;
  afterEach(() => {
    LayersModel.prototype.predict = originalPredict;
    RowReader.prototype.read = originalRead;
  });

  it('parses the next block while the model computes the current one', async () => {
    // A slow model (20 ms per block, the main thread free meanwhile) and a
    // log of when each call runs.
    const calls: Array<{ start: number; end: number }> = [];
    const reads: number[] = [];
    LayersModel.prototype.predict = async function (this: LayersModel, ...args: Parameters<LayersModel['predict']>) {
      const call = { start: performance.now(), end: Infinity };
      calls.push(call);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const y = await originalPredict.apply(this, args);
      call.end = performance.now();
      return y;
    };
    RowReader.prototype.read = function (this: RowReader, text: string) {
      reads.push(performance.now());
      return originalRead.call(this, text);
    };
    const output = path.join(tmp, 'out.jsonl');
    const r = await runPredictJob({ model: modelDir, input, output, format: null, lines: null, shard: null, batchSize: BATCH, skipBad: false, rejects: null, restart: true, quiet: true });
    expect(r.complete).toBe(true);
    expect(calls).toHaveLength(BLOCKS);
    expect(reads).toHaveLength(BATCH * BLOCKS);
    // Block k+1's rows are read while block k is computed (all blocks but the last).
    for (let k = 0; k < BLOCKS - 1; k++) {
      const next = reads.slice((k + 1) * BATCH, (k + 2) * BATCH);
      expect(next.every((t) => t > calls[k].start && t < calls[k].end), `block ${k + 1} parsed during block ${k}'s forward`).toBe(true);
    }
    const out = fs.readFileSync(output, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(out.map((o) => o.id)).toEqual(Array.from({ length: BATCH * BLOCKS }, (_, i) => i));
  });

  it('stops at a bad row after writing the rows before it, with a block in flight', async () => {
    const bad = path.join(tmp, 'bad.jsonl');
    const rows = fs.readFileSync(input, 'utf8').trim().split('\n');
    rows[BATCH + 3] = '{"id": "broken", "x": [1, 2]}';
    fs.writeFileSync(bad, `${rows.join('\n')}\n`);
    const output = path.join(tmp, 'bad-out.jsonl');
    await expect(runPredictJob({ model: modelDir, input: bad, output, format: null, lines: null, shard: null, batchSize: BATCH, skipBad: false, rejects: null, restart: true, quiet: true })).rejects.toThrow(
      new RegExp(`line ${BATCH + 4}: 2 steps`),
    );
    expect(fs.readFileSync(output, 'utf8').trim().split('\n')).toHaveLength(BATCH + 3);
  });
});

describe('predict CSV rows', () => {
  // Two features per step, any number of steps, z-scored with mean 1 and std 2.
  const prep = {
    format: 'gatedrnn-preprocessing',
    version: 1,
    createdBy: 'test',
    task: 'classify',
    features: 2,
    timesteps: null,
    mean: [1, 1],
    std: [2, 2],
    classes: ['a', 'b'],
    padValue: null,
    label: 'label',
  } as const;
  const withId = new RowReader(prep as never, ['id', 'a0', 'b0', 'a1', 'b1']);
  const withoutId = new RowReader(prep as never, ['a0', 'b0', 'a1', 'b1']);
  const values = (r: ReturnType<RowReader['read']>): number[] | string => (r.ok ? Array.from(r.values) : r.error);

  it('reads plain numbers (the JSON fast path) as the general parser does', () => {
    expect(withId.read('r1,1,3,5,-1')).toMatchObject({ ok: true, id: 'r1', steps: 2 });
    expect(values(withId.read('r1,1,3,5,-1'))).toEqual([0, 1, 2, -1]);
    expect(values(withId.read(' r2 , 1.5 ,\t-2e-3 , 3 , 4 '))).toEqual(Array.from(Float32Array.from([0.25, (-2e-3 - 1) / 2, 1, 1.5])));
    expect(withId.read(' r2 , 1.5 , -2e-3 , 3 , 4 ')).toMatchObject({ id: 'r2' });
    expect(values(withoutId.read('1,3,5,-1'))).toEqual([0, 1, 2, -1]);
    // Numbers JSON does not write, and trailing empty fields (a shorter sequence): the general path.
    expect(values(withId.read('r3,.5,3,5.,-1'))).toEqual([-0.25, 1, 2, -1]);
    expect(withId.read('r4,1,3,,')).toMatchObject({ ok: true, steps: 1 });
  });

  it('reports bad rows as before', () => {
    expect(values(withId.read('r5,1,x,3,4'))).toBe('column 3: "x" is not a number');
    expect(values(withId.read('r6,1,2,3'))).toBe('3 values do not make whole steps of 2 features');
    expect(values(withId.read('r7,[1],2'))).toBe('column 2: "[1]" is not a number');
    expect(values(withId.read('r8,1,1e999'))).toBe('column 3: "1e999" is not a number');
    expect(values(withoutId.read('1,,3,4'))).toBe('column 2: empty value');
    expect(values(withId.read('r9'))).toBe('no values');
  });
});
