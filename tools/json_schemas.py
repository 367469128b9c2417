"""Write the JSON Schemas of gradcalc's --json documents into gradcalc/schemas/ (shipped with the package).

    python tools/json_schemas.py           # write the files
    python tools/json_schemas.py --check   # exit 1 if a committed file is out of date

Each command's schema is self-contained (one file validates its output, the error
object included), so the parts they share are written once here and copied into
each file.  tests/test_schemas.py validates real output against the files, and
checks that they are this script's output.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "gradcalc" / "schemas"
BASE = "https://gradcalc.github.io/gradcalc/schemas/"
DRAFT = "https://json-schema.org/draft/2020-12/schema"

Schema = dict[str, Any]


def obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None, **extra: Any) -> Schema:
    """An object with exactly these keys: the required ones always, the optional ones sometimes."""
    return {
        "type": "object",
        "properties": {**required, **(optional or {})},
        "required": list(required),
        "additionalProperties": False,
        **extra,
    }


def ref(name: str) -> Schema:
    return {"$ref": f"#/$defs/{name}"}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def described(description: str, schema: Schema) -> Schema:
    return {"description": description, **schema}


STRING: Schema = {"type": "string"}
STRING_OR_NULL: Schema = {"type": ["string", "null"]}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
NUMBER_OR_NULL: Schema = described("a float64; null where it is not finite (inf or NaN)", {"type": ["number", "null"]})
STATUS: Schema = described("ok: every check agrees (or differs only at a stated convention)",
                           {"enum": ["ok", "disagree"]})
GRID_OR_NULL: Schema = {"anyOf": [{"type": "null"}, array(array(NUMBER_OR_NULL))]}
SYMPY_STATE: Schema = obj({
    "state": {"enum": ["done", "partial", "skipped", "off"]},
    "reason": STRING_OR_NULL,
    "seconds": {"type": "number"},
})

# ---------------------------------------------------------------------------
# Parts shared by several documents

TENSOR: Schema = described(
    "a number (null where not finite), or a vector or matrix as nested lists of them",
    {"anyOf": [NUMBER_OR_NULL, array(ref("tensor"))]},
)
TEXT_TENSOR: Schema = described(
    "a formula (SymPy's derivative), null where there is none, or nested lists of them for a vector or matrix",
    {"anyOf": [STRING_OR_NULL, array(ref("text_tensor"))]},
)
ERROR_FIELDS: dict[str, Schema] = {
    "message": STRING,
    "kind": described(
        "what went wrong: syntax, name, value, domain, overflow, shape, limit, file, usage, data, answer, "
        "answers, missing (Graphviz), output (a file could not be written), interrupted (a signal), "
        "internal (a bug in gradcalc)",
        {"type": "string", "pattern": "^[a-z_]+$"},
    ),
    "span": described("[start, end) of the mistake in the source, in characters",
                      {"anyOf": [{"type": "null"}, {**array(INTEGER), "minItems": 2, "maxItems": 2}]}),
    "line": {"type": ["integer", "null"]},
    "column": {"type": ["integer", "null"]},
    "hint": STRING_OR_NULL,
    "source": described("<formula>, a file's name, `value N` for the N-th NAME=VALUE argument", STRING_OR_NULL),
}
ERROR_DOC: Schema = obj({
    "error": obj(ERROR_FIELDS, {
        "signal": described("with kind interrupted: SIGINT, SIGTERM or SIGHUP", STRING),
        "progress": described("with kind interrupted, in gradcalc descend: how far it got", {"type": "object"}),
    }),
}, description="Bad input (exit 2), output that could not be written (4), an interruption (128 + N) "
               "or a bug (3): one object, on standard output.")

CHAIN: Schema = obj({
    "output": STRING, "target": STRING, "total_paths": INTEGER,
    "paths": array(obj({
        "factors": array(obj({"gate": STRING, "input": STRING, "local": NUMBER_OR_NULL})),
        "omitted": INTEGER,
        "product": NUMBER_OR_NULL,
    })),
    "note": STRING_OR_NULL, "where": STRING_OR_NULL,
}, description="A wrong answer's chain rule, path by path, and where the answers first go wrong")
ANSWER: Schema = obj({
    "what": {"enum": ["value", "grad", "node", "upstream"]},
    "name": STRING,
    "label": STRING,
    "claimed": described("the answer as typed", STRING),
    "claimed_value": {"type": "number"},
    "true_value": NUMBER_OR_NULL,
    "tolerance": described("the absolute tolerance it was judged by", {"type": "number"}),
    "rule": described("e.g. 2 decimals, or rtol/atol", STRING),
    "ok": BOOLEAN,
    "reason": described("the slip that fits a wrong answer", STRING_OR_NULL),
    "chain": {"anyOf": [{"type": "null"}, ref("chain")]},
})
SHARED_DEFS: dict[str, Schema] = {"tensor": TENSOR, "error_doc": ERROR_DOC}

# ---------------------------------------------------------------------------
# gradcalc grad

NODE: Schema = obj({
    "id": INTEGER, "name": STRING, "kind": {"enum": ["input", "constant", "gate"]},
    "op": STRING_OR_NULL, "expr": STRING, "inputs": array(INTEGER),
    "span": {**array(INTEGER), "minItems": 2, "maxItems": 2},
    "value": ref("tensor"), "upstream": ref("tensor"),
    "local": {"anyOf": [{"type": "null"}, array(ref("tensor"))]},
    "downstream": {"anyOf": [{"type": "null"}, array(ref("tensor"))]},
    "pattern": STRING,
})
VARIABLE_CHECK: Schema = obj({
    "name": STRING, "value": ref("tensor"), "gradient": ref("tensor"), "forward": ref("tensor"),
    "sympy": ref("tensor"), "derivative": ref("text_tensor"), "numeric": ref("tensor"),
    "status": {"enum": ["agree", "kink", "disagree", "nonfinite", "undecided"]},
    "checked": {"enum": ["each", "direction"]},
    "disagreeing": array(STRING), "notes": array(STRING),
})
TOLERANCE: Schema = obj({"rtol": {"type": "number"}, "atol": {"type": "number"}}, {"step": STRING})
CHECKS: Schema = obj({
    "ok": BOOLEAN,
    "variables": array(VARIABLE_CHECK),
    "sympy": SYMPY_STATE,
    "numeric": described("whether the central difference was asked for", BOOLEAN),
    "directional": {"anyOf": [{"type": "null"}, obj({
        "direction": STRING, "reverse": NUMBER_OR_NULL, "forward": NUMBER_OR_NULL, "numeric": NUMBER_OR_NULL,
        "numeric_note": STRING_OR_NULL, "agree": BOOLEAN,
    })]},
    "tolerances": obj({"forward": TOLERANCE, "sympy": TOLERANCE, "numeric": TOLERANCE}),
})
FACTOR: Schema = obj({"of": STRING, "by": STRING, "value": NUMBER_OR_NULL}, {"through": array(STRING)})
EXPLANATION: Schema = obj({
    "output": STRING,
    "gates": array(obj({
        "node": INTEGER, "gate": STRING, "pattern": STRING,
        "local": array(obj({"by": STRING, "formula": STRING_OR_NULL, "value": NUMBER_OR_NULL})),
    })),
    "collapsed": array(ref("factor")),
    "variables": array(obj({
        "name": STRING, "gradient": NUMBER_OR_NULL, "paths_total": INTEGER,
        "paths": array(obj({"factors": array(ref("factor")), "product": NUMBER_OR_NULL})),
        "rest": NUMBER_OR_NULL,
        "fanout": array(obj({"node": STRING, "uses": INTEGER})),
    })),
    "omitted_variables": INTEGER, "omitted_gates": INTEGER, "note": STRING_OR_NULL,
}, description="--explain: the chain rule for each variable, path by path")
GRAD_RESULT: Schema = obj(
    {
        "schema": described("the version of this document's layout", {"const": 1}),
        "output": described("the output's name: f, or a program's name for it", STRING),
        "value": NUMBER_OR_NULL,
        "gradients": described("variable → ∂output/∂variable", {"type": "object",
                                                                 "additionalProperties": ref("tensor")}),
        "status": STATUS,
    },
    {
        "gradient_status": described("only when a gradient is not finite: variable → what its null stands for",
                                     {"type": "object", "additionalProperties": {"enum": ["inf", "-inf", "nan"]}}),
        "formula": STRING,
        "inputs": {"type": "object", "additionalProperties": ref("tensor")},
        "nodes": described("every node in evaluation order", array(NODE)),
        "checks": CHECKS,
        "conventions": array(obj({"node": INTEGER, "name": STRING, "note": STRING, "variables": array(STRING)})),
        "conventions_more": INTEGER,
        "tie": {"enum": ["split", "first", "all"]},
        "warnings": array(STRING),
        "explanation": EXPLANATION,
        "answers": described("--expect...: each answer judged", array(ref("answer"))),
        "answers_right": INTEGER,
        "learning_rate": {"type": "number"},
        "updated": described("--lr: variable → its value after one step of gradient descent",
                             {"type": "object", "additionalProperties": ref("tensor")}),
    },
    description="gradcalc grad --json (with --brief, only the required keys and gradient_status)",
    dependentRequired={"nodes": ["formula", "inputs", "checks", "conventions", "conventions_more", "tie",
                                 "warnings"],
                       "answers": ["answers_right"], "updated": ["learning_rate"]},
)
GRAD_ORDER: Schema = obj({
    "formula": STRING, "variable": STRING, "at": NUMBER_OR_NULL, "order": INTEGER,
    "derivatives": described("f, f′, f″, ...", array(NUMBER_OR_NULL)),
    "sympy": {"anyOf": [{"type": "null"}, array(NUMBER_OR_NULL)]},
    "formulas": array(STRING_OR_NULL),
    "disagreeing": described("the orders whose SymPy value differs", array(INTEGER)),
    "sympy_reason": STRING_OR_NULL,
    "status": STATUS,
}, description="gradcalc grad --order N --json: a function of one variable and its derivatives")

FORMULA: Schema = described("a formula in gradcalc's syntax (gradcalc parses it back); null: too long to write out",
                            STRING_OR_NULL)
FORMULA_PAIR: Schema = obj({"input": STRING, "gradient": FORMULA})
GRAD_FORMULAS: Schema = obj({
    "schema": INTEGER, "mode": {"const": "formulas"}, "output": STRING, "formula": STRING,
    "substituted": described("the values put in", {"type": "object", "additionalProperties": {"type": "number"}}),
    "symbols": described("the variables kept symbolic", array(STRING)),
    "value": FORMULA,
    "gradients": described("variable → ∂output/∂variable as a formula", {"type": "object",
                                                                         "additionalProperties": FORMULA}),
    "status": STATUS,
    "nodes": array(obj({
        "label": STRING, "gate": STRING, "value": FORMULA, "upstream": FORMULA,
        "local": array(FORMULA_PAIR), "downstream": array(FORMULA_PAIR), "pattern": STRING,
    })),
    "checks": obj({
        "variables": array(obj({
            "name": STRING, "derived": FORMULA, "simplified": FORMULA, "sympy": STRING_OR_NULL,
            "equal": {"type": ["boolean", "null"]}, "decided_by": {"enum": ["proved", "points", None]},
        })),
        "sympy": obj({"reason": STRING_OR_NULL}),
    }),
}, {"warnings": array(STRING)}, description="gradcalc grad --json without values: every gradient a formula")

# ---------------------------------------------------------------------------
# The other commands

CHECK_FILE: Schema = obj({
    "schema": {"const": 1},
    "file": STRING, "ok": BOOLEAN, "right": INTEGER, "total": INTEGER,
    "errors": described("problems that could not be graded", INTEGER),
    "problems": array(obj(
        {
            "name": STRING, "index": INTEGER, "line": {"type": ["integer", "null"]},
            "status": {"enum": ["ok", "wrong", "error"]},
            "right": INTEGER, "total": INTEGER,
            "answers": array(ref("answer")),
            "error": {"anyOf": [{"type": "null"}, obj({**ERROR_FIELDS, "where": described("file:line:column",
                                                                                           STRING)})]},
            "warnings": array(STRING),
        },
        {"output": STRING, "value": NUMBER_OR_NULL, "checks_ok": BOOLEAN, "sympy": SYMPY_STATE},
    )),
}, description="gradcalc check --json: every problem of an answer file, graded")
VECTOR_OR_NULL: Schema = {"anyOf": [{"type": "null"}, array(NUMBER_OR_NULL)]}
HESSIAN: Schema = obj({
    "formula": STRING, "output": STRING, "value": NUMBER_OR_NULL,
    "variables": described("rows and columns in order; a vector's or matrix's elements as v[0], W[0, 1]",
                           array(STRING)),
    "gradient": array(NUMBER_OR_NULL),
    "hessian": described("rows by reverse mode over the gradient graph; null with hvp",
                         {"anyOf": [{"type": "null"}, array(array(NUMBER_OR_NULL))]}),
    "forward": GRID_OR_NULL, "numeric": GRID_OR_NULL, "sympy": GRID_OR_NULL,
    "hvp": described("the Hessian times a seeded random direction, instead of the full matrix (--hvp, or many "
                     "variables)", {"anyOf": [{"type": "null"}, obj({
                         "direction": array(NUMBER_OR_NULL), "seed": INTEGER, "value": array(NUMBER_OR_NULL),
                         "why": STRING,
                         "checks": obj({"reverse": VECTOR_OR_NULL, "numeric": VECTOR_OR_NULL,
                                        "step": {"type": ["number", "null"]}, "sympy": VECTOR_OR_NULL}),
                     })]}),
    "symmetric": BOOLEAN, "eigenvalues": VECTOR_OR_NULL,
    "definiteness": STRING, "meaning": STRING,
    "checks": obj({"ok": BOOLEAN, "disagreeing": array(STRING), "sympy_reason": STRING_OR_NULL}),
    "conventions": array(STRING), "status": STATUS,
}, description="gradcalc hessian --json")
JACOBIAN: Schema = obj({
    "formula": STRING, "output": STRING, "value": ref("tensor"),
    "rows": array(STRING), "columns": array(STRING),
    "jacobian": described("rows by reverse mode", array(array(NUMBER_OR_NULL))),
    "forward": array(array(NUMBER_OR_NULL)), "numeric": GRID_OR_NULL,
    "checks": obj({"forward_agrees": BOOLEAN, "numeric_agrees": {"type": ["boolean", "null"]}}),
    "conventions": array(STRING), "status": STATUS,
}, description="gradcalc jacobian --json")
TRACE: Schema = obj(
    {
        "mode": {"enum": ["forward", "reverse"]},
        "formula": STRING,
        "inputs": described("without a value, a variable stands for itself: its name",
                            {"type": "object", "additionalProperties": ref("traced")}),
        "output": obj({"name": STRING, "label": STRING, "value": ref("traced")}),
        "rows": array(obj(
            {"name": STRING, "symbol": STRING, "label": STRING, "expr": STRING, "value": ref("traced")},
            {"tangent_expr": STRING, "tangent": ref("traced"), "adjoint": ref("traced")},
        )),
    },
    {
        "seed": described("forward mode: the input whose tangent is 1", STRING),
        "derivative": described("forward mode: ∂output/∂seed", ref("traced")),
        "steps": described("reverse mode: the adjoint steps, one per edge", array(obj({
            "name": STRING, "symbol": STRING, "from": STRING, "expr": STRING, "value": ref("traced"),
        }))),
        "gradients": described("reverse mode: input → ∂output/∂input",
                               {"type": "object", "additionalProperties": ref("traced")}),

        "warnings": array(STRING),
    },
    description="gradcalc trace --json (reverse mode lists the rows backwards, as the adjoint trace runs)",
    dependentRequired={"seed": ["derivative"], "steps": ["gradients"]},
)
DESCEND: Schema = obj({
    "params": described("parameter → learned value", {"type": "object", "additionalProperties": ref("tensor")}),
    "start": {"type": "object", "additionalProperties": ref("tensor")},
    "loss": NUMBER_OR_NULL, "initial_loss": NUMBER_OR_NULL,
    "iterations": INTEGER, "epochs": {"type": ["integer", "null"]},
    "history": described("the loss after each epoch (each step, without data)", array(NUMBER_OR_NULL)),
    "lr": {"type": "number"}, "batch_size": {"type": ["integer", "null"]}, "rows": {"type": ["integer", "null"]},
    "status": {"enum": ["ok", "diverged"]},
    "diverged": {"anyOf": [{"type": "null"}, obj({
        "epoch": {"type": ["integer", "null"]}, "iteration": INTEGER, "loss": NUMBER_OR_NULL, "gate": STRING_OR_NULL,
    })]},
    "warnings": array(STRING),
}, description="gradcalc descend --json")


def document(name: str, title: str, doc: Schema | None, defs: dict[str, Schema]) -> Schema:
    """A schema file: the command's document or the error object (or the error object alone)."""
    top: Schema = {"$schema": DRAFT, "$id": f"{BASE}{name}.schema.json", "title": title}
    if doc is None:
        return {**top, **ERROR_DOC, "$defs": {}}
    variants = [ref(k) for k in defs if k != "tensor" and k not in HELPERS] + [ref("error_doc")]
    return {**top, "oneOf": variants, "$defs": {**defs, **{k: SHARED_DEFS[k] for k in SHARED_DEFS}}}


