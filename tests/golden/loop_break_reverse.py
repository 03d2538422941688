def loop_break_grad(x):
    # sct reverse mode (gradient program) of loop_break(x), control_flow.py:19
    # with respect to x; the adjoint of the result is 1.0
    # returns (loop_break(x), x_bar)
    # specialised for x scalar
    # -- forward sweep
    tape = []
    # line 20: s = x
    s = x
    # line 21: for i in range(10):
    t1 = range(10)
    iters = 0
    for i in t1:
        iters = iters + 1
        # line 22: s = s * 1.1 + math.sin(s)
        tape.append(s)
        s = s * 1.1 + math.sin(s)
        # line 23: if s > 5:
        if s > 5:
            # line 24: break
            break
    # line 25: return s
    value = s
    # -- backward sweep
    # line 25: return s
    s_bar = 1.0
    # line 21: for i in range(10):
    for i in reversed(t1[:iters]):
        # line 22: s = s * 1.1 + math.sin(s)
        t2_bar = s_bar
        s = tape.pop()
        s_bar = s_bar * math.cos(s)
        s_bar = s_bar + t2_bar * 1.1
    return (value, s_bar)
