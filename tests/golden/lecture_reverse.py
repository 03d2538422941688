def f_grad(x1, x2):
    # sct reverse mode (gradient program) of f(x1, x2), lecture.py:5
    # with respect to x1, x2; the adjoint of the result is 1.0
    # returns (f(x1, x2), x1_bar, x2_bar)
    # specialised for x1 scalar, x2 scalar
    # -- forward sweep
    # line 6: return x1 * x2 + math.sin(x1)
    t3 = x1 * x2 + math.sin(x1)
    # -- backward sweep
    # line 6: return x1 * x2 + math.sin(x1)
    x1_bar = math.cos(x1)
    x1_bar = x1_bar + x2
    x2_bar = x1
    return (t3, x1_bar, x2_bar)
