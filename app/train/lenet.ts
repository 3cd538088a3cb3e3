// LeNet-5 as in the issue: conv 1->6 5x5 pad 2, ReLU, max-pool 2; conv 6->16 5x5, ReLU,
// max-pool 2; 400 -> 120 -> 84 -> 10 with ReLUs between (in place: nothing else reads their inputs).
import { nn } from '#lib';
import type { Layout } from '#lib';

const { Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential } = nn;

export function lenet5(layout: Layout, options: nn.ParameterOptions = {}): nn.Sequential {
  return new Sequential(
    new Conv2d(1, 6, 5, { ...options, layout, padding: 2 }),
    new ReLU({ inplace: true }),
    new MaxPool2d(2, { layout }),
    new Conv2d(6, 16, 5, { ...options, layout }),
    new ReLU({ inplace: true }),
    new MaxPool2d(2, { layout }),
    new Flatten(),
    new Linear(400, 120, options),
    new ReLU({ inplace: true }),
    new Linear(120, 84, options),
    new ReLU({ inplace: true }),
    new Linear(84, 10, options),
  );
}
