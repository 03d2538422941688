def f_jvp(x1, x2, *, dx1, dx2):
    # sct forward mode (tangent program) of f(x1, x2), lecture.py:5
    # with respect to x1, x2; tangents dx1, dx2
    # returns (f(x1, x2), its derivative along dx1, dx2)
    # specialised for x1 scalar, x2 scalar
    # line 6: return x1 * x2 + math.sin(x1)
    t1 = x1 * x2
    dt1 = dx1 * x2 + x1 * dx2
    t2 = math.sin(x1)
    dt2 = dx1 * math.cos(x1)
    t3 = t1 + t2
    dt3 = dt1 + dt2
    return (t3, dt3)
