// Zero padding of H and W.
import { checkOptions, checkTensor, dtypeOf, padOutputShape, padParams, Pair, resolveLayout, xAxes } from '../shapes';
import { Layout, Tensor, TensorLike } from '../tensor';
import { Plan, runSync } from './run';
import { output } from './shared';

export interface ZeroPadOptions {
  layout?: Layout;
}

export function planZeroPad(x: TensorLike, pad: Pair, options?: ZeroPadOptions): Plan<Tensor> {
  const op = 'zeroPad';
  const opts = checkOptions(op, options);
  const layout = resolveLayout(op, opts.layout, ['x', x]);
  const input = checkTensor(op, 'x', x, xAxes(layout));
  const params = padParams(op, layout, input.shape, pad);
  const y = output(op, 'output', padOutputShape(layout, params), dtypeOf(input.data), layout);
  return { calls: [['zeroPad', [input.data, y.data, params]]], result: y };
}

/** Pads H and W with zeros: `pad` rows/columns on each side (`[padH, padW]` for different amounts). */
export function zeroPad(x: TensorLike, pad: Pair, options?: ZeroPadOptions): Tensor {
  return runSync(planZeroPad(x, pad, options));
}
