"""DARTS's second-order architecture gradient (one unrolled SGD step of θ).

``∇_α L_val(θ', α) − η · ∇²_{α,θ} L_train(θ, α) · ∇_θ' L_val(θ', α)`` with
``θ' = θ − η (momentum · v + ∇_θ L_train(θ, α) + wd · θ)``; the Hessian-vector product is a
central finite difference with step ``0.01 / ‖∇_θ' L_val‖``, as in the DARTS paper.  The
network is evaluated with substituted weights through ``torch.func.functional_call`` on
copies of the BatchNorm buffers, so no model copy is made and the real running statistics
only see the ordinary training forward.  η, momentum, weight decay and the momentum
buffers ``v`` are those of the learner's θ optimiser (what its next real step will use).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import torch

from snas.methods.steps import Batch, Learner

_FD_SCALE = 0.01


def unrolled_arch_gradient(learner: Learner, train_batch: Batch, val_batch: Batch, tau: float) -> bool:
    """Set ``.grad`` of α to the second-order gradient; False if any loss is NaN/inf."""
    model, optimizer, alphas = learner.model, learner.weight_optimizer, learner.alphas
    names = [n for n, _ in model.named_parameters()]
    params = dict(model.named_parameters())
    buffers = {n: b.clone() for n, b in model.named_buffers()}
    group = optimizer.param_groups[0]
    eta, momentum, decay = group["lr"], group["momentum"], group["weight_decay"]
    x, y = train_batch
    xv, yv = val_batch

    def with_weights(weights: dict[str, torch.Tensor]) -> Callable[..., torch.Tensor]:
        def forward(*args: object) -> torch.Tensor:
            return cast(torch.Tensor, torch.func.functional_call(model, {**weights, **buffers}, args))
        return forward

    objective, *_ = learner.loss(x, y, tau)
    if not torch.isfinite(objective):
        return False
    grads = torch.autograd.grad(objective, [params[n] for n in names])
    unrolled = {}
    for name, grad in zip(names, grads):
        p = params[name].detach()
        velocity = optimizer.state.get(params[name], {}).get("momentum_buffer")
        step = grad + decay * p + (momentum * velocity if velocity is not None else 0.0)
        unrolled[name] = (p - eta * step).requires_grad_()

    val_objective, *_ = learner.loss(xv, yv, tau, forward=with_weights(unrolled))
    if not torch.isfinite(val_objective):
        return False
    grads = torch.autograd.grad(val_objective, alphas + [unrolled[n] for n in names])
    d_alpha, d_theta = grads[: len(alphas)], grads[len(alphas):]
    radius = _FD_SCALE / torch.cat([g.flatten() for g in d_theta]).norm().clamp_min(1e-12)

    def alpha_grad(sign: float) -> tuple[torch.Tensor, ...]:
        shifted = {n: params[n].detach() + sign * radius * d for n, d in zip(names, d_theta)}
        shifted_objective, *_ = learner.loss(x, y, tau, forward=with_weights(shifted))
        return torch.autograd.grad(shifted_objective, alphas)

    plus, minus = alpha_grad(1.0), alpha_grad(-1.0)
    alpha_grads = [direct - eta * (gp - gm) / (2 * radius) for direct, gp, gm in zip(d_alpha, plus, minus)]
    for alpha, grad in zip(alphas, alpha_grads):
        alpha.grad = grad
    return all(torch.isfinite(grad).all() for grad in alpha_grads)
