"""Peak memory of one training step of a small network, next to its estimate (run as a script).

Prints one JSON line: the estimate and the real peak, the growth of this process's resident
set (VmHWM after resetting it through /proc/self/clear_refs) from before the network is built
until after the optimiser step.
"""

import json
import sys

import torch

from snas.catalogue import CATALOGUE
from snas.relax import EdgeSample
from snas.spaces.darts.childnet import ChildNetwork
from snas.spaces.darts.memory import child_memory, supernet_memory
from snas.spaces.darts.primitives import PRIMITIVES, cell_edges
from snas.spaces.darts.supernet import SuperNet


def status(key: str) -> int:
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) * 1024 for line in lines if line.startswith(key))


def main(spec: dict) -> None:
    torch.set_num_threads(1)
    batch, side = spec.pop("batch"), spec["image_size"]
    x, y = torch.randn(batch, 3, side, side), torch.zeros(batch, dtype=torch.long)
    weights = torch.softmax(torch.randn(len(cell_edges()), len(PRIMITIVES), requires_grad=True), -1)
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # reset VmHWM to the current resident set
    before = status("VmRSS:")
    if "genotype" in spec:
        genotype = CATALOGUE[spec.pop("genotype")].genotype
        estimate = child_memory(genotype, **spec)
        net = ChildNetwork(genotype, **spec).train()
        logits = net(x, 0.2, torch.Generator())[0]
    else:
        estimate = supernet_memory(**spec)
        net = SuperNet(spec["channels"], spec["num_classes"], spec["layers"]).train()
        logits = net(x, [EdgeSample(weights)], [EdgeSample(weights)], drop_prob=0.3, generator=torch.Generator())
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    torch.nn.functional.cross_entropy(logits, y).backward()
    optimizer.step()
    print(json.dumps({"estimate": estimate.training_bytes(batch, optimizer_slots=1),
                      "peak": status("VmHWM:") - before}))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
