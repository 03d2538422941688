"""ADBench's bundle adjustment (issue 15): the 2 x 15 Jacobian block of each observation, sct against
autograd, JAX and PyTorch, in one interleaved run.

    python -m bench.run --ba                      # ADBench's smallest set: n = 49, m = 7776, p = 31843
    python -m bench.run --ba --tiny               # a few observations, little timing (the smoke test)
    python -m bench.run --ba --ba-sample 500 --json out.json

The target is ``bench.adbench_ba.reprojection_error(cam, X, w, feat)`` as a NumPy user writes it (per
observation, helpers ``project -> rodrigues_rotate_point / radial_distort``, ``np.cross``, an ``if`` on the
rotation angle).  Each observation's block is the derivative of its two residuals with respect to its
camera (11), point (3) and weight (1).  Two ways of computing the blocks are timed:

* **per observation**: a Python loop over a sample of the observations (``--ba-sample``, spread evenly over
  all p), one Jacobian call each, the camera and point read from ``cams[obs[i, 0]]``, ``X[obs[i, 1]]``
  inside the loop; time per observation = loop time / sample size.
  sct: ``sct.jacobian(reprojection_error, wrt=(0, 1, 2))``; autograd: ``autograd.jacobian`` of the same
  code on ``autograd.numpy`` with the 15 inputs packed into one vector (autograd's ``jacobian`` takes one
  argument); JAX: ``jax.jit(jax.jacrev(..., argnums=(0, 1, 2)))``; PyTorch: ``torch.func.jacrev(...,
  argnums=(0, 1, 2))``, eager.
* **batched**: all p blocks in one call.  JAX: ``jax.jit(jax.vmap(jax.jacrev(...)))`` with the gather of
  cameras and points inside the jitted function; PyTorch: ``torch.func.vmap(torch.func.jacrev(...))``;
  sct: attempted when sct has a batched API (``sct.vmap``, or a ``batch`` option of ``sct.jacobian``),
  otherwise skipped with a note.

JAX and PyTorch write the ``if sqtheta != 0`` branch with ``where`` (a Python ``if`` on a traced value is an
error under ``jit``/``vmap``), taking the square root of a safe value so the unused branch has no NaN in its
derivative.  Each tool's residuals (its primal, in the same form: per observation or batched) are timed too.

Checks before timing, on the sampled observations (the first 50 of them for the per-observation forms):
each tool's residuals equal NumPy's (1e-10), and its blocks agree with central differences of the NumPy
residuals (``FD_RTOL``, per observation: max |J - J_fd| / max |J_fd|) and with the first tool that passed
(1e-9).  A tool that fails is MISMATCH or ERROR, with the reason, and is not timed.
"""
from __future__ import annotations

import inspect

import numpy as np

from bench import adbench_ba as ba
from bench.run import failed_cell, fmt_ratio, fmt_time, interleaved_or_error, ratios_to, short, table, timed

SAMPLE = 200
TINY = dict(n=3, m=10, p=24)
TINY_SAMPLE = 8
TINY_CHECKED = 4
FD_RTOL = 1e-6
CROSS_RTOL = 1e-9
RESIDUALS_RTOL = 1e-10
CHECKED = 50  # observations checked per per-observation tool


# ---------------------------------------------------------------------------- peers, each in its own idiom

def build_autograd():
    """autograd: ``jacobian(cam, X, w, feat)`` -> the (2, 15) block, and ``residuals(cam, X, w, feat)``."""
    import autograd
    import autograd.numpy as anp

    def rodrigues_rotate_point(rot, X):
        sqtheta = anp.sum(rot * rot)
        if sqtheta != 0.0:
            theta = anp.sqrt(sqtheta)
            costheta = anp.cos(theta)
            sintheta = anp.sin(theta)
            w = rot / theta
            w_cross_X = anp.cross(w, X)
            tmp = anp.dot(w, X) * (1.0 - costheta)
            return X * costheta + w_cross_X * sintheta + w * tmp
        return X + anp.cross(rot, X)

    def radial_distort(rad_params, proj):
        rsq = anp.sum(proj * proj)
        L = 1.0 + rad_params[0] * rsq + rad_params[1] * rsq * rsq
        return proj * L

    def project(cam, X):
        Xcam = rodrigues_rotate_point(cam[0:3], X - cam[3:6])
        distorted = radial_distort(cam[9:11], Xcam[0:2] / Xcam[2])
        return distorted * cam[6] + cam[7:9]

    def reprojection_error(params, feat):
        """``params`` = camera (11), point (3), weight (1) in one vector."""
        return params[14] * (project(params[0:11], params[11:14]) - feat)

    jac = autograd.jacobian(reprojection_error)

    def jacobian(cam, X, w, feat):
        return jac(np.concatenate((cam, X, [w])), feat)

    def residuals(cam, X, w, feat):
        return reprojection_error(np.concatenate((cam, X, [w])), feat)

    return jacobian, residuals


