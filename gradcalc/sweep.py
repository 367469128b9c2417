"""Vectorized passes over large scalar tapes, level by level.

tape.py's passes are one Python loop over the nodes, about a microsecond a
node.  In a large formula most gates do not depend on each other: every
term's ``w*c_i`` of a sum can be computed at once.  A :class:`Sweep` gives each
gate a *level* (0 for variables and constants, one more than the highest of
its inputs' for a gate), groups the gates by (level, op, number of inputs),
and runs each large group as one NumPy call over arrays, with the op rows the
scalar passes use (``op.fwd``, ``op.local``) on a NumPy math namespace.  The
small groups between — one ``+`` per level along the spine of a long sum —
run as the scalar loop on :class:`ScalarMath`, except that a left-leaning
chain of ``+`` and ``-`` is one cumulative sum.

Each pass answers what the scalar pass does, as a plain list indexed by tape
node, with the same conventions (the zero-upstream rule, ties, NaN).  Values
made by + - * / relu abs max min are the loop's to the bit; NumPy's exp, log,
pow, sin ... may differ from the math module's in the last bit, and a
gradient summed from many uses adds them in another order.  NumPy is
imported only when a sweep is built, so small formulas never pay for it.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterator, Mapping
from itertools import chain
from operator import attrgetter
from typing import TYPE_CHECKING, Any, SupportsIndex, overload

from .ops import DEFAULT_TIE, OPS, ScalarMath, chain_product
from .tape import SWEEP_MIN_NODES as SWEEP_MIN_NODES

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from .tape import Node, Tape

# Below SWEEP_MIN_NODES (kept in tape.py, so small tapes never load this module) the loop executor is used.
# A group of fewer gates than this runs as scalar code: one NumPy call costs
# what a few scalar gates do (measured: parallel recurrences of width 6 ran
# faster as scalar code, of width 10 faster vectorized).
VECTOR_MIN_GATES = 8
# A chain of + and - this long inside the small groups runs as one cumulative sum.
CHAIN_MIN_GATES = 8
# When fewer than this share of the gates fall in vectorized groups or chains
# (a deep, narrow tape: an unrolled loop), the sweep would only add its set-up.
MIN_VECTOR_SHARE = 0.25


def sweep_of(tape: Tape, m: Any = None, inputs: Mapping[str, Any] | None = None) -> Sweep | None:
    """The tape's :class:`Sweep` when the vectorized passes apply, else None.

    They apply to a tape of at least ``SWEEP_MIN_NODES`` nodes without vectors
    or matrices, under scalar math (``m`` a :class:`ScalarMath`, whose tie
    convention the sweep takes, or None for any), and, for a forward pass,
    with plain numbers as ``inputs``.  The sweep is built once and kept on the
    tape (False there: built, and not worth it).
    """
    if len(tape.nodes) < SWEEP_MIN_NODES:
        return None
    if m is not None and not isinstance(m, ScalarMath):
        return None
    if inputs is not None and not all(isinstance(v, float | int) for v in inputs.values()):
        return None
    if tape.has_tensors:
        return None
    cached = tape._sweep
    if cached is False:
        return None
    if cached is None or cached.nodes is not tape.nodes or cached.output != tape.output:
        cached = Sweep(tape, m.tie if m is not None else DEFAULT_TIE, min_share=MIN_VECTOR_SHARE)
        if cached.vector_share < MIN_VECTOR_SHARE:
            tape._sweep = False
            return None
    if m is not None:
        cached = cached.for_tie(m.tie)
    tape._sweep = cached
    return cached


def _vector_math(tie: str) -> Any:
    """The array namespace the vectorized groups run on: NumpyMath, whose every op answers what ScalarMath's does."""
    from .tensor import NumpyMath

    return NumpyMath(tie)


class _Group:
    """Gates of one level, one op and one arity: one NumPy call."""

    __slots__ = ("args", "fwd", "local", "out")

    def __init__(self, out: NDArray[Any], args: tuple[NDArray[Any], ...], fwd: Callable[..., Any],
                 local: Callable[..., Any]) -> None:
        self.out = out  # tape indices of the gates
        self.args = args  # tape indices of their k-th inputs, one array per k
        self.fwd = fwd
        self.local = local


class _Run:
    """Gates from small groups, in level order: a scalar loop over a small workspace.

    The workspace is the run's outside inputs (``ext``, ``len(ext)`` slots),
    then its own gates in order; each gate's inputs are workspace slots.
    """

    __slots__ = ("ext", "fwds", "locals", "out", "slots")

    def __init__(self, out: NDArray[Any], ext: NDArray[Any], slots: list[tuple[int, ...]],
                 fwds: list[Callable[..., Any]], locals_: list[Callable[..., Any]]) -> None:
        self.out = out
        self.ext = ext
        self.slots = slots
        self.fwds = fwds
        self.locals = locals_


