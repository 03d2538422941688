"""The command line: write a derivative program as a file that runs without sct.

    python -m sct path/to/model.py:loglik --wrt means,log_diag --mode reverse -o loglik_grad.py
    python -m sct examples/lecture.py:f --wrt x1,x2 --forward --print
    python -m sct mypackage.model:loglik --kinds X=array,means=array,n=scalar -o loglik_grad.py

The function is named ``file.py:function`` (the file is run as a module, with
its directory first on ``sys.path``) or ``package.module:function``.  ``--kinds``
specialises the program as a call with such arguments would: ``name=kind`` for
kinds ``scalar``, ``array``, ``seq`` (a list or tuple), ``seq[K]`` (a list of items
of kind K: ``seq[scalar]``), ``dict`` or ``dict{'W': array, 'b': scalar}`` (a dict
with these keys), ``record{...}`` (a NamedTuple or dataclass instance) or ``any``;
parameters not named are of any kind (or their default's kind).
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import shlex
import sys

from .errors import TransformError
from .export import KINDS, MODES, export


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sct", description="Write the derivative of a Python function as a stand-alone module "
                                          "(numpy only; sct need not be installed where it runs).")
    parser.add_argument("target", help="path/to/file.py:function or package.module:function")
    parser.add_argument("--wrt", default=None,
                        help="parameters to differentiate with respect to, by name or position, comma-separated "
                             "(default: the first)")
    parser.add_argument("--mode", choices=sorted(MODES), default="reverse",
                        help="reverse: the gradient program f_grad; vjp: f_vjp with an output seed; "
                             "forward: the tangent program f_jvp; batched: f_jvp_batched, whose tangents carry a "
                             "leading axis of directions (default: reverse)")
    parser.add_argument("--forward", action="store_true", help="same as --mode forward")
    parser.add_argument("--kinds", default="",
                        help=f"specialise for these argument kinds: name=kind,... (kinds: {', '.join(KINDS)})")
    parser.add_argument("--calls", choices=("joint", "split"), default=None,
                        help="reverse mode: calls of your other functions in joint mode (their whole adjoint "
                             "program in the backward sweep) or split mode (a forward and a backward sweep "
                             "program each; the default, except inside checkpointed loops)")
    parser.add_argument("-o", "--output", help="the file to write (default: <function>_<grad|vjp|jvp>.py)")
    parser.add_argument("--print", action="store_true", dest="print_", help="print the module instead of writing it")
    return parser


def load_function(target: str):
    """The function ``file.py:name`` or ``package.module:name`` names."""
    where, sep, name = target.rpartition(":")
    if not sep or not where or not name:
        raise SystemExit(f"python -m sct: name the function as path/to/file.py:function, got {target!r}")
    if where.endswith(".py") or os.sep in where or "/" in where:
        path = os.path.abspath(where)
        if not os.path.exists(path):
            raise SystemExit(f"python -m sct: no such file: {where}")
        sys.path.insert(0, os.path.dirname(path))
        module_name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    obj = module
    for part in name.split("."):
        if not hasattr(obj, part):
            raise SystemExit(f"python -m sct: {where} defines no {name!r}")
        obj = getattr(obj, part)
    return obj


def _wrt(text: str | None):
    if text is None:
        return 0
    items = [int(t) if t.strip().lstrip("-").isdigit() else t.strip() for t in text.split(",") if t.strip()]
    return tuple(items)


def _top_level_items(text: str) -> list[str]:
    """``text`` split at the commas outside brackets and quotes (a kind like ``dict{'W': array, 'b': array}``
    holds commas of its own)."""
    items, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    return items + [text[start:]]


def _kinds(text: str) -> dict[str, str]:
    out = {}
    for item in filter(None, (t.strip() for t in _top_level_items(text))):
        name, sep, kind = item.partition("=")
        if not sep:
            raise SystemExit(f"python -m sct: --kinds takes name=kind pairs, got {item!r}")
        out[name.strip()] = kind.strip()
    return out


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    mode = "forward" if args.forward else args.mode
    fn = load_function(args.target)
    given = sys.argv[1:] if argv is None else argv
    command = "python -m sct " + " ".join(shlex.quote(a) for a in given if a != "--print")
    try:
        text = export(fn, None, mode=mode, wrt=_wrt(args.wrt), kinds=_kinds(args.kinds) or None, command=command,
                      calls=args.calls if mode != "forward" else None)
    except TransformError as exc:
        print(f"python -m sct: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if args.print_:
        sys.stdout.write(text)
        return 0
    suffix = {"reverse": "grad", "vjp": "vjp", "forward": "jvp", "batched": "jvp_batched"}[mode]
    output = args.output or f"{getattr(fn, '__name__', 'f')}_{suffix}.py"
    with open(output, "w", encoding="utf-8") as out:
        out.write(text)
    print(f"wrote {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