def _jax_residual():
    from bench.gmm_objective import _jax
    jax = _jax()
    import jax.numpy as jnp

    def rodrigues_rotate_point(rot, X):
        sqtheta = jnp.sum(rot * rot)
        nonzero = sqtheta != 0.0
        theta = jnp.sqrt(jnp.where(nonzero, sqtheta, 1.0))  # no NaN in the derivative of the other branch
        costheta = jnp.cos(theta)
        sintheta = jnp.sin(theta)
        w = rot / theta
        rotated = X * costheta + jnp.cross(w, X) * sintheta + w * (jnp.dot(w, X) * (1.0 - costheta))
        return jnp.where(nonzero, rotated, X + jnp.cross(rot, X))

    def radial_distort(rad_params, proj):
        rsq = jnp.sum(proj * proj)
        return proj * (1.0 + rad_params[0] * rsq + rad_params[1] * rsq * rsq)

    def project(cam, X):
        Xcam = rodrigues_rotate_point(cam[0:3], X - cam[3:6])
        return radial_distort(cam[9:11], Xcam[0:2] / Xcam[2]) * cam[6] + cam[7:9]

    def reprojection_error(cam, X, w, feat):
        return w * (project(cam, X) - feat)

    return jax, jnp, reprojection_error


def build_jax():
    """JAX, float64: per observation ``(jacobian, residuals)`` jitted, batched ``(jacobians, residuals)``
    over all observations (``vmap``, the gather inside ``jit``), and ``to_device``."""
    jax, jnp, f = _jax_residual()
    jac = jax.jacrev(f, argnums=(0, 1, 2))

    @jax.jit
    def batched_jacobians(cams, X, w, obs, feats):
        return jax.vmap(jac)(cams[obs[:, 0]], X[obs[:, 1]], w, feats)

    @jax.jit
    def batched_residuals(cams, X, w, obs, feats):
        return jax.vmap(f)(cams[obs[:, 0]], X[obs[:, 1]], w, feats)

    def to_device(*arrays):
        return tuple(jnp.asarray(a) for a in arrays)

    return (jax.jit(jac), jax.jit(f)), (batched_jacobians, batched_residuals), to_device


def build_torch():
    """PyTorch eager, float64: per observation ``(jacobian, residuals)`` (``torch.func.jacrev``), batched
    ``(jacobians, residuals)`` (``torch.func.vmap``), and ``to_tensor``."""
    import torch
    from torch.func import jacrev, vmap

    def rodrigues_rotate_point(rot, X):
        sqtheta = torch.sum(rot * rot)
        nonzero = sqtheta != 0.0
        theta = torch.sqrt(torch.where(nonzero, sqtheta, 1.0))
        costheta = torch.cos(theta)
        sintheta = torch.sin(theta)
        w = rot / theta
        rotated = (X * costheta + torch.linalg.cross(w, X) * sintheta
                   + w * (torch.dot(w, X) * (1.0 - costheta)))
        return torch.where(nonzero, rotated, X + torch.linalg.cross(rot, X))

    def radial_distort(rad_params, proj):
        rsq = torch.sum(proj * proj)
        return proj * (1.0 + rad_params[0] * rsq + rad_params[1] * rsq * rsq)

    def project(cam, X):
        Xcam = rodrigues_rotate_point(cam[0:3], X - cam[3:6])
        return radial_distort(cam[9:11], Xcam[0:2] / Xcam[2]) * cam[6] + cam[7:9]

    def reprojection_error(cam, X, w, feat):
        return w * (project(cam, X) - feat)

    jac = jacrev(reprojection_error, argnums=(0, 1, 2))

    def batched_jacobians(cams, X, w, obs, feats):
        return vmap(jac)(cams[obs[:, 0]], X[obs[:, 1]], w, feats)

    def batched_residuals(cams, X, w, obs, feats):
        return vmap(reprojection_error)(cams[obs[:, 0]], X[obs[:, 1]], w, feats)

    def to_tensor(*arrays):
        return tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in arrays)

    return (jac, reprojection_error), (batched_jacobians, batched_residuals), to_tensor


