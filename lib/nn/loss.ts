// Softmax and cross-entropy fused: the gradient with respect to the logits is simply
// (softmax - onehot) / N, and the log-sum-exp is taken after subtracting each row's maximum so
// that large logits cannot overflow.
import { allocateOutput } from '../alloc';
import { ConvkitError, describe, fail } from '../errors';
import { checkOptions, checkTensor, dtypeOf } from '../shapes';
import { FloatArray, Tensor, TensorLike } from '../tensor';
import { takeCache } from './module';

export interface CrossEntropyLossOptions {
  /** 'mean' (default, as PyTorch) or 'sum' over the batch. */
  reduction?: 'mean' | 'sum';
}

export class CrossEntropyLoss {
  readonly reduction: 'mean' | 'sum';
  private gradient: Tensor | null = null;

  constructor(options?: CrossEntropyLossOptions) {
    const reduction = checkOptions('nn.CrossEntropyLoss', options).reduction ?? 'mean';
    if (reduction !== 'mean' && reduction !== 'sum') fail('ERR_ARG', 'nn.CrossEntropyLoss', 'options.reduction', "'mean' or 'sum'", reduction);
    this.reduction = reduction;
  }

  /**
   * The loss of logits [N, classes] against class indices (N integers in [0, classes)); keeps the
   * gradient for backward().
   */
  forward(logits: TensorLike, targets: ArrayLike<number>): number {
    const op = 'nn.CrossEntropyLoss';
    const input = checkTensor(op, 'logits', logits, '[N, classes]', 2);
    const [n, classes] = input.shape;
    if (targets === null || typeof targets !== 'object' || typeof targets.length !== 'number') {
      fail('ERR_ARG', op, 'targets', 'an array of class indices', targets);
    }
    if (targets.length !== n) throw new ConvkitError('ERR_SHAPE', `${op}: targets must have N = ${n} entries (one per row of logits), got ${targets.length}`);
    const x = input.data;
    const grad: FloatArray = allocateOutput(op, 'the gradient', dtypeOf(x) === 'float64' ? Float64Array : Float32Array, x.length);
    const scale = this.reduction === 'mean' ? 1 / n : 1;
    let total = 0;
    for (let row = 0; row < n; row++) {
      const target = targets[row];
      if (!Number.isInteger(target) || target < 0 || target >= classes) {
        fail('ERR_ARG', op, `targets[${row}]`, `an integer in [0, ${classes})`, target);
      }
      const offset = row * classes;
      let max = -Infinity;
      for (let j = 0; j < classes; j++) max = Math.max(max, x[offset + j]);
      let sum = 0;
      for (let j = 0; j < classes; j++) {
        const e = Math.exp(x[offset + j] - max);
        grad[offset + j] = e;
        sum += e;
      }
      total += max + Math.log(sum) - x[offset + target];
      const normalise = scale / sum;
      for (let j = 0; j < classes; j++) grad[offset + j] *= normalise;
      grad[offset + target] -= scale;
    }
    this.gradient = new Tensor(grad, [n, classes], input.layout ?? 'NHWC');
    return total * scale;
  }

  /** d loss / d logits of the last forward. */
  backward(): Tensor {
    const gradient = takeCache('CrossEntropyLoss', this.gradient);
    this.gradient = null;
    return gradient;
  }
}

/** How many rows of logits [N, classes] have their largest value at the target class. */
export function countCorrect(logits: TensorLike, targets: ArrayLike<number>): number {
  const input = checkTensor('nn.countCorrect', 'logits', logits, '[N, classes]', 2);
  const [n, classes] = input.shape;
  if (targets.length !== n) throw new ConvkitError('ERR_SHAPE', `nn.countCorrect: targets must have N = ${n} entries, got ${describe(targets.length)}`);
  let correct = 0;
  for (let row = 0; row < n; row++) {
    let best = 0;
    for (let j = 1; j < classes; j++) if (input.data[row * classes + j] > input.data[row * classes + best]) best = j;
    if (best === targets[row]) correct++;
  }
  return correct;
}
