import math
import numpy as np

def branches(x, y):
    if x > 0 and y > 0:
        z = x * y
    elif x < -1:
        z = -x
    else:
        z = math.exp(x) + y
    return z * z

def loop_range(x, n=5):
    s = 0.0
    for i in range(n):
        s = s + x ** i / (i + 1)
    return s

def loop_break(x):
    s = x
    for i in range(10):
        s = s * 1.1 + math.sin(s)
        if s > 5:
            break
    return s

def loop_continue(x):
    s = 0.0
    for i in range(6):
        if i % 2 == 0:
            continue
        s += x * i
    return s

def while_loop(x):
    y = x
    k = 0
    while y < 10.0:
        y = y * 1.5 + 0.1
        k += 1
    return y

def early_return(x):
    if x > 1:
        return x * x
    y = math.sin(x)
    return y * 2

def return_in_loop(x):
    s = x
    for i in range(10):
        s = s * 1.3
        if s > 4:
            return s * 100
    return s

def newton_sqrt(a):
    x = a
    for _ in range(20):
        x = 0.5 * (x + a / x)
    return x

def swap(x, y):
    a, b = x, y
    for _ in range(3):
        a, b = b, a * b
    return a + b

def lists(x):
    xs = []
    for i in range(4):
        xs.append(x * i)
    t = 0.0
    for v in xs:
        t = t + v * v
    return t + xs[-1] + sum(xs)

def ternary(x):
    y = x * 2 if x > 0 else -x
    return y if not (y < 0.5) else 0.0

def helper(a, b=2.0):
    return a * b + math.cos(a)

def calls(x, y):
    return helper(x) + helper(y, b=x)

def fact(x, n):
    if n == 0:
        return 1.0
    return x * fact(x, n - 1)

def rec(x):
    return fact(x, 4)

def mathy(x, y):
    return math.atan2(y, x) + math.hypot(x, y) + math.log(x, 3) + math.tanh(x) + abs(y) + max(x, y) + min(x, y) + math.pow(x, 2.5) + math.log1p(x) + math.expm1(y) + math.sqrt(x)

def int_arg(x):
    return x * x

def comp(x):
    return sum([x * i for i in range(4)])

def chained(x):
    if 0 < x < 2:
        return x * 3
    return x

def nested_loops(x):
    s = 0.0
    for i in range(3):
        for j in range(3):
            if j > i:
                break
            s = s + x * (i + j) + s * 0.1
    return s

def augmented(x):
    y = x
    y *= 3.0
    y -= x
    y /= 2.0
    y **= 2
    return y

def multiple_returns(x, y):
    if x > y:
        return x - y
    elif x < 0:
        return -x * y
    return x * y


def while_data(x):
    n = 0
    while x < 100.0 and n < 50:
        x = x * x + 1.0
        n += 1
    return x


def loop_over_tuple(x):
    s = 0.0
    for c in (1.0, 2.0, 3.0):
        s = s + c * x * x
    return s


def enumerate_zip(x, y):
    xs = [x, y, x * y]
    ws = [0.5, 1.5, 2.5]
    s = 0.0
    for i, v in enumerate(xs):
        s = s + v * i
    for v, w in zip(xs, ws):
        s = s + v * w
    return s


def shadowing(x):
    y = x * 2
    y = math.sin(y)
    x = y + x
    x = x * x
    return x


def not_and_or(x):
    big = x > 1.0
    if not big or x > 3.0:
        return x * 5.0
    return x


def conditional_expr(x, y):
    return (x if x > y else y) * (x - y if x > 0 else y - x)


def outer_scale(k):
    def scaled(x):
        return k * x * x
    return scaled


scale3 = outer_scale(3.0)


def closure_user(x):
    return scale3(x) + x


def helper_kw(a, *, power=2.0, offset=0.0):
    return a ** power + offset


def keyword_calls(x, y):
    return helper_kw(x, power=3.0) + helper_kw(y, offset=x)


def even(n, x):
    if n == 0:
        return x
    return odd(n - 1, x * 1.1)


def odd(n, x):
    if n == 0:
        return x * x
    return even(n - 1, math.sin(x))


def mutual(x):
    return even(5, x)


def defaults(x, y=2.0, n=3):
    s = x
    for _ in range(n):
        s = s * y
    return s


def inactive_branch(x, flag=True):
    if flag:
        return x * 3.0
    return 0.0


def constant_output(x):
    return 4.0


def pow_int(x):
    return x ** 3 + 2 ** x + x ** 0.5


def break_in_while(x):
    i = 0
    while True:
        x = x * 1.2
        i += 1
        if i >= 4:
            break
    return x


def continue_nested(x):
    s = 0.0
    for i in range(4):
        for j in range(4):
            if (i + j) % 3 == 0:
                continue
            if j > i:
                break
            s = s + x * i - j * s * 0.1
    return s


def list_index_write(x):
    ys = [0.0] * 4
    for i in range(4):
        ys[i] = x * (i + 1)
    ys[2] = ys[1] * ys[3]
    return ys[0] + ys[2]