def sct_batched(sct):
    """(label, jacobians(cams, X, w, obs, feats) -> blocks) for each batched form this sct offers."""
    f = ba.reprojection_error
    forms = []
    if hasattr(sct, "vmap"):
        J = sct.vmap(sct.jacobian(f, wrt=(0, 1, 2)))
        forms.append(("sct.vmap(sct.jacobian(...))",
                      lambda cams, X, w, obs, feats: J(cams[obs[:, 0]], X[obs[:, 1]], w, feats)))
    if "batch" in inspect.signature(sct.jacobian).parameters:
        Jb = sct.jacobian(f, wrt=(0, 1, 2), batch=True)
        forms.append(("sct.jacobian(..., batch=True)",
                      lambda cams, X, w, obs, feats: Jb(cams[obs[:, 0]], X[obs[:, 1]], w, feats)))
    return forms


# ---------------------------------------------------------------------------- checks

def as_block(J) -> np.ndarray:
    """A (2, 15) block, or (k, 2, 15) blocks, from a tool's output: the tuple (d cam, d X, d w) or one array."""
    if not isinstance(J, (tuple, list)):
        return np.asarray(J, dtype=float)
    parts = [_numpy(j) for j in J]
    parts[2] = parts[2][..., None]  # d w: (..., 2) -> (..., 2, 1)
    return np.concatenate(parts, axis=-1)


def _numpy(v) -> np.ndarray:
    return np.asarray(v.detach() if hasattr(v, "detach") else v, dtype=float)


def fd_block(cam, X, w, feat) -> np.ndarray:
    """Central differences of the NumPy residuals: the (2, 15) block."""
    x0 = np.concatenate((cam, X, [w]))
    f = lambda x: ba.reprojection_error(x[0:11], x[11:14], x[14], feat)  # noqa: E731
    out = np.empty((2, 15))
    for k in range(15):
        h = 1e-6 * max(1.0, abs(x0[k]))
        up, down = x0.copy(), x0.copy()
        up[k] += h
        down[k] -= h
        out[:, k] = (f(up) - f(down)) / (2 * h)
    return out


def block_err(got, ref) -> float:
    """max over observations of max |got - ref| / max |ref| (each (2, 15) block on its own scale)."""
    got, ref = np.asarray(got), np.asarray(ref)
    if got.shape != ref.shape or got.shape[-2:] != (2, 15):
        raise ValueError(f"blocks of shape {got.shape}, expected {ref.shape}")
    return float(np.max(np.max(np.abs(got - ref), axis=(1, 2)) / np.max(np.abs(ref), axis=(1, 2))))


# ---------------------------------------------------------------------------- the harness

