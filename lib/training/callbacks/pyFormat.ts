/**
 * Python's number formatting, for the two places Keras users expect it:
 * ModelCheckpoint's file names (`'ckpt-{epoch:02d}-{val_loss:.4f}'`, Python
 * `str.format`) and CSVLogger's values (Python `repr(float)`).
 */

/** Python `repr(float)`: shortest round-trip digits, `1e-05`, `3.0`, `nan`, `inf`. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const [mant, expStr] = Math.abs(x).toExponential().split('e');
  const exp = Number(expStr);
  const digits = mant.replace('.', '');
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const int = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const frac = digits.slice(exp + 1);
  return `${sign}${int}.${frac === '' ? '0' : frac}`;
}

/** Python's exponent notation: `1.2340e-03`. */
function expNotation(x: number, precision: number, upper: boolean): string {
  const [m, e] = x.toExponential(precision).split('e');
  const n = Number(e);
  const s = `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  return upper ? s.toUpperCase() : s;
}

/** Python's general format ('g'): fixed or exponent, trailing zeros dropped unless `alt`. */
function generalNotation(x: number, precision: number, upper: boolean, alt: boolean): string {
  const p = precision === 0 ? 1 : precision;
  if (x === 0) return alt ? (0).toFixed(p - 1) : '0';
  const exp = Number(x.toExponential(p - 1).split('e')[1]);
  let s: string;
  if (exp >= -4 && exp < p) {
    s = x.toFixed(p - 1 - exp);
    if (!alt && s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  } else {
    s = expNotation(x, p - 1, upper);
    if (!alt) s = s.replace(/\.?0+e/, 'e').replace(/\.?0+E/, 'E');
  }
  return s;
}

const SPEC = /^(?:(.)?([<>=^]))?([+\- ])?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([deEfFgG%s])?$/;

/**
 * Python `format(value, spec)` for numbers: fill/align, sign, `0`, width,
 * grouping, precision and the types d e E f F g G % (and none). `isInt`
 * says whether the value is a Python int (epoch, batch) or a float (logs).
 */
export function pyFormatNumber(value: number, spec: string, isInt: boolean): string {
  const m = SPEC.exec(spec);
  if (!m) throw new TypeError(`invalid format spec ${JSON.stringify(spec)}`);
  const [, fillChar, align, signOpt, alt, zero, widthStr, grouping, precStr, type] = m;
  const precision = precStr === undefined ? undefined : Number(precStr);
  const neg = value < 0 || Object.is(value, -0);
  const x = Math.abs(value);
  let body: string;
  if (Number.isNaN(value)) body = 'nan';
  else if (!Number.isFinite(value)) body = 'inf';
  else {
    switch (type) {
      case 'd':
        if (!Number.isInteger(value)) throw new TypeError(`format code 'd' needs an integer, got ${value}`);
        body = String(x);
        break;
      case 'f':
      case 'F':
        body = x.toFixed(precision ?? 6);
        break;
      case 'e':
      case 'E':
        body = expNotation(x, precision ?? 6, type === 'E');
        break;
      case 'g':
      case 'G':
        body = generalNotation(x, precision ?? 6, type === 'G', alt !== undefined);
        break;
      case '%':
        body = `${(x * 100).toFixed(precision ?? 6)}%`;
        break;
      default:
        if (isInt && Number.isInteger(value)) body = String(x);
        else if (precision !== undefined) body = generalNotation(x, precision, false, false);
        else body = pyFloatRepr(x);
    }
  }
  if (type === 'F' || type === 'E' || type === 'G') body = body.toUpperCase();
  const digits = grouping ? /^(\d+)(.*)$/.exec(body) : null;
  if (digits) body = digits[1].replace(/\B(?=(\d{3})+$)/g, grouping as string) + digits[2];
  const sign = neg && !Number.isNaN(value) ? '-' : signOpt === '+' ? '+' : signOpt === ' ' ? ' ' : '';
  const width = widthStr === undefined ? 0 : Number(widthStr);
  const fill = fillChar ?? (zero && !align ? '0' : ' ');
  const how = align ?? (zero ? '=' : '>');
  const pad = Math.max(0, width - sign.length - body.length);
  switch (how) {
    case '<':
      return sign + body + fill.repeat(pad);
    case '^':
      return fill.repeat(Math.floor(pad / 2)) + sign + body + fill.repeat(pad - Math.floor(pad / 2));
    case '=':
      return sign + fill.repeat(pad) + body;
    default:
      return fill.repeat(pad) + sign + body;
  }
}

/**
 * Python `template.format(**values)` for number fields: `{name}`,
 * `{name:spec}`, `{{` and `}}`. A field not in `values` throws, naming the
 * fields that are there (Keras raises KeyError).
 */
export function pyFormat(template: string, values: Record<string, number>, ints: ReadonlySet<string> = new Set()): string {
  checkTemplate(template);
  return template.replace(FIELD, (whole, name: string | undefined, spec: string | undefined) => {
    if (whole === '{{') return '{';
    if (whole === '}}') return '}';
    const key = name as string;
    if (!(key in values)) throw new RangeError(`cannot fill {${key}} in ${JSON.stringify(template)}: the values are ${Object.keys(values).join(', ')}`);
    return pyFormatNumber(values[key], spec ?? '', ints.has(key));
  });
}

const FIELD = /\{\{|\}\}|\{([^{}:!]*)(?:![rsa])?(?::([^{}]*))?\}/g;

/** Throws unless `template` is a valid Python format string of named fields with number specs. */
export function checkTemplate(template: string): void {
  for (const m of template.matchAll(FIELD)) {
    const [whole, name, spec] = m;
    if (whole === '{{' || whole === '}}') continue;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name ?? '')) throw new TypeError(`${JSON.stringify(template)}: field ${JSON.stringify(whole)} needs a name like {epoch} or {val_loss:.4f}`);
    if (spec !== undefined && !SPEC.test(spec)) throw new TypeError(`${JSON.stringify(template)}: invalid format spec ${JSON.stringify(spec)} in ${whole}`);
  }
  if (/[{}]/.test(template.replace(FIELD, ''))) throw new TypeError(`${JSON.stringify(template)}: a single '{' or '}' (write {{ or }} for a brace)`);
}
