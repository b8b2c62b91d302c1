"""Text of the generated kernel module; :mod:`numerics._codegen` fills it in.

Layout and policy, decided by measurement on the 2-core AMD EPYC (Zen 3, AVX2)
this project is developed on (pitchfork, G = 2000, B = 10 000, T = 30):

* Work items are (g, part of the ensemble) pairs; slices of items run on
  Python threads calling ``nogil`` kernels, each item writing only its own
  output slots.  A ``prange`` driver was measured first: parfor lowering
  re-optimised the whole callee tree and added 3-4 s of compile time per
  form, for no speed gain.  Within an item the ensemble is processed
  in chunks of CHUNK = 256 trajectories held in small 2-D buffers (state,
  trajectory): for each time step the innermost loop runs over the chunk and
  vectorises.  Chunk 128-1024 were within 10 % of each other (5.4-6.1e9
  updates/s); manually unrolling two time steps per pass or lane-unrolling
  the state into scalars (SLP) was slower (1.97e9 updates/s).
* Checking the escape radius inside the update loop cost 45 % (3.3e9 vs
  6.0e9 updates/s), so state is checked every CHECK_EVERY = 32 steps, first
  by one vectorised pass of lane sums of |h| and |D_g h| (non-finite if any
  entry is).  A trajectory found as NaN at a check is replayed from h0 with
  the scalar ``step`` to tell an escape (|h| > R first) from a domain error.
* D_g h of a chunk is rescaled by 2**-200 when it exceeds 2**200 (exact
  powers of two: no rounding).  For homogeneous linear maps h is rescaled
  with it; for the others f_g is multiplied by the running scale, which only
  costs a multiply in the (rare) rescaled variant of the loop.  Sums of
  squares carry an integer exponent in units of 2**400 (``ext_add``).
* float64 throughout; no fastmath (``fastmath={'contract'}`` was measured
  8 % slower here and changes rounding); ``error_model='numpy'`` so division
  raises no Python exceptions inside kernels.
"""

from __future__ import annotations

from dataclasses import dataclass

_LOOP = """\
for t in range(t0, t1):
    for b in range(n):
@UPDATE@
@ACCUMULATE@
@PROFILE_REDUCE@"""

_PROFILE_REDUCE = """\
    for l in range(LANES):
        lanes[l] = 0.0
    for b0 in range(0, npad, LANES):
        for l in range(LANES):
            lanes[l] += sq[b0 + l]
    total = 0.0
    for l in range(LANES):
        total += lanes[l]
    cprof_m[t] = total
    cprof_e[t] = k"""

