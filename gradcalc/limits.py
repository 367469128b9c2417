"""Every limit gradcalc sets on its input and on its work, in one place.

gradcalc runs on text nobody has checked (a grading server), so each kind of
work that an input can make grow is bounded here, with the reason for the
number; past a limit the command line answers with a clear error of kind
``limit`` (exit 2) that states the number.  docs/limits.md ("Safety and
limits") lists them all.  Two limits live beside the code they bound and are
listed there too: the tokenizer's ``gradcalc.parser.MAX_TOKENS`` and the SymPy
check's ``gradcalc.symbolic.MAX_SYMBOLIC_NODES``.

A leaf module: it imports nothing, so every layer may read it.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------
# Input size

# Largest formula or program read, in characters (the value arguments have the
# same limit, together): five times the 100,000-term sums and 100,000-deep
# parentheses that must compute, and a clear error past it.  Time and memory
# grow linearly: at the limit the worst case (a million unary minuses) takes
# about 10 s and 0.6 GB (`python tools/fuzz.py --limits`), so bounding the input
# bounds a run.
MAX_SOURCE_CHARS = 4_000_000

# Largest array, in elements: a vector or matrix given as a value, and the value
# of any one gate (broadcasting [[1], ...] * [1, ...] would otherwise ask for
# rows × columns from text that grows with rows + columns).
MAX_ELEMENTS = 1_000_000

# All the gates' values of one forward pass together, in elements: fifty values
# of a million elements (a loss over a million rows of data with fifty gates),
# 400 MB, and the backward pass's gradients beside them.  Past it the pass stops
# at the gate that crosses it (one value of a million elements added to itself
# a thousand times is a few kilobytes of text and would be 8 GB).
MAX_PASS_ELEMENTS = 50_000_000

# ---------------------------------------------------------------------------
# Outputs that show every node: --json's node list, --format markdown, `gradcalc
# trace` and `gradcalc graph`.  At the most tokens (2,499,998 unary minuses) they
# took 1–3 minutes and 3–8 GB for a document no one reads whole; at this many
# nodes they take 1–3 s and at most 0.4 GB.  Past it they are refused as soon as
# the graph is built; --brief (and --json --brief) and the tables, which show the
# first and last 100 gates, have no limit but the tokenizer's.
MAX_FULL_NODES = 100_000

# ---------------------------------------------------------------------------
# "did you mean": a suggestion compares the unknown name with the known ones by
# edit distance, which costs the product of two names' lengths.  Names longer
# than this get no suggestion (no one mistypes a 64-letter name by one letter and
# wants to be told); only candidates of about the same length are compared, and
# at most this many of them.  A run gives at most SUGGEST_MAX_WARNINGS warnings
# a suggestion (one per value given but unused): the rest are listed plainly.
SUGGEST_MAX_NAME = 64
SUGGEST_MAX_CANDIDATES = 200
SUGGEST_MAX_WARNINGS = 20

# ---------------------------------------------------------------------------
# Answer files (`gradcalc check`)

# Arrays and inline tables nested deeper than this are refused before tomllib
# reads the file: it reads nesting by recursion, and a thousand levels (2 KB of
# brackets) end it.  An answer file needs three levels (values = { W = [[1]] }).
MAX_TOML_DEPTH = 100

# Grading a class (`gradcalc check` over several files or a directory).  Answer files graded in one
# run: each is read whole (up to MAX_SOURCE_CHARS) and its report kept for the summary, so a run
# over a whole course's directory is bounded; 10,000 is a very large course's hand-ins.  Walking
# a directory looks at no more entries than MAX_CHECK_ENTRIES (files and directories, *.toml or
# not): `gradcalc check /` ends with this error instead of reading the disk.
MAX_CHECK_FILES = 10_000
MAX_CHECK_ENTRIES = 200_000
# The most points one number in an answer file's `points` may give: points are added up exactly
# (as fractions) and written as floats, and no homework needs more.
MAX_POINTS = 1_000_000

# ---------------------------------------------------------------------------
# `gradcalc jacobian`: a reverse pass per output element and a forward-mode pass
# (and two central differences) per input element, each over every node and
# every element of the tape's values.  Refused before any pass: a Jacobian of
# more entries than this (outputs × inputs), or passes that would visit more
# nodes (a Python step each, about 4 µs) or more elements (NumPy's, a few ns
# each) than these.  exp(v) over 2,000 elements (4,000,000 entries) took 50 s and
# 1 GB, 110 s and 2.1 GB as a table; at each limit a run takes a few seconds.
MAX_JACOBIAN_ENTRIES = 250_000
MAX_JACOBIAN_NODE_VISITS = 1_000_000
MAX_JACOBIAN_ELEMENT_VISITS = 200_000_000

# ---------------------------------------------------------------------------
# Training (`gradcalc descend`): the bytes and rows of --data, and the iterations of a whole run
# (--steps, or --epochs × batches), checked before the first step.

MAX_DATA_BYTES = 64 * 1024**2
MAX_DATA_ROWS = 1_000_000
MAX_ITERATIONS = 10_000_000


# Gradients as formulas (a run without values): the graph may have at most MAX_FORMULA_NODES nodes;
# a gradient longer than MAX_FORMULA_TERMS terms written out (a shared subexpression counts at each
# use, so formulas can double with each reuse), or a cell of the gate table longer than MAX_CELL_TERMS,
# is not written out (the table says so, JSON gives null).
MAX_FORMULA_NODES = 5_000
MAX_FORMULA_TERMS = 5_000
MAX_CELL_TERMS = 400

# ---------------------------------------------------------------------------
# Answers that are formulas (`--expect-grad 'x=2*x*cos(x^2)'`, or a string in an
# answer file): each is parsed, built and run at random points by gradcalc's own
# engine, beside the true derivative's gradient graph and the problem's passes.
# A homework answer is a line or two: 2,000 characters is a page of it, and past
# it (or past 1,000 nodes once built) the answer is refused before any work.
# The problem itself may have at most 10,000 nodes when an answer is a formula:
# each wrong answer is compared with a few candidate slips per node (about 0.3 s
# at the limit), and its gradient graph is about three times its size.
MAX_FORMULA_ANSWER_CHARS = 2_000
MAX_FORMULA_ANSWER_NODES = 1_000
MAX_FORMULA_PROBLEM_NODES = 10_000
# The points a formula is judged at: this many where the answer and the true
# derivative are both finite, out of at most FORMULA_TRIES points drawn (seeded,
# so a verdict is the same on every run).  Fewer than FORMULA_MIN_POINTS such
# points, and the numbers cannot say (only SymPy can prove the answer right).
FORMULA_POINTS = 64
FORMULA_TRIES = 256
FORMULA_MIN_POINTS = 8

# ---------------------------------------------------------------------------
# Second derivatives (`gradcalc hessian`, `gradcalc graph --backward`): the
# gradient graph is written for scalar gates, so a formula over vectors and
# matrices is first unrolled into one scalar gate per element (a 10×10 matrix
# product is 1,900 of them), and the gradient graph is three to ten times the
# graph it differentiates (x^y's two local gradients are six gates).  Past this
# many scalar nodes (the formula's own, or unrolled) the work is refused, as soon
# as the count crosses it; so is a gradient graph written for a graph past it
# (`grad --order N` differentiates each order's gradient graph again, and it
# grows about threefold an order).  Measured (2 shared cores) on a sum of 25,000
# x^y, the worst rows: the Hessian-vector product takes 6 s and 0.27 GB at the
# limit; 100,000 nodes took 19 s and 0.5 GB.
MAX_SECOND_ORDER_NODES = 50_000

# The Hessian's variables, each element of a vector or matrix counted (v=[1, 2, 3]
# is three: v[0], v[1], v[2]).  Past this many it is refused: the output lists a
# number per variable, and the checks differentiate by each of them.
MAX_HESSIAN_VARIABLES = 10_000

# The full matrix is computed up to this many variables (10,000 entries, a pass
# per row and per column over the gradient graph, and as many SymPy second
# derivatives); past it, or when those passes would pass MAX_JACOBIAN_NODE_VISITS,
# the Hessian times one random direction is computed and checked instead
# (`--hvp` asks for it at any size).
MAX_HESSIAN_MATRIX = 100

# ---------------------------------------------------------------------------
# `gradcalc batch`: a job is one line of JSON, read whole into memory (with the
# window's other jobs) before it is parsed, so its length is bounded: past it the
# line is skipped without being kept, and its result is an error of kind
# ``limit``.  A million bytes hold a formula of some 200,000 gates and its values;
# larger ones go to `gradcalc grad --file`, whose limit is MAX_SOURCE_CHARS.
MAX_BATCH_LINE_BYTES = 1_000_000

# Jobs held at once per worker: read and not yet written out, whether waiting for
# a worker, running, or done and waiting (in input order) for an earlier one that
# is slow.  The window is this times --jobs, whatever the number of jobs: memory
# is flat in the length of the input (a million lines stream).  At worst a window
# of 8 jobs per worker holds 8 lines of a million bytes and 8 full documents of
# MAX_FULL_NODES nodes (about 20 MB each) per worker.
BATCH_WINDOW_PER_WORKER = 8

# The most worker processes --jobs may ask for: each holds SymPy (about 80 MB)
# once its first check has run.
MAX_BATCH_WORKERS = 64