class _Chain:
    """A left-leaning chain of ``+`` and ``-``: ``out[k] = out[k-1] ± second[k]``, as a cumulative sum."""

    __slots__ = ("first", "out", "second", "sign")

    def __init__(self, out: NDArray[Any], first: int, second: NDArray[Any], sign: NDArray[Any]) -> None:
        self.out = out
        self.first = first  # the first input of out[0]
        self.second = second  # the second input of each
        self.sign = sign  # +1.0 for +, -1.0 for -


_Step = _Group | _Run | _Chain


class Sweep:
    """The schedule of a scalar tape's gates by level, and the passes over it.

    Built once per tape (:func:`sweep_of` keeps it on the tape); every pass
    returns a plain list indexed by tape node, like tape.py's scalar passes.
    """

    def __init__(
        self, tape: Tape, tie: str = DEFAULT_TIE, vector_min: int | None = None, chain_min: int | None = None,
        min_share: float = 0.0,
    ) -> None:
        """``vector_min`` and ``chain_min`` (tests) override VECTOR_MIN_GATES and CHAIN_MIN_GATES.

        Below ``min_share`` of vectorized gates the schedule stops at its levels and
        groups, with no steps: the tape is not worth sweeping (see ``sweep_of``)."""
        import numpy as np

        if tape.has_tensors:
            raise ValueError("a Sweep runs scalar tapes only")
        nodes = tape.nodes
        n = len(nodes)
        self.nodes = nodes
        self.n = n
        self.output = tape.output
        self.tie = tie
        self.m = ScalarMath(tie)
        self.vm = _vector_math(tie)
        # Caches, each holding the list it was made for (compared by identity).
        self._forward: tuple[list[float], NDArray[Any], list[Any]] | None = None
        self._locals: tuple[list[float], NDArray[Any], list[Any]] | None = None
        self._needs: tuple[list[bool], NDArray[Any]] | None = None
        self._finite: tuple[list[float], bool] | None = None

        # The walks over the nodes: which op, and the inputs of each.
        op_ids = np.fromiter(map(id, map(attrgetter("op"), nodes)), np.int64, n)
        _, first, code = np.unique(op_ids, return_index=True, return_inverse=True)
        code = code.reshape(-1)
        table = [nodes[k].op for k in first.tolist()]
        arity, flat = _inputs(nodes, table, code)
        start = np.cumsum(arity) - arity  # each node's first entry in `flat`
        self._flat, self._start, self._arity, self._code, self._table = flat, start, arity, code, table

        # Variables and constants: the nodes without inputs.
        self.var_idx = np.array(sorted(tape.variables.values()), dtype=np.intp)
        self.var_labels = [nodes[i].label for i in self.var_idx.tolist()]
        leaf = arity == 0
        if not leaf[self.var_idx].all():  # pragma: no cover - the builder makes no such tape
            raise ValueError("a variable with inputs")
        leaf[self.var_idx] = False
        self.const_idx = np.flatnonzero(leaf)
        self.const_vals = np.fromiter(
            map(attrgetter("const"), map(nodes.__getitem__, self.const_idx.tolist())), float, len(self.const_idx)
        )

        gates = np.flatnonzero(arity > 0)
        level = self._levels(gates)
        self._gates = gates

        # Group by (level, op, arity); stable, so each group keeps tape order.
        g_arity = arity[gates]
        top = int(g_arity.max(initial=0)) + 1
        key = (level[gates] * len(table) + code[gates]) * top + g_arity
        order = np.argsort(key, kind="stable")
        sched = gates[order]
        skey = key[order]
        starts = np.flatnonzero(np.concatenate(([True], skey[1:] != skey[:-1]))) if len(sched) else np.zeros(0, np.intp)
        sizes = np.diff(np.append(starts, len(sched)))
        big = sizes >= (VECTOR_MIN_GATES if vector_min is None else vector_min)
        chains = self._chains(sched, ~np.repeat(big, sizes), table, CHAIN_MIN_GATES if chain_min is None else chain_min)
        covered = int(sizes[big].sum()) + sum(e - h for h, e in chains)
        self.vector_share = covered / max(1, len(sched))
        self.steps: list[_Step] = []
        if self.vector_share < min_share:  # sweep_of will not use it: spare the runs' set-up (seconds on a long chain)
            return

        # Steps: each big group alone; the small groups between two big ones
        # make one stretch, cut by its chains of + and - into runs and chains.
        seg = np.flatnonzero(np.concatenate(([True], big[1:] | big[:-1]))) if len(starts) else np.zeros(0, np.intp)
        seg_end = np.append(seg[1:], len(starts))
        bounds = np.append(starts, len(sched))
        run_ranges: list[tuple[int, int]] = []
        steps: list[Any] = []
        minus = [k for k, op in enumerate(table) if op is OPS["sub"]]
        c = 0
        for j, j_end in zip(seg.tolist(), seg_end.tolist(), strict=True):
            lo, hi = int(bounds[j]), int(bounds[j_end])
            if big[j]:
                out = sched[lo:hi]
                i0 = int(out[0])
                op = table[int(code[i0])]
                steps.append(_Group(out, tuple(flat[start[out] + k] for k in range(int(arity[i0]))), op.fwd, op.local))
                continue
            while c < len(chains) and chains[c][0] < hi:
                head, end = chains[c]
                if head > lo:
                    steps.append(len(run_ranges))  # a run, made below
                    run_ranges.append((lo, head))
                out = sched[head:end]
                second = flat[start[out] + 1]
                sign = np.where(np.isin(code[out], minus), -1.0, 1.0)
                steps.append(_Chain(out, int(flat[start[out[0]]]), second, sign))
                lo = end
                c += 1
            if lo < hi:
                steps.append(len(run_ranges))
                run_ranges.append((lo, hi))
        runs = self._runs(sched, run_ranges, table)
        self.steps = [runs[s] if isinstance(s, int) else s for s in steps]

    # -- building -------------------------------------------------------

    def _levels(self, gates: NDArray[Any]) -> NDArray[Any]:
        """Each node's level: 0 for leaves, 1 + the highest of its inputs' for gates.

        Rounds of NumPy (after round k every gate whose level is below k has
        it) while many gates settle per round; then the few still rising — the
        long chains — one by one in tape order.
        """
        import numpy as np

        flat, start, arity = self._flat, self._start, self._arity
        n = self.n
        level = np.zeros(n, np.intp)
        g_arity = arity[gates]
        a0 = flat[start[gates]]
        a1 = np.where(g_arity >= 2, flat[np.minimum(start[gates] + 1, max(0, len(flat) - 1))], a0)
        wide = np.flatnonzero(g_arity > 2)
        extra = g_arity[wide] - 2
        ex_owner = np.repeat(wide, extra)
        ex_arg = flat[np.repeat(start[gates][wide] + 2, extra) + _ranks(extra)]
        level[gates] = 1
        active = np.arange(len(gates))
        k = 1
        while active.size:
            top = np.maximum(level[a0[active]], level[a1[active]])
            if ex_owner.size:
                most = np.zeros(len(gates), np.intp)
                np.maximum.at(most, ex_owner, level[ex_arg])
                top = np.maximum(top, most[active])
            rising = active[top >= k]
            # Another round pays while it settles many gates for what it scans.
            if active.size - rising.size < rising.size // 10 + 200:
                active = rising
                break
            level[gates[rising]] = k + 1
            active = rising
            k += 1
        if active.size:
            self._tail_levels(level, gates[active], a0[active], a1[active], gates[wide])
        return level

    def _tail_levels(
        self, level: NDArray[Any], tail: NDArray[Any], a0: NDArray[Any], a1: NDArray[Any], wide_gates: NDArray[Any]
    ) -> None:
        """The levels of the gates still rising after the NumPy rounds (``tail``, in tape order).

        Their inputs outside the tail have their levels.  When each tail gate
        has at most one input in the tail — the spine of a long sum, a chain
        of updates — the tail is a forest, and a gate's level is the most, over
        its path towards the root, of (its own inputs' level + 1 + the steps
        from there): prefix maxima by pointer jumping, in log(depth) rounds.
        Otherwise, one by one in tape order.
        """
        import numpy as np

        inside = np.zeros(self.n, bool)
        inside[tail] = True
        in0, in1 = inside[a0], inside[a1]
        merges = in0 & in1 & (a0 != a1)
        if merges.any() or (wide_gates.size and np.isin(tail, wide_gates).any()):
            wide = set(wide_gates.tolist())
            got: dict[int, int] = {}
            get = got.get
            for i, x, y, lx, ly in zip(tail.tolist(), a0.tolist(), a1.tolist(), level[a0].tolist(),
                                       level[a1].tolist(), strict=True):
                p = get(x, lx)
                q = get(y, ly)
                got[i] = (p if p > q else q) + 1
                if i in wide:
                    got[i] = max(get(j, int(level[j])) for j in self.nodes[i].args) + 1
            level[tail] = np.fromiter(got.values(), np.intp, len(got))
            return
        # Each gate's own level from outside the tail, and its parent (its input in the tail), by position.
        base = np.maximum(np.where(in0, 0, level[a0]), np.where(in1, 0, level[a1])) + 1
        parent = np.where(in0, np.searchsorted(tail, a0), np.where(in1, np.searchsorted(tail, a1), -1))
        steps = np.arange(len(tail))
        if parent[0] < 0 and bool((parent[1:] == steps[:-1]).all()):  # one path, each gate on the one before
            level[tail] = np.maximum.accumulate(base - steps) + steps
            return
        depth = (parent >= 0).astype(np.intp)
        up = parent.copy()
        while True:  # steps to the root
            has = np.flatnonzero(up >= 0)
            if not has.size:
                break
            depth[has] += depth[up[has]]
            up[has] = up[up[has]]
        best = base - depth
        up = parent
        while True:  # the most of (base - depth) from the root down to each gate
            has = np.flatnonzero(up >= 0)
            if not has.size:
                break
            best[has] = np.maximum(best[has], best[up[has]])
            up[has] = up[up[has]]
        level[tail] = best + depth

    def _chains(
        self, sched: NDArray[Any], small: NDArray[Any], table: list[Any], shortest: int
    ) -> list[tuple[int, int]]:
        """Stretches ``sched[head:end]`` of small-group gates that are one left-leaning sum.

        Each is a ``+`` or ``-`` whose first input is the gate just before it
        and whose second input comes before the stretch: ``((a + b) - c) + d``,
        the spine of a long sum.  Its values are a cumulative sum, added in the
        same order as the scalar loop adds them.
        """
        import numpy as np

        flat, start, code = self._flat, self._start, self._code
        sums = [c for c, op in enumerate(table) if op is OPS["add"] or op is OPS["sub"]]
        if not sums:
            return []
        at = np.flatnonzero(small)  # only small groups' gates: positions in the schedule
        at = at[np.isin(code[sched[at]], sums)]
        if len(at) < shortest:
            return []
        gate = sched[at]
        first = flat[start[gate]]
        second = flat[start[gate] + 1]
        # A link: the + or - right after another in the schedule, on it.
        link = np.zeros(len(at), bool)
        link[1:] = (at[1:] == at[:-1] + 1) & (first[1:] == gate[:-1])
        order = np.argsort(gate)
        found = np.searchsorted(gate, second, sorter=order)  # a second input that is one of these gates, and where
        found = order[np.minimum(found, len(gate) - 1)]
        inner = np.where(gate[found] == second, found, -1)
        while True:  # a second input made inside the stretch cuts it there
            head = np.maximum.accumulate(np.where(link, 0, np.arange(len(at))))
            late = link & (inner >= head)
            if not late.any():
                break
            link[late] = False
        heads = np.flatnonzero(~link[:-1] & link[1:])
        ends = np.flatnonzero(link[:-1] & ~link[1:]) + 1
        if len(ends) < len(heads):
            ends = np.append(ends, len(at))
        return [
            (int(at[h]), int(at[e - 1]) + 1)
            for h, e in zip(heads.tolist(), ends.tolist(), strict=True)
            if e - h >= shortest
        ]

    def _runs(self, sched: NDArray[Any], ranges: list[tuple[int, int]], table: list[Any]) -> list[_Run]:
        """The scalar runs over ``sched[lo:hi]`` for each range, with their workspace slots."""
        import numpy as np

        if not ranges:
            return []
        flat, start, arity, code = self._flat, self._start, self._arity, self._code
        n = self.n
        lo = np.array([r[0] for r in ranges], np.intp)
        size = np.array([r[1] - r[0] for r in ranges], np.intp)
        pos = _spans(lo, size)
        nodes = sched[pos]  # the runs' gates, run after run
        run = np.repeat(np.arange(len(ranges)), size)
        first = np.cumsum(size) - size
        place = np.arange(len(nodes)) - np.repeat(first, size)  # position inside its run
        count = arity[nodes]
        owner = np.repeat(np.arange(len(nodes)), count)
        arg = flat[np.repeat(start[nodes], count) + _ranks(count)]
        run_of = np.full(n, -1, np.intp)
        run_of[nodes] = run
        place_of = np.zeros(n, np.intp)
        place_of[nodes] = place
        edge_run = run[owner]
        inside = run_of[arg] == edge_run
        outside = ~inside
        # Outside inputs: once per run, in node order; their slots come first.
        keys = edge_run[outside] * n + arg[outside]
        uniq, back = np.unique(keys, return_inverse=True)
        ext_run = uniq // n
        ext_node = uniq % n
        n_ext = np.bincount(ext_run, minlength=len(ranges))
        ext_first = np.cumsum(n_ext) - n_ext
        slot = np.empty(len(arg), np.intp)
        slot[outside] = back.reshape(-1) - ext_first[ext_run[back.reshape(-1)]]
        slot[inside] = n_ext[edge_run[inside]] + place_of[arg[inside]]
        flat_slots = slot.tolist()
        slots: list[tuple[int, ...]]
        if bool((count == 2).all()):
            slots = list(zip(flat_slots[0::2], flat_slots[1::2], strict=True))
        else:
            offsets = (np.cumsum(count) - count).tolist()
            slots = [tuple(flat_slots[o : o + c]) for o, c in zip(offsets, count.tolist(), strict=True)]
        fwd_of: list[Any] = [op.fwd if op is not None else None for op in table]
        local_of: list[Any] = [op.local if op is not None else None for op in table]
        codes = code[nodes].tolist()
        fwds = list(map(fwd_of.__getitem__, codes))
        locals_ = list(map(local_of.__getitem__, codes))
        out = []
        ext_bounds = np.append(ext_first, len(uniq)).tolist()
        for r, (a, b) in enumerate(zip(first.tolist(), (first + size).tolist(), strict=True)):
            out.append(_Run(nodes[a:b], ext_node[ext_bounds[r] : ext_bounds[r + 1]], slots[a:b], fwds[a:b],
                            locals_[a:b]))
        return out

    def for_tie(self, tie: str) -> Sweep:
        """This sweep under another tie convention, sharing the schedule."""
        if tie == self.tie:
            return self
        other = copy.copy(self)
        other.tie = tie
        other.m = ScalarMath(tie)
        other.vm = _vector_math(tie)
        other._locals = None  # max and min's local gradients depend on the tie
        return other

    # -- the passes -------------------------------------------------------

    def forward(self, inputs: Mapping[str, float]) -> list[float]:
        """Every node's value: ``passes.forward(tape, inputs, ScalarMath(tie))``."""
        values, gathered = self._forward_array(inputs)
        vals = values.tolist()
        self._forward = (vals, values, gathered)
        return vals

    def output_value(self, inputs: Mapping[str, float]) -> float:
        """The output's value alone (a central difference's), with no list of every value and no cache."""
        return float(self._forward_array(inputs)[0][self.output])

    def _forward_array(self, inputs: Mapping[str, float]) -> tuple[NDArray[Any], list[Any]]:
        """Every node's value as an array, and the inputs each group gathered (the reverse pass reuses them)."""
        import numpy as np

        values = np.empty(self.n)
        values[self.var_idx] = [float(inputs[label]) for label in self.var_labels]
        values[self.const_idx] = self.const_vals
        m, vm = self.m, self.vm
        gathered: list[Any] = []
        with np.errstate(all="ignore"):
            for step in self.steps:
                if isinstance(step, _Group):
                    xs = [values[a] for a in step.args]
                    gathered.append(xs)
                    values[step.out] = step.fwd(vm, *xs)
                    continue
                gathered.append(None)
                if isinstance(step, _Chain):
                    values[step.out] = _chain_sum(values, step)
                    continue
                w = values[step.ext].tolist()
                put = w.append
                for fwd, s in zip(step.fwds, step.slots, strict=True):
                    if len(s) == 2:
                        put(fwd(m, w[s[0]], w[s[1]]))
                    elif len(s) == 1:
                        put(fwd(m, w[s[0]]))
                    else:
                        put(fwd(m, *[w[j] for j in s]))
                values[step.out] = w[len(step.ext) :]
        return values, gathered

    def values_array(self, vals: list[float]) -> NDArray[Any] | None:
        """The array behind ``vals`` when they are this schedule's latest forward values, else None."""
        cached = self._forward
        return cached[1] if cached is not None and cached[0] is vals else None

    def needs(self) -> list[bool]:
        """``tape.needs_grad()``: nodes that depend on a variable and that the output depends on."""
        return list(self._needs_of(None)[0])

    def _needs_of(self, needs: list[bool] | None) -> tuple[list[bool], NDArray[Any]]:
        import numpy as np

        if needs is not None and self._needs is not None and (needs is self._needs[0] or needs == self._needs[0]):
            return self._needs
        if needs is not None:
            return needs, np.array(needs, dtype=bool)
        if self._needs is not None:
            return self._needs
        depends = np.zeros(self.n, bool)
        depends[self.var_idx] = True
        for step in self.steps:
            if isinstance(step, _Group):
                d = depends[step.args[0]]
                for a in step.args[1:]:
                    d = d | depends[a]
                depends[step.out] = d
                continue
            if isinstance(step, _Chain):
                ors = np.concatenate((depends[step.first : step.first + 1], depends[step.second]))
                depends[step.out] = np.logical_or.accumulate(ors)[1:]
                continue
            w = depends[step.ext].tolist()
            put = w.append
            for s in step.slots:
                put(any([w[j] for j in s]))
            depends[step.out] = w[len(step.ext) :]
        used = np.zeros(self.n, bool)
        used[self.output] = True
        for step in reversed(self.steps):
            if isinstance(step, _Group):
                u = used[step.out]
                if u.any():
                    for a in step.args:
                        used[a[u]] = True
                continue
            if isinstance(step, _Chain):
                u = np.logical_or.accumulate(used[step.out][::-1])[::-1]
                used[step.out] = u
                used[step.first] |= u[0]
                used[step.second[u]] = True
                continue
            e = len(step.ext)
            w = [False] * e + used[step.out].tolist()
            for k in range(len(step.slots) - 1, -1, -1):
                if w[e + k]:
                    for j in step.slots[k]:
                        w[j] = True
            used[step.ext] |= np.array(w[:e], dtype=bool)
            used[step.out] = w[e:]
        mask = depends & used
        self._needs = (mask.tolist(), mask)
        return self._needs

    def _values_of(self, vals: list[float]) -> tuple[NDArray[Any], list[Any] | None]:
        """``vals`` as an array, and the inputs gathered for each group when they are the last forward's."""
        import numpy as np

        if self._forward is not None and self._forward[0] is vals:
            return self._forward[1], self._forward[2]
        if self._locals is not None and self._locals[0] is vals:
            return self._locals[1], None
        return np.array(vals, dtype=float), None

    def _locals_of(self, vals: list[float]) -> list[Any]:
        """Every gate's local gradients at ``vals``: per group a tuple of arrays, per run a list of tuples."""
        import numpy as np

        if self._locals is not None and self._locals[0] is vals:
            return self._locals[2]
        values, gathered = self._values_of(vals)
        m, vm = self.m, self.vm
        out: list[Any] = []
        with np.errstate(all="ignore"):
            for k, step in enumerate(self.steps):
                if isinstance(step, _Group):
                    xs = gathered[k] if gathered is not None else [values[a] for a in step.args]
                    loc = step.local(vm, tuple(xs) if len(xs) == 2 else xs, values[step.out])
                    if len(loc) != len(step.args):  # pragma: no cover - a broken op row
                        raise AssertionError(f"{len(loc)} local gradients for {len(step.args)} inputs")
                    out.append(loc)
                    continue
                if isinstance(step, _Chain):  # the local gradients are 1 and ±1
                    out.append(None)
                    continue
                w = values[step.ext].tolist()
                e = len(w)
                w += values[step.out].tolist()
                locs: list[Any] = []
                add = locs.append
                for k2, (local, s) in enumerate(zip(step.locals, step.slots, strict=True)):
                    if len(s) == 2:
                        add(local(m, (w[s[0]], w[s[1]]), w[e + k2]))
                    else:
                        add(local(m, [w[j] for j in s], w[e + k2]))
                out.append(locs)
        self._locals = (vals, values, out)
        return out

    def backward(self, vals: list[float], needs: list[bool], seed: float = 1.0) -> list[float]:
        """∂output/∂node for every node: the grads of the loop executor's ``backward``.

        A node with ``needs`` False receives nothing (its entry is 0, but the
        output's, which is ``seed``); a zero upstream gradient hands back 0,
        even through an infinite local gradient.
        """
        import numpy as np

        locs = self._locals_of(vals)
        _, need = self._needs_of(needs)
        grads = np.zeros(self.n)
        grads[self.output] = seed
        with np.errstate(all="ignore"):
            for k in range(len(self.steps) - 1, -1, -1):
                step = self.steps[k]
                loc = locs[k]
                if isinstance(step, _Group):
                    g = grads[step.out]
                    for a, lg in zip(step.args, loc, strict=True):
                        np.add.at(grads, a, chain_product(g, lg))  # the zero rule: see gradcalc.ops.chain_product
                    continue
                if isinstance(step, _Chain):
                    # Each link hands its whole gradient to the one before: sums from the end.
                    total = np.cumsum(grads[step.out][::-1])[::-1]
                    grads[step.out] = total
                    grads[step.first] += total[0]
                    np.add.at(grads, step.second, step.sign * total)
                    continue
                e = len(step.ext)
                w = [0.0] * e + grads[step.out].tolist()
                for j in range(len(step.slots) - 1, -1, -1):
                    gj = w[e + j]
                    if gj == 0:
                        continue
                    s = step.slots[j]
                    lg = loc[j]
                    for p, lp in zip(s, lg, strict=True):
                        if lp != 0:
                            w[p] += gj * lp
                grads[step.ext] += w[:e]  # each outside input once per run
                grads[step.out] = w[e:]
        grads[~need] = 0.0
        grads[self.output] = seed
        return grads.tolist()

    def jvp(self, vals: list[float], tangents: Mapping[int, float]) -> list[float]:
        """Every node's tangent up to the output: the loop executor's ``jvp``."""
        import numpy as np

        locs = self._locals_of(vals)
        tan = np.zeros(self.n)
        tan[self.var_idx] = [float(tangents.get(i, 0.0)) for i in self.var_idx.tolist()]
        with np.errstate(all="ignore"):
            for step, loc in zip(self.steps, locs, strict=True):
                if isinstance(step, _Group):
                    total: Any = None
                    for a, lg in zip(step.args, loc, strict=True):
                        c = chain_product(tan[a], lg)  # a zero tangent through an infinite local gradient is 0
                        total = c if total is None else total + c
                    tan[step.out] = total
                    continue
                if isinstance(step, _Chain):
                    tan[step.out] = _chain_sum(tan, step)
                    continue
                w = tan[step.ext].tolist()
                put = w.append
                for s, lg in zip(step.slots, loc, strict=True):
                    if len(s) == 2:
                        ta = w[s[0]]
                        tb = w[s[1]]
                        la, lb = lg
                        put((la * ta if ta != 0 and la != 0 else 0.0) + (lb * tb if tb != 0 and lb != 0 else 0.0))
                    else:
                        ts = [w[j] for j in s]
                        put(sum(lp * t for lp, t in zip(lg, ts, strict=True) if t != 0 and lp != 0) if any(ts) else 0.0)
                tan[step.out] = w[len(step.ext) :]
        tan[self.output + 1 :] = 0.0
        return tan.tolist()

    def kink_candidates(self, vals: list[float], needs: list[bool]) -> list[int]:
        """The gates (needed, with a kink rule) where the scalar ``op.kink`` would write a note.

        Each op's own kink rule runs on whole arrays — it answers whether any
        element is at a kink — and is narrowed by halves to the elements that
        are.  The caller asks the scalar rule of these few for the note.
        """
        import numpy as np

        values, _ = self._values_of(vals)
        _, need = self._needs_of(needs)
        gates = self._gates
        found: list[int] = []
        with np.errstate(all="ignore"):
            for c, op in enumerate(self._table):
                if op is None or op.kink is None:
                    continue
                mine = gates[(self._code[gates] == c) & need[gates]]
                for r in np.unique(self._arity[mine]).tolist():
                    idx = mine[self._arity[mine] == r]
                    xs = [values[self._flat[self._start[idx] + k]] for k in range(r)]
                    found.extend(_narrow(op.kink, self.vm, self.m, idx, xs, values[idx]))
        found.sort()
        return found

    def known_finite(self, vals: list[float]) -> bool:
        """True when ``vals`` is the last forward's list and every value in it is finite."""
        import numpy as np

        if self._finite is not None and self._finite[0] is vals:
            return self._finite[1]
        if self._forward is None or self._forward[0] is not vals:
            return False
        ok = bool(np.isfinite(self._forward[1]).all())
        self._finite = (vals, ok)
        return ok

    def lazy_locals(self, vals: list[float], needs: list[bool]) -> LazyLocals:
        return LazyLocals(self.nodes, vals, needs, self.tie)


