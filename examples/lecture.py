"""The lecture's example, differentiated by sct in both modes, and a Newton iteration.

Run: python examples/lecture.py
"""
import math

import sct


def f(x1, x2):
    return x1 * x2 + math.sin(x1)


def newton_sqrt(a):
    """sqrt(a) by 20 Newton steps; its derivative is 1 / (2 sqrt(a))."""
    x = a
    for _ in range(20):
        x = 0.5 * (x + a / x)
    return x


def main() -> None:
    x1, x2 = 0.7, -1.3
    forward = sct.jvp(f, wrt=(0, 1))
    value, tangent = forward(x1, x2, 1.0, 0.0)
    print("forward mode (the dual program), seeded with dx1 = 1, dx2 = 0:")
    print(sct.source(forward))
    print(f"f = {value:.6f}, df/dx1 = {tangent:.6f}\n")

    reverse = sct.grad(f, wrt=(0, 1))
    g1, g2 = reverse(x1, x2)
    print("reverse mode (the adjoint program): a forward sweep, then a backward sweep:")
    print(sct.source(reverse))
    print(f"df/dx1 = {g1:.6f}, df/dx2 = {g2:.6f}  (by hand: {x2 + math.cos(x1):.6f}, {x1:.6f})\n")

    d = sct.grad(newton_sqrt)
    print("Newton's method for sqrt(a), 20 iterations, differentiated in reverse mode:")
    print(sct.source(d, 2.0))  # the program specialised for a float argument
    for a in (2.0, 9.0):
        print(f"d/da newton_sqrt({a}) = {d(a):.12f}   1/(2 sqrt(a)) = {1 / (2 * math.sqrt(a)):.12f}")


if __name__ == "__main__":
    main()
