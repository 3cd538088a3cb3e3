// convkit.nn: layers, a loss and parameter files for training CNNs on the native kernels.
export { Generator, manualSeed } from './random';
export { Module, Parameter } from './module';
export type { ParameterOptions } from './module';
export { AvgPool2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential } from './layers';
export type { Conv2dLayerOptions, LinearLayerOptions, Pool2dLayerOptions, ReLUOptions } from './layers';
export { countCorrect, CrossEntropyLoss } from './loss';
export type { CrossEntropyLossOptions } from './loss';
export { loadParameters, saveParameters } from '../serialize';
