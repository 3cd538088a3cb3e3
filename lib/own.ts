// Reading the caller's objects without trusting Object.prototype. With plain property access a
// polluted prototype (`Object.prototype.out = t`, `Object.prototype.layout = 'NCHW'`) would reach
// every op as if each caller had passed it, so options and tensor fields are read through these.

/**
 * Objects whose prototype chain ends without Object.prototype. Made with `new`, they stay in V8's
 * fast mode, unlike Object.create(null) dictionaries (measured 2-3x slower to fill and read).
 */
function Snapshot(): void {}
Snapshot.prototype = Object.create(null);

/**
 * A snapshot of the options' own enumerable properties on a prototype chain without
 * Object.prototype: no later read of a missing option can fall through to a polluted
 * Object.prototype, and each getter runs once.
 */
export function ownOptions<T extends object>(options: T): Partial<T> {
  // Object.assign copies exactly the own enumerable properties (getters run once).
  return Object.assign(new (Snapshot as unknown as new () => Partial<T>)(), options);
}

/**
 * value[key] when the object itself or one of its classes defines it; undefined when only
 * Object.prototype does (or value is not an object). Tensor subclasses keep their getters.
 */
export function fieldOf(value: unknown, key: string): unknown {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  if (Object.hasOwn(value, key)) return (value as Record<string, unknown>)[key];
  for (let holder: object | null = Object.getPrototypeOf(value); holder !== null && holder !== Object.prototype; holder = Object.getPrototypeOf(holder)) {
    if (Object.hasOwn(holder, key)) return (value as Record<string, unknown>)[key];
  }
  return undefined;
}