def _chain_sum(values: NDArray[Any], chain: _Chain) -> NDArray[Any]:
    """The chain's values from its inputs': ``(first ± second[0]) ± second[1] ...``, added left to right.

    ``a - b`` is ``a + (-b)`` exactly in floating point, and a cumulative sum
    adds in order, so these are the scalar loop's values to the bit.
    """
    import numpy as np

    terms = np.empty(len(chain.out) + 1)
    terms[0] = values[chain.first]
    np.multiply(values[chain.second], chain.sign, out=terms[1:])
    return np.cumsum(terms)[1:]


def _inputs(nodes: list[Node], table: list[Any], code: NDArray[Any]) -> tuple[NDArray[Any], NDArray[Any]]:
    """Each node's number of inputs, and all the inputs one node after another.

    The numbers come from the op rows (those of max and min are counted), so
    that the inputs are read in one walk.
    """
    import numpy as np

    claimed = np.array([op.arity if op is not None else 0 for op in table], np.intp)
    arity = claimed[code]
    varied = np.flatnonzero(arity < 0)
    if varied.size:
        arity[varied] = [len(nodes[i].args) for i in varied.tolist()]
    flat = np.fromiter(chain.from_iterable(map(attrgetter("args"), nodes)), np.intp)
    if len(flat) != arity.sum():  # pragma: no cover - a row whose arity its gates do not have
        arity = np.fromiter(map(len, map(attrgetter("args"), nodes)), np.intp, len(nodes))
    return arity, flat


