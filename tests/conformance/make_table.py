"""Regenerates the conformance table in README.md from `plumb conformance --json` reports.

Usage: make_table.py README.md NAME=REPORT.json [NAME=REPORT.json ...]
Writes, between the markers `<!-- conformance-table:begin -->` and
`<!-- conformance-table:end -->`, one row per suite (cases, passed, failed, skipped, pass
rate) and a table of passed/cases per op family and suite. The op of a case is the report's
`op` field; families are assigned by the first matching rule below.
"""
import json
import re
import sys

BEGIN = "<!-- conformance-table:begin -->"
END = "<!-- conformance-table:end -->"

# (family, regex on the op type); first match wins, "other" catches the rest.
FAMILIES = [
    ("cast / quantisation", r"^(Cast|CastLike|QuantizeLinear|DequantizeLinear|DynamicQuantizeLinear|"
                            r"QLinear\w+|MatMulInteger|ConvInteger)$"),
    ("control flow / sequences", r"^(If|Loop|Scan|Sequence\w*|Optional\w*|SplitToSequence|"
                                 r"ConcatFromSequence)$"),
    ("strings", r"^(String\w*|RegexFullMatch|LabelEncoder)$"),
    ("conv / pool / image", r"(Conv|Pool|^Col2Im|^Resize|^Upsample|^Pad|^GridSample|^AffineGrid|"
                            r"^RoiAlign|^MaxUnpool|^CenterCropPad|^ImageDecoder|^SpaceToDepth|"
                            r"^DepthToSpace)"),
    ("normalisation", r"(Normalization$|^LRN$|^Dropout$)"),
    ("reduction / softmax", r"^(Reduce\w+|ArgMax|ArgMin|Softmax|LogSoftmax|Hardmax|CumSum|TopK|"
                            r"SoftmaxCrossEntropyLoss|NegativeLogLikelihoodLoss)$"),
    ("linear algebra / attention", r"^(MatMul|Gemm|Einsum|Det|Attention|RotaryEmbedding)$"),
    ("recurrent", r"^(RNN|GRU|LSTM)$"),
    ("signal", r"^(DFT|STFT|\w+Window|MelWeightMatrix)$"),
    ("shape / indexing", r"^(Reshape|Transpose|Squeeze|Unsqueeze|Flatten|Concat|Split|Slice|Shape|"
                         r"Size|Expand|Tile|Gather\w*|Scatter\w*|TensorScatter|Compress|NonZero|"
                         r"OneHot|Range|Trilu|Identity|Constant\w*|EyeLike|Where|Unique|"
                         r"ReverseSequence)$"),
    ("random / training", r"^(Random\w+|Bernoulli|Multinomial|Adam|Adagrad|Momentum)$"),
]
ELEMENTWISE = "elementwise / activations"


def family(op):
    for name, pattern in FAMILIES:
        if re.search(pattern, op):
            return name
    # Everything left in the node suites is an elementwise op or an activation; ops that
    # fit no rule and are not plain words still land here, which the table shows.
    return ELEMENTWISE


def main():
    readme, specs = sys.argv[1], sys.argv[2:]
    suites = []
    for spec in specs:
        name, _, path = spec.partition("=")
        suites.append((name, json.load(open(path))))
    lines = ["| suite | cases | passed | failed | skipped | pass rate |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, rep in suites:
        s = rep["summary"]
        total = s["passed"] + s["failed"] + s["skipped"]
        rate = 100.0 * s["passed"] / total if total else 0.0
        lines.append(f"| {name} | {total} | {s['passed']} | {s['failed']} | {s['skipped']} "
                     f"| {rate:.1f}% |")
    counts = {}  # family -> suite index -> [passed, total]
    for i, (_, rep) in enumerate(suites):
        for case in rep["cases"]:
            c = counts.setdefault(family(case["op"]), [[0, 0] for _ in suites])[i]
            c[0] += case["status"] == "pass"
            c[1] += 1
    lines += ["", "| op family | " + " | ".join(n for n, _ in suites) + " |",
              "| --- |" + " --- |" * len(suites)]
    for fam in sorted(counts, key=lambda f: -sum(c[1] for c in counts[f])):
        cells = [f"{p}/{t} ({100.0 * p / t:.0f}%)" if t else "-" for p, t in counts[fam]]
        lines.append(f"| {fam} | " + " | ".join(cells) + " |")
    text = open(readme).read()
    if BEGIN not in text or END not in text:
        sys.exit(f"{readme}: markers {BEGIN} / {END} not found")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    table = "\n".join(lines)
    open(readme, "w").write(f"{head}{BEGIN}\n{table}\n{END}{tail}")
    print(f"{readme}: table for {len(suites)} suites, {len(counts)} op families")


if __name__ == "__main__":
    main()