_DRIVER = '''\
@njit(cache=True, error_model="numpy", nogil=True)
def run_chunk_@SUFFIX@(pv, h0, ids, n, T, R, hc, sc, acc, sq, esc, lanes, cprof_m, cprof_e, xbuf, obuf, info, stop):
    """Sum over the chunk's non-escaped trajectories of sum_t |D_g h_t|^2 at the parameter row pv.

    Returns (m, k, escaped) with the sum equal to m * 2**(400 k).  With
    ``profile`` the per-time sums go to cprof_m[t] * 2**(400 cprof_e[t]) and
    include escaped trajectories (the caller re-runs the chunk without them).
    On a domain error or an overflow of D_g h, info = (status, t, sample) and
    the partial result must be discarded; so too when another thread sets
    stop[0] (Ctrl-C), which is read once per check interval.
    """
    profile = @PROFILE@
@LOAD_P@
    for i in range(DIM):
        for b in range(CHUNK):
            hc[i, b] = h0[i, ids[b]] if b < n else 0.0
            sc[i, b] = 0.0
    for b in range(CHUNK):
        acc[b] = 0.0
        sq[b] = 0.0
        esc[b] = False
    npad = ((n + LANES - 1) // LANES) * LANES
    k = 0
    scale = 1.0
    nesc = 0
    t0 = 0
    while t0 < T:
        if stop[0] != 0:
            info[0] = CANCELLED
            info[1] = t0
            return 0.0, 0, nesc
        t1 = min(T, t0 + CHECK_EVERY)
        if HOMOGENEOUS or k == 0:
@LOOP_UNSCALED@
        else:
@LOOP_SCALED@
        # Fast test: sums of |h| and |D_g h| bound every entry and turn
        # non-finite with any NaN or inf, so one vectorised pass usually
        # shows that nothing escaped and nothing needs rescaling.
        hsum = lane_abs_sum(hc, npad, lanes)
        ssum = lane_abs_sum(sc, npad, lanes)
        if HOMOGENEOUS:
            quiet = hsum <= BIG and ssum <= BIG
        else:
            quiet = hsum <= R and ssum <= BIG
        if quiet and nesc == 0:
            t0 = t1
            continue
        smax = 0.0
        for b in range(n):
            if esc[b]:
                continue
            far = False
            nan = False
            sbad = False
            sm = 0.0
            for i in range(DIM):
                xi = hc[i, b]
                if HOMOGENEOUS:
                    if not abs(xi) <= MAXF:
                        sbad = True
                    elif abs(xi) > sm:
                        sm = abs(xi)
                elif abs(xi) > R:
                    far = True
                elif xi != xi:
                    nan = True
                si = abs(sc[i, b])
                if not si <= MAXF:
                    sbad = True
                elif si > sm:
                    sm = si
            if far:
                esc[b] = True
                nesc += 1
                continue
            if nan:
                outcome, j = replay(h0, ids[b], pv, t1, R, xbuf, obuf)
                if outcome == 1:
                    esc[b] = True
                    nesc += 1
                    continue
                info[0] = DOMAIN
                info[1] = j
                info[2] = ids[b]
                return 0.0, 0, nesc
            if sbad:
                info[0] = OVERFLOW
                info[1] = t1
                info[2] = ids[b]
                return 0.0, 0, nesc
            if sm > smax:
                smax = sm
        if smax > BIG:
            k += 1
            scale *= SMALL
            for b in range(n):
                acc[b] *= SMALL2
                for i in range(DIM):
                    sc[i, b] *= SMALL
                    if HOMOGENEOUS:
                        hc[i, b] *= SMALL
        t0 = t1
    m = 0.0
    if profile:
        e = 0
        for t in range(T):
            m, e = ext_add(m, e, cprof_m[t], cprof_e[t])
        return m, e, nesc
    for b in range(n):
        if not esc[b]:
            m += acc[b]
    return m, k, nesc


@njit(cache=True, error_model="numpy", nogil=True)
def run_items_@SUFFIX@(g, h0, T, R, P, first, last, norm_m, norm_e, escaped, info, prof_m, prof_e, stop):
    """Work items first..last-1; item (ig, p) = divmod(item, P) covers samples
    [B p / P, B (p+1) / P) at the parameter row g[ig] = (g, constants...) and writes only its own
    output slots."""
    profile = @PROFILE@
    B = h0.shape[1]
    hc = np.empty((DIM, CHUNK))
    sc = np.empty((DIM, CHUNK))
    acc = np.empty(CHUNK)
    sq = np.empty(CHUNK)
    esc = np.empty(CHUNK, np.bool_)
    ids = np.empty(CHUNK, np.int64)
    lanes = np.empty(LANES)
    Tp = T if profile else 1
    cprof_m = np.zeros(Tp)
    cprof_e = np.zeros(Tp, np.int64)
    xbuf = np.empty(DIM)
    obuf = np.empty(DIM)
    cinfo = np.zeros(3, np.int64)
    for item in range(first, last):
        ig = item // P
        p = item - ig * P
        lo = (B * p) // P
        hi = (B * (p + 1)) // P
        m = 0.0
        e = 0
        nesc = 0
        for c0 in range(lo, hi, CHUNK):
            n = min(CHUNK, hi - c0)
            for b in range(n):
                ids[b] = c0 + b
            cm, ce, cesc = run_chunk_@SUFFIX@(g[ig], h0, ids, n, T, R, hc, sc, acc, sq, esc, lanes,
                                     cprof_m, cprof_e, xbuf, obuf, cinfo, stop)
            kept = n - cesc
            if profile and cesc > 0 and kept == 0:
                cm = 0.0  # every trajectory escaped: nothing to keep
                ce = 0
            if cinfo[0] == OK and profile and cesc > 0 and kept > 0:
                # The profile summed the escaped trajectories too: run the chunk
                # again without them (same arithmetic, so the same values).
                j = 0
                for b in range(n):
                    if not esc[b]:
                        ids[j] = ids[b]
                        j += 1
                cm, ce, _ = run_chunk_@SUFFIX@(g[ig], h0, ids, kept, T, R, hc, sc, acc, sq, esc, lanes,
                                      cprof_m, cprof_e, xbuf, obuf, cinfo, stop)
            if cinfo[0] != OK:
                for j in range(3):
                    info[ig, p, j] = cinfo[j]
                return
            nesc += cesc
            m, e = ext_add(m, e, cm, ce)
            if profile and kept > 0:
                for t in range(T):
                    prof_m[ig, p, t], prof_e[ig, p, t] = ext_add(prof_m[ig, p, t], prof_e[ig, p, t],
                                                                 cprof_m[t], cprof_e[t])
        norm_m[ig, p] = m
        norm_e[ig, p] = e
        escaped[ig, p] = nesc
'''