def _narrow(
    kink: Callable[..., Any], vm: Any, m: ScalarMath, idx: NDArray[Any], xs: list[Any], out: NDArray[Any]
) -> list[int]:
    """The elements of ``idx`` where ``kink`` notes something.

    The rule runs on arrays (``vm``) and says whether any element is at a
    kink; where one is, the arrays are halved, down to single gates, which are
    asked as the scalar pass asks them (``m``, floats).  A rule that cannot
    take arrays is asked gate by gate.
    """
    found: list[int] = []
    todo = [(0, len(idx))]
    while todo:
        lo, hi = todo.pop()
        if hi - lo == 1:
            if kink(m, [float(x[lo]) for x in xs], float(out[lo])) is not None:
                found.append(int(idx[lo]))
            continue
        try:
            hit = kink(vm, [x[lo:hi] for x in xs], out[lo:hi]) is not None
        except (TypeError, ValueError):
            todo.extend((k, k + 1) for k in range(hi - 1, lo - 1, -1))
            continue
        if hit:
            mid = (lo + hi) // 2
            todo.append((mid, hi))
            todo.append((lo, mid))
    return found


def _ranks(count: NDArray[Any]) -> NDArray[Any]:
    """0, 1, ..., c-1 for each c in ``count``, concatenated."""
    import numpy as np

    total = int(count.sum())
    return np.arange(total) - np.repeat(np.cumsum(count) - count, count)