def ba_tools(peers, data, sample, log, checked_count=CHECKED):
    """name -> (form, setup) with setup() returning dict(residuals, jacobian, blocks[, compiled]):
    zero-argument callables timing the whole form (the sample loop, or all p at once), and ``blocks()``
    giving the computed blocks of the sampled observations (for the checks)."""
    cams, X, w, obs, feats = data
    rows = [(int(i), int(obs[i, 0]), int(obs[i, 1])) for i in sample]
    checked = rows[:checked_count]
    tools = {}

    def per_observation(jac, res, convert=lambda *a: a):
        C, P, W, F = convert(cams, X, w, feats)

        def loop(fn, which):
            def run():
                for i, c, j in which:
                    out = fn(C[c], P[j], W[i], F[i])
                return out
            return run

        def blocks():
            return np.stack([as_block(jac(C[c], P[j], W[i], F[i])) for i, c, j in checked])

        def values():
            return np.stack([_numpy(res(C[c], P[j], W[i], F[i])) for i, c, j in checked])
        return dict(residuals=loop(res, rows), jacobian=loop(jac, rows), blocks=blocks, values=values,
                    count=len(rows), checked=len(checked))

    def batched(jacs, res, convert=lambda *a: a, wait=lambda v: v):
        A = convert(cams, X, w, obs, feats)

        def blocks():
            return as_block(jacs(*A))[np.asarray(sample)]

        def values():
            return _numpy(res(*A))[np.asarray(sample)]
        return dict(residuals=lambda: wait(res(*A)), jacobian=lambda: wait(jacs(*A)), blocks=blocks,
                    values=values, count=len(obs), checked=len(sample))

    if not peers["sct"].get("skip"):
        import sct
        J = sct.jacobian(ba.reprojection_error, wrt=(0, 1, 2))
        tools["sct"] = ("per observation", lambda: dict(per_observation(J, ba.reprojection_error),
                                                        first_call_is_transform=True))
        try:
            forms = sct_batched(sct)
        except Exception as exc:  # noqa: BLE001 - a batched API of another shape: say so, go on
            forms = []
            log(f"note: sct's batched Jacobian could not be requested: {short(exc)}")
        if not forms:
            log("note: sct has no batched API yet (sct.vmap, sct.jacobian(..., batch=True)); "
                "no batched sct row")
        for label, fn in forms:
            tools[f"sct ({label})"] = ("batched", lambda fn=fn: dict(
                batched(fn, lambda cams, X, w, obs, feats: None), no_residuals=True))

    if not peers["autograd"].get("skip"):
        a_jac, a_res = build_autograd()
        tools["autograd"] = ("per observation", lambda: per_observation(a_jac, a_res))

    if not peers["jax"].get("skip"):
        import jax
        (j_jac, j_res), (j_jacs, j_ress), to_device = build_jax()
        wait = jax.block_until_ready
        tools["jax (jit)"] = ("per observation", lambda: dict(
            per_observation(lambda *a: wait(j_jac(*a)), lambda *a: wait(j_res(*a))), compiled=True))
        tools["jax (jit(vmap(jacrev)))"] = ("batched", lambda: dict(batched(j_jacs, j_ress, to_device, wait),
                                                                    compiled=True))

    if not peers["torch"].get("skip"):
        import torch
        (t_jac, t_res), (t_jacs, t_ress), to_tensor = build_torch()

        def no_grad(fn):
            def run(*a):
                with torch.no_grad():
                    return fn(*a)
            return run
        tools["torch (func.jacrev)"] = ("per observation", lambda: per_observation(t_jac, no_grad(t_res), to_tensor))
        tools["torch (func.vmap(jacrev))"] = ("batched", lambda: batched(t_jacs, no_grad(t_ress), to_tensor))
    return tools


