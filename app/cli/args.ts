// Command-line parsing on node:util's parseArgs; every mistake becomes a UsageError, which the
// CLI reports on stderr with exit code 2.
import { parseArgs, ParseArgsConfig } from 'util';

export class UsageError extends Error {
  /** showHelp: whether the report points to --help (not for a flag whose value is fine but whose target is unusable). */
  constructor(
    message: string,
    readonly showHelp = true,
  ) {
    super(message);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | undefined>;

/** The flags of `args` (no positionals); unknown flags and missing values are UsageErrors. */
export function parseFlags(args: string[], options: Options): Values {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values as Values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function positiveInteger(flag: string, text: string | boolean | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`--${flag} must be a positive integer, got '${text}'`);
  return value;
}

export function positiveNumber(flag: string, text: string | boolean | undefined): number | null {
  if (text === undefined) return null;
  const value = Number(text);
  if (!(Number.isFinite(value) && value > 0)) throw new UsageError(`--${flag} must be a positive number, got '${text}'`);
  return value;
}

export function seedValue(flag: string, text: string | boolean | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new UsageError(`--${flag} must be an integer from 0 to 4294967295, got '${text}'`);
  return value;
}

/** One of `choices`, matched case-insensitively and returned as spelled in `choices`. */
export function choice<T extends string>(flag: string, text: string | boolean | undefined, choices: readonly T[], fallback: T): T {
  if (text === undefined) return fallback;
  const found = choices.find((candidate) => candidate.toLowerCase() === String(text).toLowerCase());
  if (found === undefined) throw new UsageError(`--${flag} must be one of ${choices.join(', ')}, got '${text}'`);
  return found;
}