def _spans(lo: NDArray[Any], size: NDArray[Any]) -> NDArray[Any]:
    """lo, lo+1, ..., lo+size-1 for each pair, concatenated."""
    import numpy as np

    return np.repeat(lo, size) + _ranks(size)


class LazyLocals(list[tuple[Any, ...] | None]):
    """``Backprop.locals`` of a swept backward pass: each gate's local gradients, made on access.

    ``locals[i]`` is what the scalar pass stores: ``node.op.local(ScalarMath(tie),
    inputs, value)`` for a gate whose gradient is needed, else None.  Any use
    other than reading one entry or the length first fills the whole list.
    """

    def __init__(self, nodes: list[Node], vals: list[float], needs: list[bool], tie: str) -> None:
        super().__init__()
        self._nodes = nodes
        self._vals = vals
        self._needs = needs
        self._m = ScalarMath(tie)
        self._filled = False
        self._last: tuple[int, tuple[Any, ...] | None] = (-1, None)  # the index read last, and its entry

    def entry(self, i: int) -> tuple[Any, ...] | None:
        if not self._needs[i]:
            return None
        node = self._nodes[i]
        args = node.args
        if not args or node.op is None or node.op.local is None:
            return None
        vals = self._vals
        if len(args) == 2:
            return node.op.local(self._m, (vals[args[0]], vals[args[1]]), vals[i])
        return node.op.local(self._m, [vals[j] for j in args], vals[i])

    def fill(self) -> None:
        if not self._filled:
            self._filled = True
            list.extend(self, map(self.entry, range(len(self._nodes))))

    def __len__(self) -> int:
        return len(self._nodes)

    @overload
    def __getitem__(self, i: SupportsIndex) -> tuple[Any, ...] | None: ...

    @overload
    def __getitem__(self, i: slice) -> list[tuple[Any, ...] | None]: ...

    def __getitem__(self, i: SupportsIndex | slice) -> Any:
        if self._filled:
            return list.__getitem__(self, i)
        if isinstance(i, slice):
            self.fill()
            return list.__getitem__(self, i)
        k = i.__index__()
        n = len(self._nodes)
        if not -n <= k < n:
            raise IndexError("list index out of range")
        k %= n
        if self._last[0] != k:  # renderers read an entry twice in a row: for the gate's row and its downstream
            self._last = (k, self.entry(k))
        return self._last[1]

    def __iter__(self) -> Iterator[tuple[Any, ...] | None]:
        self.fill()
        return list.__iter__(self)

    def __reversed__(self) -> Iterator[tuple[Any, ...] | None]:
        self.fill()
        return list.__reversed__(self)

    def __repr__(self) -> str:
        self.fill()
        return list.__repr__(self)


def _filling(name: str) -> Callable[..., Any]:
    method = getattr(list, name)

    @functools.wraps(method)
    def filled_first(self: LazyLocals, *args: Any, **kwargs: Any) -> Any:
        self.fill()
        return method(self, *args, **kwargs)

    return filled_first


# Everything else a list does reads or changes the whole list: fill it first.
for _name in ("__contains__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__add__", "__mul__",
              "__rmul__", "__iadd__", "__imul__", "__setitem__", "__delitem__", "__reduce_ex__", "append", "extend",
              "insert", "pop", "remove", "reverse", "sort", "clear", "copy", "index", "count"):
    setattr(LazyLocals, _name, _filling(_name))
