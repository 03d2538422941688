def helper(x):
    return x * x


def uses_helper(x):
    return helper(x) + x


def cubic(x):
    return x ** 3


SCALE = 2.0


def scaled(x):
    return SCALE * x * x


def uses_later(x):
    return LATER * x  # noqa: F821 - defined by the test after the first call
