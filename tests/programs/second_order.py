import math
import numpy as np

def f(x):
    s = x
    for i in range(3):
        s = s * math.sin(s) + x
    return s

def g(x, y):
    return x * x * y + math.exp(x * y)

def h(x):
    return np.sum(np.sin(x) * x[::-1]) + np.sum(x) ** 2
