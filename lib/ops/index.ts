// The public ops, one file per op family (conv, pool, pad, linear), each with its plans and its
// sync functions; async.ts runs the same plans off the JS thread, run.ts holds the machinery
// both share.
export { asyncOps } from './async';
export type { AsyncOps } from './async';
export { conv2d, conv2dBackward, conv2dBackwardFilter, conv2dBackwardInput, conv2dForward, conv2dPlan, packConv2dWeights } from './conv';
export type { Conv2dForwardResult, Conv2dGradients, Conv2dPass, Conv2dPassPlan, Conv2dPlan, Conv2dWeights, PackConv2dOptions } from './conv';
export { linear, linearBackward, linearForward } from './linear';
export type { LinearForwardResult, LinearGradients } from './linear';
export { zeroPad } from './pad';
export type { ZeroPadOptions } from './pad';
export { avgPool2d, maxPool2d, pool2dBackward, pool2dForward, pool2dPlan } from './pool';
export type { Pool2dForwardOptions, Pool2dForwardResult, Pool2dPass, Pool2dPassPlan, Pool2dPlan } from './pool';
export { buildInfo, getNumThreads, isa, setNumThreads, supportedIsas } from './runtime';
export type { BackwardOptions, BiasLike, ParameterGradients } from './shared';
