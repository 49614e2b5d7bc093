/**
 * Where the package's own files are at run time: the package root (the
 * directory with gatedrnn's package.json above this file, in dist/ or lib/),
 * and the bundled data set.
 */
import fs from 'node:fs';
import path from 'node:path';

let root: string | null = null;

/** The package root: the nearest directory above this module with gatedrnn's package.json. */
export function packageRoot(): string {
  if (root) return root;
  let dir = __dirname;
  for (;;) {
    const pj = path.join(dir, 'package.json');
    try {
      const json = JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string };
      if (json.name === 'gatedrnn') return (root = dir);
    } catch {
      /* not here */
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find gatedrnn's package.json above ${__dirname}`);
    dir = up;
  }
}

/** The bundled Mauna Loa CO2 series (data/co2/co2.csv). */
export function co2DataPath(): string {
  return path.join(packageRoot(), 'data', 'co2', 'co2.csv');
}
