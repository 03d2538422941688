import math


def three_address(x, y):
    z = x * y + math.sin(x) / y
    z += 1.0
    return z


def exits(x):
    for i in range(3):
        if x > 2.0:
            continue
        if x < -2.0:
            return x
        x = x * 2.0
    return x + 1.0


def activity(x, y, n):
    a = x * 2.0          # varied and useful
    b = y * 3.0          # useful, not varied (y is not a wrt input)
    c = x * x            # varied, not useful
    k = n + 1            # neither
    return a * b + k
