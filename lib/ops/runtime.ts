// The kernels' runtime: the thread pool's size and the instruction set in use.
import { callNative } from '../binding';

/** Threads of the shared kernel pool (default: the CPUs available to the process). The addon checks n. */
export function setNumThreads(n: number): void {
  callNative((binding) => binding.setNumThreads(n));
}

export function getNumThreads(): number {
  return callNative((binding) => binding.getNumThreads());
}

/** The instruction set the kernels use: 'avx512', 'avx2' or 'generic' (CONVKIT_ISA forces one). */
export function isa(): string {
  return callNative((binding) => binding.isa());
}

export function supportedIsas(): string[] {
  return callNative((binding) => binding.supportedIsas());
}

export function buildInfo(): Record<string, unknown> {
  return callNative((binding) => binding.buildInfo());
}
