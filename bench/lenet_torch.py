"""PyTorch side of the LeNet-5 training comparison (bench/lenet.js): the same model, batch and
optimiser as `convkit train`, timed over steps on fixed random data. Prints one JSON line."""
import json
import sys
import time

import torch
from torch import nn


def main():
    threads, layout, steps = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    images = torch.rand(64, 1, 28, 28)
    labels = torch.randint(0, 10, (64,))
    if layout == 'channels_last':
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss_fn(model(images), labels).backward()
        optimizer.step()

    for _ in range(max(5, steps // 10)):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = time.perf_counter() - start
    print(json.dumps({'threads': threads, 'layout': layout, 'imagesPerSecond': steps * 64 / seconds,
                      'torch': torch.__version__}))


if __name__ == '__main__':
    main()
