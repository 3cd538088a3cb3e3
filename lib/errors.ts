// Coded errors: every failure convkit reports is a ConvkitError whose `code` says what kind of
// mistake it was, and whose message names the argument, what was expected and what was given.
import { ERROR_CODES, ErrorCode } from './generated/boundary';

// The codes are defined once, in schema/boundary.json, for this file and the C++ side alike.
export type { ErrorCode };

const KNOWN_CODES: ReadonlySet<string> = new Set<string>(ERROR_CODES);

export class ConvkitError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConvkitError';
    this.code = code;
  }
}

/** Short, readable rendering of any value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) {
    const shown = value.slice(0, 8).map(describe).join(', ');
    return value.length > 8 ? `[${shown}, ... (${value.length} items)]` : `[${shown}]`;
  }
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as { length?: number }).length ?? value.byteLength})`;
  if (typeof value === 'function') return 'a function';
  const ctor = (value as object).constructor;
  return ctor && ctor !== Object ? `a ${ctor.name}` : 'an object';
}

/** `op: what must be expected, got actual`, the shape of every convkit message. */
export function fail(code: ErrorCode, op: string, what: string, expected: string, actual: unknown): never {
  throw new ConvkitError(code, `${op}: ${what} must be ${expected}, got ${describe(actual)}`);
}

/** Turns an error thrown by the native addon into a ConvkitError with the same code and message. */
export function fromNative(error: unknown): ConvkitError {
  if (error instanceof ConvkitError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === 'string' && KNOWN_CODES.has(code)) return new ConvkitError(code as ErrorCode, message, { cause: error });
  return new ConvkitError('ERR_INTERNAL', `native error: ${message}`, { cause: error });
}