_MODULE = '''\
"""Generated by nfsntk (numerics._codegen); do not edit, it is regenerated.

@HEADER@
"""
import math

import numpy as np
from numba import njit

DIM = @DIM@
NPAR = @NPAR@  # a parameter row: g, then the runtime constants @CONSTANTS@
HOMOGENEOUS = @HOMOGENEOUS@
CHUNK = 256
CHECK_EVERY = 32
LANES = 8
BIG = 2.0 ** 200
SMALL = 2.0 ** -200
SMALL2 = 2.0 ** -400
MAXF = 1.7976931348623157e308
OK, OVERFLOW, DOMAIN, CANCELLED = 0, 1, 2, 3


@njit(cache=True, error_model="numpy")
def step(x, pv, out):
    """out = f(x, pv): pv = (g, runtime constants...)."""
@LOAD_P@
@LOAD_X@
@STEP_F@


@njit(cache=True, error_model="numpy")
def tangent_step(x, s, pv, xo, so):
    """(xo, so) = (f(x), f_h(x) s + f_g(x)) at pv: one step of the tangent recursion."""
@LOAD_P@
@TANGENT_FN@


@njit(cache=True, error_model="numpy")
def ext_add(m, e, dm, de):
    """(m, e) + (dm, de) for values m * 2**(400 e); smaller terms below 2**-800 vanish."""
    if dm == 0.0:
        return m, e
    if m == 0.0:
        return dm, de
    if de > e:
        m, e, dm, de = dm, de, m, e
    d = e - de
    if d == 0:
        return m + dm, e
    if d == 1:
        return m + dm * SMALL2, e
    if d == 2:
        return m + dm * SMALL2 * SMALL2, e
    return m, e


@njit(cache=True, error_model="numpy")
def replay(h0, sample, pv, steps, R, xbuf, obuf):
    """Re-run one trajectory from h0 with the scalar ``step``: (1, t) if it
    leaves the escape radius at step t, (2, t) if it turns NaN inside it."""
    for i in range(DIM):
        xbuf[i] = h0[i, sample]
    for j in range(steps):
        step(xbuf, pv, obuf)
        far = False
        nan = False
        for i in range(DIM):
            v = obuf[i]
            if abs(v) > R:
                far = True
            elif v != v:
                nan = True
            xbuf[i] = v
        if far:
            return 1, j + 1
        if nan:
            return 2, j + 1
    return 2, steps


@njit(cache=True, error_model="numpy")
def lane_abs_sum(a, npad, lanes):
    """sum |a[i, :npad]| over the state; NaN or inf anywhere makes it non-finite."""
    for l in range(LANES):
        lanes[l] = 0.0
    for i in range(DIM):
        for b0 in range(0, npad, LANES):
            for l in range(LANES):
                lanes[l] += abs(a[i, b0 + l])
    total = 0.0
    for l in range(LANES):
        total += lanes[l]
    return total


@DRIVERS@


@njit(cache=True, error_model="numpy", nogil=True)
def trajectory_kernel(g, h0, T, R, H, S, escape_step, stop):
    """H[ig, t, :, b] = h_t, S[...] = D_g h_t for t = 0..T at the parameter row g[ig]; NaN after an escape.
    Returns early, leaving the rest unfilled, once stop[0] is set."""
    G = g.shape[0]
    B = h0.shape[1]
    for ig in range(G):
        if stop[0] != 0:
            return
        x = np.empty(DIM)
        s = np.empty(DIM)
        xo = np.empty(DIM)
        so = np.empty(DIM)
        for b in range(B):
            escape_step[ig, b] = -1
            for i in range(DIM):
                x[i] = h0[i, b]
                s[i] = 0.0
                H[ig, 0, i, b] = x[i]
                S[ig, 0, i, b] = 0.0
            for t in range(1, T + 1):
                tangent_step(x, s, g[ig], xo, so)
                far = False
                for i in range(DIM):
                    if abs(xo[i]) > R:
                        far = True
                if far:
                    escape_step[ig, b] = t
                    for tt in range(t, T + 1):
                        for i in range(DIM):
                            H[ig, tt, i, b] = np.nan
                            S[ig, tt, i, b] = np.nan
                    break
                for i in range(DIM):
                    x[i] = xo[i]
                    s[i] = so[i]
                    H[ig, t, i, b] = xo[i]
                    S[ig, t, i, b] = so[i]
'''


