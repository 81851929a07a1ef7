"""The fast path: torch's fused kernels where they are fastest, and a GRU whose BPTT is written out by hand.

Nothing here records anything; it only has to be exact (tests/test_cells.py checks the GRU's outputs and
gradients against torch.nn.GRU) and fast (bench/). Why a hand-written GRU: on a 2-core CPU
torch.nn.GRU's backward is autograd over many small per-step ops; this one does three ops per step in
the backward loop and leaves the weight gradient to one large matmul after it, as cuDNN does.
"""
from __future__ import annotations

import torch
from torch import Tensor, _VF


def torch_kernel(family: str, nonlinearity: str, x: Tensor, h0: Tensor, c0: Tensor | None,
                 flat: list[Tensor], bias: bool, num_layers: int, dropout: float, train: bool):
    """torch.nn.RNN/LSTM/GRU's own kernel over our parameters (batch-first); returns (out, h_n, c_n)."""
    args = (flat, bias, num_layers, dropout, train, False, True)
    if family == "lstm":
        out, h_n, c_n = _VF.lstm(x, (h0, c0), *args)
        return out, h_n, c_n
    kernel = {"gru": _VF.gru, "tanh": _VF.rnn_tanh, "relu": _VF.rnn_relu}
    out, h_n = kernel["gru" if family == "gru" else nonlinearity](x, h0, *args)
    return out, h_n, None


class GRUBPTT(torch.autograd.Function):
    """One GRU layer over a whole sequence, time-major, with backpropagation through time written out.

    Inputs: gi (T, B, 3H) = W_ih x_t + b_ih for every t, h0 (B, H), weight_hh (3H, H), bias_hh (3H,).
    Forward, per step (the equations of cells.gru_step):
        p_t = [a_r, a_z, W_hn h + b_hn] = addmm(c_t, h_{t-1}, W_hh^T), c_t = [gi_r + b_hr, gi_z + b_hz, b_hn]
        r, z = σ(p_t[:2H]);  n = tanh(gi_n + r ⊙ p_t[2H:]);  h_t = n + z ⊙ (h_{t-1} - n)
    Backward, per step, given δ_t = dL/dh_t (direct gradient plus what flows back from t+1):
        dn_pre = δ ⊙ (1 - z) ⊙ (1 - n²)          dz_pre = δ ⊙ (h_t - n) ⊙ (1 - z)    (as h_t - n = z(h_{t-1} - n))
        dr_pre = dn_pre ⊙ gh_n ⊙ r ⊙ (1 - r)     dgh = [dr_pre, dz_pre, dn_pre ⊙ r]
    (each δ ⊙ a factor the forward pass fixed, so the factors are computed for every t at once, before the loop)
        δ_{t-1} = dL_{t-1}/dh_{t-1} + δ ⊙ z + dgh W_hh
    and after the loop dW_hh = Σ_t dgh_t^T h_{t-1}, db_hh = Σ_t dgh_t.
    """

    @staticmethod
    def forward(ctx, gi: Tensor, h0: Tensor, weight_hh: Tensor, bias_hh: Tensor) -> Tensor:
        T, B, G = gi.shape
        H = G // 3
        c = gi + bias_hh  # (T, B, 3H): the input part of r, z plus every bias
        c[..., 2 * H:] = bias_hh[2 * H:]
        p, rz = gi.new_empty(T, B, G), gi.new_empty(T, B, 2 * H)
        n, out = gi.new_empty(T, B, H), gi.new_empty(T, B, H)
        w_t = weight_hh.t()
        c_, p_, rz_, n_, out_ = c.unbind(0), p.unbind(0), rz.unbind(0), n.unbind(0), out.unbind(0)
        p_rz, p_n = p[..., :2 * H].unbind(0), p[..., 2 * H:].unbind(0)
        r_, z_ = rz[..., :H].unbind(0), rz[..., H:].unbind(0)
        gi_n = gi[..., 2 * H:].unbind(0)
        h = h0
        for t in range(T):
            torch.addmm(c_[t], h, w_t, out=p_[t])
            torch.sigmoid(p_rz[t], out=rz_[t])
            torch.addcmul(gi_n[t], r_[t], p_n[t], out=n_[t]).tanh_()
            h = torch.lerp(n_[t], h, z_[t], out=out_[t])
        ctx.save_for_backward(h0, weight_hh, p, rz, n, out)
        return out

    @staticmethod
    def backward(ctx, dout: Tensor):
        h0, weight_hh, p, rz, n, out = ctx.saved_tensors
        T, B, H = out.shape
        dout = dout.contiguous()
        # every pre-activation gradient is δ_t times a factor known from the forward pass, computed for all t at
        # once: dgh_t = δ_t ⊙ f_t with f = [A ⊙ gh_n ⊙ r(1 - r), (h_t - n)(1 - z), A ⊙ r], A = (1 - z)(1 - n²)
        r, z = rz[..., :H], rz[..., H:]
        omz = torch.rsub(z, 1.0)
        a = omz * torch.addcmul(torch.ones_like(n), n, n, value=-1.0)
        f = p.new_empty(T, B, 3, H)
        torch.mul(a, r, out=f[:, :, 2])
        torch.mul(a, p[..., 2 * H:] * (r - r * r), out=f[:, :, 0])
        torch.mul(out - n, omz, out=f[:, :, 1])
        dgh, dh_all = p.new_empty(T, B, 3, H), p.new_empty(T, B, H)
        f_, dgh3_, dh_ = f.unbind(0), dgh.unbind(0), dh_all.unbind(0)
        dgh_, z_ = dgh.view(T, B, 3 * H).unbind(0), z.unbind(0)
        dh_[T - 1].copy_(dout[T - 1])
        for t in range(T - 1, -1, -1):  # three ops per step
            dh = dh_[t]
            torch.mul(f_[t], dh.unsqueeze(1), out=dgh3_[t])
            carry = torch.addcmul(dout[t - 1], dh, z_[t]) if t > 0 else dh * z_[t]
            dh_prev = torch.addmm(carry, dgh_[t], weight_hh, out=dh_[t - 1] if t > 0 else None)
        g = dgh.view(T * B, 3 * H)
        d_weight = torch.addmm(g[:B].t() @ h0, g[B:].t(), out[:-1].reshape(-1, H)) if T > 1 else g[:B].t() @ h0
        d_gi = torch.cat([g.view(T, B, 3 * H)[..., :2 * H], dh_all * a], -1)  # dL/dgi_n = δ (1 - z)(1 - n²)
        return d_gi, dh_prev, d_weight, g.sum(0)


def gru_layer(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
              b_hh: Tensor | None) -> Tensor:
    """One GRU layer, batch-first x (B, T, D) -> (B, T, H), on the hand-written BPTT."""
    B, T, D = x.shape
    xt = x.transpose(0, 1).reshape(T * B, D)
    gi = (torch.addmm(b_ih, xt, w_ih.t()) if b_ih is not None else xt @ w_ih.t()).view(T, B, -1)
    if b_hh is None:
        b_hh = w_hh.new_zeros(w_hh.shape[0])
    return GRUBPTT.apply(gi, h0, w_hh, b_hh).transpose(0, 1)
