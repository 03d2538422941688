"""Write docs/coverage.md, the table of sct's derivative rules, from the rule registry.

    python tools/rule_table.py           # write docs/coverage.md and print it
    python tools/rule_table.py --check   # exit 1 if docs/coverage.md is out of date

Every row comes from ``sct.rules.REGISTRY``: a function is listed with a ✓ for
reverse mode when it has an adjoint rule and for forward mode when it has a
tangent rule.  The notes are the first line of the rule's docstring (where a
rule has a limitation or a convention worth knowing), the array methods and
attributes that reach it, and the rule it shares (aliases).  The functions
declared non-differentiable follow.  Nothing here is written by hand, so the
table cannot drift from the code.
"""
from __future__ import annotations

import argparse
import inspect
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sct.rules import REGISTRY  # noqa: E402
from sct.rules.registry import _display_name  # noqa: E402

OUTPUT = ROOT / "docs" / "coverage.md"

NAMESPACES = ["operators", "builtins", "math", "numpy", "numpy.linalg", "array methods and attributes",
              "sct runtime (for second derivatives)"]


def namespace(rule) -> str:
    name = rule.name
    module = getattr(rule.primal, "__module__", None) or ""
    if name.startswith("np.linalg."):
        return "numpy.linalg"
    if name.startswith("np."):
        return "numpy"
    if name.startswith("math."):
        return "math"
    if module in ("operator", "_operator"):
        return "operators"
    if module in ("builtins", "sct.rules.builtins"):
        return "builtins"
    if module.startswith("sct.runtime"):
        return "sct runtime (for second derivatives)"
    if module in ("sct.rules.numpy", "sct.rules.linalg"):
        return "array methods and attributes"
    return module or "other"


def display(rule, methods: dict, attributes: dict) -> str:
    """How users write the call: ``np.sum``, ``+``, ``x.reshape(...)``, ``result.logabsdet``."""
    key = REGISTRY.key(rule.primal)
    if namespace(rule) == "array methods and attributes":
        if key in attributes:
            return " ".join(f"`x.{a}`" for a in attributes[key])
        if key in methods:
            return " ".join(f"`x.{m}(...)`" for m in methods[key])
    if namespace(rule) == "sct runtime (for second derivatives)":
        return f"`{rule.primal.__name__}`"
    return f"`{rule.name}`"


def doc_note(rule) -> str:
    for fn in (rule.adjoint, rule.tangent):
        doc = inspect.getdoc(fn) if fn is not None else None
        if doc:
            return doc.strip().splitlines()[0]
    return ""


def rows():
    """(namespace, function, has adjoint, has tangent, notes), one per function users call."""
    methods, attributes = defaultdict(list), defaultdict(list)
    for name, primal in REGISTRY.methods.items():
        methods[REGISTRY.key(primal)].append(name)
    for name, primal in REGISTRY.attributes.items():
        attributes[REGISTRY.key(primal)].append(name)
    by_adjoint = defaultdict(list)
    for rule in REGISTRY.rules.values():
        if rule.adjoint is not None:
            by_adjoint[rule.adjoint].append(rule)

    merged: dict[tuple[str, str], dict] = {}
    for rule in REGISTRY.rules.values():
        if rule.select is not None and rule.adjoint is None and rule.tangent is None:
            continue  # an overloaded primal: its variants are listed
        ns, fn = namespace(rule), display(rule, methods, attributes)
        row = merged.setdefault((ns, fn), {"adjoint": False, "tangent": False, "notes": [], "variants": 0})
        row["adjoint"] |= rule.adjoint is not None
        row["tangent"] |= rule.tangent is not None
        row["variants"] += 1
        notes = row["notes"]
        note = doc_note(rule)
        if note and note not in notes:
            notes.append(note)
        if ns != "array methods and attributes":
            key = REGISTRY.key(rule.primal)
            via = [f"`x.{m}(...)`" for m in methods.get(key, [])] + [f"`x.{a}`" for a in attributes.get(key, [])]
            if via:
                notes.append("also " + ", ".join(via))
        if rule.scatter:
            notes.append("scatter rule (updates the whole adjoint)")
        family = by_adjoint.get(rule.adjoint, [])
        if family and family[0] is not rule and family[0].name != rule.name:  # registered first: the original
            notes.append(f"same rule as `{family[0].name}`")
    out = []
    for (ns, fn), row in merged.items():
        notes = list(dict.fromkeys(row["notes"]))
        if row["variants"] > 1:
            notes.insert(0, f"{row['variants']} variants chosen by the call's arguments")
        out.append((ns, fn, row["adjoint"], row["tangent"], "; ".join(notes)))
    order = {n: i for i, n in enumerate(NAMESPACES)}
    return sorted(out, key=lambda r: (order.get(r[0], len(order)), r[1].strip('`').lower()))


def nondifferentiable() -> dict[str, list[str]]:
    groups = defaultdict(list)
    for key in REGISTRY.nondiff:
        if isinstance(key, int):  # an unhashable object registered by id: nothing to show
            continue
        name = _display_name(key).replace("numpy.random.", "np.random.")
        module = getattr(key, "__module__", None) or ""
        doc = inspect.getdoc(key) or ""
        if module.startswith("sct.rules") and doc.startswith("``"):  # a helper standing for a call form
            name = doc.split("``")[1]
            module = "numpy" if name.startswith("np.") else module
        if name.startswith("np.linalg."):
            ns = "numpy.linalg"
        elif name.startswith("np.") or module.startswith("numpy"):
            ns = "numpy"
        elif name.startswith("math."):
            ns = "math"
        elif module in ("operator", "_operator"):
            ns = "operators"
        elif module.startswith("sct"):
            ns = "sct runtime"
        else:
            ns = "builtins"
        groups[ns].append(f"`{name}`")
    groups["array methods"] = [f"`x.{m}()`" for m in REGISTRY.nondiff_methods]
    groups["array attributes"] = [f"`x.{a}`" for a in REGISTRY.nondiff_attributes]
    return {ns: sorted(set(names), key=lambda n: n.strip('`').lower()) for ns, names in groups.items()}


def render() -> str:
    table = rows()
    lines = [
        "# Derivative rules",
        "",
        "Generated from `sct.rules.REGISTRY` by `python tools/rule_table.py`; do not edit by hand.",
        "",
        f"{len(table)} functions have rules: {sum(r[2] for r in table)} in reverse mode (an adjoint rule), "
        f"{sum(r[3] for r in table)} in forward mode (a tangent rule).  A call to a function with neither a "
        "rule nor Python source raises `sct.NoRuleError` naming the function and the line of the call.",
        "",
        "| namespace | function | reverse | forward | notes |",
        "| --- | --- | :-: | :-: | --- |",
    ]
    for ns, fn, adjoint, tangent, notes in table:
        lines.append(f"| {ns} | {fn} | {'✓' if adjoint else ''} | {'✓' if tangent else ''} | {notes} |")
    lines += [
        "",
        "## Non-differentiable",
        "",
        "These are recognised and contribute no derivative (their results are constants to sct), as do "
        "comparisons, every function of `np.random` and every method of a `np.random.Generator`, "
        "and exception classes.",
        "",
    ]
    for ns, names in sorted(nondifferentiable().items()):
        lines.append(f"* **{ns}**: {', '.join(names)}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/coverage.md is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OUTPUT.read_text() if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT.relative_to(ROOT)} is out of date: run python tools/rule_table.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