def _indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + line if line.strip() else line for line in text.splitlines())


@dataclass(frozen=True)
class _ModuleTemplate:
    text: str

    def render(self, *, dim: int, homogeneous: bool, header: str, STEP_F: str, UPDATE_UNSCALED: str,
               UPDATE_SCALED: str, TANGENT_FN: str, LOAD_X: str, LOAD_P: str, npar: int, constants: str) -> str:
        """Place the printed expressions into the module text.

        ``UPDATE_*`` assign ``q`` (sum of squares of the new D_g h) after
        loading and storing the chunk's state at column ``b``.
        """
        drivers = []
        for suffix, profile in (("norm", False), ("profile", True)):
            text = _DRIVER.replace("@SUFFIX@", suffix).replace("@PROFILE@", str(profile))
            for scaled, update in (("SCALED", UPDATE_SCALED), ("UNSCALED", UPDATE_UNSCALED)):
                body = (
                    _LOOP.replace("@UPDATE@", _indent(update, 8))
                    .replace("@ACCUMULATE@", "        sq[b] = q" if profile else "        acc[b] += q")
                    .replace("@PROFILE_REDUCE@", _PROFILE_REDUCE if profile else "")
                )
                body = "\n".join(line for line in body.splitlines() if line.strip())
                text = text.replace(f"@LOOP_{scaled}@", _indent(body, 12))
            drivers.append(text.rstrip("\n"))
        out = self.text.replace("@DRIVERS@", "\n\n\n".join(drivers))
        replacements = {
            "@HEADER@": header,
            "@DIM@": str(dim),
            "@HOMOGENEOUS@": str(bool(homogeneous)),
            "@STEP_F@": _indent(STEP_F, 4),
            "@TANGENT_FN@": _indent(TANGENT_FN, 4),
            "@LOAD_X@": _indent(LOAD_X, 4),
            "@LOAD_P@": _indent(LOAD_P, 4),
            "@NPAR@": str(int(npar)),
            "@CONSTANTS@": constants,
        }
        for key, value in replacements.items():
            out = out.replace(key, value)
        return out


MODULE_TEMPLATE = _ModuleTemplate(_MODULE)