def run(peers, opts, log):
    """The BA benchmark (one interleaved run); returns a JSON-ready dict."""
    sizes = TINY if opts.tiny else dict(n=49, m=7776, p=31843)
    n_sample = TINY_SAMPLE if opts.tiny else (getattr(opts, "ba_sample", None) or SAMPLE)
    data = ba.make_ba_data(**sizes, seed=0)
    cams, X, w, obs, feats = data
    p = len(obs)
    sample = np.unique(np.linspace(0, p - 1, min(n_sample, p)).astype(int))
    fd = np.stack([fd_block(cams[obs[i, 0]], X[obs[i, 1]], w[i], feats[i]) for i in sample])
    residuals = np.stack([ba.reprojection_error(cams[obs[i, 0]], X[obs[i, 1]], w[i], feats[i]) for i in sample])
    result = {**sizes, "sample": len(sample), "tools": {}}
    tools = ba_tools(peers, data, sample, log, TINY_CHECKED if opts.tiny else CHECKED)
    live, ref = {}, None
    for name, (form, setup) in tools.items():
        rec = result["tools"][name] = {"form": form}
        try:
            t = setup()
            if not t.get("no_residuals"):
                rec["residuals_first_call_s"], _ = timed(t["residuals"])
            rec["jacobian_first_call_s"], _ = timed(t["jacobian"])
            if not t.get("no_residuals"):
                got = t["values"]()
                rec["residuals_rel_err"] = float(np.max(np.abs(got - residuals[:len(got)]))
                                                 / np.max(np.abs(residuals[:len(got)])))
            got = t["blocks"]()
            rec["fd_rel_err"] = block_err(got, fd[:len(got)])
            both = min(len(got), len(ref)) if ref is not None else 0  # the sample's first observations
            rec["rel_err"] = block_err(got[:both], ref[:both]) if both else 0.0
            ok = (rec["fd_rel_err"] <= FD_RTOL and rec["rel_err"] <= CROSS_RTOL
                  and rec.get("residuals_rel_err", 0.0) <= RESIDUALS_RTOL)
            rec["status"] = "ok" if ok else "MISMATCH"
            if ok:
                ref = got if ref is None or len(got) > len(ref) else ref
                rec["observations_per_call"] = t["count"]
                live[name] = t
        except Exception as exc:  # noqa: BLE001 - a refusal or a broken peer must not stop the run
            rec["status"] = "ERROR"
            rec["error"] = short(exc)
            rec["error_message"] = str(exc)
            rec["refused"] = type(exc).__module__.startswith("sct")
    fns = {}
    for name, t in live.items():
        fns[(name, "jacobian")] = t["jacobian"]
        if not t.get("no_residuals"):
            fns[(name, "residuals")] = t["residuals"]
    timings = interleaved_or_error(fns, opts, result["tools"])
    for name, t in live.items():
        rec = result["tools"][name]
        if (name, "jacobian") not in timings:
            continue
        k = t["count"]
        for kind in ("residuals", "jacobian"):
            if (name, kind) in timings:
                s, s_min, samples = timings[(name, kind)]
                rec.update({kind + "_call_s": s, kind + "_call_min_s": s_min, kind + "_samples": samples,
                            kind + "_per_observation_s": s / k})
        if "residuals_per_observation_s" in rec:
            rec["jacobian_over_residuals"] = rec["jacobian_call_s"] / rec["residuals_call_s"]
        if t.get("compiled") or t.get("first_call_is_transform"):
            rec["first_call_overhead_s"] = max(rec["jacobian_first_call_s"] - rec["jacobian_call_s"], 0.0)
    ratios_to(result["tools"].get("sct", {}).get("jacobian_per_observation_s"), result["tools"],
              "jacobian_per_observation_s")
    log(format_ba(result))
    return result


def format_ba(result):
    rows, notes = [], []
    for name, r in result["tools"].items():
        if r.get("status") != "ok":
            errors = {"residuals rel err": "residuals_rel_err", "fd rel err": "fd_rel_err", "rel err": "rel_err"}
            rows.append([name, r["form"], failed_cell(name, r, notes, errors)] + [""] * 8)
            continue
        rows.append([name, r["form"], str(r["observations_per_call"]),
                     fmt_time(r.get("residuals_per_observation_s")), fmt_time(r["jacobian_per_observation_s"]),
                     fmt_ratio(r.get("jacobian_over_residuals")), fmt_time(r["jacobian_call_s"]),
                     fmt_ratio(r.get("sct_over_tool")), fmt_time(r.get("first_call_overhead_s")),
                     f"{r['fd_rel_err']:.1e}", f"{r.get('residuals_samples', '-')}/{r['jacobian_samples']}"])
    head = (f"BA  n={result['n']}  m={result['m']}  p={result['p']}   per-observation forms: a sample of "
            f"{result['sample']} observations per call")
    return head + "\n" + table(
        ["tool", "form", "obs/call", "residuals/obs", "Jacobian/obs", "J/residuals", "Jacobian/call",
         "sct/tool", "first call*", "fd err", "samples"], rows) + "\n" + "".join(n + "\n" for n in notes) + (
        "* first call: first Jacobian call minus steady call (JAX: jit compile; sct: transformation)\n")
