def newton_sqrt_grad(a):
    # sct reverse mode (gradient program) of newton_sqrt(a), control_flow.py:57
    # with respect to a; the adjoint of the result is 1.0
    # returns (newton_sqrt(a), a_bar)
    # specialised for a scalar
    # -- forward sweep
    tape = []
    # line 58: x = a
    x = a
    # line 59: for _ in range(20):
    t1 = range(20)
    for _ in t1:
        # line 60: x = 0.5 * (x + a / x)
        tape.append(x)
        x = 0.5 * (x + a / x)
    # line 61: return x
    value = x
    # -- backward sweep
    # line 61: return x
    x_bar = 1.0
    a_bar = 0.0
    # line 59: for _ in range(20):
    for _ in reversed(t1):
        # line 60: x = 0.5 * (x + a / x)
        t3_bar = x_bar * 0.5
        x = tape.pop()
        a_bar = a_bar + t3_bar / x
        x_bar = t3_bar - t3_bar * (a / x) / x
    # line 58: x = a
    a_bar = a_bar + x_bar
    return (value, a_bar)
