"""ADBench's bundle-adjustment objective (issue 15), written per observation as
a NumPy user writes it: ``reprojection_error(cam, X, w, feat)`` calls
``project``, which calls ``rodrigues_rotate_point`` and ``radial_distort``.

Layout, as in ADBench:

    cams  (n, 11)  Rodrigues rotation (3), camera centre (3), focal length (1),
                   principal point (2), radial distortion (2)
    X     (m, 3)   points
    w     (p,)     a weight per observation
    obs   (p, 2)   (camera, point) index of each observation
    feats (p, 2)   the observed feature

The Jacobian ADBench asks for has a 2 x 15 block per observation (the two
residuals against the camera's 11 parameters, the point's 3 and the weight)
and the derivative of each weight error ``1 - w**2``.
"""
from __future__ import annotations

import numpy as np


def rodrigues_rotate_point(rot, X):
    sqtheta = np.sum(rot * rot)
    if sqtheta != 0.0:
        theta = np.sqrt(sqtheta)
        costheta = np.cos(theta)
        sintheta = np.sin(theta)
        w = rot / theta
        w_cross_X = np.cross(w, X)
        tmp = np.dot(w, X) * (1.0 - costheta)
        return X * costheta + w_cross_X * sintheta + w * tmp
    return X + np.cross(rot, X)


def radial_distort(rad_params, proj):
    rsq = np.sum(proj * proj)
    L = 1.0 + rad_params[0] * rsq + rad_params[1] * rsq * rsq
    return proj * L


def project(cam, X):
    Xcam = rodrigues_rotate_point(cam[0:3], X - cam[3:6])
    distorted = radial_distort(cam[9:11], Xcam[0:2] / Xcam[2])
    return distorted * cam[6] + cam[7:9]


def reprojection_error(cam, X, w, feat):
    """The two residuals of one observation."""
    return w * (project(cam, X) - feat)


def weight_error(w):
    return 1.0 - w * w


def make_ba_data(n: int = 49, m: int = 7776, p: int = 31843, seed: int = 0):
    """Seeded inputs of ADBench's shapes (defaults: its smallest set,
    ba1_n49_m7776_p31843): small rotations, cameras in front of the points,
    every camera and point observed at least once."""
    rng = np.random.default_rng(seed)
    cams = np.empty((n, 11))
    cams[:, 0:3] = rng.normal(0.0, 0.1, size=(n, 3))
    cams[:, 3:6] = rng.normal(0.0, 1.0, size=(n, 3)) + np.array([0.0, 0.0, -10.0])
    cams[:, 6] = rng.uniform(300.0, 500.0, size=n)
    cams[:, 7:9] = rng.normal(0.0, 1.0, size=(n, 2))
    cams[:, 9:11] = rng.normal(0.0, 1e-3, size=(n, 2))
    X = rng.normal(0.0, 1.0, size=(m, 3))
    w = rng.uniform(0.5, 1.5, size=p)
    obs = np.empty((p, 2), dtype=np.int64)
    obs[:, 0] = np.concatenate([np.arange(n), rng.integers(0, n, size=p - n)])
    obs[:, 1] = np.concatenate([np.arange(m), rng.integers(0, m, size=p - m)])
    feats = rng.normal(0.0, 100.0, size=(p, 2))
    return cams, X, w, obs, feats
