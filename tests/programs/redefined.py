def helper(x):
    return x * x


def uses_helper(x):
    return helper(x) + x


def cubic(x):
    return x ** 3
