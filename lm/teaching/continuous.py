"""The seed's continuous example: a joint density p(x, z) of GPA z and months to a job x.

The words of the bigram tables become numbers on a line, and sums become integrals:

    p(z)      a bell curve of GPAs centred at 3.3, cut to the GPA range [0, 4] and renormalised
    p(x | z)  the wait for a job at GPA z: a Gamma whose shape moves with z (a better GPA, a shorter wait)
    p(x, z) = p(x | z) p(z)                    the joint density: a surface over the (x, z) plane
    p(x)    = integral of p(x, z) over z        the marginal: no closed form, so a fine quadrature

A density is probability *per month*: p(x = 4 | z = 3.5) ≈ 0.3 per month, so the probability of a wait
between 3.8 and 4.2 months is about 0.3 per month x 0.4 months ≈ 0.12 (the blog's rectangle); the
exact value integrates the slice, here with the Gamma's closed-form CDF.

Example:
    >>> d = GpaJobDensity()
    >>> round(d.conditional(4.0, 3.5), 4)  # the blog's p(x = 4 | z = 3.5), per month
    0.2965
    >>> round(d.rectangle_between(3.8, 4.2, 3.5), 4), round(d.prob_between(3.8, 4.2, 3.5), 4)
    (0.1186, 0.1181)
    >>> z, x = d.sample(3, seed=0, device="cpu")  # two steps: z ~ p(z), then x ~ p(x | z)
    >>> z.shape, x.shape
    (torch.Size([3]), torch.Size([3]))
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from lm.core.checks import check_whole_number, shown
from lm.core.devices import resolve_device
from lm.core.sampling import make_generator

MAX_SAMPLES = 1_000_000  # draws one call to `sample` or `sample_slice` may make


def _check_positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < math.inf:
        raise ValueError(f"`{name}` has to be a finite number above 0, but is {shown(value)}")
    return float(value)


def _tensors(**named) -> tuple[list[torch.Tensor], bool]:
    """The named values (numbers or real tensors) as tensors of one dtype, broadcast on one device, and
    whether every value was a plain number (then the answer is a float, else a tensor).

    NaN is an error naming the argument; ±inf is a value (an open-ended range, a point with no density).
    """
    tensors = [value for value in named.values() if isinstance(value, torch.Tensor)]
    device = tensors[0].device if tensors else torch.device("cpu")
    dtype = torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64
    out = []
    for name, value in named.items():
        is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
        is_real_tensor = isinstance(value, torch.Tensor) and not (value.dtype == torch.bool or value.is_complex())
        if not (is_number or is_real_tensor):
            raise ValueError(f"`{name}` has to be a number or a tensor of numbers, but is {shown(value)}")
        value = torch.as_tensor(value, dtype=dtype, device=device)
        if value.isnan().any():
            raise ValueError(f"`{name}` has to be a number, but is (or holds) nan")
        out.append(value)
    try:
        out = list(torch.broadcast_tensors(*out))
    except RuntimeError:
        shapes = ", ".join(f"`{name}` {tuple(t.shape)}" for name, t in zip(named, out))
        raise ValueError(f"the shapes of {shapes} do not broadcast together") from None
    return out, not tensors


def _answer(result: torch.Tensor, plain: bool):
    return float(result) if plain else result


def _range(a, b, z) -> tuple[list[torch.Tensor], bool]:
    """`_tensors` of a range [a, b] and a GPA z, with ``ValueError`` naming `b` if it falls below `a`."""
    (a, b, z), plain = _tensors(a=a, b=b, z=z)
    if (a > b).any():
        raise ValueError(f"`b` has to be at least `a`, but a = {shown(a.tolist())} > b = {shown(b.tolist())}")
    return [a, b, z], plain


@dataclass(frozen=True)
class GpaJobDensity:
    """p(x, z) = p(x | z) p(z) for GPA z and months to a job x.

    p(z): Normal(gpa_mean, gpa_sd) truncated to [gpa_low, gpa_high], renormalised exactly with the normal
    CDF. p(x | z): Gamma(shape `steps`, rate r(z)): the wait for `steps` events, each an exponential wait
    (an Erlang; a whole shape keeps seeded sampling exact and simple). Its most likely wait,
    (steps - 1) / r(z), is `typical_wait` months at `reference_gpa` and halves every `halving_gpa` GPA
    points above it (doubles below):

        mode(z) = typical_wait * 2 ** (-(z - reference_gpa) / halving_gpa),   r(z) = (steps - 1) / mode(z)

    Methods take numbers (answer: a float) or tensors (broadcast together; answer: a tensor on their
    device). A z outside the GPA range has density 0 (no such students, so no slice either).

    Example:
        >>> d = GpaJobDensity()
        >>> round(d.prior(3.3), 4), d.prior(4.5), round(d.joint(4.0, 3.5), 4)
        (1.039, 0.0, 0.2718)
    """

    gpa_mean: float = 3.3  # centre of the bell curve p(z)
    gpa_sd: float = 0.4  # its width (standard deviation before the cut to the GPA range)
    gpa_low: float = 0.0  # the GPA range: p(z) = 0 outside it
    gpa_high: float = 4.0
    steps: int = 10  # shape of the Gamma p(x | z): 10 exponential waits in a row
    typical_wait: float = 4.0  # most likely months to a job (mode of p(x | z)) at reference_gpa
    reference_gpa: float = 3.5
    halving_gpa: float = 1.0  # GPA points that halve the most likely wait
    quadrature_nodes: int = 64  # Gauss-Legendre nodes over z for p(x): relative error below 1e-12 here (tested)

    def __post_init__(self):
        for name in ("gpa_mean", "reference_gpa"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise ValueError(f"`{name}` has to be a finite number, but is {shown(value)}")
        for name in ("gpa_sd", "typical_wait", "halving_gpa", "gpa_high"):
            _check_positive(getattr(self, name), name)
        if isinstance(self.gpa_low, bool) or not isinstance(self.gpa_low, numbers.Real) or not 0 <= self.gpa_low:
            raise ValueError(f"`gpa_low` has to be a number from 0, but is {shown(self.gpa_low)}")
        if not self.gpa_low < self.gpa_high:
            raise ValueError(f"`gpa_high` has to be above `gpa_low` ({self.gpa_low}), but is {self.gpa_high}")
        check_whole_number(self.steps, "steps", 2, 1000, "the Gamma's shape")
        check_whole_number(self.quadrature_nodes, "quadrature_nodes", 2, 10_000)

    # ---- p(z): the bell curve of GPAs ---------------------------------------------------------------

    @cached_property
    def _prior_mass(self) -> float:
        """The normal's mass inside the GPA range: what the cut bell curve is divided by."""
        low, high = ((limit - self.gpa_mean) / self.gpa_sd for limit in (self.gpa_low, self.gpa_high))
        return 0.5 * (math.erf(high / math.sqrt(2)) - math.erf(low / math.sqrt(2)))

    def _in_range(self, z: torch.Tensor) -> torch.Tensor:
        return (z >= self.gpa_low) & (z <= self.gpa_high)

    def _prior(self, z: torch.Tensor) -> torch.Tensor:
        u = (z - self.gpa_mean) / self.gpa_sd
        bell = torch.exp(-0.5 * u**2) / (self.gpa_sd * math.sqrt(2 * math.pi) * self._prior_mass)
        return torch.where(self._in_range(z), bell, 0.0)

    def prior(self, z):
        """p(z): the density of GPA z, per GPA point (0 outside the GPA range).

        Example:
            >>> GpaJobDensity().prior(torch.tensor([-1.0, 3.3]))
            tensor([0.0000, 1.0390], dtype=torch.float64)
        """
        (z,), plain = _tensors(z=z)
        return _answer(self._prior(z), plain)

    # ---- p(x | z): the slice at GPA z ---------------------------------------------------------------

    def _rate(self, z: torch.Tensor) -> torch.Tensor:
        """r(z), per month: (steps - 1) / mode(z). Only meaningful inside the GPA range."""
        mode = self.typical_wait * torch.exp2(-(z - self.reference_gpa) / self.halving_gpa)
        return (self.steps - 1) / mode

    def _conditional(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        valid = self._in_range(z) & (x > 0) & x.isfinite()
        x, rate = torch.where(valid, x, 1.0), self._rate(torch.where(valid, z, self.reference_gpa))
        # the Gamma density r^k x^(k-1) e^(-r x) / (k-1)!, in logs so a large k never overflows
        log_density = self.steps * rate.log() + (self.steps - 1) * x.log() - rate * x - math.lgamma(self.steps)
        return torch.where(valid, log_density.exp(), 0.0)

    def conditional(self, x, z):
        """p(x | z): the density of a wait of x months for a student of GPA z, per month.

        Each slice integrates to 1 over x (tested); 0 for x <= 0 and for z outside the GPA range.

        Example:
            >>> d = GpaJobDensity()
            >>> round(d.conditional(4.0, 3.5), 4), round(d.conditional(4.0, 2.5), 4)  # a lower GPA waits longer
            (0.2965, 0.0261)
        """
        (x, z), plain = _tensors(x=x, z=z)
        return _answer(self._conditional(x, z), plain)

    def conditional_mean(self, z):
        """E[x | z]: the mean wait at GPA z, steps / r(z) months (nan outside the GPA range: no slice).

        Example:
            >>> round(GpaJobDensity().conditional_mean(3.5), 4)  # 10 / 2.25: the mean sits right of the mode (4)
            4.4444
        """
        (z,), plain = _tensors(z=z)
        return _answer(torch.where(self._in_range(z), self.steps / self._rate(z), math.nan), plain)

    # ---- p(x, z) and p(x) ---------------------------------------------------------------------------

    def joint(self, x, z):
        """p(x, z) = p(x | z) p(z): the joint density, per month per GPA point.

        Example:
            >>> round(GpaJobDensity().joint(4.0, 3.5), 4)  # 0.2965 x p(z = 3.5) = 0.2965 x 0.9169
            0.2718
        """
        (x, z), plain = _tensors(x=x, z=z)
        return _answer(self._conditional(x, z) * self._prior(z), plain)

    @cached_property
    def _quadrature(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Gauss-Legendre nodes z_i over the GPA range and weights w_i p(z_i), float64 on the CPU."""
        nodes, weights = np.polynomial.legendre.leggauss(self.quadrature_nodes)  # on [-1, 1]
        half, centre = (self.gpa_high - self.gpa_low) / 2, (self.gpa_high + self.gpa_low) / 2
        z = torch.from_numpy(centre + half * nodes)
        return z, torch.from_numpy(half * weights) * self._prior(z)

    def marginal(self, x):
        """p(x) = integral of p(x | z) p(z) dz over the GPA range, per month.

        There is no closed form, so a Gauss-Legendre quadrature with `quadrature_nodes` nodes computes it:
        the integrand is smooth in z, so the error falls fast with the nodes (relative error against scipy's
        adaptive `quad`, x from 0.3 to 40 months: 7e-11 with 32 nodes, below 1e-12 with the default 64,
        tested). Memory: x.numel() x nodes numbers.

        Example:
            >>> round(GpaJobDensity().marginal(4.0), 4)  # over all GPAs, per month
            0.2074
        """
        (x,), plain = _tensors(x=x)
        z, weights = (t.to(x.device, x.dtype) for t in self._quadrature)
        return _answer((self._conditional(x.unsqueeze(-1), z) * weights).sum(-1), plain)

    def marginal_mean(self) -> float:
        """E[x]: the mean wait over all students, in closed form.

        E[x | z] = c * 2 ** (-(z - reference_gpa) / halving_gpa), c = steps / r(reference_gpa), so
        E[x] = c * E[exp(t (z - reference_gpa))] with t = -ln 2 / halving_gpa: the moment generating function
        of the truncated normal, exp(t (mean - ref) + sd^2 t^2 / 2) * (Phi(hi - sd t) - Phi(lo - sd t)) /
        (Phi(hi) - Phi(lo)), where lo and hi are the GPA range in standard units.

        Example:
            >>> round(GpaJobDensity().marginal_mean(), 4)
            5.409
        """
        c = self.steps * self.typical_wait / (self.steps - 1)
        t, sd = -math.log(2) / self.halving_gpa, self.gpa_sd
        low, high = ((limit - self.gpa_mean) / sd for limit in (self.gpa_low, self.gpa_high))
        shifted_mass = 0.5 * (math.erf((high - sd * t) / math.sqrt(2)) - math.erf((low - sd * t) / math.sqrt(2)))
        growth = math.exp(t * (self.gpa_mean - self.reference_gpa) + 0.5 * (sd * t) ** 2)
        return c * growth * shifted_mass / self._prior_mass

    # ---- probabilities of ranges --------------------------------------------------------------------

    def prob_between(self, a, b, z):
        """P(a <= x <= b | z), exactly: the Gamma's CDF, P(k, r b) - P(k, r a), with P the regularised
        lower incomplete gamma function (`torch.special.gammainc`). ``b = inf`` gives P(x >= a | z).

        Example:
            >>> d = GpaJobDensity()
            >>> round(d.prob_between(3.8, 4.2, 3.5), 4), d.prob_between(0, math.inf, 3.5)
            (0.1181, 1.0)
        """
        (a, b, z), plain = _range(a, b, z)
        inside = self._in_range(z)
        rate, shape = self._rate(torch.where(inside, z, self.reference_gpa)), torch.full_like(a, self.steps)
        cdf = [torch.special.gammainc(shape, rate * limit.clamp(min=0)) for limit in (a, b)]
        return _answer(torch.where(inside, cdf[1] - cdf[0], 0.0), plain)

    def rectangle_between(self, a, b, z):
        """The blog's approximation of P(a <= x <= b | z): height x width, p(x = (a + b) / 2 | z) x (b - a).
        Good when the slice is nearly straight over [a, b]; `prob_between` is the exact value.

        Example:
            >>> round(GpaJobDensity().rectangle_between(3.8, 4.2, 3.5), 4)  # 0.2965 per month x 0.4 months
            0.1186
        """
        (a, b, z), plain = _range(a, b, z)
        return _answer(self._conditional((a + b) / 2, z) * (b - a), plain)

    # ---- sampling: the shape generates data ---------------------------------------------------------

    def _draw_waits(self, z: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """x ~ p(x | z) for each z: `steps` exponential waits (mean 1) added up, divided by the rate."""
        waits = torch.empty(*z.shape, self.steps, dtype=z.dtype, device=z.device).exponential_(generator=generator)
        return waits.sum(-1) / self._rate(z)  # (n,)

    def sample(self, n, seed=None, device="auto") -> tuple[torch.Tensor, torch.Tensor]:
        """Draw `n` students the two-step way: z ~ p(z), then x ~ p(x | z). Returns the tensors (z, x).

        z comes from the inverse CDF of the cut bell curve (a uniform draw inside the range's CDF values,
        through the normal quantile function), x as in `sample_slice`. `seed` None means a fresh draw;
        `device` "auto" is the GPU where there is one. Their x's histogram has the shape of `marginal`.

        Example:
            >>> z, x = GpaJobDensity().sample(100_000, seed=0, device="cpu")
            >>> round(float(z.mean()), 1), round(float(x.mean()), 1)  # E[z] = 3.26, E[x] = 5.41
            (3.3, 5.4)
        """
        n = check_whole_number(n, "n", 1, MAX_SAMPLES, "samples")
        device = resolve_device(device)
        generator = make_generator(seed, device)
        dtype = torch.float32 if device.type == "mps" else torch.float64
        low, high = ((limit - self.gpa_mean) / self.gpa_sd for limit in (self.gpa_low, self.gpa_high))
        cdf_low, cdf_high = (0.5 * (1 + math.erf(limit / math.sqrt(2))) for limit in (low, high))
        u = cdf_low + (cdf_high - cdf_low) * torch.rand(n, dtype=dtype, device=device, generator=generator)
        z = (self.gpa_mean + self.gpa_sd * torch.special.ndtri(u)).clamp(self.gpa_low, self.gpa_high)  # (n,)
        return z, self._draw_waits(z, generator)

    def sample_slice(self, z, n, seed=None, device="auto") -> torch.Tensor:
        """Drop `n` marbles on the slice at GPA `z`: x ~ p(x | z), `n` waits in months (a tensor).

        Example:
            >>> x = GpaJobDensity().sample_slice(3.5, 100_000, seed=0, device="cpu")
            >>> round(float(x.mean()), 2)  # E[x | z = 3.5] = 4.44
            4.44
        """
        if isinstance(z, bool) or not isinstance(z, numbers.Real) or not self.gpa_low <= z <= self.gpa_high:
            raise ValueError(
                f"`z` has to be a GPA from {self.gpa_low:g} to {self.gpa_high:g} (a slice to sample), but is {shown(z)}"
            )
        n = check_whole_number(n, "n", 1, MAX_SAMPLES, "marbles")
        device = resolve_device(device)
        generator = make_generator(seed, device)
        dtype = torch.float32 if device.type == "mps" else torch.float64
        return self._draw_waits(torch.full((n,), float(z), dtype=dtype, device=device), generator)
