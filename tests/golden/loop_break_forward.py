def loop_break_jvp(x, *, dx):
    # sct forward mode (tangent program) of loop_break(x), control_flow.py:19
    # with respect to x; tangents dx
    # returns (loop_break(x), its derivative along dx)
    # specialised for x scalar
    # line 20: s = x
    s = x
    ds = dx
    # line 21: for i in range(10):
    for i in range(10):
        # line 22: s = s * 1.1 + math.sin(s)
        t2 = s * 1.1
        dt2 = ds * 1.1
        t3 = math.sin(s)
        dt3 = ds * math.cos(s)
        s = t2 + t3
        ds = dt2 + dt3
        # line 23: if s > 5:
        if s > 5:
            # line 24: break
            break
    # line 25: return s
    return (s, ds)
