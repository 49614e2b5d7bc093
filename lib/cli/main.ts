/**
 * The `gatedrnn` command line (bin/gatedrnn.cjs runs `run(process.argv)`):
 *
 *   gatedrnn demo [--out DIR]                 the main job on the bundled CO2 series
 *   gatedrnn train --data FILE --task T ...   train a forecaster / classifier / text classifier
 *   gatedrnn predict --model DIR --input FILE --output FILE   resumable, shardable batch inference
 *   gatedrnn merge --output FILE PARTS...     join shard outputs in order
 *   gatedrnn evaluate --model DIR --data FILE metrics on a labelled file (same preprocessing as train)
 *   gatedrnn info                             backend, BLAS, threads
 *
 * Exit codes: 0 ok, 1 job error, 2 usage error (130: predict stopped by
 * SIGINT/SIGTERM after its current batch, resumable). Errors go to stderr as one
 * line; `--verbose` (or DEBUG=1) adds the stack trace.
 */
import { Command, CommanderError, Option } from 'commander';
import { version } from '../version.js';
import { EXIT_OK, EXIT_USAGE, exitCodeOf, formatError, InterruptedError, UsageError } from './errors.js';
import { DEMO_DEFAULTS, runDemo } from './demo.js';
import { runInfo } from './info.js';
import { parseIntOption } from './options.js';
import { addTrainOptions, runTrain } from './train.js';
import { addPredictOptions, runPredictCommand } from './predict.js';
import { runMerge } from './merge.js';
import { addEvaluateOptions, runEvaluateCommand } from './evaluate.js';

function program(): Command {
  const p = new Command('gatedrnn')
    .description('GRU/LSTM networks for Node.js: train, forecast and classify from the command line')
    .version(version, '-V, --version')
    .option('--verbose', 'print stack traces with errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });

  p.command('demo')
    .description('train a GRU forecaster on the bundled Mauna Loa CO2 series and score it against naive forecasts (no downloads)')
    .option('--out <dir>', `output directory (default ${DEMO_DEFAULTS.out})`)
    .option('--seed <n>', `random seed (default ${DEMO_DEFAULTS.seed})`)
    .option('--epochs <n>', `most epochs; early stopping usually ends sooner (default ${DEMO_DEFAULTS.epochs})`)
    .option('-q, --quiet', 'no progress output')
    .action(async (o: { out?: string; seed?: string; epochs?: string; quiet?: boolean }) => {
      await runDemo({
        out: o.out ?? DEMO_DEFAULTS.out,
        seed: o.seed === undefined ? DEMO_DEFAULTS.seed : parseIntOption(o.seed, '--seed', 0),
        epochs: o.epochs === undefined ? DEMO_DEFAULTS.epochs : parseIntOption(o.epochs, '--epochs', 1),
        quiet: o.quiet ?? false,
      });
    });

  addTrainOptions(p.command('train').description('train a model from CSV or JSON Lines data; saves DIR/model (model.json + preprocessing.json), checkpoints, metrics')).action(
    async (_o: unknown, cmd: Command) => {
      await runTrain(cmd);
    },
  );

  addPredictOptions(p.command('predict').description('batch inference: one JSON line of predictions per input row, in order; resumable and shardable')).action(
    async (_o: unknown, cmd: Command) => {
      await runPredictCommand(cmd);
    },
  );

  addEvaluateOptions(p.command('evaluate').description('metrics of a trained model on a labelled file (forecast: RMSE/MAE against naive forecasts; classify/text: loss, accuracy, confusion matrix)')).action(
    async (_o: unknown, cmd: Command) => {
      await runEvaluateCommand(cmd);
    },
  );

  p.command('merge')
    .description('join the outputs of predict shards in input order (checks that they are complete and contiguous)')
    .requiredOption('--output <file>', 'the merged output file')
    .option('--shards <dir>', 'take every shard output recorded in DIR (their .job.json files)')
    .addOption(new Option('--force', 'merge part files even without their .job.json records (no completeness check)'))
    .argument('[parts...]', 'shard output files, in any order')
    .action(async (parts: string[], o: { output: string; shards?: string; force?: boolean }) => {
      await runMerge({ output: o.output, parts, shardsDir: o.shards ?? null, force: o.force ?? false });
    });

  p.command('info')
    .description('version, backend (native or TypeScript) and why, BLAS, threads, CPU features')
    .option('--json', 'as JSON')
    .action((o: { json?: boolean }) => runInfo({ json: o.json ?? false }));

  return p;
}

/** Runs the CLI on `argv` (process.argv form) and resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  const p = program();
  try {
    await p.parseAsync(argv);
    return EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT_OK;
      // commander has printed the message already.
      return EXIT_USAGE;
    }
    const prefix = e instanceof UsageError ? 'gatedrnn: usage: ' : e instanceof InterruptedError ? 'gatedrnn: ' : 'gatedrnn: error: ';
    process.stderr.write(`${prefix}${formatError(e, verbose)}\n`);
    return exitCodeOf(e);
  }
}

/** The bin entry: runs and sets the process's exit code. */
export function run(argv: string[] = process.argv): void {
  main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`gatedrnn: internal error: ${formatError(e, true)}\n`);
      process.exitCode = 1;
    },
  );
}
