"""``naswot``: log |det K| of the Hamming-similarity kernel of the batch's ReLU activation codes.

Mellor et al., *Neural Architecture Search without Training*, ICML 2021, §3 (the v2 score):
each image's binary code c ∈ {0, 1}ᴺᴬ says which ReLU units it switches on; K_ij = N_A −
d_H(c_i, c_j), which is c_i·c_j + (1−c_i)·(1−c_j), and the score is log |det K|.  Checked
against the authors' ``score_networks.py`` and ``scores.py`` (BayesWatch/nas-without-training):
a forward hook on every ReLU module whose unit reaches the output (they mark modules
visited by a backward pass; here: the ReLU outputs the logits' graph uses), codes
``input > 0`` (for a ReLU the same as ``output > 0``), K summed over the ReLU layers (the
same as one code of all units concatenated), ``slogdet``'s log-absolute-determinant, the
network in training mode.  K is built in float64, as their numpy arrays are.  A batch whose
codes repeat (two images the network cannot tell apart) makes K singular: the score is −inf.
"""

from __future__ import annotations

import torch
from torch import nn

from snas.proxies.base import NetworkProxy, logits


class Naswot(NetworkProxy):
    name = "naswot"
    title = "log |det K|, K = Hamming similarity of ReLU codes"
    source = "Mellor et al., ICML 2021; checked against BayesWatch/nas-without-training score_networks.py, scores.py"

    def score_network(self, network: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
        outputs: list[torch.Tensor] = []
        handles = [module.register_forward_hook(lambda _m, _i, out: outputs.append(out))
                   for module in network.modules() if isinstance(module, nn.ReLU)]
        try:  # the images require grad so that every ReLU output is in the graph (theirs do too)
            out = logits(network, images.detach().requires_grad_())
        finally:
            for handle in handles:
                handle.remove()
        reached = torch.autograd.grad(out.sum(), outputs, allow_unused=True) if outputs else []
        codes = [(o.detach() > 0).flatten(1) for o, g in zip(outputs, reached) if g is not None]
        units = torch.cat(codes, dim=1) if codes else torch.zeros((len(images), 0), dtype=torch.bool)
        return log_abs_det(hamming_kernel(units))


def hamming_kernel(codes: torch.Tensor) -> torch.Tensor:
    """K = c·cᵀ + (1−c)·(1−c)ᵀ of binary codes ``(N, units)``: units on which two images agree."""
    c = codes.to(torch.float64)
    return c @ c.T + (1 - c) @ (1 - c).T


def log_abs_det(kernel: torch.Tensor) -> float:
    return float(torch.linalg.slogdet(kernel).logabsdet)