HELPERS = {"answer", "chain", "factor", "text_tensor", "traced"}
TRACED: Schema = described("a number, vector or matrix; without values, a formula in gradcalc's syntax",
                           {"anyOf": [ref("tensor"), STRING]})


def schemas() -> dict[str, Schema]:
    answer_defs = {"answer": ANSWER, "chain": CHAIN}
    return {
        "grad": document("grad", "gradcalc grad --json", GRAD_RESULT, {
            "result": GRAD_RESULT, "order": GRAD_ORDER, "formulas": GRAD_FORMULAS,
            "text_tensor": TEXT_TENSOR, "factor": FACTOR, **answer_defs,
        }),
        "check": document("check", "gradcalc check --json", CHECK_FILE, {"file": CHECK_FILE, **answer_defs}),
        "hessian": document("hessian", "gradcalc hessian --json", HESSIAN, {"hessian": HESSIAN}),
        "jacobian": document("jacobian", "gradcalc jacobian --json", JACOBIAN, {"jacobian": JACOBIAN}),
        "trace": document("trace", "gradcalc trace --json", TRACE, {"trace": TRACE, "traced": TRACED}),
        "descend": document("descend", "gradcalc descend --json", DESCEND, {"descend": DESCEND}),
        "error": document("error", "gradcalc's error object (any command, --json)", None, {}),
    }


def files() -> dict[str, str]:
    return {f"{name}.schema.json": json.dumps(s, indent=2, ensure_ascii=False) + "\n" for name, s in schemas().items()}


if __name__ == "__main__":
    wanted = files()
    if "--check" in sys.argv[1:]:
        stale = [n for n, text in wanted.items() if not (OUT / n).is_file() or (OUT / n).read_text("utf-8") != text]
        sys.exit(1 if stale else 0)
    OUT.mkdir(exist_ok=True)
    for name, text in wanted.items():
        (OUT / name).write_text(text, encoding="utf-8")
        print(f"wrote {OUT / name}")
